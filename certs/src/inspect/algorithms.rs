//! Names for the algorithms and purposes in a certificate.
//!
//! The report should read like `openssl x509 -text`, which is what operators
//! compare it with, so key, signature and extended-key-usage names follow
//! OpenSSL's; anything without a well-known name is shown as its dotted OID
//! rather than hidden.

use x509_parser::extensions::ExtendedKeyUsage;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::RSAPublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

/// OpenSSL's short names, in a fixed order; x509-parser does not keep the
/// certificate's order.
pub(super) fn eku_names(eku: &ExtendedKeyUsage<'_>) -> Vec<String> {
    let known = [
        (eku.server_auth, "serverAuth"),
        (eku.client_auth, "clientAuth"),
        (eku.code_signing, "codeSigning"),
        (eku.email_protection, "emailProtection"),
        (eku.time_stamping, "timeStamping"),
        (eku.ocsp_signing, "OCSPSigning"),
        (eku.any, "anyExtendedKeyUsage"),
    ];
    known
        .iter()
        .filter(|(set, _)| *set)
        .map(|(_, name)| (*name).to_owned())
        .chain(eku.other.iter().map(|oid| oid.to_id_string()))
        .collect()
}

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_RSA_PSS: &str = "1.2.840.113549.1.1.10";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_ED25519: &str = "1.3.101.112";
const OID_ED448: &str = "1.3.101.113";
const OID_DSA: &str = "1.2.840.10040.4.1";

/// A key that does not parse is described, not rejected: the report is
/// most needed exactly when something about a certificate is wrong.
pub(super) fn key_type(spki: &SubjectPublicKeyInfo<'_>) -> String {
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        OID_RSA | OID_RSA_PSS => {
            let label = if alg == OID_RSA { "RSA" } else { "RSA-PSS" };
            match RSAPublicKey::from_der(&spki.subject_public_key.data) {
                Ok((_, key)) => format!("{label} {}", modulus_bits(key.modulus)),
                Err(_) => format!("{label} (malformed key)"),
            }
        }
        OID_EC => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| oid.to_id_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => "ECDSA P-256".into(),
                Some("1.3.132.0.34") => "ECDSA P-384".into(),
                Some("1.3.132.0.35") => "ECDSA P-521".into(),
                Some("1.3.132.0.10") => "ECDSA secp256k1".into(),
                Some(other) => format!("ECDSA (curve {other})"),
                None => "ECDSA (explicit or missing curve parameters)".into(),
            }
        }
        OID_ED25519 => "Ed25519".into(),
        OID_ED448 => "Ed448".into(),
        OID_DSA => "DSA".into(),
        other => format!("unknown key algorithm {other}"),
    }
}

/// Significant bits of a big-endian modulus (x509-parser's own `key_size`
/// assumes a sign byte is always present).
fn modulus_bits(modulus: &[u8]) -> usize {
    let start = modulus.iter().position(|b| *b != 0);
    match start {
        None => 0,
        Some(i) => (modulus.len() - i) * 8 - modulus[i].leading_zeros() as usize,
    }
}

/// OpenSSL's names for the signature algorithms certificates use in
/// practice, so the report reads like `openssl x509 -text`.
pub(super) fn signature_name(oid: &str) -> String {
    let name = match oid {
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
        OID_RSA_PSS => "rsassaPss",
        OID_ED25519 => "ED25519",
        OID_ED448 => "ED448",
        other => other,
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulus_bits_ignores_sign_and_leading_zero_bits() {
        assert_eq!(modulus_bits(&[0x00, 0x80, 0, 0]), 24);
        assert_eq!(modulus_bits(&[0x7f, 0]), 15);
        assert_eq!(modulus_bits(&[0x00, 0x00]), 0);
        assert_eq!(modulus_bits(&[]), 0);
    }
}
