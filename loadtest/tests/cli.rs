//! The binary as a person runs it: exit codes, the summary on stdout, and the `--json`,
//! `--csv` and `--report` files with their documented fields.

mod support;

use std::process::Command;

use rustls::version::{TLS12, TLS13};
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_mtls-loadtest");

/// Every field the README documents for `--json`.
const JSON_FIELDS: &[&str] = &[
    "schema",
    "started_unix_s",
    "mode",
    "connect",
    "sni",
    "request",
    "http",
    "tls_offered",
    "client_cert",
    "loop",
    "concurrency",
    "target_rate",
    "warmup_s",
    "elapsed_s",
    "attempts",
    "successes",
    "errors",
    "rate",
    "connections",
    "handshakes",
    "resumed",
    "resumption_ratio",
    "tls_versions",
    "responses",
    "errors_by_class",
    "http_status",
    "latency_us",
    "distribution_us",
    "client_cpu",
    "server_cpu",
    "timeline",
    "warnings",
];

const PERCENTILE_FIELDS: &[&str] = &[
    "count", "min_us", "mean_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us",
];

/// Splits one CSV line, honouring RFC 4180 quotes.
fn split_csv(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                if let Some(s) = cells.last_mut() {
                    s.push('"');
                }
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(String::new()),
            (c, _) => {
                if let Some(s) = cells.last_mut() {
                    s.push(c);
                }
            }
        }
    }
    cells
}

/// The binary runs against a server in this test process, so the server must keep serving
/// while the test thread waits for the child: hence the multi-threaded runtime and
/// `spawn_blocking`.
async fn run_bin(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || Command::new(BIN).args(&args[1..]).output().expect("spawn"))
        .await
        .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_csv_and_html_outputs_have_the_documented_fields() {
    let server = BareServer::start(&[&TLS13, &TLS12]).await;
    let out_dir = tempfile::tempdir().expect("tempdir");
    let json = out_dir.path().join("run.json");
    let csv = out_dir.path().join("runs.csv");
    let html = out_dir.path().join("run.html");
    let args = with(
        client_args(server.addr, ALIAS),
        &[
            "--mode",
            "full",
            "--count",
            "25",
            "-c",
            "3",
            "-X",
            "POST",
            "--path",
            "/oauth/token",
            "-H",
            "content-type: application/x-www-form-urlencoded",
            "--body",
            "grant_type=client_credentials",
            "--server-pid",
            &std::process::id().to_string(),
            "--json",
            &json.display().to_string(),
            "--csv",
            &csv.display().to_string(),
            "--report",
            &html.display().to_string(),
        ],
    );
    let out = run_bin(args.clone()).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("successes"), "{stdout}");
    assert!(stdout.contains("handshake"), "{stdout}");
    assert!(stdout.contains("CPU server"), "{stdout}");

    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json file")).expect("JSON");
    for f in JSON_FIELDS {
        assert!(v.get(f).is_some(), "JSON lacks `{f}`");
    }
    assert_eq!(v["schema"], 1);
    assert_eq!(v["mode"], "full");
    assert_eq!(v["loop"], "closed");
    assert_eq!(v["successes"], 25);
    assert_eq!(v["errors"], 0);
    assert_eq!(v["http_status"]["200"], 25);
    assert_eq!(v["request"], "POST /oauth/token");
    assert_eq!(v["http"], "http/1.1");
    for phase in ["connect", "handshake", "request", "total"] {
        for f in PERCENTILE_FIELDS {
            assert!(
                v["latency_us"][phase].get(f).is_some(),
                "latency_us.{phase} lacks `{f}`"
            );
        }
    }
    assert_eq!(v["latency_us"]["handshake"]["count"], 25);
    for f in [
        "user_us",
        "system_us",
        "total_us",
        "per_handshake_us",
        "per_request_us",
        "per_iteration_us",
        "utilisation",
        "clock_ticks_per_s",
        "clock_ticks_assumed",
    ] {
        assert!(v["client_cpu"].get(f).is_some(), "client_cpu lacks `{f}`");
    }
    let server_cpu = &v["server_cpu"];
    assert_eq!(server_cpu["pid"], std::process::id());
    for f in [
        "user_us",
        "system_us",
        "total_us",
        "per_connection_us",
        "per_request_us",
    ] {
        assert!(server_cpu.get(f).is_some(), "server_cpu lacks `{f}`");
    }
    let timeline = v["timeline"].as_array().expect("timeline");
    assert!(!timeline.is_empty());
    for f in [
        "t_s",
        "interval_s",
        "successes",
        "errors",
        "rate",
        "p50_us",
        "p99_us",
        "max_us",
    ] {
        assert!(timeline[0].get(f).is_some(), "timeline point lacks `{f}`");
    }
    let total: u64 = timeline
        .iter()
        .map(|p| p["successes"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(total, 25, "the timeline accounts for every success");

    // CSV: the documented header, one row; a second run appends a row under the same header.
    let text = std::fs::read_to_string(&csv).expect("csv file");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0], mtls_loadtest::csv::FIELDS.join(","));
    let row = split_csv(lines[1]);
    assert_eq!(row.len(), mtls_loadtest::csv::FIELDS.len(), "{}", lines[1]);
    let col = |name: &str| {
        let i = mtls_loadtest::csv::FIELDS
            .iter()
            .position(|f| *f == name)
            .unwrap_or_else(|| panic!("no column {name}"));
        row[i].as_str()
    };
    assert_eq!(col("mode"), "full");
    assert_eq!(col("successes"), "25");
    assert_eq!(col("errors"), "0");
    assert_eq!(col("server_pid"), std::process::id().to_string());
    assert_eq!(
        col("tls_offered"),
        "1.2,1.3",
        "quoted, so its comma stays inside the cell"
    );
    assert!(col("handshake_p99_us").parse::<u64>().is_ok());

    // HTML: one self-contained page with the three charts and no script or external reference.
    let page = std::fs::read_to_string(&html).expect("html file");
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert_eq!(page.matches("<svg").count(), 3);
    assert!(!page.contains("<script"));
    assert!(!page.contains("src="));
    assert!(!page.contains("href="));
    assert!(page.contains("Latency by percentile"));

    let out = run_bin(with(
        client_args(server.addr, ALIAS),
        &[
            "--mode",
            "handshake",
            "-n",
            "5",
            "--csv",
            &csv.display().to_string(),
        ],
    ))
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&csv).expect("csv file");
    assert_eq!(text.lines().count(), 3, "{text}");
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("started_unix_s,"))
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_options_exit_with_status_2_before_connecting() {
    let args = with(
        client_args(closed_port(), ALIAS),
        &["--groups", "X25519,not-a-group", "-n", "1"],
    );
    let out = run_bin(args).await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not-a-group") && err.contains("secp256r1"),
        "{err}"
    );

    let mut args = client_args(closed_port(), ALIAS);
    let i = args.iter().position(|a| a == "--key").expect("key") + 1;
    args[i] = "/nonexistent/client.key".into();
    let out = run_bin(args).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/client.key"));

    // clap's own usage errors use the same status.
    let out = run_bin(vec![
        "mtls-loadtest".into(),
        "--connect".into(),
        "x:1".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_warns_and_still_runs() {
    let server = BareServer::start(&[&TLS13]).await;
    let args: Vec<String> = [
        "mtls-loadtest",
        "--connect",
        &server.addr.to_string(),
        "--sni",
        "wrong.example.net",
        "--insecure",
        "--cert",
        &file("client.pem"),
        "--key",
        &file("client.key"),
        "--mode",
        "handshake",
        "-n",
        "3",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let out = run_bin(args).await;
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not verified"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("errors 0"));
}
