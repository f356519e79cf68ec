//! SHA-256 certificate thumbprints.
//!
//! A thumbprint is how a client certificate is named everywhere outside the
//! TLS layer: in logs, in metrics labels, as a cache key for per-certificate
//! decisions, and — as `x5t#S256` (RFC 8705 §3.1) — in the `cnf` claim the
//! identity provider binds access tokens to. Computing it in one place keeps
//! all of those in agreement.

use std::fmt;

use aws_lc_rs::digest::{digest, SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// SHA-256 over the DER encoding of a certificate.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Thumbprint(pub [u8; 32]);

impl Thumbprint {
    /// Thumbprint of a DER certificate. The input is hashed as given — no
    /// parsing — so that the value matches `openssl x509 -fingerprint -sha256`
    /// for exactly the bytes the client presented.
    pub fn of(der: &[u8]) -> Self {
        let mut out = [0u8; 32];
        out.copy_from_slice(digest(&SHA256, der).as_ref());
        Thumbprint(out)
    }

    /// Lowercase hex without separators, the form used in logs and config.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The RFC 8705 `x5t#S256` confirmation value: base64url, no padding.
    pub fn x5t_s256(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }
}

impl fmt::Display for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    /// `openssl x509 -in tests/data/fixed-cert.pem -noout -fingerprint -sha256`
    const OPENSSL_FINGERPRINT: &str = "CD:1F:42:8E:B2:F7:86:02:5D:7C:C7:51:B6:C9:AD:A0:\
                                       C1:45:07:08:64:63:13:FC:E9:20:BF:44:07:4C:9C:D4";

    fn fixed() -> Thumbprint {
        let pem = include_str!("../tests/data/fixed-cert.pem");
        Thumbprint::of(&CertificateDer::from_pem_slice(pem.as_bytes()).unwrap())
    }

    #[test]
    fn hex_matches_openssl_fingerprint() {
        let expected = OPENSSL_FINGERPRINT.replace(':', "").to_lowercase();
        assert_eq!(fixed().hex(), expected);
        assert_eq!(fixed().to_string(), expected);
    }

    #[test]
    fn x5t_s256_is_base64url_of_the_same_bytes() {
        let t = fixed();
        assert_eq!(t.x5t_s256(), "zR9CjrL3hgJdfMdRtsmtoMFFBwhkYxP86SC_RAdMnNQ");
        assert!(!t.x5t_s256().contains(['=', '+', '/']));
        let decoded = URL_SAFE_NO_PAD.decode(t.x5t_s256()).unwrap();
        assert_eq!(decoded, t.0);
        // Padded form differs only by the trailing '='.
        assert_eq!(URL_SAFE.encode(t.0), format!("{}=", t.x5t_s256()));
    }

    #[test]
    fn differs_per_certificate() {
        let pki = crate::pki::test_pki();
        let a = Thumbprint::of(&pki.client.cert_der);
        let b = Thumbprint::of(&pki.client_via_intermediate.cert_der);
        assert_ne!(a, b);
        assert_eq!(a, Thumbprint::of(&pki.client.cert_der));
    }
}
