//! The credential registry and the deny list: two small TOML files the gateway watches.
//!
//! Registry (`[domain.mtls] registry`), mirroring the provider's client credentials:
//!
//! ```toml
//! [[client]]
//! client_id = "k3Jd8s"
//! name = "payments-service"
//! # self_signed_tls_client_auth: at most two certificates, by SHA-256 thumbprint or PEM file
//! self_signed_sha256 = ["5c4e84723e4c03ac0f1b36fa52ac8370a07498f23849c815f785354783f070fc"]
//! self_signed_pem = ["payments-2027.pem"]
//!
//! [[client]]
//! client_id = "Zx81qa"
//! name = "ledger"
//! # tls_client_auth: the certificate's subject DN (RFC 4514), or a PEM file it is taken from
//! subject_dn = "CN=ledger,O=Example Corp"
//! ```
//!
//! Deny list (`[domain.mtls] deny_list`):
//!
//! ```toml
//! sha256 = ["…64 hex digits…"]
//! [[issuer_serial]]
//! issuer = "CN=Example Root CA"
//! serial = "6d:4f:6d:3c"
//! ```

use std::collections::{HashMap, HashSet};
use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde::Deserialize;

/// The provider allows at most two self-signed certificates per client.
pub const MAX_SELF_SIGNED_PER_CLIENT: usize = 2;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRegistry {
    #[serde(default, rename = "client")]
    clients: Vec<FileClient>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileClient {
    client_id: String,
    /// For the operator; not used in decisions.
    #[allow(dead_code)]
    name: Option<String>,
    #[serde(default)]
    self_signed_sha256: Vec<String>,
    #[serde(default)]
    self_signed_pem: Vec<String>,
    subject_dn: Option<String>,
    subject_pem: Option<String>,
}

/// Which registered client a certificate belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    pub client_id: String,
}

#[derive(Debug, Default)]
pub struct Registry {
    by_thumbprint: HashMap<[u8; 32], Registered>,
    by_subject: HashMap<String, Registered>,
}

impl Registry {
    /// A self-signed certificate matches by thumbprint; a CA-verified one by subject DN.
    pub fn lookup(
        &self,
        self_signed: bool,
        thumbprint: &[u8; 32],
        subject: &str,
    ) -> Option<&Registered> {
        if self_signed {
            self.by_thumbprint.get(thumbprint)
        } else {
            self.by_subject.get(subject)
        }
    }

    pub fn len(&self) -> usize {
        self.by_thumbprint.len() + self.by_subject.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

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
    issuer_serial: HashSet<(String, String)>,
}

impl DenyList {
    pub fn denies(&self, thumbprint: &[u8; 32], issuer: &str, serial_hex: &str) -> bool {
        self.thumbprints.contains(thumbprint)
            || (!self.issuer_serial.is_empty()
                && self
                    .issuer_serial
                    .contains(&(issuer.to_owned(), normalize_serial(serial_hex))))
    }

    pub fn len(&self) -> usize {
        self.thumbprints.len() + self.issuer_serial.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A problem in a registry or deny-list file: the key inside that file and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    pub key: String,
    pub problem: String,
}

fn problem(key: impl Into<String>, problem: impl Into<String>) -> FileProblem {
    FileProblem {
        key: key.into(),
        problem: problem.into(),
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

fn parse_thumbprint(s: &str) -> Option<[u8; 32]> {
    let hex: String = s.chars().filter(|c| *c != ':').collect();
    let bytes = hex::decode(hex).ok()?;
    bytes.try_into().ok()
}

fn subject_of(der: &[u8]) -> Result<String, String> {
    use x509_parser::prelude::FromDer;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der)
        .map_err(|e| format!("not a certificate: {e}"))?;
    Ok(mtls_certs::dn::rfc4514(cert.subject()))
}

fn read_cert(path: &Path) -> Result<CertificateDer<'static>, String> {
    CertificateDer::from_pem_file(path).map_err(|e| format!("{}: {e:?}", path.display()))
}

pub fn load_registry(text: &str, base: &Path) -> Result<Registry, Vec<FileProblem>> {
    let file: FileRegistry =
        toml::from_str(text).map_err(|e| vec![problem("", e.message().to_owned())])?;
    let mut out = Registry::default();
    let mut problems = Vec::new();
    let mut ids = HashSet::new();
    for (i, c) in file.clients.iter().enumerate() {
        let key = format!("client[{i}]");
        if c.client_id.is_empty() {
            problems.push(problem(format!("{key}.client_id"), "must not be empty"));
        }
        if !ids.insert(c.client_id.clone()) {
            problems.push(problem(
                format!("{key}.client_id"),
                format!("`{}` is listed twice", c.client_id),
            ));
        }
        let registered = Registered {
            client_id: c.client_id.clone(),
        };
        let self_signed = c.self_signed_sha256.len() + c.self_signed_pem.len();
        let ca_signed = c.subject_dn.is_some() || c.subject_pem.is_some();
        if self_signed > 0 && ca_signed {
            problems.push(problem(
                &key,
                "a client uses either self-signed certificates or a subject DN, not both",
            ));
        }
        if self_signed == 0 && !ca_signed {
            problems.push(problem(
                &key,
                "no credential: set self_signed_sha256, self_signed_pem, subject_dn or subject_pem",
            ));
        }
        if self_signed > MAX_SELF_SIGNED_PER_CLIENT {
            problems.push(problem(
                &key,
                format!("{self_signed} self-signed certificates; the provider allows at most {MAX_SELF_SIGNED_PER_CLIENT}"),
            ));
        }
        for (j, t) in c.self_signed_sha256.iter().enumerate() {
            match parse_thumbprint(t) {
                Some(t) => {
                    out.by_thumbprint.insert(t, registered.clone());
                }
                None => problems.push(problem(
                    format!("{key}.self_signed_sha256[{j}]"),
                    "not a SHA-256 thumbprint (64 hex digits)",
                )),
            }
        }
        for (j, f) in c.self_signed_pem.iter().enumerate() {
            match read_cert(&base.join(f)) {
                Ok(der) => {
                    out.by_thumbprint
                        .insert(mtls_certs::Thumbprint::of(&der).0, registered.clone());
                }
                Err(e) => problems.push(problem(format!("{key}.self_signed_pem[{j}]"), e)),
            }
        }
        if let Some(dn) = &c.subject_dn {
            out.by_subject
                .insert(dn.trim().to_owned(), registered.clone());
        }
        if let Some(f) = &c.subject_pem {
            match read_cert(&base.join(f)).and_then(|der| subject_of(&der)) {
                Ok(dn) => {
                    out.by_subject.insert(dn, registered.clone());
                }
                Err(e) => problems.push(problem(format!("{key}.subject_pem"), e)),
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
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
        if e.serial
            .chars()
            .any(|c| !(c.is_ascii_hexdigit() || c == ':'))
            || e.serial.is_empty()
        {
            problems.push(problem(
                format!("issuer_serial[{i}].serial"),
                "not a hexadecimal serial number",
            ));
            continue;
        }
        out.issuer_serial
            .insert((e.issuer.trim().to_owned(), normalize_serial(&e.serial)));
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

    #[test]
    fn serials_compare_in_any_spelling() {
        assert_eq!(normalize_serial("0A:1B"), normalize_serial("a1b"));
        assert_eq!(normalize_serial("00"), "0");
    }

    #[test]
    fn registry_rules() {
        let base = Path::new("/nonexistent");
        let one = format!(
            "[[client]]\nclient_id = \"a\"\nself_signed_sha256 = [\"{}\"]\n",
            "ab".repeat(32)
        );
        let ok = load_registry(&one, base);
        assert_eq!(ok.unwrap().len(), 1);
        let three = format!(
            "[[client]]\nclient_id = \"a\"\nself_signed_sha256 = [\"{0}\", \"{1}\", \"{2}\"]\n",
            "aa".repeat(32),
            "bb".repeat(32),
            "cc".repeat(32)
        );
        assert!(load_registry(&three, base).unwrap_err()[0]
            .problem
            .contains("at most 2"));
        let both = "[[client]]\nclient_id = \"a\"\nsubject_dn = \"CN=a\"\nself_signed_sha256 = [\""
            .to_owned()
            + &"ab".repeat(32)
            + "\"]\n";
        assert!(load_registry(&both, base).is_err());
        let dup = "[[client]]\nclient_id = \"a\"\nsubject_dn = \"CN=a\"\n[[client]]\nclient_id = \"a\"\nsubject_dn = \"CN=b\"\n";
        assert!(load_registry(dup, base).unwrap_err()[0]
            .problem
            .contains("twice"));
        assert!(load_registry("[[client]]\nclient_id = \"a\"\nbogus = 1\n", base).is_err());
    }

    #[test]
    fn deny_list_rules() {
        let d = load_deny_list(&format!(
            "sha256 = [\"{}\"]\n[[issuer_serial]]\nissuer = \"CN=Root\"\nserial = \"0a:ff\"\n",
            "01".repeat(32)
        ))
        .unwrap();
        assert!(d.denies(&[1u8; 32], "", ""));
        assert!(d.denies(&[0u8; 32], "CN=Root", "aff"));
        assert!(!d.denies(&[0u8; 32], "CN=Other", "aff"));
        assert!(load_deny_list("sha256 = [\"zz\"]").is_err());
    }
}
