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
//! How often a client may call the provider's token and login endpoints is
//! decided here too: GCRA buckets ([`decide`]) per rule and key
//! ([`RateRules`], [`key_for`]), held in bounded memory per replica
//! ([`LocalLimiter`]) or cluster-wide by a Redis script ([`GCRA_LUA`]), with
//! the strictest answer winning ([`combine`]).
//!
//! These decisions are the security boundary, so they live apart from the
//! networking code: no sockets, no async runtime, no I/O. That keeps every
//! rule testable with plain values, property-testable and fuzzable, and lets
//! a reviewer read the whole policy without reading the proxy.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod admission;
pub mod header;
pub mod hop_by_hop;
pub mod host;
pub mod identity;
pub mod refusal;
pub mod route;

pub mod apps;
pub mod browser_policy;
pub mod client_id;
pub mod cors;
pub mod cors_config;
pub mod cross_origin_auth;
pub mod origin;
pub mod origin_pattern;
pub mod origin_set;

pub mod gcra;
pub mod local_limiter;
pub mod rate_headers;
pub mod rate_key;
pub mod rate_rules;
pub mod redis_gcra;

pub use admission::{admit_alias, Admitted, AliasPolicy, PresentedCertificate};
pub use header::single_header;
pub use hop_by_hop::{strip_hop_by_hop, HOP_BY_HOP_HEADERS};
pub use host::{authority_host, authority_matches_sni, check_authority};
pub use identity::{
    strip_identity_headers, IdentityError, IdentityHeaders, CLIENT_CERTIFICATE,
    CLIENT_CERTIFICATE_CA_VERIFIED, CLIENT_CERTIFICATE_CA_VERIFIED_HEADER,
    CLIENT_CERTIFICATE_HEADER, CLIENT_IP_CLAIMS, CNAME_API_KEY, CNAME_API_KEY_HEADER,
    DEFAULT_CLIENT_IP_HEADER, INJECTED_HEADERS,
};
pub use refusal::{Fault, Refusal, RefusalKind};
pub use route::{RouteError, RouteList, DEFAULT_ALIAS_ROUTES};

pub use apps::{App, AppSettings, UnknownClientPolicy};
pub use browser_policy::{BrowserPolicy, BrowserPolicyError};
pub use client_id::{
    client_id_from_basic_auth, client_id_from_body, client_id_from_form, client_id_from_json,
    parse_client_id_from_body, request_client_id, ClientIdError,
};
pub use cors::{
    actual_request, origin_not_allowed, preflight, CorsDecision, PreflightDecision,
    PREFLIGHT_STATUS,
};
pub use cors_config::{
    CorsConfig, CorsConfigError, DEFAULT_ALLOW_HEADERS, DEFAULT_ALLOW_METHODS, DEFAULT_MAX_AGE,
};
pub use cross_origin_auth::{check_co_authenticate, CO_AUTHENTICATE_PATH};
pub use origin::{Host, Origin, Scheme};
pub use origin_pattern::{OriginPattern, OriginPatternError};
pub use origin_set::{OriginSet, OriginSetError};

pub use gcra::{
    decide, Clock, Decision, Gcra, GcraOutcome, ManualClock, MonotonicClock, Quota, QuotaError,
};
pub use local_limiter::{LimiterError, LocalLimiter, DEFAULT_SHARDS};
pub use rate_headers::{
    insert_rate_limit_headers, X_RATELIMIT_LIMIT, X_RATELIMIT_REMAINING, X_RATELIMIT_RESET,
};
pub use rate_key::{ip_key, key_for, KeyPart, RateKey, RequestFacts, RuleKey};
pub use rate_rules::{combine, HostFilter, HostKind, RateRule, RateRules, RuleError, RuleId};
pub use redis_gcra::{decision_from_reply, ScriptReplyError, GCRA_LUA};
