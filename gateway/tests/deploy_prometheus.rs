//! The Prometheus files (`deploy/prometheus/`): the alert rules only query metrics, labels and
//! label values the gateway really exports, and `promtool` accepts the rules, their unit tests,
//! the Prometheus configuration and every dashboard query.

mod deploy_support;

use std::collections::BTreeSet;
use std::process::Command;

use deploy_support::files::{alert_exprs, dashboard, dashboard_exprs};
use deploy_support::promql::check_expr;
use deploy_support::{assert_success, deploy, read, tool_available};
use serde_json::Value;

#[test]
fn alert_rules_query_exported_metrics() {
    let rules = alert_exprs();
    let text = read(&deploy().join("prometheus/alerts.yml"));
    assert_eq!(
        rules.len(),
        text.matches("- alert:").count(),
        "every alert has an expr"
    );
    let names: BTreeSet<&str> = rules.iter().map(|(a, _)| a.as_str()).collect();
    for wanted in [
        "MtlsGatewayDown",
        "MtlsGatewayServerCertExpiringSoon",
        "MtlsGatewayCrlStale",
        "MtlsGatewayClientCertFailureSpike",
        "MtlsGatewayHigh5xxRatio",
        "MtlsGatewayUpstreamErrors",
        "MtlsGatewayConfigReloadFailed",
    ] {
        assert!(names.contains(wanted), "missing alert {wanted}");
    }
    let mut problems = Vec::new();
    for (alert, expr) in &rules {
        problems.extend(check_expr(&format!("alert {alert}"), expr));
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // Without promtool, at least the shape every rule needs.
    for block in text.split("- alert:").skip(1) {
        let name = block.lines().next().unwrap_or_default().trim();
        for key in ["expr:", "for:", "severity:", "summary:", "description:"] {
            assert!(block.contains(key), "alert {name} has no `{key}`");
        }
    }
}

#[test]
fn promtool_accepts_rules_tests_config_and_dashboard_queries() {
    if !tool_available(
        "promtool",
        Command::new("promtool").arg("--version"),
        "prometheus",
    ) {
        return;
    }
    let prom = deploy().join("prometheus");
    assert_success(
        Command::new("promtool")
            .args(["check", "rules"])
            .arg(prom.join("alerts.yml")),
    );
    // rule_files in prometheus.yml is relative to that file, so this checks alerts.yml again.
    assert_success(
        Command::new("promtool")
            .args(["check", "config"])
            .arg(prom.join("prometheus.yml")),
    );
    assert_success(
        Command::new("promtool")
            .args(["test", "rules"])
            .arg(prom.join("alerts.test.yml")),
    );

    // Every dashboard query as a recording rule, with Grafana's variables filled in.
    let rules: Vec<Value> = dashboard_exprs(&dashboard())
        .into_iter()
        .enumerate()
        .map(|(i, (_, _, expr))| {
            let expr = expr
                .replace("$__rate_interval", "5m")
                .replace("$__range", "1h")
                .replace("$__interval", "1m")
                .replace("$instance", ".*");
            serde_json::json!({ "record": format!("dashboard:query_{i}"), "expr": expr })
        })
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("dashboard-queries.yml");
    let doc = serde_json::json!({ "groups": [{ "name": "dashboard", "rules": rules }] });
    std::fs::write(&file, doc.to_string()).expect("write");
    assert_success(Command::new("promtool").args(["check", "rules"]).arg(&file));
}
