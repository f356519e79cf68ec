//! Latency histograms: HdrHistogram in microseconds, so percentiles keep three significant
//! digits from 1 µs to 100 s with constant memory and O(1) recording — recording must cost
//! nothing next to a handshake, and merging per-worker histograms must be exact.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest value kept exactly, in µs (100 s); longer ones count as 100 s.
const MAX_US: u64 = 100_000_000;

/// Percentiles reported in the summary.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Samples.
    pub count: u64,
    pub min_us: u64,
    pub mean_us: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
}

/// One point of a latency distribution: the latency at or below which `percentile` % of
/// samples fall.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DistributionPoint {
    pub percentile: f64,
    pub us: u64,
}

/// A latency histogram in microseconds.
#[derive(Clone, Debug)]
pub struct LatencyHistogram(Histogram<u64>);

impl LatencyHistogram {
    /// Three significant digits: for the run's totals.
    pub fn precise() -> Self {
        Self::with_sigfig(3)
    }

    /// Two significant digits: for per-second intervals, which are reset every second and only
    /// feed the timeline and the progress line.
    pub fn coarse() -> Self {
        Self::with_sigfig(2)
    }

    fn with_sigfig(sigfig: u8) -> Self {
        // Constant, valid bounds (1 ≤ low, high ≥ 2·low, sigfig ≤ 5): creation cannot fail.
        LatencyHistogram(
            Histogram::new_with_bounds(1, MAX_US, sigfig).expect("constant histogram bounds"),
        )
    }

    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros())
            .unwrap_or(MAX_US)
            .clamp(1, MAX_US);
        self.0.saturating_record(us);
    }

    /// Adds every sample of `other`. Both have the same range, so nothing is out of range.
    pub fn add(&mut self, other: &LatencyHistogram) {
        if self.0.add(&other.0).is_err() {
            // Unreachable with equal bounds; never lose the samples silently all the same.
            for v in other.0.iter_recorded() {
                self.0
                    .saturating_record_n(v.value_iterated_to(), v.count_at_value());
            }
        }
    }

    pub fn reset(&mut self) {
        self.0.reset();
    }

    pub fn count(&self) -> u64 {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The latency at `percentile` (0–100), in µs; 0 when empty.
    pub fn at(&self, percentile: f64) -> u64 {
        if self.0.is_empty() {
            return 0;
        }
        self.0.value_at_quantile(percentile / 100.0)
    }

    pub fn max_us(&self) -> u64 {
        self.0.max()
    }

    pub fn percentiles(&self) -> Percentiles {
        if self.0.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            count: self.0.len(),
            min_us: self.0.min(),
            mean_us: (self.0.mean() * 10.0).round() / 10.0,
            p50_us: self.at(50.0),
            p90_us: self.at(90.0),
            p99_us: self.at(99.0),
            p999_us: self.at(99.9),
            max_us: self.0.max(),
        }
    }

    /// The percentile spectrum, evenly spaced on the "nines" scale (0, 90, 99, 99.9, ... %),
    /// up to the resolution the sample count supports, plus the maximum.
    pub fn distribution(&self) -> Vec<DistributionPoint> {
        if self.0.is_empty() {
            return Vec::new();
        }
        // Beyond 1 − 1/count the percentiles are all the maximum: stop there.
        let nines_max = (self.0.len() as f64).log10().min(5.0);
        let steps = (nines_max * 10.0 + 1e-9).floor() as u32;
        let mut out: Vec<DistributionPoint> = (0..=steps)
            .map(|k| {
                let percentile = 100.0 * (1.0 - 10f64.powf(-(k as f64) / 10.0));
                DistributionPoint {
                    percentile: (percentile * 1e4).round() / 1e4,
                    us: self.at(percentile),
                }
            })
            .collect();
        out.push(DistributionPoint {
            percentile: 100.0,
            us: self.0.max(),
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut h = LatencyHistogram::precise();
        for us in 1..=1000u64 {
            h.record(Duration::from_micros(us));
        }
        let p = h.percentiles();
        assert_eq!(p.count, 1000);
        assert_eq!(p.min_us, 1);
        assert_eq!(p.p50_us, 500);
        assert_eq!(p.p90_us, 900);
        assert_eq!(p.p99_us, 990);
        assert!((999..=1000).contains(&p.p999_us), "{}", p.p999_us);
        assert_eq!(p.max_us, 1000);
        assert_eq!(p.mean_us, 500.5);
    }

    #[test]
    fn merging_is_exact_and_extremes_saturate() {
        let mut a = LatencyHistogram::precise();
        let mut b = LatencyHistogram::precise();
        a.record(Duration::from_micros(100));
        b.record(Duration::from_secs(1000)); // beyond the range: counted as 100 s
        b.record(Duration::ZERO); // below it: counted as 1 µs
        a.add(&b);
        assert_eq!(a.count(), 3);
        assert_eq!(a.percentiles().min_us, 1);
        assert!(a.max_us() >= MAX_US && a.max_us() <= MAX_US + MAX_US / 1000);
    }

    #[test]
    fn distribution_ends_at_the_max_and_is_monotonic() {
        let mut h = LatencyHistogram::coarse();
        for us in 1..=10_000u64 {
            h.record(Duration::from_micros(us));
        }
        let d = h.distribution();
        assert_eq!(d.first().map(|p| p.percentile), Some(0.0));
        assert_eq!(d.last().map(|p| p.percentile), Some(100.0));
        // log10(10000) = 4 nines, 10 steps each, plus the max.
        assert_eq!(d.len(), 42);
        assert!(d
            .windows(2)
            .all(|w| w[0].us <= w[1].us && w[0].percentile < w[1].percentile));
        assert!(LatencyHistogram::precise().distribution().is_empty());
    }
}
