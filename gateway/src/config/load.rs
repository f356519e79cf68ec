//! `FileConfig` -> `Config`: reads every referenced file and reports each problem with its key.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mtls_policies::IdentityHeaders;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::file::{FileConfig, FileDomain};
use super::{Config, ConfigError, ConfigErrors, DomainConfig, Limits};
use crate::config::file::DEFAULT_EXPIRY_WARNING;

/// Reads and validates the configuration at `path`. Relative paths inside it are relative to
/// the file's directory.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: path.to_owned(),
            key: String::new(),
            problem: format!("cannot read the configuration: {e}"),
        }])
    })?;
    load_str(path, &text)
}

/// Validates configuration text as if it had been read from `path`.
pub fn load_str(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
    let file: FileConfig = toml::from_str(text).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: path.to_owned(),
            key: e.span().map(|s| key_at(text, s.start)).unwrap_or_default(),
            problem: e.message().to_owned(),
        }])
    })?;
    let base = path.parent().map(Path::to_owned).unwrap_or_default();
    let mut cx = Loader {
        path: path.to_owned(),
        base,
        errors: Vec::new(),
        warnings: Vec::new(),
        files: Vec::new(),
        listen_ports: Vec::new(),
    };
    let config = cx.config(file);
    if cx.errors.is_empty() {
        Ok(Config {
            warnings: cx.warnings,
            ..config
        })
    } else {
        Err(ConfigErrors(cx.errors))
    }
}

/// Best-effort "line N" locator for a TOML error, since serde errors carry only a byte span.
fn key_at(text: &str, offset: usize) -> String {
    let line = text[..offset.min(text.len())].matches('\n').count() + 1;
    format!("line {line}")
}

pub(super) struct Loader {
    pub(super) path: PathBuf,
    pub(super) base: PathBuf,
    pub(super) errors: Vec<ConfigError>,
    pub(super) warnings: Vec<String>,
    pub(super) files: Vec<PathBuf>,
    /// Ports of the HTTPS listeners: a page served on one is the domain's own origin.
    pub(super) listen_ports: Vec<u16>,
}

impl Loader {
    pub(super) fn error(&mut self, key: impl Into<String>, problem: impl Into<String>) {
        self.errors.push(ConfigError {
            file: self.path.clone(),
            key: key.into(),
            problem: problem.into(),
        });
    }

    /// The path of a referenced file, remembered for the reload watcher.
    pub(super) fn resolve(&mut self, p: &str) -> PathBuf {
        let path = self.base.join(p);
        self.files.push(path.clone());
        path
    }

    /// Reads a small text file (registry, deny list) referenced at `key`.
    pub(super) fn read_text(&mut self, key: &str, file: &str) -> Option<(String, PathBuf)> {
        let path = self.resolve(file);
        match std::fs::read_to_string(&path) {
            Ok(t) => Some((t, path)),
            Err(e) => {
                self.error(key, format!("{}: cannot read: {e}", path.display()));
                None
            }
        }
    }

    fn config(&mut self, file: FileConfig) -> Config {
        let mut listen = Vec::new();
        for (i, addr) in file.listen.iter().enumerate() {
            match addr.parse::<SocketAddr>() {
                Ok(a) => listen.push(a),
                Err(_) => self.error(
                    format!("listen[{i}]"),
                    format!("`{addr}` is not an IP:port socket address"),
                ),
            }
        }
        self.listen_ports = listen
            .iter()
            .map(|a: &SocketAddr| a.port())
            .filter(|p| *p != 0)
            .collect();
        if file.listen.is_empty() {
            self.error("listen", "at least one address is required");
        }
        let admin_listen = match (file.admin.enabled, file.admin.listen.parse::<SocketAddr>()) {
            (false, _) => None,
            (true, Ok(a)) => Some(a),
            (true, Err(_)) => {
                self.error(
                    "admin.listen",
                    format!("`{}` is not an IP:port socket address", file.admin.listen),
                );
                None
            }
        };
        let r = &file.rate_limit;
        if r.backend == super::RateBackend::Redis {
            match r.redis_url.as_deref() {
                None => self.error("rate_limit.redis_url", "required with backend = \"redis\""),
                Some(u)
                    if !(u.starts_with("redis://")
                        || u.starts_with("rediss://")
                        || u.starts_with("redis+unix://")) =>
                {
                    self.error(
                        "rate_limit.redis_url",
                        "must start with redis://, rediss:// or redis+unix://",
                    )
                }
                Some(_) => {}
            }
        }
        if r.max_keys == 0 {
            self.error("rate_limit.max_keys", "must be at least 1");
        }
        let rate_limit = super::RateLimitConfig {
            backend: r.backend,
            max_keys: r.max_keys,
            redis_url: r.redis_url.clone(),
            redis_timeout: r.redis_timeout,
            on_redis_error: r.on_redis_error,
        };
        let l = file.limits;
        if l.max_connections == 0 {
            self.error("limits.max_connections", "must be at least 1");
        }
        if l.max_header_bytes < 1024 {
            self.error("limits.max_header_bytes", "must be at least 1024");
        }
        let limits = Limits {
            handshake_timeout: l.handshake_timeout,
            header_read_timeout: l.header_read_timeout,
            idle_timeout: l.idle_timeout,
            drain_timeout: l.drain_timeout,
            max_connections: l.max_connections,
            max_header_bytes: l.max_header_bytes,
            max_headers: l.max_headers,
            max_body_bytes: l.max_body_bytes,
            h2_max_concurrent_streams: l.h2_max_concurrent_streams,
        };
        if file.domains.is_empty() {
            self.error("domain", "at least one [[domain]] is required");
        }
        let mut hosts = HashSet::new();
        let mut domains = Vec::new();
        for (i, d) in file.domains.into_iter().enumerate() {
            let key = format!("domain[{i}]");
            for host in [
                Some(d.name.to_ascii_lowercase()),
                d.mtls_alias
                    .then(|| format!("mtls.{}", d.name.to_ascii_lowercase())),
            ]
            .into_iter()
            .flatten()
            {
                if !hosts.insert(host.clone()) {
                    self.error(
                        format!("{key}.name"),
                        format!("host `{host}` is served by more than one domain"),
                    );
                }
            }
            if let Some(domain) = self.domain(&key, d) {
                domains.push(Arc::new(domain));
            }
        }
        Config {
            path: self.path.clone(),
            listen,
            admin_listen,
            limits,
            rate_limit,
            watch: file.reload.watch.then_some(file.reload.debounce),
            domains,
            warnings: Vec::new(),
            files: {
                let mut files = std::mem::take(&mut self.files);
                files.push(self.path.clone());
                files.sort();
                files.dedup();
                files
            },
        }
    }

    fn domain(&mut self, key: &str, d: FileDomain) -> Option<DomainConfig> {
        let errors_before = self.errors.len();
        let name = d.name.trim_end_matches('.').to_ascii_lowercase();
        if !valid_hostname(&name) {
            self.error(
                format!("{key}.name"),
                format!("`{}` is not a DNS hostname", d.name),
            );
        }
        let alias = d.mtls_alias.then(|| format!("mtls.{name}"));
        let certified_key = self.server_cert(key, &d.cert, &d.key, &name, alias.as_deref());
        let identity_headers = match IdentityHeaders::new(&d.client_ip_header) {
            Ok(h) => Some(h),
            Err(e) => {
                self.error(format!("{key}.client_ip_header"), e.to_string());
                None
            }
        };
        let api_key = self.api_key(key, d.api_key_file.as_deref(), d.api_key_env.as_deref());
        let upstream = self.upstream(&format!("{key}.upstream"), &d.upstream);
        let mtls = self.mtls(&format!("{key}.mtls"), &name, alias.is_some(), &d.mtls);
        let rate_rules = self.rate_rules(&format!("{key}.rate_limit"), &d.rate_limits);
        let browser = self.browser(key, &name, d.browser.as_ref(), &d.apps);
        if self.errors.len() > errors_before {
            return None;
        }
        let (certified_key, cert_not_after) = certified_key?;
        Some(DomainConfig {
            name,
            alias,
            certified_key,
            cert_not_after,
            tls_policy: d.tls_policy,
            identity_headers: identity_headers?,
            api_key: api_key?,
            upstream: upstream?,
            rate_needs_client_id: rate_rules.as_ref().is_some_and(|r| {
                r.iter().any(|(_, rule)| {
                    rule.key()
                        .parts()
                        .contains(&mtls_policies::KeyPart::ClientId)
                })
            }),
            rate_rule_labels: rate_rules
                .as_ref()
                .map(|r| crate::metrics::intern(r.iter().map(|(_, rule)| rule.name())))
                .unwrap_or_default(),
            browser: browser?,
            rate_rules: rate_rules?,
            mtls: mtls?,
        })
    }

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

    fn server_cert(
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
        for host in std::iter::once(name).chain(alias) {
            match mtls_certs::cert_covers(&leaf, host) {
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
        let not_after = match mtls_certs::not_after(&leaf) {
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
        Some((Arc::new(certified), not_after))
    }
}

pub(super) fn pem_problem(e: &rustls_pki_types::pem::Error) -> String {
    match e {
        rustls_pki_types::pem::Error::Io(io) => format!("cannot read: {io}"),
        rustls_pki_types::pem::Error::NoItemsFound => {
            "no PEM item of the expected kind found".to_owned()
        }
        other => format!("invalid PEM: {other:?}"),
    }
}

pub(super) fn valid_hostname(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub(crate) fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames() {
        assert!(valid_hostname("auth.example.com"));
        assert!(valid_hostname("localhost"));
        assert!(!valid_hostname("auth..example.com"));
        assert!(!valid_hostname("-a.example.com"));
        assert!(!valid_hostname("*.example.com"));
        assert!(!valid_hostname(""));
    }

    #[test]
    fn syntax_errors_name_the_file_and_line() {
        let err = load_str(
            Path::new("/etc/gw.toml"),
            "listen = [\"1.2.3.4:1\"]\nbogus = 1\n",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("/etc/gw.toml: line 2:"), "{text}");
        assert!(text.contains("bogus"), "{text}");
    }

    #[test]
    fn missing_domain_is_an_error() {
        let err = load_str(Path::new("gw.toml"), "listen = [\"127.0.0.1:0\"]\n").unwrap_err();
        assert_eq!(err.0[0].key, "domain");
    }
}
