//! The benchmark's main table: one row per run, as aligned text and as Markdown.

use std::fmt::Write as _;

use serde_json::Value;

use crate::runs::{cpu, label, num, Run};

pub const HEADERS: [&str; 13] = [
    "scenario",
    "server",
    "rate/s",
    "server CPU µs/conn (keep-alive: /req)",
    "user + system µs",
    "per core/s",
    "server core busy",
    "p50 ms",
    "p99 ms",
    "peak RSS MiB",
    "CPU gateway÷nginx",
    "crypto floor µs",
    "errors",
];

pub type Row = [String; 13];

/// Columns aligned left (text): the first two and the last.
fn left_aligned(i: usize) -> bool {
    i < 2 || i == HEADERS.len() - 1
}

/// A figure with `decimals`, or a dash when there is none.
pub fn f(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.decimals$}"),
        _ => "–".into(),
    }
}

/// Rounded, with thousands separators: `12,345`.
fn thousands(x: f64) -> String {
    let n = x.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

pub fn rows(runs: &[Run], floor: Option<&Value>) -> Vec<Row> {
    let floor_of =
        |scenario: &str| floor.and_then(|f| num(f, &["scenarios", scenario, "floor_us"]));
    runs.iter()
        .map(|r| row(runs, r, floor_of(&r.scenario)))
        .collect()
}

fn row(runs: &[Run], r: &Run, floor: Option<f64>) -> Row {
    let ratio = (r.server == "gateway")
        .then(|| Some(cpu(runs, &r.scenario, "gateway")? / cpu(runs, &r.scenario, "nginx")?))
        .flatten();
    let mut errors = if r.errors == 0 {
        "0".to_owned()
    } else {
        format!("{} ({})", r.errors, r.errors_by_class)
    };
    if let Some(res) = r.resumption.filter(|_| r.scenario.starts_with("resume")) {
        let _ = write!(errors, "; resumed {:.1}%", res * 100.0);
    }
    [
        label(&r.scenario).to_owned(),
        r.server.clone(),
        thousands(r.rate),
        f(r.cpu_us, 0),
        match (r.user_us, r.system_us) {
            (Some(u), Some(s)) => format!("{u:.0} + {s:.0}"),
            _ => "–".into(),
        },
        r.cpu_us
            .filter(|c| *c > 0.0)
            .map(|c| thousands(1e6 / c))
            .unwrap_or_else(|| "–".into()),
        r.busy
            .map(|b| format!("{:.0}%", b * 100.0))
            .unwrap_or_else(|| "–".into()),
        f(r.p50_ms, 2),
        f(r.p99_ms, 2),
        f(r.rss_mib, 1),
        f(ratio, 2),
        match (r.server.as_str(), floor, r.cpu_us) {
            ("gateway", Some(fl), Some(c)) if fl > 0.0 => format!("{fl:.0} (CPU {:.1}×)", c / fl),
            ("gateway", Some(fl), _) => format!("{fl:.0}"),
            _ => String::new(),
        },
        errors,
    ]
}

/// The header, a rule, and the rows, each column padded to its widest cell.
pub fn text(rows: &[Row]) -> Vec<String> {
    let widths: Vec<usize> = (0..HEADERS.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([HEADERS[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = " ".repeat(widths[i] - c.chars().count());
                if left_aligned(i) {
                    format!("{c}{pad}")
                } else {
                    format!("{pad}{c}")
                }
            })
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let headers: Vec<String> = HEADERS.iter().map(|s| s.to_string()).collect();
    let rule = widths
        .iter()
        .map(|w| "-".repeat(*w))
        .collect::<Vec<_>>()
        .join("-+-");
    [line(&headers), rule]
        .into_iter()
        .chain(rows.iter().map(|r| line(r)))
        .collect()
}

/// The same table in Markdown, numbers right-aligned.
pub fn markdown(rows: &[Row]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "| {} |", HEADERS.join(" | "));
    let align: Vec<&str> = (0..HEADERS.len())
        .map(|i| if left_aligned(i) { "---" } else { "---:" })
        .collect();
    let _ = writeln!(md, "|{}|", align.join("|"));
    for r in rows {
        let _ = writeln!(md, "| {} |", r.join(" | "));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.5), "1,000");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
        assert_eq!(thousands(-12_345.0), "-12,345");
    }

    #[test]
    fn missing_figures_are_a_dash() {
        assert_eq!(f(None, 2), "–");
        assert_eq!(f(Some(f64::NAN), 2), "–");
        assert_eq!(f(Some(1.005), 1), "1.0");
    }
}
