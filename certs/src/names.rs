//! Which hostnames a server certificate covers.
//!
//! The gateway serves the custom domain and its `mtls.` alias from one
//! listener. A certificate that covers only `*.example.com` looks fine for
//! `auth.example.com` but silently breaks `mtls.auth.example.com` (a wildcard
//! matches exactly one label), which clients then report as a TLS error on
//! the alias only. `mtls-gateway check` uses these functions to catch that
//! before deployment, applying the same rules TLS clients do (RFC 6125 §6.4,
//! as implemented by webpki and browsers).

use std::net::IpAddr;

use x509_parser::extensions::GeneralName;
use x509_parser::x509::X509Name;

use crate::leaf::parse_der;

/// A certificate could not be read for name checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Not a well-formed DER certificate, or its subjectAltName is broken.
    #[error("certificate is not well-formed: {0}")]
    Malformed(String),
}

/// The DNS names a certificate claims: its subjectAltName dNSName entries,
/// or — only when there is no subjectAltName extension at all — its subject
/// common names. Clients ignore the CN once a SAN extension exists
/// (RFC 6125 §6.4.4), so reporting it then would be misleading.
pub fn dns_names(der: &[u8]) -> Result<Vec<String>, NameError> {
    let cert = parse_der(der).map_err(NameError::Malformed)?;
    match san_entries(&cert)? {
        Some(entries) => Ok(entries
            .iter()
            .filter_map(|name| match name {
                GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                _ => None,
            })
            .collect()),
        None => Ok(common_names(cert.subject())),
    }
}

/// The IP addresses in a certificate's subjectAltName.
pub fn ip_addresses(der: &[u8]) -> Result<Vec<IpAddr>, NameError> {
    let cert = parse_der(der).map_err(NameError::Malformed)?;
    let entries = san_entries(&cert)?.unwrap_or_default();
    Ok(entries
        .iter()
        .filter_map(|name| match name {
            GeneralName::IPAddress(bytes) => ip_from_bytes(bytes),
            _ => None,
        })
        .collect())
}

/// Whether a certificate name `pattern` matches `host`.
///
/// Comparison is ASCII case-insensitive and ignores one trailing dot on
/// either side. A wildcard is honoured only as the entire left-most label
/// (`*.example.com`), matches exactly one non-empty label, and needs at least
/// two labels after it — so `*.example.com` covers `auth.example.com` but not
/// `mtls.auth.example.com` or `example.com`, and `*.com` covers nothing.
/// Partial-label wildcards such as `a*.example.com` are not honoured (they
/// can only match a host spelled with a literal `*`, which no valid host is).
pub fn pattern_covers(pattern: &str, host: &str) -> bool {
    let pattern = pattern.strip_suffix('.').unwrap_or(pattern);
    let host = host.strip_suffix('.').unwrap_or(host);
    if pattern.is_empty() || host.is_empty() || host.contains('*') {
        return false;
    }
    match pattern.strip_prefix("*.") {
        Some(suffix) => {
            let Some((first, rest)) = host.split_once('.') else {
                return false;
            };
            let suffix_ok = suffix.contains('.') && suffix.split('.').all(|l| !l.is_empty());
            suffix_ok && !first.is_empty() && rest.eq_ignore_ascii_case(suffix)
        }
        None => pattern.eq_ignore_ascii_case(host),
    }
}

/// Whether the certificate is valid for `host`. A host that parses as an IP
/// address is matched against the iPAddress SAN entries only (as TLS clients
/// do); anything else against [`dns_names`] with [`pattern_covers`].
pub fn cert_covers(der: &[u8], host: &str) -> Result<bool, NameError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ip_addresses(der)?.contains(&ip));
    }
    Ok(dns_names(der)?
        .iter()
        .any(|pattern| pattern_covers(pattern, host)))
}

/// notAfter of a certificate, unix seconds, for expiry warnings.
pub fn not_after(der: &[u8]) -> Result<i64, NameError> {
    let cert = parse_der(der).map_err(NameError::Malformed)?;
    Ok(cert.validity().not_after.timestamp())
}

/// `Ok(None)` when there is no subjectAltName extension; a duplicated or
/// unparseable one is an error rather than "no names", so a broken
/// certificate is not mistaken for a CN-only one.
fn san_entries<'a>(
    cert: &'a x509_parser::certificate::X509Certificate<'_>,
) -> Result<Option<&'a [GeneralName<'a>]>, NameError> {
    let san = cert
        .subject_alternative_name()
        .map_err(|e| NameError::Malformed(format!("subjectAltName: {e}")))?;
    Ok(san.map(|ext| ext.value.general_names.as_slice()))
}

fn common_names(subject: &X509Name<'_>) -> Vec<String> {
    subject
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok())
        .map(str::to_owned)
        .collect()
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::test_pki;
    use rcgen::{CertificateParams, DnType, KeyPair};

    #[test]
    fn pattern_table() {
        let cases = [
            ("auth.example.com", "auth.example.com", true),
            ("AUTH.Example.COM", "auth.example.com", true),
            ("auth.example.com.", "auth.example.com", true),
            ("auth.example.com", "AUTH.EXAMPLE.COM.", true),
            ("auth.example.com", "mtls.auth.example.com", false),
            ("mtls.auth.example.com", "auth.example.com", false),
            ("*.example.com", "auth.example.com", true),
            ("*.example.com", "AUTH.example.com.", true),
            ("*.EXAMPLE.com", "auth.example.com", true),
            ("*.example.com", "mtls.auth.example.com", false),
            ("*.example.com", "example.com", false),
            ("*.example.com", ".example.com", false),
            ("*.example.com", "auth.example.org", false),
            ("*.auth.example.com", "mtls.auth.example.com", true),
            ("*.auth.example.com", "auth.example.com", false),
            ("*.com", "example.com", false),
            ("*", "localhost", false),
            ("*.", "a.", false),
            ("a*.example.com", "ab.example.com", false),
            ("auth.*.com", "auth.example.com", false),
            ("*.example.com", "*.example.com", false),
            ("", "", false),
            ("localhost", "localhost", true),
        ];
        for (pattern, host, expected) in cases {
            assert_eq!(
                pattern_covers(pattern, host),
                expected,
                "{pattern:?} vs {host:?}"
            );
        }
    }

    #[test]
    fn server_certs_against_domain_and_alias() {
        let pki = test_pki();
        for server in [&pki.server, &pki.server_rsa] {
            assert!(cert_covers(&server.cert_der, "auth.example.com").unwrap());
            assert!(cert_covers(&server.cert_der, "mtls.auth.example.com").unwrap());
            assert!(cert_covers(&server.cert_der, "localhost").unwrap());
            assert!(cert_covers(&server.cert_der, "127.0.0.1").unwrap());
            assert!(!cert_covers(&server.cert_der, "other.example.com").unwrap());
        }
        let wildcard = &pki.wildcard_server.cert_der;
        assert_eq!(dns_names(wildcard).unwrap(), ["*.example.com"]);
        assert!(cert_covers(wildcard, "auth.example.com").unwrap());
        assert!(!cert_covers(wildcard, "mtls.auth.example.com").unwrap());
        assert!(!cert_covers(wildcard, "127.0.0.1").unwrap());
        assert!(cert_covers(&pki.upstream.cert_der, "idp.example.internal").unwrap());
    }

    #[test]
    fn dns_names_come_from_san_in_order() {
        let names = dns_names(&test_pki().server.cert_der).unwrap();
        assert_eq!(
            names,
            ["auth.example.com", "mtls.auth.example.com", "localhost"]
        );
        let ips = ip_addresses(&test_pki().server.cert_der).unwrap();
        assert_eq!(ips, [IpAddr::from([127, 0, 0, 1])]);
    }

    #[test]
    fn common_name_is_used_only_without_san() {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "cn-only.example.com");
        let cn_only = params.self_signed(&key).unwrap();
        assert_eq!(dns_names(cn_only.der()).unwrap(), ["cn-only.example.com"]);
        assert!(cert_covers(cn_only.der(), "cn-only.example.com").unwrap());

        let mut params = CertificateParams::new(vec!["san.example.com".to_owned()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "cn.example.com");
        let with_san = params.self_signed(&key).unwrap();
        assert_eq!(dns_names(with_san.der()).unwrap(), ["san.example.com"]);
        assert!(!cert_covers(with_san.der(), "cn.example.com").unwrap());
    }

    #[test]
    fn ipv6_sans() {
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["::1".to_owned()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        assert!(cert_covers(cert.der(), "::1").unwrap());
        assert!(!cert_covers(cert.der(), "127.0.0.1").unwrap());
        assert!(dns_names(cert.der()).unwrap().is_empty());
    }

    #[test]
    fn not_after_and_errors() {
        let pki = test_pki();
        let end = not_after(&pki.expired.cert_der).unwrap();
        assert!(end < time::OffsetDateTime::now_utc().unix_timestamp());
        let fixed = include_str!("../tests/data/fixed-cert.pem");
        let der = x509_parser::pem::parse_x509_pem(fixed.as_bytes())
            .unwrap()
            .1
            .contents;
        assert_eq!(not_after(&der).unwrap(), 4_948_890_362);
        assert!(matches!(dns_names(b"junk"), Err(NameError::Malformed(_))));
        assert!(cert_covers(b"junk", "auth.example.com").is_err());
        assert!(not_after(b"").is_err());
    }
}
