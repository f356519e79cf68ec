//! `--report FILE.html`: one self-contained page a person can open — headline figures,
//! throughput and latency over time, the latency distribution by phase, errors, CPU, and the
//! run's parameters. Charts are inline SVG ([`crate::svg`]); there is no script and nothing is
//! fetched, so the file can be mailed or attached as it is.

use std::fmt::Write as _;
use std::path::Path;

use crate::histogram::{DistributionPoint, Percentiles};
use crate::report::{fmt_us, Summary, TimelinePoint};
use crate::svg::{self, escape, Chart, Series, XScale};

const BLUE: &str = "#1f77b4";
const ORANGE: &str = "#ff7f0e";
const GREEN: &str = "#2ca02c";
const RED: &str = "#d62728";
const GREY: &str = "#7f7f7f";

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:800px;color:#222;padding:0 1em}\
h1{font-size:1.4em;margin-bottom:.2em}h2{font-size:1.1em;margin-top:2em;border-bottom:1px solid #ddd}\
.sub{color:#555;margin-top:0}.cards{display:flex;flex-wrap:wrap;gap:.8em;margin:1.2em 0}\
.card{border:1px solid #ddd;border-radius:6px;padding:.6em .9em;min-width:8em}\
.card b{display:block;font-size:1.3em}.card span{color:#555;font-size:.85em}\
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.25em .7em;text-align:right;border-bottom:1px solid #eee}\
th:first-child,td:first-child{text-align:left}.warn{background:#fff4e0;border:1px solid #f0c36d;padding:.5em .8em;border-radius:4px}\
svg{max-width:100%;height:auto}";

fn rate_label(v: f64) -> String {
    format!("{v:.0}/s")
}

/// Axis labels: as short as the 1-2-5 steps allow (`15ms`, `2.5ms`, `500µs`).
fn us_label(v: f64) -> String {
    let compact = |x: f64, unit: &str| {
        let text = format!("{x:.1}");
        format!("{}{unit}", text.strip_suffix(".0").unwrap_or(&text))
    };
    match v {
        v if v < 1_000.0 => format!("{v:.0}µs"),
        v if v < 1_000_000.0 => compact(v / 1e3, "ms"),
        v => compact(v / 1e6, "s"),
    }
}

fn spectrum(points: &[DistributionPoint]) -> Vec<(f64, f64)> {
    points.iter().map(|p| (p.percentile, p.us as f64)).collect()
}

/// The page as a string.
pub fn render(s: &Summary) -> String {
    let mut h = String::new();
    heading(&mut h, s);
    cards(&mut h, s);
    h.push_str("<h2>Throughput over time</h2>");
    h.push_str(&svg::render(&throughput_chart(s)));
    h.push_str("<h2>Latency over time</h2>");
    h.push_str(&svg::render(&latency_chart(s)));
    h.push_str("<h2>Latency distribution</h2>");
    h.push_str(&svg::render(&distribution_chart(s)));
    percentile_table(&mut h, s);
    outcome_tables(&mut h, s);
    cpu_table(&mut h, s);
    run_table(&mut h, s);
    h.push_str("</body></html>\n");
    h
}

/// The document head, the title and one line saying what was run.
fn heading(h: &mut String, s: &Summary) {
    let title = format!("mtls-loadtest {} — {}", s.mode.as_str(), s.connect);
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>",
        escape(&title)
    );
    let _ = write!(h, "<h1>{}</h1>", escape(&title));
    let what = match (&s.request, &s.http) {
        (Some(r), Some(v)) => format!("{r} over {v}, "),
        _ => String::new(),
    };
    let pacing = match s.target_rate {
        Some(r) => format!(
            "open loop at {r:.1}/s (at most {} in flight)",
            s.concurrency
        ),
        None => format!("closed loop, {} workers", s.concurrency),
    };
    let _ = write!(
        h,
        "<p class=\"sub\">SNI {sni}; {what}{pacing}; {el:.2} s measured; TLS {tls}; {cert}.</p>",
        sni = escape(&s.sni),
        what = escape(&what),
        pacing = escape(&pacing),
        el = s.elapsed_s,
        tls = escape(&s.tls_offered),
        cert = if s.client_cert {
            "client certificate presented"
        } else {
            "no client certificate"
        },
    );
}

/// The headline figures, then the warnings.
fn cards(h: &mut String, s: &Summary) {
    let p99 = s.latency_us.total.p99_us;
    let mut cards = vec![
        ("successes", s.successes.to_string()),
        ("errors", s.errors.to_string()),
        ("per second", format!("{:.1}", s.rate)),
        ("p99 total", fmt_us(p99)),
    ];
    if let Some(r) = s
        .resumption_ratio
        .filter(|_| s.resumed > 0 || s.mode.as_str() == "resume")
    {
        cards.push(("resumed", format!("{:.1}%", r * 100.0)));
    }
    if let Some(c) = s.client_cpu.per_handshake_us {
        cards.push(("generator CPU / handshake", format!("{c:.0} µs")));
    }
    if let Some(c) = s.server_cpu.as_ref().and_then(|c| c.per_connection_us) {
        cards.push(("server CPU / connection", format!("{c:.0} µs")));
    }
    h.push_str("<div class=\"cards\">");
    for (label, value) in cards {
        let _ = write!(
            h,
            "<div class=\"card\"><b>{}</b><span>{}</span></div>",
            escape(&value),
            escape(label)
        );
    }
    h.push_str("</div>");
    for w in &s.warnings {
        let _ = write!(h, "<p class=\"warn\">{}</p>", escape(w));
    }
}

fn throughput_chart(s: &Summary) -> Chart<'static> {
    Chart {
        title: "Iterations per second",
        x_label: "seconds into the measured window",
        y_label: "per second",
        x_scale: XScale::Linear,
        y_format: rate_label,
        series: vec![
            Series {
                name: "successes",
                color: BLUE,
                points: s.timeline.iter().map(|p| (p.t_s, p.rate)).collect(),
            },
            Series {
                name: "errors",
                color: RED,
                points: s
                    .timeline
                    .iter()
                    .map(|p| {
                        let per_s = if p.interval_s > 0.0 {
                            p.errors as f64 / p.interval_s
                        } else {
                            0.0
                        };
                        (p.t_s, per_s)
                    })
                    .collect(),
            },
        ],
    }
}

fn latency_chart(s: &Summary) -> Chart<'static> {
    let line = |name, color, us: fn(&TimelinePoint) -> u64| Series {
        name,
        color,
        points: s.timeline.iter().map(|p| (p.t_s, us(p) as f64)).collect(),
    };
    Chart {
        title: "Whole-iteration latency, per second",
        x_label: "seconds into the measured window",
        y_label: "latency",
        x_scale: XScale::Linear,
        y_format: us_label,
        series: vec![
            line("p50", BLUE, |p| p.p50_us),
            line("p99", ORANGE, |p| p.p99_us),
            line("max", GREY, |p| p.max_us),
        ],
    }
}

/// Latency by percentile for each phase that has samples.
fn distribution_chart(s: &Summary) -> Chart<'static> {
    let d = &s.distribution_us;
    let mut series = Vec::new();
    for (name, color, points) in [
        ("handshake", GREEN, &d.handshake),
        ("request", ORANGE, &d.request),
        ("total", BLUE, &d.total),
    ] {
        if !points.is_empty() {
            series.push(Series {
                name,
                color,
                points: spectrum(points),
            });
        }
    }
    Chart {
        title: "Latency by percentile",
        x_label: "percentile",
        y_label: "latency",
        x_scale: XScale::Nines,
        y_format: us_label,
        series,
    }
}

fn percentile_table(h: &mut String, s: &Summary) {
    h.push_str("<h2>Latency percentiles</h2><table><tr><th>phase</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>mean</th><th>samples</th></tr>");
    let l = &s.latency_us;
    let mut rows: Vec<(&str, &Percentiles)> = vec![
        ("connect", &l.connect),
        ("handshake", &l.handshake),
        ("request", &l.request),
        ("total", &l.total),
    ];
    if let Some(lag) = &l.start_lag {
        rows.push(("start lag", lag));
    }
    for (name, p) in rows.into_iter().filter(|(_, p)| p.count > 0) {
        let _ = write!(
            h,
            "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            fmt_us(p.p50_us),
            fmt_us(p.p90_us),
            fmt_us(p.p99_us),
            fmt_us(p.p999_us),
            fmt_us(p.max_us),
            fmt_us(p.mean_us.round() as u64),
            p.count
        );
    }
    h.push_str("</table>");
}

/// Successes and errors by class, HTTP statuses, and TLS counts.
fn outcome_tables(h: &mut String, s: &Summary) {
    h.push_str("<h2>Outcomes</h2><table><tr><th>outcome</th><th>count</th></tr>");
    let _ = write!(h, "<tr><td>success</td><td>{}</td></tr>", s.successes);
    for (class, n) in &s.errors_by_class {
        let _ = write!(h, "<tr><td>{}</td><td>{n}</td></tr>", escape(class));
    }
    h.push_str("</table>");
    if !s.http_status.is_empty() {
        h.push_str("<table><tr><th>HTTP status</th><th>responses</th></tr>");
        for (status, n) in &s.http_status {
            let _ = write!(h, "<tr><td>{}</td><td>{n}</td></tr>", escape(status));
        }
        h.push_str("</table>");
    }
    let _ = write!(
        h,
        "<table><tr><th>TLS</th><th>count</th></tr><tr><td>connections</td><td>{}</td></tr><tr><td>handshakes</td><td>{}</td></tr><tr><td>resumed</td><td>{}</td></tr><tr><td>TLS 1.3</td><td>{}</td></tr><tr><td>TLS 1.2</td><td>{}</td></tr></table>",
        s.connections, s.handshakes, s.resumed, s.tls_versions.tls13, s.tls_versions.tls12
    );
}

fn cpu_table(h: &mut String, s: &Summary) {
    h.push_str("<h2>CPU</h2><table><tr><th>process</th><th>CPU</th><th>per handshake / connection</th><th>per request</th></tr>");
    let c = &s.client_cpu;
    let per = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.0} µs"));
    let _ = write!(
        h,
        "<tr><td>generator</td><td>{:.3} s</td><td>{}</td><td>{}</td></tr>",
        c.total_us as f64 / 1e6,
        per(c.per_handshake_us),
        per(c.per_request_us)
    );
    if let Some(sc) = &s.server_cpu {
        let _ = write!(
            h,
            "<tr><td>server (pid {})</td><td>{:.3} s</td><td>{}</td><td>{}</td></tr>",
            sc.pid,
            sc.total_us as f64 / 1e6,
            per(sc.per_connection_us),
            per(sc.per_request_us)
        );
    }
    h.push_str("</table>");
}

/// The run's parameters.
fn run_table(h: &mut String, s: &Summary) {
    h.push_str("<h2>Run</h2><table>");
    let mut params: Vec<(&str, String)> = vec![
        ("mode", s.mode.as_str().to_owned()),
        ("connect", s.connect.clone()),
        ("SNI", s.sni.clone()),
        ("loop", s.loop_kind.clone()),
        ("concurrency", s.concurrency.to_string()),
        ("warm-up", format!("{} s", s.warmup_s)),
        ("measured", format!("{:.3} s", s.elapsed_s)),
        ("TLS offered", s.tls_offered.clone()),
        ("started (Unix time)", s.started_unix_s.to_string()),
    ];
    if let Some(r) = s.target_rate {
        params.push(("target rate", format!("{r}/s")));
    }
    if let Some(r) = &s.request {
        params.push(("request", r.clone()));
    }
    for (k, v) in params {
        let _ = write!(h, "<tr><td>{k}</td><td>{}</td></tr>", escape(&v));
    }
    h.push_str("</table>");
}

pub fn write(path: &Path, s: &Summary) -> std::io::Result<()> {
    std::fs::write(path, render(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_labels_are_short() {
        assert_eq!(us_label(0.0), "0µs");
        assert_eq!(us_label(500.0), "500µs");
        assert_eq!(us_label(15_000.0), "15ms");
        assert_eq!(us_label(2_500.0), "2.5ms");
        assert_eq!(us_label(2_000_000.0), "2s");
    }
}
