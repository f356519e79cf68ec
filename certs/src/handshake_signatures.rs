//! The handshake-signature half of a rustls certificate verifier, written once.
//!
//! rustls asks every `ServerCertVerifier` and `ClientCertVerifier` to check the TLS 1.2 and
//! TLS 1.3 handshake signatures (ServerKeyExchange, CertificateVerify) and to list the schemes it
//! accepts. The verifiers of this workspace differ in how they judge a certificate chain, never in
//! this: all three answers come from rustls' `verify_tls12_signature` / `verify_tls13_signature`
//! with the provider's algorithms. They are required methods of rustls' traits, so each `impl`
//! must spell them out; [`handshake_signatures!`](crate::handshake_signatures!) does.

/// The rustls the expansion names, so a caller's verifier and this crate agree on its version.
#[doc(hidden)]
pub use rustls;

/// Expands, inside an `impl ServerCertVerifier` or `impl ClientCertVerifier` block, to
/// `verify_tls12_signature`, `verify_tls13_signature` and `supported_verify_schemes`, all
/// answered by rustls with the `&WebPkiSupportedAlgorithms` the expression after `=>` yields.
///
/// The first token is `self`, passed in so that the expression may use it.
///
/// ```
/// use rustls::client::danger::{ServerCertVerified, ServerCertVerifier};
/// use rustls::crypto::WebPkiSupportedAlgorithms;
/// use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
///
/// #[derive(Debug)]
/// struct AnyChain {
///     algs: WebPkiSupportedAlgorithms,
/// }
///
/// impl ServerCertVerifier for AnyChain {
///     fn verify_server_cert(
///         &self,
///         _: &CertificateDer<'_>,
///         _: &[CertificateDer<'_>],
///         _: &ServerName<'_>,
///         _: &[u8],
///         _: UnixTime,
///     ) -> Result<ServerCertVerified, rustls::Error> {
///         Ok(ServerCertVerified::assertion())
///     }
///
///     mtls_certs::handshake_signatures!(self => &self.algs);
/// }
/// ```
#[macro_export]
macro_rules! handshake_signatures {
    ($self:ident => $algs:expr) => {
        fn verify_tls12_signature(
            &$self,
            message: &[u8],
            cert: &$crate::handshake_signatures::rustls::pki_types::CertificateDer<'_>,
            dss: &$crate::handshake_signatures::rustls::DigitallySignedStruct,
        ) -> ::std::result::Result<
            $crate::handshake_signatures::rustls::client::danger::HandshakeSignatureValid,
            $crate::handshake_signatures::rustls::Error,
        > {
            $crate::handshake_signatures::rustls::crypto::verify_tls12_signature(
                message, cert, dss, $algs,
            )
        }

        fn verify_tls13_signature(
            &$self,
            message: &[u8],
            cert: &$crate::handshake_signatures::rustls::pki_types::CertificateDer<'_>,
            dss: &$crate::handshake_signatures::rustls::DigitallySignedStruct,
        ) -> ::std::result::Result<
            $crate::handshake_signatures::rustls::client::danger::HandshakeSignatureValid,
            $crate::handshake_signatures::rustls::Error,
        > {
            $crate::handshake_signatures::rustls::crypto::verify_tls13_signature(
                message, cert, dss, $algs,
            )
        }

        fn supported_verify_schemes(
            &$self,
        ) -> ::std::vec::Vec<$crate::handshake_signatures::rustls::SignatureScheme> {
            let algs: &$crate::handshake_signatures::rustls::crypto::WebPkiSupportedAlgorithms =
                $algs;
            algs.supported_schemes()
        }
    };
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::client::danger::{ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{aws_lc_rs, WebPkiSupportedAlgorithms};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{ClientConfig, ClientConnection, Connection, ServerConfig, ServerConnection};

    use crate::pki::test_pki;

    /// Accepts any chain; the handshake signatures are checked with `algs`.
    #[derive(Debug)]
    struct AnyChain {
        algs: WebPkiSupportedAlgorithms,
    }

    impl ServerCertVerifier for AnyChain {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        crate::handshake_signatures!(self => &self.algs);
    }

    fn io(e: std::io::Error) -> rustls::Error {
        rustls::Error::General(e.to_string())
    }

    /// Moves what `from` has to send into `to`; whether anything moved.
    fn transfer(from: &mut Connection, to: &mut Connection) -> Result<bool, rustls::Error> {
        let mut buf = Vec::new();
        while from.wants_write() {
            from.write_tls(&mut buf).map_err(io)?;
        }
        let mut rd = &buf[..];
        while !rd.is_empty() {
            to.read_tls(&mut rd).map_err(io)?;
            to.process_new_packets()?;
        }
        Ok(!buf.is_empty())
    }

    /// A whole handshake in memory between a client using `AnyChain` and a server with the dev
    /// PKI's ECDSA server certificate.
    fn handshake(
        algs: WebPkiSupportedAlgorithms,
        version: &'static rustls::SupportedProtocolVersion,
    ) -> Result<(), rustls::Error> {
        let pki = test_pki();
        let provider = Arc::new(aws_lc_rs::default_provider());
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[version])?
            .with_no_client_auth()
            .with_single_cert(vec![pki.server.cert_der.clone()], pki.server.key())?;
        let client = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[version])?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyChain { algs }))
            .with_no_client_auth();
        let name = ServerName::try_from("auth.example.com")
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        let mut client = Connection::Client(ClientConnection::new(Arc::new(client), name)?);
        let mut server = Connection::Server(ServerConnection::new(Arc::new(server))?);
        while transfer(&mut client, &mut server)? | transfer(&mut server, &mut client)? {}
        if client.is_handshaking() || server.is_handshaking() {
            return Err(rustls::Error::General(
                "the handshake did not complete".into(),
            ));
        }
        Ok(())
    }

    fn provider_algs() -> WebPkiSupportedAlgorithms {
        aws_lc_rs::default_provider().signature_verification_algorithms
    }

    #[test]
    fn server_signatures_verify_with_the_given_algorithms() {
        for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
            handshake(provider_algs(), version).unwrap_or_else(|e| panic!("{version:?}: {e}"));
        }
    }

    #[test]
    fn supported_schemes_are_those_of_the_given_algorithms() {
        let verifier = AnyChain {
            algs: provider_algs(),
        };
        let schemes = verifier.supported_verify_schemes();
        assert_eq!(schemes, provider_algs().supported_schemes());
        assert!(schemes.contains(&rustls::SignatureScheme::ECDSA_NISTP256_SHA256));
    }

    #[test]
    fn without_algorithms_no_server_signature_is_accepted() {
        let none = WebPkiSupportedAlgorithms {
            all: &[],
            mapping: &[],
        };
        assert!(AnyChain { algs: none }
            .supported_verify_schemes()
            .is_empty());
        for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
            assert!(
                handshake(none, version).is_err(),
                "{version:?}: a handshake succeeded with no signature algorithm"
            );
        }
    }
}
