//! Configuration: the operator's TOML file ([`file`]) checked and loaded into a [`Config`].
//!
//! Every file the gateway would need at start (certificates, keys, CA bundles, the API key) is read
//! and checked here, so `mtls-gateway check` and `mtls-gateway run` agree on what is valid, and a
//! reload can build a complete new state before anything is swapped in.
//!
//! Reading goes in two steps: `read` turns the TOML text into the [`file`] structs section by
//! section, naming the key of every value it cannot read, and [`load`] validates what was read
//! and loads the files it names. Both report every problem they find, so an operator fixes a
//! file in one round.

mod choice;
mod client_ca;
mod duration;
pub mod file;
mod file_enums;
mod key_path;
mod load;
mod load_cert;
mod load_policies;
mod load_trust;
mod load_upstream;
mod message;
mod rate_key;
mod read;
pub mod registry;

#[cfg(test)]
mod error_tests;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use mtls_policies::{IdentityHeaders, RouteList};
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use rustls_pki_types::TrustAnchor;

pub use file::{
    CrlMissingPolicy, EdgePolicy, NoCertificatePolicy, RateBackend, RedisFailMode, RevocationDepth,
    RevokedPolicy, SelfSignedPolicy, StaleCrlPolicy, TlsPolicy,
};
pub use load::{load, load_str};

// Defaults: the value of every key the file leaves out, in one place. The `[[domain]]` policy
// choices (`tls_policy`, `stale_crl`, ...) default to the variant marked `#[default]` in
// `file_enums.rs`, next to the documentation of each choice.

/// `listen`: the HTTPS listener.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8443";
/// `[admin] listen`: `/metrics`, `/healthz`, `/readyz`, on loopback only.
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:9901";
/// `[admin] enabled`.
pub const DEFAULT_ADMIN_ENABLED: bool = true;
/// `[reload] watch`.
pub const DEFAULT_RELOAD_WATCH: bool = true;
/// `[reload] debounce`.
pub const DEFAULT_RELOAD_DEBOUNCE: Duration = Duration::from_millis(200);
/// `[limits] handshake_timeout`.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// `[limits] header_read_timeout`.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// `[limits] idle_timeout`.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// `[limits] drain_timeout`.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// `[limits] max_connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// `[limits] max_header_bytes`.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;
/// `[limits] max_headers`.
pub const DEFAULT_MAX_HEADERS: usize = 100;
/// `[limits] max_body_bytes`.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// `[limits] max_connection_age`.
pub const DEFAULT_MAX_CONNECTION_AGE: Duration = Duration::from_secs(600);
/// `[limits] max_connections_per_ip` (0: off; behind a balancer without PROXY protocol every
/// connection comes from the balancer's address).
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 0;
/// `[limits] h2_max_concurrent_streams`.
pub const DEFAULT_H2_MAX_STREAMS: u32 = 100;
/// `[rate_limit] max_keys`.
pub const DEFAULT_MAX_KEYS: usize = 100_000;
/// `[rate_limit] redis_timeout`.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(50);
/// `[[domain]] mtls_alias`.
pub const DEFAULT_MTLS_ALIAS: bool = true;
/// `[[domain]] client_ip_header`.
pub const DEFAULT_CLIENT_IP_HEADER: &str = mtls_policies::DEFAULT_CLIENT_IP_HEADER;
/// `[domain.upstream] port`.
pub const DEFAULT_UPSTREAM_PORT: u16 = 443;
/// `[domain.upstream] connect_timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// `[domain.upstream] response_timeout`.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
/// `[domain.mtls] advertise_ca_names`.
pub const DEFAULT_ADVERTISE_CA_NAMES: bool = true;
/// `[domain.mtls] routes`: the paths forwarded on the alias.
pub const DEFAULT_ALIAS_ROUTES: [&str; 3] = mtls_policies::DEFAULT_ALIAS_ROUTES;
/// `[domain.browser] cors_routes`: paths where a browser call carries `Origin` and is checked.
pub const DEFAULT_CORS_ROUTES: [&str; 5] = [
    "/oauth/token",
    "/userinfo",
    "/oauth/revoke",
    "/oauth/par",
    "/co/authenticate",
];
/// `[domain.browser] cors_methods`.
pub const DEFAULT_CORS_METHODS: [&str; 2] = mtls_policies::DEFAULT_ALLOW_METHODS;
/// `[domain.browser] cors_headers`.
pub const DEFAULT_CORS_HEADERS: [&str; 4] = mtls_policies::DEFAULT_ALLOW_HEADERS;
/// `[domain.browser] cors_max_age`.
pub const DEFAULT_CORS_MAX_AGE: Duration = mtls_policies::DEFAULT_MAX_AGE;
/// A server certificate expiring sooner than this is a warning at load.
pub const DEFAULT_EXPIRY_WARNING: Duration = Duration::from_secs(30 * 24 * 3600);

/// Exit code for an invalid configuration (EX_USAGE from sysexits.h).
pub const EXIT_CONFIG: i32 = 64;

/// A validated configuration with every referenced file loaded.
#[derive(Debug)]
pub struct Config {
    pub path: PathBuf,
    pub listen: Vec<SocketAddr>,
    /// `None` when the admin listener is disabled.
    pub admin_listen: Option<SocketAddr>,
    pub limits: Limits,
    pub rate_limit: RateLimitConfig,
    /// `Some(debounce)` when file watching is on.
    pub watch: Option<Duration>,
    pub domains: Vec<Arc<DomainConfig>>,
    /// Things that are valid but deserve attention (certificates expiring soon).
    pub warnings: Vec<String>,
    /// Every file the configuration read, the configuration itself included: what a watcher
    /// must watch for a live reload.
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Limits {
    pub handshake_timeout: Duration,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub drain_timeout: Duration,
    pub max_connections: usize,
    pub max_header_bytes: usize,
    pub max_headers: usize,
    pub max_body_bytes: usize,
    pub h2_max_concurrent_streams: u32,
    pub max_connection_age: Duration,
    pub max_connections_per_ip: usize,
}

/// Backend settings shared by every domain's rate-limit rules. Applied at start (a reload keeps
/// the running backend, so counters survive it).
#[derive(Debug, Clone)]
pub struct RateLimitConfig {
    pub backend: RateBackend,
    pub max_keys: usize,
    pub redis_url: Option<String>,
    pub redis_timeout: Duration,
    pub on_redis_error: RedisFailMode,
}

pub struct DomainConfig {
    /// Lower-case custom domain, e.g. `auth.example.com`.
    pub name: String,
    /// `mtls.<name>` when the alias is served.
    pub alias: Option<String>,
    pub certified_key: Arc<CertifiedKey>,
    /// Unix seconds at which the server certificate expires.
    pub cert_not_after: i64,
    pub tls_policy: TlsPolicy,
    pub identity_headers: IdentityHeaders,
    pub api_key: ApiKey,
    pub upstream: UpstreamConfig,
    pub mtls: MtlsConfig,
    pub rate_rules: mtls_policies::RateRules,
    /// Each rule's name, interned for metric labels (same order as `rate_rules`).
    pub rate_rule_labels: Vec<&'static str>,
    /// Whether any rule keys on `client_id` (the body must then be read on its routes).
    pub rate_needs_client_id: bool,
    /// `None`: no browser policy configured, nothing is checked.
    pub browser: Option<BrowserConfig>,
}

pub struct BrowserConfig {
    pub policy: mtls_policies::BrowserPolicy,
    /// Paths where an `Origin` is checked (exact match).
    pub cors_routes: RouteList,
}

impl fmt::Debug for DomainConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DomainConfig")
            .field("name", &self.name)
            .field("alias", &self.alias)
            .field("tls_policy", &self.tls_policy)
            .field("api_key", &self.api_key)
            .field("upstream", &self.upstream)
            .finish_non_exhaustive()
    }
}

/// The `cname-api-key` secret. Its `Debug` never shows the value and the header value is marked
/// sensitive, so HTTP/2 HPACK never indexes it.
#[derive(Clone)]
pub struct ApiKey(HeaderValue);

impl ApiKey {
    pub fn new(secret: &str) -> Option<ApiKey> {
        let mut value = HeaderValue::from_str(secret).ok()?;
        value.set_sensitive(true);
        Some(ApiKey(value))
    }

    pub fn header_value(&self) -> &HeaderValue {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

#[derive(Clone)]
pub struct UpstreamConfig {
    pub host: String,
    pub port: u16,
    pub host_header: HeaderValue,
    pub connect_to: Option<SocketAddr>,
    /// `None`: the system's root certificates.
    pub roots: Option<Arc<RootCertStore>>,
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
}

impl fmt::Debug for UpstreamConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("connect_to", &self.connect_to)
            .field("custom_roots", &self.roots.is_some())
            .finish_non_exhaustive()
    }
}

pub struct MtlsConfig {
    pub client_cas: Vec<TrustAnchor<'static>>,
    /// The revocation depth for each anchor in `client_cas` (same order).
    pub ca_depths: Vec<RevocationDepth>,
    pub crls: Vec<Crl>,
    pub stale_crl: StaleCrlPolicy,
    pub revoked: RevokedPolicy,
    pub crl_missing: CrlMissingPolicy,
    pub registry: Option<registry::Registry>,
    pub edge_policy: EdgePolicy,
    pub deny: registry::DenyList,
    pub self_signed: SelfSignedPolicy,
    pub no_certificate: NoCertificatePolicy,
    pub routes: RouteList,
    /// The routes as interned metric label values.
    pub route_labels: Vec<&'static str>,
    pub advertise_ca_names: bool,
}

/// A loaded certificate revocation list.
pub struct Crl {
    pub list: webpki::CertRevocationList<'static>,
    /// RFC 4514 issuer name, for logs and the nextUpdate metric.
    pub issuer: String,
    /// Unix seconds; `None` when the CRL has no nextUpdate.
    pub next_update: Option<i64>,
}

/// One problem found in a configuration: the file, the key (`domain[0].upstream.ca_file`), where
/// in the file it is written when it is, and what was wrong. Secrets never appear in a problem
/// text.
///
/// Shown as `FILE: KEY (line L): PROBLEM`, and a problem with no key (a TOML syntax error) as
/// `FILE: line L, column C: PROBLEM`. A key that is not written (a required key left out) is
/// placed at the table that should hold it; without either, there is no position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub key: String,
    pub problem: String,
    pub position: Option<Position>,
}

/// A place in the configuration text, both counted from 1 (the column in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file.display())?;
        match (self.key.is_empty(), self.position) {
            (true, None) => {}
            (true, Some(p)) => write!(f, "line {}, column {}: ", p.line, p.column)?,
            (false, None) => write!(f, "{}: ", self.key)?,
            (false, Some(p)) => write!(f, "{} (line {}): ", self.key, p.line)?,
        }
        f.write_str(&self.problem)
    }
}

/// Every problem found, so an operator fixes them in one round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
