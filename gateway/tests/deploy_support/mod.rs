//! Shared by the `deploy_*` suites, which check the files in `deploy/` against the gateway they
//! deploy: paths, external tools, what the gateway exports ([`metrics`]), PromQL as far as those
//! files use it ([`promql`]), readers for the deploy files ([`files`]) and `mtls-gateway check`
//! on a configuration ([`check`]).
//!
//! `promtool` (Debian package `prometheus`) and PyYAML (Debian package `python3-yaml`) are
//! external tools: when one is missing the checks that need it are skipped with a loud message,
//! except under `CI=true`, where a missing tool fails the test.
#![allow(dead_code)]

pub mod check;
pub mod files;
pub mod metrics;
pub mod promql;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_mtls-gateway");

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

pub fn deploy() -> PathBuf {
    repo().join("deploy")
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Whether an external tool works. Missing: a loud skip message, or a failure under `CI=true`.
pub fn tool_available(what: &str, probe: &mut Command, debian_package: &str) -> bool {
    if probe.output().is_ok_and(|o| o.status.success()) {
        return true;
    }
    let message = format!(
        "{what} is not available, so the checks that need it did not run. \
         Install the Debian package `{debian_package}` (apt-get install -y {debian_package})."
    );
    if on_ci() {
        panic!("{message} CI=true: these checks are mandatory there.");
    }
    let bar = "!".repeat(100);
    shout(&format!("\n{bar}\nSKIPPED: {message}\n{bar}\n"));
    false
}

/// Straight to stderr: the test harness captures `eprintln!` of passing tests, and a skipped
/// check must not go unnoticed.
pub fn shout(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

pub fn assert_success(cmd: &mut Command) -> String {
    let out = run(cmd);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    stdout
}
