//! Whether a CRL was signed by the configured trust anchor it names as its issuer.
//!
//! webpki checks a CRL's signature only when a chain it is authoritative for is verified, and a
//! CRL whose signature fails there fails every such chain. Checking it when the configuration
//! loads turns one bad file into a refused change instead of a silent downgrade of every client
//! under that CA. The check follows webpki's own rules, so that a CRL accepted here is one webpki
//! accepts: the issuer's name is compared byte for byte with each anchor's subject (as webpki
//! matches a CRL to a certificate's issuer), and the signature is verified with the same
//! algorithm list the handshake uses, matched on the DER AlgorithmIdentifiers.

use rustls_pki_types::{SignatureVerificationAlgorithm, TrustAnchor};
use x509_parser::asn1_rs::{Any, FromDer, Tag};

/// Who signed a CRL, as far as the configured trust anchors can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrlSigner {
    /// The anchor at this index has the CRL's issuer name and its key verifies the signature.
    Anchor(usize),
    /// No anchor has the CRL's issuer name (an intermediate's CRL, say): it cannot be checked
    /// here, and webpki checks it against the intermediate when a chain uses it.
    NotAnAnchor,
}

/// Why a CRL's signature is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrlSignatureError {
    /// The bytes are not a CRL's `tbsCertList, signatureAlgorithm, signatureValue`.
    #[error("not a well-formed CRL: {0}")]
    Malformed(&'static str),
    /// The signature algorithm is none the verifier knows, so no chain could ever use the CRL.
    #[error("its signature algorithm is not one the gateway can verify")]
    UnsupportedAlgorithm,
    /// One or more anchors have the issuer's name and none of their keys verifies the signature.
    #[error(
        "its signature does not verify with the key of any of the {anchors} trust anchor(s) named as its issuer"
    )]
    WrongKey {
        /// How many anchors have the CRL's issuer name.
        anchors: usize,
    },
}

/// Checks `crl_der`'s signature against the `anchors` whose subject is the CRL's issuer, with
/// the signature algorithms `algs` (pass the ones the certificate verifier uses).
pub fn crl_signer(
    crl_der: &[u8],
    anchors: &[TrustAnchor<'_>],
    algs: &[&dyn SignatureVerificationAlgorithm],
) -> Result<CrlSigner, CrlSignatureError> {
    let parsed: webpki::CertRevocationList<'_> =
        webpki::BorrowedCertRevocationList::from_der(crl_der)
            .map_err(|_| CrlSignatureError::Malformed("webpki cannot parse it"))?
            .into();
    let issuer = parsed.issuer();
    let signed = SignedData::parse(crl_der)?;
    let named: Vec<usize> = (0..anchors.len())
        .filter(|&i| anchors[i].subject.as_ref() == issuer)
        .collect();
    if named.is_empty() {
        return Ok(CrlSigner::NotAnAnchor);
    }
    let for_signature: Vec<&dyn SignatureVerificationAlgorithm> = algs
        .iter()
        .copied()
        .filter(|a| a.signature_alg_id().as_ref() == signed.algorithm)
        .collect();
    if for_signature.is_empty() {
        return Err(CrlSignatureError::UnsupportedAlgorithm);
    }
    for &i in &named {
        // An anchor whose key cannot even be parsed cannot have signed it.
        let Ok((key_alg, key)) = spki_parts(anchors[i].subject_public_key_info.as_ref()) else {
            continue;
        };
        let verifies = for_signature
            .iter()
            .filter(|a| a.public_key_alg_id().as_ref() == key_alg)
            .any(|a| {
                a.verify_signature(key, signed.tbs, signed.signature)
                    .is_ok()
            });
        if verifies {
            return Ok(CrlSigner::Anchor(i));
        }
    }
    Err(CrlSignatureError::WrongKey {
        anchors: named.len(),
    })
}

/// `CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue }`, split the
/// way the signature is checked: the whole tbsCertList element is what was signed, the algorithm
/// is the AlgorithmIdentifier's contents (the form `SignatureVerificationAlgorithm` ids take).
struct SignedData<'a> {
    tbs: &'a [u8],
    algorithm: &'a [u8],
    signature: &'a [u8],
}

impl<'a> SignedData<'a> {
    fn parse(der: &'a [u8]) -> Result<Self, CrlSignatureError> {
        let (outer, rest) = element(der, Tag::Sequence, "the CRL is not a SEQUENCE")?;
        if !rest.is_empty() {
            return Err(CrlSignatureError::Malformed("bytes after the CRL"));
        }
        let (_, after_tbs) = element(outer, Tag::Sequence, "no tbsCertList")?;
        let tbs = &outer[..outer.len() - after_tbs.len()];
        let (algorithm, after_alg) = element(after_tbs, Tag::Sequence, "no signatureAlgorithm")?;
        let (bits, end) = element(after_alg, Tag::BitString, "no signatureValue")?;
        if !end.is_empty() {
            return Err(CrlSignatureError::Malformed(
                "bytes after the signatureValue",
            ));
        }
        let signature = whole_bytes(bits).ok_or(CrlSignatureError::Malformed(
            "the signatureValue is not whole bytes",
        ))?;
        Ok(SignedData {
            tbs,
            algorithm,
            signature,
        })
    }
}

/// A trust anchor's SubjectPublicKeyInfo contents: (AlgorithmIdentifier contents, key bytes).
fn spki_parts(spki: &[u8]) -> Result<(&[u8], &[u8]), CrlSignatureError> {
    let (alg, rest) = element(spki, Tag::Sequence, "no key algorithm")?;
    let (bits, _) = element(rest, Tag::BitString, "no public key")?;
    let key = whole_bytes(bits).ok_or(CrlSignatureError::Malformed(
        "the public key is not whole bytes",
    ))?;
    Ok((alg, key))
}

/// One DER element of type `tag` at the start of `input`: (its contents, what follows it).
fn element<'a>(
    input: &'a [u8],
    tag: Tag,
    missing: &'static str,
) -> Result<(&'a [u8], &'a [u8]), CrlSignatureError> {
    match Any::from_der(input) {
        Ok((rest, any)) if any.tag() == tag => Ok((any.data, rest)),
        _ => Err(CrlSignatureError::Malformed(missing)),
    }
}

/// A BIT STRING's contents as bytes, when it has no unused bits (as signatures and keys do).
fn whole_bytes(bit_string: &[u8]) -> Option<&[u8]> {
    match bit_string.split_first() {
        Some((0, bytes)) => Some(bytes),
        _ => None,
    }
}

#[cfg(test)]
#[path = "crl_verify_tests.rs"]
mod tests;
