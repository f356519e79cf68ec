//! Client-certificate trust for one mTLS alias: the verdict a presented chain earns, computed once
//! and cached.
//!
//! The same [`Trust::evaluate`] runs inside the handshake (through [`crate::tls::EdgeClientVerifier`])
//! and again when the connection's facts are gathered after it. The second call is a cache hit
//! for a full handshake; for a resumed session (where rustls does not call the verifier) it
//! re-checks the certificate against the *current* trust, so a reload (a new CA, CRL, deny-list
//! entry) takes effect on resumption too.
//!
//! Order of checks: leaf sanity (malformed, expired, not yet valid, EKU) → deny list (beats
//! everything) → self-signed (flag or refuse; CRLs do not apply) → chain to a client CA with
//! revocation → registry match.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use http::HeaderValue;
use moka::sync::Cache;
use mtls_certs::{LeafError, Thumbprint, CLIENT_CERT_HEADER_LIMIT};
use rustls::pki_types::{CertificateDer, TrustAnchor, UnixTime};
use rustls::{CertificateError, DistinguishedName};
use webpki::{
    CertRevocationList, EndEntityCert, ExpirationPolicy, KeyUsage, RevocationCheckDepth,
    RevocationOptionsBuilder, UnknownStatusPolicy,
};

use crate::config::registry::Registered;
use crate::config::{
    CrlMissingPolicy, DomainConfig, RevocationDepth, RevokedPolicy, SelfSignedPolicy,
    StaleCrlPolicy,
};

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
    /// Revoked by a CRL (with `revoked = "flag"`).
    Revoked,
    /// A CRL covering the chain is past its nextUpdate (`stale_crl = "enforce"`, `revoked = "flag"`).
    CrlStale,
    /// No CRL for an issuer in the chain (`crl_missing = "deny"`, `revoked = "flag"`).
    CrlMissing,
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
            FailReason::Revoked => "certificate revoked",
            FailReason::CrlStale => "CRL has expired",
            FailReason::CrlMissing => "unable to get certificate CRL",
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
            FailReason::Revoked => "revoked",
            FailReason::CrlStale => "crl_stale",
            FailReason::CrlMissing => "crl_missing",
            FailReason::Other => "other",
        }
    }
}

impl Verdict {
    /// The exact header value, built once per verdict.
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
    /// Until when this verdict holds (certificate notAfter, earliest enforced CRL nextUpdate).
    pub valid_until: i64,
    /// The registry entry the certificate matches, when a registry is configured.
    pub registered: Option<Registered>,
}

pub struct Trust {
    /// Anchors grouped by revocation depth: a chain is tried against each group in turn.
    groups: Vec<(RevocationDepth, Vec<TrustAnchor<'static>>)>,
    hints: Vec<DistinguishedName>,
    /// Earliest CRL nextUpdate under `stale_crl = "enforce"`: no verdict may outlive it.
    crls_next_update: Option<i64>,
    /// The configuration this trust was built from (its CRLs, registry, deny list and policies).
    config: Arc<DomainConfig>,
    cache: Cache<[u8; 32], Arc<ClientIdentity>>,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust")
            .field("groups", &self.groups.len())
            .finish_non_exhaustive()
    }
}

struct UntilValid;

impl moka::Expiry<[u8; 32], Arc<ClientIdentity>> for UntilValid {
    fn expire_after_create(
        &self,
        _: &[u8; 32],
        v: &Arc<ClientIdentity>,
        _: Instant,
    ) -> Option<Duration> {
        let left = (v.valid_until - crate::config::unix_now()).max(0) as u64;
        Some(Duration::from_secs(left).min(VERDICT_MAX_AGE))
    }
}

impl Trust {
    pub fn new(config: Arc<DomainConfig>) -> Trust {
        let mtls = &config.mtls;
        let hints = if mtls.advertise_ca_names {
            mtls.client_cas
                .iter()
                .map(|a| DistinguishedName::in_sequence(&a.subject))
                .collect()
        } else {
            Vec::new()
        };
        let mut groups: Vec<(RevocationDepth, Vec<TrustAnchor<'static>>)> = Vec::new();
        for (anchor, depth) in mtls.client_cas.iter().zip(&mtls.ca_depths) {
            match groups.iter_mut().find(|(d, _)| d == depth) {
                Some((_, g)) => g.push(anchor.clone()),
                None => groups.push((*depth, vec![anchor.clone()])),
            }
        }
        let crls_next_update = match mtls.stale_crl {
            StaleCrlPolicy::Enforce => mtls.crls.iter().filter_map(|c| c.next_update).min(),
            StaleCrlPolicy::Warn => None,
        };
        Trust {
            groups,
            hints,
            crls_next_update,
            cache: Cache::builder()
                .max_capacity(VERDICT_CACHE_ENTRIES)
                .expire_after(UntilValid)
                .build(),
            config,
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
            if hit.valid_until > now.as_secs() as i64 {
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
        let mtls = &self.config.mtls;
        let facts =
            mtls_certs::check_client_leaf(leaf, now.as_secs() as i64).map_err(leaf_error)?;
        let thumbprint = Thumbprint::of(leaf);
        if mtls
            .deny
            .denies(&thumbprint.0, &facts.normalized_issuer, &facts.serial_hex)
        {
            return Err(CertificateError::Revoked.into());
        }
        let verdict = if facts.self_signed {
            if mtls.self_signed == SelfSignedPolicy::Reject {
                return Err(CertificateError::UnknownIssuer.into());
            }
            Verdict::Failed(FailReason::SelfSigned)
        } else {
            match self.verify_chain(leaf, intermediates, now) {
                Verdict::Failed(
                    r @ (FailReason::Revoked | FailReason::CrlStale | FailReason::CrlMissing),
                ) if mtls.revoked == RevokedPolicy::Reject => {
                    return Err(match r {
                        FailReason::Revoked => CertificateError::Revoked,
                        FailReason::CrlStale => CertificateError::ExpiredRevocationList,
                        _ => CertificateError::UnknownRevocationStatus,
                    }
                    .into());
                }
                v => v,
            }
        };
        let registered = mtls
            .registry
            .as_ref()
            .and_then(|r| {
                r.lookup(facts.self_signed, &thumbprint.0, &facts.normalized_subject)
                    .cloned()
            })
            // A registered subject DN counts only for a chain that verified: the same DN under an
            // untrusted CA proves nothing.
            .filter(|_| facts.self_signed || verdict == Verdict::Success);
        let encoded_len = mtls_certs::escaped_pem_len(leaf);
        let cert_header = if encoded_len > CLIENT_CERT_HEADER_LIMIT {
            Err(encoded_len)
        } else {
            // Only unreserved characters and `%XX` escapes: always a valid header value.
            HeaderValue::from_str(&mtls_certs::escaped_pem(leaf)).map_err(|_| encoded_len)
        };
        Ok(ClientIdentity {
            thumbprint,
            verdict,
            verdict_header: verdict.header_value(),
            cert_header,
            valid_until: valid_until(facts.not_after, self.crls_next_update),
            registered,
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
        let mtls = &self.config.mtls;
        let algs = crate::tls::provider().signature_verification_algorithms;
        let crls: Vec<&CertRevocationList<'_>> = mtls.crls.iter().map(|c| &c.list).collect();
        let mut last = Verdict::Failed(if intermediates.is_empty() {
            FailReason::UnverifiedFirst
        } else {
            FailReason::NoLocalIssuer
        });
        for (depth, anchors) in &self.groups {
            let revocation = RevocationOptionsBuilder::new(&crls).ok().map(|b| {
                b.with_depth(match depth {
                    RevocationDepth::Chain => RevocationCheckDepth::Chain,
                    RevocationDepth::Leaf => RevocationCheckDepth::EndEntity,
                })
                .with_status_policy(match mtls.crl_missing {
                    CrlMissingPolicy::Allow => UnknownStatusPolicy::Allow,
                    CrlMissingPolicy::Deny => UnknownStatusPolicy::Deny,
                })
                .with_expiration_policy(match mtls.stale_crl {
                    StaleCrlPolicy::Enforce => ExpirationPolicy::Enforce,
                    StaleCrlPolicy::Warn => ExpirationPolicy::Ignore,
                })
                .build()
            });
            match ee.verify_for_usage(
                algs.all,
                anchors,
                intermediates,
                now,
                KeyUsage::client_auth(),
                revocation,
                None,
            ) {
                Ok(_) => return Verdict::Success,
                // Not this group's anchors: try the next group.
                Err(webpki::Error::UnknownIssuer) => continue,
                Err(e) => last = Verdict::Failed(fail_reason(&e, intermediates.is_empty())),
            }
        }
        last
    }
}

fn valid_until(not_after: i64, crls_next_update: Option<i64>) -> i64 {
    crls_next_update.map_or(not_after, |n| n.min(not_after))
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
        E::CertRevoked => FailReason::Revoked,
        E::CrlExpired { .. } => FailReason::CrlStale,
        E::UnknownRevocationStatus => FailReason::CrlMissing,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_never_outlive_the_earliest_deadline() {
        assert_eq!(valid_until(100, None), 100);
        assert_eq!(valid_until(100, Some(50)), 50);
        assert_eq!(valid_until(100, Some(500)), 100);
    }

    #[test]
    fn chain_digest_depends_on_the_whole_chain() {
        let a = CertificateDer::from(vec![1u8, 2, 3]);
        let b = CertificateDer::from(vec![4u8]);
        assert_ne!(
            chain_digest(&a, &[]),
            chain_digest(&a, std::slice::from_ref(&b))
        );
        // Length prefixes: [1,2,3]+[4] differs from [1,2]+[3,4].
        let c = CertificateDer::from(vec![1u8, 2]);
        let d = CertificateDer::from(vec![3u8, 4]);
        assert_ne!(chain_digest(&a, &[b]), chain_digest(&c, &[d]));
    }
}
