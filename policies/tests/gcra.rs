//! GCRA against a simulated clock: burst, steady rate, exact header values.

use std::time::Duration;

use mtls_policies::{decide, Decision, Gcra, Quota};

const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;

/// A bucket for one key, stepped through `decide`.
struct Bucket {
    gcra: Gcra,
    tat: Option<u64>,
}

impl Bucket {
    fn new(count: u32, period: Duration, burst: u32) -> Bucket {
        Bucket {
            gcra: Gcra::new(Quota::new(count, period, burst).unwrap()),
            tat: None,
        }
    }

    fn hit(&mut self, now: u64) -> Decision {
        let outcome = decide(self.tat, now, &self.gcra);
        if outcome.decision.allowed {
            assert!(outcome.new_tat > now);
        } else {
            assert_eq!(
                Some(outcome.new_tat),
                self.tat,
                "a refusal stores nothing new"
            );
        }
        self.tat = Some(outcome.new_tat);
        outcome.decision
    }
}

fn ten_per_second_burst_five() -> Bucket {
    Bucket::new(10, Duration::from_secs(1), 5)
}

#[test]
fn exact_burst_at_time_zero() {
    for burst in [1, 2, 5, 100] {
        let mut bucket = Bucket::new(1, Duration::from_secs(60), burst);
        for n in 0..burst {
            let decision = bucket.hit(0);
            assert!(decision.allowed, "request {} of burst {burst}", n + 1);
            assert_eq!(decision.limit, burst);
        }
        let refused = bucket.hit(0);
        assert!(!refused.allowed, "request {} of burst {burst}", burst + 1);
        assert_eq!(refused.remaining, 0);
    }
}

#[test]
fn remaining_counts_down_and_reset_grows() {
    let mut bucket = ten_per_second_burst_five();
    for n in 1..=5u32 {
        let decision = bucket.hit(0);
        assert!(decision.allowed);
        assert_eq!(decision.remaining, 5 - n);
        assert_eq!(
            decision.reset_after,
            Duration::from_millis(100 * u64::from(n))
        );
        assert_eq!(decision.retry_after, None);
        assert_eq!(decision.retry_after_secs(), None);
    }
}

#[test]
fn retry_after_and_reset_exact_at_chosen_instants() {
    let mut bucket = ten_per_second_burst_five();
    for _ in 0..5 {
        bucket.hit(0);
    }
    // t = 0: the bucket holds 500 ms of debt; one more needs it under 400 ms.
    let at_zero = bucket.hit(0);
    assert!(!at_zero.allowed);
    assert_eq!(at_zero.retry_after, Some(Duration::from_millis(100)));
    assert_eq!(at_zero.reset_after, Duration::from_millis(500));
    assert_eq!(at_zero.retry_after_secs(), Some(1));

    let at_50 = bucket.hit(50 * MS);
    assert!(!at_50.allowed);
    assert_eq!(at_50.retry_after, Some(Duration::from_millis(50)));
    assert_eq!(at_50.reset_after, Duration::from_millis(450));

    // One nanosecond early is still refused, by one nanosecond.
    let early = bucket.hit(100 * MS - 1);
    assert_eq!(early.retry_after, Some(Duration::from_nanos(1)));
    assert_eq!(early.retry_after_secs(), Some(1));

    // Exactly at retry_after the request passes and drains the bucket again.
    let at_100 = bucket.hit(100 * MS);
    assert!(at_100.allowed);
    assert_eq!(at_100.remaining, 0);
    assert_eq!(at_100.reset_after, Duration::from_millis(500));
}

#[test]
fn long_retry_after_rounds_up_to_seconds() {
    let mut bucket = Bucket::new(1, Duration::from_secs(90), 1);
    assert!(bucket.hit(0).allowed);
    let refused = bucket.hit(SEC / 2);
    assert_eq!(refused.retry_after, Some(Duration::from_millis(89_500)));
    assert_eq!(refused.retry_after_secs(), Some(90));
    assert_eq!(
        refused.reset_unix_secs(Duration::from_secs(1_700_000_000)),
        1_700_000_090
    );
}

#[test]
fn recovers_after_the_bucket_drains() {
    let mut bucket = ten_per_second_burst_five();
    for _ in 0..5 {
        assert!(bucket.hit(0).allowed);
    }
    assert!(!bucket.hit(0).allowed);
    // Refused retries do not push recovery back.
    for t in (0..500).step_by(7) {
        bucket.hit(t * MS / 10);
    }
    // Half-way: 2 requests' worth has refilled (500 - 250 = 250 ms of debt).
    let mut half = ten_per_second_burst_five();
    half.tat = bucket.tat;
    assert_eq!(half.hit(250 * MS).remaining, 1);
    // Fully drained at 500 ms: the whole burst again.
    for n in 1..=5u32 {
        let decision = bucket.hit(500 * MS);
        assert!(decision.allowed);
        assert_eq!(decision.remaining, 5 - n);
    }
    assert!(!bucket.hit(500 * MS).allowed);
    // Long idle: still only the burst, never more.
    let allowed = (0..10).filter(|_| bucket.hit(3_600 * SEC).allowed).count();
    assert_eq!(allowed, 5);
}

fn expected_in_window(count: u32, period: Duration, burst: u32, window: u64) -> i64 {
    i64::from(burst) + (u128::from(window) * u128::from(count) / period.as_nanos()) as i64
}

#[test]
fn steady_rate_over_a_long_window() {
    // Offered load far above the rate: a request every millisecond for ten
    // minutes (quotas whose interval is a whole number of milliseconds, so the
    // grid itself does not delay admissions).
    for (count, period, burst) in [
        (10, Duration::from_secs(1), 5),
        (4, Duration::from_secs(1), 1),
        (100, Duration::from_secs(60), 20),
    ] {
        let mut bucket = Bucket::new(count, period, burst);
        let window = 600 * SEC;
        let allowed = (0..=window / MS)
            .filter(|ms| bucket.hit(ms * MS).allowed)
            .count() as i64;
        let expected = expected_in_window(count, period, burst, window);
        assert!(
            (allowed - expected).abs() <= 1,
            "{count}/{period:?} burst {burst}: {allowed} allowed, expected {expected}"
        );
    }
}

#[test]
fn steady_rate_for_a_client_retrying_exactly_when_told() {
    // The most a client can get: retry the instant Retry-After (unrounded)
    // says, over an hour, including quotas whose interval is not a whole
    // number of anything convenient.
    for (count, period, burst) in [
        (3, Duration::from_secs(1), 1),
        (7, Duration::from_secs(60), 3),
        (1_000, Duration::from_secs(1), 50),
    ] {
        let mut bucket = Bucket::new(count, period, burst);
        let window = 3_600 * SEC;
        let (mut now, mut allowed) = (0u64, 0i64);
        while now <= window {
            let decision = bucket.hit(now);
            match decision.retry_after {
                None => allowed += 1,
                Some(wait) => now += wait.as_nanos() as u64,
            }
        }
        let expected = expected_in_window(count, period, burst, window);
        assert!(
            (allowed - expected).abs() <= 1,
            "{count}/{period:?} burst {burst}: {allowed} allowed, expected {expected}"
        );
    }
}

#[test]
fn requests_at_the_rate_always_pass() {
    let mut bucket = Bucket::new(10, Duration::from_secs(1), 1);
    for n in 0..10_000u64 {
        let decision = bucket.hit(n * 100 * MS);
        assert!(decision.allowed, "request {n}");
        assert_eq!(decision.remaining, 0);
    }
}

#[test]
fn a_clock_behind_the_stored_state_is_not_a_bonus() {
    let mut bucket = ten_per_second_burst_five();
    for _ in 0..5 {
        bucket.hit(10 * SEC);
    }
    // Same key seen at an earlier instant (another thread's older reading).
    let earlier = bucket.hit(10 * SEC - 50 * MS);
    assert!(!earlier.allowed);
    assert_eq!(earlier.retry_after, Some(Duration::from_millis(150)));
}
