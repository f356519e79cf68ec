//! The Markdown tables below the main one: what the probe negotiated with each server, and the
//! crypto floor.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::runs::{label, num};
use crate::table::f;

/// What the probe connection negotiated with each server, per scenario.
pub fn negotiated(text: &str) -> String {
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
pub fn floor(fl: &Value) -> String {
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
    md.push_str(&floor_scenarios(fl));
    md
}

fn floor_scenarios(fl: &Value) -> String {
    let mut md = String::new();
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
