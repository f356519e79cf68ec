//! [`crl_signer`] against the development PKI: genuine, forged, intermediate and tampered lists,
//! and agreement with webpki's own verdict when a chain uses the list.

use rcgen::{Issuer, KeyPair};
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use time::{Duration, OffsetDateTime};
use webpki::{
    anchor_from_trusted_cert, BorrowedCertRevocationList, CertRevocationList, EndEntityCert,
    KeyUsage, RevocationOptionsBuilder, ALL_VERIFICATION_ALGS,
};

use super::*;
use crate::crl::{forge_crl, sign_crl, sign_with};
use crate::issued::Issued;
use crate::pki::test_pki;

fn anchors(cas: &[&Issued]) -> Vec<TrustAnchor<'static>> {
    cas.iter()
        .map(|ca| anchor_from_trusted_cert(&ca.cert_der).unwrap().to_owned())
        .collect()
}

fn week() -> (OffsetDateTime, OffsetDateTime) {
    let now = OffsetDateTime::now_utc();
    (now - Duration::minutes(1), now + Duration::days(7))
}

fn forged(revoked: &[&Issued]) -> Vec<u8> {
    let (this, next) = week();
    forge_crl(&test_pki().root, revoked, this, next, 1)
        .unwrap()
        .der
}

fn check(crl: &[u8], cas: &[&Issued]) -> Result<CrlSigner, CrlSignatureError> {
    crl_signer(crl, &anchors(cas), ALL_VERIFICATION_ALGS)
}

/// webpki's verdict on `leaf` (issued by the root) with `crl` as the only list.
fn webpki_verdict(leaf: &Issued, crl: &[u8]) -> Result<(), webpki::Error> {
    let anchors = anchors(&[&test_pki().root]);
    let list: CertRevocationList<'_> = BorrowedCertRevocationList::from_der(crl).unwrap().into();
    let lists = [&list];
    let revocation = RevocationOptionsBuilder::new(&lists).unwrap().build();
    EndEntityCert::try_from(&leaf.cert_der)?
        .verify_for_usage(
            ALL_VERIFICATION_ALGS,
            &anchors,
            &[],
            UnixTime::now(),
            KeyUsage::client_auth(),
            Some(revocation),
            None,
        )
        .map(|_| ())
}

#[test]
fn the_roots_own_crl_is_signed_by_the_root() {
    let pki = test_pki();
    assert_eq!(
        check(&pki.root_crl_der, &[&pki.root]),
        Ok(CrlSigner::Anchor(0))
    );
    assert_eq!(
        check(&pki.root_crl_der, &[&pki.intermediate, &pki.root]),
        Ok(CrlSigner::Anchor(1))
    );
    let (this, next) = week();
    let empty = sign_crl(&pki.root, &[], this, next, 2).unwrap();
    assert_eq!(check(&empty.der, &[&pki.root]), Ok(CrlSigner::Anchor(0)));
}

#[test]
fn a_crl_forged_under_the_roots_name_is_refused() {
    let pki = test_pki();
    let forged = forged(&[]);
    // Same issuer bytes as the root's subject: only the key differs.
    let list: CertRevocationList<'_> = BorrowedCertRevocationList::from_der(&forged)
        .unwrap()
        .into();
    let issuer = list.issuer().to_vec();
    assert_eq!(issuer, anchors(&[&pki.root])[0].subject.as_ref());
    assert_eq!(
        check(&forged, &[&pki.root]),
        Err(CrlSignatureError::WrongKey { anchors: 1 })
    );
    assert_eq!(
        check(&forged, &[&pki.intermediate, &pki.root]),
        Err(CrlSignatureError::WrongKey { anchors: 1 })
    );
}

#[test]
fn a_forgery_with_another_key_type_is_refused_too() {
    let pki = test_pki();
    let rsa = KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let impostor = Issuer::from_ca_cert_der(&pki.root.cert_der, rsa).unwrap();
    let (this, next) = week();
    let forged = sign_with(&impostor, &[], this, next, 1).unwrap();
    assert_eq!(
        check(&forged.der, &[&pki.root]),
        Err(CrlSignatureError::WrongKey { anchors: 1 })
    );
}

#[test]
fn any_anchor_of_the_issuers_name_may_have_signed_it() {
    // Two anchors share the name during a rotation; the list verifies with the one that signed it.
    let pki = test_pki();
    let (this, next) = week();
    let rotated_ca = crate::profiles::ca(crate::profiles::ROOT_CN, None, None, this)
        .unwrap()
        .issued;
    let by_rotated = sign_crl(&rotated_ca, &[], this, next, 1).unwrap();
    assert_eq!(
        check(&by_rotated.der, &[&rotated_ca, &pki.root]),
        Ok(CrlSigner::Anchor(0))
    );
    assert_eq!(
        check(&pki.root_crl_der, &[&rotated_ca, &pki.root]),
        Ok(CrlSigner::Anchor(1))
    );
    assert_eq!(
        check(&forged(&[]), &[&rotated_ca, &pki.root]),
        Err(CrlSignatureError::WrongKey { anchors: 2 })
    );
}

#[test]
fn an_intermediates_crl_cannot_be_checked_against_the_anchors() {
    let pki = test_pki();
    let (this, next) = week();
    let crl = sign_crl(&pki.intermediate, &[], this, next, 1).unwrap();
    assert_eq!(check(&crl.der, &[&pki.root]), Ok(CrlSigner::NotAnAnchor));
    assert_eq!(check(&pki.root_crl_der, &[]), Ok(CrlSigner::NotAnAnchor));
}

#[test]
fn a_tampered_signature_does_not_verify() {
    let pki = test_pki();
    let mut tampered = pki.root_crl_der.clone();
    // The last byte belongs to the signatureValue.
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    assert_eq!(
        check(&tampered, &[&pki.root]),
        Err(CrlSignatureError::WrongKey { anchors: 1 })
    );
}

#[test]
fn an_algorithm_the_verifier_lacks_is_refused() {
    let pki = test_pki();
    let ed25519_only = [webpki::aws_lc_rs::ED25519];
    assert_eq!(
        crl_signer(&pki.root_crl_der, &anchors(&[&pki.root]), &ed25519_only),
        Err(CrlSignatureError::UnsupportedAlgorithm)
    );
}

#[test]
fn what_is_not_a_crl_is_malformed() {
    let pki = test_pki();
    for bad in [&b""[..], b"\x30\x03\x02\x01\x00", &pki.root.cert_der[..]] {
        assert!(
            matches!(
                check(bad, &[&pki.root]),
                Err(CrlSignatureError::Malformed(_))
            ),
            "{bad:?}"
        );
    }
    let mut trailing = pki.root_crl_der.clone();
    trailing.push(0);
    assert!(matches!(
        check(&trailing, &[&pki.root]),
        Err(CrlSignatureError::Malformed(_))
    ));
}

#[test]
fn the_verdict_agrees_with_webpki_when_a_chain_uses_the_list() {
    let pki = test_pki();
    let forged = forged(&[]);
    assert_eq!(
        webpki_verdict(&pki.client, &forged),
        Err(webpki::Error::InvalidCrlSignatureForPublicKey)
    );
    assert!(check(&forged, &[&pki.root]).is_err());
    webpki_verdict(&pki.client, &pki.root_crl_der).unwrap();
    assert!(check(&pki.root_crl_der, &[&pki.root]).is_ok());
    // Anchors given as certificates keep their subject bytes: the match is on raw DER.
    let der: &CertificateDer<'_> = &pki.root.cert_der;
    let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
    let (_, crl) = x509_parser::parse_x509_crl(&forged).unwrap();
    assert_eq!(cert.subject().as_raw(), crl.issuer().as_raw());
}
