//! The deny list (`[domain.mtls] deny_list`): certificates refused whatever their chain says.
//!
//! ```toml
//! sha256 = ["…64 hex digits…"]
//! [[issuer_serial]]
//! issuer = "CN=Example Root CA"
//! serial = "6d:4f:6d:3c"
//! ```
//!
//! `issuer` is parsed into a [`NormalizedDn`] when the file loads, so `cn=example root ca`
//! and `CN=Example  Root CA` deny the same certificates as the spelling `certs inspect` prints:
//! a deny entry that silently matched nothing would leave a stolen key usable.

use std::collections::{HashMap, HashSet};

use mtls_certs::NormalizedDn;
use serde::Deserialize;

use super::{parse_thumbprint, problem, FileProblem};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDenyList {
    #[serde(default)]
    sha256: Vec<String>,
    #[serde(default)]
    issuer_serial: Vec<FileIssuerSerial>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIssuerSerial {
    issuer: String,
    serial: String,
}

#[derive(Debug, Default)]
pub struct DenyList {
    thumbprints: HashSet<[u8; 32]>,
    /// Normalised serials per issuer, so a check borrows the certificate's issuer instead of
    /// building a key.
    issuer_serial: HashMap<NormalizedDn, HashSet<String>>,
}

impl DenyList {
    pub fn denies(&self, thumbprint: &[u8; 32], issuer: &NormalizedDn, serial_hex: &str) -> bool {
        self.thumbprints.contains(thumbprint)
            || self
                .issuer_serial
                .get(issuer)
                .is_some_and(|serials| serials.contains(&normalize_serial(serial_hex)))
    }

    pub fn len(&self) -> usize {
        self.thumbprints.len() + self.issuer_serial.values().map(HashSet::len).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Lower-case hex without separators or leading zeros, so `0A:1B` and `a1b` compare equal.
pub fn normalize_serial(s: &str) -> String {
    let hex: String = s
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

pub fn load_deny_list(text: &str) -> Result<DenyList, Vec<FileProblem>> {
    let file: FileDenyList =
        toml::from_str(text).map_err(|e| vec![problem("", e.message().to_owned())])?;
    let mut out = DenyList::default();
    let mut problems = Vec::new();
    for (i, t) in file.sha256.iter().enumerate() {
        match parse_thumbprint(t) {
            Some(t) => {
                out.thumbprints.insert(t);
            }
            None => problems.push(problem(
                format!("sha256[{i}]"),
                "not a SHA-256 thumbprint (64 hex digits)",
            )),
        }
    }
    for (i, e) in file.issuer_serial.iter().enumerate() {
        let issuer = match NormalizedDn::parse(&e.issuer) {
            Ok(dn) if dn.is_empty() => {
                problems.push(problem(
                    format!("issuer_serial[{i}].issuer"),
                    "empty; a certificate's issuer always has a name",
                ));
                None
            }
            Ok(dn) => Some(dn),
            Err(err) => {
                problems.push(problem(
                    format!("issuer_serial[{i}].issuer"),
                    err.to_string(),
                ));
                None
            }
        };
        if e.serial.is_empty()
            || e.serial
                .chars()
                .any(|c| !(c.is_ascii_hexdigit() || c == ':'))
        {
            problems.push(problem(
                format!("issuer_serial[{i}].serial"),
                "not a hexadecimal serial number",
            ));
            continue;
        }
        if let Some(issuer) = issuer {
            out.issuer_serial
                .entry(issuer)
                .or_default()
                .insert(normalize_serial(&e.serial));
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dn(s: &str) -> NormalizedDn {
        NormalizedDn::parse(s).unwrap()
    }

    #[test]
    fn serials_compare_in_any_spelling() {
        assert_eq!(normalize_serial("0A:1B"), normalize_serial("a1b"));
        assert_eq!(normalize_serial("00"), "0");
    }

    #[test]
    fn deny_list_rules() {
        let d = load_deny_list(&format!(
            "sha256 = [\"{}\"]\n[[issuer_serial]]\nissuer = \"CN=Root\"\nserial = \"0a:ff\"\n",
            "01".repeat(32)
        ))
        .unwrap();
        assert_eq!(d.len(), 2);
        assert!(d.denies(&[1u8; 32], &NormalizedDn::default(), ""));
        assert!(d.denies(&[0u8; 32], &dn("CN=Root"), "aff"));
        assert!(!d.denies(&[0u8; 32], &dn("CN=Root"), "afe"));
        assert!(!d.denies(&[0u8; 32], &dn("CN=Other"), "aff"));
        assert!(load_deny_list("sha256 = [\"zz\"]").is_err());
    }

    #[test]
    fn issuer_written_in_another_spelling_still_denies() {
        let certificate_issuer = dn("CN=Example Intermediate CA,O=Example Corp,C=DE");
        for written in [
            "CN=Example Intermediate CA, O=Example Corp, C=DE",
            "cn=example intermediate ca,o=EXAMPLE CORP,c=de",
            "CN=Example  Intermediate CA,O=Example Corp,C=DE",
            "2.5.4.3=Example Intermediate CA,2.5.4.10=Example Corp,2.5.4.6=DE",
            "  CN = Example Intermediate CA , O = Example Corp , C = DE  ",
        ] {
            let d = load_deny_list(&format!(
                "[[issuer_serial]]\nissuer = \"{written}\"\nserial = \"00:0A\"\n"
            ))
            .unwrap();
            assert!(d.denies(&[0u8; 32], &certificate_issuer, "0a"), "{written}");
            assert!(
                !d.denies(
                    &[0u8; 32],
                    &dn("CN=Example Root CA,O=Example Corp,C=DE"),
                    "0a"
                ),
                "{written}"
            );
        }
    }

    #[test]
    fn unparsable_or_empty_issuers_are_problems_naming_the_key() {
        let problems = load_deny_list(
            "[[issuer_serial]]\nissuer = \"CN=a\"\nserial = \"01\"\n\
             [[issuer_serial]]\nissuer = \"Organisation=Example\"\nserial = \"01\"\n\
             [[issuer_serial]]\nissuer = \" \"\nserial = \"zz\"\n",
        )
        .unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "issuer_serial[1].issuer",
                "issuer_serial[2].issuer",
                "issuer_serial[2].serial"
            ]
        );
        assert!(
            problems[0].problem.contains("`Organisation`"),
            "{problems:?}"
        );
        assert!(problems[1].problem.contains("empty"), "{problems:?}");
    }
}
