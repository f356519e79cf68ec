//! What the gateway exports: every series name with its label names.
//!
//! Today this is read from `gateway/src/metrics.rs` as text, in [`families_from_source`] alone;
//! every other check goes through [`exported`], so replacing that one function by the list of
//! series `Metrics` will expose changes nothing else.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use super::{read, repo};

/// Every series name the gateway exports, with its label names.
pub struct Exported {
    pub series: BTreeMap<String, BTreeSet<String>>,
    /// Family name -> (counter | gauge | histogram, label names).
    pub families: BTreeMap<String, (String, BTreeSet<String>)>,
}

/// What the gateway exports, read once per test binary. The registry exports a family only once
/// it has a sample, so an idle registry cannot list them: the families come from
/// [`families_from_source`], and `deploy_metric_reading` checks that reading against the real
/// encoder.
pub fn exported() -> &'static Exported {
    static EXPORTED: OnceLock<Exported> = OnceLock::new();
    EXPORTED.get_or_init(|| {
        let families = families_from_source();
        let mut series = BTreeMap::new();
        for (name, (kind, labels)) in &families {
            // prometheus-client appends `_total` to counters; histograms have three series.
            let suffixes: &[&str] = match kind.as_str() {
                "counter" => &["_total"],
                "histogram" => &["_bucket", "_sum", "_count"],
                _ => &[""],
            };
            for suffix in suffixes {
                let mut l = labels.clone();
                if *suffix == "_bucket" {
                    l.insert("le".to_owned());
                }
                series.insert(format!("{name}{suffix}"), l);
            }
        }
        Exported { series, families }
    })
}

/// Metric name -> (kind, label names), read from `gateway/src/metrics.rs` as text. This is the
/// one place the deploy checks read the metrics source; it goes once `Metrics` can list every
/// series it exports, and [`exported`] is then built from that list.
///
/// It follows metrics.rs from each name constant to the field registered under it
/// (`registry.register(CONST, "help", m.field.clone())`), and from the field's type (`Counter`,
/// `Gauge`, `Histogram`, or `Family<LabelStruct, ...>` of one) to the label struct's fields.
pub fn families_from_source() -> BTreeMap<String, (String, BTreeSet<String>)> {
    let source = read(&repo().join("gateway/src/metrics.rs"));
    let source = source.as_str();
    let mut consts = BTreeMap::new();
    let mut structs: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in source.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("pub const ") {
            if let (Some((ident, _)), Some(value)) = (rest.split_once(':'), rest.split('"').nth(1))
            {
                consts.insert(ident.trim().to_owned(), value.to_owned());
            }
        } else if let Some(rest) = t.strip_prefix("pub struct ").filter(|_| t.ends_with('{')) {
            let name = rest.trim_end_matches('{').trim().to_owned();
            structs.insert(name.clone(), Vec::new());
            current = Some(name);
        } else if t == "}" {
            current = None;
        } else if let Some(name) = &current {
            if let Some((field, ty)) = t.strip_prefix("pub ").and_then(|f| f.split_once(':')) {
                let ty = ty.trim().trim_end_matches(',').to_owned();
                structs
                    .get_mut(name)
                    .expect("current struct")
                    .push((field.trim().to_owned(), ty));
            }
        }
    }
    let metrics_fields = structs
        .get("Metrics")
        .expect("struct Metrics in metrics.rs");
    let mut out = BTreeMap::new();
    for call in source.split("registry.register(").skip(1) {
        let call = &call[..call.find(");").expect("register call ends")];
        let constant = call.split(',').next().unwrap_or_default().trim();
        let Some(name) = consts.get(constant) else {
            continue;
        };
        let Some(clone) = call.find(".clone()") else {
            continue;
        };
        let field_start = call[..clone]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let field = &call[field_start..clone];
        let Some((_, ty)) = metrics_fields.iter().find(|(f, _)| f == field) else {
            continue;
        };
        let kind = if ty.contains("Histogram") {
            "histogram"
        } else if ty.contains("Counter") {
            "counter"
        } else if ty.contains("Gauge") {
            "gauge"
        } else {
            continue;
        };
        let labels = match ty.strip_prefix("Family<") {
            Some(rest) => {
                let label_struct = rest.split(',').next().unwrap_or_default().trim();
                let Some(fields) = structs.get(label_struct) else {
                    continue;
                };
                fields.iter().map(|(f, _)| f.clone()).collect()
            }
            None => BTreeSet::new(),
        };
        out.insert(name.clone(), (kind.to_owned(), labels));
    }
    out
}
