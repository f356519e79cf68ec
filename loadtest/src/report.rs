//! The run's summary: one serialisable structure behind the terminal text, `--json`, `--csv`
//! and `--report`, so the four can never disagree. Field names are part of the interface and are
//! documented in the README; add fields, never rename them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::histogram::{DistributionPoint, Percentiles};
use crate::modes::Mode;

/// Version of the JSON layout; raised only when a field changes meaning or disappears.
pub const SCHEMA: u32 = 1;

/// Everything a run measured.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub schema: u32,
    /// Wall-clock start of the run (Unix seconds).
    pub started_unix_s: u64,
    pub mode: Mode,
    /// `--connect` as given.
    pub connect: String,
    pub sni: String,
    /// `METHOD /path`, in modes that send requests.
    pub request: Option<String>,
    /// `http/1.1` or `h2`, in modes that send requests.
    pub http: Option<String>,
    /// TLS versions offered: `1.2`, `1.3` or `1.2,1.3`.
    pub tls_offered: String,
    /// Whether a client certificate was presented.
    pub client_cert: bool,
    /// `closed` or `open`.
    #[serde(rename = "loop")]
    pub loop_kind: String,
    pub concurrency: u32,
    /// Open loop: iterations per second asked for.
    pub target_rate: Option<f64>,
    pub warmup_s: f64,
    /// Length of the measured window, until the last measured iteration ended.
    pub elapsed_s: f64,
    /// Measured iterations: successes + errors.
    pub attempts: u64,
    pub successes: u64,
    pub errors: u64,
    /// Successes per second.
    pub rate: f64,
    /// TCP connections established, including those that failed later.
    pub connections: u64,
    /// TLS handshakes in successful iterations.
    pub handshakes: u64,
    /// Of which resumed.
    pub resumed: u64,
    /// resumed / handshakes, when there were handshakes.
    pub resumption_ratio: Option<f64>,
    /// Handshakes by negotiated version.
    pub tls_versions: TlsVersions,
    /// HTTP responses received, whatever their status.
    pub responses: u64,
    /// Failed iterations by class (see the README for the names).
    pub errors_by_class: BTreeMap<String, u64>,
    /// Responses by status code.
    pub http_status: BTreeMap<String, u64>,
    pub latency_us: Latencies,
    /// Percentile spectra for the HTML report's distribution chart.
    pub distribution_us: Distributions,
    pub client_cpu: ClientCpu,
    pub server_cpu: Option<ServerCpu>,
    /// One point per second of the measured window; the last one covers what remains (a
    /// remainder under half a second is merged into the point before).
    pub timeline: Vec<TimelinePoint>,
    /// Things that make the figures less trustworthy, in words.
    pub warnings: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct TlsVersions {
    #[serde(rename = "1.2")]
    pub tls12: u64,
    #[serde(rename = "1.3")]
    pub tls13: u64,
}

/// Percentiles by phase; all from successful iterations.
#[derive(Clone, Debug, Serialize)]
pub struct Latencies {
    pub connect: Percentiles,
    pub handshake: Percentiles,
    pub request: Percentiles,
    pub total: Percentiles,
    /// Open loop only: how late iterations started relative to their intended time.
    pub start_lag: Option<Percentiles>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Distributions {
    pub handshake: Vec<DistributionPoint>,
    pub request: Vec<DistributionPoint>,
    pub total: Vec<DistributionPoint>,
}

/// The generator's own CPU over the measured window.
#[derive(Clone, Debug, Serialize)]
pub struct ClientCpu {
    pub user_us: u64,
    pub system_us: u64,
    pub total_us: u64,
    pub per_handshake_us: Option<f64>,
    pub per_request_us: Option<f64>,
    pub per_iteration_us: Option<f64>,
    /// Available CPU used: total / (elapsed × CPUs), 0–1.
    pub utilisation: Option<f64>,
    pub clock_ticks_per_s: u64,
    pub clock_ticks_assumed: bool,
}

/// The `--server-pid` process's CPU over the measured window.
#[derive(Clone, Debug, Serialize)]
pub struct ServerCpu {
    pub pid: u32,
    pub user_us: u64,
    pub system_us: u64,
    pub total_us: u64,
    pub per_connection_us: Option<f64>,
    pub per_request_us: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TimelinePoint {
    /// End of the interval, seconds since the measured window began.
    pub t_s: f64,
    pub interval_s: f64,
    pub successes: u64,
    pub errors: u64,
    /// Successes per second in this interval.
    pub rate: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl Summary {
    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        let mut text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        text.push('\n');
        std::fs::write(path, text)
    }
}

/// A latency for people: `850µs`, `1.25ms`, `2.50s`.
pub fn fmt_us(us: u64) -> String {
    match us {
        0..=999 => format!("{us}µs"),
        1_000..=999_999 => format!("{:.2}ms", us as f64 / 1e3),
        _ => format!("{:.2}s", us as f64 / 1e6),
    }
}

fn per(v: Option<f64>, unit: &str) -> String {
    match v {
        Some(v) => format!("{v:.0} µs/{unit}"),
        None => format!("– µs/{unit}"),
    }
}

/// The terminal summary.
pub fn render_text(s: &Summary) -> String {
    let mut o = String::new();
    text_heading(&mut o, s);
    text_counts(&mut o, s);
    text_latencies(&mut o, s);
    text_cpu(&mut o, s);
    for w in &s.warnings {
        let _ = writeln!(o, "  warning: {w}");
    }
    o
}

/// What was run, how it was paced, and what was offered.
fn text_heading(o: &mut String, s: &Summary) {
    let what = match (&s.request, &s.http) {
        (Some(r), Some(h)) => format!(", {r} over {h}"),
        _ => String::new(),
    };
    let _ = writeln!(
        o,
        "mtls-loadtest {mode}: {connect} (SNI {sni}){what}",
        mode = s.mode.as_str(),
        connect = s.connect,
        sni = s.sni,
    );
    let pacing = match s.target_rate {
        Some(r) => format!("open loop at {r:.1}/s, at most {} in flight", s.concurrency),
        None => format!("closed loop, {} workers", s.concurrency),
    };
    let warm = if s.warmup_s > 0.0 {
        format!(" after {:.1} s warm-up", s.warmup_s)
    } else {
        String::new()
    };
    let _ = writeln!(
        o,
        "  {pacing}; {:.2} s measured{warm}; TLS {}{}",
        s.elapsed_s,
        s.tls_offered,
        if s.client_cert {
            ", client certificate"
        } else {
            ", no client certificate"
        }
    );
    let _ = writeln!(o);
}

/// Outcomes, rate, handshakes, HTTP statuses and errors by class (most frequent first).
fn text_counts(o: &mut String, s: &Summary) {
    let _ = writeln!(
        o,
        "  successes   {:>10}   errors {}   ({} attempts)",
        s.successes, s.errors, s.attempts
    );
    let _ = writeln!(o, "  rate        {:>10.1}/s", s.rate);
    let ratio = s
        .resumption_ratio
        .map_or_else(|| "–".to_owned(), |r| format!("{:.1}%", r * 100.0));
    let _ = writeln!(
        o,
        "  handshakes  {:>10}   resumed {} ({ratio})   TLS 1.3: {}, TLS 1.2: {}",
        s.handshakes, s.resumed, s.tls_versions.tls13, s.tls_versions.tls12
    );
    if !s.http_status.is_empty() {
        let statuses: Vec<String> = s
            .http_status
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        let _ = writeln!(o, "  HTTP status {}", statuses.join(", "));
    }
    if !s.errors_by_class.is_empty() {
        let _ = writeln!(o, "  errors by class:");
        let mut by_count: Vec<_> = s.errors_by_class.iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (class, n) in by_count {
            let _ = writeln!(o, "    {n:>10}  {class}");
        }
    }
    let _ = writeln!(o);
}

/// One line per phase with samples.
fn text_latencies(o: &mut String, s: &Summary) {
    let _ = writeln!(
        o,
        "  latency          p50       p90       p99     p99.9       max    samples"
    );
    let mut row = |name: &str, p: &Percentiles| {
        if p.count == 0 {
            return;
        }
        let _ = writeln!(
            o,
            "  {name:<10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10}",
            fmt_us(p.p50_us),
            fmt_us(p.p90_us),
            fmt_us(p.p99_us),
            fmt_us(p.p999_us),
            fmt_us(p.max_us),
            p.count
        );
    };
    row("connect", &s.latency_us.connect);
    row("handshake", &s.latency_us.handshake);
    row("request", &s.latency_us.request);
    row("total", &s.latency_us.total);
    if let Some(lag) = &s.latency_us.start_lag {
        row("start lag", lag);
    }
    let _ = writeln!(o);
}

fn text_cpu(o: &mut String, s: &Summary) {
    let c = &s.client_cpu;
    let _ = writeln!(
        o,
        "  CPU generator  {:.3} s ({:.0}% of available): {}, {}",
        c.total_us as f64 / 1e6,
        c.utilisation.unwrap_or(0.0) * 100.0,
        per(c.per_handshake_us, "handshake"),
        per(c.per_request_us, "request"),
    );
    if let Some(sc) = &s.server_cpu {
        let _ = writeln!(
            o,
            "  CPU server     {:.3} s (pid {}): {}, {}",
            sc.total_us as f64 / 1e6,
            sc.pid,
            per(sc.per_connection_us, "connection"),
            per(sc.per_request_us, "request"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_for_people() {
        assert_eq!(fmt_us(0), "0µs");
        assert_eq!(fmt_us(999), "999µs");
        assert_eq!(fmt_us(1_250), "1.25ms");
        assert_eq!(fmt_us(2_500_000), "2.50s");
    }
}
