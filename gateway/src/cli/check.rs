//! `mtls-gateway check`: everything a start would validate, without binding anything.

use std::path::Path;

use mtls_gateway::config::{self, EXIT_CONFIG};
use mtls_gateway::state::State;

/// Prints problems (stderr) or a summary (stdout); returns the process exit code.
pub fn run(path: &Path) -> i32 {
    let config = match config::load(path) {
        Ok(c) => c,
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("error: {e}");
            }
            eprintln!(
                "{}: {} problem(s); the configuration is not valid",
                path.display(),
                errors.0.len()
            );
            return EXIT_CONFIG;
        }
    };
    for w in &config.warnings {
        eprintln!("warning: {w}");
    }
    let summary: Vec<String> = config
        .domains
        .iter()
        .map(|d| match &d.alias {
            Some(a) => format!("{} + {} -> {}", d.name, a, d.upstream.host),
            None => format!("{} -> {}", d.name, d.upstream.host),
        })
        .collect();
    if let Err(e) = State::build(config, None) {
        eprintln!("error: {}: {e}", path.display());
        return EXIT_CONFIG;
    }
    println!("{}: OK", path.display());
    for s in summary {
        println!("  {s}");
    }
    0
}
