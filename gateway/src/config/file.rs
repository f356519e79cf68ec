//! The configuration file exactly as written by the operator (serde, `deny_unknown_fields`).
//!
//! Nothing here is trusted yet: [`super::validate`] turns a [`FileConfig`] into a checked
//! [`super::Config`] and names the file and key of every problem it finds.

use std::time::Duration;

use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "0.0.0.0:8443";
pub const DEFAULT_RELOAD_DEBOUNCE: Duration = Duration::from_millis(200);
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:9901";
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_CLIENT_IP_HEADER: &str = "true-client-ip";
pub const DEFAULT_UPSTREAM_PORT: u16 = 443;
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;
pub const DEFAULT_MAX_HEADERS: usize = 100;
pub const DEFAULT_H2_MAX_STREAMS: u32 = 100;
pub const DEFAULT_EXPIRY_WARNING: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Addresses the HTTPS listener binds.
    #[serde(default = "default_listen")]
    pub listen: Vec<String>,
    #[serde(default)]
    pub admin: FileAdmin,
    #[serde(default)]
    pub limits: FileLimits,
    #[serde(default)]
    pub reload: FileReload,
    #[serde(default)]
    pub rate_limit: FileRateLimit,
    #[serde(default, rename = "domain")]
    pub domains: Vec<FileDomain>,
}

fn default_listen() -> Vec<String> {
    vec![DEFAULT_LISTEN.to_owned()]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAdmin {
    /// Address of the admin listener (`/metrics`, `/healthz`, `/readyz`); plain HTTP, keep it private.
    #[serde(default = "d_admin_listen")]
    pub listen: String,
    /// Set to false to run without the admin listener.
    #[serde(default = "d_true")]
    pub enabled: bool,
}

impl Default for FileAdmin {
    fn default() -> Self {
        FileAdmin {
            listen: d_admin_listen(),
            enabled: true,
        }
    }
}

fn d_admin_listen() -> String {
    DEFAULT_ADMIN_LISTEN.to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileReload {
    /// Reload when any file the configuration uses changes (SIGHUP always works).
    #[serde(default = "d_true")]
    pub watch: bool,
    /// Quiet period after the last change before reloading, so a multi-file rotation is one reload.
    #[serde(default = "d_debounce", with = "humantime_serde")]
    pub debounce: Duration,
}

impl Default for FileReload {
    fn default() -> Self {
        FileReload {
            watch: true,
            debounce: DEFAULT_RELOAD_DEBOUNCE,
        }
    }
}

fn d_debounce() -> Duration {
    DEFAULT_RELOAD_DEBOUNCE
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLimits {
    #[serde(default = "d_handshake", with = "humantime_serde")]
    pub handshake_timeout: Duration,
    #[serde(default = "d_header_read", with = "humantime_serde")]
    pub header_read_timeout: Duration,
    #[serde(default = "d_idle", with = "humantime_serde")]
    pub idle_timeout: Duration,
    #[serde(default = "d_drain", with = "humantime_serde")]
    pub drain_timeout: Duration,
    #[serde(default = "d_max_conns")]
    pub max_connections: usize,
    #[serde(default = "d_max_header_bytes")]
    pub max_header_bytes: usize,
    /// HTTP/1.1 request header count; more is answered 431.
    #[serde(default = "d_max_headers")]
    pub max_headers: usize,
    /// Largest request body the edge reads when a decision needs it (a `client_id`, a
    /// `/co/authenticate` check); larger is 413. Bodies are forwarded unchanged either way.
    #[serde(default = "d_max_body_bytes")]
    pub max_body_bytes: usize,
    #[serde(default = "d_h2_streams")]
    pub h2_max_concurrent_streams: u32,
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
            max_body_bytes: d_max_body_bytes(),
            h2_max_concurrent_streams: DEFAULT_H2_MAX_STREAMS,
        }
    }
}

fn d_handshake() -> Duration {
    DEFAULT_HANDSHAKE_TIMEOUT
}
fn d_header_read() -> Duration {
    DEFAULT_HEADER_READ_TIMEOUT
}
fn d_idle() -> Duration {
    DEFAULT_IDLE_TIMEOUT
}
fn d_drain() -> Duration {
    DEFAULT_DRAIN_TIMEOUT
}
fn d_max_conns() -> usize {
    DEFAULT_MAX_CONNECTIONS
}
fn d_max_header_bytes() -> usize {
    DEFAULT_MAX_HEADER_BYTES
}
fn d_max_headers() -> usize {
    DEFAULT_MAX_HEADERS
}
fn d_h2_streams() -> u32 {
    DEFAULT_H2_MAX_STREAMS
}
fn d_connect() -> Duration {
    DEFAULT_CONNECT_TIMEOUT
}
fn d_response() -> Duration {
    DEFAULT_RESPONSE_TIMEOUT
}
fn d_true() -> bool {
    true
}
fn d_client_ip_header() -> String {
    DEFAULT_CLIENT_IP_HEADER.to_owned()
}
fn d_port() -> u16 {
    DEFAULT_UPSTREAM_PORT
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
    #[serde(default = "d_true")]
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
    #[serde(default, with = "humantime_serde::option")]
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
    #[serde(with = "humantime_serde")]
    pub per: Duration,
    /// Requests allowed at once on top of the steady rate; defaults to `rate`.
    pub burst: Option<u32>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum RateHosts {
    Domain,
    Alias,
    #[default]
    Both,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FileKeyPart {
    ClientIp,
    CertThumbprint,
    ClientId,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum FileRateKey {
    One(FileKeyPart),
    Combination(Vec<FileKeyPart>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRateLimit {
    /// `local` (per replica) or `redis` (one limit across replicas).
    #[serde(default)]
    pub backend: RateBackend,
    /// Keys the local limiter tracks at most (memory is bounded by this).
    #[serde(default = "d_max_keys")]
    pub max_keys: usize,
    /// `redis://host:port/db` (or `rediss://`); required with `backend = "redis"`.
    pub redis_url: Option<String>,
    /// Longest wait for a Redis decision before the fail mode applies.
    #[serde(default = "d_redis_timeout", with = "humantime_serde")]
    pub redis_timeout: Duration,
    /// When Redis is slow or down: `fail_open` (the local limiter decides) or `fail_closed` (429).
    #[serde(default)]
    pub on_redis_error: RedisFailMode,
}

impl Default for FileRateLimit {
    fn default() -> Self {
        FileRateLimit {
            backend: RateBackend::default(),
            max_keys: d_max_keys(),
            redis_url: None,
            redis_timeout: d_redis_timeout(),
            on_redis_error: RedisFailMode::default(),
        }
    }
}

fn d_max_keys() -> usize {
    100_000
}
fn d_redis_timeout() -> Duration {
    Duration::from_millis(50)
}
fn d_max_body_bytes() -> usize {
    64 * 1024
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum RateBackend {
    #[default]
    Local,
    Redis,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum RedisFailMode {
    #[default]
    FailOpen,
    FailClosed,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum TlsPolicy {
    /// TLS 1.2 and 1.3 with the provider's modern suites.
    #[default]
    Recommended,
    /// FAPI 1 Advanced: TLS 1.3, or TLS 1.2 with ECDHE_RSA AES-GCM only and extended master secret.
    Fapi,
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
    #[serde(default = "d_connect", with = "humantime_serde")]
    pub connect_timeout: Duration,
    #[serde(default = "d_response", with = "humantime_serde")]
    pub response_timeout: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileMtls {
    /// CAs that sign client certificates: a PEM file name, or a table with the revocation depth.
    #[serde(default)]
    pub client_ca: Vec<FileClientCa>,
    /// CRL files (PEM or DER) of the client CAs and their intermediates.
    #[serde(default)]
    pub crl: Vec<String>,
    #[serde(default)]
    pub stale_crl: StaleCrlPolicy,
    #[serde(default)]
    pub revoked: RevokedPolicy,
    #[serde(default)]
    pub crl_missing: CrlMissingPolicy,
    #[serde(default)]
    pub self_signed: SelfSignedPolicy,
    #[serde(default)]
    pub no_certificate: NoCertificatePolicy,
    /// Paths forwarded on the alias; everything else is 404.
    pub routes: Option<Vec<String>>,
    /// Send the client CAs' names in the CertificateRequest. Some clients (Go's crypto/tls) then
    /// withhold a self-signed certificate; turn off when self-signed clients are expected.
    #[serde(default = "d_true")]
    pub advertise_ca_names: bool,
    /// Registered client credentials (TOML); see docs/operations.md.
    pub registry: Option<String>,
    #[serde(default)]
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
            advertise_ca_names: true,
            registry: None,
            edge_policy: EdgePolicy::default(),
            deny_list: None,
        }
    }
}

#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum FileClientCa {
    File(String),
    Table {
        file: String,
        #[serde(default)]
        revocation: RevocationDepth,
    },
}

impl FileClientCa {
    pub fn file(&self) -> &str {
        match self {
            FileClientCa::File(f) | FileClientCa::Table { file: f, .. } => f,
        }
    }
    pub fn revocation(&self) -> RevocationDepth {
        match self {
            FileClientCa::File(_) => RevocationDepth::default(),
            FileClientCa::Table { revocation, .. } => *revocation,
        }
    }
}

/// Which certificates of a chain ending at this CA are checked against the CRLs.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[serde(rename_all = "snake_case")]
pub enum RevocationDepth {
    /// Every certificate in the chain (leaf and intermediates).
    #[default]
    Chain,
    /// The leaf only.
    Leaf,
}

/// A CRL past its nextUpdate.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum StaleCrlPolicy {
    /// Fail closed: certificates it covers are treated as revoked (see `revoked`).
    #[default]
    Enforce,
    /// Keep using it; a warning is logged at load and the nextUpdate metric lets alerts fire.
    Warn,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum RevokedPolicy {
    /// Refuse in the handshake (`certificate_revoked` alert).
    #[default]
    Reject,
    /// Forward with `FAILED:certificate revoked`.
    Flag,
}

/// A chain certificate whose issuer has no configured CRL.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum CrlMissingPolicy {
    /// Treat its status as good (only issuers with a CRL are checked).
    #[default]
    Allow,
    /// Treat it like a revoked certificate.
    Deny,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum EdgePolicy {
    /// Verify, flag and forward every certificate; the provider decides.
    #[default]
    ForwardAll,
    /// A certificate matching no registry entry is refused with 401 before any upstream call.
    Registered,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum SelfSignedPolicy {
    /// Accept, prove key possession, forward with `FAILED:self-signed certificate`.
    #[default]
    Flag,
    /// Refuse in the handshake (`unknown_ca` alert).
    Reject,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum NoCertificatePolicy {
    /// 401 `invalid_client` JSON.
    #[default]
    Reject,
    /// Forward without certificate headers; the provider decides.
    Forward,
}
