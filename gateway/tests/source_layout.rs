//! The workspace's source layout, checked on every test run:
//!
//! - no non-test source file (anything under a member's `src/`, `src/bin/` included) has more
//!   than 450 lines, not counting a trailing `#[cfg(test)] mod tests` block;
//! - no function outside `#[cfg(test)]` code is longer than 80 lines;
//! - the modules of `gateway/src` do not import each other in a circle.
//!
//! Files are read as text by a small scanner ([`layout_scan`]): comments, string literals (raw
//! ones included) and char literals are masked out, then a function runs from its `fn name(`
//! line to the brace that closes its body. That is enough for rustfmt-formatted code, and the
//! scanner is tested on fixtures. `tests/`, `benches/` and `fuzz/` are not looked at.
//!
//! In the module graph a module is a file (`a/mod.rs` is `a`), and an edge is a `crate::` path
//! (in `use` or in code, outside `#[cfg(test)]` code) to the longest prefix that is a file: from
//! `a/c.rs`, `crate::a::b::X` is an edge to `a::b` when `a/b.rs` exists, else to `a`. `super::`
//! and `self::` paths are not followed. On failure the whole graph is printed and written to
//! `gateway-module-graph.txt` under cargo's target `tmp` directory.

mod layout_scan;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use layout_scan::imports::{cycles, import_graph, module_of, printout};
use layout_scan::items::{counted_lines, functions};

const MAX_FILE_LINES: usize = 450;
const MAX_FN_LINES: usize = 80;

// ---------------------------------------------------------------------------------------------
// The workspace

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the gateway crate lies in the workspace")
        .to_owned()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// (path relative to the workspace, text) of every file under each member's `src/`.
fn member_sources() -> Vec<(String, String)> {
    let root = workspace();
    let manifest: toml::Table = std::fs::read_to_string(root.join("Cargo.toml"))
        .expect("workspace Cargo.toml")
        .parse()
        .expect("workspace Cargo.toml parses");
    let members = manifest["workspace"]["members"]
        .as_array()
        .expect("workspace.members");
    let mut out = Vec::new();
    for member in members.iter().filter_map(|m| m.as_str()) {
        for path in rust_files(&root.join(member).join("src")) {
            let text = std::fs::read_to_string(&path).expect("read source");
            let rel = path.strip_prefix(&root).expect("under the workspace");
            out.push((rel.display().to_string(), text));
        }
    }
    assert!(out.len() >= 20, "only {} source files found", out.len());
    out
}

// ---------------------------------------------------------------------------------------------
// The checks

#[test]
fn source_files_are_at_most_450_lines() {
    let long: Vec<String> = member_sources()
        .iter()
        .map(|(path, text)| (path, counted_lines(text)))
        .filter(|(_, n)| *n > MAX_FILE_LINES)
        .map(|(path, n)| format!("{path}: {n} lines (limit {MAX_FILE_LINES})"))
        .collect();
    assert!(long.is_empty(), "files too long:\n{}", long.join("\n"));
}

#[test]
fn functions_are_at_most_80_lines() {
    let mut long = Vec::new();
    for (path, text) in member_sources() {
        for f in functions(&text)
            .into_iter()
            .filter(|f| f.lines > MAX_FN_LINES)
        {
            long.push(format!(
                "{path}:{}: fn {} is {} lines (limit {MAX_FN_LINES})",
                f.line, f.name, f.lines
            ));
        }
    }
    assert!(long.is_empty(), "functions too long:\n{}", long.join("\n"));
}

#[test]
fn gateway_modules_import_each_other_without_cycles() {
    let src = workspace().join("gateway/src");
    let sources: BTreeMap<String, String> = rust_files(&src)
        .into_iter()
        .filter_map(|path| {
            let rel = path.strip_prefix(&src).expect("under src").to_owned();
            // main.rs and src/bin/ are crates of their own: their `crate::` is not the library.
            if rel == Path::new("main.rs") || rel.starts_with("bin") {
                return None;
            }
            let text = std::fs::read_to_string(&path).expect("read source");
            Some((module_of(&rel), text))
        })
        .collect();
    let graph = import_graph(&sources);
    let found = cycles(&graph);
    if found.is_empty() {
        return;
    }
    let listing = printout(&graph);
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gateway-module-graph.txt");
    let saved = match std::fs::write(&file, &listing) {
        Ok(()) => format!("(also written to {})", file.display()),
        Err(e) => format!("(not written to {}: {e})", file.display()),
    };
    let listed: Vec<String> = found
        .iter()
        .map(|(group, cycle)| {
            format!(
                "{}\n  modules in this circle: {}",
                cycle.join(" -> "),
                group.join(", ")
            )
        })
        .collect();
    panic!(
        "gateway/src modules import each other in a circle:\n{}\n\nmodule graph {saved}:\n{listing}",
        listed.join("\n")
    );
}
