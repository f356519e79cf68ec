//! PromQL, as far as the deploy files use it: the `mtls_gateway_*` metrics an expression
//! selects, their label matchers and its grouping labels, checked against [`exported`].

use std::collections::BTreeSet;

use super::metrics::exported;

/// Labels Prometheus attaches to every scraped series.
pub const TARGET_LABELS: &[&str] = &["job", "instance"];

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b':'
}

#[derive(Debug)]
pub struct MetricRef {
    pub name: String,
    /// (label, operator, value) of the selector's matchers.
    pub matchers: Vec<(String, String, String)>,
}

/// Every `mtls_gateway_*` metric an expression selects, with its label matchers.
pub fn metric_refs(expr: &str) -> Vec<MetricRef> {
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

pub fn parse_matchers(inner: &str) -> Vec<(String, String, String)> {
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
pub fn grouping_labels(expr: &str) -> Vec<String> {
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
pub fn check_expr(context: &str, expr: &str) -> Vec<String> {
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
