//! Certificate revocation lists signed by a development CA: what tests (and the `certs` tool) use
//! to revoke a certificate, publish an empty list, or produce a stale one — and a forged list
//! under a CA's name, which a loader must refuse.

use rcgen::{
    CertificateRevocationListParams, Issuer, KeyIdMethod, KeyPair, RevocationReason,
    RevokedCertParams, SerialNumber,
};
use time::OffsetDateTime;
use x509_parser::prelude::FromDer;

use crate::issued::Issued;
use crate::pki::PkiError;

/// A CRL in both encodings.
#[derive(Debug, Clone)]
pub struct SignedCrl {
    pub pem: String,
    pub der: Vec<u8>,
}

/// Signs a CRL with `ca`'s key listing `revoked` (certificates `ca` issued), valid from
/// `this_update` to `next_update`. `number` is the CRL number; publish increasing numbers.
pub fn sign_crl(
    ca: &Issued,
    revoked: &[&Issued],
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    number: u64,
) -> Result<SignedCrl, PkiError> {
    sign_with(&ca.issuer()?, revoked, this_update, next_update, number)
}

/// Like [`sign_crl`], but signed by a fresh key that is not `ca`'s: the issuer name is `ca`'s
/// exact subject, so only the signature tells it apart from a genuine list.
pub fn forge_crl(
    ca: &Issued,
    revoked: &[&Issued],
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    number: u64,
) -> Result<SignedCrl, PkiError> {
    let impostor = Issuer::from_ca_cert_der(&ca.cert_der, KeyPair::generate()?)?;
    sign_with(&impostor, revoked, this_update, next_update, number)
}

/// Signs a CRL as `issuer` (its name and key, which need not belong together).
pub(crate) fn sign_with(
    issuer: &Issuer<'_, KeyPair>,
    revoked: &[&Issued],
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    number: u64,
) -> Result<SignedCrl, PkiError> {
    let mut revoked_certs = Vec::with_capacity(revoked.len());
    for cert in revoked {
        let (_, parsed) = x509_parser::certificate::X509Certificate::from_der(&cert.cert_der)
            .map_err(|e| PkiError::Spec(format!("cannot parse a certificate to revoke: {e}")))?;
        revoked_certs.push(RevokedCertParams {
            serial_number: SerialNumber::from_slice(parsed.raw_serial()),
            revocation_time: this_update,
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: None,
        });
    }
    let crl = CertificateRevocationListParams {
        this_update,
        next_update,
        crl_number: SerialNumber::from_slice(&number.to_be_bytes()),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(issuer)?;
    Ok(SignedCrl {
        pem: crl.pem()?,
        der: crl.der().to_vec(),
    })
}
