//! Checks on a client's end-entity certificate that do not need a chain.
//!
//! The gateway runs these on the leaf a client presents on the `mtls.` alias
//! before (or instead of) building a path to a trust anchor: they give
//! precise rejection reasons for logs and metrics — "expired" is far more
//! useful to an operator than "unknown issuer" — and they classify
//! self-signed certificates, which RFC 8705 §2.2 allows to be bound by
//! thumbprint alone without any CA.

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::oid_registry::OID_X509_EXT_BASIC_CONSTRAINTS;
use x509_parser::prelude::FromDer;

use crate::dn;
use crate::dn_match::NormalizedDn;

/// Why a client certificate is unacceptable on its own terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeafError {
    /// Not a single, well-formed DER X.509 certificate.
    #[error("client certificate is not a well-formed DER X.509 certificate: {0}")]
    Malformed(String),
    /// `now` is after notAfter.
    #[error("client certificate has expired")]
    Expired,
    /// `now` is before notBefore.
    #[error("client certificate is not yet valid")]
    NotYetValid,
    /// An extendedKeyUsage extension exists and permits neither TLS client
    /// authentication nor any purpose.
    #[error("client certificate's extended key usage does not allow TLS client authentication")]
    WrongExtendedKeyUsage,
}

/// What the gateway wants to know about an acceptable client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafFacts {
    /// Issuer and subject are the same DER name *and* the certificate's own
    /// key verifies its signature.
    pub self_signed: bool,
    /// basicConstraints says `CA:TRUE`.
    pub is_ca: bool,
    /// notBefore, unix seconds.
    pub not_before: i64,
    /// notAfter, unix seconds.
    pub not_after: i64,
    /// Serial number as lowercase hex of its big-endian magnitude, without
    /// separators or the DER sign byte (`openssl x509 -serial`, lowercased).
    pub serial_hex: String,
    /// Subject in RFC 4514 form, for display.
    pub subject: String,
    /// Issuer in RFC 4514 form, for display.
    pub issuer: String,
    /// Subject for comparing with names an operator wrote (the registry).
    pub normalized_subject: NormalizedDn,
    /// Issuer for comparing with names an operator wrote (the deny list).
    pub normalized_issuer: NormalizedDn,
}

/// Parses exactly one DER certificate; trailing bytes are an error because a
/// TLS certificate entry is a single certificate and anything after it would
/// be ignored by some parsers and not others.
pub(crate) fn parse_der(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok((rest, _)) => Err(format!(
            "{} trailing bytes after the certificate",
            rest.len()
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Validity, EKU and self-signedness of a client's leaf certificate at
/// `now_unix` (seconds). Validity bounds are inclusive (RFC 5280 §4.1.2.5).
pub fn check_client_leaf(der: &[u8], now_unix: i64) -> Result<LeafFacts, LeafError> {
    let cert = parse_der(der).map_err(LeafError::Malformed)?;

    let not_before = cert.validity().not_before.timestamp();
    let not_after = cert.validity().not_after.timestamp();
    if now_unix < not_before {
        return Err(LeafError::NotYetValid);
    }
    if now_unix > not_after {
        return Err(LeafError::Expired);
    }

    let eku = cert
        .extended_key_usage()
        .map_err(|e| LeafError::Malformed(format!("extendedKeyUsage: {e}")))?;
    if let Some(eku) = eku {
        if !eku.value.client_auth && !eku.value.any {
            return Err(LeafError::WrongExtendedKeyUsage);
        }
    }

    Ok(LeafFacts {
        self_signed: self_signed(&cert),
        is_ca: is_ca(&cert)?,
        not_before,
        not_after,
        serial_hex: serial_hex(cert.raw_serial()),
        subject: dn::rfc4514(cert.subject()),
        issuer: dn::rfc4514(cert.issuer()),
        normalized_subject: NormalizedDn::from_x509(cert.subject()),
        normalized_issuer: NormalizedDn::from_x509(cert.issuer()),
    })
}

/// Whether `der` is a self-signed certificate; `false` for anything that
/// does not parse.
pub fn is_self_signed(der: &[u8]) -> bool {
    parse_der(der).is_ok_and(|cert| self_signed(&cert))
}

/// Name equality alone is not enough: anyone can mint a certificate whose
/// issuer field copies its subject. Only a signature made by the
/// certificate's own key proves it issued itself. The signature check uses
/// aws-lc-rs through x509-parser's `verify-aws` feature and covers ECDSA
/// P-256/P-384 with SHA-256/384, RSA PKCS#1 v1.5 SHA-1/256/384/512, RSA-PSS
/// and Ed25519; a certificate signed with anything else is reported as not
/// self-signed, the conservative answer.
fn self_signed(cert: &X509Certificate<'_>) -> bool {
    cert.subject().as_raw() == cert.issuer().as_raw() && cert.verify_signature(None).is_ok()
}

/// A basicConstraints extension that does not parse must not silently read
/// as "not a CA", so it is reported as malformed.
fn is_ca(cert: &X509Certificate<'_>) -> Result<bool, LeafError> {
    basic_constraints_ca(cert).map_err(LeafError::Malformed)
}

/// Whether basicConstraints says CA:TRUE; an extension that is duplicated or
/// does not parse is an error, never "not a CA". Shared with `inspect`.
pub(crate) fn basic_constraints_ca(cert: &X509Certificate<'_>) -> Result<bool, String> {
    let bc = cert
        .get_extension_unique(&OID_X509_EXT_BASIC_CONSTRAINTS)
        .map_err(|e| format!("basicConstraints: {e}"))?;
    match bc.map(|ext| ext.parsed_extension()) {
        None => Ok(false),
        Some(ParsedExtension::BasicConstraints(bc)) => Ok(bc.ca),
        Some(_) => Err("basicConstraints does not parse".into()),
    }
}

/// The serial's magnitude without the DER sign byte, lower-case hex, as OpenSSL prints it. One
/// function for the leaf checks and `inspect`: the deny list matches serials an operator copied
/// from `certs inspect`, so both must print them identically.
pub(crate) fn serial_hex(raw: &[u8]) -> String {
    let start = raw
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    hex::encode(&raw[start..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::test_pki;
    use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair};
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    #[test]
    fn dev_pki_entries_classify_as_expected() {
        let pki = test_pki();
        let check = |issued: &crate::Issued| check_client_leaf(&issued.cert_der, now());
        assert_eq!(check(&pki.expired), Err(LeafError::Expired));
        assert_eq!(check(&pki.not_yet_valid), Err(LeafError::NotYetValid));
        assert_eq!(check(&pki.wrong_eku), Err(LeafError::WrongExtendedKeyUsage));

        let facts = check(&pki.self_signed_ca).unwrap();
        assert!(facts.self_signed && facts.is_ca);
        let facts = check(&pki.self_signed_leaf).unwrap();
        assert!(facts.self_signed && !facts.is_ca);

        for issued in [
            &pki.client,
            &pki.client_via_intermediate,
            &pki.same_name_other_ca,
            &pki.revoked,
            &pki.oversized,
        ] {
            let facts = check(issued).unwrap();
            assert!(!facts.self_signed && !facts.is_ca, "{}", facts.subject);
        }
        let facts = check(&pki.same_name_other_ca).unwrap();
        assert_eq!(facts.issuer, "CN=Example Root CA");
        assert_eq!(
            facts.normalized_issuer,
            NormalizedDn::parse("CN=Example Root CA").unwrap()
        );
        assert_eq!(facts.subject, "CN=client-same-name-other-ca");
        // Server and CA certificates carry no clientAuth EKU, or none at all.
        assert_eq!(check(&pki.server), Err(LeafError::WrongExtendedKeyUsage));
        assert!(check(&pki.root).unwrap().self_signed);
        assert!(!check(&pki.intermediate).unwrap().self_signed);
    }

    #[test]
    fn facts_for_root_signed_client() {
        let pki = test_pki();
        let facts = check_client_leaf(&pki.client.cert_der, now()).unwrap();
        assert_eq!(facts.subject, "CN=client-1");
        assert_eq!(facts.issuer, "CN=Example Root CA");
        assert!(!facts.self_signed);
        assert!(facts.not_before < now() && now() < facts.not_after);
        assert_eq!(facts.serial_hex.len(), 32);
        assert!(!is_self_signed(&pki.client.cert_der));
    }

    #[test]
    fn validity_bounds_are_inclusive() {
        let der = &test_pki().client.cert_der;
        let facts = check_client_leaf(der, now()).unwrap();
        assert!(check_client_leaf(der, facts.not_before).is_ok());
        assert!(check_client_leaf(der, facts.not_after).is_ok());
        assert_eq!(
            check_client_leaf(der, facts.not_before - 1),
            Err(LeafError::NotYetValid)
        );
        assert_eq!(
            check_client_leaf(der, facts.not_after + 1),
            Err(LeafError::Expired)
        );
    }

    #[test]
    fn garbage_and_trailing_bytes_are_malformed() {
        for input in [
            &b""[..],
            b"\x30\x03\x02\x01",
            b"not a certificate",
            &[0xff; 64],
        ] {
            assert!(matches!(
                check_client_leaf(input, now()),
                Err(LeafError::Malformed(_))
            ));
            assert!(!is_self_signed(input));
        }
        let mut der = test_pki().self_signed_leaf.cert_der.to_vec();
        der.push(0);
        assert!(matches!(
            check_client_leaf(&der, now()),
            Err(LeafError::Malformed(_))
        ));
        assert!(!is_self_signed(&der));
    }

    #[test]
    fn issuer_equal_to_subject_but_signed_by_another_key_is_not_self_signed() {
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "looks-self-signed");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let own_key = KeyPair::generate().unwrap();
        let other_key = KeyPair::generate().unwrap();
        let cert = params
            .signed_by(&own_key, &Issuer::from_params(&params, &other_key))
            .unwrap();

        let facts = check_client_leaf(cert.der(), now()).unwrap();
        assert_eq!(facts.subject, facts.issuer);
        assert!(!facts.self_signed);
        assert!(!is_self_signed(cert.der()));
        // The same parameters signed by the certificate's own key are.
        assert!(is_self_signed(params.self_signed(&own_key).unwrap().der()));
    }

    #[test]
    fn issued_by_the_root_under_the_roots_own_name_is_not_self_signed() {
        let pki = test_pki();
        let root = pki.root.issuer().unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "Example Root CA");
        let cert = params
            .signed_by(&KeyPair::generate().unwrap(), &root)
            .unwrap();
        let facts = check_client_leaf(cert.der(), now()).unwrap();
        assert_eq!(facts.subject, facts.issuer);
        assert!(!facts.self_signed);
    }

    #[test]
    fn self_signed_detection_covers_other_algorithms() {
        for alg in [
            &rcgen::PKCS_ECDSA_P384_SHA384,
            &rcgen::PKCS_ED25519,
            &rcgen::PKCS_RSA_SHA384,
            &rcgen::PKCS_RSA_SHA512,
        ] {
            let key = KeyPair::generate_for(alg).unwrap();
            let cert = CertificateParams::default().self_signed(&key).unwrap();
            assert!(is_self_signed(cert.der()), "{alg:?}");
        }
        // rcgen cannot sign with RSA-PSS; this one was made by OpenSSL.
        let pss = include_str!("../tests/data/rsa-pss-self-signed.pem");
        let der = CertificateDer::from_pem_slice(pss.as_bytes()).unwrap();
        assert!(is_self_signed(&der));
        // Flipping one signature bit must break it.
        let mut tampered = der.to_vec();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(!is_self_signed(&tampered));
    }

    #[test]
    fn openssl_written_fixed_cert() {
        let pem = include_str!("../tests/data/fixed-cert.pem");
        let der = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        // Values from `openssl x509 -serial -dates -subject -nameopt RFC2253`.
        let facts = check_client_leaf(&der, 1_800_000_000).unwrap();
        assert_eq!(
            facts,
            LeafFacts {
                self_signed: true,
                is_ca: true,
                not_before: 1_795_290_362,
                not_after: 4_948_890_362,
                serial_hex: "163bb5a6df1a25db926df5624ebd56486184b6b3".into(),
                subject: "CN=fixed-cert.example.com,O=Example Tests".into(),
                issuer: "CN=fixed-cert.example.com,O=Example Tests".into(),
                normalized_subject: NormalizedDn::parse(
                    "CN=fixed-cert.example.com,O=Example Tests"
                )
                .unwrap(),
                normalized_issuer: NormalizedDn::parse(
                    "cn=FIXED-CERT.example.com, o=example tests"
                )
                .unwrap(),
            }
        );
    }

    #[test]
    fn serial_hex_strips_the_sign_byte() {
        assert_eq!(serial_hex(&[0x00, 0x80, 0x01]), "8001");
        assert_eq!(serial_hex(&[0x00]), "00");
        assert_eq!(serial_hex(&[]), "");
    }
}
