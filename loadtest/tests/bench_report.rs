//! `bench-report` as `loadtest/bench/run.sh` runs it: the text table on stdout, the verdicts
//! against the targets, the Markdown file (with the negotiated and crypto-floor tables) and the
//! tab-separated summary the script checks for failed runs.

use std::path::Path;
use std::process::Command;

use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_bench-report");

/// One `mtls-loadtest --json` file with the fields `bench-report` reads.
fn run_json(dir: &Path, name: &str, cpu_us: f64, errors: u64, busy: f64) -> String {
    let elapsed_s = 10.0;
    let connections = 20_000.0;
    let total_us = busy * elapsed_s * 1e6;
    let doc = json!({
        "rate": 12_345.4,
        "attempts": 20_000 + errors,
        "successes": 20_000,
        "errors": errors,
        "errors_by_class": if errors > 0 { json!({"tls_alert": errors}) } else { json!({}) },
        "elapsed_s": elapsed_s,
        "connections": connections,
        "responses": connections,
        "resumption_ratio": 0.996,
        "server_cpu": {
            "per_connection_us": cpu_us,
            "per_request_us": cpu_us,
            "user_us": cpu_us * connections * 0.75,
            "system_us": cpu_us * connections * 0.25,
            "total_us": total_us,
        },
        "client_cpu": {"utilisation": 0.5},
        "latency_us": {"total": {"p50_us": 1500.0, "p99_us": 4321.0}},
    });
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, doc.to_string()).expect("write run json");
    path.display().to_string()
}

fn floor_json() -> serde_json::Value {
    json!({
        "schema": 1,
        "ops": [
            {"key": "kx_x25519", "label": "ECDHE X25519 (server keypair + shared secret)", "us": 25.123},
            {"key": "sign_rsa2048_pss", "label": "server signature RSA-2048 PSS SHA-256", "us": 812.46},
        ],
        "scenarios": {
            "full-tls13-ecdsa": {
                "floor_us": 150.0, "floor_chain_verified_us": 190.0,
                "formula": "X25519 + ECDSA sign + CertificateVerify (+ chain signature)",
                "rustls_handshake_us": 240.0, "rustls_handshake_sha256_suite_us": 230.0,
                "sha256_suite": "TLS13_AES_128_GCM_SHA256", "version": "TLSv1_3",
                "suite": "TLS13_AES_256_GCM_SHA384", "group": "X25519",
            },
        },
    })
}

#[test]
fn table_verdicts_markdown_and_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let runs = [
        ("full-tls13-ecdsa", "nginx", 1000.0, 0, 0.99, "10240"),
        ("full-tls13-ecdsa", "gateway", 300.0, 3, 0.97, "20480"),
        ("resume-tls13", "nginx", 200.0, 0, 0.98, ""),
        ("resume-tls13", "gateway", 60.0, 0, 0.5, "4096"),
        ("keepalive", "nginx", 50.0, 0, 0.99, "1024"),
        ("keepalive", "gateway", 25.0, 0, 0.99, "2048"),
    ];
    let mut lines = String::new();
    for (scenario, server, cpu, errors, busy, rss) in runs {
        let json = run_json(d, &format!("{scenario}-{server}"), cpu, errors, busy);
        lines.push_str(&format!("{scenario}\t{server}\t{json}\t{rss}\n"));
    }
    std::fs::write(d.join("runs.tsv"), lines).expect("runs");
    std::fs::write(d.join("floor.json"), floor_json().to_string()).expect("floor");
    let probe = json!({"version": "TLSv1_3", "suite": "TLS13_AES_128_GCM_SHA256", "group": "X25519",
        "resumed": true, "status": "HTTP/1.1 200 OK"});
    std::fs::write(
        d.join("negotiated.tsv"),
        format!("resume-tls13\tgateway\t{probe}\n"),
    )
    .expect("negotiated");

    let out = Command::new(BIN)
        .arg("--runs")
        .arg(d.join("runs.tsv"))
        .arg("--floor")
        .arg(d.join("floor.json"))
        .arg("--negotiated")
        .arg(d.join("negotiated.tsv"))
        .arg("--markdown")
        .arg(d.join("table.md"))
        .arg("--summary")
        .arg(d.join("summary.tsv"))
        .output()
        .expect("run bench-report");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let text: Vec<&str> = stdout.lines().collect();
    assert!(text[0].starts_with("scenario"), "{stdout}");
    assert!(text[0].trim_end().ends_with("| errors"), "{stdout}");
    assert_eq!(text[0].matches(" | ").count(), 12, "13 columns: {stdout}");
    assert!(text[1].chars().all(|c| c == '-' || c == '+'), "{stdout}");
    // Every row is as wide as the header: the columns are padded.
    let width = text[0].chars().count();
    for row in &text[1..8] {
        assert_eq!(row.chars().count(), width, "{row}");
    }
    let gateway_full = text[3];
    for cell in [
        "full mTLS, TLS 1.3, ECDSA P-256",
        "12,345",
        " 300 |",
        "225 + 75",
        "3,333",
        "97%",
        "1.50",
        "4.32",
        "20.0",
        "0.30",
        "150 (CPU 2.0×)",
        "3 (tls_alert=3)",
    ] {
        assert!(
            gateway_full.contains(cell),
            "{cell:?} not in {gateway_full:?}"
        );
    }
    let cells =
        |row: &str| -> Vec<String> { row.split(" | ").map(|c| c.trim().to_owned()).collect() };
    assert_eq!(cells(text[3])[9], "20.0", "peak RSS MiB");
    assert_eq!(cells(text[4])[9], "–", "no RSS read: {}", text[4]);
    assert_eq!(cells(text[2])[10], "–", "no ratio on nginx's row");
    assert!(
        text[5].trim_end().ends_with("0; resumed 99.6%"),
        "{}",
        text[5]
    );
    assert!(!text[7].contains("resumed"), "{}", text[7]);
    assert!(stdout.contains(
        "full mTLS, TLS 1.3, ECDSA P-256: gateway server CPU per connection = 0.30 × nginx's \
         (target ≤ 1/3): met (10% under the limit)"
    ));
    assert!(stdout.contains(
        "resumed, TLS 1.3 (handshake only): gateway server CPU per connection = 0.30 × nginx's \
         (target ≤ 1/5): NOT met: 50% over the limit (would need 40 µs, measured 60 µs)"
    ));
    assert!(stdout.contains(
        "keep-alive requests per core: gateway = 2.00 × nginx's (target ≥ 1.5×): met (33% above the target)"
    ));
    assert!(stdout.contains(
        "note: resumed, TLS 1.3 (handshake only) / gateway: the server's core was 50% busy (generator 50%)"
    ));

    let md = std::fs::read_to_string(d.join("table.md")).expect("markdown");
    assert!(md.starts_with("| scenario | server | rate/s |"), "{md}");
    assert!(md.contains("\n|---|---|---:|"), "{md}");
    assert!(
        md.contains("\n- keep-alive requests per core: gateway = 2.00"),
        "{md}"
    );
    assert!(md.contains("\n- note: resumed, TLS 1.3"), "{md}");
    assert!(
        md.contains("| resumed, TLS 1.3 (handshake only) | gateway | TLSv1_3 TLS13_AES_128_GCM_SHA256 X25519 | true | HTTP/1.1 200 OK |"),
        "{md}"
    );
    assert!(
        md.contains("| ECDHE X25519 (server keypair + shared secret) | 25.1 |"),
        "{md}"
    );
    assert!(
        md.contains("| server signature RSA-2048 PSS SHA-256 | 812.5 |"),
        "{md}"
    );
    assert!(md.contains(
        "| full mTLS, TLS 1.3, ECDSA P-256 | TLSv1_3 TLS13_AES_256_GCM_SHA384 X25519 | \
         X25519 + ECDSA sign + CertificateVerify (+ chain signature) | 150 | 190 | 240 | 230 (TLS13_AES_128_GCM_SHA256) |"
    ), "{md}");

    let summary = std::fs::read_to_string(d.join("summary.tsv")).expect("summary");
    let summary: Vec<&str> = summary.lines().collect();
    assert_eq!(
        summary[0],
        "scenario\tserver\tattempts\tsuccesses\terrors\terror_pct"
    );
    assert_eq!(
        summary[2],
        "full-tls13-ecdsa\tgateway\t20003\t20000\t3\t0.015"
    );
    assert_eq!(summary.len(), 7);
}

#[test]
fn a_bad_runs_line_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runs = dir.path().join("runs.tsv");
    std::fs::write(&runs, "full-tls13-ecdsa\tgateway\n").expect("runs");
    let out = Command::new(BIN)
        .arg("--runs")
        .arg(&runs)
        .output()
        .expect("run bench-report");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad --runs line"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
