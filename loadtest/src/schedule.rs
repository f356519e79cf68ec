//! When iterations start, which ones are measured, and from when their latency counts.
//!
//! Closed loop: every worker starts its next iteration as soon as the previous one ends, and
//! latency runs from that actual start. Open loop (`--rate`): iteration *i* is due at
//! `origin + i / rate`, whether or not a worker is free then; its latency runs from that
//! *intended* time. A server that stalls for a second therefore shows a second of latency on
//! every iteration that was due during the stall — instead of the generator quietly sending
//! less (coordinated omission), which would hide the stall from the percentiles.
//!
//! Tickets come from one shared counter, so the intended times are strictly increasing and the
//! schedule never depends on which worker happens to be free. All of it is pure arithmetic on
//! instants handed in by the caller, which is what the unit tests below drive.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How iterations are paced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pacing {
    /// As fast as the workers go.
    Closed,
    /// A fixed rate, iterations per second.
    Open { per_second: f64 },
}

/// One iteration's permission to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket {
    /// When it should start (open loop only).
    pub intended: Option<Instant>,
    /// Whether it belongs to the measured window (not the warm-up).
    pub measured: bool,
}

/// The latency of one iteration, as [`Ticket::timing`] accounts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// From the intended start (open loop) or the actual start (closed loop) to completion.
    pub latency: Duration,
    /// Open loop: how late the iteration actually started (every worker busy, or timer slack).
    pub lag: Option<Duration>,
}

impl Ticket {
    /// Accounts an iteration that actually started at `started` and completed at `finished`.
    pub fn timing(&self, started: Instant, finished: Instant) -> Timing {
        match self.intended {
            Some(intended) => Timing {
                latency: finished.saturating_duration_since(intended),
                lag: Some(started.saturating_duration_since(intended)),
            },
            None => Timing {
                latency: finished.saturating_duration_since(started),
                lag: None,
            },
        }
    }
}

/// Hands out tickets until the run is over.
#[derive(Debug)]
pub struct Schedule {
    origin: Instant,
    measure_from: Instant,
    deadline: Option<Instant>,
    count: Option<u64>,
    pacing: Pacing,
    /// Open loop: nanoseconds between intended starts.
    interval_ns: f64,
    /// Open loop: the first ticket due at or after `measure_from`.
    first_measured: u64,
    /// Open loop: the next ticket index.
    issued: AtomicU64,
    /// Closed loop: measured tickets handed out so far.
    measured_issued: AtomicU64,
}

impl Schedule {
    /// A schedule starting at `origin`: `warmup` unmeasured, then a measured window that ends
    /// after `duration` or `count` iterations, whichever comes first (at least one must be set
    /// for the run to end).
    pub fn new(
        origin: Instant,
        pacing: Pacing,
        warmup: Duration,
        duration: Option<Duration>,
        count: Option<u64>,
    ) -> Schedule {
        let measure_from = origin + warmup;
        let interval_ns = match pacing {
            Pacing::Open { per_second } => 1e9 / per_second,
            Pacing::Closed => 0.0,
        };
        let mut schedule = Schedule {
            origin,
            measure_from,
            deadline: duration.map(|d| measure_from + d),
            count,
            pacing,
            interval_ns,
            first_measured: 0,
            issued: AtomicU64::new(0),
            measured_issued: AtomicU64::new(0),
        };
        if let Pacing::Open { .. } = pacing {
            // The smallest i with intended(i) >= measure_from, computed with the same rounding
            // as intended() so the two can never disagree.
            let mut i = (warmup.as_nanos() as f64 / interval_ns).ceil() as u64;
            while i > 0 && schedule.intended(i - 1) >= measure_from {
                i -= 1;
            }
            while schedule.intended(i) < measure_from {
                i += 1;
            }
            schedule.first_measured = i;
        }
        schedule
    }

    /// Start of the measured window.
    pub fn measure_from(&self) -> Instant {
        self.measure_from
    }

    /// End of the measured window, if it is time-bounded.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub fn pacing(&self) -> Pacing {
        self.pacing
    }

    /// Intended start of open-loop ticket `i`.
    pub fn intended(&self, i: u64) -> Instant {
        self.origin + Duration::from_nanos((i as f64 * self.interval_ns).round() as u64)
    }

    /// The next ticket for a worker that is free at `now`, or `None` when the run is over.
    pub fn next(&self, now: Instant) -> Option<Ticket> {
        match self.pacing {
            Pacing::Closed => {
                if now < self.measure_from {
                    return Some(Ticket {
                        intended: None,
                        measured: false,
                    });
                }
                if self.deadline.is_some_and(|d| now >= d) {
                    return None;
                }
                if let Some(count) = self.count {
                    if self.measured_issued.fetch_add(1, Ordering::Relaxed) >= count {
                        return None;
                    }
                }
                Some(Ticket {
                    intended: None,
                    measured: true,
                })
            }
            Pacing::Open { .. } => {
                let i = self.issued.fetch_add(1, Ordering::Relaxed);
                let intended = self.intended(i);
                if self.deadline.is_some_and(|d| intended >= d) {
                    return None;
                }
                let measured = i >= self.first_measured;
                if let Some(count) = self.count {
                    if measured && i - self.first_measured >= count {
                        return None;
                    }
                }
                Some(Ticket {
                    intended: Some(intended),
                    measured,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// One worker against a server whose service times are `service`: returns each measured
    /// iteration's timing, with time advanced by arithmetic only — the same steps the runner's
    /// worker loop takes (take a ticket, wait for its intended time if any, run, account).
    fn simulate(schedule: &Schedule, t0: Instant, service: &[Duration]) -> Vec<Timing> {
        let mut now = t0;
        let mut out = Vec::new();
        for s in service {
            let Some(ticket) = schedule.next(now) else {
                break;
            };
            let started = ticket.intended.map_or(now, |i| i.max(now));
            let finished = started + *s;
            now = finished;
            if ticket.measured {
                out.push(ticket.timing(started, finished));
            }
        }
        out
    }

    #[test]
    fn open_loop_counts_a_stall_against_every_iteration_due_during_it() {
        let t0 = Instant::now();
        // 100/s: one iteration due every 10 ms. Service takes 1 ms, except iteration 10: 500 ms.
        let schedule = Schedule::new(
            t0,
            Pacing::Open { per_second: 100.0 },
            Duration::ZERO,
            None,
            Some(100),
        );
        let mut service = vec![MS; 100];
        service[10] = 500 * MS;
        let t = simulate(&schedule, t0, &service);
        assert_eq!(t.len(), 100);
        assert_eq!(t[9].latency, MS);
        assert_eq!(t[10].latency, 500 * MS);
        // Due at 110 ms, started at 600 ms when the stall ended, done at 601 ms.
        assert_eq!(t[11].latency, 491 * MS);
        assert_eq!(t[11].lag, Some(490 * MS));
        // Each later one was due 10 ms later and started 1 ms later: 9 ms less latency.
        assert_eq!(t[12].latency, 482 * MS);
        assert_eq!(t[13].latency, 473 * MS);
        // Iteration k waits 590 − 9k ms: the backlog drains at k = 66, after which latency is
        // service time again.
        assert_eq!(t[65].latency, 5 * MS);
        assert_eq!(t[66].latency, MS);
        assert_eq!(t[99].latency, MS);
        assert_eq!(t[99].lag, Some(Duration::ZERO));
        let stalled = t.iter().filter(|x| x.latency > 100 * MS).count();
        assert_eq!(stalled, 45, "the stall shows in 45 of 100 samples");
    }

    #[test]
    fn closed_loop_hides_the_same_stall_in_one_sample() {
        // The contrast that motivates the open loop: the same server, measured closed-loop.
        let t0 = Instant::now();
        let schedule = Schedule::new(t0, Pacing::Closed, Duration::ZERO, None, Some(100));
        let mut service = vec![MS; 100];
        service[10] = 500 * MS;
        let t = simulate(&schedule, t0, &service);
        assert_eq!(t.len(), 100);
        assert_eq!(t.iter().filter(|x| x.latency > 100 * MS).count(), 1);
        assert_eq!(t[11].latency, MS);
        assert_eq!(t[11].lag, None);
    }

    #[test]
    fn open_loop_intended_times_follow_the_rate_without_drift() {
        let t0 = Instant::now();
        let s = Schedule::new(
            t0,
            Pacing::Open { per_second: 3.0 },
            Duration::ZERO,
            None,
            None,
        );
        assert_eq!(s.intended(0), t0);
        assert_eq!(s.intended(3), t0 + Duration::from_secs(1));
        assert_eq!(s.intended(3000), t0 + Duration::from_secs(1000));
        // Tickets are handed out in order, regardless of when they are asked for.
        let late = t0 + Duration::from_secs(60);
        assert_eq!(s.next(late).and_then(|t| t.intended), Some(t0));
        assert_eq!(
            s.next(t0).and_then(|t| t.intended),
            Some(t0 + Duration::from_nanos(333_333_333))
        );
    }

    #[test]
    fn open_loop_warmup_and_deadline() {
        let t0 = Instant::now();
        // 10/s, 1 s warm-up, 2 s measured: tickets 0..10 warm up, 10..30 are measured.
        let s = Schedule::new(
            t0,
            Pacing::Open { per_second: 10.0 },
            Duration::from_secs(1),
            Some(Duration::from_secs(2)),
            None,
        );
        let tickets: Vec<Ticket> = std::iter::from_fn(|| s.next(t0)).collect();
        assert_eq!(tickets.len(), 30);
        assert_eq!(tickets.iter().filter(|t| t.measured).count(), 20);
        assert!(!tickets[9].measured);
        assert!(tickets[10].measured);
        assert_eq!(tickets[10].intended, Some(s.measure_from()));
        assert!(s.next(t0).is_none(), "stays over");
    }

    #[test]
    fn open_loop_count_excludes_warmup() {
        let t0 = Instant::now();
        let s = Schedule::new(
            t0,
            Pacing::Open { per_second: 7.0 },
            Duration::from_millis(500),
            None,
            Some(5),
        );
        let tickets: Vec<Ticket> = std::iter::from_fn(|| s.next(t0)).collect();
        // ceil(0.5 s × 7/s) = 4 warm-up tickets, then exactly 5 measured.
        assert_eq!(tickets.iter().filter(|t| !t.measured).count(), 4);
        assert_eq!(tickets.iter().filter(|t| t.measured).count(), 5);
        assert!(tickets
            .iter()
            .all(|t| t.measured == (t.intended >= Some(s.measure_from()))));
    }

    #[test]
    fn closed_loop_warmup_count_and_deadline() {
        let t0 = Instant::now();
        let s = Schedule::new(
            t0,
            Pacing::Closed,
            Duration::from_secs(1),
            Some(Duration::from_secs(5)),
            Some(3),
        );
        // Before the window: as many unmeasured tickets as asked for.
        for _ in 0..10 {
            assert_eq!(s.next(t0).map(|t| t.measured), Some(false));
        }
        let inside = t0 + Duration::from_secs(2);
        for _ in 0..3 {
            assert_eq!(s.next(inside).map(|t| t.measured), Some(true));
        }
        assert_eq!(s.next(inside), None, "count reached");

        let s = Schedule::new(
            t0,
            Pacing::Closed,
            Duration::ZERO,
            Some(Duration::from_secs(5)),
            None,
        );
        assert!(s.next(t0 + Duration::from_millis(4999)).is_some());
        assert_eq!(
            s.next(t0 + Duration::from_secs(5)),
            None,
            "deadline reached"
        );
    }

    #[test]
    fn timing_never_goes_negative() {
        let t0 = Instant::now();
        let early = Ticket {
            intended: Some(t0 + Duration::from_secs(1)),
            measured: true,
        };
        // A clock read before the intended time (the sleep returned early): zero, not a panic.
        let t = early.timing(t0, t0 + MS);
        assert_eq!(t.latency, Duration::ZERO);
        assert_eq!(t.lag, Some(Duration::ZERO));
    }
}
