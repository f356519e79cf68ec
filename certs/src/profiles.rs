//! Certificate profiles of the development PKI.
//!
//! Each function here fixes what one *kind* of certificate looks like —
//! CA, server, client — so that [`crate::pki`] reads as a list of entries
//! and every entry of a kind differs from its siblings only in the one
//! property it exists to demonstrate.

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevocationReason, RevokedCertParams, SanType, SerialNumber, SigningKey,
};
use time::{Duration, OffsetDateTime};

use crate::encode::{escaped_pem_len, CLIENT_CERT_HEADER_LIMIT};
use crate::issued::Issued;
use crate::pki::PkiError;

/// notBefore and notAfter.
pub(crate) type Validity = (OffsetDateTime, OffsetDateTime);

/// The root's subject; the impostor CA copies it byte for byte.
pub(crate) const ROOT_CN: &str = "Example Root CA";

/// A CA under construction: its params double as rcgen's issuer data.
pub(crate) struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pub(crate) issued: Issued,
}

impl Ca {
    pub(crate) fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }
}

/// A CA valid for ten years, so it outlives every leaf it signs;
/// self-signed when `parent` is `None`.
pub(crate) fn ca(
    cn: &str,
    pathlen: Option<u8>,
    parent: Option<&Ca>,
    now: OffsetDateTime,
) -> Result<Ca, PkiError> {
    let mut params = base_params(cn, (now - Duration::hours(1), now + Duration::days(3650)))?;
    params.is_ca = IsCa::Ca(pathlen.map_or(
        BasicConstraints::Unconstrained,
        BasicConstraints::Constrained,
    ));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate()?;
    let issued = match parent {
        Some(parent) => issue(&params, &key, &parent.issuer(), &[])?,
        None => Issued::new(params.self_signed(&key)?.der().clone(), &key, &[]),
    };
    Ok(Ca {
        params,
        key,
        issued,
    })
}

/// What every certificate shares: a CN-only subject (so each entry is
/// recognisable in logs by its CN alone), a fresh random serial, and an
/// authorityKeyIdentifier for tools that build paths by key ID.
fn base_params(cn: &str, (not_before, not_after): Validity) -> Result<CertificateParams, PkiError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(random_serial()?);
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

/// A TLS server certificate for `names` (DNS names or IP literals).
pub(crate) fn server_leaf(
    cn: &str,
    names: &[&str],
    validity: Validity,
) -> Result<CertificateParams, PkiError> {
    let mut params = base_params(cn, validity)?;
    params.subject_alt_names =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())?
            .subject_alt_names;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    Ok(params)
}

/// A TLS client certificate with the clientAuth EKU the gateway requires.
pub(crate) fn client_leaf(cn: &str, validity: Validity) -> Result<CertificateParams, PkiError> {
    let mut params = base_params(cn, validity)?;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    Ok(params)
}

/// Signs `params` for `key` under `issuer`; `intermediates` go into the chain.
pub(crate) fn issue(
    params: &CertificateParams,
    key: &KeyPair,
    issuer: &Issuer<'_, impl SigningKey>,
    intermediates: &[&Issued],
) -> Result<Issued, PkiError> {
    let cert = params.signed_by(key, issuer)?;
    Ok(Issued::new(cert.der().clone(), key, intermediates))
}

/// Self-signs `params` with a fresh P-256 key.
pub(crate) fn self_sign(params: CertificateParams) -> Result<Issued, PkiError> {
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok(Issued::new(cert.der().clone(), &key, &[]))
}

/// RSA-4096 plus SANs until the escaped PEM is over the header limit. 64
/// names suffice for any domain; the loop only guards the property.
pub(crate) fn oversized(domain: &str, root: &Ca, validity: Validity) -> Result<Issued, PkiError> {
    let key = KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_4096)?;
    let mut count = 64;
    loop {
        let mut params = client_leaf("client-oversized", validity)?;
        params.subject_alt_names = (0..count)
            .map(|i| {
                Ok(SanType::DnsName(
                    format!("oversized-{i:03}.clients.{domain}").try_into()?,
                ))
            })
            .collect::<Result<_, rcgen::Error>>()?;
        let cert = params.signed_by(&key, &root.issuer())?;
        if escaped_pem_len(cert.der()) > CLIENT_CERT_HEADER_LIMIT {
            return Ok(Issued::new(cert.der().clone(), &key, &[]));
        }
        count += 16;
    }
}

/// 16 random bytes with the top bit clear (a positive INTEGER without a sign
/// byte) and the next bit set (so it is always exactly 16 bytes long).
pub(crate) fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| PkiError::Random)?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

/// The root's CRL: revokes `revoked`, valid for 7 days, DER.
pub(crate) fn root_crl(
    root: &Ca,
    revoked: SerialNumber,
    now: OffsetDateTime,
) -> Result<Vec<u8>, PkiError> {
    let crl = CertificateRevocationListParams {
        this_update: now - Duration::minutes(1),
        next_update: now + Duration::days(7),
        crl_number: SerialNumber::from_slice(&[1]),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: revoked,
            revocation_time: now - Duration::minutes(1),
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&root.issuer())?;
    Ok(crl.der().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::test_pki;
    use crate::thumbprint::Thumbprint;

    #[test]
    fn serials_are_distinct_positive_16_bytes() {
        let pki = test_pki();
        let mut seen = std::collections::HashSet::new();
        for (name, issued) in pki.entries() {
            let (_, cert) = x509_parser::parse_x509_certificate(&issued.cert_der).unwrap();
            let raw = cert.raw_serial();
            assert_eq!(raw.len(), 16, "{name}");
            assert!(raw[0] & 0x80 == 0 && raw[0] != 0, "{name}");
            assert!(seen.insert(raw.to_vec()), "{name} reuses a serial");
        }
        assert_eq!(seen.len(), 16);
        let thumbprints: std::collections::HashSet<_> = pki
            .entries()
            .iter()
            .map(|(_, i)| Thumbprint::of(&i.cert_der))
            .collect();
        assert_eq!(thumbprints.len(), 16);
    }

    #[test]
    fn keys_and_shapes() {
        let pki = test_pki();
        let spki_alg = |issued: &Issued| {
            let (_, cert) = x509_parser::parse_x509_certificate(&issued.cert_der).unwrap();
            let key_bits = cert.public_key().parsed().unwrap().key_size();
            (
                cert.public_key().algorithm.algorithm.to_id_string(),
                key_bits,
            )
        };
        assert_eq!(spki_alg(&pki.server), ("1.2.840.10045.2.1".into(), 256));
        assert_eq!(
            spki_alg(&pki.server_rsa),
            ("1.2.840.113549.1.1.1".into(), 2048)
        );
        assert_eq!(
            spki_alg(&pki.oversized),
            ("1.2.840.113549.1.1.1".into(), 4096)
        );
        assert!(escaped_pem_len(&pki.oversized.cert_der) > CLIENT_CERT_HEADER_LIMIT);
        assert!(escaped_pem_len(&pki.client.cert_der) < CLIENT_CERT_HEADER_LIMIT);

        let (_, inter) = x509_parser::parse_x509_certificate(&pki.intermediate.cert_der).unwrap();
        let bc = inter.basic_constraints().unwrap().unwrap().value;
        assert!(bc.ca && bc.path_len_constraint == Some(0));
        let (_, root) = x509_parser::parse_x509_certificate(&pki.root.cert_der).unwrap();
        let ku = root.key_usage().unwrap().unwrap().value;
        assert!(ku.key_cert_sign() && ku.crl_sign() && !ku.digital_signature());
    }

    #[test]
    fn random_serials_differ() {
        let a = random_serial().unwrap();
        let b = random_serial().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
    }
}
