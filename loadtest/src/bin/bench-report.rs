#![forbid(unsafe_code)]
//! The table of the side-by-side benchmark (`loadtest/bench/run.sh`): reads the load generator's
//! `--json` files, the servers' peak RSS and the crypto floor, prints one table (text), writes it
//! as Markdown with the targets' verdicts, and writes a tab-separated summary the script checks.
//!
//! `--runs FILE`: one run per line, tab-separated: `scenario  server  json-file  vmhwm-kB`.
//! Scenario ids: `full-tls13-ecdsa`, `full-tls12-ecdsa`, `full-tls13-rsa`, `resume-tls13`,
//! `resume-tls12`, `keepalive`. Servers: `nginx`, `gateway`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Parser;
use serde_json::Value;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser)]
#[command(name = "bench-report")]
struct Args {
    #[arg(long)]
    runs: PathBuf,
    /// `crypto-floor ops --json` output.
    #[arg(long)]
    floor: Option<PathBuf>,
    /// Write the Markdown table and verdicts here.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// `scenario  server  probe-json` lines from `crypto-floor probe`: rendered as a table.
    #[arg(long)]
    negotiated: Option<PathBuf>,
    /// Write `scenario server attempts successes errors error_pct` (tab-separated) here.
    #[arg(long)]
    summary: Option<PathBuf>,
}

struct Run {
    scenario: String,
    server: String,
    rate: f64,
    attempts: u64,
    successes: u64,
    errors: u64,
    errors_by_class: String,
    /// Server CPU per connection, or per request for keep-alive.
    cpu_us: Option<f64>,
    /// The same split into user and system (kernel) time.
    user_us: Option<f64>,
    system_us: Option<f64>,
    /// Server CPU / measured wall time: 1.0 means the server's core was saturated.
    busy: Option<f64>,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    rss_mib: Option<f64>,
    resumption: Option<f64>,
    generator_busy: Option<f64>,
}

fn label(scenario: &str) -> &str {
    match scenario {
        "full-tls13-ecdsa" => "full mTLS, TLS 1.3, ECDSA P-256",
        "full-tls12-ecdsa" => "full mTLS, TLS 1.2, ECDSA P-256",
        "full-tls13-rsa" => "full mTLS, TLS 1.3, RSA-2048",
        "resume-tls13" => "resumed, TLS 1.3 (handshake only)",
        "resume-tls12" => "resumed, TLS 1.2 (handshake only)",
        "keepalive" => "keep-alive HTTP/1.1, per request",
        other => other,
    }
}

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_f64()
}

fn load(line: &str) -> Result<Run, BoxError> {
    let cols: Vec<&str> = line.split('\t').collect();
    let [scenario, server, json_file, rss_kb] = cols[..] else {
        return Err(format!("bad --runs line: {line:?}").into());
    };
    let text = std::fs::read_to_string(json_file).map_err(|e| format!("{json_file}: {e}"))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{json_file}: {e}"))?;
    let keepalive = scenario == "keepalive";
    let cpu_us = if keepalive {
        num(&v, &["server_cpu", "per_request_us"])
    } else {
        num(&v, &["server_cpu", "per_connection_us"])
    };
    let divisor = if keepalive {
        num(&v, &["responses"])
    } else {
        num(&v, &["connections"])
    }
    .filter(|d| *d > 0.0);
    let per = |field: &str| Some(num(&v, &["server_cpu", field])? / divisor?);
    let elapsed = num(&v, &["elapsed_s"]).unwrap_or(0.0);
    let busy = num(&v, &["server_cpu", "total_us"])
        .filter(|_| elapsed > 0.0)
        .map(|t| t / (elapsed * 1e6));
    let errors_by_class = v
        .get("errors_by_class")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, n)| format!("{k}={n}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    Ok(Run {
        scenario: scenario.to_owned(),
        server: server.to_owned(),
        rate: num(&v, &["rate"]).unwrap_or(0.0),
        attempts: num(&v, &["attempts"]).unwrap_or(0.0) as u64,
        successes: num(&v, &["successes"]).unwrap_or(0.0) as u64,
        errors: num(&v, &["errors"]).unwrap_or(0.0) as u64,
        errors_by_class,
        cpu_us,
        user_us: per("user_us"),
        system_us: per("system_us"),
        busy,
        p50_ms: num(&v, &["latency_us", "total", "p50_us"]).map(|u| u / 1000.0),
        p99_ms: num(&v, &["latency_us", "total", "p99_us"]).map(|u| u / 1000.0),
        rss_mib: rss_kb.trim().parse::<f64>().ok().map(|kb| kb / 1024.0),
        resumption: num(&v, &["resumption_ratio"]),
        generator_busy: num(&v, &["client_cpu", "utilisation"]),
    })
}

fn f(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.decimals$}"),
        _ => "–".into(),
    }
}

fn thousands(x: f64) -> String {
    let n = x.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

const HEADERS: [&str; 13] = [
    "scenario",
    "server",
    "rate/s",
    "server CPU µs/conn (keep-alive: /req)",
    "user + system µs",
    "per core/s",
    "server core busy",
    "p50 ms",
    "p99 ms",
    "peak RSS MiB",
    "CPU gateway÷nginx",
    "crypto floor µs",
    "errors",
];

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), BoxError> {
    let args = Args::parse();
    let text =
        std::fs::read_to_string(&args.runs).map_err(|e| format!("{}: {e}", args.runs.display()))?;
    let runs: Vec<Run> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(load)
        .collect::<Result<_, _>>()?;
    let floor: Option<Value> = match &args.floor {
        Some(p) => Some(serde_json::from_str(
            &std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?,
        )?),
        None => None,
    };
    let floor_of = |scenario: &str| {
        floor
            .as_ref()
            .and_then(|f| num(f, &["scenarios", scenario, "floor_us"]))
    };
    let cpu = |scenario: &str, server: &str| {
        runs.iter()
            .find(|r| r.scenario == scenario && r.server == server)
            .and_then(|r| r.cpu_us)
    };

    let mut rows: Vec<[String; 13]> = Vec::new();
    for r in &runs {
        let ratio = (r.server == "gateway")
            .then(|| Some(cpu(&r.scenario, "gateway")? / cpu(&r.scenario, "nginx")?))
            .flatten();
        let mut errors = if r.errors == 0 {
            "0".to_owned()
        } else {
            format!("{} ({})", r.errors, r.errors_by_class)
        };
        if let Some(res) = r.resumption.filter(|_| r.scenario.starts_with("resume")) {
            let _ = write!(errors, "; resumed {:.1}%", res * 100.0);
        }
        rows.push([
            label(&r.scenario).to_owned(),
            r.server.clone(),
            thousands(r.rate),
            f(r.cpu_us, 0),
            match (r.user_us, r.system_us) {
                (Some(u), Some(s)) => format!("{u:.0} + {s:.0}"),
                _ => "–".into(),
            },
            r.cpu_us
                .filter(|c| *c > 0.0)
                .map(|c| thousands(1e6 / c))
                .unwrap_or_else(|| "–".into()),
            r.busy
                .map(|b| format!("{:.0}%", b * 100.0))
                .unwrap_or_else(|| "–".into()),
            f(r.p50_ms, 2),
            f(r.p99_ms, 2),
            f(r.rss_mib, 1),
            f(ratio, 2),
            match (r.server.as_str(), floor_of(&r.scenario), r.cpu_us) {
                ("gateway", Some(fl), Some(c)) if fl > 0.0 => {
                    format!("{fl:.0} (CPU {:.1}×)", c / fl)
                }
                ("gateway", Some(fl), _) => format!("{fl:.0}"),
                _ => String::new(),
            },
            errors,
        ]);
    }

    // Text table.
    let widths: Vec<usize> = (0..HEADERS.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([HEADERS[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = widths[i] - c.chars().count();
                if i < 2 || i == HEADERS.len() - 1 {
                    format!("{c}{}", " ".repeat(pad))
                } else {
                    format!("{}{c}", " ".repeat(pad))
                }
            })
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let headers: Vec<String> = HEADERS.iter().map(|s| s.to_string()).collect();
    println!("{}", line(&headers));
    println!(
        "{}",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-+-")
    );
    for r in &rows {
        println!("{}", line(r));
    }

    // Targets.
    let mut verdicts = Vec::new();
    let ratio = |s: &str| Some(cpu(s, "gateway")? / cpu(s, "nginx")?);
    for (scenario, limit) in [
        ("full-tls13-ecdsa", 1.0 / 3.0),
        ("full-tls12-ecdsa", 1.0 / 3.0),
        ("full-tls13-rsa", 1.0 / 3.0),
        ("resume-tls13", 0.2),
        ("resume-tls12", 0.2),
    ] {
        let target = if limit < 0.25 { "≤ 1/5" } else { "≤ 1/3" };
        let Some(r) = ratio(scenario) else {
            continue;
        };
        let verdict = if r <= limit {
            format!("met ({:.0}% under the limit)", (1.0 - r / limit) * 100.0)
        } else {
            format!(
                "NOT met: {:.0}% over the limit (would need {:.0} µs, measured {:.0} µs)",
                (r / limit - 1.0) * 100.0,
                cpu(scenario, "nginx").unwrap_or(0.0) * limit,
                cpu(scenario, "gateway").unwrap_or(0.0)
            )
        };
        verdicts.push(format!(
            "{}: gateway server CPU per connection = {:.2} × nginx's (target {target}): {verdict}",
            label(scenario),
            r
        ));
    }
    if let Some(r) = ratio("keepalive") {
        let per_core = 1.0 / r;
        let verdict = if per_core >= 1.5 {
            format!(
                "met ({:.0}% above the target)",
                (per_core / 1.5 - 1.0) * 100.0
            )
        } else {
            format!(
                "NOT met: {:.0}% below the target",
                (1.0 - per_core / 1.5) * 100.0
            )
        };
        verdicts.push(format!(
            "keep-alive requests per core: gateway = {per_core:.2} × nginx's (target ≥ 1.5×): {verdict}"
        ));
    }
    println!();
    for v in &verdicts {
        println!("{v}");
    }
    let saturated_warnings: Vec<String> = runs
        .iter()
        .filter(|r| r.busy.is_some_and(|b| b < 0.85))
        .map(|r| {
            format!(
                "{} / {}: the server's core was {:.0}% busy (generator {:.0}%), so the rate is the \
                 generator's limit, not the server's; CPU per connection is still comparable",
                label(&r.scenario),
                r.server,
                r.busy.unwrap_or(0.0) * 100.0,
                r.generator_busy.unwrap_or(0.0) * 100.0
            )
        })
        .collect();
    for w in &saturated_warnings {
        println!("note: {w}");
    }

    if let Some(path) = &args.markdown {
        let mut md = String::new();
        let _ = writeln!(md, "| {} |", HEADERS.join(" | "));
        let _ = writeln!(
            md,
            "|{}|",
            (0..HEADERS.len())
                .map(|i| if i < 2 || i == HEADERS.len() - 1 {
                    "---"
                } else {
                    "---:"
                })
                .collect::<Vec<_>>()
                .join("|")
        );
        for r in &rows {
            let _ = writeln!(md, "| {} |", r.join(" | "));
        }
        md.push('\n');
        for v in &verdicts {
            let _ = writeln!(md, "- {v}");
        }
        for w in &saturated_warnings {
            let _ = writeln!(md, "- note: {w}");
        }
        if let Some(path) = &args.negotiated {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            md.push('\n');
            md.push_str(&negotiated_markdown(&text));
        }
        if let Some(fl) = &floor {
            md.push('\n');
            md.push_str(&floor_markdown(fl));
        }
        std::fs::write(path, md).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if let Some(path) = &args.summary {
        let mut out = String::from("scenario\tserver\tattempts\tsuccesses\terrors\terror_pct\n");
        for r in &runs {
            let pct = if r.attempts == 0 {
                100.0
            } else {
                r.errors as f64 * 100.0 / r.attempts as f64
            };
            let _ = writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{:.3}",
                r.scenario, r.server, r.attempts, r.successes, r.errors, pct
            );
        }
        std::fs::write(path, out).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// What the probe connection negotiated with each server, per scenario.
fn negotiated_markdown(text: &str) -> String {
    let mut md = String::from(
        "| scenario | server | negotiated by the probe (load generator's TLS settings) | resumed | probe answer |\n|---|---|---|---|---|\n",
    );
    for line in text.lines() {
        let mut cols = line.splitn(3, '\t');
        let (Some(scenario), Some(server), Some(json)) = (cols.next(), cols.next(), cols.next())
        else {
            continue;
        };
        let v: Value = serde_json::from_str(json).unwrap_or(Value::Null);
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("?").to_owned();
        let _ = writeln!(
            md,
            "| {} | {server} | {} {} {} | {} | {} |",
            label(scenario),
            s("version"),
            s("suite"),
            s("group"),
            v.get("resumed").and_then(Value::as_bool).unwrap_or(false),
            s("status"),
        );
    }
    md
}

/// The crypto-floor tables: operations, then per scenario.
pub fn floor_markdown(fl: &Value) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "| server-side operation (aws-lc-rs via rustls) | µs |");
    let _ = writeln!(md, "|---|---:|");
    for op in fl
        .get("ops")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let _ = writeln!(
            md,
            "| {} | {} |",
            op.get("label").and_then(Value::as_str).unwrap_or(""),
            match op.get("us").and_then(Value::as_f64) {
                Some(us) if us < 10.0 => f(Some(us), 2),
                us => f(us, 1),
            }
        );
    }
    md.push('\n');
    let _ = writeln!(
        md,
        "| scenario | negotiated (in-memory) | asymmetric operations | floor µs (chain verdict cached) | floor µs (chain verified) | whole rustls handshake, server side, µs | same with a SHA-256 suite, µs |"
    );
    let _ = writeln!(md, "|---|---|---|---:|---:|---:|---:|");
    let scenarios: BTreeMap<String, Value> = fl
        .get("scenarios")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    for id in [
        "full-tls13-ecdsa",
        "full-tls12-ecdsa",
        "full-tls13-rsa",
        "resume-tls13",
        "resume-tls12",
    ] {
        let Some(s) = scenarios.get(id) else { continue };
        let text = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let _ = writeln!(
            md,
            "| {} | {} {} {} | {} | {} | {} | {} | {} ({}) |",
            label(id),
            text("version"),
            text("suite"),
            text("group"),
            text("formula"),
            f(num(s, &["floor_us"]), 0),
            f(num(s, &["floor_chain_verified_us"]), 0),
            f(num(s, &["rustls_handshake_us"]), 0),
            f(num(s, &["rustls_handshake_sha256_suite_us"]), 0),
            text("sha256_suite"),
        );
    }
    md
}
