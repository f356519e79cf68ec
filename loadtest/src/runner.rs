//! Runs a [`Plan`]: spawns the workers, samples live figures once a second, brackets the
//! measured window with CPU readings, and assembles the [`Summary`].
//!
//! Each worker is one task looping over tickets from the shared [`Schedule`]; with `--rate` it
//! first sleeps until the ticket's intended time. Recording goes to one of a few mutex-guarded
//! shards, so the hot path is a short uncontended lock, not a channel send per iteration.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use tokio::task::JoinSet;

use crate::cpu::{ClockTicks, CpuError, CpuTicks, CpuUsage, Process};
use crate::histogram::LatencyHistogram;
use crate::modes::Worker;
use crate::plan::Plan;
use crate::progress::{Live, Progress};
use crate::recorder::{Counts, Interval, Recorder};
use crate::report::{
    ClientCpu, Distributions, Latencies, ServerCpu, Summary, TimelinePoint, TlsVersions, SCHEMA,
};
use crate::schedule::{Pacing, Schedule};

/// Recording shards: enough that workers rarely meet on a lock, few enough to merge cheaply.
const MAX_SHARDS: usize = 16;

/// A last timeline interval shorter than this is merged into the one before.
const MIN_TAIL: Duration = Duration::from_millis(500);

/// Open loop: warn when iterations typically start this late.
const LAG_WARNING: Duration = Duration::from_millis(5);

/// Why a run could not complete.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("a worker failed: {0}")]
    Worker(#[from] tokio::task::JoinError),
    #[error("cannot read the generator's own CPU time: {0}")]
    Cpu(#[from] CpuError),
}

type Shards = Arc<[Mutex<Recorder>]>;

/// Runs the plan to completion on the current tokio runtime.
pub async fn run(plan: &Plan) -> Result<Summary, RunError> {
    let clock = ClockTicks::detect();
    let started_unix_s = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let shard_count = (plan.concurrency as usize).clamp(1, MAX_SHARDS);
    let shards: Shards = (0..shard_count)
        .map(|_| Mutex::new(Recorder::new()))
        .collect();
    let progress = Progress::new(plan.quiet);

    let origin = Instant::now();
    let schedule = Arc::new(Schedule::new(
        origin,
        plan.pacing,
        plan.warmup,
        plan.duration,
        plan.count,
    ));
    let mut workers = JoinSet::new();
    for i in 0..plan.concurrency as usize {
        let worker = Worker::new(plan.mode, plan.target.clone(), &plan.tls);
        workers.spawn(work(
            worker,
            schedule.clone(),
            shards.clone(),
            i % shard_count,
        ));
    }

    let measure_from = schedule.measure_from();
    let all_done = if plan.warmup.is_zero() {
        false
    } else {
        progress.warming_up(plan.warmup);
        warm_up(&mut workers, measure_from).await?
    };
    let self_before = Process::Current.cpu()?;
    let server_before = plan.server_pid.map(|pid| Process::Pid(pid).cpu());

    let mut sampler = Sampler::new(measure_from);
    if !all_done {
        sampler.until_done(&mut workers, &shards, &progress).await?;
    }
    let end = Instant::now();
    let self_after = Process::Current.cpu()?;
    let server_after = plan.server_pid.map(|pid| Process::Pid(pid).cpu());
    let timeline = sampler.finish(&shards, end);
    progress.finish();

    let mut total = Recorder::new();
    for shard in shards.iter() {
        total.merge(&shard.lock().unwrap_or_else(PoisonError::into_inner));
    }
    let elapsed = end.saturating_duration_since(measure_from);
    let window = Window {
        elapsed,
        clock,
        self_cpu: self_after.since(self_before),
        server: match (plan.server_pid, server_before, server_after) {
            (Some(pid), Some(Ok(before)), Some(Ok(after))) => Some((pid, Ok(after.since(before)))),
            (Some(pid), Some(Err(e)), _) | (Some(pid), _, Some(Err(e))) => Some((pid, Err(e))),
            _ => None,
        },
    };
    Ok(summarise(plan, &total, window, timeline, started_unix_s))
}

/// Waits for the warm-up to end; whether every worker finished before it did.
async fn warm_up(workers: &mut JoinSet<()>, measure_from: Instant) -> Result<bool, RunError> {
    let warmup_over = tokio::time::sleep_until(measure_from.into());
    tokio::pin!(warmup_over);
    loop {
        tokio::select! {
            _ = &mut warmup_over => return Ok(false),
            joined = workers.join_next() => match joined {
                None => return Ok(true),
                Some(r) => r?,
            },
        }
    }
}

/// The measured window's sampling, once a second: the live progress line and the timeline.
struct Sampler {
    measure_from: Instant,
    live: Live,
    cumulative: LatencyHistogram,
    /// The tallies of the current timeline interval.
    interval: Interval,
    timeline: Vec<TimelinePoint>,
    prev_tick: Instant,
    last_tick: Instant,
}

impl Sampler {
    fn new(measure_from: Instant) -> Sampler {
        Sampler {
            measure_from,
            live: Live::default(),
            cumulative: LatencyHistogram::coarse(),
            interval: Interval::new(),
            timeline: Vec::new(),
            prev_tick: measure_from,
            last_tick: measure_from,
        }
    }

    /// Samples every second until every worker has finished.
    async fn until_done(
        &mut self,
        workers: &mut JoinSet<()>,
        shards: &Shards,
        progress: &Progress,
    ) -> Result<(), RunError> {
        let mut ticker = tokio::time::interval_at(
            (self.measure_from + Duration::from_secs(1)).into(),
            Duration::from_secs(1),
        );
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => self.tick(shards, progress),
                joined = workers.join_next() => match joined {
                    None => return Ok(()),
                    Some(r) => r?,
                },
            }
        }
    }

    fn tick(&mut self, shards: &Shards, progress: &Progress) {
        let now = Instant::now();
        self.interval.clear();
        drain(shards, &mut self.interval);
        self.cumulative.add(&self.interval.total);
        let p = point(&self.interval, self.measure_from, self.last_tick, now);
        self.live.elapsed = now.saturating_duration_since(self.measure_from);
        self.live.successes += self.interval.successes;
        self.live.errors += self.interval.errors;
        self.live.rate = p.rate;
        self.live.p99_us = self.cumulative.at(99.0);
        progress.update(&self.live);
        self.timeline.push(p);
        self.prev_tick = self.last_tick;
        self.last_tick = now;
    }

    /// The timeline with its last point, for the stragglers after the last tick: a short tail
    /// joins the previous point (whose tallies are still in `interval`), so a few milliseconds
    /// of winding down do not plot as a cliff.
    fn finish(mut self, shards: &Shards, end: Instant) -> Vec<TimelinePoint> {
        if !self.timeline.is_empty() && end.saturating_duration_since(self.last_tick) < MIN_TAIL {
            self.timeline.pop();
            drain(shards, &mut self.interval);
            self.timeline.push(point(
                &self.interval,
                self.measure_from,
                self.prev_tick,
                end,
            ));
        } else {
            self.interval.clear();
            drain(shards, &mut self.interval);
            self.timeline.push(point(
                &self.interval,
                self.measure_from,
                self.last_tick,
                end,
            ));
        }
        self.timeline
    }
}

/// One worker's loop.
async fn work(mut worker: Worker, schedule: Arc<Schedule>, shards: Shards, shard: usize) {
    while let Some(ticket) = schedule.next(Instant::now()) {
        if let Some(at) = ticket.intended {
            tokio::time::sleep_until(at.into()).await;
        }
        let started = Instant::now();
        let outcome = worker.iterate().await;
        let finished = Instant::now();
        if ticket.measured {
            shards[shard]
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .record(&outcome, ticket.timing(started, finished));
        }
    }
}

/// Adds every shard's interval tallies to `into` and starts their next interval.
fn drain(shards: &Shards, into: &mut Interval) {
    for shard in shards.iter() {
        shard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain_interval(into);
    }
}

/// The timeline point for the tallies in `interval`, collected from `from` to `to`.
fn point(interval: &Interval, measure_from: Instant, from: Instant, to: Instant) -> TimelinePoint {
    let secs = to.saturating_duration_since(from).as_secs_f64();
    let rate = if secs > 0.0 {
        interval.successes as f64 / secs
    } else {
        0.0
    };
    TimelinePoint {
        t_s: round3(to.saturating_duration_since(measure_from).as_secs_f64()),
        interval_s: round3(secs),
        successes: interval.successes,
        errors: interval.errors,
        rate: round3(rate),
        p50_us: interval.total.at(50.0),
        p99_us: interval.total.at(99.0),
        max_us: if interval.total.is_empty() {
            0
        } else {
            interval.total.max_us()
        },
    }
}

/// The measured window's length and CPU readings.
struct Window {
    elapsed: Duration,
    clock: ClockTicks,
    self_cpu: CpuTicks,
    server: Option<(u32, Result<CpuTicks, CpuError>)>,
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn ratio(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

fn per(us: u64, n: u64) -> Option<f64> {
    (n > 0).then(|| round3(us as f64 / n as f64))
}

/// Warnings about the run itself; the server's CPU adds its own.
fn warnings(plan: &Plan, t: &Recorder, w: &Window) -> Vec<String> {
    let c = t.counts;
    let mut warnings = Vec::new();
    if w.clock.assumed {
        warnings.push(
            "`getconf CLK_TCK` failed; CPU times assume 100 clock ticks per second".to_owned(),
        );
    }
    let open = matches!(plan.pacing, Pacing::Open { .. });
    if open && t.hist.lag.at(99.0) > LAG_WARNING.as_micros() as u64 {
        warnings.push(format!(
            "1% of iterations started {} or more after their intended time: every worker was \
             busy. Latency is counted from the intended time, so this wait is in the figures; \
             raise --concurrency if the server is not what limits the rate",
            crate::report::fmt_us(t.hist.lag.at(99.0))
        ));
    }
    if c.attempts > 0 && c.successes == 0 {
        warnings.push("no iteration succeeded".to_owned());
    }
    warnings
}

/// The `--server-pid` process's CPU over the window, or a warning saying why there is none.
fn server_cpu(w: &Window, c: Counts, warnings: &mut Vec<String>) -> Option<ServerCpu> {
    match &w.server {
        Some((pid, Ok(ticks))) => {
            let u = CpuUsage::from_ticks(*ticks, w.clock);
            Some(ServerCpu {
                pid: *pid,
                user_us: u.user_us,
                system_us: u.system_us,
                total_us: u.total_us,
                per_connection_us: per(u.total_us, c.connections),
                per_request_us: per(u.total_us, c.responses),
            })
        }
        Some((pid, Err(e))) => {
            warnings.push(format!("server CPU for pid {pid} unavailable: {e}"));
            None
        }
        None => None,
    }
}

/// The generator's own CPU over the window, per unit of work and as a share of the machine.
fn client_cpu(w: &Window, c: Counts) -> ClientCpu {
    let secs = w.elapsed.as_secs_f64();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let client = CpuUsage::from_ticks(w.self_cpu, w.clock);
    ClientCpu {
        user_us: client.user_us,
        system_us: client.system_us,
        total_us: client.total_us,
        per_handshake_us: per(client.total_us, c.handshakes),
        per_request_us: per(client.total_us, c.responses),
        per_iteration_us: per(client.total_us, c.attempts),
        utilisation: (secs > 0.0)
            .then(|| round3(client.total_us as f64 / 1e6 / (secs * cpus as f64))),
        clock_ticks_per_s: w.clock.per_second,
        clock_ticks_assumed: w.clock.assumed,
    }
}

fn latencies(t: &Recorder, open: bool) -> Latencies {
    Latencies {
        connect: t.hist.connect.percentiles(),
        handshake: t.hist.handshake.percentiles(),
        request: t.hist.request.percentiles(),
        total: t.hist.total.percentiles(),
        start_lag: open.then(|| t.hist.lag.percentiles()),
    }
}

fn summarise(
    plan: &Plan,
    t: &Recorder,
    w: Window,
    timeline: Vec<TimelinePoint>,
    started_unix_s: u64,
) -> Summary {
    let c = t.counts;
    let secs = w.elapsed.as_secs_f64();
    let mut warnings = warnings(plan, t, &w);
    let server_cpu = server_cpu(&w, c, &mut warnings);
    let open = matches!(plan.pacing, Pacing::Open { .. });
    let request = plan.target.request.as_ref();
    Summary {
        schema: SCHEMA,
        started_unix_s,
        mode: plan.mode,
        connect: plan.connect.clone(),
        sni: plan.sni.clone(),
        request: request.map(|r| r.describe()),
        http: request.map(|r| if r.is_http2() { "h2" } else { "http/1.1" }.to_owned()),
        tls_offered: plan
            .tls_version
            .map_or("1.2,1.3", |v| v.as_str())
            .to_owned(),
        client_cert: plan.client_cert,
        loop_kind: if open { "open" } else { "closed" }.to_owned(),
        concurrency: plan.concurrency,
        target_rate: match plan.pacing {
            Pacing::Open { per_second } => Some(per_second),
            Pacing::Closed => None,
        },
        warmup_s: plan.warmup.as_secs_f64(),
        elapsed_s: round3(secs),
        attempts: c.attempts,
        successes: c.successes,
        errors: c.errors,
        rate: if secs > 0.0 {
            round3(c.successes as f64 / secs)
        } else {
            0.0
        },
        connections: c.connections,
        handshakes: c.handshakes,
        resumed: c.resumed,
        resumption_ratio: ratio(c.resumed, c.handshakes).map(|r| (r * 1e4).round() / 1e4),
        tls_versions: TlsVersions {
            tls12: c.tls12,
            tls13: c.tls13,
        },
        responses: c.responses,
        errors_by_class: t.errors.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        http_status: t
            .statuses
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        latency_us: latencies(t, open),
        distribution_us: Distributions {
            handshake: t.hist.handshake.distribution(),
            request: t.hist.request.distribution(),
            total: t.hist.total.distribution(),
        },
        client_cpu: client_cpu(&w, c),
        server_cpu,
        timeline,
        warnings,
    }
}
