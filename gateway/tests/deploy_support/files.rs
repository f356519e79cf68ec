//! Readers for the files in `deploy/`: the dashboard's queries, the alert rules' expressions,
//! the example and ConfigMap configurations, and YAML through PyYAML.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mtls_gateway::config::file::FileConfig;
use serde_json::Value;

use super::{assert_success, deploy, read, tool_available};

pub fn dashboard() -> Value {
    let path = deploy().join("grafana/mtls-gateway-dashboard.json");
    serde_json::from_str(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// (panel title, refId, expr) of every dashboard query.
pub fn dashboard_exprs(dash: &Value) -> Vec<(String, String, String)> {
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
pub fn alert_exprs() -> Vec<(String, String)> {
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

pub fn example_toml() -> String {
    read(&deploy().join("gateway.example.toml"))
}

/// The `gateway.toml` block of the ConfigMap, read without a YAML library.
pub fn configmap_toml() -> String {
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

pub fn file_config(what: &str, text: &str) -> FileConfig {
    toml::from_str(text).unwrap_or_else(|e| panic!("{what}: {e}"))
}

pub fn socket_port(addr: &str) -> u16 {
    addr.rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or_else(|| panic!("`{addr}` has no port"))
}

pub fn yaml_files() -> Vec<PathBuf> {
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
pub fn load_yaml(path: &Path) -> Vec<Value> {
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

pub fn pyyaml_available() -> bool {
    tool_available(
        "PyYAML (python3 -c 'import yaml')",
        Command::new("python3").args(["-c", "import yaml"]),
        "python3-yaml",
    )
}

pub fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

pub fn drain_timeout(config: &FileConfig) -> Duration {
    config.limits.drain_timeout
}
