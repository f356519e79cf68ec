//! A throw-away PKI for development, tests and demos.
//!
//! Every interesting client-certificate case the gateway has to handle —
//! good, via an intermediate, self-signed, expired, not yet valid, wrong
//! EKU, revoked, signed by an impostor CA with the root's exact name, too
//! big for the header — exists here as a ready-made entry, all produced by
//! one generator so the gateway's tests, its `demo` command and
//! `certs init` agree on what each case looks like.
//!
//! Shape of the hierarchy (all ECDSA P-256 unless noted):
//!
//! ```text
//! Example Root CA (self-signed, CA, keyCertSign+cRLSign) ── root CRL: revokes `revoked`
//! ├── Example Intermediate CA (pathlen 0)
//! │   └── client-via-intermediate
//! ├── server, server_rsa (RSA-2048), wildcard_server, upstream   (serverAuth)
//! ├── client-1, client-expired, client-not-yet-valid, client-revoked,
//! │   client-oversized (RSA-4096)                                (clientAuth)
//! └── client-wrong-eku                                           (serverAuth only)
//! Example Root CA (impostor: same DN, different key, not written anywhere)
//! └── client-same-name-other-ca
//! client-self-signed-ca, client-self-signed-leaf                 (self-signed, clientAuth)
//! ```
//!
//! Leaf validity is now−1h … now+365d unless the entry is about time; serial
//! numbers are 16 random bytes. [`DevPki::write_to`] describes the file
//! layout on disk. Nothing here is fit for production use: the keys are
//! created in process memory and written unencrypted.

use std::path::PathBuf;

use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
    SerialNumber,
};
use time::{Duration, OffsetDateTime};

use crate::encode::pem_block;
use crate::issued::Issued;
use crate::profiles::{
    ca, client_leaf, issue, oversized, random_serial, root_crl, self_sign, server_leaf, Ca,
    Validity, ROOT_CN,
};

/// Why the development PKI could not be created or written.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// The spec cannot be turned into certificates.
    #[error("invalid PKI spec: {0}")]
    Spec(String),
    /// rcgen refused to build or sign something.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// A file or directory could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// The names the generated server certificates are for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiSpec {
    /// The custom domain, e.g. `auth.example.com`; the mTLS alias is
    /// `mtls.` + this, and the wildcard certificate is for its parent.
    pub domain: String,
    /// The identity provider host the gateway forwards to, e.g.
    /// `idp.example.internal`.
    pub upstream_host: String,
}

impl Default for PkiSpec {
    fn default() -> Self {
        PkiSpec {
            domain: "auth.example.com".into(),
            upstream_host: "idp.example.internal".into(),
        }
    }
}

/// The generated certificates; see the module documentation for the tree.
#[derive(Debug, Clone)]
pub struct DevPki {
    /// "Example Root CA", the one trust anchor.
    pub root: Issued,
    /// "Example Intermediate CA", signed by the root, pathlen 0.
    pub intermediate: Issued,
    /// Server certificate for the domain, its `mtls.` alias, `localhost` and 127.0.0.1.
    pub server: Issued,
    /// The same names with an RSA-2048 key.
    pub server_rsa: Issued,
    /// `*.<parent of domain>` only — covers the domain but not its `mtls.` alias.
    pub wildcard_server: Issued,
    /// Server certificate for the upstream host, `localhost` and 127.0.0.1.
    pub upstream: Issued,
    /// The ordinary good client ("client-1").
    pub client: Issued,
    /// A good client issued by the intermediate; `chain_pem` includes it.
    pub client_via_intermediate: Issued,
    /// Self-signed with `CA:TRUE`.
    pub self_signed_ca: Issued,
    /// Self-signed with `CA:FALSE`.
    pub self_signed_leaf: Issued,
    /// Valid from now−2d to now−1d.
    pub expired: Issued,
    /// Valid from tomorrow.
    pub not_yet_valid: Issued,
    /// serverAuth EKU only.
    pub wrong_eku: Issued,
    /// Listed in [`DevPki::root_crl_pem`].
    pub revoked: Issued,
    /// Issued by a different key under the root's exact subject DN.
    pub same_name_other_ca: Issued,
    /// RSA-4096 with enough SANs that its escaped PEM exceeds
    /// [`CLIENT_CERT_HEADER_LIMIT`](crate::CLIENT_CERT_HEADER_LIMIT).
    pub oversized: Issued,
    /// The root's CRL (revokes `revoked`, nextUpdate in 7 days), PEM.
    pub root_crl_pem: String,
    /// The same CRL, DER.
    pub root_crl_der: Vec<u8>,
}

impl DevPki {
    /// Generates a fresh PKI. RSA key generation dominates the cost, so
    /// test suites should generate one and share it.
    pub fn generate(spec: &PkiSpec) -> Result<DevPki, PkiError> {
        let parent = wildcard_parent(&spec.domain)?;
        let cas = Authorities::new(OffsetDateTime::now_utc())?;
        let Servers {
            server,
            server_rsa,
            wildcard_server,
            upstream,
        } = cas.servers(spec, parent)?;
        let Clients {
            client,
            client_via_intermediate,
            self_signed_ca,
            self_signed_leaf,
            expired,
            not_yet_valid,
            wrong_eku,
            revoked,
            revoked_serial,
            same_name_other_ca,
            oversized,
        } = cas.clients(&spec.domain)?;
        let root_crl_der = root_crl(&cas.root, revoked_serial, cas.now)?;

        Ok(DevPki {
            root_crl_pem: pem_block("X509 CRL", &root_crl_der),
            root_crl_der,
            root: cas.root.issued.clone(),
            intermediate: cas.intermediate.issued.clone(),
            server,
            server_rsa,
            wildcard_server,
            upstream,
            client,
            client_via_intermediate,
            self_signed_ca,
            self_signed_leaf,
            expired,
            not_yet_valid,
            wrong_eku,
            revoked,
            same_name_other_ca,
            oversized,
        })
    }

    /// Every certificate entry with its file stem (the field name with `-`
    /// for `_`), in declaration order.
    pub fn entries(&self) -> [(&'static str, &Issued); 16] {
        [
            ("root", &self.root),
            ("intermediate", &self.intermediate),
            ("server", &self.server),
            ("server-rsa", &self.server_rsa),
            ("wildcard-server", &self.wildcard_server),
            ("upstream", &self.upstream),
            ("client", &self.client),
            ("client-via-intermediate", &self.client_via_intermediate),
            ("self-signed-ca", &self.self_signed_ca),
            ("self-signed-leaf", &self.self_signed_leaf),
            ("expired", &self.expired),
            ("not-yet-valid", &self.not_yet_valid),
            ("wrong-eku", &self.wrong_eku),
            ("revoked", &self.revoked),
            ("same-name-other-ca", &self.same_name_other_ca),
            ("oversized", &self.oversized),
        ]
    }
}

/// The parent of `domain`, which the wildcard certificate is for. It must
/// itself have two labels, so that the wildcard is not one for a public
/// suffix such as `*.com`.
fn wildcard_parent(domain: &str) -> Result<&str, PkiError> {
    domain
        .split_once('.')
        .map(|(_, parent)| parent)
        .filter(|parent| parent.contains('.'))
        .ok_or_else(|| {
            PkiError::Spec(format!(
                "domain {domain:?} needs at least three labels, so that the wildcard \
                 certificate for its parent is not a public-suffix wildcard"
            ))
        })
}

/// The server-side entries, all issued by the root.
struct Servers {
    server: Issued,
    server_rsa: Issued,
    wildcard_server: Issued,
    upstream: Issued,
}

/// The client entries, one per case the gateway's client verifier must tell
/// apart, and the serial the root's CRL revokes.
struct Clients {
    client: Issued,
    client_via_intermediate: Issued,
    self_signed_ca: Issued,
    self_signed_leaf: Issued,
    expired: Issued,
    not_yet_valid: Issued,
    wrong_eku: Issued,
    revoked: Issued,
    revoked_serial: SerialNumber,
    same_name_other_ca: Issued,
    oversized: Issued,
}

/// The CAs every entry is issued under, and the moment the PKI is made at,
/// which every validity period is counted from.
struct Authorities {
    now: OffsetDateTime,
    root: Ca,
    intermediate: Ca,
    /// Same subject as the root, different key; written nowhere.
    impostor: Ca,
}

impl Authorities {
    fn new(now: OffsetDateTime) -> Result<Authorities, PkiError> {
        let root = ca(ROOT_CN, None, None, now)?;
        let intermediate = ca("Example Intermediate CA", Some(0), Some(&root), now)?;
        let impostor = ca(ROOT_CN, None, None, now)?;
        Ok(Authorities {
            now,
            root,
            intermediate,
            impostor,
        })
    }

    /// now−1h … now+365d, for every entry that is not about time.
    fn usual(&self) -> Validity {
        (
            self.now - Duration::hours(1),
            self.now + Duration::days(365),
        )
    }

    /// Signs `params` for `key` under the root, with no intermediate.
    fn by_root(&self, params: CertificateParams, key: KeyPair) -> Result<Issued, PkiError> {
        issue(&params, &key, &self.root.issuer(), &[])
    }

    /// The gateway's own certificates (P-256 and RSA), the wildcard that
    /// does not cover the alias, and the upstream's.
    fn servers(&self, spec: &PkiSpec, parent: &str) -> Result<Servers, PkiError> {
        let usual = self.usual();
        let alias = format!("mtls.{}", spec.domain);
        let server_names = [
            spec.domain.as_str(),
            alias.as_str(),
            "localhost",
            "127.0.0.1",
        ];
        let server = self.by_root(
            server_leaf(&spec.domain, &server_names, usual)?,
            KeyPair::generate()?,
        )?;
        let rsa_key = KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)?;
        let server_rsa = self.by_root(server_leaf(&spec.domain, &server_names, usual)?, rsa_key)?;
        let wildcard = format!("*.{parent}");
        let wildcard_server = self.by_root(
            server_leaf("wildcard-server", &[&wildcard], usual)?,
            KeyPair::generate()?,
        )?;
        let upstream_names = [spec.upstream_host.as_str(), "localhost", "127.0.0.1"];
        let upstream = self.by_root(
            server_leaf(&spec.upstream_host, &upstream_names, usual)?,
            KeyPair::generate()?,
        )?;
        Ok(Servers {
            server,
            server_rsa,
            wildcard_server,
            upstream,
        })
    }

    /// Every client case; `domain` names the oversized one's SANs.
    fn clients(&self, domain: &str) -> Result<Clients, PkiError> {
        let (now, day, usual) = (self.now, Duration::days(1), self.usual());
        let client = self.by_root(client_leaf("client-1", usual)?, KeyPair::generate()?)?;
        let client_via_intermediate = issue(
            &client_leaf("client-via-intermediate", usual)?,
            &KeyPair::generate()?,
            &self.intermediate.issuer(),
            &[&self.intermediate.issued],
        )?;

        let mut params = client_leaf("client-self-signed-ca", usual)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages.push(KeyUsagePurpose::KeyCertSign);
        let self_signed_ca = self_sign(params)?;
        let mut params = client_leaf("client-self-signed-leaf", usual)?;
        params.is_ca = IsCa::ExplicitNoCa;
        let self_signed_leaf = self_sign(params)?;

        let expired = self.by_root(
            client_leaf("client-expired", (now - 2 * day, now - day))?,
            KeyPair::generate()?,
        )?;
        let later = (now + day, now + 366 * day);
        let not_yet_valid = self.by_root(
            client_leaf("client-not-yet-valid", later)?,
            KeyPair::generate()?,
        )?;
        let mut params = client_leaf("client-wrong-eku", usual)?;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let wrong_eku = self.by_root(params, KeyPair::generate()?)?;

        let mut params = client_leaf("client-revoked", usual)?;
        let revoked_serial = random_serial()?;
        params.serial_number = Some(revoked_serial.clone());
        let revoked = self.by_root(params, KeyPair::generate()?)?;
        let same_name_other_ca = issue(
            &client_leaf("client-same-name-other-ca", usual)?,
            &KeyPair::generate()?,
            &self.impostor.issuer(),
            &[],
        )?;
        let oversized = oversized(domain, &self.root, usual)?;
        Ok(Clients {
            client,
            client_via_intermediate,
            self_signed_ca,
            self_signed_leaf,
            expired,
            not_yet_valid,
            wrong_eku,
            revoked,
            revoked_serial,
            same_name_other_ca,
            oversized,
        })
    }
}

/// One PKI shared by all unit tests: RSA key generation makes a fresh one
/// per test noticeably slow.
#[cfg(test)]
pub(crate) fn test_pki() -> &'static DevPki {
    static PKI: std::sync::OnceLock<DevPki> = std::sync::OnceLock::new();
    PKI.get_or_init(|| DevPki::generate(&PkiSpec::default()).unwrap())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::{CertificateDer, UnixTime};
    use webpki::{
        anchor_from_trusted_cert, BorrowedCertRevocationList, CertRevocationList, EndEntityCert,
        KeyUsage, RevocationOptionsBuilder,
    };

    /// Path validation as the gateway's client verifier does it.
    fn verify(
        leaf: &Issued,
        intermediates: &[CertificateDer<'_>],
        crl: Option<&[u8]>,
    ) -> Result<(), webpki::Error> {
        let pki = test_pki();
        let anchors = [anchor_from_trusted_cert(&pki.root.cert_der).unwrap()];
        let crls: Vec<CertRevocationList<'_>> = crl
            .map(|der| BorrowedCertRevocationList::from_der(der).unwrap().into())
            .into_iter()
            .collect();
        let crl_refs: Vec<&CertRevocationList<'_>> = crls.iter().collect();
        let revocation = (!crl_refs.is_empty())
            .then(|| RevocationOptionsBuilder::new(&crl_refs).unwrap().build());
        let ee = EndEntityCert::try_from(&leaf.cert_der)?;
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            intermediates,
            UnixTime::now(),
            KeyUsage::client_auth(),
            revocation,
            None,
        )
        .map(|_| ())
    }

    #[test]
    fn good_clients_chain_to_the_root() {
        let pki = test_pki();
        verify(&pki.client, &[], None).unwrap();
        verify(
            &pki.client_via_intermediate,
            &pki.client_via_intermediate.chain_der()[1..],
            None,
        )
        .unwrap();
        verify(&pki.oversized, &[], None).unwrap();
        verify(&pki.revoked, &[], None).unwrap();
        // Without the intermediate there is no path.
        assert!(verify(&pki.client_via_intermediate, &[], None).is_err());
    }

    #[test]
    fn bad_clients_do_not_verify() {
        let pki = test_pki();
        let intermediates = [pki.intermediate.cert_der.clone()];
        for bad in [
            &pki.same_name_other_ca,
            &pki.self_signed_ca,
            &pki.self_signed_leaf,
        ] {
            assert!(verify(bad, &intermediates, None).is_err(), "{bad:?}");
        }
        assert!(matches!(
            verify(&pki.expired, &[], None),
            Err(webpki::Error::CertExpired { .. })
        ));
        assert!(matches!(
            verify(&pki.not_yet_valid, &[], None),
            Err(webpki::Error::CertNotValidYet { .. })
        ));
        assert!(verify(&pki.wrong_eku, &[], None).is_err());
        assert_eq!(
            verify(&pki.revoked, &[], Some(&pki.root_crl_der)),
            Err(webpki::Error::CertRevoked)
        );
        verify(&pki.client, &[], Some(&pki.root_crl_der)).unwrap();
    }

    #[test]
    fn crl_lists_exactly_the_revoked_serial() {
        let pki = test_pki();
        let crl = CertRevocationList::from(
            BorrowedCertRevocationList::from_der(&pki.root_crl_der).unwrap(),
        );
        let serial_of = |issued: &Issued| {
            let (_, cert) = x509_parser::parse_x509_certificate(&issued.cert_der).unwrap();
            cert.raw_serial().to_vec()
        };
        assert!(crl.find_serial(&serial_of(&pki.revoked)).unwrap().is_some());
        assert!(crl.find_serial(&serial_of(&pki.client)).unwrap().is_none());
        assert!(pki.root_crl_pem.starts_with("-----BEGIN X509 CRL-----\n"));
        let (_, parsed) = x509_parser::parse_x509_crl(&pki.root_crl_der).unwrap();
        let next = parsed.next_update().unwrap().timestamp() - parsed.last_update().timestamp();
        assert!(
            (7 * 86400 - 120..=7 * 86400 + 120).contains(&next),
            "{next}"
        );
    }

    #[test]
    fn spec_needs_a_parent_domain() {
        let spec = PkiSpec {
            domain: "example.com".into(),
            ..PkiSpec::default()
        };
        assert!(matches!(DevPki::generate(&spec), Err(PkiError::Spec(_))));
        let spec = PkiSpec {
            domain: "localhost".into(),
            ..PkiSpec::default()
        };
        assert!(matches!(DevPki::generate(&spec), Err(PkiError::Spec(_))));
    }
}
