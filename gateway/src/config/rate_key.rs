//! `[[domain.rate_limit]] key`: one key part (`"client_ip"`) or a list of them (a combination).
//!
//! Read by hand rather than as a serde `untagged` enum, whose only message for any mistake is
//! "data did not match any variant" with the Rust type's name.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};

use super::choice;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKeyPart {
    ClientIp,
    CertThumbprint,
    ClientId,
}

impl FileKeyPart {
    /// The names accepted in the file.
    pub const NAMES: &'static [&'static str] = &["client_ip", "cert_thumbprint", "client_id"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "client_ip" => Some(FileKeyPart::ClientIp),
            "cert_thumbprint" => Some(FileKeyPart::CertThumbprint),
            "client_id" => Some(FileKeyPart::ClientId),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for FileKeyPart {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        choice::deserialize(d, "key part", Self::NAMES, Self::from_name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRateKey {
    One(FileKeyPart),
    Combination(Vec<FileKeyPart>),
}

impl<'de> Deserialize<'de> for FileRateKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RateKeyVisitor)
    }
}

struct RateKeyVisitor;

impl<'de> Visitor<'de> for RateKeyVisitor {
    type Value = FileRateKey;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "one of {}, or a list of them",
            FileKeyPart::NAMES.join(", ")
        )
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<FileRateKey, E> {
        FileKeyPart::from_name(v)
            .map(FileRateKey::One)
            .ok_or_else(|| {
                E::custom(super::message::unknown_value(
                    "key part",
                    v,
                    FileKeyPart::NAMES,
                    ", or a list of them",
                ))
            })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FileRateKey, A::Error> {
        // Each part is read on its own, so a mistake is reported at `key[i]`.
        let mut parts = Vec::new();
        while let Some(part) = seq.next_element::<FileKeyPart>()? {
            parts.push(part);
        }
        Ok(FileRateKey::Combination(parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Rule {
        key: FileRateKey,
    }

    fn read(text: &str) -> Result<FileRateKey, String> {
        toml::from_str::<Rule>(text)
            .map(|r| r.key)
            .map_err(|e| e.message().to_owned())
    }

    #[test]
    fn one_part_or_a_list() {
        assert_eq!(
            read("key = \"client_id\""),
            Ok(FileRateKey::One(FileKeyPart::ClientId))
        );
        assert_eq!(
            read("key = [\"cert_thumbprint\", \"client_id\"]"),
            Ok(FileRateKey::Combination(vec![
                FileKeyPart::CertThumbprint,
                FileKeyPart::ClientId
            ]))
        );
    }

    #[test]
    fn mistakes_list_the_parts_and_suggest_one() {
        assert_eq!(
            read("key = \"client_ipp\"").unwrap_err(),
            "unknown key part `client_ipp`; expected one of client_ip, cert_thumbprint, client_id, or a list of them; did you mean `client_ip`?"
        );
        assert_eq!(
            read("key = [\"client_ip\", \"thumbprint\"]").unwrap_err(),
            "unknown key part `thumbprint`; expected one of client_ip, cert_thumbprint, client_id; did you mean `cert_thumbprint`?"
        );
        assert_eq!(
            read("key = 7").unwrap_err(),
            "invalid type: integer `7`, expected one of client_ip, cert_thumbprint, client_id, or a list of them"
        );
    }
}
