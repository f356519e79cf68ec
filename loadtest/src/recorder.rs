//! Per-shard tallies of measured iterations. Workers record into one of a few shards (each
//! behind its own, rarely contended mutex) and the runner merges them at the end; a live
//! interval part is drained every second for the timeline and the progress line.
//!
//! Phase latencies and handshake counts come from successful iterations only, so a flood of
//! refused connections cannot make the handshake percentiles look fast; failures are counted by
//! class.

use std::collections::{BTreeMap, HashMap};

use rustls::ProtocolVersion;

use crate::classify::ErrorClass;
use crate::histogram::LatencyHistogram;
use crate::modes::Outcome;
use crate::schedule::Timing;

/// Latency histograms by phase.
#[derive(Clone, Debug)]
pub struct Histograms {
    /// TCP connect.
    pub connect: LatencyHistogram,
    /// TLS handshake, from TCP connected to handshake complete (client's view).
    pub handshake: LatencyHistogram,
    /// Request sent to response body read.
    pub request: LatencyHistogram,
    /// Whole iteration, from its intended (open loop) or actual (closed loop) start.
    pub total: LatencyHistogram,
    /// Open loop: actual start − intended start.
    pub lag: LatencyHistogram,
}

impl Histograms {
    fn new() -> Self {
        Histograms {
            connect: LatencyHistogram::precise(),
            handshake: LatencyHistogram::precise(),
            request: LatencyHistogram::precise(),
            total: LatencyHistogram::precise(),
            lag: LatencyHistogram::precise(),
        }
    }

    fn add(&mut self, o: &Histograms) {
        self.connect.add(&o.connect);
        self.handshake.add(&o.handshake);
        self.request.add(&o.request);
        self.total.add(&o.total);
        self.lag.add(&o.lag);
    }
}

/// Counters of measured iterations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub attempts: u64,
    pub successes: u64,
    pub errors: u64,
    /// TCP connections established, including those that failed later.
    pub connections: u64,
    /// Handshakes in successful iterations.
    pub handshakes: u64,
    /// Of which resumed.
    pub resumed: u64,
    pub tls12: u64,
    pub tls13: u64,
    /// Responses received, whatever their status.
    pub responses: u64,
}

/// What the live sampler takes every second.
#[derive(Clone, Debug)]
pub struct Interval {
    pub successes: u64,
    pub errors: u64,
    pub total: LatencyHistogram,
}

impl Interval {
    pub fn new() -> Self {
        Interval {
            successes: 0,
            errors: 0,
            total: LatencyHistogram::coarse(),
        }
    }

    pub fn clear(&mut self) {
        self.successes = 0;
        self.errors = 0;
        self.total.reset();
    }
}

impl Default for Interval {
    fn default() -> Self {
        Self::new()
    }
}

/// One shard's tallies.
#[derive(Clone, Debug)]
pub struct Recorder {
    pub hist: Histograms,
    pub counts: Counts,
    pub errors: HashMap<ErrorClass, u64>,
    pub statuses: BTreeMap<u16, u64>,
    interval: Interval,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    pub fn new() -> Self {
        Recorder {
            hist: Histograms::new(),
            counts: Counts::default(),
            errors: HashMap::new(),
            statuses: BTreeMap::new(),
            interval: Interval::new(),
        }
    }

    /// Records one measured iteration.
    pub fn record(&mut self, o: &Outcome, timing: Timing) {
        let c = &mut self.counts;
        c.attempts += 1;
        if o.connected {
            c.connections += 1;
        }
        if let Some(status) = o.status {
            c.responses += 1;
            *self.statuses.entry(status).or_insert(0) += 1;
        }
        if let Some(e) = o.error {
            c.errors += 1;
            self.interval.errors += 1;
            *self.errors.entry(e).or_insert(0) += 1;
            return;
        }
        c.successes += 1;
        self.interval.successes += 1;
        if let Some(d) = o.handshake {
            c.handshakes += 1;
            c.resumed += u64::from(o.resumed);
            match o.version {
                Some(ProtocolVersion::TLSv1_2) => c.tls12 += 1,
                Some(ProtocolVersion::TLSv1_3) => c.tls13 += 1,
                _ => {}
            }
            self.hist.handshake.record(d);
        }
        if let Some(d) = o.connect {
            self.hist.connect.record(d);
        }
        if let Some(d) = o.request {
            self.hist.request.record(d);
        }
        self.hist.total.record(timing.latency);
        self.interval.total.record(timing.latency);
        if let Some(lag) = timing.lag {
            self.hist.lag.record(lag);
        }
    }

    /// Moves the interval tallies into `into` and starts a new interval.
    pub fn drain_interval(&mut self, into: &mut Interval) {
        into.successes += self.interval.successes;
        into.errors += self.interval.errors;
        into.total.add(&self.interval.total);
        self.interval.clear();
    }

    /// Adds another shard's totals (not its interval).
    pub fn merge(&mut self, o: &Recorder) {
        self.hist.add(&o.hist);
        let (a, b) = (&mut self.counts, &o.counts);
        a.attempts += b.attempts;
        a.successes += b.successes;
        a.errors += b.errors;
        a.connections += b.connections;
        a.handshakes += b.handshakes;
        a.resumed += b.resumed;
        a.tls12 += b.tls12;
        a.tls13 += b.tls13;
        a.responses += b.responses;
        for (k, v) in &o.errors {
            *self.errors.entry(*k).or_insert(0) += v;
        }
        for (k, v) in &o.statuses {
            *self.statuses.entry(*k).or_insert(0) += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Phase;
    use std::time::Duration;

    fn ok(resumed: bool) -> Outcome {
        Outcome {
            connected: true,
            connect: Some(Duration::from_micros(50)),
            handshake: Some(Duration::from_micros(900)),
            request: Some(Duration::from_micros(300)),
            resumed,
            version: Some(ProtocolVersion::TLSv1_3),
            status: Some(200),
            error: None,
        }
    }

    fn timing(us: u64) -> Timing {
        Timing {
            latency: Duration::from_micros(us),
            lag: None,
        }
    }

    #[test]
    fn failures_count_by_class_and_stay_out_of_the_latencies() {
        let mut r = Recorder::new();
        r.record(&ok(false), timing(1300));
        r.record(&ok(true), timing(1200));
        let refused = Outcome {
            error: Some(ErrorClass::ConnectRefused),
            ..Outcome::default()
        };
        r.record(&refused, timing(10));
        let mut not_found = ok(false);
        not_found.error = Some(ErrorClass::Http(404));
        not_found.status = Some(404);
        r.record(&not_found, timing(1250));
        let timeout = Outcome {
            error: Some(ErrorClass::Timeout(Phase::Handshake)),
            connected: true,
            ..Outcome::default()
        };
        r.record(&timeout, timing(10_000_000));

        let c = r.counts;
        assert_eq!((c.attempts, c.successes, c.errors), (5, 2, 3));
        assert_eq!((c.handshakes, c.resumed, c.tls13), (2, 1, 2));
        assert_eq!(c.connections, 4);
        assert_eq!(c.responses, 3);
        assert_eq!(r.hist.total.count(), 2);
        assert_eq!(r.hist.total.max_us(), 1300);
        assert_eq!(r.errors[&ErrorClass::Http(404)], 1);
        assert_eq!(r.statuses[&200], 2);
        assert_eq!(r.statuses[&404], 1);

        let mut into = Interval::new();
        r.drain_interval(&mut into);
        assert_eq!((into.successes, into.errors), (2, 3));
        r.drain_interval(&mut into);
        assert_eq!((into.successes, into.errors), (2, 3), "drained once only");

        let mut merged = Recorder::new();
        merged.merge(&r);
        merged.merge(&r);
        assert_eq!(merged.counts.attempts, 10);
        assert_eq!(merged.errors[&ErrorClass::ConnectRefused], 2);
        assert_eq!(merged.hist.handshake.count(), 4);
    }
}
