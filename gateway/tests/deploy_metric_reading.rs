//! The reading the other `deploy_*` suites rely on: the metric families read from
//! `gateway/src/metrics.rs` match what the real encoder exports, and the PromQL scanner finds
//! names, matchers and groupings.

mod deploy_support;

use deploy_support::metrics::exported;
use deploy_support::promql::{check_expr, grouping_labels, metric_refs, parse_matchers};
use deploy_support::{read, repo};
use mtls_gateway::metrics::Metrics;

#[test]
fn metrics_read_from_source_match_the_exposition() {
    let source = read(&repo().join("gateway/src/metrics.rs"));
    let exported = exported();
    // Every name constant was traced to a registered field and its labels.
    let constants: Vec<&str> = source
        .lines()
        .filter(|l| l.trim_start().starts_with("pub const "))
        .filter_map(|l| l.split('"').nth(1))
        .filter(|n| n.starts_with("mtls_gateway_"))
        .collect();
    assert!(constants.len() >= 10, "{constants:?}");
    for c in &constants {
        assert!(
            exported.families.contains_key(*c),
            "{c}: not traced from its constant to `registry.register(CONST, \"help\", m.field.clone())` \
             and a `pub field: Family<Labels, Counter|Gauge|Histogram>` in metrics.rs"
        );
    }
    let (kind, labels) = &exported.families["mtls_gateway_requests"];
    assert_eq!(kind, "counter");
    assert!(
        labels.contains("host_kind") && labels.contains("status_class"),
        "{labels:?}"
    );
    assert_eq!(
        exported.families["mtls_gateway_tls_handshake_duration_seconds"].0,
        "histogram"
    );

    // The real encoder agrees wherever it shows something: an idle registry still exports the
    // metrics without labels, so their TYPE lines and sample names check the suffix rules.
    let text = Metrics::new().encode();
    let mut seen = 0;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            let (name, kind) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            assert_eq!(
                exported.families.get(name).map(|(k, _)| k.as_str()),
                Some(kind),
                "{line}"
            );
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            let name = &line[..end];
            let labels = exported
                .series
                .get(name)
                .unwrap_or_else(|| panic!("sample {name} not expected from metrics.rs"));
            if let Some(inner) = line[end..].strip_prefix('{') {
                let inner = &inner[..inner.find('}').expect("closing brace")];
                for (label, _, _) in parse_matchers(inner) {
                    assert!(labels.contains(&label), "{line}: label {label}");
                }
            }
            seen += 1;
        }
    }
    assert!(
        seen >= 3,
        "the idle registry exported only {seen} samples:\n{text}"
    );
}

#[test]
fn promql_scanner_finds_names_matchers_and_groupings() {
    let expr = r#"sum by (job, le) (rate(mtls_gateway_x_bucket{job="a", outcome=~"b|c"}[5m])) / on () mtls_gateway_y"#;
    let refs = metric_refs(expr);
    assert_eq!(refs.len(), 2, "{refs:?}");
    assert_eq!(refs[0].name, "mtls_gateway_x_bucket");
    assert_eq!(
        refs[0].matchers,
        vec![
            ("job".into(), "=".into(), "a".into()),
            ("outcome".into(), "=~".into(), "b|c".into())
        ]
    );
    assert!(refs[1].matchers.is_empty());
    assert_eq!(grouping_labels(expr), vec!["job", "le"]);
    let problems = check_expr(
        "t",
        r#"sum by (nope) (mtls_gateway_requests_total{status_class="6xx", kynd="2xx"})"#,
    );
    assert_eq!(problems.len(), 3, "{problems:#?}");
}
