#![forbid(unsafe_code)]
//! The table of the side-by-side benchmark (`loadtest/bench/run.sh`): reads the load generator's
//! `--json` files, the servers' peak RSS and the crypto floor, prints one table (text), writes it
//! as Markdown with the targets' verdicts, and writes a tab-separated summary the script checks.
//!
//! `--runs FILE`: one run per line, tab-separated: `scenario  server  json-file  vmhwm-kB`.
//! Scenario ids: `full-tls13-ecdsa`, `full-tls12-ecdsa`, `full-tls13-rsa`, `resume-tls13`,
//! `resume-tls12`, `keepalive`. Servers: `nginx`, `gateway`.
//!
//! Modules: [`runs`] (one run's figures), [`table`] (the rows, as text and Markdown),
//! [`verdicts`] (the targets and the notes), [`markdown`] (the probe and crypto-floor tables).

mod markdown;
mod runs;
mod table;
mod verdicts;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Parser;
use serde_json::Value;

use runs::Run;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser)]
#[command(name = "bench-report")]
struct Args {
    #[arg(long)]
    runs: PathBuf,
    /// `crypto-floor ops --json` output.
    #[arg(long)]
    floor: Option<PathBuf>,
    /// Write the Markdown table and verdicts here.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// `scenario  server  probe-json` lines from `crypto-floor probe`: rendered as a table.
    #[arg(long)]
    negotiated: Option<PathBuf>,
    /// Write `scenario server attempts successes errors error_pct` (tab-separated) here.
    #[arg(long)]
    summary: Option<PathBuf>,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn read(path: &Path) -> Result<String, BoxError> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()).into())
}

fn write(path: &Path, text: String) -> Result<(), BoxError> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()).into())
}

fn run() -> Result<(), BoxError> {
    let args = Args::parse();
    let runs: Vec<Run> = read(&args.runs)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(runs::load)
        .collect::<Result<_, _>>()?;
    let floor: Option<Value> = match &args.floor {
        Some(p) => Some(serde_json::from_str(&read(p)?)?),
        None => None,
    };
    let rows = table::rows(&runs, floor.as_ref());
    for line in table::text(&rows) {
        println!("{line}");
    }
    let verdicts = verdicts::targets(&runs);
    println!();
    for v in &verdicts {
        println!("{v}");
    }
    let notes = verdicts::saturation_notes(&runs);
    for w in &notes {
        println!("note: {w}");
    }

    if let Some(path) = &args.markdown {
        let mut md = table::markdown(&rows);
        md.push('\n');
        for v in &verdicts {
            let _ = writeln!(md, "- {v}");
        }
        for w in &notes {
            let _ = writeln!(md, "- note: {w}");
        }
        if let Some(path) = &args.negotiated {
            md.push('\n');
            md.push_str(&markdown::negotiated(&read(path)?));
        }
        if let Some(fl) = &floor {
            md.push('\n');
            md.push_str(&markdown::floor(fl));
        }
        write(path, md)?;
    }
    if let Some(path) = &args.summary {
        write(path, runs::summary(&runs))?;
    }
    Ok(())
}
