//! Distinguished names compared as names, not as strings.
//!
//! Operators write a client's subject DN into the registry and a CA's name
//! into the deny list by hand or copied from whatever tool they had at
//! hand: `CN=ledger, O=Example Corp` (a space after the comma, as OpenSSL's
//! default output and many GUIs print it), `cn=ledger`, `2.5.4.3=ledger`,
//! `O=Example  Corp`. Compared as strings with the certificate's
//! [`rfc4514`](crate::dn::rfc4514) form these never match, which locks out
//! a registered client or, worse, silently fails to deny a certificate. A
//! [`NormalizedDn`] is the name itself, parsed from either side and
//! normalised, so equal names compare equal however they were spelled.
//!
//! # What is normalised
//!
//! - **Attribute types** become dotted OIDs. Names are case-insensitive and
//!   cover the RFC 4514 short names and those OpenSSL, Windows and Java
//!   print (`CN`, `O`, `OU`, `C`, `L`, `ST`/`S`, `STREET`, `DC`, `UID`,
//!   `SN`, `GN`, `serialNumber`, `emailAddress`/`E`, `title`,
//!   `organizationIdentifier`, ...; the table is
//!   `dn::KNOWN_TYPES`). Dotted OIDs are read with leading zeros dropped.
//!   An unknown name is an error, never a type that matches nothing.
//! - **String values** are decoded to Unicode whatever their ASN.1 string
//!   type (UTF8String, PrintableString, BMPString, ... — RFC 4518 §2.1),
//!   then, following RFC 4518 §2.2 and §2.6.1: every whitespace character
//!   (space, tab, newline, no-break space, ...) becomes a space, leading and
//!   trailing spaces are removed and inner runs collapse to one space.
//! - **Case** is folded (Unicode lower case) for every known attribute type:
//!   all of them use caseIgnoreMatch or caseIgnoreIA5Match (`C`, `CN`, `O`,
//!   `OU`, `L`, `ST`, `STREET`, `DC`, `UID`, `serialNumber`, `emailAddress`,
//!   ...). Values of types known only by OID keep their case: their
//!   matching rule is unknown, and caseExactMatch is the one that cannot
//!   merge two names their issuer meant to be different.
//! - **Multi-valued RDNs** (`CN=a+UID=b`) compare as sets: order and
//!   repetition of their attributes do not matter. The order of the RDNs
//!   does: it is part of the name.
//! - **Non-string values** (`#` + hex of the BER encoding in RFC 4514) are
//!   decoded; one holding a string type is that string, anything else
//!   compares by its DER bytes.
//!
//! # What is not
//!
//! - No Unicode normalisation (NFKC) and no mapping of invisible characters
//!   to nothing (RFC 4518 §2.2–2.3): a precomposed `é` and `e` + combining
//!   accent differ, and so do `ß` and `SS` (lower-casing is not full case
//!   folding). Names copied from `certs inspect` are the certificate's own
//!   characters, so this matters only for names typed by hand.
//! - OIDs whose arcs do not fit 64 bits are not recognised on either side.
//!
//! Comparing names this way is what RFC 5280 §7.1 asks of certificate
//! path validation too, so a name that matches here is the name a CA
//! considers the same.

use x509_parser::asn1_rs::{Any, FromDer, Oid};
use x509_parser::x509::X509Name;

use crate::dn::{decode_string, der_of, known_by_oid};
use crate::dn_parse;

pub use crate::dn_parse::DnError;

/// A distinguished name in canonical form: equal names are equal values
/// with equal hashes, so it can key a `HashMap`. Built from a certificate
/// with [`NormalizedDn::from_x509`] or from an RFC 4514 string with
/// [`NormalizedDn::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct NormalizedDn {
    /// Most significant RDN first, as in the DER `RDNSequence` (the reverse
    /// of the RFC 4514 string order).
    rdns: Vec<Rdn>,
}

/// A relative distinguished name: its attributes sorted and without
/// repeats, so two RDNs holding the same set compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Rdn(Vec<Attribute>);

/// One attribute type and value, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Attribute {
    /// Dotted OID.
    oid: String,
    value: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Value {
    /// A string value after whitespace handling and, for types compared
    /// without case, lower-casing.
    Text(String),
    /// The DER (tag, length, contents) of a value that is not a string.
    Der(Vec<u8>),
}

impl NormalizedDn {
    /// Parses an RFC 4514 string (`CN=ledger,O=Example Corp`).
    ///
    /// Beyond the strict grammar it accepts whitespace around `,`, `+` and
    /// `=`, attribute names in any case, and a backslash before any
    /// character that is not a hex digit (`\/` is `/`). It refuses what an
    /// older syntax would read differently — an unescaped `"` (RFC 2253
    /// quoting) or `;` (an RDN separator in RFC 1779) — and unknown
    /// attribute names, so a typo is an error rather than a name that never
    /// matches. The empty string is the empty name.
    pub fn parse(s: &str) -> Result<Self, DnError> {
        let rdns = dn_parse::parse(s)?;
        // The string lists the least significant RDN first.
        Ok(Self {
            rdns: rdns.into_iter().rev().map(Rdn::new).collect(),
        })
    }

    /// The name as the certificate carries it.
    pub fn from_x509(name: &X509Name<'_>) -> Self {
        let rdns = name
            .iter_rdn()
            .map(|rdn| {
                Rdn::new(
                    rdn.iter()
                        .map(|atv| {
                            let oid = oid_string(atv.attr_type());
                            let value = Value::of_any(atv.attr_value(), folds_case(&oid));
                            Attribute { oid, value }
                        })
                        .collect(),
                )
            })
            .collect();
        Self { rdns }
    }

    /// Whether the name has no RDNs at all.
    pub fn is_empty(&self) -> bool {
        self.rdns.is_empty()
    }

    /// How many RDNs the name has.
    pub fn len(&self) -> usize {
        self.rdns.len()
    }
}

impl std::str::FromStr for NormalizedDn {
    type Err = DnError;

    fn from_str(s: &str) -> Result<Self, DnError> {
        Self::parse(s)
    }
}

impl Rdn {
    fn new(mut attributes: Vec<Attribute>) -> Self {
        attributes.sort();
        attributes.dedup();
        Self(attributes)
    }
}

/// An attribute value as the parser read it, before normalisation.
pub(crate) enum RawValue {
    /// Text after unescaping.
    Text(String),
    /// The bytes of a `#hex` value.
    Ber(Vec<u8>),
}

/// Why a `#hex` value is unusable; the parser adds the position.
#[derive(Debug)]
pub(crate) struct BadBer(pub(crate) String);

impl Attribute {
    /// Normalises a parsed attribute. `oid` is already canonical.
    pub(crate) fn from_parsed(oid: String, raw: RawValue) -> Result<Self, BadBer> {
        let fold = folds_case(&oid);
        let value = match raw {
            RawValue::Text(text) => Value::Text(normalize_text(&text, fold)),
            RawValue::Ber(bytes) => match Any::from_der(&bytes) {
                Ok(([], any)) => Value::of_any(&any, fold),
                Ok((rest, _)) => {
                    return Err(BadBer(format!(
                        "{} bytes after the encoded value",
                        rest.len()
                    )))
                }
                Err(e) => return Err(BadBer(format!("not a DER value: {e}"))),
            },
        };
        Ok(Self { oid, value })
    }
}

impl Value {
    fn of_any(any: &Any<'_>, fold: bool) -> Self {
        match decode_string(any) {
            Some(text) => Value::Text(normalize_text(&text, fold)),
            None => Value::Der(der_of(any)),
        }
    }
}

/// The canonical type of a dotted OID written by an operator, or `None`
/// when it is not one: arcs of digits separated by single dots, at least
/// two, each fitting 64 bits. Leading zeros are dropped (`2.5.4.03` is
/// `2.5.4.3`), which RFC 4512 forbids but costs nothing to accept.
pub(crate) fn canonical_oid(dotted: &str) -> Option<String> {
    let arcs = dotted
        .split('.')
        .map(|arc| {
            if arc.is_empty() || !arc.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            arc.parse::<u64>().ok()
        })
        .collect::<Option<Vec<u64>>>()?;
    if arcs.len() < 2 {
        return None;
    }
    Some(
        arcs.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// The canonical type of an attribute name (`cn`, `emailAddress`).
pub(crate) fn oid_of_name(name: &str) -> Option<&'static str> {
    crate::dn::KNOWN_TYPES
        .iter()
        .find(|t| t.names.iter().any(|n| n.eq_ignore_ascii_case(name)))
        .map(|t| t.oid)
}

/// A certificate's attribute type in the form [`canonical_oid`] gives.
/// Arcs beyond 64 bits make `to_id_string` fall back to hex, which no
/// parsed type equals: such types match nothing, as documented.
fn oid_string(oid: &Oid<'_>) -> String {
    oid.to_id_string()
}

fn folds_case(oid: &str) -> bool {
    known_by_oid(oid).is_some()
}

/// RFC 4518 insignificant-space handling, then lower case when the
/// attribute's matching rule ignores case.
fn normalize_text(text: &str, fold: bool) -> String {
    let collapsed = text
        .split(char::is_whitespace)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if fold {
        collapsed.to_lowercase()
    } else {
        collapsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_is_trimmed_and_collapsed() {
        assert_eq!(
            normalize_text("  a \t\n b\u{a0}\u{3000}c  ", false),
            "a b c"
        );
        assert_eq!(normalize_text(" \t ", false), "");
        assert_eq!(normalize_text("", true), "");
    }

    #[test]
    fn case_folds_only_when_asked() {
        assert_eq!(normalize_text("Grüße ÉTÉ", true), "grüße été");
        assert_eq!(normalize_text("Grüße ÉTÉ", false), "Grüße ÉTÉ");
    }

    #[test]
    fn oids_are_canonical_or_refused() {
        assert_eq!(canonical_oid("2.5.4.3").as_deref(), Some("2.5.4.3"));
        assert_eq!(canonical_oid("2.05.4.003").as_deref(), Some("2.5.4.3"));
        for bad in [
            "",
            "2",
            "2.",
            ".2.5",
            "2..5",
            "2.5.x",
            "2.5.-4",
            "2.5.99999999999999999999",
        ] {
            assert_eq!(canonical_oid(bad), None, "{bad}");
        }
    }

    #[test]
    fn names_map_case_insensitively_to_oids() {
        assert_eq!(oid_of_name("cn"), Some("2.5.4.3"));
        assert_eq!(oid_of_name("COMMONNAME"), Some("2.5.4.3"));
        assert_eq!(oid_of_name("E"), Some("1.2.840.113549.1.9.1"));
        assert_eq!(oid_of_name("emailaddress"), Some("1.2.840.113549.1.9.1"));
        assert_eq!(oid_of_name("SERIALNUMBER"), Some("2.5.4.5"));
        assert_eq!(oid_of_name("dc"), Some("0.9.2342.19200300.100.1.25"));
        assert_eq!(oid_of_name("CNN"), None);
    }

    #[test]
    fn known_type_names_are_unambiguous_and_oids_canonical() {
        let mut seen = std::collections::HashSet::new();
        for t in crate::dn::KNOWN_TYPES {
            assert_eq!(canonical_oid(t.oid).as_deref(), Some(t.oid));
            for n in t.names {
                assert!(seen.insert(n.to_ascii_lowercase()), "{n} listed twice");
            }
        }
    }

    #[test]
    fn ber_values_decode_strings_and_keep_other_types() {
        let utf8 = Attribute::from_parsed(
            "2.5.4.3".into(),
            RawValue::Ber(vec![0x0c, 0x02, b'A', b'b']),
        )
        .unwrap();
        assert_eq!(utf8.value, Value::Text("ab".into()));
        let int = Attribute::from_parsed("2.5.4.3".into(), RawValue::Ber(vec![0x02, 0x01, 0x05]))
            .unwrap();
        assert_eq!(int.value, Value::Der(vec![0x02, 0x01, 0x05]));
        assert!(Attribute::from_parsed(
            "2.5.4.3".into(),
            RawValue::Ber(vec![0x02, 0x01, 0x05, 0x00])
        )
        .is_err());
        assert!(Attribute::from_parsed("2.5.4.3".into(), RawValue::Ber(vec![0x02, 0x05])).is_err());
    }
}
