//! The rate limiter the request path asks: the in-process limiter, or one limit shared by every
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
    decision_from_reply, Decision, Gcra, LocalLimiter, MonotonicClock, RuleId, GCRA_LUA,
};
use redis::aio::ConnectionManager;

use crate::config::{RateBackend, RateLimitConfig, RedisFailMode};
use crate::metrics::{Metrics, RateSource, RedisErrorKind, RedisErrorLabels};

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
    ) -> (Decision, RateSource) {
        let Some(redis) = &self.redis else {
            return (self.local.check(rule, key, gcra), RateSource::Local);
        };
        if let Some(decision) = redis.check(key, gcra, metrics).await {
            return (decision, RateSource::Redis);
        }
        match self.fail_mode {
            RedisFailMode::FailOpen => {
                (self.local.check(rule, key, gcra), RateSource::FallbackLocal)
            }
            RedisFailMode::FailClosed => (closed(gcra), RateSource::FallbackClosed),
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
                    .get_or_create(&RedisErrorLabels {
                        kind: RedisErrorKind::Decision,
                    })
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
