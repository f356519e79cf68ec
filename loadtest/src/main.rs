#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use mtls_loadtest::{html, report, Args, Plan};

/// Exit status when the options are unusable (files, names, addresses).
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let args = Args::parse();
    let plan = match Plan::from_args(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if args.insecure {
        eprintln!("warning: --insecure: the server certificate is not verified");
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = args.threads {
        builder.worker_threads(usize::from(n));
    }
    let runtime = match builder.build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let summary = match runtime.block_on(mtls_loadtest::run(&plan)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", report::render_text(&summary));

    let mut failed = false;
    let mut wrote = |what: &str, path: &std::path::Path, r: std::io::Result<()>| {
        if let Err(e) = r {
            eprintln!("error: cannot write {what} {}: {e}", path.display());
            failed = true;
        }
    };
    if let Some(path) = &args.json {
        wrote("--json", path, summary.write_json(path));
    }
    if let Some(path) = &args.csv {
        wrote("--csv", path, mtls_loadtest::csv::append(path, &summary));
    }
    if let Some(path) = &args.report {
        wrote("--report", path, html::write(path, &summary));
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
