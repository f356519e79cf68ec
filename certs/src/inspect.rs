//! The `certs inspect` report: everything an operator needs to know about a
//! client certificate, computed by the code the gateway itself runs.
//!
//! Registering a client with the identity provider, explaining a refused
//! request and checking a certificate before it is rolled out all need the
//! same facts — names, validity, key, thumbprints — and, above all, the exact
//! `client-certificate` header value the gateway will forward and whether it
//! fits under [`CLIENT_CERT_HEADER_LIMIT`]. Computing them with
//! [`crate::encode`], [`crate::thumbprint`], [`crate::dn`] and
//! [`crate::leaf`] means the report cannot drift from what the gateway does.
//!
//! An [`Inspection`] also produces the credential bodies the provider's
//! management API takes (`POST /api/v2/clients/{client_id}/credentials`, or
//! inside `client_authentication_methods` when creating a client), with the
//! field names of the provider's "Configure mTLS Authentication for a
//! Client" guide:
//!
//! - self-signed certificates (`self_signed_tls_client_auth`):
//!   `{"credential_type": "x509_cert", "name": …, "pem": …}`;
//! - CA-signed certificates (`tls_client_auth`):
//!   `{"credential_type": "cert_subject_dn", "name": …, "subject_dn": …}`,
//!   where `subject_dn` is the newline-separated DN, most significant RDN
//!   first (`C=XX\nST=StateName\n…\nCN=CommonNameOrHostname`), see
//!   [`dn::newline_separated`].
//!
//! # JSON form
//!
//! [`Inspection::to_json`] is for scripts, so its field names are stable.
//! Every public field of [`Inspection`] appears under its own name with the
//! same meaning: `subject_rfc4514`, `subject_lines`, `common_name` (string
//! or null), `issuer_rfc4514`, `serial_hex`, `not_before_unix`,
//! `not_before_rfc3339`, `not_after_unix`, `not_after_rfc3339`,
//! `checked_at_unix`, `validity` (`"valid"`, `"expired"` or
//! `"not_yet_valid"`), `key_type`, `signature_algorithm`, `is_ca`,
//! `self_signed`, `ekus` (array, or null when the certificate has no
//! extendedKeyUsage extension), `san_dns`, `san_ip`, `san_uri`, `san_email`
//! (arrays), `sha256_hex`, `sha256_colon`, `x5t_s256`, `pem`,
//! `header_value`, `header_len`, `header_fits`. In addition:
//!
//! - `header_limit`: [`CLIENT_CERT_HEADER_LIMIT`];
//! - `registration_method`: `"self_signed_tls_client_auth"` or
//!   `"tls_client_auth"` — which of the two the certificate is for;
//! - `registration`: an object with both bodies under those two method
//!   names, named with [`Inspection::suggested_name`];
//! - `warnings`: array of strings, see [`Inspection::warnings`].
//!
//! Fields may be added; existing ones keep their names and meanings.

mod algorithms;
mod render;

use std::net::{Ipv4Addr, Ipv6Addr};

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use time::{OffsetDateTime, UtcOffset};

use self::algorithms::{eku_names, key_type, signature_name};
use crate::dn;
use crate::encode::{escaped_pem, escaped_pem_len, pem, CLIENT_CERT_HEADER_LIMIT};
use crate::leaf::{is_self_signed, parse_der};
use crate::thumbprint::Thumbprint;

/// Why a file could not be inspected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InspectError {
    /// The bytes are not one well-formed DER X.509 certificate, or one of
    /// the extensions the report reads does not parse.
    #[error("not a well-formed X.509 certificate: {0}")]
    Malformed(String),
    /// The PEM text itself is broken (bad base64, missing END line).
    #[error("the PEM input is not well-formed: {0}")]
    Pem(String),
    /// Neither a `CERTIFICATE` PEM block nor a DER certificate was found
    /// (e.g. an empty file, or a file holding only a private key).
    #[error("no certificate found: expected a PEM file with a -----BEGIN CERTIFICATE----- block, or a DER certificate")]
    NoCertificate,
    /// One `CERTIFICATE` block of a PEM file is not a usable certificate.
    #[error("CERTIFICATE block {index} (counting from 1): {source}")]
    InBlock {
        /// Position of the block among the file's CERTIFICATE blocks, from 1.
        index: usize,
        /// What is wrong with it.
        #[source]
        source: Box<InspectError>,
    },
}

/// Where `now` falls relative to the validity period (bounds inclusive, as
/// in RFC 5280 §4.1.2.5 and the gateway's own check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidityStatus {
    /// Before notBefore.
    NotYetValid,
    /// Within notBefore ..= notAfter.
    Valid,
    /// After notAfter.
    Expired,
}

impl ValidityStatus {
    /// The JSON spelling: `valid`, `expired`, `not_yet_valid`.
    pub fn as_str(self) -> &'static str {
        match self {
            ValidityStatus::NotYetValid => "not_yet_valid",
            ValidityStatus::Valid => "valid",
            ValidityStatus::Expired => "expired",
        }
    }
}

/// Everything the report shows about one certificate, as plain data so the
/// CLI can print it, serialise it, or test on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// Subject, RFC 4514 (`openssl x509 -subject -nameopt RFC2253`).
    pub subject_rfc4514: String,
    /// Subject in the newline-separated, most-significant-first form the
    /// provider's `subject_dn` takes ([`dn::newline_separated`]).
    pub subject_lines: String,
    /// The subject's first commonName, when it is a plain string.
    pub common_name: Option<String>,
    /// Issuer, RFC 4514.
    pub issuer_rfc4514: String,
    /// Serial number as lowercase hex of its magnitude, no separators
    /// (`openssl x509 -serial`, lowercased).
    pub serial_hex: String,
    /// notBefore, unix seconds.
    pub not_before_unix: i64,
    /// notBefore, RFC 3339 UTC (`2026-11-21T19:45:39Z`).
    pub not_before_rfc3339: String,
    /// notAfter, unix seconds.
    pub not_after_unix: i64,
    /// notAfter, RFC 3339 UTC.
    pub not_after_rfc3339: String,
    /// The `now` the validity status was computed for, unix seconds.
    pub checked_at_unix: i64,
    /// Validity at [`Inspection::checked_at_unix`].
    pub validity: ValidityStatus,
    /// Key algorithm and size: `ECDSA P-256`, `RSA 2048`, `Ed25519`, …
    pub key_type: String,
    /// Signature algorithm, OpenSSL's name (`ecdsa-with-SHA256`,
    /// `sha256WithRSAEncryption`, …) or the dotted OID.
    pub signature_algorithm: String,
    /// basicConstraints says `CA:TRUE`.
    pub is_ca: bool,
    /// Subject equals issuer *and* the certificate's own key verifies its
    /// signature ([`crate::is_self_signed`]).
    pub self_signed: bool,
    /// extendedKeyUsage purposes by OpenSSL short name (`clientAuth`,
    /// `serverAuth`, …; unknown ones as dotted OIDs); `None` when the
    /// extension is absent, which permits every purpose.
    pub ekus: Option<Vec<String>>,
    /// subjectAltName dNSName entries.
    pub san_dns: Vec<String>,
    /// subjectAltName iPAddress entries.
    pub san_ip: Vec<String>,
    /// subjectAltName uniformResourceIdentifier entries.
    pub san_uri: Vec<String>,
    /// subjectAltName rfc822Name entries.
    pub san_email: Vec<String>,
    /// SHA-256 of the DER, lowercase hex.
    pub sha256_hex: String,
    /// The same, uppercase and colon-separated as `openssl x509
    /// -fingerprint -sha256` prints it.
    pub sha256_colon: String,
    /// RFC 8705 `x5t#S256` (base64url of the SHA-256, no padding).
    pub x5t_s256: String,
    /// The certificate as PEM, exactly as OpenSSL writes it.
    pub pem: String,
    /// The exact `client-certificate` header value the gateway forwards.
    pub header_value: String,
    /// Its length in bytes.
    pub header_len: usize,
    /// `header_len <= CLIENT_CERT_HEADER_LIMIT`; otherwise the gateway
    /// refuses requests made with this certificate (HTTP 400).
    pub header_fits: bool,
}

/// Inspects one DER certificate as of `now_unix` (seconds).
pub fn inspect(der: &[u8], now_unix: i64) -> Result<Inspection, InspectError> {
    let cert = parse_der(der).map_err(InspectError::Malformed)?;
    let not_before = cert.validity().not_before.to_datetime();
    let not_after = cert.validity().not_after.to_datetime();
    let (not_before_unix, not_after_unix) =
        (not_before.unix_timestamp(), not_after.unix_timestamp());
    let validity = if now_unix < not_before_unix {
        ValidityStatus::NotYetValid
    } else if now_unix > not_after_unix {
        ValidityStatus::Expired
    } else {
        ValidityStatus::Valid
    };

    let ekus = cert
        .extended_key_usage()
        .map_err(|e| InspectError::Malformed(format!("extendedKeyUsage: {e}")))?
        .map(|ext| eku_names(ext.value));
    let sans = Sans::of(&cert)?;
    let thumbprint = Thumbprint::of(der);
    let header_len = escaped_pem_len(der);
    let common_name = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned);

    Ok(Inspection {
        subject_rfc4514: dn::rfc4514(cert.subject()),
        subject_lines: dn::newline_separated(cert.subject()),
        common_name,
        issuer_rfc4514: dn::rfc4514(cert.issuer()),
        serial_hex: crate::leaf::serial_hex(cert.raw_serial()),
        not_before_unix,
        not_before_rfc3339: rfc3339(not_before),
        not_after_unix,
        not_after_rfc3339: rfc3339(not_after),
        checked_at_unix: now_unix,
        validity,
        key_type: key_type(cert.public_key()),
        signature_algorithm: signature_name(&cert.signature_algorithm.algorithm.to_id_string()),
        is_ca: is_ca(&cert)?,
        self_signed: is_self_signed(der),
        ekus,
        san_dns: sans.dns,
        san_ip: sans.ip,
        san_uri: sans.uri,
        san_email: sans.email,
        sha256_hex: thumbprint.hex(),
        sha256_colon: thumbprint
            .0
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":"),
        x5t_s256: thumbprint.x5t_s256(),
        pem: pem(der),
        header_value: escaped_pem(der),
        header_len,
        header_fits: header_len <= CLIENT_CERT_HEADER_LIMIT,
    })
}

/// Inspects every `CERTIFICATE` block of a PEM file, in file order (so a
/// chain file yields the leaf first). Other blocks, such as a private key
/// in the same file, are skipped. Input without any PEM block is read as a
/// single DER certificate, because operators are handed `.cer`/`.der`
/// files as often as PEM ones.
pub fn inspect_pem(input: &[u8], now_unix: i64) -> Result<Vec<Inspection>, InspectError> {
    let has_pem_block = input.windows(11).any(|w| w == b"-----BEGIN ");
    if !has_pem_block {
        if input.trim_ascii().is_empty() {
            return Err(InspectError::NoCertificate);
        }
        return inspect(input, now_unix).map(|one| vec![one]);
    }
    // A DER certificate could, in principle, carry "-----BEGIN " inside a
    // name; a PEM file never starts with a well-formed DER certificate.
    if input.first() == Some(&0x30) {
        if let Ok(one) = inspect(input, now_unix) {
            return Ok(vec![one]);
        }
    }
    let mut out = Vec::new();
    for (i, block) in CertificateDer::pem_slice_iter(input).enumerate() {
        let der = block.map_err(|e| InspectError::Pem(e.to_string()))?;
        let one = inspect(&der, now_unix).map_err(|e| InspectError::InBlock {
            index: i + 1,
            source: Box::new(e),
        })?;
        out.push(one);
    }
    if out.is_empty() {
        return Err(InspectError::NoCertificate);
    }
    Ok(out)
}

/// RFC 3339 in UTC with a `Z`, formatted by hand: it cannot fail for any
/// year an X.509 time can hold, unlike the `time` crate's formatter.
fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.checked_to_offset(UtcOffset::UTC).unwrap_or(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A basicConstraints extension that does not parse must not read as "not
/// a CA", so it is an error (the same rule as [`crate::leaf`]).
fn is_ca(cert: &X509Certificate<'_>) -> Result<bool, InspectError> {
    crate::leaf::basic_constraints_ca(cert).map_err(InspectError::Malformed)
}

/// subjectAltName entries by kind. Other kinds (directoryName, otherName,
/// …) play no part in client authentication here and are not reported.
#[derive(Default)]
struct Sans {
    dns: Vec<String>,
    ip: Vec<String>,
    uri: Vec<String>,
    email: Vec<String>,
}

impl Sans {
    fn of(cert: &X509Certificate<'_>) -> Result<Sans, InspectError> {
        let mut sans = Sans::default();
        let ext = cert
            .subject_alternative_name()
            .map_err(|e| InspectError::Malformed(format!("subjectAltName: {e}")))?;
        for name in ext.iter().flat_map(|ext| &ext.value.general_names) {
            match name {
                GeneralName::DNSName(s) => sans.dns.push((*s).to_owned()),
                GeneralName::URI(s) => sans.uri.push((*s).to_owned()),
                GeneralName::RFC822Name(s) => sans.email.push((*s).to_owned()),
                GeneralName::IPAddress(bytes) => sans.ip.push(ip_text(bytes)),
                _ => {}
            }
        }
        Ok(sans)
    }
}

/// A malformed address is shown rather than dropped: the operator should
/// see that the certificate carries something odd.
fn ip_text(bytes: &[u8]) -> String {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        Ipv4Addr::from(v4).to_string()
    } else if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        Ipv6Addr::from(v6).to_string()
    } else {
        format!("invalid address 0x{}", hex::encode(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_the_time_crate() {
        use time::format_description::well_known::Rfc3339;
        for ts in [
            0,
            1_795_290_362,
            4_948_890_362,
            -2_208_988_800,
            253_402_300_799,
        ] {
            let t = OffsetDateTime::from_unix_timestamp(ts).unwrap();
            assert_eq!(rfc3339(t), t.format(&Rfc3339).unwrap(), "{ts}");
        }
    }

    #[test]
    fn ip_text_shows_malformed_addresses() {
        assert_eq!(ip_text(&[127, 0, 0, 1]), "127.0.0.1");
        let mut v6 = [0u8; 16];
        v6[15] = 1;
        assert_eq!(ip_text(&v6), "::1");
        assert_eq!(ip_text(&[1, 2, 3]), "invalid address 0x010203");
    }

    #[test]
    fn serial_hex_keeps_a_leading_zero_nibble() {
        assert_eq!(crate::leaf::serial_hex(&[0x07, 0x3a]), "073a");
        assert_eq!(crate::leaf::serial_hex(&[0x00, 0x80]), "80");
        assert_eq!(crate::leaf::serial_hex(&[0x00]), "00");
    }
}
