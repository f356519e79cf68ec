//! `--insecure`: a server-certificate verifier that accepts any certificate chain.
//!
//! It exists so a server can be measured before its PKI is set up; it is never a way to trust
//! anything. Handshake signatures are still verified with the real algorithms, so the generator
//! spends the same CPU per handshake as with verification on (minus the chain check) and a
//! server with a broken key still fails.

use std::sync::Arc;

use rustls::client::danger::{ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

/// Accepts every server certificate. Only reachable through `--insecure`.
#[derive(Debug)]
pub struct DangerousAcceptAnyServerCert {
    provider: Arc<CryptoProvider>,
}

impl DangerousAcceptAnyServerCert {
    pub fn new(provider: Arc<CryptoProvider>) -> Self {
        DangerousAcceptAnyServerCert { provider }
    }
}

impl ServerCertVerifier for DangerousAcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    mtls_certs::handshake_signatures!(self => &self.provider.signature_verification_algorithms);
}
