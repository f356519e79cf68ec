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
//! revocation → registry match. Every check is judged at the `now` it is given.

mod chain;
mod verdict;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use http::HeaderValue;
use moka::sync::Cache;
use mtls_certs::{LeafError, Thumbprint, CLIENT_CERT_HEADER_LIMIT};
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::{CertificateError, DistinguishedName};

pub use verdict::{ClientIdentity, FailReason, Verdict};

use crate::config::{DomainConfig, RevokedPolicy, SelfSignedPolicy, StaleCrlPolicy};

/// Cached verdicts per alias. Bounded so a client spraying fresh certificates costs a handshake
/// each, never unbounded memory.
const VERDICT_CACHE_ENTRIES: u64 = 50_000;
/// Upper bound on how long a verdict is reused even for a long-lived certificate.
const VERDICT_MAX_AGE: Duration = Duration::from_secs(3600);

pub struct Trust {
    anchors: chain::AnchorGroups,
    hints: Vec<DistinguishedName>,
    /// Earliest CRL nextUpdate under `stale_crl = "enforce"`: no verdict may outlive it.
    crls_next_update: Option<i64>,
    /// The configuration this trust was built from (its CRLs, registry, deny list and policies).
    config: Arc<DomainConfig>,
    cache: Cache<[u8; 32], Cached>,
}

/// A cached verdict and how long it may live, computed from the `now` it was evaluated at.
#[derive(Clone)]
struct Cached {
    identity: Arc<ClientIdentity>,
    ttl: Duration,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust")
            .field("anchor_groups", &self.anchors.len())
            .finish_non_exhaustive()
    }
}

struct UntilValid;

impl moka::Expiry<[u8; 32], Cached> for UntilValid {
    fn expire_after_create(&self, _: &[u8; 32], v: &Cached, _: Instant) -> Option<Duration> {
        Some(v.ttl)
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
        let crls_next_update = match mtls.stale_crl {
            StaleCrlPolicy::Enforce => mtls.crls.iter().filter_map(|c| c.next_update).min(),
            StaleCrlPolicy::Warn => None,
        };
        Trust {
            anchors: chain::AnchorGroups::new(mtls),
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
        let now_secs = now.as_secs() as i64;
        let key = chain_digest(leaf, intermediates);
        if let Some(hit) = self.cache.get(&key) {
            // Expiry is per entry, but a hit must still be valid at this instant.
            if hit.identity.valid_until > now_secs {
                return Ok(hit.identity);
            }
            self.cache.invalidate(&key);
        }
        let identity = Arc::new(self.evaluate_uncached(leaf, intermediates, now)?);
        let left = (identity.valid_until - now_secs).max(0) as u64;
        let ttl = Duration::from_secs(left).min(VERDICT_MAX_AGE);
        self.cache.insert(
            key,
            Cached {
                identity: identity.clone(),
                ttl,
            },
        );
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
            refuse_revoked(
                self.anchors.verify(mtls, leaf, intermediates, now),
                mtls.revoked,
            )?
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
        // Only unreserved characters and `%XX` escapes: always a valid header value.
        let cert_header = (encoded_len <= CLIENT_CERT_HEADER_LIMIT)
            .then(|| HeaderValue::from_str(&mtls_certs::escaped_pem(leaf)).ok())
            .flatten();
        Ok(ClientIdentity {
            thumbprint,
            verdict,
            verdict_header: verdict.header_value(),
            encoded_len,
            cert_header,
            valid_until: valid_until(facts.not_after, self.crls_next_update),
            registered,
            chain: std::iter::once(leaf)
                .chain(intermediates)
                .map(|c| c.clone().into_owned())
                .collect(),
        })
    }
}

/// With `revoked = "reject"`, revocation failures refuse the handshake instead of being flagged.
fn refuse_revoked(verdict: Verdict, policy: RevokedPolicy) -> Result<Verdict, rustls::Error> {
    match verdict {
        Verdict::Failed(
            r @ (FailReason::Revoked | FailReason::CrlStale | FailReason::CrlMissing),
        ) if policy == RevokedPolicy::Reject => Err(match r {
            FailReason::Revoked => CertificateError::Revoked,
            FailReason::CrlStale => CertificateError::ExpiredRevocationList,
            _ => CertificateError::UnknownRevocationStatus,
        }
        .into()),
        v => Ok(v),
    }
}

fn valid_until(not_after: i64, crls_next_update: Option<i64>) -> i64 {
    crls_next_update.map_or(not_after, |n| n.min(not_after))
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
    fn reject_policy_turns_revocation_failures_into_alerts() {
        for r in [
            FailReason::Revoked,
            FailReason::CrlStale,
            FailReason::CrlMissing,
        ] {
            assert!(refuse_revoked(Verdict::Failed(r), RevokedPolicy::Reject).is_err());
            assert_eq!(
                refuse_revoked(Verdict::Failed(r), RevokedPolicy::Flag).ok(),
                Some(Verdict::Failed(r))
            );
        }
        let other = Verdict::Failed(FailReason::NoLocalIssuer);
        assert_eq!(
            refuse_revoked(other, RevokedPolicy::Reject).ok(),
            Some(other)
        );
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
