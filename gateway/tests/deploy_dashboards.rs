//! The Grafana dashboard (`deploy/grafana/`) only queries metrics, labels and label values the
//! gateway really exports, through the `datasource` variable. (promtool's check of its queries is
//! in `deploy_prometheus`.)

mod deploy_support;

use std::collections::BTreeSet;

use deploy_support::files::dashboard;
use deploy_support::promql::check_expr;

#[test]
fn dashboard_panels_query_exported_metrics() {
    let dash = dashboard();
    assert!(
        dash["schemaVersion"].as_u64().is_some_and(|v| v >= 36),
        "schemaVersion"
    );
    assert!(dash["uid"].as_str().is_some_and(|u| !u.is_empty()), "uid");
    let variables = dash["templating"]["list"].as_array().expect("templating");
    assert!(
        variables.iter().any(|v| v["name"] == "datasource"
            && v["type"] == "datasource"
            && v["query"] == "prometheus"),
        "a Prometheus datasource variable named `datasource`"
    );

    let panels = dash["panels"].as_array().expect("panels");
    assert!(panels.len() >= 10, "{} panels", panels.len());
    let mut ids = BTreeSet::new();
    let mut problems = Vec::new();
    for panel in panels {
        let title = panel["title"].as_str().unwrap_or_default();
        assert!(!title.trim().is_empty(), "a panel without title: {panel}");
        assert!(
            ids.insert(panel["id"].to_string()),
            "duplicate id in {title}"
        );
        assert!(panel["gridPos"].is_object(), "{title}: gridPos");
        assert_eq!(
            panel["datasource"]["uid"], "${datasource}",
            "{title}: panel datasource"
        );
        let targets = panel["targets"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        assert!(!targets.is_empty(), "{title}: no target");
        for t in targets {
            let expr = t["expr"].as_str().unwrap_or_default();
            assert!(!expr.trim().is_empty(), "{title}: a target without expr");
            assert_eq!(
                t["datasource"]["uid"], "${datasource}",
                "{title}: target datasource"
            );
            problems.extend(check_expr(&format!("dashboard panel {title:?}"), expr));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
