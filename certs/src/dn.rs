//! Distinguished names as RFC 4514 strings.
//!
//! Subject and issuer names end up in logs, in policy decisions and in the
//! RFC 8705 `tls_client_auth_subject_dn` comparison the identity provider
//! makes, so they need one canonical, unambiguous text form. RFC 4514 is the
//! one everybody agrees on (it is what `openssl x509 -nameopt RFC2253` and
//! Java's `X500Principal.getName()` print): RDNs in *reverse* order of the
//! DER sequence, separated by `,` without spaces, with special characters
//! backslash-escaped.
//!
//! x509-parser's own `Display` prints the RDNs in forward order with `", "`
//! separators, which is not RFC 4514, hence this module.
//!
//! These strings are for people and for the identity provider. To decide
//! whether two names are the same name, compare
//! [`NormalizedDn`](crate::NormalizedDn)s instead: the same name has many
//! spellings.

use x509_parser::asn1_rs::{Any, Tag};
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

/// An attribute type the gateway knows by name.
pub(crate) struct KnownType {
    /// Dotted OID.
    pub(crate) oid: &'static str,
    /// Names accepted when parsing, compared case-insensitively; the first
    /// is the one printed.
    pub(crate) names: &'static [&'static str],
    /// Whether RFC 4514 §3 registers the first name, so [`rfc4514`] may
    /// print it. Every other attribute type is printed as its dotted OID,
    /// which is what the RFC requires for types without a registered short
    /// name (OpenSSL's `emailAddress` is not one).
    pub(crate) rfc4514: bool,
}

const fn known(oid: &'static str, names: &'static [&'static str], rfc4514: bool) -> KnownType {
    KnownType {
        oid,
        names,
        rfc4514,
    }
}

/// The attribute types operators meet in client and CA certificates, with
/// the names OpenSSL, Windows and Java print for them. Every one of them is
/// compared with caseIgnoreMatch or caseIgnoreIA5Match (X.520, RFC 4519,
/// PKCS #9), which [`crate::dn_match`] relies on.
pub(crate) const KNOWN_TYPES: &[KnownType] = &[
    known("2.5.4.3", &["CN", "commonName"], true),
    known("2.5.4.4", &["SN", "surname"], false),
    known("2.5.4.5", &["serialNumber"], false),
    known("2.5.4.6", &["C", "countryName"], true),
    known("2.5.4.7", &["L", "localityName"], true),
    known("2.5.4.8", &["ST", "stateOrProvinceName", "S"], true),
    known("2.5.4.9", &["STREET", "streetAddress"], true),
    known("2.5.4.10", &["O", "organizationName"], true),
    known("2.5.4.11", &["OU", "organizationalUnitName"], true),
    known("2.5.4.12", &["title"], false),
    known("2.5.4.15", &["businessCategory"], false),
    known("2.5.4.17", &["postalCode"], false),
    known("2.5.4.42", &["GN", "givenName"], false),
    known("2.5.4.43", &["initials"], false),
    known("2.5.4.44", &["generationQualifier"], false),
    known("2.5.4.46", &["dnQualifier"], false),
    known("2.5.4.65", &["pseudonym"], false),
    known("2.5.4.97", &["organizationIdentifier"], false),
    known(
        "0.9.2342.19200300.100.1.25",
        &["DC", "domainComponent"],
        true,
    ),
    known("0.9.2342.19200300.100.1.1", &["UID", "userId"], true),
    known(
        "1.2.840.113549.1.9.1",
        &["emailAddress", "E", "email"],
        false,
    ),
    known(
        "1.3.6.1.4.1.311.60.2.1.1",
        &["jurisdictionL", "jurisdictionLocalityName"],
        false,
    ),
    known(
        "1.3.6.1.4.1.311.60.2.1.2",
        &["jurisdictionST", "jurisdictionStateOrProvinceName"],
        false,
    ),
    known(
        "1.3.6.1.4.1.311.60.2.1.3",
        &["jurisdictionC", "jurisdictionCountryName"],
        false,
    ),
];

/// The known type with this dotted OID.
pub(crate) fn known_by_oid(oid: &str) -> Option<&'static KnownType> {
    KNOWN_TYPES.iter().find(|t| t.oid == oid)
}

/// RFC 4514 string form of a distinguished name.
pub fn rfc4514(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| rdn.iter().map(attribute).collect::<Vec<_>>().join("+"))
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

/// The newline-separated form the identity provider's management API takes
/// as a `cert_subject_dn` credential's `subject_dn`
/// (`C=XX\nST=StateName\n…\nCN=CommonNameOrHostname` in its documentation).
///
/// Unlike [`rfc4514`], the RDNs come in DER order, most significant first —
/// the order `openssl req -subj "/C=…/CN=…"` writes them — one per line.
/// Attribute names and value escaping are the RFC 4514 ones (multi-valued
/// RDNs joined with `+`), so a value holding a newline is written as `\0A`
/// and cannot split into a forged extra RDN line.
pub fn newline_separated(name: &X509Name<'_>) -> String {
    name.iter_rdn()
        .map(|rdn| rdn.iter().map(attribute).collect::<Vec<_>>().join("+"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn attribute(atv: &AttributeTypeAndValue<'_>) -> String {
    let oid = atv.attr_type().to_id_string();
    let ty = match known_by_oid(&oid) {
        Some(known) if known.rfc4514 => known.names[0],
        _ => oid.as_str(),
    };
    let value = match decode_string(atv.attr_value()) {
        Some(s) => escape(&s),
        None => format!("#{}", hex::encode(der_of(atv.attr_value()))),
    };
    format!("{ty}={value}")
}

/// Decodes the directory string types to text. `None` means "no string
/// representation", which RFC 4514 §2.4 renders as `#` + hex of the DER.
pub(crate) fn decode_string(value: &Any<'_>) -> Option<String> {
    let data = value.data;
    match value.tag() {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString => std::str::from_utf8(data).ok().map(str::to_owned),
        Tag::BmpString => {
            if !data.len().is_multiple_of(2) {
                return None;
            }
            let units = data.chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        }
        Tag::UniversalString => {
            if !data.len().is_multiple_of(4) {
                return None;
            }
            data.chunks(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        }
        // T.61 has no well-defined mapping; like OpenSSL, read it as Latin-1.
        Tag::TeletexString => Some(data.iter().map(|&b| char::from(b)).collect()),
        _ => None,
    }
}

/// Escapes a value per RFC 4514 §2.4. Control characters are additionally
/// written as `\XX` hex pairs (which the RFC permits for any character) so a
/// hostile subject cannot forge log lines.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '#' if i == 0 => out.push_str("\\#"),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\{b:02X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Re-encodes the full TLV of a parsed value (tag, length, contents).
pub(crate) fn der_of(value: &Any<'_>) -> Vec<u8> {
    let header = &value.header;
    let mut out = Vec::with_capacity(value.data.len() + 8);
    let first = ((header.class() as u8) << 6) | if header.is_constructed() { 0x20 } else { 0 };
    let tag = header.tag().0;
    if tag < 31 {
        out.push(first | tag as u8);
    } else {
        out.push(first | 0x1f);
        let mut groups = Vec::new();
        let mut t = tag;
        loop {
            groups.push((t & 0x7f) as u8);
            t >>= 7;
            if t == 0 {
                break;
            }
        }
        let n = groups.len();
        out.extend(
            groups
                .iter()
                .rev()
                .enumerate()
                .map(|(i, g)| if i + 1 < n { g | 0x80 } else { *g }),
        );
    }
    let len = value.data.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(value.data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, DnValue, KeyPair};
    use x509_parser::prelude::{FromDer, X509Certificate};

    fn subject_of(params: CertificateParams) -> String {
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let (_, x509) = X509Certificate::from_der(cert.der()).unwrap();
        rfc4514(x509.subject())
    }

    fn params(attrs: Vec<(DnType, DnValue)>) -> CertificateParams {
        let mut p = CertificateParams::default();
        p.distinguished_name = rcgen::DistinguishedName::new();
        for (ty, v) in attrs {
            p.distinguished_name.push(ty, v);
        }
        p
    }

    #[test]
    fn fixed_cert_matches_openssl_rfc2253() {
        let pem = include_str!("../tests/data/fixed-cert.pem");
        let der = x509_parser::pem::parse_x509_pem(pem.as_bytes())
            .unwrap()
            .1
            .contents;
        let (_, x509) = X509Certificate::from_der(&der).unwrap();
        // openssl x509 -noout -subject -nameopt RFC2253
        assert_eq!(
            rfc4514(x509.subject()),
            "CN=fixed-cert.example.com,O=Example Tests"
        );
    }

    #[test]
    fn reverses_rdn_order_and_uses_short_names() {
        let s = subject_of(params(vec![
            (
                DnType::CountryName,
                DnValue::PrintableString("DE".try_into().unwrap()),
            ),
            (DnType::OrganizationName, "Example".into()),
            (DnType::CommonName, "client-1".into()),
        ]));
        assert_eq!(s, "CN=client-1,O=Example,C=DE");
    }

    #[test]
    fn escapes_special_characters() {
        let s = subject_of(params(vec![(
            DnType::CommonName,
            " #a,b+c\"d\\e<f>g;h ".into(),
        )]));
        assert_eq!(s, r#"CN=\ #a\,b\+c\"d\\e\<f\>g\;h\ "#);
        let s = subject_of(params(vec![(DnType::CommonName, "#lead\nline".into())]));
        assert_eq!(s, r"CN=\#lead\0Aline");
    }

    #[test]
    fn bmp_strings_decode_and_unknown_types_use_dotted_oids() {
        let s = subject_of(params(vec![
            (DnType::CustomDnType(vec![2, 5, 4, 5]), "SN-42".into()),
            (
                DnType::CommonName,
                DnValue::BmpString("Grüße".try_into().unwrap()),
            ),
        ]));
        assert_eq!(s, "CN=Grüße,2.5.4.5=SN-42");
    }

    #[test]
    fn newline_separated_keeps_der_order_and_escapes() {
        let key = KeyPair::generate().unwrap();
        let cert = params(vec![
            (DnType::CountryName, "XX".into()),
            (DnType::OrganizationName, "A, B\nC".into()),
            (DnType::CommonName, "client-1".into()),
        ])
        .self_signed(&key)
        .unwrap();
        let (_, x509) = X509Certificate::from_der(cert.der()).unwrap();
        assert_eq!(
            newline_separated(x509.subject()),
            "C=XX\nO=A\\, B\\0AC\nCN=client-1"
        );
        assert_eq!(rfc4514(x509.subject()), r"CN=client-1,O=A\, B\0AC,C=XX");
    }

    #[test]
    fn der_of_reencodes_long_values() {
        let long = "x".repeat(300);
        let bytes = {
            let mut v = vec![0x0c, 0x82, 0x01, 0x2c];
            v.extend_from_slice(long.as_bytes());
            v
        };
        let (_, any) = Any::from_der(&bytes).unwrap();
        assert_eq!(der_of(&any), bytes);
        let (_, any) = Any::from_der(&[0x30, 0x03, 0x02, 0x01, 0x05]).unwrap();
        assert_eq!(der_of(&any), [0x30, 0x03, 0x02, 0x01, 0x05]);
        assert_eq!(decode_string(&any), None);
    }
}
