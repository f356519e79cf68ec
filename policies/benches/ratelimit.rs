//! Cost of one local rate-limit decision, in nanoseconds.
//!
//! `cargo bench -p mtls-policies --bench ratelimit` prints one line per
//! scenario: one hot key or 100,000 keys (within the limiter's capacity), a
//! spray of fresh keys past the capacity (eviction on every shard fill), on
//! one thread and on two. Each decision reads the monotonic clock, hashes the
//! key, takes its shard's lock and runs GCRA, as a request would.
//! "ns/decision/thread" is the latency one request pays; "wall ns/decision"
//! is elapsed time over all decisions, the inverse of throughput.

use std::hint::black_box;
use std::time::Instant;

use mtls_policies::{Gcra, LocalLimiter, MonotonicClock, Quota, RuleId};

const DECISIONS_PER_THREAD: usize = 2_000_000;
const CAPACITY: usize = 131_072;

fn keys(count: usize, prefix: &str) -> Vec<String> {
    (0..count)
        .map(|n| format!("{prefix}203.0.{}.{}", n / 256, n % 256))
        .collect()
}

/// Runs `DECISIONS_PER_THREAD` decisions on each of `threads` threads over
/// `keys` (thread `t` starts at a different offset) and returns the wall
/// time per decision, and the share allowed.
fn run(limiter: &LocalLimiter, gcra: &Gcra, keys: &[String], threads: usize) -> (f64, f64) {
    let started = Instant::now();
    let allowed: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                scope.spawn(move || {
                    let mut allowed = 0;
                    let offset = thread * keys.len() / threads.max(1);
                    for n in 0..DECISIONS_PER_THREAD {
                        let key = &keys[(offset + n) % keys.len()];
                        if black_box(limiter.check(RuleId(0), key, gcra)).allowed {
                            allowed += 1;
                        }
                    }
                    allowed
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or(0))
            .sum()
    });
    let elapsed = started.elapsed().as_nanos() as f64;
    let total = (DECISIONS_PER_THREAD * threads) as f64;
    (elapsed / total, allowed as f64 / total)
}

/// Cost of one reading of the clock every decision takes.
fn clock_cost() -> f64 {
    let clock = MonotonicClock::new();
    let started = Instant::now();
    for _ in 0..DECISIONS_PER_THREAD {
        black_box(mtls_policies::Clock::now(&clock));
    }
    started.elapsed().as_nanos() as f64 / DECISIONS_PER_THREAD as f64
}

fn main() {
    // Generous enough that most decisions admit (and so write), the slower path.
    let gcra = Gcra::new(
        Quota::per_second(1_000_000, 10_000).unwrap_or_else(|error| {
            panic!("bench quota: {error}");
        }),
    );
    let one = keys(1, "");
    let many = keys(100_000, "");
    let spray = keys(1_000_000, "spray-");

    println!(
        "local limiter, capacity {CAPACITY} keys, {DECISIONS_PER_THREAD} decisions per thread"
    );
    println!(
        "(of which the monotonic clock read: {:.1} ns per decision)",
        clock_cost()
    );
    println!(
        "{:<28} {:>7} {:>18} {:>20} {:>8}",
        "scenario", "threads", "ns/decision/thread", "wall ns/decision", "allowed"
    );
    for (name, keys) in [
        ("1 key", &one),
        ("100k keys", &many),
        ("1M fresh keys (evicting)", &spray),
    ] {
        for threads in [1, 2] {
            let limiter = LocalLimiter::new(CAPACITY, MonotonicClock::new())
                .unwrap_or_else(|error| panic!("bench limiter: {error}"));
            // Warm up: touch every key once so tables and caches are as in
            // steady state.
            for key in keys.iter().take(CAPACITY) {
                black_box(limiter.check(RuleId(0), key, &gcra));
            }
            let (ns, allowed) = run(&limiter, &gcra, keys, threads);
            println!(
                "{name:<28} {threads:>7} {:>18.1} {ns:>20.1} {:>7.1}%",
                ns * threads as f64,
                allowed * 100.0
            );
        }
    }
}
