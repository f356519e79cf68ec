//! One certificate of the development PKI together with its key.
//!
//! Tests and the `demo` command need the same certificate in several shapes
//! at once — DER for rustls, PEM for files and for `curl --cert`, the chain a
//! client sends — so [`Issued`] carries all of them, produced once, with the
//! PEM written exactly as OpenSSL would write it (see [`crate::encode`]).

use std::fmt;

use rcgen::KeyPair;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::encode::{pem, pem_block};
use crate::pki::PkiError;
use crate::thumbprint::Thumbprint;

/// A certificate, its PKCS#8 private key, and the chain to present with it.
pub struct Issued {
    /// The certificate, DER.
    pub cert_der: CertificateDer<'static>,
    /// Its private key, PKCS#8 DER.
    pub key_der: PrivatePkcs8KeyDer<'static>,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub key_pem: String,
    /// This certificate followed by every intermediate needed to reach the
    /// root (the root itself is not included: peers must already trust it).
    pub chain_pem: String,
}

impl Issued {
    /// Bundles a freshly signed certificate with its key. `intermediates` are
    /// the CA certificates between it and the root, nearest first.
    pub(crate) fn new(
        cert_der: CertificateDer<'static>,
        key: &KeyPair,
        intermediates: &[&Issued],
    ) -> Self {
        let cert_pem = pem(&cert_der);
        let chain_pem = std::iter::once(cert_pem.as_str())
            .chain(intermediates.iter().map(|i| i.cert_pem.as_str()))
            .collect();
        let key_der = PrivatePkcs8KeyDer::from(key.serialize_der());
        let key_pem = pem_block("PRIVATE KEY", key_der.secret_pkcs8_der());
        Issued {
            cert_der,
            key_der,
            cert_pem,
            key_pem,
            chain_pem,
        }
    }

    /// The private key in the form rustls' config builders take.
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key_der.clone_key())
    }

    /// [`Issued::chain_pem`] as DER, leaf first.
    pub fn chain_der(&self) -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_slice_iter(self.chain_pem.as_bytes())
            .filter_map(Result::ok)
            .collect()
    }

    /// SHA-256 thumbprint of the certificate.
    pub fn thumbprint(&self) -> Thumbprint {
        Thumbprint::of(&self.cert_der)
    }

    /// An rcgen issuer for this certificate and key, so callers can mint
    /// further certificates under a CA entry (e.g. a test needing one more
    /// odd client certificate) without a second PKI.
    pub fn issuer(&self) -> Result<rcgen::Issuer<'static, KeyPair>, PkiError> {
        let key = KeyPair::try_from(&self.key_der)?;
        Ok(rcgen::Issuer::from_ca_cert_der(&self.cert_der, key)?)
    }
}

/// Private key types deliberately lack `Clone`; copying one here is an
/// explicit `clone_key`, which is fine for throw-away development keys.
impl Clone for Issued {
    fn clone(&self) -> Self {
        Issued {
            cert_der: self.cert_der.clone(),
            key_der: self.key_der.clone_key(),
            cert_pem: self.cert_pem.clone(),
            key_pem: self.key_pem.clone(),
            chain_pem: self.chain_pem.clone(),
        }
    }
}

/// Shows which certificate this is, never the key.
impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("thumbprint", &self.thumbprint().hex())
            .field("chain_len", &self.chain_der().len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use crate::pki::test_pki;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};

    #[test]
    fn pem_and_der_agree() {
        let pki = test_pki();
        for (_, issued) in pki.entries() {
            let from_pem = CertificateDer::from_pem_slice(issued.cert_pem.as_bytes()).unwrap();
            assert_eq!(from_pem, issued.cert_der);
            let key = PrivateKeyDer::from_pem_slice(issued.key_pem.as_bytes()).unwrap();
            assert!(matches!(key, PrivateKeyDer::Pkcs8(_)));
            assert_eq!(key.secret_der(), issued.key().secret_der());
            assert_eq!(issued.chain_der()[0], issued.cert_der);
        }
    }

    #[test]
    fn chains_end_below_the_root() {
        let pki = test_pki();
        assert_eq!(
            pki.client.chain_der(),
            std::slice::from_ref(&pki.client.cert_der)
        );
        assert_eq!(
            pki.client_via_intermediate.chain_der(),
            [
                pki.client_via_intermediate.cert_der.clone(),
                pki.intermediate.cert_der.clone()
            ]
        );
        assert_eq!(pki.root.chain_der().len(), 1);
    }

    #[test]
    fn debug_does_not_leak_the_key() {
        let pki = test_pki();
        let shown = format!("{:?}", pki.client);
        assert!(shown.contains(&pki.client.thumbprint().hex()));
        assert!(!shown.contains("PRIVATE"));
    }

    #[test]
    fn keys_load_into_aws_lc() {
        let pki = test_pki();
        let rsa =
            aws_lc_rs::rsa::KeyPair::from_pkcs8(pki.server_rsa.key_der.secret_pkcs8_der()).unwrap();
        assert_eq!(rsa.public_modulus_len(), 256);
        let rsa =
            aws_lc_rs::rsa::KeyPair::from_pkcs8(pki.oversized.key_der.secret_pkcs8_der()).unwrap();
        assert_eq!(rsa.public_modulus_len(), 512);
        let ec = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            pki.client.key_der.secret_pkcs8_der(),
        );
        assert!(ec.is_ok());
    }
}
