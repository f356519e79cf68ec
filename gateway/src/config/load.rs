//! `FileConfig` -> `Config`: reads every referenced file and reports each problem with its key.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use http::HeaderValue;
use mtls_policies::{IdentityHeaders, RouteList, DEFAULT_ALIAS_ROUTES};
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, TrustAnchor};

use super::file::{FileConfig, FileDomain, FileUpstream};
use super::{
    ApiKey, Config, ConfigError, ConfigErrors, DomainConfig, Limits, MtlsConfig, UpstreamConfig,
};
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

struct Loader {
    path: PathBuf,
    base: PathBuf,
    errors: Vec<ConfigError>,
    warnings: Vec<String>,
    files: Vec<PathBuf>,
    /// Ports of the HTTPS listeners: a page served on one is the domain's own origin.
    listen_ports: Vec<u16>,
}

impl Loader {
    fn error(&mut self, key: impl Into<String>, problem: impl Into<String>) {
        self.errors.push(ConfigError {
            file: self.path.clone(),
            key: key.into(),
            problem: problem.into(),
        });
    }

    /// The path of a referenced file, remembered for the reload watcher.
    fn resolve(&mut self, p: &str) -> PathBuf {
        let path = self.base.join(p);
        self.files.push(path.clone());
        path
    }

    /// Reads a small text file (registry, deny list) referenced at `key`.
    fn read_text(&mut self, key: &str, file: &str) -> Option<(String, PathBuf)> {
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
        let mk = format!("{key}.mtls");
        let mut client_cas = Vec::new();
        let mut ca_depths = Vec::new();
        for (i, ca) in d.mtls.client_ca.iter().enumerate() {
            let anchors = self.anchors(&format!("{mk}.client_ca[{i}]"), ca.file());
            ca_depths.extend(std::iter::repeat_n(ca.revocation(), anchors.len()));
            client_cas.extend(anchors);
        }
        let mut crls = Vec::new();
        for (i, f) in d.mtls.crl.iter().enumerate() {
            crls.extend(self.crls(&format!("{mk}.crl[{i}]"), f, d.mtls.stale_crl));
        }
        let registry = d.mtls.registry.as_deref().and_then(|f| {
            let (text, path) = self.read_text(&format!("{mk}.registry"), f)?;
            let dir = path.parent().map(Path::to_owned).unwrap_or_default();
            match super::registry::load_registry(&text, &dir) {
                Ok(r) => Some(r),
                Err(problems) => {
                    for p in problems {
                        self.error(
                            format!("{mk}.registry"),
                            format!("{}: {}: {}", path.display(), p.key, p.problem),
                        );
                    }
                    None
                }
            }
        });
        if d.mtls.edge_policy == super::EdgePolicy::Registered && d.mtls.registry.is_none() {
            self.error(
                format!("{mk}.edge_policy"),
                "`registered` needs a `registry` file",
            );
        }
        let deny = match d.mtls.deny_list.as_deref() {
            None => Some(super::registry::DenyList::default()),
            Some(f) => self
                .read_text(&format!("{mk}.deny_list"), f)
                .and_then(
                    |(text, path)| match super::registry::load_deny_list(&text) {
                        Ok(d) => Some(d),
                        Err(problems) => {
                            for p in problems {
                                self.error(
                                    format!("{mk}.deny_list"),
                                    format!("{}: {}: {}", path.display(), p.key, p.problem),
                                );
                            }
                            None
                        }
                    },
                ),
        };
        if alias.is_some() && d.mtls.client_ca.is_empty() {
            self.warnings.push(format!(
                "{}: {mk}.client_ca: no client CA configured: every client certificate on mtls.{name} will be FAILED",
                self.path.display()
            ));
        }
        let rate_rules = self.rate_rules(&format!("{key}.rate_limit"), &d.rate_limits);
        let browser = self.browser(key, &name, d.browser.as_ref(), &d.apps);
        let routes = match &d.mtls.routes {
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
            mtls: MtlsConfig {
                client_cas,
                ca_depths,
                crls,
                stale_crl: d.mtls.stale_crl,
                revoked: d.mtls.revoked,
                crl_missing: d.mtls.crl_missing,
                registry,
                edge_policy: d.mtls.edge_policy,
                deny: deny?,
                self_signed: d.mtls.self_signed,
                no_certificate: d.mtls.no_certificate,
                route_labels: routes
                    .as_ref()
                    .map(|r| crate::metrics::intern(r.iter()))
                    .unwrap_or_default(),
                routes: routes?,
                advertise_ca_names: d.mtls.advertise_ca_names,
            },
        })
    }

    fn read_certs(&mut self, key: &str, file: &str) -> Option<Vec<CertificateDer<'static>>> {
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

    fn origin_set(&mut self, key: &str, entries: &[String]) -> mtls_policies::OriginSet {
        match mtls_policies::OriginSet::parse(entries) {
            Ok(set) => set,
            Err(e) => {
                self.error(key, e.to_string());
                mtls_policies::OriginSet::new()
            }
        }
    }

    fn app_settings(
        &mut self,
        key: &str,
        s: &super::file::FileAppSettings,
    ) -> mtls_policies::AppSettings {
        mtls_policies::AppSettings {
            allowed_origins: self.origin_set(&format!("{key}.allowed_origins"), &s.allowed_origins),
            allowed_web_origins: self.origin_set(
                &format!("{key}.allowed_web_origins"),
                &s.allowed_web_origins,
            ),
            cross_origin_authentication: s.cross_origin_authentication,
        }
    }

    /// `Some(None)`: no browser policy configured; `None`: errors were recorded.
    fn browser(
        &mut self,
        key: &str,
        domain: &str,
        browser: Option<&super::file::FileBrowser>,
        apps: &[super::file::FileApp],
    ) -> Option<Option<super::BrowserConfig>> {
        if browser.is_none() && apps.is_empty() {
            return Some(None);
        }
        let errors_before = self.errors.len();
        let default = super::file::FileBrowser::default();
        let b = browser.unwrap_or(&default);
        let bk = format!("{key}.browser");
        let mut list = Vec::new();
        for (i, a) in apps.iter().enumerate() {
            let settings = self.app_settings(&format!("{key}.app[{i}]"), &a.settings());
            list.push(mtls_policies::App {
                client_id: a.client_id.clone(),
                settings,
            });
        }
        let unknown = match &b.default_app {
            None => mtls_policies::UnknownClientPolicy::Deny,
            Some(s) => mtls_policies::UnknownClientPolicy::UseApp(
                self.app_settings(&format!("{bk}.default_app"), s),
            ),
        };
        use mtls_policies::{DEFAULT_ALLOW_HEADERS, DEFAULT_ALLOW_METHODS, DEFAULT_MAX_AGE};
        let cors = mtls_policies::CorsConfig::new(
            b.cors_methods
                .clone()
                .unwrap_or_else(|| DEFAULT_ALLOW_METHODS.map(str::to_owned).to_vec()),
            b.cors_headers
                .clone()
                .unwrap_or_else(|| DEFAULT_ALLOW_HEADERS.map(str::to_owned).to_vec()),
            b.cors_max_age.unwrap_or(DEFAULT_MAX_AGE),
        );
        let cors = match cors {
            Ok(c) => Some(c),
            Err(e) => {
                self.error(format!("{bk}.cors_methods"), e.to_string());
                None
            }
        };
        let routes = match &b.cors_routes {
            Some(r) => RouteList::new(r),
            None => RouteList::new(super::DEFAULT_CORS_ROUTES),
        };
        let routes = match routes {
            Ok(r) => Some(r),
            Err(e) => {
                self.error(format!("{bk}.cors_routes"), e.to_string());
                None
            }
        };
        if self.errors.len() > errors_before {
            return None;
        }
        // The provider's own pages (the domain and its alias, on any port) are not cross-origin.
        let own = [
            format!("https://{domain}"),
            format!("https://mtls.{domain}"),
        ];
        let mut own_set = self.origin_set(&format!("{key}.name"), &own);
        for port in self.listen_ports.clone() {
            let with_port = [
                format!("https://{domain}:{port}"),
                format!("https://mtls.{domain}:{port}"),
            ];
            own_set.extend_from(&self.origin_set(&format!("{key}.name"), &with_port));
        }
        match mtls_policies::BrowserPolicy::new(list, unknown, cors?) {
            Ok(policy) => Some(Some(super::BrowserConfig {
                policy: policy.with_own_origins(own_set),
                cors_routes: routes?,
            })),
            Err(e) => {
                self.error(format!("{key}.app"), e.to_string());
                None
            }
        }
    }

    fn rate_rules(
        &mut self,
        key: &str,
        rules: &[super::file::FileRateRule],
    ) -> Option<mtls_policies::RateRules> {
        use super::file::{FileKeyPart, FileRateKey, RateHosts};
        use mtls_policies::{HostFilter, KeyPart, Quota, RateRule, RuleKey};
        let part = |p: FileKeyPart| match p {
            FileKeyPart::ClientIp => KeyPart::ClientIp,
            FileKeyPart::CertThumbprint => KeyPart::CertThumbprint,
            FileKeyPart::ClientId => KeyPart::ClientId,
        };
        let mut out = Vec::new();
        let errors_before = self.errors.len();
        for (i, r) in rules.iter().enumerate() {
            let k = format!("{key}[{i}]");
            let quota = match Quota::new(r.rate, r.per, r.burst.unwrap_or(r.rate)) {
                Ok(q) => q,
                Err(e) => {
                    self.error(format!("{k}.rate"), e.to_string());
                    continue;
                }
            };
            let rule_key = match &r.key {
                FileRateKey::One(FileKeyPart::ClientIp) => RuleKey::ClientIp,
                FileRateKey::One(FileKeyPart::CertThumbprint) => RuleKey::CertThumbprint,
                FileRateKey::One(FileKeyPart::ClientId) => RuleKey::ClientId,
                FileRateKey::Combination(parts) => {
                    RuleKey::Combination(parts.iter().map(|p| part(*p)).collect())
                }
            };
            let hosts = match r.hosts {
                RateHosts::Domain => HostFilter::Domain,
                RateHosts::Alias => HostFilter::Alias,
                RateHosts::Both => HostFilter::Both,
            };
            match RateRule::new(&r.name, &r.routes, hosts, rule_key, quota) {
                Ok(rule) => out.push(rule),
                Err(e) => self.error(k, e.to_string()),
            }
        }
        if self.errors.len() > errors_before {
            return None;
        }
        match mtls_policies::RateRules::new(out) {
            Ok(rules) => {
                for (host, route) in rules.routes_without_ip_rule() {
                    self.warnings.push(format!(
                        "{}: {key}: {route} on the {host:?} host has no client_ip rule: requests without the rule's key (no certificate, no client_id) are not limited there",
                        self.path.display()
                    ));
                }
                Some(rules)
            }
            Err(e) => {
                self.error(key, e.to_string());
                None
            }
        }
    }

    fn crls(&mut self, key: &str, file: &str, stale: super::StaleCrlPolicy) -> Vec<super::Crl> {
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

    fn anchors(&mut self, key: &str, file: &str) -> Vec<TrustAnchor<'static>> {
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

    fn api_key(&mut self, key: &str, file: Option<&str>, env: Option<&str>) -> Option<ApiKey> {
        let secret = match (file, env) {
            (Some(_), Some(_)) => {
                self.error(
                    format!("{key}.api_key_file"),
                    "set either api_key_file or api_key_env, not both",
                );
                return None;
            }
            (None, None) => {
                self.error(
                    format!("{key}.api_key_file"),
                    "the cname-api-key is required: set api_key_file or api_key_env",
                );
                return None;
            }
            (Some(f), None) => {
                let path = self.resolve(f);
                match std::fs::read_to_string(&path) {
                    Ok(s) => s.trim().to_owned(),
                    Err(e) => {
                        self.error(
                            format!("{key}.api_key_file"),
                            format!("{}: cannot read: {e}", path.display()),
                        );
                        return None;
                    }
                }
            }
            (None, Some(var)) => match std::env::var(var) {
                Ok(s) => s.trim().to_owned(),
                Err(_) => {
                    self.error(
                        format!("{key}.api_key_env"),
                        format!("environment variable `{var}` is not set or not UTF-8"),
                    );
                    return None;
                }
            },
        };
        let which = if file.is_some() {
            "api_key_file"
        } else {
            "api_key_env"
        };
        if secret.is_empty() {
            self.error(format!("{key}.{which}"), "the cname-api-key is empty");
            return None;
        }
        // The problem text never repeats the secret.
        ApiKey::new(&secret).or_else(|| {
            self.error(
                format!("{key}.{which}"),
                "the cname-api-key contains characters not allowed in a header",
            );
            None
        })
    }

    fn upstream(&mut self, key: &str, u: &FileUpstream) -> Option<UpstreamConfig> {
        let errors_before = self.errors.len();
        let host = u.host.trim_end_matches('.').to_ascii_lowercase();
        if !valid_hostname(&host) && host.parse::<std::net::IpAddr>().is_err() {
            self.error(
                format!("{key}.host"),
                format!("`{}` is not a hostname", u.host),
            );
        }
        let header = u.host_header.clone().unwrap_or_else(|| host.clone());
        let host_header = HeaderValue::from_str(&header).ok();
        if host_header.is_none() {
            self.error(
                format!("{key}.host_header"),
                format!("`{header}` is not a valid Host header value"),
            );
        }
        let connect_to = u
            .connect_to
            .as_deref()
            .and_then(|a| match a.parse::<SocketAddr>() {
                Ok(a) => Some(a),
                Err(_) => {
                    self.error(
                        format!("{key}.connect_to"),
                        format!("`{a}` is not an IP:port socket address"),
                    );
                    None
                }
            });
        let roots = match &u.ca_file {
            None => None,
            Some(f) => {
                let certs = self
                    .read_certs(&format!("{key}.ca_file"), f)
                    .unwrap_or_default();
                let mut store = RootCertStore::empty();
                let (_, bad) = store.add_parsable_certificates(certs);
                if bad > 0 {
                    self.error(
                        format!("{key}.ca_file"),
                        format!("{f}: {bad} certificate(s) could not be used as trust anchors"),
                    );
                }
                Some(Arc::new(store))
            }
        };
        if u.connect_timeout.is_zero() {
            self.error(
                format!("{key}.connect_timeout"),
                "must be greater than zero",
            );
        }
        if u.response_timeout.is_zero() {
            self.error(
                format!("{key}.response_timeout"),
                "must be greater than zero",
            );
        }
        if self.errors.len() > errors_before {
            return None;
        }
        Some(UpstreamConfig {
            host,
            port: u.port,
            host_header: host_header?,
            connect_to,
            roots,
            connect_timeout: u.connect_timeout,
            response_timeout: u.response_timeout,
        })
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

fn pem_problem(e: &rustls_pki_types::pem::Error) -> String {
    match e {
        rustls_pki_types::pem::Error::Io(io) => format!("cannot read: {io}"),
        rustls_pki_types::pem::Error::NoItemsFound => {
            "no PEM item of the expected kind found".to_owned()
        }
        other => format!("invalid PEM: {other:?}"),
    }
}

fn valid_hostname(h: &str) -> bool {
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
