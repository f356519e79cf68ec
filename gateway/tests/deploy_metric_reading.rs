//! The reading the other `deploy_*` suites rely on: every metric constant is exported with its
//! labels, and the PromQL scanner finds names, matchers and groupings.

mod deploy_support;

use deploy_support::metrics::exported;
use deploy_support::promql::{check_expr, grouping_labels, metric_refs};
use mtls_gateway::metrics;

#[test]
fn every_metric_constant_is_exported_with_its_labels() {
    let exported = exported();
    for name in [
        metrics::TLS_HANDSHAKES,
        metrics::TLS_HANDSHAKE_DURATION,
        metrics::CLIENT_CERT_VERDICTS,
        metrics::CLIENT_CERT_TOO_LARGE,
        metrics::REQUESTS,
        metrics::REQUEST_DURATION,
        metrics::UPSTREAM_DURATION,
        metrics::UPSTREAM_ERRORS,
        metrics::REFUSALS,
        metrics::ACTIVE_CONNECTIONS,
        metrics::CONNECTIONS_REFUSED,
        metrics::CONFIG_RELOADS,
        metrics::SERVER_CERT_EXPIRY,
        metrics::RATELIMIT_DECISIONS,
        metrics::RATELIMIT_REDIS_ERRORS,
        metrics::RATELIMIT_REDIS_DEGRADED,
        metrics::CRL_NEXT_UPDATE,
    ] {
        assert!(exported.families.contains_key(name), "{name} not exported");
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
    assert!(exported
        .series
        .contains_key("mtls_gateway_tls_handshake_duration_seconds_bucket"));
    assert!(exported.families["mtls_gateway_refusals"]
        .1
        .contains("fault"));
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
