//! The files in `deploy/` checked against the gateway they deploy.
//!
//! - The Grafana dashboard and the Prometheus alert rules only query metrics, labels and label
//!   values the gateway really exports.
//! - `promtool` accepts the rules, their unit tests, the Prometheus configuration and every
//!   dashboard query.
//! - Every YAML file parses, and the Kubernetes manifests and the compose file agree with the
//!   gateway configuration they carry or mount (ports, paths, drain deadline).
//! - `deploy/gateway.example.toml` and the ConfigMap's `gateway.toml` pass `mtls-gateway check`
//!   once their file paths point at a generated PKI.
//!
//! `promtool` (Debian package `prometheus`) and PyYAML (Debian package `python3-yaml`) are
//! external tools: when one is missing the checks that need it are skipped with a loud message,
//! except under `CI=true`, where a missing tool fails the test.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use mtls_certs::{DevPki, PkiSpec};
use mtls_gateway::config::file::FileConfig;
use mtls_gateway::metrics::{self, Metrics};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mtls-gateway");

/// Labels Prometheus attaches to every scraped series.
const TARGET_LABELS: &[&str] = &["job", "instance"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

fn deploy() -> PathBuf {
    repo().join("deploy")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Whether an external tool works. Missing: a loud skip message, or a failure under `CI=true`.
fn tool_available(what: &str, probe: &mut Command, debian_package: &str) -> bool {
    if probe.output().is_ok_and(|o| o.status.success()) {
        return true;
    }
    let message = format!(
        "{what} is not available, so the checks that need it did not run. \
         Install the Debian package `{debian_package}` (apt-get install -y {debian_package})."
    );
    if on_ci() {
        panic!("{message} CI=true: these checks are mandatory there.");
    }
    let bar = "!".repeat(100);
    shout(&format!("\n{bar}\nSKIPPED: {message}\n{bar}\n"));
    false
}

/// Straight to stderr: the test harness captures `eprintln!` of passing tests, and a skipped
/// check must not go unnoticed.
fn shout(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn assert_success(cmd: &mut Command) -> String {
    let out = run(cmd);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    stdout
}

// ---------------------------------------------------------------------------------------------
// What the gateway exports

/// Every series name the gateway exports, with its label names.
struct Exported {
    series: BTreeMap<String, BTreeSet<String>>,
    /// Family name -> (counter | gauge | histogram, label names).
    families: BTreeMap<String, (String, BTreeSet<String>)>,
    /// (series, label) -> every value the gateway can give it.
    values: BTreeMap<(String, String), BTreeSet<String>>,
}

/// From the exposition of a registry holding every series the gateway can export, each label at
/// every value it can take (`Metrics::with_every_series`); labels whose values come from
/// configuration show one example value.
fn exported() -> &'static Exported {
    static EXPORTED: OnceLock<Exported> = OnceLock::new();
    EXPORTED.get_or_init(|| exported_from(&Metrics::with_every_series().encode()))
}

/// Family kinds from `# TYPE` lines; series, their label names and values from the samples.
fn exported_from(exposition: &str) -> Exported {
    let mut families = BTreeMap::new();
    let mut series: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut values: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for line in exposition.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            let (name, kind) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            families.insert(name.to_owned(), (kind.to_owned(), BTreeSet::new()));
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            let name = line[..end].to_owned();
            let labels = series.entry(name.clone()).or_default();
            if let Some(inner) = line[end..].strip_prefix('{') {
                let inner = &inner[..inner.find('}').expect("closing brace")];
                for (label, _, value) in parse_matchers(inner) {
                    labels.insert(label.clone());
                    values
                        .entry((name.clone(), label))
                        .or_default()
                        .insert(value);
                }
            }
        }
    }
    for (name, labels) in &series {
        let family = families
            .keys()
            .filter(|f| name.starts_with(f.as_str()))
            .max_by_key(|f| f.len())
            .cloned();
        if let Some(f) = family {
            let entry = families.get_mut(&f).expect("family");
            entry
                .1
                .extend(labels.iter().filter(|l| *l != "le").cloned());
        }
    }
    Exported {
        series,
        families,
        values,
    }
}

// ---------------------------------------------------------------------------------------------
// PromQL, as far as these files use it

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b':'
}

#[derive(Debug)]
struct MetricRef {
    name: String,
    /// (label, operator, value) of the selector's matchers.
    matchers: Vec<(String, String, String)>,
}

/// Every `mtls_gateway_*` metric an expression selects, with its label matchers.
fn metric_refs(expr: &str) -> Vec<MetricRef> {
    let b = expr.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = expr[from..].find("mtls_gateway_") {
        let start = from + pos;
        let mut end = start;
        while end < b.len() && is_ident(b[end]) {
            end += 1;
        }
        from = end;
        if start > 0 && is_ident(b[start - 1]) {
            continue;
        }
        let rest = expr[end..].trim_start();
        let matchers = match rest.strip_prefix('{') {
            Some(inner) => {
                let close = inner.find('}').expect("selector closes");
                parse_matchers(&inner[..close])
            }
            None => Vec::new(),
        };
        out.push(MetricRef {
            name: expr[start..end].to_owned(),
            matchers,
        });
    }
    out
}

fn parse_matchers(inner: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut rest = inner.trim();
    while !rest.is_empty() {
        let name_end = rest
            .bytes()
            .position(|c| !is_ident(c))
            .unwrap_or(rest.len());
        let label = rest[..name_end].to_owned();
        let after = rest[name_end..].trim_start();
        let op = ["=~", "!~", "!=", "="]
            .into_iter()
            .find(|op| after.starts_with(op))
            .unwrap_or_else(|| panic!("no matcher operator in {{{inner}}}"));
        let after = after[op.len()..].trim_start();
        let value = after.strip_prefix('"').expect("quoted matcher value");
        let close = value.find('"').expect("closing quote");
        out.push((label, op.to_owned(), value[..close].to_owned()));
        rest = value[close + 1..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    out
}

/// Label names in `by (...)` / `without (...)` clauses.
fn grouping_labels(expr: &str) -> Vec<String> {
    let b = expr.as_bytes();
    let mut out = Vec::new();
    for keyword in ["by", "without"] {
        let mut from = 0;
        while let Some(pos) = expr[from..].find(keyword) {
            let start = from + pos;
            let end = start + keyword.len();
            from = end;
            if (start > 0 && is_ident(b[start - 1])) || (end < b.len() && is_ident(b[end])) {
                continue;
            }
            let Some(inner) = expr[end..].trim_start().strip_prefix('(') else {
                continue;
            };
            let close = inner.find(')').expect("grouping closes");
            out.extend(
                inner[..close]
                    .split(',')
                    .map(|l| l.trim().to_owned())
                    .filter(|l| !l.is_empty()),
            );
        }
    }
    out
}

/// Checks one expression against what the gateway exports; returns the problems found.
fn check_expr(context: &str, expr: &str) -> Vec<String> {
    let exported = exported();
    let mut problems = Vec::new();
    let refs = metric_refs(expr);
    let mut labels_in_expr: BTreeSet<String> =
        TARGET_LABELS.iter().map(|s| (*s).to_owned()).collect();
    let mut all_known = true;
    for r in &refs {
        let labels = exported.series.get(&r.name);
        match labels {
            Some(labels) => labels_in_expr.extend(labels.iter().cloned()),
            None => {
                problems.push(format!(
                    "{context}: `{}` is not exported by the gateway",
                    r.name
                ));
                all_known = false;
            }
        }
        for (label, op, value) in &r.matchers {
            if TARGET_LABELS.contains(&label.as_str()) {
                continue;
            }
            if let Some(labels) = labels {
                if !labels.contains(label) {
                    problems.push(format!(
                        "{context}: `{}` has no label `{label}` (it has {labels:?})",
                        r.name
                    ));
                }
            }
            // Every value matched must be one the gateway can give the label (labels whose values
            // come from configuration show only an example, and are not checked).
            let known = exported.values.get(&(r.name.clone(), label.clone()));
            let from_config = known.is_none_or(|k| k.contains("example"));
            let alternatives: Vec<&str> = if op.ends_with('~') {
                value.split('|').collect()
            } else {
                vec![value.as_str()]
            };
            for v in alternatives {
                let plain = v.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
                if plain && !v.is_empty() && !from_config && !known.is_some_and(|k| k.contains(v)) {
                    problems.push(format!(
                        "{context}: `{}{{{label}{op}\"{value}\"}}`: the gateway never sets {label}=\"{v}\"",
                        r.name
                    ));
                }
            }
        }
    }
    if all_known {
        for label in grouping_labels(expr) {
            if !labels_in_expr.contains(&label) {
                problems.push(format!(
                    "{context}: grouping by `{label}`, which no metric in the expression has"
                ));
            }
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// The files

fn dashboard() -> Value {
    let path = deploy().join("grafana/mtls-gateway-dashboard.json");
    serde_json::from_str(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// (panel title, refId, expr) of every dashboard query.
fn dashboard_exprs(dash: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for panel in dash["panels"].as_array().expect("panels") {
        let title = panel["title"].as_str().unwrap_or_default();
        for t in panel["targets"].as_array().into_iter().flatten() {
            out.push((
                title.to_owned(),
                t["refId"].as_str().unwrap_or_default().to_owned(),
                t["expr"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    out
}

/// (alert name, expr) of every rule in alerts.yml, read without a YAML library: `expr:` is
/// either a one-line scalar or a `|` block.
fn alert_exprs() -> Vec<(String, String)> {
    let text = read(&deploy().join("prometheus/alerts.yml"));
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut alert = String::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if let Some(name) = trimmed.strip_prefix("- alert:") {
            alert = name.trim().to_owned();
        } else if let Some(value) = trimmed.strip_prefix("expr:") {
            let value = value.trim();
            let indent = line.len() - trimmed.len();
            let expr = if value.starts_with('|') || value.starts_with('>') {
                let mut block = Vec::new();
                while i + 1 < lines.len() {
                    let next = lines[i + 1];
                    let next_indent = next.len() - next.trim_start().len();
                    if !next.trim().is_empty() && next_indent <= indent {
                        break;
                    }
                    block.push(next.trim());
                    i += 1;
                }
                block.join("\n")
            } else {
                value.trim_matches(['"', '\'']).to_owned()
            };
            assert!(!alert.is_empty(), "expr before any alert");
            out.push((alert.clone(), expr));
        }
        i += 1;
    }
    out
}

fn example_toml() -> String {
    read(&deploy().join("gateway.example.toml"))
}

/// The `gateway.toml` block of the ConfigMap, read without a YAML library.
fn configmap_toml() -> String {
    let text = read(&deploy().join("kubernetes/configmap.yaml"));
    let mut lines = text.lines().skip_while(|l| l.trim() != "gateway.toml: |");
    let header = lines
        .next()
        .expect("configmap.yaml has a `gateway.toml: |` block");
    let key_indent = header.len() - header.trim_start().len();
    let mut block_indent = None;
    let mut out = String::new();
    for line in lines {
        let indent = line.len() - line.trim_start().len();
        if !line.trim().is_empty() && indent <= key_indent {
            break;
        }
        let strip = *block_indent.get_or_insert(indent);
        out.push_str(line.get(strip..).unwrap_or(""));
        out.push('\n');
    }
    out.trim_end().to_owned() + "\n"
}

fn file_config(what: &str, text: &str) -> FileConfig {
    toml::from_str(text).unwrap_or_else(|e| panic!("{what}: {e}"))
}

fn socket_port(addr: &str) -> u16 {
    addr.rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or_else(|| panic!("`{addr}` has no port"))
}

// ---------------------------------------------------------------------------------------------
// 1. Dashboard and alert rules against the exported metrics

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

// ---------------------------------------------------------------------------------------------
// 2. promtool

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

// ---------------------------------------------------------------------------------------------
// 3. YAML files and the Kubernetes manifests

fn yaml_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![deploy()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read deploy dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// All documents of a YAML file, through PyYAML's safe loader, as JSON.
fn load_yaml(path: &Path) -> Vec<Value> {
    let out = assert_success(
        Command::new("python3")
            .arg("-c")
            .arg(
                "import sys, json, yaml\n\
         docs = list(yaml.safe_load_all(open(sys.argv[1])))\n\
         json.dump(docs, sys.stdout, default=str)",
            )
            .arg(path),
    );
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn pyyaml_available() -> bool {
    tool_available(
        "PyYAML (python3 -c 'import yaml')",
        Command::new("python3").args(["-c", "import yaml"]),
        "python3-yaml",
    )
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn drain_timeout(config: &FileConfig) -> Duration {
    config.limits.drain_timeout
}

#[test]
fn every_yaml_file_parses() {
    if !pyyaml_available() {
        return;
    }
    let files = yaml_files();
    assert!(files.len() >= 10, "{files:?}");
    for f in &files {
        let docs = load_yaml(f);
        assert!(
            docs.iter().any(|d| !d.is_null()),
            "{}: no document",
            f.display()
        );
    }
}

#[test]
fn kubernetes_manifests_fit_together_and_fit_the_gateway() {
    if !pyyaml_available() {
        return;
    }
    let dir = deploy().join("kubernetes");
    let kustomization = load_yaml(&dir.join("kustomization.yaml")).remove(0);
    let listed: BTreeSet<String> = kustomization["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| r.as_str().expect("resource").to_owned())
        .collect();
    let present: BTreeSet<String> = yaml_files()
        .into_iter()
        .filter(|p| p.parent() == Some(dir.as_path()))
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .filter(|n| n != "kustomization.yaml")
        .collect();
    assert_eq!(listed, present, "kustomization.yaml lists every manifest");

    let mut docs = Vec::new();
    for file in &listed {
        for doc in load_yaml(&dir.join(file)) {
            for key in ["apiVersion", "kind"] {
                assert!(
                    doc[key].as_str().is_some_and(|s| !s.is_empty()),
                    "{file}: {key}"
                );
            }
            assert!(
                doc["metadata"]["name"]
                    .as_str()
                    .is_some_and(|s| !s.is_empty()),
                "{file}: metadata.name"
            );
            docs.push(doc);
        }
    }

    // The configuration the pods run, and the one extracted by hand for `check` below.
    let cm = find(&docs, "ConfigMap", "mtls-gateway-config");
    let toml_text = cm["data"]["gateway.toml"].as_str().expect("gateway.toml");
    assert_eq!(
        toml_text,
        configmap_toml(),
        "configmap_toml() extracts the same text"
    );
    let config = file_config("configmap.yaml gateway.toml", toml_text);

    let deployment = find(&docs, "Deployment", "mtls-gateway");
    let spec = &deployment["spec"];
    assert!(
        spec["replicas"].as_u64().is_some_and(|r| r >= 2),
        "replicas >= 2"
    );
    let pod = &spec["template"]["spec"];
    let labels = &spec["template"]["metadata"]["labels"];
    for (k, v) in spec["selector"]["matchLabels"]
        .as_object()
        .expect("selector")
    {
        assert_eq!(&labels[k], v, "pod template carries selector label {k}");
    }
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let containers = pod["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert!(
        sc["capabilities"]["drop"]
            .as_array()
            .is_some_and(|d| d.iter().any(|c| c == "ALL")),
        "drops ALL capabilities"
    );
    assert!(
        c["resources"]["requests"]["cpu"].is_string(),
        "CPU request (for the HPA)"
    );
    assert!(
        c["resources"]["limits"]["memory"].is_string(),
        "memory limit"
    );

    let port = |name: &str| -> u64 {
        c["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["containerPort"].as_u64())
            .unwrap_or_else(|| panic!("container port {name}"))
    };
    // Probes on the admin listener, which must then listen beyond loopback.
    for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
        let get = &c[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe}");
        assert_eq!(get["port"], "admin", "{probe} port");
    }
    assert!(config.admin.enabled, "the admin listener is enabled");
    let admin = &config.admin.listen;
    assert!(
        admin.starts_with("0.0.0.0:") || admin.starts_with("[::]:"),
        "[admin] listen = {admin:?} must be reachable by the kubelet"
    );
    assert_eq!(u64::from(socket_port(admin)), port("admin"));
    assert_eq!(config.listen.len(), 1);
    assert_eq!(u64::from(socket_port(&config.listen[0])), port("https"));

    // Termination: grace period > preStop sleep + drain deadline.
    let grace = pod["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("terminationGracePeriodSeconds");
    let pre_stop = &c["lifecycle"]["preStop"];
    let sleep = match pre_stop["exec"]["command"].as_array() {
        Some(cmd)
            if cmd
                .first()
                .is_some_and(|c| c.as_str().is_some_and(|c| c.ends_with("sleep"))) =>
        {
            cmd.get(1)
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<u64>().ok())
                .expect("sleep seconds")
        }
        Some(cmd) => panic!("unexpected preStop command {cmd:?}"),
        None => pre_stop["sleep"]["seconds"].as_u64().unwrap_or(0),
    };
    let drain = drain_timeout(&config).as_secs_f64();
    assert!(
        grace as f64 > sleep as f64 + drain,
        "terminationGracePeriodSeconds {grace} must exceed preStop {sleep}s + drain_timeout {drain}s"
    );

    // The config path and every file the configuration names come from a mounted volume that
    // has that key.
    let args: Vec<&str> = c["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("arg"))
        .collect();
    let config_path = args
        .windows(2)
        .find(|w| w[0] == "--config")
        .map(|w| w[1])
        .expect("--config in args");
    let domain = &config.domains[0];
    let mut paths = vec![config_path, domain.cert.as_str(), domain.key.as_str()];
    paths.extend(domain.api_key_file.as_deref());
    paths.extend(domain.mtls.client_ca.iter().map(|ca| ca.file()));
    paths.extend(domain.mtls.crl.iter().map(String::as_str));
    paths.extend(domain.mtls.deny_list.as_deref());
    paths.extend(domain.mtls.registry.as_deref());
    paths.extend(domain.upstream.ca_file.as_deref());
    for path in paths {
        let mount = c["volumeMounts"]
            .as_array()
            .expect("volumeMounts")
            .iter()
            .find(|m| {
                m["mountPath"]
                    .as_str()
                    .is_some_and(|mp| path.starts_with(&format!("{}/", mp.trim_end_matches('/'))))
            })
            .unwrap_or_else(|| panic!("{path} is on no volume mount"));
        let key =
            path[mount["mountPath"].as_str().expect("mountPath").len()..].trim_start_matches('/');
        let volume = pod["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .find(|v| v["name"] == mount["name"])
            .expect("volume of the mount");
        let source = if let Some(name) = volume["configMap"]["name"].as_str() {
            find(&docs, "ConfigMap", name)["data"].clone()
        } else if let Some(name) = volume["secret"]["secretName"].as_str() {
            let s = find(&docs, "Secret", name);
            if s["stringData"].is_object() {
                s["stringData"].clone()
            } else {
                s["data"].clone()
            }
        } else {
            panic!("volume {volume} is neither a ConfigMap nor a Secret");
        };
        assert!(
            source.get(key).is_some(),
            "{path}: the volume {} has no key {key}",
            mount["name"]
        );
    }

    let service = find(&docs, "Service", "mtls-gateway");
    assert_eq!(service["spec"]["type"], "LoadBalancer");
    assert_eq!(service["spec"]["externalTrafficPolicy"], "Local");
    assert_eq!(service["spec"]["selector"], spec["selector"]["matchLabels"]);
    let ports = service["spec"]["ports"].as_array().expect("service ports");
    assert!(ports
        .iter()
        .all(|p| p["targetPort"] == "https" || p["targetPort"] == port("https")));
    assert!(
        ports
            .iter()
            .all(|p| p["targetPort"] != "admin" && p["targetPort"] != port("admin")),
        "the admin port is not exposed"
    );

    let pdb = find(&docs, "PodDisruptionBudget", "mtls-gateway");
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    assert_eq!(
        pdb["spec"]["selector"]["matchLabels"],
        spec["selector"]["matchLabels"]
    );

    let hpa = find(&docs, "HorizontalPodAutoscaler", "mtls-gateway");
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], "Deployment");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], "mtls-gateway");
    assert!(hpa["spec"]["minReplicas"].as_u64().is_some_and(|m| m >= 2));
    assert!(
        hpa["spec"]["metrics"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["resource"]["name"] == "cpu")),
        "scales on CPU"
    );

    // Rendered by kustomize too, where kubectl is installed (optional: no cluster needed).
    if Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let rendered = assert_success(Command::new("kubectl").arg("kustomize").arg(&dir));
        let kinds = rendered.lines().filter(|l| l.starts_with("kind: ")).count();
        assert_eq!(kinds, docs.len(), "kustomize renders every document");
    } else {
        shout("note: kubectl not found; `kubectl kustomize deploy/kubernetes` not run");
    }
}

#[test]
fn compose_file_fits_the_example_configuration() {
    if !pyyaml_available() {
        return;
    }
    let compose = load_yaml(&deploy().join("compose.yaml")).remove(0);
    let config = file_config("gateway.example.toml", &example_toml());
    let services = &compose["services"];
    for name in ["gateway", "demo", "prometheus"] {
        assert!(services[name].is_object(), "service {name}");
    }
    let gateway = &services["gateway"];
    assert_eq!(gateway["build"]["dockerfile"], "deploy/Containerfile");
    assert!(gateway["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .any(|v| v == "./gateway.example.toml:/etc/mtls-gateway/gateway.toml:ro"));
    // Every file the configuration names is mounted, the API key as a compose secret, which
    // appears as /run/secrets/<name>.
    let mounts: Vec<&str> = gateway["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .filter_map(|v| v.as_str()?.split(':').nth(1))
        .collect();
    let d = &config.domains[0];
    let mut files = vec![d.cert.as_str(), d.key.as_str()];
    files.extend(d.mtls.client_ca.iter().map(|ca| ca.file()));
    files.extend(d.mtls.crl.iter().map(String::as_str));
    files.extend(d.mtls.deny_list.as_deref());
    files.extend(d.mtls.registry.as_deref());
    files.extend(d.upstream.ca_file.as_deref());
    for f in files {
        assert!(
            mounts
                .iter()
                .any(|m| f == *m || f.starts_with(&format!("{}/", m.trim_end_matches('/')))),
            "{f} is not mounted into the gateway service ({mounts:?})"
        );
    }
    assert_eq!(
        config.domains[0].api_key_file.as_deref(),
        Some("/run/secrets/cname-api-key")
    );
    assert!(gateway["secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .any(|s| s == "cname-api-key"));
    let grace = humantime::parse_duration(gateway["stop_grace_period"].as_str().expect("grace"))
        .expect("stop_grace_period");
    assert!(
        grace > drain_timeout(&config),
        "stop_grace_period > drain_timeout"
    );
    for p in config.listen.iter().map(|l| socket_port(l)) {
        assert!(
            gateway["ports"]
                .as_array()
                .expect("ports")
                .iter()
                .any(|m| m.as_str().is_some_and(|m| m.ends_with(&format!(":{p}")))),
            "port {p} published"
        );
    }
    // Prometheus shares the gateway's network namespace and scrapes its loopback admin port.
    assert_eq!(services["prometheus"]["network_mode"], "service:gateway");
    let prom = load_yaml(&deploy().join("prometheus/prometheus.yml")).remove(0);
    let targets = &prom["scrape_configs"][0]["static_configs"][0]["targets"];
    assert_eq!(targets[0].as_str(), Some(config.admin.listen.as_str()));
    assert_eq!(prom["scrape_configs"][0]["job_name"], "mtls-gateway");
    for v in services["prometheus"]["volumes"]
        .as_array()
        .expect("volumes")
    {
        let host = v
            .as_str()
            .expect("volume")
            .split(':')
            .next()
            .unwrap_or_default();
        if host.starts_with("./") {
            assert!(deploy().join(host).is_file(), "{host} exists");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 4. The configurations pass `mtls-gateway check`

fn pki() -> &'static DevPki {
    static PKI: OnceLock<DevPki> = OnceLock::new();
    PKI.get_or_init(|| {
        DevPki::generate(&PkiSpec {
            domain: "auth.example.com".into(),
            upstream_host: "idp.example.internal".into(),
        })
        .expect("generate PKI")
    })
}

/// Points every file the configuration names at the generated PKI in `dir`, by replacing the
/// quoted path strings, so that everything else in the file is checked exactly as written.
fn with_pki_paths(text: &str, dir: &Path) -> String {
    let config = file_config("configuration", text);
    let mut replace: Vec<(String, PathBuf)> = Vec::new();
    for d in &config.domains {
        assert_eq!(
            d.name, "auth.example.com",
            "the PKI is made for auth.example.com"
        );
        replace.push((d.cert.clone(), dir.join("server.pem")));
        replace.push((d.key.clone(), dir.join("server.key")));
        for ca in &d.mtls.client_ca {
            replace.push((ca.file().to_owned(), dir.join("root.pem")));
        }
        for crl in &d.mtls.crl {
            replace.push((crl.clone(), dir.join("root-crl.pem")));
        }
        if let Some(f) = &d.mtls.deny_list {
            replace.push((f.clone(), dir.join("deny-list.toml")));
        }
        if let Some(f) = &d.mtls.registry {
            replace.push((f.clone(), dir.join("registry.toml")));
        }
        if let Some(f) = &d.upstream.ca_file {
            replace.push((f.clone(), dir.join("root.pem")));
        }
        if let Some(f) = &d.api_key_file {
            replace.push((f.clone(), dir.join("cname-api-key")));
        }
    }
    let mut out = text.to_owned();
    for (from, to) in replace {
        let quoted = format!("\"{from}\"");
        assert!(out.contains(&quoted), "{quoted} not found verbatim");
        out = out.replace(&quoted, &format!("\"{}\"", to.display()));
    }
    out
}

fn check_config(what: &str, text: &str, env: &[(&str, &str)]) {
    let dir = tempfile::tempdir().expect("tempdir");
    pki().write_to(dir.path()).expect("write PKI");
    std::fs::write(dir.path().join("cname-api-key"), "test-cname-api-key\n").expect("key");
    std::fs::write(
        dir.path().join("deny-list.toml"),
        "sha256 = []\n\n[[issuer_serial]]\nissuer = \"CN=Example Root CA\"\nserial = \"01:02\"\n",
    )
    .expect("deny list");
    std::fs::write(
        dir.path().join("registry.toml"),
        "[[client]]\nclient_id = \"k3Jd8s\"\nself_signed_pem = [\"self-signed-leaf.pem\"]\n",
    )
    .expect("registry");
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, with_pki_paths(text, dir.path())).expect("write config");
    let out = run(Command::new(BIN)
        .args(["check", "--config"])
        .arg(&path)
        .envs(env.iter().copied()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: mtls-gateway check failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(": OK"), "{what}: {stdout}");
    assert!(stdout.contains("mtls.auth.example.com"), "{what}: {stdout}");
}

#[test]
fn example_configuration_passes_check() {
    check_config("gateway.example.toml", &example_toml(), &[]);
}

#[test]
fn example_configuration_with_its_commented_alternatives_passes_check() {
    // Uncomment every `# key = value` line and, since api_key_env replaces it, drop api_key_file.
    let mut text = String::new();
    let mut uncommented = Vec::new();
    for line in example_toml().lines() {
        let candidate = line.strip_prefix("# ").filter(|rest| {
            rest.split_once(" = ").is_some_and(|(k, _)| {
                !k.is_empty() && k.bytes().all(|c| c.is_ascii_lowercase() || c == b'_')
            })
        });
        match candidate {
            Some(rest) => {
                uncommented.push(rest.split_once(" = ").map(|(k, _)| k.to_owned()));
                text.push_str(rest);
            }
            None if line.starts_with("api_key_file = ") => {}
            None => text.push_str(line),
        }
        text.push('\n');
    }
    let uncommented: BTreeSet<String> = uncommented.into_iter().flatten().collect();
    for key in ["api_key_env", "connect_to", "ca_file", "registry"] {
        assert!(
            uncommented.contains(key),
            "{key} is shown commented out: {uncommented:?}"
        );
    }
    let config = file_config("variant", &text);
    let var = config.domains[0].api_key_env.clone().expect("api_key_env");
    check_config(
        "gateway.example.toml with its alternatives",
        &text,
        &[(var.as_str(), "test-cname-api-key")],
    );
}

#[test]
fn example_configuration_mentions_every_key() {
    // Every field of the File* structs in config/file.rs, set or shown commented out.
    let source = read(&repo().join("gateway/src/config/file.rs"));
    let example = example_toml();
    let mut keys = Vec::new();
    let mut in_struct = false;
    let mut rename: Option<String> = None;
    let mut flatten = false;
    for line in source.lines() {
        let t = line.trim();
        if t.starts_with("pub struct File") {
            in_struct = true;
        } else if in_struct && t == "}" {
            in_struct = false;
        } else if in_struct {
            if let Some(r) = t.split("rename = \"").nth(1) {
                rename = r.split('"').next().map(str::to_owned);
            }
            // A flattened field has no key of its own: its struct's fields are scanned instead.
            if t.contains("serde(flatten)") {
                flatten = true;
                continue;
            }
            if flatten && t.starts_with("pub ") {
                flatten = false;
                continue;
            }
            if let Some(field) = t.strip_prefix("pub ").and_then(|f| f.split_once(':')) {
                let name = rename.take().unwrap_or_else(|| field.0.to_owned());
                keys.push((name, field.1.trim().trim_end_matches(',').to_owned()));
            }
        }
    }
    assert!(keys.len() >= 25, "{keys:?}");
    let mut missing = Vec::new();
    for (key, ty) in &keys {
        let found = example.lines().any(|l| {
            let l = l.trim();
            let setting = l.strip_prefix("# ").unwrap_or(l);
            setting.starts_with(&format!("{key} = "))
                || (ty.contains("File")
                    && (l == format!("[{key}]")
                        || l == format!("[[{key}]]")
                        || l.ends_with(&format!(".{key}]"))
                        || l.ends_with(&format!(".{key}]]"))))
        });
        if !found {
            missing.push(key.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "not in gateway.example.toml: {missing:?}"
    );
}

#[test]
fn configmap_configuration_passes_check() {
    check_config(
        "kubernetes/configmap.yaml gateway.toml",
        &configmap_toml(),
        &[],
    );
}

// ---------------------------------------------------------------------------------------------
// The systemd unit

#[test]
fn systemd_unit_fits_the_gateway() {
    let unit = read(&deploy().join("systemd/mtls-gateway.service"));
    let settings: Vec<(&str, &str)> = unit
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .collect();
    let get = |key: &str| -> Vec<&str> {
        settings
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .collect()
    };
    let one = |key: &str| -> &str {
        let v = get(key);
        assert_eq!(v.len(), 1, "{key}: {v:?}");
        v[0]
    };
    assert_eq!(one("Type"), "exec");
    assert_eq!(
        one("ExecStart"),
        "/usr/local/bin/mtls-gateway run --config /etc/mtls-gateway/gateway.toml"
    );
    assert_eq!(
        one("ExecStartPre"),
        "/usr/local/bin/mtls-gateway check --config /etc/mtls-gateway/gateway.toml"
    );
    assert!(get("ExecReload").contains(&"/bin/kill -HUP $MAINPID"));
    assert_eq!(one("KillSignal"), "SIGTERM");
    assert_eq!(
        one("RestartPreventExitStatus"),
        mtls_gateway::config::EXIT_CONFIG.to_string()
    );
    let config = file_config("gateway.example.toml", &example_toml());
    let stop: u64 = one("TimeoutStopSec")
        .parse()
        .expect("TimeoutStopSec in seconds");
    assert!(
        Duration::from_secs(stop) > drain_timeout(&config),
        "TimeoutStopSec > drain_timeout"
    );
    assert_eq!(
        one("LoadCredential"),
        "cname-api-key:/etc/mtls-gateway/cname-api-key"
    );

    // systemd's own verification, where systemd-analyze exists (it needs the executables to
    // exist, so the unit is verified with the binary under test in their place).
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mtls-gateway.service");
        std::fs::write(&path, unit.replace("/usr/local/bin/mtls-gateway", BIN)).expect("write");
        let out = run(Command::new("systemd-analyze").arg("verify").arg(&path));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !stderr.contains("mtls-gateway.service:"),
            "systemd-analyze verify:\n{stderr}"
        );
    } else {
        shout("note: systemd-analyze not found; `systemd-analyze verify` not run");
    }
}
