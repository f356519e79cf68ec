//! The alias's client-certificate verifier: rustls asks it about the chain and the
//! CertificateVerify signature; the chain verdict comes from [`Trust`].
//!
//! Unlike rustls' `WebPkiClientVerifier` it accepts a chain that does not reach a trusted CA (the
//! provider is told `FAILED:<reason>`, as nginx's `optional_no_ca` does), but it never skips the
//! CertificateVerify check: possession of the certificate's key is always proven.

use std::sync::Arc;

use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::DistinguishedName;

use crate::trust::Trust;

#[derive(Debug)]
pub struct EdgeClientVerifier {
    trust: Arc<Trust>,
    algs: WebPkiSupportedAlgorithms,
}

impl EdgeClientVerifier {
    pub fn new(trust: Arc<Trust>) -> EdgeClientVerifier {
        EdgeClientVerifier {
            trust,
            algs: super::provider().signature_verification_algorithms,
        }
    }
}

impl ClientCertVerifier for EdgeClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    /// Optional at the TLS layer so a missing certificate gets a JSON 401 (or is forwarded, as
    /// configured) rather than an opaque alert.
    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.trust.hints()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.trust.evaluate(end_entity, intermediates, now)?;
        Ok(ClientCertVerified::assertion())
    }

    mtls_certs::handshake_signatures!(self => &self.algs);
}
