//! `[domain.mtls] client_ca` entries: a PEM file name, or `{ file = "...", revocation = "leaf" }`.
//!
//! Read by hand rather than as a serde `untagged` enum, so a mistake inside the table (an unknown
//! key, a misspelled depth) is reported as itself, at its key.

use std::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::file_enums::RevocationDepth;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileClientCa {
    File(String),
    Table {
        file: String,
        revocation: RevocationDepth,
    },
}

impl FileClientCa {
    pub fn file(&self) -> &str {
        match self {
            FileClientCa::File(f) | FileClientCa::Table { file: f, .. } => f,
        }
    }
    pub fn revocation(&self) -> RevocationDepth {
        match self {
            FileClientCa::File(_) => RevocationDepth::default(),
            FileClientCa::Table { revocation, .. } => *revocation,
        }
    }
}

/// The table form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaTable {
    file: String,
    #[serde(default)]
    revocation: RevocationDepth,
}

impl<'de> Deserialize<'de> for FileClientCa {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ClientCaVisitor)
    }
}

struct ClientCaVisitor;

impl<'de> Visitor<'de> for ClientCaVisitor {
    type Value = FileClientCa;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a PEM file name, or a table like { file = \"ca.pem\", revocation = \"leaf\" }")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<FileClientCa, E> {
        Ok(FileClientCa::File(v.to_owned()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FileClientCa, A::Error> {
        let t = CaTable::deserialize(MapAccessDeserializer::new(map))?;
        Ok(FileClientCa::Table {
            file: t.file,
            revocation: t.revocation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Mtls {
        client_ca: Vec<FileClientCa>,
    }

    fn read(text: &str) -> Result<Vec<FileClientCa>, String> {
        toml::from_str::<Mtls>(text)
            .map(|m| m.client_ca)
            .map_err(|e| e.message().to_owned())
    }

    #[test]
    fn a_file_name_or_a_table() {
        let cas =
            read("client_ca = [\"a.pem\", { file = \"b.pem\", revocation = \"leaf\" }]").unwrap();
        assert_eq!(cas[0].file(), "a.pem");
        assert_eq!(cas[0].revocation(), RevocationDepth::Chain);
        assert_eq!(cas[1].file(), "b.pem");
        assert_eq!(cas[1].revocation(), RevocationDepth::Leaf);
    }

    #[test]
    fn mistakes_in_the_table_are_reported_as_themselves() {
        assert_eq!(
            read("client_ca = [{ file = \"b.pem\", revocation = \"leef\" }]").unwrap_err(),
            "unknown value `leef`; expected one of chain, leaf; did you mean `leaf`?"
        );
        assert_eq!(
            read("client_ca = [{ file = \"b.pem\", depth = \"leaf\" }]").unwrap_err(),
            "unknown field `depth`, expected `file` or `revocation`"
        );
        assert_eq!(
            read("client_ca = [5]").unwrap_err(),
            "invalid type: integer `5`, expected a PEM file name, or a table like { file = \"ca.pem\", revocation = \"leaf\" }"
        );
    }
}
