//! `deploy/gateway.example.toml` passes `mtls-gateway check` as written and with its
//! commented-out alternatives, and mentions every configuration key.

mod deploy_support;

use std::collections::BTreeSet;

use deploy_support::check::check_config;
use deploy_support::files::{example_toml, file_config};
use deploy_support::{read, repo};

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
