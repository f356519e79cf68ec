//! Loading a domain's server certificate and key, and PEM certificate files in general (part
//! of [`super::load`]).

use std::sync::Arc;

use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::load::{pem_problem, rfc3339, unix_now, Loader};
use super::DEFAULT_EXPIRY_WARNING;

impl Loader {
    pub(super) fn read_certs(
        &mut self,
        key: &str,
        file: &str,
    ) -> Option<Vec<CertificateDer<'static>>> {
        let path = self.resolve(file);
        let certs = match CertificateDer::pem_file_iter(&path) {
            Ok(iter) => iter.collect::<Result<Vec<_>, _>>(),
            Err(e) => Err(e),
        };
        match certs {
            Ok(c) if c.is_empty() => {
                self.error(key, format!("{}: no PEM certificate found", path.display()));
                None
            }
            Ok(c) => Some(c),
            Err(e) => {
                self.error(key, format!("{}: {}", path.display(), pem_problem(&e)));
                None
            }
        }
    }

    pub(super) fn server_cert(
        &mut self,
        key: &str,
        cert: &str,
        private_key: &str,
        name: &str,
        alias: Option<&str>,
    ) -> Option<(Arc<CertifiedKey>, i64)> {
        let chain = self.read_certs(&format!("{key}.cert"), cert)?;
        let key_path = self.resolve(private_key);
        let der = match PrivateKeyDer::from_pem_file(&key_path) {
            Ok(k) => k,
            Err(e) => {
                self.error(
                    format!("{key}.key"),
                    format!("{}: {}", key_path.display(), pem_problem(&e)),
                );
                return None;
            }
        };
        let provider = crate::tls::provider();
        let signer = match provider.key_provider.load_private_key(der) {
            Ok(s) => s,
            Err(e) => {
                self.error(
                    format!("{key}.key"),
                    format!("{}: unusable private key: {e}", key_path.display()),
                );
                return None;
            }
        };
        let leaf = chain[0].clone();
        let certified = CertifiedKey::new(chain, signer);
        if certified.keys_match().is_err() {
            self.error(
                format!("{key}.key"),
                format!(
                    "{}: does not match the certificate in {}",
                    key_path.display(),
                    cert
                ),
            );
            return None;
        }
        let not_after = self.leaf_checks(key, cert, &leaf, std::iter::once(name).chain(alias))?;
        Some((Arc::new(certified), not_after))
    }

    /// The leaf covers every host it serves and has not expired; its notAfter (a warning when
    /// it is near).
    fn leaf_checks<'a>(
        &mut self,
        key: &str,
        cert: &str,
        leaf: &CertificateDer<'_>,
        hosts: impl Iterator<Item = &'a str>,
    ) -> Option<i64> {
        for host in hosts {
            match mtls_certs::cert_covers(leaf, host) {
                Ok(true) => {}
                Ok(false) => self.error(
                    format!("{key}.cert"),
                    format!(
                        "{cert}: the certificate does not cover `{host}` (a wildcard covers exactly one label: `*.example.com` does not cover `mtls.auth.example.com`)"
                    ),
                ),
                Err(e) => self.error(format!("{key}.cert"), format!("{cert}: {e}")),
            }
        }
        let not_after = match mtls_certs::not_after(leaf) {
            Ok(t) => t,
            Err(e) => {
                self.error(format!("{key}.cert"), format!("{cert}: {e}"));
                return None;
            }
        };
        let now = unix_now();
        if not_after <= now {
            self.error(
                format!("{key}.cert"),
                format!("{cert}: the certificate expired at {}", rfc3339(not_after)),
            );
            return None;
        }
        if not_after - now < DEFAULT_EXPIRY_WARNING.as_secs() as i64 {
            self.warnings.push(format!(
                "{}: {key}.cert: {cert} expires at {} (in {} days)",
                self.path.display(),
                rfc3339(not_after),
                (not_after - now) / 86_400
            ));
        }
        Some(not_after)
    }
}
