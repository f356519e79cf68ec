//! Client-certificate trust for one mTLS alias: the verdict a presented chain earns, computed once
//! and cached.
//!
//! The same [`Trust::evaluate`] runs inside the handshake (through [`crate::tls::EdgeClientVerifier`])
//! and again when the connection's facts are gathered after it. The second call is a cache hit
//! for a full handshake; for a resumed session (where rustls does not call the verifier) it
//! re-checks the certificate against the *current* trust, so a reload takes effect on resumption.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use http::HeaderValue;
use moka::sync::Cache;
use mtls_certs::{LeafError, Thumbprint, CLIENT_CERT_HEADER_LIMIT};
use rustls::pki_types::{CertificateDer, TrustAnchor, UnixTime};
use rustls::{CertificateError, DistinguishedName};
use webpki::{EndEntityCert, KeyUsage};

use crate::config::{MtlsConfig, SelfSignedPolicy};

/// Cached verdicts per alias. Bounded so a client spraying fresh certificates costs a handshake
/// each, never unbounded memory.
const VERDICT_CACHE_ENTRIES: u64 = 50_000;
/// Upper bound on how long a verdict is reused even for a long-lived certificate.
const VERDICT_MAX_AGE: Duration = Duration::from_secs(3600);

/// What the edge tells the provider in `client-certificate-ca-verified`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Success,
    Failed(FailReason),
}

/// Failure reasons, worded as nginx/OpenSSL word the same case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    SelfSigned,
    /// The leaf's issuer is not a trusted CA and no intermediate was sent.
    UnverifiedFirst,
    /// An intermediate was sent but the chain ends at an untrusted CA.
    NoLocalIssuer,
    ChainExpired,
    ChainNotYetValid,
    CaAsLeaf,
    Other,
}

impl FailReason {
    pub fn text(self) -> &'static str {
        match self {
            FailReason::SelfSigned => "self-signed certificate",
            FailReason::UnverifiedFirst => "unable to verify the first certificate",
            FailReason::NoLocalIssuer => "unable to get local issuer certificate",
            FailReason::ChainExpired => "certificate has expired",
            FailReason::ChainNotYetValid => "certificate is not yet valid",
            FailReason::CaAsLeaf => "CA certificate used as end entity",
            FailReason::Other => "certificate verification failed",
        }
    }

    /// Stable metric label.
    pub fn label(self) -> &'static str {
        match self {
            FailReason::SelfSigned => "self_signed",
            FailReason::UnverifiedFirst => "unverified_first",
            FailReason::NoLocalIssuer => "no_local_issuer",
            FailReason::ChainExpired => "chain_expired",
            FailReason::ChainNotYetValid => "chain_not_yet_valid",
            FailReason::CaAsLeaf => "ca_as_leaf",
            FailReason::Other => "other",
        }
    }
}

impl Verdict {
    /// The exact header value, built once per verdict kind.
    pub fn header_value(self) -> HeaderValue {
        match self {
            Verdict::Success => HeaderValue::from_static("SUCCESS"),
            Verdict::Failed(r) => HeaderValue::from_str(&format!("FAILED:{}", r.text()))
                .unwrap_or_else(|_| HeaderValue::from_static("FAILED")),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Success => "success",
            Verdict::Failed(r) => r.label(),
        }
    }
}

/// Everything the request path needs about the client's certificate, computed once.
#[derive(Debug)]
pub struct ClientIdentity {
    pub thumbprint: Thumbprint,
    pub verdict: Verdict,
    pub verdict_header: HeaderValue,
    /// The `client-certificate` value, or the encoded size when it is over the limit.
    pub cert_header: Result<HeaderValue, usize>,
    pub not_after: i64,
}

pub struct Trust {
    anchors: Vec<TrustAnchor<'static>>,
    hints: Vec<DistinguishedName>,
    self_signed: SelfSignedPolicy,
    cache: Cache<[u8; 32], Arc<ClientIdentity>>,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust")
            .field("anchors", &self.anchors.len())
            .finish_non_exhaustive()
    }
}

struct UntilNotAfter;

impl moka::Expiry<[u8; 32], Arc<ClientIdentity>> for UntilNotAfter {
    fn expire_after_create(
        &self,
        _: &[u8; 32],
        v: &Arc<ClientIdentity>,
        _: Instant,
    ) -> Option<Duration> {
        let left = (v.not_after - crate::config::unix_now()).max(0) as u64;
        Some(Duration::from_secs(left).min(VERDICT_MAX_AGE))
    }
}

impl Trust {
    pub fn new(mtls: &MtlsConfig) -> Trust {
        let hints = if mtls.advertise_ca_names {
            mtls.client_cas
                .iter()
                .map(|a| DistinguishedName::in_sequence(&a.subject))
                .collect()
        } else {
            Vec::new()
        };
        Trust {
            anchors: mtls.client_cas.clone(),
            hints,
            self_signed: mtls.self_signed,
            cache: Cache::builder()
                .max_capacity(VERDICT_CACHE_ENTRIES)
                .expire_after(UntilNotAfter)
                .build(),
        }
    }

    pub fn hints(&self) -> &[DistinguishedName] {
        &self.hints
    }

    /// The verdict for a presented chain at `now`, or the TLS error that refuses it.
    pub fn evaluate(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<Arc<ClientIdentity>, rustls::Error> {
        let key = chain_digest(leaf, intermediates);
        if let Some(hit) = self.cache.get(&key) {
            // Expiry is per entry, but a hit must still be valid at this instant.
            if hit.not_after > now.as_secs() as i64 {
                return Ok(hit);
            }
            self.cache.invalidate(&key);
        }
        let identity = Arc::new(self.evaluate_uncached(leaf, intermediates, now)?);
        self.cache.insert(key, identity.clone());
        Ok(identity)
    }

    fn evaluate_uncached(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientIdentity, rustls::Error> {
        let facts =
            mtls_certs::check_client_leaf(leaf, now.as_secs() as i64).map_err(leaf_error)?;
        let verdict = if facts.self_signed {
            if self.self_signed == SelfSignedPolicy::Reject {
                return Err(CertificateError::UnknownIssuer.into());
            }
            Verdict::Failed(FailReason::SelfSigned)
        } else {
            self.verify_chain(leaf, intermediates, now)
        };
        let encoded_len = mtls_certs::escaped_pem_len(leaf);
        let cert_header = if encoded_len > CLIENT_CERT_HEADER_LIMIT {
            Err(encoded_len)
        } else {
            // Only unreserved characters and `%XX` escapes: always a valid header value.
            HeaderValue::from_str(&mtls_certs::escaped_pem(leaf)).map_err(|_| encoded_len)
        };
        Ok(ClientIdentity {
            thumbprint: Thumbprint::of(leaf),
            verdict,
            verdict_header: verdict.header_value(),
            cert_header,
            not_after: facts.not_after,
        })
    }

    fn verify_chain(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Verdict {
        let Ok(ee) = EndEntityCert::try_from(leaf) else {
            return Verdict::Failed(FailReason::Other);
        };
        let algs = crate::tls::provider().signature_verification_algorithms;
        match ee.verify_for_usage(
            algs.all,
            &self.anchors,
            intermediates,
            now,
            KeyUsage::client_auth(),
            None,
            None,
        ) {
            Ok(_) => Verdict::Success,
            Err(e) => Verdict::Failed(fail_reason(&e, intermediates.is_empty())),
        }
    }
}

fn fail_reason(e: &webpki::Error, no_intermediates: bool) -> FailReason {
    use webpki::Error as E;
    match e {
        E::UnknownIssuer
        | E::InvalidSignatureForPublicKey
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
        | E::UnsupportedSignatureAlgorithmContext(_) => {
            if no_intermediates {
                FailReason::UnverifiedFirst
            } else {
                FailReason::NoLocalIssuer
            }
        }
        E::CertExpired { .. } => FailReason::ChainExpired,
        E::CertNotValidYet { .. } => FailReason::ChainNotYetValid,
        E::CaUsedAsEndEntity => FailReason::CaAsLeaf,
        _ => FailReason::Other,
    }
}

fn leaf_error(e: LeafError) -> rustls::Error {
    match e {
        LeafError::Malformed(_) => CertificateError::BadEncoding,
        LeafError::Expired => CertificateError::Expired,
        LeafError::NotYetValid => CertificateError::NotValidYet,
        LeafError::WrongExtendedKeyUsage => CertificateError::InvalidPurpose,
    }
    .into()
}

/// SHA-256 over the presented chain (length-prefixed, so no two chains collide by concatenation).
/// Keying by the whole chain matters: the same leaf sent with and without its intermediate earns
/// different verdicts.
fn chain_digest(leaf: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>]) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for c in std::iter::once(leaf).chain(intermediates) {
        ctx.update(&(c.len() as u32).to_be_bytes());
        ctx.update(c);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}
