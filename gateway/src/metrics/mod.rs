//! Every metric the gateway exports: names as constants, label sets as types ([`labels`]), so
//! label values are bounded by construction (no thumbprints, paths or client addresses). Listed in
//! `docs/metrics.md`.

pub mod labels;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

pub use labels::*;

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
pub const CONNECTIONS_CLOSED: &str = "mtls_gateway_connections_closed";
pub const CONFIG_RELOADS: &str = "mtls_gateway_config_reloads";
pub const SERVER_CERT_EXPIRY: &str = "mtls_gateway_server_cert_expiry_timestamp_seconds";
pub const RATELIMIT_DECISIONS: &str = "mtls_gateway_ratelimit_decisions";
pub const RATELIMIT_REDIS_ERRORS: &str = "mtls_gateway_ratelimit_redis_errors";
pub const RATELIMIT_REDIS_DEGRADED: &str = "mtls_gateway_ratelimit_redis_degraded";
pub const CRL_NEXT_UPDATE: &str = "mtls_gateway_crl_next_update_timestamp_seconds";

/// Registers one metric under its name and help text.
macro_rules! reg {
    ($registry:ident, $metric:expr, $name:expr, $help:literal) => {
        $registry.register($name, $help, $metric.clone())
    };
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 100 µs .. ~52 s
    Histogram::new(exponential_buckets(0.0001, 2.0, 20))
}

pub struct Metrics {
    registry: Registry,
    pub handshakes: Family<HandshakeLabels, Counter>,
    pub handshake_duration: Histograms<HostLabels>,
    pub verdicts: Family<VerdictLabels, Counter>,
    pub cert_too_large: Counter,
    pub requests: Family<RequestLabels, Counter>,
    pub request_duration: Histograms<HostLabels>,
    pub upstream_duration: Histogram,
    pub upstream_errors: Family<UpstreamErrorLabels, Counter>,
    pub refusals: Family<RefusalLabels, Counter>,
    pub active_connections: Gauge,
    pub connections_refused: Family<ConnectionRefusedLabels, Counter>,
    pub connections_closed: Family<CloseLabels, Counter>,
    pub config_reloads: Family<ReloadLabels, Counter>,
    pub server_cert_expiry: Family<DomainLabels, Gauge>,
    pub crl_next_update: Family<CrlLabels, Gauge>,
    pub ratelimit_decisions: Family<RateLabels, Counter>,
    pub ratelimit_redis_errors: Family<RedisErrorLabels, Counter>,
    pub ratelimit_redis_degraded: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::default(),
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
            connections_closed: Family::default(),
            config_reloads: Family::default(),
            server_cert_expiry: Family::default(),
            crl_next_update: Family::default(),
            ratelimit_decisions: Family::default(),
            ratelimit_redis_errors: Family::default(),
            ratelimit_redis_degraded: Gauge::default(),
        };
        m.register();
        m
    }

    fn register(&mut self) {
        self.register_connections();
        self.register_requests();
    }

    fn register_connections(&mut self) {
        let r = &mut self.registry;
        reg!(
            r,
            self.connections_closed,
            CONNECTIONS_CLOSED,
            "Established connections the gateway closed, by reason"
        );
        reg!(
            r,
            self.handshakes,
            TLS_HANDSHAKES,
            "TLS handshakes by host kind, outcome, version and resumption"
        );
        reg!(
            r,
            self.handshake_duration,
            TLS_HANDSHAKE_DURATION,
            "Time from ClientHello to finished handshake"
        );
        reg!(
            r,
            self.verdicts,
            CLIENT_CERT_VERDICTS,
            "Client-certificate verdicts on the mTLS alias, per request-serving connection"
        );
        reg!(
            r,
            self.cert_too_large,
            CLIENT_CERT_TOO_LARGE,
            "Requests refused because the encoded client certificate exceeds 4096 bytes"
        );
        reg!(
            r,
            self.active_connections,
            ACTIVE_CONNECTIONS,
            "Open client connections"
        );
        reg!(
            r,
            self.connections_refused,
            CONNECTIONS_REFUSED,
            "Connections closed at accept, by reason"
        );
    }

    fn register_requests(&mut self) {
        let r = &mut self.registry;
        reg!(
            r,
            self.requests,
            REQUESTS,
            "HTTP requests by host kind, route and status class"
        );
        reg!(
            r,
            self.request_duration,
            REQUEST_DURATION,
            "Time from request head to response head"
        );
        reg!(
            r,
            self.upstream_duration,
            UPSTREAM_DURATION,
            "Time the upstream took to answer with a response head"
        );
        reg!(
            r,
            self.upstream_errors,
            UPSTREAM_ERRORS,
            "Upstream failures by kind"
        );
        reg!(
            r,
            self.refusals,
            REFUSALS,
            "Requests answered by the gateway itself, by refusal kind and whose fault it was"
        );
        reg!(
            r,
            self.config_reloads,
            CONFIG_RELOADS,
            "Configuration reloads by result"
        );
        reg!(
            r,
            self.server_cert_expiry,
            SERVER_CERT_EXPIRY,
            "Server certificate notAfter as a Unix timestamp, per domain"
        );
        reg!(
            r,
            self.crl_next_update,
            CRL_NEXT_UPDATE,
            "Client CRL nextUpdate as a Unix timestamp, per domain and CRL issuer"
        );
        reg!(
            r,
            self.ratelimit_decisions,
            RATELIMIT_DECISIONS,
            "Rate-limit decisions by rule, outcome and where they were made"
        );
        reg!(
            r,
            self.ratelimit_redis_errors,
            RATELIMIT_REDIS_ERRORS,
            "Rate-limit decisions Redis could not make (error or timeout)"
        );
        reg!(
            r,
            self.ratelimit_redis_degraded,
            RATELIMIT_REDIS_DEGRADED,
            "1 while Redis is unavailable and the fail mode applies"
        );
    }

    /// A registry holding every series the gateway can export, each label at every value it can
    /// take (one example value for labels that come from configuration). Dashboards and alert
    /// rules are checked against its exposition: a family is exported only once it has a sample,
    /// so an idle registry cannot list them.
    pub fn with_every_series() -> Metrics {
        let m = Metrics::new();
        macro_rules! every {
            ($field:ident, $labels:ty) => {
                for l in <$labels>::every() {
                    let _ = m.$field.get_or_create(&l);
                }
            };
        }
        every!(handshakes, HandshakeLabels);
        every!(handshake_duration, HostLabels);
        every!(verdicts, VerdictLabels);
        every!(requests, RequestLabels);
        every!(request_duration, HostLabels);
        every!(upstream_errors, UpstreamErrorLabels);
        every!(refusals, RefusalLabels);
        every!(connections_refused, ConnectionRefusedLabels);
        every!(connections_closed, CloseLabels);
        every!(config_reloads, ReloadLabels);
        every!(server_cert_expiry, DomainLabels);
        every!(crl_next_update, CrlLabels);
        every!(ratelimit_decisions, RateLabels);
        every!(ratelimit_redis_errors, RedisErrorLabels);
        m
    }

    /// Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    pub fn count_refusal(&self, refusal: &mtls_policies::Refusal) {
        self.refusals
            .get_or_create(&RefusalLabels {
                kind: refusal.kind(),
                fault: refusal.fault(),
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_exported_by_the_complete_registry() {
        let text = Metrics::with_every_series().encode();
        for name in [
            TLS_HANDSHAKES,
            REFUSALS,
            RATELIMIT_DECISIONS,
            CRL_NEXT_UPDATE,
            UPSTREAM_DURATION,
        ] {
            assert!(text.contains(&format!("# TYPE {name} ")), "{name}");
        }
        assert!(text.contains(r#"outcome="cert_rechecked""#));
        assert!(
            text.contains(r#"kind="upstream_timeout",fault="upstream""#),
            "{text}"
        );
    }
}
