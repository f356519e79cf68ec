//! The configuration file exactly as written by the operator (serde, `deny_unknown_fields`).
//!
//! Nothing here is trusted yet: `config::read` reads the text into these structs and
//! [`super::load`] turns them into a checked [`super::Config`], naming the file and key of every
//! problem either finds. Defaults are the `DEFAULT_*` constants of [`super`].

use std::time::Duration;

use serde::Deserialize;

pub use super::client_ca::FileClientCa;
pub use super::file_enums::{
    CrlMissingPolicy, EdgePolicy, NoCertificatePolicy, RateBackend, RateHosts, RedisFailMode,
    RevocationDepth, RevokedPolicy, SelfSignedPolicy, StaleCrlPolicy, TlsPolicy,
};
pub use super::rate_key::{FileKeyPart, FileRateKey};

use super::duration;
use super::{
    DEFAULT_ADMIN_ENABLED, DEFAULT_ADMIN_LISTEN, DEFAULT_ADVERTISE_CA_NAMES,
    DEFAULT_CLIENT_IP_HEADER, DEFAULT_CONNECT_TIMEOUT, DEFAULT_DRAIN_TIMEOUT,
    DEFAULT_H2_MAX_STREAMS, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT, DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_CONNECTIONS_PER_IP, DEFAULT_MAX_CONNECTION_AGE, DEFAULT_MAX_HEADERS,
    DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_KEYS, DEFAULT_MTLS_ALIAS, DEFAULT_REDIS_TIMEOUT,
    DEFAULT_RELOAD_DEBOUNCE, DEFAULT_RELOAD_WATCH, DEFAULT_RESPONSE_TIMEOUT, DEFAULT_UPSTREAM_PORT,
};

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    /// Addresses the HTTPS listener binds.
    pub listen: Vec<String>,
    pub admin: FileAdmin,
    pub limits: FileLimits,
    pub reload: FileReload,
    pub rate_limit: FileRateLimit,
    #[serde(rename = "domain")]
    pub domains: Vec<FileDomain>,
}

impl Default for FileConfig {
    fn default() -> Self {
        FileConfig {
            listen: vec![DEFAULT_LISTEN.to_owned()],
            admin: FileAdmin::default(),
            limits: FileLimits::default(),
            reload: FileReload::default(),
            rate_limit: FileRateLimit::default(),
            domains: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileAdmin {
    /// Address of the admin listener (`/metrics`, `/healthz`, `/readyz`); plain HTTP, keep it private.
    pub listen: String,
    /// Set to false to run without the admin listener.
    pub enabled: bool,
}

impl Default for FileAdmin {
    fn default() -> Self {
        FileAdmin {
            listen: DEFAULT_ADMIN_LISTEN.to_owned(),
            enabled: DEFAULT_ADMIN_ENABLED,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileReload {
    /// Reload when any file the configuration uses changes (SIGHUP always works).
    pub watch: bool,
    /// Quiet period after the last change before reloading, so a multi-file rotation is one reload.
    #[serde(deserialize_with = "duration::required")]
    pub debounce: Duration,
}

impl Default for FileReload {
    fn default() -> Self {
        FileReload {
            watch: DEFAULT_RELOAD_WATCH,
            debounce: DEFAULT_RELOAD_DEBOUNCE,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileLimits {
    #[serde(deserialize_with = "duration::required")]
    pub handshake_timeout: Duration,
    #[serde(deserialize_with = "duration::required")]
    pub header_read_timeout: Duration,
    #[serde(deserialize_with = "duration::required")]
    pub idle_timeout: Duration,
    #[serde(deserialize_with = "duration::required")]
    pub drain_timeout: Duration,
    pub max_connections: usize,
    pub max_header_bytes: usize,
    /// HTTP/1.1 request header count; more is answered 431.
    pub max_headers: usize,
    /// Largest request body the edge reads when a decision needs it (a `client_id`, a
    /// `/co/authenticate` check); larger is 413. Bodies are forwarded unchanged either way.
    pub max_body_bytes: usize,
    pub h2_max_concurrent_streams: u32,
    /// A connection older than this is closed gracefully (HTTP/2 GOAWAY, HTTP/1.1
    /// `Connection: close`) after its requests in flight, so no verdict lives forever.
    #[serde(deserialize_with = "duration::required")]
    pub max_connection_age: Duration,
    /// Open connections per client address; 0: no per-address limit.
    pub max_connections_per_ip: usize,
}

impl Default for FileLimits {
    fn default() -> Self {
        FileLimits {
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_headers: DEFAULT_MAX_HEADERS,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            h2_max_concurrent_streams: DEFAULT_H2_MAX_STREAMS,
            max_connection_age: DEFAULT_MAX_CONNECTION_AGE,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDomain {
    /// The custom domain, e.g. `auth.example.com`.
    pub name: String,
    /// PEM: the server certificate followed by its intermediates.
    pub cert: String,
    /// PEM: the server private key (PKCS#8, PKCS#1 or SEC1).
    pub key: String,
    #[serde(default)]
    pub tls_policy: TlsPolicy,
    /// Serve `mtls.<name>` with client-certificate authentication.
    #[serde(default = "d_mtls_alias")]
    pub mtls_alias: bool,
    #[serde(default = "d_client_ip_header")]
    pub client_ip_header: String,
    /// File holding the `cname-api-key` secret (surrounding whitespace is trimmed).
    pub api_key_file: Option<String>,
    /// Environment variable holding the `cname-api-key` secret.
    pub api_key_env: Option<String>,
    pub upstream: FileUpstream,
    #[serde(default)]
    pub mtls: FileMtls,
    /// Rate-limit rules for this domain's routes.
    #[serde(default, rename = "rate_limit")]
    pub rate_limits: Vec<FileRateRule>,
    /// Browser-facing policy: CORS and cross-origin authentication. Enforced when this table or
    /// any `[[domain.app]]` is present.
    pub browser: Option<FileBrowser>,
    /// The provider's applications (clients) and their allowed origins.
    #[serde(default, rename = "app")]
    pub apps: Vec<FileApp>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FileBrowser {
    /// Paths where a request carrying `Origin` is checked against the allowed origins.
    pub cors_routes: Option<Vec<String>>,
    /// Methods announced in preflight answers.
    pub cors_methods: Option<Vec<String>>,
    /// Request headers a preflight may ask for.
    pub cors_headers: Option<Vec<String>>,
    #[serde(default, deserialize_with = "duration::optional")]
    pub cors_max_age: Option<Duration>,
    /// Settings for client ids that match no `[[domain.app]]`; absent: unknown clients are refused.
    pub default_app: Option<FileAppSettings>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FileAppSettings {
    /// Origins allowed to call the token, userinfo and other CORS routes (Allowed Origins (CORS)).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Origins allowed to use cross-origin authentication (Allowed Web Origins).
    #[serde(default)]
    pub allowed_web_origins: Vec<String>,
    #[serde(default)]
    pub cross_origin_authentication: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileApp {
    /// The provider's client id.
    pub client_id: String,
    #[serde(flatten)]
    pub settings: FileAppSettings,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRateRule {
    /// Name used in metrics and logs (bounded: it comes from configuration).
    pub name: String,
    /// Exact paths the rule applies to.
    pub routes: Vec<String>,
    /// `domain`, `alias` or `both`.
    #[serde(default)]
    pub hosts: RateHosts,
    /// `client_ip`, `cert_thumbprint`, `client_id`, or a list of them (a combination).
    pub key: FileRateKey,
    /// Requests allowed per `per`.
    pub rate: u32,
    #[serde(deserialize_with = "duration::required")]
    pub per: Duration,
    /// Requests allowed at once on top of the steady rate; defaults to `rate`.
    pub burst: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileRateLimit {
    /// `local` (per replica) or `redis` (one limit across replicas).
    pub backend: RateBackend,
    /// Keys the local limiter tracks at most (memory is bounded by this).
    pub max_keys: usize,
    /// `redis://host:port/db` (or `rediss://`); required with `backend = "redis"`.
    pub redis_url: Option<String>,
    /// Longest wait for a Redis decision before the fail mode applies.
    #[serde(deserialize_with = "duration::required")]
    pub redis_timeout: Duration,
    /// When Redis is slow or down: `fail_open` (the local limiter decides) or `fail_closed` (429).
    pub on_redis_error: RedisFailMode,
}

impl Default for FileRateLimit {
    fn default() -> Self {
        FileRateLimit {
            backend: RateBackend::default(),
            max_keys: DEFAULT_MAX_KEYS,
            redis_url: None,
            redis_timeout: DEFAULT_REDIS_TIMEOUT,
            on_redis_error: RedisFailMode::default(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUpstream {
    /// The identity provider's edge hostname for this domain (TLS server name and default Host).
    pub host: String,
    #[serde(default = "d_port")]
    pub port: u16,
    /// Host header sent upstream; defaults to `host`.
    pub host_header: Option<String>,
    /// Connect to this socket address instead of resolving `host` (TLS still verifies `host`).
    pub connect_to: Option<String>,
    /// PEM bundle of CAs trusted for the upstream; the system roots when absent.
    pub ca_file: Option<String>,
    #[serde(default = "d_connect", deserialize_with = "duration::required")]
    pub connect_timeout: Duration,
    #[serde(default = "d_response", deserialize_with = "duration::required")]
    pub response_timeout: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileMtls {
    /// CAs that sign client certificates: a PEM file name, or a table with the revocation depth.
    pub client_ca: Vec<FileClientCa>,
    /// CRL files (PEM or DER) of the client CAs and their intermediates.
    pub crl: Vec<String>,
    pub stale_crl: StaleCrlPolicy,
    pub revoked: RevokedPolicy,
    pub crl_missing: CrlMissingPolicy,
    pub self_signed: SelfSignedPolicy,
    pub no_certificate: NoCertificatePolicy,
    /// Paths forwarded on the alias; everything else is 404.
    pub routes: Option<Vec<String>>,
    /// Send the client CAs' names in the CertificateRequest. Some clients (Go's crypto/tls) then
    /// withhold a self-signed certificate; turn off when self-signed clients are expected.
    pub advertise_ca_names: bool,
    /// Registered client credentials (TOML); see docs/operations.md.
    pub registry: Option<String>,
    pub edge_policy: EdgePolicy,
    /// Denied certificates (TOML): thumbprints and issuer + serial pairs.
    pub deny_list: Option<String>,
}

impl Default for FileMtls {
    fn default() -> Self {
        FileMtls {
            client_ca: Vec::new(),
            crl: Vec::new(),
            stale_crl: StaleCrlPolicy::default(),
            revoked: RevokedPolicy::default(),
            crl_missing: CrlMissingPolicy::default(),
            self_signed: SelfSignedPolicy::default(),
            no_certificate: NoCertificatePolicy::default(),
            routes: None,
            advertise_ca_names: DEFAULT_ADVERTISE_CA_NAMES,
            registry: None,
            edge_policy: EdgePolicy::default(),
            deny_list: None,
        }
    }
}

// Per-field defaults of the tables that also have required keys (the others default as a whole,
// from their `Default`).
fn d_mtls_alias() -> bool {
    DEFAULT_MTLS_ALIAS
}
fn d_client_ip_header() -> String {
    DEFAULT_CLIENT_IP_HEADER.to_owned()
}
fn d_port() -> u16 {
    DEFAULT_UPSTREAM_PORT
}
fn d_connect() -> Duration {
    DEFAULT_CONNECT_TIMEOUT
}
fn d_response() -> Duration {
    DEFAULT_RESPONSE_TIMEOUT
}
