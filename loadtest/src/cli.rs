//! Command-line options. Parsing only checks the shape of each value; [`crate::plan::Plan`]
//! checks how they fit together and loads the files they name.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::modes::Mode;

/// Load generator for TLS endpoints that ask for client certificates: full and resumed
/// handshakes, requests on new or kept-alive connections, open or closed loop.
#[derive(Parser, Debug, Clone)]
#[command(name = "mtls-loadtest", version)]
pub struct Args {
    /// What one iteration does: `handshake` (TLS, then close), `full` (new connection, one
    /// request, close), `resume` (like handshake, resuming sessions), `keepalive` (requests on
    /// persistent connections).
    #[arg(short, long, value_enum, default_value_t = Mode::Full)]
    pub mode: Mode,

    /// Address to connect to, HOST:PORT (resolved once, before the run).
    #[arg(long, value_name = "HOST:PORT")]
    pub connect: String,

    /// Server name sent in SNI and checked against the server certificate; also the default
    /// Host / :authority.
    #[arg(long, value_name = "NAME")]
    pub sni: String,

    /// Client certificate chain (PEM, leaf first). Without it no certificate is presented.
    #[arg(long, value_name = "PEM", requires = "key")]
    pub cert: Option<PathBuf>,

    /// Private key for --cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "PEM", requires = "cert")]
    pub key: Option<PathBuf>,

    /// CA certificates (PEM) that the server certificate must chain to.
    #[arg(
        long,
        value_name = "PEM",
        required_unless_present = "insecure",
        conflicts_with = "insecure"
    )]
    pub cacert: Option<PathBuf>,

    /// DANGEROUS: accept any server certificate (signatures are still checked, so the CPU cost
    /// stays realistic). For measuring, never for trusting.
    #[arg(long)]
    pub insecure: bool,

    /// Allow only this TLS version (default: both 1.3 and 1.2, 1.3 preferred).
    #[arg(long, value_enum, value_name = "VERSION")]
    pub tls: Option<TlsVersion>,

    /// Offer only these cipher suites, comma-separated rustls names
    /// (e.g. TLS13_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub ciphers: Vec<String>,

    /// Offer only these key-exchange groups, comma-separated, in preference order
    /// (X25519, secp256r1, secp384r1, X25519MLKEM768, secp256r1MLKEM768, MLKEM768, MLKEM1024).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub groups: Vec<String>,

    /// Workers. Closed loop: iterations in flight at all times. Open loop (--rate): the most
    /// iterations in flight; when all are busy, scheduled sends wait and that wait is counted as
    /// latency. In keepalive mode, also the number of connections.
    #[arg(short, long, default_value_t = 16, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: u32,

    /// Open loop: start iterations at this fixed rate (N or N/s), measuring latency from each
    /// one's intended start time.
    #[arg(long, value_name = "N/s", value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// Length of the measured window (e.g. 10s, 1m). Default 10s unless --count is given.
    #[arg(short, long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,

    /// Stop after this many measured iterations (successes + errors).
    #[arg(short = 'n', long, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Run this long before measuring; its results are discarded (connections, session
    /// caches and the server warm up).
    #[arg(long, default_value = "0s", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub warmup: Duration,

    /// Limit for each phase: connect, handshake, request, close.
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub timeout: Duration,

    /// Runtime worker threads (default: one per CPU).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    /// HTTP method.
    #[arg(short = 'X', long, default_value = "GET")]
    pub method: String,

    /// HTTP path and query.
    #[arg(long, default_value = "/")]
    pub path: String,

    /// Extra request header, repeatable.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,

    /// Request body.
    #[arg(long, conflicts_with = "body_file")]
    pub body: Option<String>,

    /// Request body read from a file.
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,

    /// Host header / :authority (default: --sni).
    #[arg(long, value_name = "AUTHORITY")]
    pub host: Option<String>,

    /// Speak HTTP/2 (ALPN h2) instead of HTTP/1.1.
    #[arg(long)]
    pub http2: bool,

    /// Sample this process's CPU time (/proc/PID/stat) over the measured window and report it
    /// per connection and per request.
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,

    /// Write the summary as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Append the summary as one CSV row (the header is written when the file is new).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,

    /// Write a self-contained HTML page with charts.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,

    /// No progress line.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `--tls`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TlsVersion {
    #[value(name = "1.2")]
    Tls12,
    #[value(name = "1.3")]
    Tls13,
}

impl TlsVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "1.2",
            TlsVersion::Tls13 => "1.3",
        }
    }
}

/// `N`, `N/s` or `N/m`, greater than zero.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let (number, per) = match s.split_once('/') {
        Some((n, unit)) => (n, unit.trim()),
        None => (s, "s"),
    };
    let seconds = match per {
        "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        other => return Err(format!("unknown rate unit `{other}` (use N/s or N/m)")),
    };
    let n: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{number}` is not a number"))?;
    if !n.is_finite() || n <= 0.0 {
        return Err("the rate must be greater than zero".into());
    }
    Ok(n / seconds)
}

/// `Name: value`, split at the first colon.
pub fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("`{s}` is not NAME: VALUE"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("`{s}` has an empty header name"));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(parse_rate("200"), Ok(200.0));
        assert_eq!(parse_rate("200/s"), Ok(200.0));
        assert_eq!(parse_rate("120/m"), Ok(2.0));
        assert_eq!(parse_rate("0.5/s"), Ok(0.5));
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("-1").is_err());
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("5/h").is_err());
        assert!(parse_rate("inf").is_err());
    }

    #[test]
    fn headers() {
        assert_eq!(
            parse_header("Content-Type: text/plain"),
            Ok(("Content-Type".into(), "text/plain".into()))
        );
        assert_eq!(parse_header("x-a:b:c"), Ok(("x-a".into(), "b:c".into())));
        assert!(parse_header("novalue").is_err());
        assert!(parse_header(": v").is_err());
    }

    #[test]
    fn options_parse() {
        let a = Args::try_parse_from([
            "mtls-loadtest",
            "--mode",
            "resume",
            "--connect",
            "127.0.0.1:8443",
            "--sni",
            "mtls.auth.example.com",
            "--cacert",
            "root.pem",
            "--tls",
            "1.2",
            "--rate",
            "50/s",
            "-n",
            "10",
            "-H",
            "a: b",
            "-H",
            "c: d",
            "--groups",
            "X25519,secp256r1",
        ])
        .expect("parses");
        assert_eq!(a.mode, Mode::Resume);
        assert_eq!(a.tls, Some(TlsVersion::Tls12));
        assert_eq!(a.rate, Some(50.0));
        assert_eq!(a.count, Some(10));
        assert_eq!(a.headers.len(), 2);
        assert_eq!(a.groups, ["X25519", "secp256r1"]);
        assert_eq!(a.warmup, Duration::ZERO);

        // Trust must be stated: a CA, or the dangerous switch — not both.
        let base = ["mtls-loadtest", "--connect", "x:1", "--sni", "x"];
        assert!(Args::try_parse_from(base).is_err());
        assert!(Args::try_parse_from(base.iter().chain(&["--insecure"])).is_ok());
        assert!(
            Args::try_parse_from(base.iter().chain(&["--insecure", "--cacert", "r.pem"])).is_err()
        );
        // A certificate needs its key.
        assert!(
            Args::try_parse_from(base.iter().chain(&["--insecure", "--cert", "c.pem"])).is_err()
        );
    }
}
