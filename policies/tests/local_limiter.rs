//! The local limiter: bounded memory under a key spray, exact counts under
//! concurrency, agreement with the pure algorithm.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mtls_policies::{decide, Gcra, LocalLimiter, ManualClock, Quota, RuleId};

const MS: u64 = 1_000_000;

/// A small deterministic generator, so a failing spray can be replayed.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[test]
fn a_spray_of_ten_times_the_bound_never_exceeds_it() {
    for (max_keys, shards) in [(1_000, 16), (1_000, 64), (100, 1), (7, 3)] {
        let limiter = LocalLimiter::with_shards(max_keys, shards, ManualClock::new(0)).unwrap();
        assert!(limiter.capacity() <= max_keys);
        let slots = limiter.table_capacity();
        let gcra = Gcra::new(Quota::per_minute(1, 5).unwrap());
        let mut random = SplitMix(max_keys as u64);
        for n in 0..max_keys * 10 {
            // Keys of every length; time moves slowly so most entries stay live.
            let key = format!("{:x}{}", random.next(), "k".repeat(n % 300));
            let now = (n as u64) * MS;
            let decision = limiter.check_at(RuleId(0), &key, &gcra, now);
            assert!(decision.allowed, "a fresh key always has its burst");
            if n % 97 == 0 {
                assert!(limiter.len() <= limiter.capacity());
            }
        }
        assert!(limiter.len() <= limiter.capacity(), "{max_keys}/{shards}");
        assert!(
            limiter.len() >= limiter.capacity() / 2,
            "eviction should not empty the table"
        );
        assert!(
            limiter.table_capacity() <= slots,
            "tables never grow ({max_keys} keys, {shards} shards)"
        );
    }
}

#[test]
fn allocation_is_fixed_per_key_of_capacity() {
    let limiter = LocalLimiter::new(100_000, ManualClock::new(0)).unwrap();
    assert_eq!(limiter.capacity(), 100_000 / 64 * 64);
    let per_key = limiter.table_capacity() as f64 / limiter.capacity() as f64;
    // 2× the keys, at most 7/8 full, rounded to a power of two per shard.
    assert!((2.0..=4.6).contains(&per_key), "{per_key} slots per key");
}

#[test]
fn expired_entries_are_reused_before_live_ones_are_dropped() {
    let limiter = LocalLimiter::with_shards(64, 1, ManualClock::new(0)).unwrap();
    let gcra = Gcra::new(Quota::per_second(1, 2).unwrap());
    // A throttled client: whole burst used at t = 10 s.
    let t = 10_000 * MS;
    assert!(limiter.check_at(RuleId(0), "victim", &gcra, t).allowed);
    assert!(limiter.check_at(RuleId(0), "victim", &gcra, t).allowed);
    assert!(!limiter.check_at(RuleId(0), "victim", &gcra, t).allowed);
    // Old keys whose buckets are long full, then fresh keys past the bound.
    for n in 0..63 {
        limiter.check_at(RuleId(0), &format!("old{n}"), &gcra, 0);
    }
    for n in 0..200 {
        limiter.check_at(RuleId(0), &format!("new{n}"), &gcra, t);
        assert!(limiter.len() <= 64);
    }
    assert!(
        !limiter.check_at(RuleId(0), "victim", &gcra, t).allowed,
        "the client in debt is still tracked"
    );
}

#[test]
fn matches_the_pure_algorithm_for_one_key() {
    let limiter = LocalLimiter::new(16, ManualClock::new(0)).unwrap();
    let gcra = Gcra::new(Quota::per_second(7, 3).unwrap());
    let mut tat = None;
    let mut random = SplitMix(42);
    let mut now = 0;
    for _ in 0..10_000 {
        now += random.next() % (300 * MS);
        let expected = decide(tat, now, &gcra);
        tat = Some(expected.new_tat);
        assert_eq!(
            limiter.check_at(RuleId(3), "key", &gcra, now),
            expected.decision
        );
    }
}

#[test]
fn concurrent_threads_share_one_bucket_exactly() {
    let clock = ManualClock::new(0);
    let limiter = LocalLimiter::new(1_024, &clock).unwrap();
    let burst = 50;
    let gcra = Gcra::new(Quota::per_second(10, burst).unwrap());
    let threads = 8;
    let per_thread = 200;

    let hammer = || {
        let allowed = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    for _ in 0..per_thread {
                        if limiter.check(RuleId(0), "shared", &gcra).allowed {
                            allowed.fetch_add(1, Ordering::Relaxed);
                        }
                        // Other keys on the side, to contend on other shards.
                        limiter.check(RuleId(1), "noise", &gcra);
                    }
                });
            }
        });
        allowed.into_inner()
    };

    // At a frozen instant: exactly the burst passes, whichever thread gets it.
    assert_eq!(hammer(), burst as usize);
    // 1.25 s later: exactly 12 intervals of 100 ms have refilled.
    clock.advance(Duration::from_millis(1_250));
    assert_eq!(hammer(), 12);
    // Long idle: the whole burst again, never more.
    clock.advance(Duration::from_secs(3_600));
    assert_eq!(hammer(), burst as usize);
}
