//! The live line on the terminal: successes, rate, errors and p99 so far, refreshed every
//! second by the runner's sampler. indicatif draws nothing when stderr is not a terminal, so
//! logs and CI output only get the final summary.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::fmt_us;

/// Figures for one refresh.
#[derive(Clone, Copy, Debug, Default)]
pub struct Live {
    pub elapsed: Duration,
    pub successes: u64,
    pub errors: u64,
    /// Successes per second over the last interval.
    pub rate: f64,
    /// Whole-iteration p99 over the measured window so far, µs.
    pub p99_us: u64,
}

pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        let target = if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr_with_hz(4)
        };
        let bar = ProgressBar::with_draw_target(None, target);
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
            bar.set_style(style);
        }
        Progress { bar }
    }

    pub fn warming_up(&self, warmup: Duration) {
        self.bar.set_message(format!(
            "warming up for {}",
            humantime::format_duration(warmup)
        ));
    }

    pub fn update(&self, live: &Live) {
        if self.bar.is_hidden() {
            return;
        }
        self.bar.set_message(format!(
            "{:>5.0}s  ok {}  {:.0}/s  errors {}  p99 {}",
            live.elapsed.as_secs_f64(),
            live.successes,
            live.rate,
            live.errors,
            fmt_us(live.p99_us),
        ));
        self.bar.tick();
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
