//! Names for the distinguished-name tests: DER built by hand (rcgen writes
//! neither multi-valued RDNs nor non-string values), certificates from
//! rcgen, generators, and a writer of random but equivalent RFC 4514
//! spellings.

use std::sync::OnceLock;

use proptest::prelude::*;
use rcgen::{CertificateParams, DnType, DnValue, KeyPair};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::X509Name;

/// An attribute type as the tests know it.
#[derive(Debug)]
pub struct Type {
    pub arcs: &'static [u64],
    /// Names the parser accepts for it; empty for types known only by OID.
    pub names: &'static [&'static str],
}

impl Type {
    /// Whether the gateway compares its values without case.
    pub fn folds(&self) -> bool {
        !self.names.is_empty()
    }
}

pub const CN: Type = Type {
    arcs: &[2, 5, 4, 3],
    names: &["CN", "commonName"],
};
pub const O: Type = Type {
    arcs: &[2, 5, 4, 10],
    names: &["O", "organizationName"],
};
pub const OU: Type = Type {
    arcs: &[2, 5, 4, 11],
    names: &["OU", "organizationalUnitName"],
};
pub const C: Type = Type {
    arcs: &[2, 5, 4, 6],
    names: &["C", "countryName"],
};
pub const UID: Type = Type {
    arcs: &[0, 9, 2342, 19200300, 100, 1, 1],
    names: &["UID", "userId"],
};
pub const DC: Type = Type {
    arcs: &[0, 9, 2342, 19200300, 100, 1, 25],
    names: &["DC", "domainComponent"],
};
pub const EMAIL: Type = Type {
    arcs: &[1, 2, 840, 113549, 1, 9, 1],
    names: &["emailAddress", "E"],
};
pub const SERIAL: Type = Type {
    arcs: &[2, 5, 4, 5],
    names: &["serialNumber"],
};
/// Types the gateway knows only by OID.
pub const PRIVATE: Type = Type {
    arcs: &[1, 3, 6, 1, 4, 1, 99999, 1],
    names: &[],
};
pub const UNNAMED: Type = Type {
    arcs: &[2, 5, 4, 200],
    names: &[],
};
pub static TYPES: [&Type; 10] = [
    &CN, &O, &OU, &C, &UID, &DC, &EMAIL, &SERIAL, &PRIVATE, &UNNAMED,
];

/// How a value is encoded; `Integer` is a non-string value holding the
/// number written in `text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enc {
    Utf8,
    Printable,
    Ia5,
    Teletex,
    Bmp,
    Universal,
    Integer,
}

#[derive(Debug, Clone)]
pub struct Attr {
    pub ty: &'static Type,
    pub enc: Enc,
    pub text: String,
}

pub fn attr(ty: &'static Type, enc: Enc, text: &str) -> Attr {
    Attr {
        ty,
        enc,
        text: text.to_owned(),
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

fn base128(mut n: u64, out: &mut Vec<u8>) {
    let mut groups = vec![(n & 0x7f) as u8];
    n >>= 7;
    while n > 0 {
        groups.push((n & 0x7f) as u8 | 0x80);
        n >>= 7;
    }
    out.extend(groups.iter().rev());
}

fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut body = Vec::new();
    base128(arcs[0] * 40 + arcs[1], &mut body);
    for arc in &arcs[2..] {
        base128(*arc, &mut body);
    }
    tlv(0x06, &body)
}

/// The DER of a value.
pub fn value_der(a: &Attr) -> Vec<u8> {
    let t = &a.text;
    match a.enc {
        Enc::Utf8 => tlv(0x0c, t.as_bytes()),
        Enc::Printable => tlv(0x13, t.as_bytes()),
        Enc::Ia5 => tlv(0x16, t.as_bytes()),
        Enc::Teletex => tlv(0x14, &t.chars().map(|c| c as u8).collect::<Vec<_>>()),
        Enc::Bmp => tlv(
            0x1e,
            &t.encode_utf16()
                .flat_map(u16::to_be_bytes)
                .collect::<Vec<_>>(),
        ),
        Enc::Universal => tlv(
            0x1c,
            &t.chars()
                .flat_map(|c| (c as u32).to_be_bytes())
                .collect::<Vec<_>>(),
        ),
        Enc::Integer => tlv(0x02, &[t.parse::<u8>().unwrap()]),
    }
}

/// The DER `Name` with these RDNs, most significant first.
pub fn der_name(rdns: &[Vec<Attr>]) -> Vec<u8> {
    let rdns: Vec<u8> = rdns
        .iter()
        .flat_map(|rdn| {
            let atvs: Vec<u8> = rdn
                .iter()
                .flat_map(|a| tlv(0x30, &[oid(a.ty.arcs), value_der(a)].concat()))
                .collect();
            tlv(0x31, &atvs)
        })
        .collect();
    tlv(0x30, &rdns)
}

pub fn from_der(der: &[u8]) -> X509Name<'_> {
    let (rest, name) = X509Name::from_der(der).unwrap();
    assert!(rest.is_empty());
    name
}

pub fn parse_cert(der: &[u8]) -> X509Certificate<'_> {
    X509Certificate::from_der(der).unwrap().1
}

/// A self-signed certificate with this subject; rcgen falls back to
/// UTF8String where the text does not fit the asked-for type.
pub fn rcgen_cert(attrs: &[(DnType, Enc, String)]) -> Vec<u8> {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    let key = KEY.get_or_init(|| KeyPair::generate().unwrap());
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    for (ty, enc, text) in attrs {
        let t = text.clone();
        let value = match enc {
            Enc::Printable => t.clone().try_into().map(DnValue::PrintableString).ok(),
            Enc::Ia5 => t.clone().try_into().map(DnValue::Ia5String).ok(),
            Enc::Teletex => t.clone().try_into().map(DnValue::TeletexString).ok(),
            Enc::Bmp => t.as_str().try_into().map(DnValue::BmpString).ok(),
            Enc::Universal => t.as_str().try_into().map(DnValue::UniversalString).ok(),
            Enc::Utf8 | Enc::Integer => None,
        };
        params
            .distinguished_name
            .push(ty.clone(), value.unwrap_or(DnValue::Utf8String(t)));
    }
    params.self_signed(key).unwrap().der().to_vec()
}

/// Characters that need escaping, spaces of several kinds, control
/// characters, Latin-1, the BMP beyond it, and beyond the BMP.
const ALPHABET: &[char] = &[
    'a', 'B', 'z', 'Q', '0', '7', ' ', ' ', ',', '+', '"', '\\', '<', '>', ';', '#', '=', '-', '.',
    '\t', '\n', '\u{7}', '\u{80}', '\u{a0}', '\u{3000}', 'é', 'Ü', 'ß', 'Ж', '中', '😀',
];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..10)
        .prop_map(|cs| cs.into_iter().collect())
}

/// The encodings that can carry `text`.
fn encodings_for(text: &str) -> Vec<Enc> {
    let printable = |c: char| c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c);
    let mut out = vec![Enc::Utf8, Enc::Universal];
    if text.chars().all(printable) {
        out.push(Enc::Printable);
    }
    if text.is_ascii() {
        out.push(Enc::Ia5);
    }
    if text.chars().all(|c| (c as u32) < 0x100) {
        out.push(Enc::Teletex);
    }
    if text.chars().all(|c| (c as u32) < 0x10000) {
        out.push(Enc::Bmp);
    }
    out
}

fn attribute() -> impl Strategy<Value = Attr> {
    let ty = prop::sample::select(&TYPES[..]);
    prop_oneof![
        9 => (ty.clone(), text(), any::<prop::sample::Index>()).prop_map(|(ty, text, i)| {
            let encs = encodings_for(&text);
            Attr { ty, enc: encs[i.index(encs.len())], text }
        }),
        1 => (ty, 0u8..128).prop_map(|(ty, n)| Attr { ty, enc: Enc::Integer, text: n.to_string() }),
    ]
}

/// Up to five RDNs of one to three attributes each.
pub fn names() -> impl Strategy<Value = Vec<Vec<Attr>>> {
    prop::collection::vec(prop::collection::vec(attribute(), 1..4), 0..6)
}

pub fn rcgen_attrs() -> impl Strategy<Value = Vec<(DnType, Enc, String)>> {
    let types = vec![
        DnType::CountryName,
        DnType::LocalityName,
        DnType::StateOrProvinceName,
        DnType::OrganizationName,
        DnType::OrganizationalUnitName,
        DnType::CommonName,
        DnType::CustomDnType(vec![2, 5, 4, 5]),
        DnType::CustomDnType(vec![1, 2, 840, 113549, 1, 9, 1]),
        DnType::CustomDnType(vec![0, 9, 2342, 19200300, 100, 1, 25]),
        DnType::CustomDnType(vec![1, 3, 6, 1, 4, 1, 99999, 1]),
    ];
    let encs = vec![
        Enc::Utf8,
        Enc::Printable,
        Enc::Ia5,
        Enc::Teletex,
        Enc::Bmp,
        Enc::Universal,
    ];
    prop::collection::vec(
        (
            prop::sample::select(types),
            prop::sample::select(encs),
            text(),
        ),
        0..7,
    )
}

/// A source of choices for [`respell`], from bytes proptest generates (and
/// shrinks).
pub struct Dice {
    bytes: Vec<u8>,
    next: usize,
}

impl Dice {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self { bytes, next: 0 }
    }

    /// A number below `n`.
    fn roll(&mut self, n: usize) -> usize {
        if self.bytes.is_empty() {
            return 0;
        }
        let b = self.bytes[self.next % self.bytes.len()];
        self.next += 1;
        usize::from(b) % n
    }

    fn spaces(&mut self) -> &'static str {
        ["", "", " ", "  ", "\t"][self.roll(5)]
    }
}

/// Another RFC 4514 spelling of the name: RDNs in string order with random
/// whitespace around separators and `=`, attributes of an RDN shuffled,
/// types as any of their names in any case or as OIDs, values with random
/// escapes, extra inner spaces and — where case is ignored — ASCII case
/// changes, or as `#` + hex.
pub fn respell(rdns: &[Vec<Attr>], dice: &mut Dice) -> String {
    let mut out = dice.spaces().to_owned();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out += dice.spaces();
            out.push(',');
        }
        let mut order: Vec<&Attr> = rdn.iter().collect();
        for k in (1..order.len()).rev() {
            order.swap(k, dice.roll(k + 1));
        }
        for (j, a) in order.into_iter().enumerate() {
            if j > 0 {
                out += dice.spaces();
                out.push('+');
            }
            out += dice.spaces();
            out += &spell_type(a.ty, dice);
            out += dice.spaces();
            out.push('=');
            out += dice.spaces();
            out += &spell_value(a, dice);
            out += dice.spaces();
        }
    }
    out
}

fn random_case(s: &str, dice: &mut Dice) -> String {
    s.chars()
        .map(|c| match dice.roll(2) {
            0 => c.to_ascii_lowercase(),
            _ => c.to_ascii_uppercase(),
        })
        .collect()
}

fn spell_type(ty: &Type, dice: &mut Dice) -> String {
    if ty.names.is_empty() || dice.roll(4) == 0 {
        let arcs: Vec<String> = ty.arcs.iter().map(u64::to_string).collect();
        return arcs.join(".");
    }
    let name = ty.names[dice.roll(ty.names.len())];
    random_case(name, dice)
}

fn hex_escape(c: char, dice: &mut Dice) -> String {
    let mut buf = [0u8; 4];
    c.encode_utf8(&mut buf)
        .bytes()
        .map(|b| random_case(&format!("\\{b:02x}"), dice))
        .collect()
}

fn spell_value(a: &Attr, dice: &mut Dice) -> String {
    if a.enc == Enc::Integer || dice.roll(6) == 0 {
        return format!("#{}", random_case(&hex::encode(value_der(a)), dice));
    }
    let mut out = String::new();
    for c in a.text.chars() {
        let c = if a.ty.folds() && dice.roll(2) == 0 {
            c.to_ascii_uppercase()
        } else {
            c
        };
        match c {
            ',' | '+' | '"' | '\\' | ';' | '#' => match dice.roll(2) {
                0 => {
                    out.push('\\');
                    out.push(c);
                }
                _ => out += &hex_escape(c, dice),
            },
            c if c.is_ascii_hexdigit() => match dice.roll(4) {
                0 => out += &hex_escape(c, dice),
                _ => out.push(c),
            },
            c => {
                match dice.roll(4) {
                    0 => out += &hex_escape(c, dice),
                    1 => {
                        out.push('\\');
                        out.push(c);
                    }
                    _ => out.push(c),
                }
                if c.is_whitespace() && dice.roll(2) == 0 {
                    out.push(' ');
                }
            }
        }
    }
    out
}
