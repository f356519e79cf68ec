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
//! `subject_dn` (and the subject of `subject_pem`) is parsed into a [`NormalizedDn`] when the
//! file loads, so `CN=ledger, O=Example Corp`, `cn=Ledger,o=example corp` and
//! `2.5.4.3=ledger,2.5.4.10=Example Corp` all register the certificate whose subject
//! `certs inspect` prints as `CN=ledger,O=Example Corp`.
//!
//! The deny list (`[domain.mtls] deny_list`, [`DenyList`]) has its own file, `deny_list.rs`.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::path::Path;

use mtls_certs::NormalizedDn;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde::Deserialize;

// The deny list has its own file but stays reachable as `registry::DenyList`, the path the
// configuration loader uses; both files share the problem type and thumbprint parsing.
#[path = "deny_list.rs"]
mod deny_list;
pub use deny_list::{load_deny_list, normalize_serial, DenyList};

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
    /// For the operator; accepted so the file may carry it, never used in decisions.
    #[serde(rename = "name")]
    _name: Option<String>,
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
    by_subject: HashMap<NormalizedDn, Registered>,
}

impl Registry {
    /// A self-signed certificate matches by thumbprint; a CA-verified one by subject DN.
    pub fn lookup(
        &self,
        self_signed: bool,
        thumbprint: &[u8; 32],
        subject: &NormalizedDn,
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

    /// A name registered twice, in whatever spelling, would leave it to chance which client a
    /// certificate belongs to, and an empty one would register every certificate without a
    /// subject.
    fn add_subject(&mut self, dn: NormalizedDn, registered: &Registered) -> Result<(), String> {
        if dn.is_empty() {
            return Err("empty; it would match every certificate without a subject".into());
        }
        match self.by_subject.entry(dn) {
            Entry::Occupied(e) if e.get() != registered => Err(format!(
                "the same subject DN as client `{}`",
                e.get().client_id
            )),
            Entry::Occupied(_) => Ok(()),
            Entry::Vacant(e) => {
                e.insert(registered.clone());
                Ok(())
            }
        }
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

fn parse_thumbprint(s: &str) -> Option<[u8; 32]> {
    let hex: String = s.chars().filter(|c| *c != ':').collect();
    let bytes = hex::decode(hex).ok()?;
    bytes.try_into().ok()
}

fn subject_of(der: &[u8]) -> Result<NormalizedDn, String> {
    use x509_parser::prelude::FromDer;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der)
        .map_err(|e| format!("not a certificate: {e}"))?;
    Ok(NormalizedDn::from_x509(cert.subject()))
}

/// The subject names a client registers, each with the field it came from.
fn subjects_of(
    c: &FileClient,
    base: &Path,
) -> impl Iterator<Item = (&'static str, Result<NormalizedDn, String>)> {
    let from_dn = c.subject_dn.as_deref().map(|dn| {
        let parsed = NormalizedDn::parse(dn).map_err(|e| e.to_string());
        ("subject_dn", parsed)
    });
    let from_pem = c.subject_pem.as_deref().map(|f| {
        let subject = read_cert(&base.join(f)).and_then(|der| subject_of(&der));
        ("subject_pem", subject)
    });
    from_dn.into_iter().chain(from_pem)
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
        for (field, subject) in subjects_of(c, base) {
            if let Err(e) = subject.and_then(|dn| out.add_subject(dn, &registered)) {
                problems.push(problem(format!("{key}.{field}"), e));
            }
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

    fn dn(s: &str) -> NormalizedDn {
        NormalizedDn::parse(s).unwrap()
    }

    fn registered(r: &Registry, subject: &NormalizedDn) -> Option<String> {
        r.lookup(false, &[0u8; 32], subject)
            .map(|c| c.client_id.clone())
    }

    #[test]
    fn subject_dn_in_any_spelling_matches_the_certificates_subject() {
        let base = Path::new("/nonexistent");
        // What `certs inspect` prints for the certificate.
        let certificate = dn("CN=ledger,O=Example Corp");
        for written in [
            "CN=ledger,O=Example Corp",
            "CN=ledger, O=Example Corp",
            "cn=ledger,o=Example Corp",
            "CN=Ledger,O=EXAMPLE CORP",
            "CN=ledger,O=Example  Corp",
            "2.5.4.3=ledger,2.5.4.10=Example Corp",
            " CN = ledger , O = Example Corp ",
        ] {
            let r = load_registry(
                &format!("[[client]]\nclient_id = \"Zx81qa\"\nsubject_dn = \"{written}\"\n"),
                base,
            )
            .unwrap();
            assert_eq!(
                registered(&r, &certificate).as_deref(),
                Some("Zx81qa"),
                "{written}"
            );
            for other in [
                "CN=ledger",
                "O=Example Corp,CN=ledger",
                "CN=ledger2,O=Example Corp",
            ] {
                assert_eq!(registered(&r, &dn(other)), None, "{written} vs {other}");
            }
        }
    }

    #[test]
    fn subject_pem_and_subject_dn_name_the_same_certificate() {
        use x509_parser::prelude::FromDer;
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/nginx");
        let der = read_cert(&fixtures.join("client.pem")).unwrap();
        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(&der).unwrap();
        let subject = NormalizedDn::from_x509(cert.subject());
        // openssl x509 -subject -nameopt RFC2253: CN=fixture-client
        let text = "[[client]]\nclient_id = \"pem\"\nsubject_pem = \"client.pem\"\n\
                    [[client]]\nclient_id = \"dn\"\nsubject_dn = \"cn = Fixture-Client\"\n";
        let problems = load_registry(text, &fixtures).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].key, "client[1].subject_dn");
        assert!(problems[0].problem.contains("client `pem`"), "{problems:?}");
        let r = load_registry(
            "[[client]]\nclient_id = \"pem\"\nsubject_pem = \"client.pem\"\n",
            &fixtures,
        )
        .unwrap();
        assert_eq!(registered(&r, &subject).as_deref(), Some("pem"));
        assert_eq!(
            registered(&r, &dn("CN=FIXTURE-CLIENT")).as_deref(),
            Some("pem")
        );
    }

    #[test]
    fn unparsable_or_empty_subject_dns_are_problems_naming_the_key() {
        let base = Path::new("/nonexistent");
        let problems = load_registry(
            "[[client]]\nclient_id = \"a\"\nsubject_dn = \"CN=a\"\n\
             [[client]]\nclient_id = \"b\"\nsubject_dn = \"CN=ledger; O=Example Corp\"\n\
             [[client]]\nclient_id = \"c\"\nsubject_dn = \"Organisation=Example\"\n\
             [[client]]\nclient_id = \"d\"\nsubject_dn = \"  \"\n\
             [[client]]\nclient_id = \"e\"\nsubject_pem = \"missing.pem\"\n",
            base,
        )
        .unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "client[1].subject_dn",
                "client[2].subject_dn",
                "client[3].subject_dn",
                "client[4].subject_pem"
            ]
        );
        assert!(problems[0].problem.contains("`;`"), "{problems:?}");
        assert!(
            problems[1].problem.contains("`Organisation`"),
            "{problems:?}"
        );
        assert!(problems[2].problem.contains("empty"), "{problems:?}");
    }
}
