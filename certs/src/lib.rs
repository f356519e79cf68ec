//! X.509 for the mTLS edge gateway.
//!
//! The gateway terminates TLS for an identity provider's custom domain and
//! its `mtls.` alias, asks for client certificates on the alias, and forwards
//! the client's leaf certificate upstream in a `client-certificate` header.
//! Everything it needs to know *about certificates* — as opposed to moving
//! bytes — lives here, free of any async runtime, so it can be unit-tested
//! in isolation and reused by the CLI:
//!
//! - [`encode`]: the header value, byte-identical to nginx's
//!   `$ssl_client_escaped_cert`, and its size limit;
//! - [`thumbprint`]: SHA-256 thumbprints and RFC 8705 `x5t#S256`;
//! - [`leaf`]: validity / EKU / self-signed checks on a client's leaf;
//! - [`names`]: which hostnames a server certificate covers;
//! - [`dn`]: RFC 4514 distinguished-name strings;
//! - [`dn_match`]: distinguished names parsed and normalised, so that the
//!   registry and deny list match a name however an operator spelled it;
//! - [`crl`], [`crl_verify`]: signing development CRLs, and checking a CRL's signature
//!   against the configured trust anchors when the configuration loads;
//! - [`handshake_signatures!`]: the handshake-signature methods every rustls
//!   certificate verifier of the workspace shares;
//! - [`pki`], [`issued`], [`pki_files`]: a development PKI with one
//!   certificate for every case the gateway distinguishes (certificate
//!   profiles live in the private `profiles` module).
//!
//! All cryptography is aws-lc-rs (directly, and through rcgen, x509-parser
//! and webpki); PEM is parsed with `rustls-pki-types`.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod crl;
pub mod crl_verify;
pub mod dn;
pub mod dn_match;
mod dn_parse;
pub mod encode;
pub mod handshake_signatures;
pub mod inspect;
pub mod issued;
pub mod leaf;
pub mod names;
pub mod pki;
pub mod pki_files;
mod profiles;
pub mod thumbprint;

pub use crl::{forge_crl, sign_crl, SignedCrl};
pub use crl_verify::{crl_signer, CrlSignatureError, CrlSigner};
pub use dn_match::{DnError, NormalizedDn};
pub use encode::{escaped_pem, escaped_pem_len, pem, CLIENT_CERT_HEADER_LIMIT};
pub use inspect::{inspect, inspect_pem, InspectError, Inspection, ValidityStatus};
pub use issued::Issued;
pub use leaf::{check_client_leaf, is_self_signed, LeafError, LeafFacts};
pub use names::{cert_covers, dns_names, ip_addresses, not_after, pattern_covers, NameError};
pub use pki::{DevPki, PkiError, PkiSpec};
pub use thumbprint::Thumbprint;

/// The DER/PEM types this crate's API uses, so callers need not name the
/// `rustls-pki-types` version separately.
pub use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
