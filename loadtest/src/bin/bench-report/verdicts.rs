//! The benchmark's targets, judged from the runs, and the notes on runs where the server was not
//! the bottleneck.

use crate::runs::{cpu, label, Run};

/// Handshake scenarios and the most gateway CPU they may take, as a share of nginx's.
const HANDSHAKE_TARGETS: [(&str, f64); 5] = [
    ("full-tls13-ecdsa", 1.0 / 3.0),
    ("full-tls12-ecdsa", 1.0 / 3.0),
    ("full-tls13-rsa", 1.0 / 3.0),
    ("resume-tls13", 0.2),
    ("resume-tls12", 0.2),
];

/// Keep-alive: the gateway serves at least this many times nginx's requests per core.
const KEEPALIVE_TARGET: f64 = 1.5;

/// One line per target that both servers were measured for.
pub fn targets(runs: &[Run]) -> Vec<String> {
    let ratio = |s: &str| Some(cpu(runs, s, "gateway")? / cpu(runs, s, "nginx")?);
    let mut verdicts = Vec::new();
    for (scenario, limit) in HANDSHAKE_TARGETS {
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
                cpu(runs, scenario, "nginx").unwrap_or(0.0) * limit,
                cpu(runs, scenario, "gateway").unwrap_or(0.0)
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
        let verdict = if per_core >= KEEPALIVE_TARGET {
            format!(
                "met ({:.0}% above the target)",
                (per_core / KEEPALIVE_TARGET - 1.0) * 100.0
            )
        } else {
            format!(
                "NOT met: {:.0}% below the target",
                (1.0 - per_core / KEEPALIVE_TARGET) * 100.0
            )
        };
        verdicts.push(format!(
            "keep-alive requests per core: gateway = {per_core:.2} × nginx's (target ≥ 1.5×): {verdict}"
        ));
    }
    verdicts
}

/// Runs whose server core was under 85% busy: the generator, not the server, set the rate.
pub fn saturation_notes(runs: &[Run]) -> Vec<String> {
    runs.iter()
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
        .collect()
}
