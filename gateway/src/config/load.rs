//! Loading a configuration: [`load`] and [`load_str`], and the [`Loader`] that validates what
//! [`super::read`] read, loads every file it names and reports each problem with its key.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mtls_policies::IdentityHeaders;
use toml::de::DeTable;

use super::file::{FileAdmin, FileConfig, FileDomain, FileLimits, FileRateLimit};
use super::key_path;
use super::read::{self, ReadFile};
use super::{Config, ConfigError, ConfigErrors, DomainConfig, Limits, RateLimitConfig};

/// Reads and validates the configuration at `path`. Relative paths inside it are relative to
/// the file's directory.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: path.to_owned(),
            key: String::new(),
            problem: format!("cannot read the configuration: {e}"),
            position: None,
        }])
    })?;
    load_str(path, &text)
}

/// Validates configuration text as if it had been read from `path`.
///
/// A TOML syntax error stops there (nothing after it can be trusted to mean what it says);
/// otherwise every value that cannot be read and every problem validation finds in the rest
/// is reported.
pub fn load_str(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
    let doc = DeTable::parse(text).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: path.to_owned(),
            key: String::new(),
            problem: format!("invalid TOML: {}", e.message().trim_end()),
            position: e.span().map(|s| key_path::position(text, &s)),
        }])
    })?;
    let ReadFile {
        top,
        domains,
        problems,
        unread,
    } = read::read(&doc);
    let mut cx = Loader::new(path);
    let config = cx.config(top, domains);
    let root = key_path::document(&doc);
    let position =
        |span: Option<std::ops::Range<usize>>| span.map(|s| key_path::position(text, &s));
    let mut errors: Vec<ConfigError> = problems
        .into_iter()
        .map(|p| ConfigError {
            file: path.to_owned(),
            key: p.key,
            problem: p.problem,
            position: position(p.span),
        })
        .collect();
    // Validation of a value that could not be read would only repeat that problem.
    for mut e in cx.errors.into_iter().filter(|e| !unread.covers(&e.key)) {
        let span = key_path::parse(&e.key).and_then(|k| key_path::written_at(&root, &k));
        e.position = position(span);
        errors.push(e);
    }
    if errors.is_empty() {
        Ok(Config {
            warnings: cx.warnings,
            ..config
        })
    } else {
        Err(ConfigErrors(errors))
    }
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
    fn new(path: &Path) -> Loader {
        Loader {
            path: path.to_owned(),
            base: path.parent().map(Path::to_owned).unwrap_or_default(),
            errors: Vec::new(),
            warnings: Vec::new(),
            files: Vec::new(),
            listen_ports: Vec::new(),
        }
    }

    pub(super) fn error(&mut self, key: impl Into<String>, problem: impl Into<String>) {
        self.errors.push(ConfigError {
            file: self.path.clone(),
            key: key.into(),
            problem: problem.into(),
            position: None,
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

    /// `top` is everything outside `[[domain]]` (its `domains` is not looked at); `domains` holds
    /// each `[[domain]]` as read, `None` for one that could not be.
    fn config(&mut self, top: FileConfig, domains: Vec<Option<FileDomain>>) -> Config {
        let listen = self.listen(&top.listen);
        let admin_listen = self.admin_listen(&top.admin);
        let rate_limit = self.rate_limit(&top.rate_limit);
        let limits = self.limits(&top.limits);
        let domains = self.domains(domains);
        Config {
            path: self.path.clone(),
            listen,
            admin_listen,
            limits,
            rate_limit,
            watch: top.reload.watch.then_some(top.reload.debounce),
            domains,
            warnings: Vec::new(),
            files: self.watched_files(),
        }
    }

    fn listen(&mut self, addrs: &[String]) -> Vec<SocketAddr> {
        if addrs.is_empty() {
            self.error("listen", "at least one address is required");
        }
        let mut listen = Vec::new();
        for (i, addr) in addrs.iter().enumerate() {
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
            .map(SocketAddr::port)
            .filter(|p| *p != 0)
            .collect();
        listen
    }

    fn admin_listen(&mut self, admin: &FileAdmin) -> Option<SocketAddr> {
        if !admin.enabled {
            return None;
        }
        match admin.listen.parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.error(
                    "admin.listen",
                    format!("`{}` is not an IP:port socket address", admin.listen),
                );
                None
            }
        }
    }

    fn rate_limit(&mut self, r: &FileRateLimit) -> RateLimitConfig {
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
        RateLimitConfig {
            backend: r.backend,
            max_keys: r.max_keys,
            redis_url: r.redis_url.clone(),
            redis_timeout: r.redis_timeout,
            on_redis_error: r.on_redis_error,
        }
    }

    fn limits(&mut self, l: &FileLimits) -> Limits {
        if l.max_connections == 0 {
            self.error("limits.max_connections", "must be at least 1");
        }
        if l.max_connection_age < std::time::Duration::from_secs(1) {
            self.error("limits.max_connection_age", "must be at least 1s");
        }
        if l.max_header_bytes < 1024 {
            self.error("limits.max_header_bytes", "must be at least 1024");
        }
        Limits {
            handshake_timeout: l.handshake_timeout,
            header_read_timeout: l.header_read_timeout,
            idle_timeout: l.idle_timeout,
            drain_timeout: l.drain_timeout,
            max_connections: l.max_connections,
            max_header_bytes: l.max_header_bytes,
            max_headers: l.max_headers,
            max_body_bytes: l.max_body_bytes,
            h2_max_concurrent_streams: l.h2_max_concurrent_streams,
            max_connection_age: l.max_connection_age,
            max_connections_per_ip: l.max_connections_per_ip,
        }
    }

    /// Each domain that was read, validated; a host served twice is an error.
    fn domains(&mut self, domains: Vec<Option<FileDomain>>) -> Vec<Arc<DomainConfig>> {
        if domains.is_empty() {
            self.error("domain", "at least one [[domain]] is required");
        }
        let mut hosts = HashSet::new();
        let mut out = Vec::new();
        for (i, d) in domains.into_iter().enumerate() {
            let Some(d) = d else { continue };
            let key = format!("domain[{i}]");
            let name = d.name.to_ascii_lowercase();
            let alias = d.mtls_alias.then(|| format!("mtls.{name}"));
            for host in std::iter::once(name).chain(alias) {
                if !hosts.insert(host.clone()) {
                    self.error(
                        format!("{key}.name"),
                        format!("host `{host}` is served by more than one domain"),
                    );
                }
            }
            if let Some(domain) = self.domain(&key, d) {
                out.push(Arc::new(domain));
            }
        }
        out
    }

    /// Every file read, the configuration itself included, once each.
    fn watched_files(&mut self) -> Vec<PathBuf> {
        let mut files = std::mem::take(&mut self.files);
        files.push(self.path.clone());
        files.sort();
        files.dedup();
        files
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
    fn missing_domain_is_an_error() {
        let err = load_str(Path::new("gw.toml"), "listen = [\"127.0.0.1:0\"]\n").unwrap_err();
        assert_eq!(err.0[0].key, "domain");
    }
}
