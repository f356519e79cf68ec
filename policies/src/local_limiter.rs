//! The in-process limiter: GCRA state per key, in bounded memory.
//!
//! Each replica keeps its own buckets so that a flood is cut off before it
//! costs a Redis round trip, and so that limiting goes on when Redis is away.
//!
//! **Memory bound.** At most [`LocalLimiter::capacity`] keys (≤ the
//! `max_keys` asked for) are held, in tables allocated once at construction
//! and never grown: a key is an 8-byte hash, a value an 8-byte TAT, and each
//! table is sized for twice its share of keys, so the whole limiter is a
//! fixed 45 to 90 bytes per key of capacity (about 4.5 MB for 100,000 keys)
//! whatever clients send (see [`LocalLimiter::table_capacity`]).
//!
//! **Eviction.** An entry whose TAT has passed describes a full bucket,
//! exactly what an absent entry means, so those go first and lose nothing.
//! Only when a shard is full of clients that currently owe something are
//! live entries dropped — those with the smallest TAT, i.e. the clients
//! nearest to a full bucket, for whom forgetting costs the fewest extra
//! requests. The trade-off: a client spraying fresh keys can push other
//! clients out, and those clients get a fresh burst. But a spray key that
//! made one request owes one emission interval, while a client being
//! throttled owes close to the whole window, so the spray evicts itself and
//! light users long before it evicts the clients being limited; to push a
//! throttled client out, each spray key must itself be driven into as much
//! debt, which the other rules (per address) limit. Refusing new keys when
//! full was the alternative, and it would let the same spray lock out every
//! new client instead.
//!
//! **Concurrency.** Keys are spread over independently locked shards, so
//! requests for different keys rarely contend and no lock is global. Plain
//! `std::sync::Mutex<HashMap>` shards instead of a concurrent-map crate: the
//! critical section is one lookup and one store, and the eviction policy
//! needs to scan a shard under its lock anyway.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::{Mutex, MutexGuard, PoisonError};

use thiserror::Error;

use crate::gcra::{decide, Clock, Decision, Gcra, MonotonicClock};
use crate::rate_rules::RuleId;

/// Shards when not told otherwise: well above the core counts the edge runs
/// on, so two requests rarely wait for the same lock.
pub const DEFAULT_SHARDS: usize = 64;

/// A limiter that cannot be built as asked.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LimiterError {
    /// Room for no key at all.
    #[error("a local limiter needs room for at least one key")]
    ZeroCapacity,
    /// No shard.
    #[error("a local limiter needs at least one shard")]
    ZeroShards,
}

/// Keys are already SipHash values; hashing them again would only cost time.
#[derive(Debug, Default, Clone, Copy)]
struct PrehashedHasher(u64);

impl Hasher for PrehashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `HashMap<u64, _>`; fold anything else
        // in so the hasher is still correct if that ever changes.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

type TatMap = HashMap<u64, u64, BuildHasherDefault<PrehashedHasher>>;

/// One shard per cache line (or two on CPUs with 128-byte lines): without the
/// padding, neighbouring shards' locks share a line and threads working on
/// different shards still slow each other down.
#[repr(align(128))]
struct Padded(Mutex<Shard>);

struct Shard {
    tats: TatMap,
}

impl Shard {
    /// Makes room for one more key in a full shard: expired entries first,
    /// then live ones from the smallest TAT up, down to 7/8 full so that the
    /// next inserts need no scan (an O(n) pass buys n/8 cheap inserts).
    fn make_room(&mut self, capacity: usize, now: u64) {
        self.tats.retain(|_, tat| *tat > now);
        let low_water = capacity - (capacity / 8).max(1);
        let len = self.tats.len();
        if len <= low_water {
            return;
        }
        let mut excess = len - low_water;
        let mut tats: Vec<u64> = self.tats.values().copied().collect();
        let (_, threshold, _) = tats.select_nth_unstable(excess - 1);
        let threshold = *threshold;
        self.tats.retain(|_, tat| {
            if *tat < threshold {
                excess -= 1;
                false
            } else {
                true
            }
        });
        self.tats.retain(|_, tat| {
            if excess > 0 && *tat == threshold {
                excess -= 1;
                false
            } else {
                true
            }
        });
    }
}

/// GCRA buckets for many keys, bounded and sharded.
pub struct LocalLimiter<C: Clock = MonotonicClock> {
    clock: C,
    /// Keyed per process, so clients cannot compute which keys collide or
    /// share a shard.
    hasher: RandomState,
    shards: Box<[Padded]>,
    shard_capacity: usize,
}

impl<C: Clock> LocalLimiter<C> {
    /// Room for at most `max_keys` keys over [`DEFAULT_SHARDS`] shards (fewer
    /// if `max_keys` is smaller).
    pub fn new(max_keys: usize, clock: C) -> Result<LocalLimiter<C>, LimiterError> {
        LocalLimiter::with_shards(max_keys, DEFAULT_SHARDS.min(max_keys.max(1)), clock)
    }

    /// Room for at most `max_keys` keys: each of the `shards` shards holds
    /// `max_keys / shards` (rounded down, at least one, so `shards` is
    /// lowered to `max_keys` if above it).
    pub fn with_shards(
        max_keys: usize,
        shards: usize,
        clock: C,
    ) -> Result<LocalLimiter<C>, LimiterError> {
        if max_keys == 0 {
            return Err(LimiterError::ZeroCapacity);
        }
        if shards == 0 {
            return Err(LimiterError::ZeroShards);
        }
        let shards = shards.min(max_keys);
        let shard_capacity = max_keys / shards;
        // Twice the entries: with deletes leaving tombstones, a table sized
        // for exactly its entries may double when it next rehashes; with half
        // its room free it always rehashes in place, so it never grows.
        let shards = (0..shards)
            .map(|_| {
                Padded(Mutex::new(Shard {
                    tats: TatMap::with_capacity_and_hasher(
                        shard_capacity.saturating_mul(2),
                        BuildHasherDefault::default(),
                    ),
                }))
            })
            .collect();
        Ok(LocalLimiter {
            clock,
            hasher: RandomState::new(),
            shards,
            shard_capacity,
        })
    }

    /// One request for `key` under rule `rule`, now by the limiter's clock.
    pub fn check(&self, rule: RuleId, key: &str, gcra: &Gcra) -> Decision {
        self.check_at(rule, key, gcra, self.clock.now())
    }

    /// One request for `key` under rule `rule` at `now` (nanoseconds on the
    /// limiter's clock).
    ///
    /// Keys are held as a keyed 64-bit hash of `(rule, key)`, not as text, so
    /// an entry has a fixed size however long the key. Two keys sharing a
    /// hash would share a bucket — stricter for both, never looser — and
    /// with a per-process random hash key that takes about 2^32 live keys to
    /// happen by chance and cannot be arranged by a client.
    pub fn check_at(&self, rule: RuleId, key: &str, gcra: &Gcra, now: u64) -> Decision {
        let hash = self.hasher.hash_one((rule.0, key));
        let mut shard = self.shard(hash);
        if let Some(tat) = shard.tats.get_mut(&hash) {
            let outcome = decide(Some(*tat), now, gcra);
            *tat = outcome.new_tat;
            return outcome.decision;
        }
        // Unknown key: a full bucket, so always admitted (burst >= 1).
        let outcome = decide(None, now, gcra);
        if outcome.decision.allowed {
            if shard.tats.len() >= self.shard_capacity {
                shard.make_room(self.shard_capacity, now);
            }
            shard.tats.insert(hash, outcome.new_tat);
        }
        outcome.decision
    }

    /// Drops every entry whose bucket is full again by the limiter's clock.
    /// Optional: eviction does this on demand; a periodic sweep only returns
    /// memory to the allocator's view of "free" sooner.
    pub fn sweep(&self) {
        self.sweep_at(self.clock.now());
    }

    /// [`sweep`](Self::sweep) at `now`.
    pub fn sweep_at(&self, now: u64) {
        for shard in self.shards.iter() {
            lock(shard).tats.retain(|_, tat| *tat > now);
        }
    }

    /// Most keys ever held: shards × per-shard room, at most `max_keys`.
    pub fn capacity(&self) -> usize {
        self.shard_capacity * self.shards.len()
    }

    /// Keys held now (locks each shard in turn: for metrics and tests).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).tats.len()).sum()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries the shard tables can hold without reallocating, summed: the
    /// allocation, since each table has `table_capacity × 8/7` slots of 16
    /// bytes plus one control byte. Never rises above its value at
    /// construction (tables never grow); it dips while deleted slots await
    /// an in-place rehash.
    pub fn table_capacity(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| lock(shard).tats.capacity())
            .sum()
    }

    /// The limiter's clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    fn shard(&self, hash: u64) -> MutexGuard<'_, Shard> {
        // High half picks the shard; the table uses the whole hash, so keys
        // within one shard still spread over its buckets.
        let index = usize::try_from(hash >> 32).unwrap_or(0) % self.shards.len();
        lock(&self.shards[index])
    }
}

impl<C: Clock> std::fmt::Debug for LocalLimiter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalLimiter")
            .field("shards", &self.shards.len())
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

/// A shard's state is a map of plain integers, consistent after any panic,
/// so a poisoned lock is taken over rather than failing every later request.
fn lock(shard: &Padded) -> MutexGuard<'_, Shard> {
    shard.0.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gcra::{ManualClock, Quota};

    #[test]
    fn rejects_zero_sizes() {
        assert_eq!(
            LocalLimiter::new(0, ManualClock::new(0)).err(),
            Some(LimiterError::ZeroCapacity)
        );
        assert_eq!(
            LocalLimiter::with_shards(1, 0, ManualClock::new(0)).err(),
            Some(LimiterError::ZeroShards)
        );
        let small = LocalLimiter::new(3, ManualClock::new(0)).unwrap();
        assert_eq!(small.capacity(), 3);
    }

    #[test]
    fn eviction_keeps_the_deepest_debt() {
        let limiter = LocalLimiter::with_shards(8, 1, ManualClock::new(0)).unwrap();
        let gcra = Gcra::new(Quota::per_second(1, 10).unwrap());
        // A flooder drains its whole burst.
        for _ in 0..10 {
            assert!(limiter.check_at(RuleId(0), "flooder", &gcra, 0).allowed);
        }
        assert!(!limiter.check_at(RuleId(0), "flooder", &gcra, 0).allowed);
        // A spray of single-request keys fills and overflows the shard.
        for n in 0..100 {
            limiter.check_at(RuleId(0), &format!("spray-{n}"), &gcra, 0);
            assert!(limiter.len() <= 8);
        }
        assert!(!limiter.check_at(RuleId(0), "flooder", &gcra, 0).allowed);
    }

    #[test]
    fn rules_do_not_share_buckets() {
        let limiter = LocalLimiter::new(16, ManualClock::new(0)).unwrap();
        let gcra = Gcra::new(Quota::per_second(1, 1).unwrap());
        assert!(limiter.check_at(RuleId(0), "k", &gcra, 0).allowed);
        assert!(limiter.check_at(RuleId(1), "k", &gcra, 0).allowed);
        assert!(!limiter.check_at(RuleId(0), "k", &gcra, 0).allowed);
    }

    #[test]
    fn sweep_drops_full_buckets_only() {
        let clock = ManualClock::new(0);
        let limiter = LocalLimiter::new(16, &clock).unwrap();
        let short = Gcra::new(Quota::per_second(10, 1).unwrap());
        let long = Gcra::new(Quota::per_minute(1, 1).unwrap());
        limiter.check(RuleId(0), "short", &short);
        limiter.check(RuleId(0), "long", &long);
        clock.advance(std::time::Duration::from_secs(1));
        limiter.sweep();
        assert_eq!(limiter.len(), 1);
        assert!(!limiter.check(RuleId(0), "long", &long).allowed);
    }
}
