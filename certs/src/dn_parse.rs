//! The RFC 4514 string reader behind [`NormalizedDn::parse`](crate::NormalizedDn::parse).
//!
//! It yields attributes already normalised ([`crate::dn_match`] decides
//! how), grouped into RDNs in string order. Positions in errors count
//! characters from 1, as an operator reading the registry file would.

use crate::dn_match::{canonical_oid, oid_of_name, Attribute, RawValue};

/// Why a string is not a distinguished name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnError {
    /// A `,` or `+` with no attribute after it, or text that does not start
    /// with an attribute type.
    #[error("expected an attribute type (such as `CN`) at character {at}")]
    MissingType { at: usize },
    /// An attribute type not followed by `=`.
    #[error("expected `=` after the attribute type at character {at}")]
    MissingEquals { at: usize },
    /// A name that is not in the known list; the message says what to do.
    #[error("unknown attribute type `{name}` at character {at}; write it as a dotted OID such as 2.5.4.3")]
    UnknownType { name: String, at: usize },
    /// Starts with a digit but is not a dotted OID with 64-bit arcs.
    #[error("`{oid}` at character {at} is not a dotted OID")]
    BadOid { oid: String, at: usize },
    /// A backslash at the end, or before a single hex digit.
    #[error(
        "`\\` at character {at} must be followed by two hex digits or by the character it escapes"
    )]
    BadEscape { at: usize },
    /// `"` or `;` outside an escape: older DN syntaxes read them as
    /// quoting and as an RDN separator, so their meaning is ambiguous.
    #[error("`{ch}` at character {at} must be escaped as `\\{ch}`")]
    Unescaped { ch: char, at: usize },
    /// Hex-escaped bytes that do not form UTF-8.
    #[error("the escaped bytes in the value at character {at} are not UTF-8")]
    NotUtf8 { at: usize },
    /// A `#` value that is not hex of one DER value.
    #[error("the `#` value at character {at} is not hex-encoded DER: {reason}")]
    BadHexValue { at: usize, reason: String },
}

/// Parses `s` into RDNs in string order (least significant first).
pub(crate) fn parse(s: &str) -> Result<Vec<Vec<Attribute>>, DnError> {
    let mut p = Parser {
        chars: s.chars().collect(),
        pos: 0,
    };
    p.skip_spaces();
    let mut rdns = Vec::new();
    if p.at_end() {
        return Ok(rdns);
    }
    let mut rdn = Vec::new();
    loop {
        rdn.push(p.attribute()?);
        match p.next() {
            Some('+') => {}
            // `attribute` stops only at `,`, `+` or the end.
            Some(_) => rdns.push(std::mem::take(&mut rdn)),
            None => {
                rdns.push(rdn);
                return Ok(rdns);
            }
        }
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    /// The 1-based character number of the next character.
    fn here(&self) -> usize {
        self.pos + 1
    }

    /// Skips ASCII whitespace only. RFC 4514 writers escape a leading space
    /// and every control character, but not other Unicode spaces: skipping
    /// a no-break space could expose a following `#` as the start of a hex
    /// value that the writer meant as text.
    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// `type = value`, leaving the parser on the `,` or `+` after it (or at
    /// the end).
    fn attribute(&mut self) -> Result<Attribute, DnError> {
        self.skip_spaces();
        let oid = self.attribute_type()?;
        self.skip_spaces();
        let at = self.here();
        if self.next() != Some('=') {
            return Err(DnError::MissingEquals { at });
        }
        self.skip_spaces();
        let at = self.here();
        let raw = if self.peek() == Some('#') {
            self.pos += 1;
            self.hex_value(at)?
        } else {
            self.string_value()?
        };
        Attribute::from_parsed(oid, raw).map_err(|e| DnError::BadHexValue { at, reason: e.0 })
    }

    fn attribute_type(&mut self) -> Result<String, DnError> {
        let at = self.here();
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        match text.chars().next() {
            None => Err(DnError::MissingType { at }),
            Some(c) if c.is_ascii_digit() => {
                canonical_oid(&text).ok_or(DnError::BadOid { oid: text, at })
            }
            Some(_) => oid_of_name(&text)
                .map(str::to_owned)
                .ok_or(DnError::UnknownType { name: text, at }),
        }
    }

    /// A string value up to an unescaped `,` or `+`. Whitespace around it
    /// is kept here and dropped by normalisation, which trims anyway.
    fn string_value(&mut self) -> Result<RawValue, DnError> {
        let at = self.here();
        let mut bytes = Vec::new();
        while let Some(c) = self.peek() {
            match c {
                ',' | '+' => break,
                '"' | ';' => {
                    return Err(DnError::Unescaped {
                        ch: c,
                        at: self.here(),
                    })
                }
                '\\' => {
                    self.pos += 1;
                    self.escape(&mut bytes)?;
                }
                c => {
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    self.pos += 1;
                }
            }
        }
        String::from_utf8(bytes)
            .map(RawValue::Text)
            .map_err(|_| DnError::NotUtf8 { at })
    }

    /// After a backslash: a hex pair is one byte (several make a UTF-8
    /// sequence); any other character stands for itself.
    fn escape(&mut self, bytes: &mut Vec<u8>) -> Result<(), DnError> {
        let at = self.pos; // the backslash, 1-based
        let hex_digit = |c: Option<char>| c.and_then(|c| c.to_digit(16));
        match self.peek() {
            None => Err(DnError::BadEscape { at }),
            Some(c) if c.is_ascii_hexdigit() => {
                let high = hex_digit(Some(c));
                let low = hex_digit(self.chars.get(self.pos + 1).copied());
                match (high, low) {
                    (Some(h), Some(l)) => {
                        // Two hex digits are at most 0xff.
                        bytes.push((h * 16 + l) as u8);
                        self.pos += 2;
                        Ok(())
                    }
                    _ => Err(DnError::BadEscape { at }),
                }
            }
            Some(c) => {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                self.pos += 1;
                Ok(())
            }
        }
    }

    /// `#` followed by hex digits, then only whitespace before the next
    /// separator.
    fn hex_value(&mut self, at: usize) -> Result<RawValue, DnError> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
            self.pos += 1;
        }
        let hex: String = self.chars[start..self.pos].iter().collect();
        self.skip_spaces();
        match self.peek() {
            None | Some(',' | '+') => {}
            Some(c) => {
                return Err(DnError::BadHexValue {
                    at,
                    reason: format!("unexpected `{c}` at character {}", self.here()),
                })
            }
        }
        if hex.is_empty() {
            return Err(DnError::BadHexValue {
                at,
                reason: "no hex digits".into(),
            });
        }
        hex::decode(&hex)
            .map(RawValue::Ber)
            .map_err(|e| DnError::BadHexValue {
                at,
                reason: e.to_string(),
            })
    }
}
