//! `--csv`: one row per run, appended, so a sweep (concurrency 1, 2, 4, ...; TLS 1.2 vs 1.3)
//! builds one table a spreadsheet can chart. The columns are [`FIELDS`], in that order; a file
//! whose header differs is refused rather than silently mixed.

use std::fs::OpenOptions;
use std::io::{self, Write as _};
use std::path::Path;

use crate::histogram::Percentiles;
use crate::report::Summary;

/// The CSV columns, in order. Documented in the README; add at the end, never rename.
pub const FIELDS: &[&str] = &[
    "started_unix_s",
    "mode",
    "connect",
    "sni",
    "request",
    "http",
    "tls_offered",
    "client_cert",
    "loop",
    "concurrency",
    "target_rate",
    "warmup_s",
    "elapsed_s",
    "attempts",
    "successes",
    "errors",
    "rate",
    "connections",
    "handshakes",
    "resumed",
    "resumption_ratio",
    "responses",
    "connect_p50_us",
    "connect_p99_us",
    "handshake_p50_us",
    "handshake_p90_us",
    "handshake_p99_us",
    "handshake_p999_us",
    "handshake_max_us",
    "request_p50_us",
    "request_p90_us",
    "request_p99_us",
    "request_p999_us",
    "request_max_us",
    "total_p50_us",
    "total_p90_us",
    "total_p99_us",
    "total_p999_us",
    "total_max_us",
    "client_cpu_us",
    "client_cpu_per_handshake_us",
    "client_cpu_per_request_us",
    "server_pid",
    "server_cpu_us",
    "server_cpu_per_connection_us",
    "server_cpu_per_request_us",
    "errors_by_class",
];

/// The header line, without the newline.
pub fn header() -> String {
    FIELDS.join(",")
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

fn five(p: &Percentiles) -> [String; 5] {
    [p.p50_us, p.p90_us, p.p99_us, p.p999_us, p.max_us].map(|v| v.to_string())
}

/// The row's values, in [`FIELDS`] order.
pub fn values(s: &Summary) -> Vec<String> {
    let l = &s.latency_us;
    let mut v = vec![
        s.started_unix_s.to_string(),
        s.mode.as_str().to_owned(),
        s.connect.clone(),
        s.sni.clone(),
        opt(s.request.as_ref()),
        opt(s.http.as_ref()),
        s.tls_offered.clone(),
        s.client_cert.to_string(),
        s.loop_kind.clone(),
        s.concurrency.to_string(),
        opt(s.target_rate),
        s.warmup_s.to_string(),
        s.elapsed_s.to_string(),
        s.attempts.to_string(),
        s.successes.to_string(),
        s.errors.to_string(),
        s.rate.to_string(),
        s.connections.to_string(),
        s.handshakes.to_string(),
        s.resumed.to_string(),
        opt(s.resumption_ratio),
        s.responses.to_string(),
        l.connect.p50_us.to_string(),
        l.connect.p99_us.to_string(),
    ];
    v.extend(five(&l.handshake));
    v.extend(five(&l.request));
    v.extend(five(&l.total));
    let c = &s.client_cpu;
    v.extend([
        c.total_us.to_string(),
        opt(c.per_handshake_us),
        opt(c.per_request_us),
    ]);
    let sc = s.server_cpu.as_ref();
    v.extend([
        opt(sc.map(|x| x.pid)),
        opt(sc.map(|x| x.total_us)),
        opt(sc.and_then(|x| x.per_connection_us)),
        opt(sc.and_then(|x| x.per_request_us)),
    ]);
    v.push(
        s.errors_by_class
            .iter()
            .map(|(k, n)| format!("{k}={n}"))
            .collect::<Vec<_>>()
            .join(";"),
    );
    v
}

/// One CSV line (RFC 4180 quoting), without the newline.
pub fn row(s: &Summary) -> String {
    values(s)
        .iter()
        .map(|f| escape(f))
        .collect::<Vec<_>>()
        .join(",")
}

fn escape(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// Appends the summary to `path`, writing the header first when the file is new or empty.
pub fn append(path: &Path, s: &Summary) -> io::Result<()> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let mut out = String::new();
    match existing.as_deref().and_then(|t| t.lines().next()) {
        None => {
            out.push_str(&header());
            out.push('\n');
        }
        Some(first) if first == header() => {}
        Some(_) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} has a different header; write to a new file",
                    path.display()
                ),
            ))
        }
    }
    if existing
        .as_deref()
        .is_some_and(|t| !t.is_empty() && !t.ends_with('\n'))
    {
        out.insert(0, '\n');
    }
    out.push_str(&row(s));
    out.push('\n');
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(out.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a,b"), "\"a,b\"");
        assert_eq!(escape("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn field_names_are_unique() {
        let mut f = FIELDS.to_vec();
        f.sort_unstable();
        f.dedup();
        assert_eq!(f.len(), FIELDS.len());
    }
}
