//! Every metric the gateway exports: names as constants, label sets bounded by construction
//! (no thumbprints, paths or client addresses as label values). Listed in `docs/metrics.md`.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

pub const TLS_HANDSHAKES: &str = "mtls_gateway_tls_handshakes";
pub const TLS_HANDSHAKE_DURATION: &str = "mtls_gateway_tls_handshake_duration_seconds";
pub const CLIENT_CERT_VERDICTS: &str = "mtls_gateway_client_cert_verdicts";
pub const CLIENT_CERT_TOO_LARGE: &str = "mtls_gateway_client_cert_too_large";
pub const REQUESTS: &str = "mtls_gateway_requests";
pub const REQUEST_DURATION: &str = "mtls_gateway_request_duration_seconds";
pub const UPSTREAM_DURATION: &str = "mtls_gateway_upstream_duration_seconds";
pub const UPSTREAM_ERRORS: &str = "mtls_gateway_upstream_errors";
pub const REFUSALS: &str = "mtls_gateway_refusals";
pub const ACTIVE_CONNECTIONS: &str = "mtls_gateway_active_connections";
pub const CONNECTIONS_REFUSED: &str = "mtls_gateway_connections_refused";
pub const CONFIG_RELOADS: &str = "mtls_gateway_config_reloads";
pub const SERVER_CERT_EXPIRY: &str = "mtls_gateway_server_cert_expiry_timestamp_seconds";
pub const RATELIMIT_DECISIONS: &str = "mtls_gateway_ratelimit_decisions";
pub const RATELIMIT_REDIS_ERRORS: &str = "mtls_gateway_ratelimit_redis_errors";
pub const RATELIMIT_REDIS_DEGRADED: &str = "mtls_gateway_ratelimit_redis_degraded";
pub const CRL_NEXT_UPDATE: &str = "mtls_gateway_crl_next_update_timestamp_seconds";

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum HostKind {
    domain,
    alias,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HandshakeLabels {
    pub host_kind: HostKind,
    /// `ok`, or the failure class (`timeout`, `unknown_sni`, `cert_expired`, `bad_cert`, `error`).
    pub outcome: &'static str,
    pub version: &'static str,
    pub resumed: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HostLabels {
    pub host_kind: HostKind,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerdictLabels {
    /// `success`, `failed`, `refused`, `none`.
    pub outcome: &'static str,
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub host_kind: HostKind,
    /// A configured alias route, a well-known provider path, or `other`.
    pub route: &'static str,
    pub status_class: &'static str,
}

/// Provider paths worth their own label on the plain domain; any other path is `other`, so the
/// label's values stay bounded whatever clients request.
const WELL_KNOWN_ROUTES: [&str; 7] = [
    "/authorize",
    "/co/authenticate",
    "/oauth/token",
    "/oauth/par",
    "/userinfo",
    "/oauth/revoke",
    "/.well-known/openid-configuration",
];

/// The `route` label for a request path: a well-known path, one of the domain's configured routes
/// (interned at load by [`intern`]), or `other`. No lock, no allocation.
pub fn route_label(path: &str, configured: &[&'static str]) -> &'static str {
    WELL_KNOWN_ROUTES
        .iter()
        .chain(configured)
        .find(|r| **r == path)
        .copied()
        .unwrap_or("other")
}

/// Interns configured routes once per distinct string, so reloads never grow memory for a
/// route already known.
pub fn intern<'a>(routes: impl IntoIterator<Item = &'a str>) -> Vec<&'static str> {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static SEEN: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    routes
        .into_iter()
        .map(|r| match seen.get(r) {
            Some(s) => *s,
            None => {
                let leaked: &'static str = Box::leak(r.to_owned().into_boxed_str());
                seen.insert(leaked);
                leaked
            }
        })
        .collect()
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DomainLabels {
    pub domain: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RateLabels {
    /// The rule's configured name.
    pub rule: &'static str,
    /// `allowed` or `refused`.
    pub outcome: &'static str,
    /// `local`, `redis`, `fallback_local` (Redis down, fail_open) or `fallback_closed` (fail_closed).
    pub source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CrlLabels {
    pub domain: String,
    /// The CRL issuer's name (from configuration, so bounded).
    pub issuer: String,
}

fn latency_histogram() -> Histogram {
    // 100 µs .. ~52 s
    Histogram::new(exponential_buckets(0.0001, 2.0, 20))
}

pub struct Metrics {
    pub registry: Registry,
    pub handshakes: Family<HandshakeLabels, Counter>,
    pub handshake_duration: Family<HostLabels, Histogram, fn() -> Histogram>,
    pub verdicts: Family<VerdictLabels, Counter>,
    pub cert_too_large: Counter,
    pub requests: Family<RequestLabels, Counter>,
    pub request_duration: Family<HostLabels, Histogram, fn() -> Histogram>,
    pub upstream_duration: Histogram,
    pub upstream_errors: Family<KindLabels, Counter>,
    pub refusals: Family<KindLabels, Counter>,
    pub active_connections: Gauge,
    pub connections_refused: Family<KindLabels, Counter>,
    pub config_reloads: Family<KindLabels, Counter>,
    pub server_cert_expiry: Family<DomainLabels, Gauge>,
    pub crl_next_update: Family<CrlLabels, Gauge>,
    pub ratelimit_decisions: Family<RateLabels, Counter>,
    pub ratelimit_redis_errors: Family<KindLabels, Counter>,
    pub ratelimit_redis_degraded: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let m = Metrics {
            handshakes: Family::default(),
            handshake_duration: Family::new_with_constructor(latency_histogram),
            verdicts: Family::default(),
            cert_too_large: Counter::default(),
            requests: Family::default(),
            request_duration: Family::new_with_constructor(latency_histogram),
            upstream_duration: latency_histogram(),
            upstream_errors: Family::default(),
            refusals: Family::default(),
            active_connections: Gauge::default(),
            connections_refused: Family::default(),
            config_reloads: Family::default(),
            server_cert_expiry: Family::default(),
            crl_next_update: Family::default(),
            ratelimit_decisions: Family::default(),
            ratelimit_redis_errors: Family::default(),
            ratelimit_redis_degraded: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            TLS_HANDSHAKES,
            "TLS handshakes by host kind, outcome, version and resumption",
            m.handshakes.clone(),
        );
        registry.register(
            TLS_HANDSHAKE_DURATION,
            "Time from ClientHello to finished handshake",
            m.handshake_duration.clone(),
        );
        registry.register(
            CLIENT_CERT_VERDICTS,
            "Client-certificate verdicts on the mTLS alias, per request-serving connection",
            m.verdicts.clone(),
        );
        registry.register(
            CLIENT_CERT_TOO_LARGE,
            "Requests refused because the encoded client certificate exceeds 4096 bytes",
            m.cert_too_large.clone(),
        );
        registry.register(
            REQUESTS,
            "HTTP requests by host kind and status class",
            m.requests.clone(),
        );
        registry.register(
            REQUEST_DURATION,
            "Time from request head to response head",
            m.request_duration.clone(),
        );
        registry.register(
            UPSTREAM_DURATION,
            "Time the upstream took to answer with a response head",
            m.upstream_duration.clone(),
        );
        registry.register(
            UPSTREAM_ERRORS,
            "Upstream failures by kind",
            m.upstream_errors.clone(),
        );
        registry.register(
            REFUSALS,
            "Requests answered by the gateway itself, by refusal kind",
            m.refusals.clone(),
        );
        registry.register(
            ACTIVE_CONNECTIONS,
            "Open client connections",
            m.active_connections.clone(),
        );
        registry.register(
            CONNECTIONS_REFUSED,
            "Connections closed at accept, by reason",
            m.connections_refused.clone(),
        );
        registry.register(
            CONFIG_RELOADS,
            "Configuration reloads by result",
            m.config_reloads.clone(),
        );
        registry.register(
            SERVER_CERT_EXPIRY,
            "Server certificate notAfter as a Unix timestamp, per domain",
            m.server_cert_expiry.clone(),
        );
        registry.register(
            CRL_NEXT_UPDATE,
            "Client CRL nextUpdate as a Unix timestamp, per domain and CRL issuer",
            m.crl_next_update.clone(),
        );
        registry.register(
            RATELIMIT_DECISIONS,
            "Rate-limit decisions by rule, outcome and where they were made",
            m.ratelimit_decisions.clone(),
        );
        registry.register(
            RATELIMIT_REDIS_ERRORS,
            "Rate-limit decisions Redis could not make (error or timeout)",
            m.ratelimit_redis_errors.clone(),
        );
        registry.register(
            RATELIMIT_REDIS_DEGRADED,
            "1 while Redis is unavailable and the fail mode applies",
            m.ratelimit_redis_degraded.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

pub fn status_class(status: http::StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}
