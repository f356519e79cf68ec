//! The mTLS edge gateway's request-policy decisions, as pure functions.
//!
//! The gateway terminates TLS for an identity provider's custom domain and
//! its `mtls.` alias. Whether a request may pass is decided here: which paths
//! the alias forwards ([`RouteList`]), whether the request's host is the one
//! the TLS connection was opened for ([`authority_matches_sni`]), which
//! client-sent headers are removed before the edge injects identity
//! ([`strip_identity_headers`], [`strip_hop_by_hop`]), and what the edge
//! answers when it refuses ([`Refusal`]).
//!
//! These decisions are the security boundary, so they live apart from the
//! networking code: no sockets, no async runtime, no I/O. That keeps every
//! rule testable with plain values, property-testable and fuzzable, and lets
//! a reviewer read the whole policy without reading the proxy.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod hop_by_hop;
pub mod host;
pub mod identity;
pub mod refusal;
pub mod route;

pub use hop_by_hop::{strip_hop_by_hop, HOP_BY_HOP_HEADERS};
pub use host::{authority_host, authority_matches_sni};
pub use identity::{
    strip_identity_headers, IdentityError, IdentityHeaders, CLIENT_CERTIFICATE,
    CLIENT_CERTIFICATE_CA_VERIFIED, CLIENT_IP_CLAIMS, CNAME_API_KEY, DEFAULT_CLIENT_IP_HEADER,
    INJECTED_HEADERS,
};
pub use refusal::Refusal;
pub use route::{RouteError, RouteList, DEFAULT_ALIAS_ROUTES};
