//! Chain verification to the alias's client CAs, with revocation, at a given instant.
//!
//! Anchors are grouped by their revocation depth (`chain` or `leaf`), because webpki takes one
//! depth per verification: a chain is tried against each group in turn, and the first group whose
//! anchors it reaches decides.

use rustls::pki_types::{CertificateDer, TrustAnchor, UnixTime};
use webpki::{
    CertRevocationList, EndEntityCert, ExpirationPolicy, KeyUsage, RevocationCheckDepth,
    RevocationOptionsBuilder, UnknownStatusPolicy,
};

use super::verdict::{FailReason, Verdict};
use crate::config::{CrlMissingPolicy, MtlsConfig, RevocationDepth, StaleCrlPolicy};

/// The client CAs, grouped by revocation depth.
pub struct AnchorGroups(Vec<(RevocationDepth, Vec<TrustAnchor<'static>>)>);

impl AnchorGroups {
    pub fn new(mtls: &MtlsConfig) -> AnchorGroups {
        let mut groups: Vec<(RevocationDepth, Vec<TrustAnchor<'static>>)> = Vec::new();
        for (anchor, depth) in mtls.client_cas.iter().zip(&mtls.ca_depths) {
            match groups.iter_mut().find(|(d, _)| d == depth) {
                Some((_, g)) => g.push(anchor.clone()),
                None => groups.push((*depth, vec![anchor.clone()])),
            }
        }
        AnchorGroups(groups)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The verdict for `leaf` and the `intermediates` the client sent, at `now` (certificate
    /// validity and CRL freshness are both judged at `now`).
    pub fn verify(
        &self,
        mtls: &MtlsConfig,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Verdict {
        let Ok(ee) = EndEntityCert::try_from(leaf) else {
            return Verdict::Failed(FailReason::Other);
        };
        let algs = crate::tls::provider().signature_verification_algorithms;
        let crls: Vec<&CertRevocationList<'_>> = mtls.crls.iter().map(|c| &c.list).collect();
        let mut last = Verdict::Failed(if intermediates.is_empty() {
            FailReason::UnverifiedFirst
        } else {
            FailReason::NoLocalIssuer
        });
        for (depth, anchors) in &self.0 {
            let revocation = RevocationOptionsBuilder::new(&crls)
                .ok()
                .map(|b| revocation_options(b, *depth, mtls));
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

fn revocation_options<'a>(
    builder: RevocationOptionsBuilder<'a>,
    depth: RevocationDepth,
    mtls: &MtlsConfig,
) -> webpki::RevocationOptions<'a> {
    builder
        .with_depth(match depth {
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
}

/// nginx's reason words for a webpki error.
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
