//! What the gateway exports: every series name with its label names and values, from the
//! exposition of a registry holding every series the gateway can export
//! (`Metrics::with_every_series`), so no check reads the gateway's source as text.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use mtls_gateway::metrics::Metrics;

use super::promql::parse_matchers;

/// Every series name the gateway exports, with its label names and values.
pub struct Exported {
    pub series: BTreeMap<String, BTreeSet<String>>,
    /// Family name -> (counter | gauge | histogram, label names).
    pub families: BTreeMap<String, (String, BTreeSet<String>)>,
    /// (series, label) -> every value the gateway can give it.
    pub values: BTreeMap<(String, String), BTreeSet<String>>,
}

/// From the exposition of a registry holding every series the gateway can export, each label at
/// every value it can take (`Metrics::with_every_series`); labels whose values come from
/// configuration show one example value.
pub fn exported() -> &'static Exported {
    static EXPORTED: OnceLock<Exported> = OnceLock::new();
    EXPORTED.get_or_init(|| exported_from(&Metrics::with_every_series().encode()))
}

/// Family kinds from `# TYPE` lines; series, their label names and values from the samples.
pub fn exported_from(exposition: &str) -> Exported {
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
