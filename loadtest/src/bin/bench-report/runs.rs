//! One run of the benchmark: a scenario against a server, read from the load generator's
//! `--json` file and the server's peak RSS.

use std::fmt::Write as _;

use serde_json::Value;

use crate::BoxError;

pub struct Run {
    pub scenario: String,
    pub server: String,
    pub rate: f64,
    pub attempts: u64,
    pub successes: u64,
    pub errors: u64,
    pub errors_by_class: String,
    /// Server CPU per connection, or per request for keep-alive.
    pub cpu_us: Option<f64>,
    /// The same split into user and system (kernel) time.
    pub user_us: Option<f64>,
    pub system_us: Option<f64>,
    /// Server CPU / measured wall time: 1.0 means the server's core was saturated.
    pub busy: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub rss_mib: Option<f64>,
    pub resumption: Option<f64>,
    pub generator_busy: Option<f64>,
}

/// The words a scenario id stands for in the tables.
pub fn label(scenario: &str) -> &str {
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

/// The number at `path` in a JSON document.
pub fn num(v: &Value, path: &[&str]) -> Option<f64> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_f64()
}

/// One `--runs` line: `scenario  server  json-file  vmhwm-kB`.
pub fn load(line: &str) -> Result<Run, BoxError> {
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

/// The server CPU of `scenario` on `server`, if that run is there.
pub fn cpu(runs: &[Run], scenario: &str, server: &str) -> Option<f64> {
    runs.iter()
        .find(|r| r.scenario == scenario && r.server == server)
        .and_then(|r| r.cpu_us)
}

/// The tab-separated summary the script checks: a run with no success or over 1% errors fails.
pub fn summary(runs: &[Run]) -> String {
    let mut out = String::from("scenario\tserver\tattempts\tsuccesses\terrors\terror_pct\n");
    for r in runs {
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
    out
}
