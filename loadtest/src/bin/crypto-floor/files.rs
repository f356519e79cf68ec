//! The PKI files `mtls-gateway certs init` writes, and the two DER fields a certificate's
//! signature check needs.

use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::BoxError;

/// Every certificate of a PEM file; at least one.
pub fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, BoxError> {
    let all = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if all.is_empty() {
        return Err(format!("{}: no certificate", path.display()).into());
    }
    Ok(all)
}

/// The first certificate of a PEM file.
pub fn first_cert(path: &Path) -> Result<CertificateDer<'static>, BoxError> {
    Ok(certs(path)?.remove(0))
}

pub fn key(path: &Path) -> Result<PrivateKeyDer<'static>, BoxError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| format!("{}: {e}", path.display()).into())
}

/// Reads one DER TLV: (tag, whole element, contents).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)? as usize;
    let (len, header) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 3 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *input.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let whole = input.get(..header + len)?;
    Some((tag, whole, &whole[header..]))
}

/// (tbsCertificate, signature) of a DER certificate.
pub fn tbs_and_signature(cert: &[u8]) -> Option<(&[u8], &[u8])> {
    let (_, _, body) = tlv(cert)?;
    let (_, tbs, rest) = tlv(body).map(|(t, w, _)| (t, w, &body[w.len()..]))?;
    let (_, alg, _) = tlv(rest)?;
    let rest = &rest[alg.len()..];
    let (tag, _, bits) = tlv(rest)?;
    (tag == 0x03 && bits.first() == Some(&0)).then(|| (tbs, &bits[1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_reads_short_and_long_lengths() {
        assert_eq!(
            tlv(&[0x04, 0x02, 9, 8, 7]),
            Some((0x04, &[4, 2, 9, 8][..], &[9, 8][..]))
        );
        let mut long = vec![0x30, 0x81, 0x80];
        long.extend([1u8; 0x80]);
        let (tag, whole, contents) = tlv(&long).expect("long form");
        assert_eq!((tag, whole.len(), contents.len()), (0x30, 0x83, 0x80));
        assert_eq!(tlv(&[0x30, 0x05, 1]), None, "truncated");
        assert_eq!(tlv(&[0x30, 0x80]), None, "indefinite length");
    }

    #[test]
    fn tbs_and_signature_split_a_certificate() {
        let cert = first_cert(&crate::test_pki_dir().join("client.pem")).expect("client.pem");
        let der = cert.as_ref();
        let (tbs, sig) = tbs_and_signature(der).expect("certificate fields");
        // tbsCertificate is the first element inside the outer SEQUENCE.
        assert_eq!(tbs[0], 0x30);
        assert_eq!(der.windows(tbs.len()).position(|w| w == tbs), Some(4));
        // The signature is the certificate's last bytes.
        assert!(der.ends_with(sig) && sig.len() > 60, "{}", sig.len());
        assert_eq!(tbs_and_signature(&der[..der.len() - 1]), None);
    }
}
