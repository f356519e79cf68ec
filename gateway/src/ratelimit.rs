//! Rate-limit decisions for the request path: the in-process limiter, or one limit shared by every
//! replica through Redis (one atomic GCRA Lua script per decision).
//!
//! Redis trouble never stalls the request path for long: a decision waits at most
//! `redis_timeout`; after a failure the backend is marked degraded and, for the next second,
//! decisions go straight to the fail mode without touching Redis (one request a second probes
//! it). `fail_open` lets the local limiter decide, so each replica still enforces the quota on
//! its own; `fail_closed` refuses. The state change is logged once and exported as a gauge.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use mtls_policies::{
    combine, decision_from_reply, key_for, Decision, Gcra, HostKind as RateHost, KeyPart,
    LocalLimiter, MonotonicClock, Refusal, RequestFacts, RuleId, GCRA_LUA,
};
use redis::aio::ConnectionManager;

use crate::config::{RateBackend, RateLimitConfig, RedisFailMode};
use crate::metrics::{HostKind, KindLabels, Metrics, RateLabels};
use crate::proxy::ConnContext;

/// How long the backend stays degraded before one request probes Redis again.
const REDIS_RETRY: Duration = Duration::from_secs(1);

pub struct RateLimiter {
    local: LocalLimiter<MonotonicClock>,
    redis: Option<RedisBackend>,
    fail_mode: RedisFailMode,
}

struct RedisBackend {
    conn: Arc<ArcSwapOption<ConnectionManager>>,
    script: redis::Script,
    timeout: Duration,
    degraded: AtomicBool,
    /// Milliseconds since `epoch` before which Redis is not tried.
    retry_at_ms: AtomicU64,
    epoch: Instant,
}

/// Where a decision came from, for metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Local,
    Redis,
    /// Redis unavailable; `fail_open` let the local limiter decide.
    FallbackLocal,
    /// Redis unavailable; `fail_closed` refused.
    FallbackClosed,
}

#[derive(Debug, thiserror::Error)]
pub enum RateLimitError {
    #[error("rate_limit.max_keys: {0}")]
    Local(#[from] mtls_policies::LimiterError),
    #[error("rate_limit.redis_url: {0}")]
    Redis(#[from] redis::RedisError),
}

impl RateLimiter {
    /// Must be called inside a Tokio runtime when the backend is Redis: a task keeps the
    /// connection (re)established in the background.
    pub fn new(cfg: &RateLimitConfig) -> Result<RateLimiter, RateLimitError> {
        let local = LocalLimiter::new(cfg.max_keys, MonotonicClock::new())?;
        let redis = match (cfg.backend, &cfg.redis_url) {
            (RateBackend::Redis, Some(url)) => {
                let client = redis::Client::open(url.as_str())?;
                let conn = Arc::new(ArcSwapOption::empty());
                tokio::spawn(connect(client, conn.clone(), cfg.redis_timeout));
                Some(RedisBackend {
                    conn,
                    script: redis::Script::new(GCRA_LUA),
                    timeout: cfg.redis_timeout,
                    degraded: AtomicBool::new(false),
                    retry_at_ms: AtomicU64::new(0),
                    epoch: Instant::now(),
                })
            }
            _ => None,
        };
        Ok(RateLimiter {
            local,
            redis,
            fail_mode: cfg.on_redis_error,
        })
    }

    /// Decides one (rule, key). `key` must already be unique across domains and rules.
    pub async fn check(
        &self,
        rule: RuleId,
        key: &str,
        gcra: &Gcra,
        metrics: &Metrics,
    ) -> (Decision, Source) {
        let Some(redis) = &self.redis else {
            return (self.local.check(rule, key, gcra), Source::Local);
        };
        if let Some(decision) = redis.check(key, gcra, metrics).await {
            return (decision, Source::Redis);
        }
        match self.fail_mode {
            RedisFailMode::FailOpen => (self.local.check(rule, key, gcra), Source::FallbackLocal),
            RedisFailMode::FailClosed => (closed(gcra), Source::FallbackClosed),
        }
    }
}

/// The refusal `fail_closed` gives while Redis is unavailable: retry after the probe interval.
fn closed(gcra: &Gcra) -> Decision {
    Decision {
        allowed: false,
        limit: gcra.limit(),
        remaining: 0,
        reset_after: REDIS_RETRY,
        retry_after: Some(REDIS_RETRY),
    }
}

impl RedisBackend {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// `None` when Redis could not decide (down, slow, not yet connected, bad reply).
    async fn check(&self, key: &str, gcra: &Gcra, metrics: &Metrics) -> Option<Decision> {
        if self.now_ms() < self.retry_at_ms.load(Ordering::Relaxed) {
            return None;
        }
        let result = match self.conn.load_full() {
            None => Err("not connected".to_owned()),
            Some(conn) => {
                let mut conn = (*conn).clone();
                let [interval, tolerance] = gcra.script_args();
                let mut invocation = self.script.key(key);
                invocation.arg(interval).arg(tolerance);
                let call = invocation.invoke_async::<Vec<i64>>(&mut conn);
                match tokio::time::timeout(self.timeout, call).await {
                    Err(_) => Err(format!("no answer within {:?}", self.timeout)),
                    Ok(Err(e)) => Err(e.to_string()),
                    Ok(Ok(reply)) => {
                        decision_from_reply(&reply, gcra.limit()).map_err(|e| e.to_string())
                    }
                }
            }
        };
        match result {
            Ok(decision) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!("redis rate limiting recovered");
                    metrics.ratelimit_redis_degraded.set(0);
                }
                Some(decision)
            }
            Err(e) => {
                metrics
                    .ratelimit_redis_errors
                    .get_or_create(&KindLabels { kind: "decision" })
                    .inc();
                self.retry_at_ms.store(
                    self.now_ms() + REDIS_RETRY.as_millis() as u64,
                    Ordering::Relaxed,
                );
                if !self.degraded.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "redis rate limiting unavailable; applying the configured fail mode");
                    metrics.ratelimit_redis_degraded.set(1);
                }
                None
            }
        }
    }
}

/// Establishes the multiplexed connection, retrying until it succeeds. The connection manager
/// then reconnects by itself.
async fn connect(
    client: redis::Client,
    slot: Arc<ArcSwapOption<ConnectionManager>>,
    timeout: Duration,
) {
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout.max(Duration::from_millis(200))))
        .set_response_timeout(Some(timeout))
        .set_max_delay(Duration::from_secs(1));
    loop {
        match ConnectionManager::new_with_config(client.clone(), config.clone()).await {
            Ok(conn) => {
                slot.store(Some(Arc::new(conn)));
                return;
            }
            Err(e) => {
                tracing::debug!(error = %e, "redis not reachable yet");
                tokio::time::sleep(REDIS_RETRY).await;
            }
        }
    }
}

/// Whether a rule on this route keys on `client_id`, so the body must be read to find it.
pub fn needs_client_id(cx: &ConnContext, parts: &http::request::Parts) -> bool {
    let domain = &cx.host.domain.config;
    domain.rate_needs_client_id
        && domain
            .rate_rules
            .matching(rate_host(cx), parts.uri.path())
            .any(|(_, r)| r.key().parts().contains(&KeyPart::ClientId))
}

fn rate_host(cx: &ConnContext) -> RateHost {
    match cx.host.kind {
        HostKind::alias => RateHost::Alias,
        HostKind::domain => RateHost::Domain,
    }
}

/// Applies the domain's rules for this route; the strictest decision is kept in `rate` (its
/// figures go into the response headers) and a refusal becomes 429.
pub async fn apply(
    cx: &ConnContext,
    parts: &http::request::Parts,
    client_id: Option<&str>,
    rate: &mut Option<Decision>,
) -> Result<(), Refusal> {
    let domain = &cx.host.domain.config;
    let host = rate_host(cx);
    let path = parts.uri.path();
    if domain.rate_rules.matching(host, path).next().is_none() {
        return Ok(());
    }
    let facts = RequestFacts {
        client_ip: cx.peer.ip().to_canonical(),
        cert_thumbprint: cx.identity.as_ref().map(|id| id.thumbprint.0),
        client_id,
    };
    let m = &cx.shared.metrics;
    let mut decisions = Vec::new();
    for (id, rule) in domain.rate_rules.matching(host, path) {
        let Some(key) = key_for(rule, &facts) else {
            continue;
        };
        // Unique across domains and rules, for the shared Redis keyspace and the local table.
        let key = format!("mtls-gw:{}:{}:{}", domain.name, rule.name(), key.as_str());
        let (decision, source) = cx.shared.ratelimit.check(id, &key, rule.gcra(), m).await;
        let label = domain
            .rate_rule_labels
            .get(id.0 as usize)
            .copied()
            .unwrap_or("unknown");
        m.ratelimit_decisions
            .get_or_create(&RateLabels {
                rule: label,
                outcome: if decision.allowed {
                    "allowed"
                } else {
                    "refused"
                },
                source: match source {
                    Source::Local => "local",
                    Source::Redis => "redis",
                    Source::FallbackLocal => "fallback_local",
                    Source::FallbackClosed => "fallback_closed",
                },
            })
            .inc();
        decisions.push(decision);
    }
    *rate = combine(decisions);
    match rate {
        Some(d) if !d.allowed => Err(Refusal::TooManyRequests {
            retry_after_secs: d.retry_after_secs().unwrap_or(1),
        }),
        _ => Ok(()),
    }
}
