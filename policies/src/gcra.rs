//! The generic cell rate algorithm (GCRA): a token bucket kept as one number.
//!
//! A bucket of `burst` requests that refills at `count` per `period` is fully
//! described by its *theoretical arrival time* (TAT): the instant at which it
//! would be full again. Each admitted request pushes the TAT one emission
//! interval further; a request is refused while the TAT lies more than the
//! delay tolerance ahead of now. Storing a single `u64` per key is what makes
//! the local limiter's memory bound small and the Redis script a single
//! `GET`/`SET`, and the same arithmetic can run in both places.
//!
//! Time is an argument (nanoseconds since some epoch chosen by a [`Clock`]),
//! so the whole algorithm is testable against a simulated clock, without
//! sleeping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use thiserror::Error;

const NANOS_PER_MICRO: u64 = 1_000;

/// Largest bucket window (emission interval × burst) accepted: a quarter of
/// the `u64` nanosecond range, 146 years, so that `now + window` cannot
/// overflow for any clock reading below 438 years.
const MAX_WINDOW_NANOS: u64 = u64::MAX / 4;

/// A source of "now", in nanoseconds since an epoch of the clock's choosing.
///
/// The limiter only ever compares instants from the same clock, so the epoch
/// does not matter; it must not go backwards, or a key's debt would appear to
/// grow.
pub trait Clock: Send + Sync {
    /// Nanoseconds since this clock's epoch.
    fn now(&self) -> u64;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> u64 {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> u64 {
        (**self).now()
    }
}

/// The process's monotonic clock, counted from when this value was created.
///
/// Monotonic rather than wall time so that an NTP step cannot refill or drain
/// every bucket at once.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    origin: Instant,
}

impl MonotonicClock {
    /// A clock whose epoch is now.
    pub fn new() -> MonotonicClock {
        MonotonicClock {
            origin: Instant::now(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        MonotonicClock::new()
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> u64 {
        saturating_nanos(self.origin.elapsed())
    }
}

/// A clock that moves only when told to: deterministic tests and simulations.
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    /// A clock reading `start` nanoseconds.
    pub fn new(start: u64) -> ManualClock {
        ManualClock {
            nanos: AtomicU64::new(start),
        }
    }

    /// Sets the reading.
    pub fn set(&self, nanos: u64) {
        self.nanos.store(nanos, Ordering::SeqCst);
    }

    /// Moves the reading forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.nanos.fetch_add(saturating_nanos(by), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.nanos.load(Ordering::SeqCst)
    }
}

/// A quota that cannot be enforced as written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QuotaError {
    /// `count` is zero: a rate of nothing per period has no emission interval.
    #[error("rate count must be at least 1")]
    ZeroCount,
    /// `burst` is zero: no request could ever pass.
    #[error("burst must be at least 1")]
    ZeroBurst,
    /// `period` is zero.
    #[error("rate period must be longer than zero")]
    ZeroPeriod,
    /// More than one request per microsecond per key: below the resolution
    /// the cluster-wide script counts in.
    #[error("rate of {count} per {period:?} is faster than one request per microsecond")]
    TooFast { count: u32, period: Duration },
    /// The bucket window (period / count × burst) does not fit the clock range.
    #[error("bucket window of {burst} × ({period:?} / {count}) is too long")]
    WindowTooLong {
        count: u32,
        period: Duration,
        burst: u32,
    },
}

/// `count` requests per `period` sustained, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    count: u32,
    period: Duration,
    burst: u32,
}

impl Quota {
    /// Validates the quota so that [`Gcra::new`] cannot fail.
    pub fn new(count: u32, period: Duration, burst: u32) -> Result<Quota, QuotaError> {
        let quota = Quota {
            count,
            period,
            burst,
        };
        quota.emission_interval_nanos()?;
        Ok(quota)
    }

    /// `count` per second, up to `burst` at once.
    pub fn per_second(count: u32, burst: u32) -> Result<Quota, QuotaError> {
        Quota::new(count, Duration::from_secs(1), burst)
    }

    /// `count` per minute, up to `burst` at once.
    pub fn per_minute(count: u32, burst: u32) -> Result<Quota, QuotaError> {
        Quota::new(count, Duration::from_secs(60), burst)
    }

    /// Sustained requests per period.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The period `count` is measured over.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Requests admitted at once from a full bucket.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// period / count, rounded *up* to a whole microsecond. Up, so that the
    /// enforced rate is never above the configured one; whole microseconds, so
    /// that the local limiter and the Redis script (which counts in
    /// microseconds because Lua numbers are doubles) enforce exactly the same
    /// interval.
    fn emission_interval_nanos(&self) -> Result<u64, QuotaError> {
        if self.count == 0 {
            return Err(QuotaError::ZeroCount);
        }
        if self.burst == 0 {
            return Err(QuotaError::ZeroBurst);
        }
        let period = self.period.as_nanos();
        if period == 0 {
            return Err(QuotaError::ZeroPeriod);
        }
        let interval = period / u128::from(self.count);
        if interval < u128::from(NANOS_PER_MICRO) {
            return Err(QuotaError::TooFast {
                count: self.count,
                period: self.period,
            });
        }
        let micros = period.div_ceil(u128::from(self.count) * u128::from(NANOS_PER_MICRO));
        let interval = micros * u128::from(NANOS_PER_MICRO);
        let window = interval * u128::from(self.burst);
        if window > u128::from(MAX_WINDOW_NANOS) {
            return Err(QuotaError::WindowTooLong {
                count: self.count,
                period: self.period,
                burst: self.burst,
            });
        }
        // Both fit: window >= interval and window <= MAX_WINDOW_NANOS.
        Ok(u64::try_from(interval).unwrap_or(MAX_WINDOW_NANOS))
    }
}

/// A [`Quota`] in the form the algorithm uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Gcra {
    emission_interval: u64,
    delay_tolerance: u64,
    limit: u32,
}

impl Gcra {
    /// Emission interval `T` = period / count (whole microseconds, rounded
    /// up); delay tolerance `τ` = `T` × (burst − 1): how far ahead of now the
    /// TAT may be for one more request to pass.
    pub fn new(quota: Quota) -> Gcra {
        // Quota::new already proved the interval computable.
        let emission_interval = quota.emission_interval_nanos().unwrap_or(MAX_WINDOW_NANOS);
        Gcra {
            emission_interval,
            delay_tolerance: emission_interval
                .saturating_mul(u64::from(quota.burst.saturating_sub(1))),
            limit: quota.burst,
        }
    }

    /// `T`, in nanoseconds.
    pub fn emission_interval(&self) -> Duration {
        Duration::from_nanos(self.emission_interval)
    }

    /// `τ`, in nanoseconds.
    pub fn delay_tolerance(&self) -> Duration {
        Duration::from_nanos(self.delay_tolerance)
    }

    /// The burst capacity, reported as `x-ratelimit-limit`.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// `[T, τ]` in microseconds: `ARGV[1]` and `ARGV[2]` of
    /// [`GCRA_LUA`](crate::redis_gcra::GCRA_LUA). Exact, because `T` is a
    /// whole number of microseconds.
    pub fn script_args(&self) -> [u64; 2] {
        [
            self.emission_interval / NANOS_PER_MICRO,
            self.delay_tolerance / NANOS_PER_MICRO,
        ]
    }
}

impl From<Quota> for Gcra {
    fn from(quota: Quota) -> Gcra {
        Gcra::new(quota)
    }
}

/// What one rate-limit check answers, ready to become response headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may pass.
    pub allowed: bool,
    /// Burst capacity of the bucket (`x-ratelimit-limit`).
    pub limit: u32,
    /// Requests that would still pass right now (`x-ratelimit-remaining`).
    pub remaining: u32,
    /// Until the bucket is full again, i.e. until the key carries no state.
    pub reset_after: Duration,
    /// On refusal, until one request would pass; `None` when allowed.
    pub retry_after: Option<Duration>,
}

impl Decision {
    /// `Retry-After` in whole seconds: rounded up, so a client that waits
    /// exactly that long is admitted, and at least 1, because `0` invites an
    /// immediate retry loop. `None` when allowed.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after.map(|wait| ceil_secs(wait).max(1))
    }

    /// `x-ratelimit-reset`: the Unix time, in whole seconds rounded up, at
    /// which the bucket is full again, given the wall clock `unix_now`. The
    /// provider's own headers carry a Unix timestamp here, so clients that
    /// already read them keep working behind the edge.
    pub fn reset_unix_secs(&self, unix_now: Duration) -> u64 {
        ceil_secs(unix_now.saturating_add(self.reset_after))
    }
}

/// A [`Decision`] and the TAT to store for the key afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcraOutcome {
    /// The answer for this request.
    pub decision: Decision,
    /// The key's new TAT (unchanged on refusal). Once `now` reaches it the key
    /// carries no state and may be forgotten.
    pub new_tat: u64,
}

/// One GCRA step for one key.
///
/// `tat` is the key's stored theoretical arrival time (`None` when unknown:
/// a full bucket), `now` the current instant on the same clock. A refusal
/// consumes nothing, so a client that keeps retrying while refused does not
/// push its own recovery further away.
pub fn decide(tat: Option<u64>, now: u64, gcra: &Gcra) -> GcraOutcome {
    let tat = tat.map_or(now, |tat| tat.max(now));
    let debt = tat - now;
    if debt > gcra.delay_tolerance {
        return GcraOutcome {
            decision: Decision {
                allowed: false,
                limit: gcra.limit,
                remaining: 0,
                reset_after: Duration::from_nanos(debt),
                retry_after: Some(Duration::from_nanos(debt - gcra.delay_tolerance)),
            },
            new_tat: tat,
        };
    }
    let new_debt = debt.saturating_add(gcra.emission_interval);
    let remaining = (gcra.delay_tolerance - debt) / gcra.emission_interval;
    GcraOutcome {
        decision: Decision {
            allowed: true,
            limit: gcra.limit,
            remaining: u32::try_from(remaining).unwrap_or(u32::MAX).min(gcra.limit),
            reset_after: Duration::from_nanos(new_debt),
            retry_after: None,
        },
        new_tat: now.saturating_add(new_debt),
    }
}

/// Whole seconds, rounded up.
fn ceil_secs(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// Nanoseconds of `duration`, saturating at `u64::MAX` (584 years).
fn saturating_nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_validation() {
        let second = Duration::from_secs(1);
        assert_eq!(Quota::new(0, second, 1), Err(QuotaError::ZeroCount));
        assert_eq!(Quota::new(1, second, 0), Err(QuotaError::ZeroBurst));
        assert_eq!(
            Quota::new(1, Duration::ZERO, 1),
            Err(QuotaError::ZeroPeriod)
        );
        assert!(matches!(
            Quota::new(2_000_000, second, 1),
            Err(QuotaError::TooFast { .. })
        ));
        assert!(matches!(
            Quota::new(1, Duration::from_secs(u64::MAX / 1_000_000_000), 1_000),
            Err(QuotaError::WindowTooLong { .. })
        ));
        assert!(Quota::new(1_000_000, second, u32::MAX).is_ok());
    }

    #[test]
    fn interval_rounds_up_to_whole_microseconds() {
        let gcra = Gcra::new(Quota::per_second(3, 2).unwrap());
        assert_eq!(gcra.emission_interval(), Duration::from_nanos(333_334_000));
        assert_eq!(gcra.delay_tolerance(), Duration::from_nanos(333_334_000));
        assert_eq!(gcra.script_args(), [333_334, 333_334]);
        assert_eq!(gcra.limit(), 2);
    }

    #[test]
    fn header_rounding() {
        let refused = Decision {
            allowed: false,
            limit: 1,
            remaining: 0,
            reset_after: Duration::from_millis(1_500),
            retry_after: Some(Duration::from_millis(1)),
        };
        assert_eq!(refused.retry_after_secs(), Some(1));
        let exact = Decision {
            retry_after: Some(Duration::from_secs(2)),
            ..refused
        };
        assert_eq!(exact.retry_after_secs(), Some(2));
        let zero = Decision {
            retry_after: Some(Duration::ZERO),
            ..refused
        };
        assert_eq!(zero.retry_after_secs(), Some(1));
        assert_eq!(
            refused.reset_unix_secs(Duration::from_millis(1_000_000_000_200)),
            1_000_000_002
        );
        assert_eq!(
            refused.reset_unix_secs(Duration::from_millis(1_000_000_000_500)),
            1_000_000_002
        );
    }

    #[test]
    fn clocks() {
        let manual = ManualClock::new(5);
        manual.advance(Duration::from_nanos(10));
        assert_eq!(manual.now(), 15);
        manual.set(3);
        fn read<C: Clock>(clock: C) -> u64 {
            clock.now()
        }
        assert_eq!(read(&manual), 3);
        let shared = Arc::new(MonotonicClock::new());
        let first = shared.now();
        assert!(read(Arc::clone(&shared)) >= first);
    }
}
