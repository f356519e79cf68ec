//! Loading the alias's client trust: CA anchors, CRLs, registry, deny list (part of [`super::load`]).

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::TrustAnchor;

use std::path::Path;

use mtls_policies::RouteList;

use super::file::FileMtls;
use super::load::{pem_problem, rfc3339, unix_now, Loader};
use super::{MtlsConfig, DEFAULT_ALIAS_ROUTES};

impl Loader {
    /// The CRLs in `file`; each one issued under the name of a client CA in `anchors` must be
    /// signed by that CA's key (see [`Loader::crl_signature`]).
    pub(super) fn crls(
        &mut self,
        key: &str,
        file: &str,
        stale: super::StaleCrlPolicy,
        anchors: &[TrustAnchor<'static>],
    ) -> Vec<super::Crl> {
        use rustls_pki_types::CertificateRevocationListDer;
        let path = self.resolve(file);
        let ders: Vec<Vec<u8>> = match CertificateRevocationListDer::pem_file_iter(&path) {
            Ok(iter) => match iter.collect::<Result<Vec<_>, _>>() {
                Ok(v) if !v.is_empty() => v.into_iter().map(|d| d.to_vec()).collect(),
                // Not PEM: a DER file holds exactly one CRL.
                _ => match std::fs::read(&path) {
                    Ok(b) => vec![b],
                    Err(e) => {
                        self.error(key, format!("{}: cannot read: {e}", path.display()));
                        return Vec::new();
                    }
                },
            },
            Err(e) => {
                self.error(key, format!("{}: {}", path.display(), pem_problem(&e)));
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for der in ders {
            let list = match webpki::OwnedCertRevocationList::from_der(&der) {
                Ok(l) => l,
                Err(e) => {
                    self.error(key, format!("{}: not a usable CRL: {e}", path.display()));
                    continue;
                }
            };
            let (issuer, next_update) = crl_facts(&der);
            if !self.crl_signature(key, &path, &issuer, &der, anchors) {
                continue;
            }
            if let Some(next) = next_update {
                if next <= unix_now() {
                    let msg = format!(
                        "{}: {key}: the CRL of {issuer} in {file} is past its nextUpdate ({})",
                        self.path.display(),
                        rfc3339(next)
                    );
                    match stale {
                        super::StaleCrlPolicy::Warn => self.warnings.push(msg),
                        super::StaleCrlPolicy::Enforce => self.warnings.push(format!(
                            "{msg}; stale_crl = \"enforce\": certificates it covers are treated as revoked"
                        )),
                    }
                }
            }
            out.push(super::Crl {
                list: list.into(),
                issuer,
                next_update,
            });
        }
        out
    }

    /// Whether the CRL `der` (issued by `issuer`, from `path`) may be used: refused when client
    /// CAs in `anchors` have its issuer's name and none of their keys signed it. webpki would
    /// otherwise fail every chain under that name on the bad signature, so one bad file would
    /// turn every client's verdict to `FAILED`. An issuer that is no anchor (an intermediate) is
    /// left to webpki, which checks the signature when a chain uses the CRL.
    fn crl_signature(
        &mut self,
        key: &str,
        path: &Path,
        issuer: &str,
        der: &[u8],
        anchors: &[TrustAnchor<'static>],
    ) -> bool {
        use mtls_certs::{CrlSignatureError, CrlSigner};
        let algs = crate::tls::provider().signature_verification_algorithms.all;
        let problem = match mtls_certs::crl_signer(der, anchors, algs) {
            Ok(CrlSigner::Anchor(_) | CrlSigner::NotAnAnchor) => return true,
            Err(CrlSignatureError::WrongKey { anchors: 1 }) => format!(
                "the CRL's signature does not verify with the client CA `{issuer}` \
                 (signed by another key under the same name?)"
            ),
            Err(CrlSignatureError::WrongKey { anchors: n }) => format!(
                "the CRL's signature does not verify with any of the {n} client CAs named \
                 `{issuer}` (signed by another key under the same name?)"
            ),
            Err(CrlSignatureError::UnsupportedAlgorithm) => format!(
                "the CRL of `{issuer}` is signed with an algorithm the gateway cannot verify, \
                 so every certificate of that CA would fail"
            ),
            Err(e @ CrlSignatureError::Malformed(_)) => e.to_string(),
        };
        self.error(key, format!("{}: {problem}", path.display()));
        false
    }

    pub(super) fn anchors(&mut self, key: &str, file: &str) -> Vec<TrustAnchor<'static>> {
        let Some(certs) = self.read_certs(key, file) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, c) in certs.iter().enumerate() {
            match webpki::anchor_from_trusted_cert(c) {
                Ok(a) => out.push(a.to_owned()),
                Err(e) => self.error(
                    key,
                    format!("{file}: certificate #{} is not a usable CA: {e}", i + 1),
                ),
            }
        }
        out
    }
}

impl Loader {
    /// The alias's client-certificate settings: CAs, CRLs, registry, deny list, routes.
    pub(super) fn mtls(
        &mut self,
        mk: &str,
        name: &str,
        alias: bool,
        m: &FileMtls,
    ) -> Option<MtlsConfig> {
        let errors_before = self.errors.len();
        let mut client_cas = Vec::new();
        let mut ca_depths = Vec::new();
        for (i, ca) in m.client_ca.iter().enumerate() {
            let anchors = self.anchors(&format!("{mk}.client_ca[{i}]"), ca.file());
            ca_depths.extend(std::iter::repeat_n(ca.revocation(), anchors.len()));
            client_cas.extend(anchors);
        }
        let mut crls = Vec::new();
        for (i, f) in m.crl.iter().enumerate() {
            let key = format!("{mk}.crl[{i}]");
            crls.extend(self.crls(&key, f, m.stale_crl, &client_cas));
        }
        let registry = m
            .registry
            .as_deref()
            .and_then(|f| self.registry(&format!("{mk}.registry"), f));
        if m.edge_policy == super::EdgePolicy::Registered && m.registry.is_none() {
            self.error(
                format!("{mk}.edge_policy"),
                "`registered` needs a `registry` file",
            );
        }
        let deny = match m.deny_list.as_deref() {
            None => Some(super::registry::DenyList::default()),
            Some(f) => self.deny_list(&format!("{mk}.deny_list"), f),
        };
        if alias && m.client_ca.is_empty() {
            self.warnings.push(format!(
                "{}: {mk}.client_ca: no client CA configured: every client certificate on mtls.{name} will be FAILED",
                self.path.display()
            ));
        }
        let routes = match &m.routes {
            Some(r) => RouteList::new(r),
            None => RouteList::new(DEFAULT_ALIAS_ROUTES),
        };
        let routes = match routes {
            Ok(r) => Some(r),
            Err(e) => {
                self.error(format!("{mk}.routes"), e.to_string());
                None
            }
        };
        if self.errors.len() > errors_before {
            return None;
        }
        Some(MtlsConfig {
            client_cas,
            ca_depths,
            crls,
            stale_crl: m.stale_crl,
            revoked: m.revoked,
            crl_missing: m.crl_missing,
            registry,
            edge_policy: m.edge_policy,
            deny: deny?,
            self_signed: m.self_signed,
            no_certificate: m.no_certificate,
            route_labels: routes
                .as_ref()
                .map(|r| crate::metrics::intern(r.iter()))
                .unwrap_or_default(),
            routes: routes?,
            advertise_ca_names: m.advertise_ca_names,
        })
    }

    /// The registry file at `key`; each problem in it is reported at `key`, naming its entry.
    fn registry(&mut self, key: &str, file: &str) -> Option<super::registry::Registry> {
        let (text, path) = self.read_text(key, file)?;
        let dir = path.parent().map(Path::to_owned).unwrap_or_default();
        super::registry::load_registry(&text, &dir)
            .map_err(|problems| {
                self.file_problems(key, &path, problems.into_iter().map(|p| (p.key, p.problem)))
            })
            .ok()
    }

    /// The deny-list file at `key`, reported like [`Loader::registry`].
    fn deny_list(&mut self, key: &str, file: &str) -> Option<super::registry::DenyList> {
        let (text, path) = self.read_text(key, file)?;
        super::registry::load_deny_list(&text)
            .map_err(|problems| {
                self.file_problems(key, &path, problems.into_iter().map(|p| (p.key, p.problem)))
            })
            .ok()
    }

    /// Problems found in a file the configuration names: (key in that file, problem).
    fn file_problems(
        &mut self,
        key: &str,
        path: &Path,
        problems: impl Iterator<Item = (String, String)>,
    ) {
        for (in_file, problem) in problems {
            self.error(key, format!("{}: {in_file}: {problem}", path.display()));
        }
    }
}

/// Issuer (RFC 4514) and nextUpdate of a CRL, for logs and metrics.
fn crl_facts(der: &[u8]) -> (String, Option<i64>) {
    use x509_parser::prelude::FromDer;
    match x509_parser::revocation_list::CertificateRevocationList::from_der(der) {
        Ok((_, crl)) => (
            mtls_certs::dn::rfc4514(crl.issuer()),
            crl.next_update().map(|t| t.timestamp()),
        ),
        Err(_) => ("unknown issuer".to_owned(), None),
    }
}
