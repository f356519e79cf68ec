#![forbid(unsafe_code)]
//! The crypto floor of an mTLS handshake, for the side-by-side benchmark (`loadtest/bench/run.sh`).
//!
//! `crypto-floor ops --dir PKI` times, in process and on one thread, the server-side asymmetric
//! operations of one handshake with the same library and the same calls the gateway makes
//! (rustls' aws-lc-rs provider): the ECDHE key exchange (`start_and_complete` on the group rustls
//! negotiates), the server's signature, the client certificate's signature (by the root) and the
//! CertificateVerify check. It then runs complete rustls handshakes in memory (no sockets, no
//! HTTP) between a client configured like `mtls-loadtest` and a server configured like the
//! gateway, and reports the server side's time per handshake and what was negotiated. Pin it to
//! one idle core: the figures are wall time of a single thread.
//!
//! `crypto-floor probe --connect ADDR --sni NAME ...` makes one connection (two with `--resume`)
//! with the load generator's TLS settings, sends one token request and prints what was negotiated
//! (version, suite, key-exchange group, resumed) and the HTTP status, as one JSON line.
//!
//! Modules: [`files`] (PEM and DER), [`configs`] (rustls configurations shaped like the gateway's
//! and the load generator's), [`measurements`] (the table of timed operations), [`handshakes`]
//! (whole handshakes in memory), [`scenarios`] (the benchmark's scenarios and their floors),
//! [`probe`].

mod configs;
mod files;
mod handshakes;
mod measurements;
mod probe;
mod scenarios;

use std::path::{Path, PathBuf};
#[cfg(test)]
use std::sync::OnceLock;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser)]
#[command(name = "crypto-floor")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Time the server-side crypto of one handshake, and whole in-memory rustls handshakes.
    Ops {
        /// Directory written by `mtls-gateway certs init`.
        #[arg(long)]
        dir: PathBuf,
        /// Measured batches per figure (the median batch is reported).
        #[arg(long, default_value_t = 7)]
        batches: usize,
        /// Write the figures as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// One real connection with the load generator's TLS settings; prints what was negotiated.
    Probe {
        #[arg(long)]
        connect: String,
        #[arg(long)]
        sni: String,
        #[arg(long)]
        cacert: PathBuf,
        #[arg(long)]
        cert: PathBuf,
        #[arg(long)]
        key: PathBuf,
        #[arg(long, value_enum)]
        tls: Option<Tls>,
        /// Connect twice with one session store and report the second connection.
        #[arg(long)]
        resume: bool,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum Tls {
    #[value(name = "1.2")]
    V12,
    #[value(name = "1.3")]
    V13,
}

fn main() {
    let result = match Cli::parse().command {
        Cmd::Ops { dir, batches, json } => ops(&dir, batches.max(3), json.as_deref()),
        Cmd::Probe {
            connect,
            sni,
            cacert,
            cert,
            key,
            tls,
            resume,
        } => probe::probe(&connect, &sni, &cacert, &cert, &key, tls, resume),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// `crypto-floor ops`: the operations table, then the in-memory handshakes per scenario, as
/// JSON (the shape `bench-report --floor` reads).
fn ops(dir: &Path, batches: usize, json_out: Option<&Path>) -> Result<(), BoxError> {
    eprintln!("crypto floor: server-side operations, one thread, median of {batches} batches");
    let table = measurements::run_all(dir, batches)?;
    eprintln!("in-memory rustls handshakes, server side (gateway-like config, verdict cached):");
    let scenarios = scenarios::run_all(dir, batches, &table)?;
    let out = json!({
        "schema": 1,
        "library": "rustls 0.23 aws-lc-rs provider",
        "batches": batches,
        "ops": table.iter().map(|o| json!({"key": o.key, "label": o.label, "us": o.us})).collect::<Vec<_>>(),
        "scenarios": scenarios,
    });
    match json_out {
        Some(path) => std::fs::write(path, serde_json::to_string_pretty(&out)?)
            .map_err(|e| format!("{}: {e}", path.display()))?,
        None => println!("{}", serde_json::to_string_pretty(&out)?),
    }
    Ok(())
}

/// A development PKI written once for the unit tests, as `mtls-gateway certs init` writes it.
#[cfg(test)]
fn test_pki_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        mtls_certs::DevPki::generate(&mtls_certs::PkiSpec::default())
            .and_then(|pki| pki.write_to(dir.path()))
            .expect("development PKI");
        dir
    })
    .path()
}
