//! Imports between modules: the `crate::` paths of a file, use trees expanded, the graph of
//! which module (file) refers to which, and the cycles in it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::path::Path;

use super::items::{line_starts, test_regions};
use super::mask::mask;

/// Every path named after each `crate::` (not `$crate::`) outside `#[cfg(test)]` items, use
/// trees expanded: `use crate::a::{b, c::D}` gives `a::b` and `a::c::D`.
pub fn crate_paths(source: &str) -> Vec<Vec<String>> {
    let mut masked = mask(source);
    let starts = line_starts(&masked);
    for (s, e, _) in test_regions(&masked).into_iter().rev() {
        let end = starts.get(e + 1).copied().unwrap_or(masked.len());
        let blank: String = masked[starts[s]..end]
            .chars()
            .map(|c| if c == '\n' { c } else { ' ' })
            .collect();
        masked.replace_range(starts[s]..end, &blank);
    }
    let bytes = masked.as_bytes();
    let mut out = Vec::new();
    for (at, _) in masked.match_indices("crate::") {
        let before = at.checked_sub(1).map(|k| bytes[k]);
        if before.is_some_and(|b| b == b'$' || b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        let mut pos = at + "crate::".len();
        use_tree(bytes, &mut pos, Vec::new(), &mut out);
    }
    out
}

fn skip_ws(s: &[u8], pos: &mut usize) {
    while s.get(*pos).is_some_and(u8::is_ascii_whitespace) {
        *pos += 1;
    }
}

fn ident(s: &[u8], pos: &mut usize) -> String {
    let start = *pos;
    while s
        .get(*pos)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    {
        *pos += 1;
    }
    String::from_utf8_lossy(&s[start..*pos]).into_owned()
}

/// One path or use tree from `pos`, each path it names appended to `prefix` and pushed.
fn use_tree(s: &[u8], pos: &mut usize, mut path: Vec<String>, out: &mut Vec<Vec<String>>) {
    loop {
        skip_ws(s, pos);
        if s.get(*pos) == Some(&b'{') {
            *pos += 1;
            loop {
                skip_ws(s, pos);
                if s.get(*pos) == Some(&b'}') {
                    *pos += 1;
                    return;
                }
                use_tree(s, pos, path.clone(), out);
                skip_ws(s, pos);
                match s.get(*pos) {
                    Some(b',') => *pos += 1,
                    Some(b'}') => {
                        *pos += 1;
                        return;
                    }
                    _ => return,
                }
            }
        }
        let name = ident(s, pos);
        if name.is_empty() {
            // `*`, or a path followed by `::<T>`.
            if s.get(*pos) == Some(&b'*') {
                *pos += 1;
            }
            out.push(path);
            return;
        }
        if name != "self" {
            path.push(name);
        }
        skip_ws(s, pos);
        if s[*pos..].starts_with(b"::") {
            *pos += 2;
            continue;
        }
        if s[*pos..].starts_with(b"as") && s.get(*pos + 2).is_some_and(u8::is_ascii_whitespace) {
            *pos += 2;
            skip_ws(s, pos);
            ident(s, pos);
        }
        out.push(path);
        return;
    }
}

/// The module of a file under `src/`: `lib.rs` is `crate`, `a/mod.rs` is `a`, `a/b.rs` is `a::b`.
pub fn module_of(rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts == ["lib"] {
        return "crate".to_owned();
    }
    parts.join("::")
}

/// The module a path lands in: its longest prefix that is a module (file), else the crate root.
fn target_module(path: &[String], modules: &BTreeSet<String>) -> String {
    (1..=path.len())
        .rev()
        .map(|k| path[..k].join("::"))
        .find(|m| modules.contains(m))
        .unwrap_or_else(|| "crate".to_owned())
}

pub type Graph = BTreeMap<String, BTreeSet<String>>;

/// Module -> modules it refers to through `crate::` paths; `sources` maps module to source.
pub fn import_graph(sources: &BTreeMap<String, String>) -> Graph {
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    sources
        .iter()
        .map(|(module, source)| {
            let targets = crate_paths(source)
                .iter()
                .map(|p| target_module(p, &modules))
                .filter(|t| t != module)
                .collect();
            (module.clone(), targets)
        })
        .collect()
}

/// Each group of modules that reach each other (sorted), with one shortest cycle through its
/// first module, as `a, b, ..., a`.
pub fn cycles(graph: &Graph) -> Vec<(Vec<String>, Vec<String>)> {
    let reach: BTreeMap<&str, BTreeSet<&str>> = graph
        .keys()
        .map(|n| (n.as_str(), reachable(graph, n)))
        .collect();
    let mut grouped: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();
    for n in graph.keys().map(String::as_str) {
        if grouped.contains(n) || !reach[n].contains(n) {
            continue;
        }
        let group: Vec<&str> = reach[n]
            .iter()
            .copied()
            .filter(|m| reach[*m].contains(n))
            .collect();
        grouped.extend(&group);
        if let Some(cycle) = shortest_cycle(graph, n) {
            out.push((group.into_iter().map(str::to_owned).collect(), cycle));
        }
    }
    out
}

/// Modules reachable from `start` by at least one edge.
fn reachable<'g>(graph: &'g Graph, start: &str) -> BTreeSet<&'g str> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&str> = graph[start].iter().map(String::as_str).collect();
    while let Some(n) = stack.pop() {
        if seen.insert(n) {
            stack.extend(graph.get(n).into_iter().flatten().map(String::as_str));
        }
    }
    seen
}

fn shortest_cycle(graph: &Graph, start: &str) -> Option<Vec<String>> {
    let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        for next in graph.get(n).into_iter().flatten().map(String::as_str) {
            if next == start {
                let mut path = vec![n.to_owned()];
                let mut k = n;
                while k != start {
                    k = parent[k];
                    path.push(k.to_owned());
                }
                path.reverse();
                path.push(start.to_owned());
                return Some(path);
            }
            if next != start && !parent.contains_key(next) {
                parent.insert(next, n);
                queue.push_back(next);
            }
        }
    }
    None
}

pub fn printout(graph: &Graph) -> String {
    let mut out = String::new();
    for (module, targets) in graph {
        let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
        let _ = writeln!(out, "{module} -> {}", targets.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_paths_expand_use_trees() {
        let source = "\
use crate::a::{self, b::{C, D as E}, f::*};
use crate::g;
use super::h;
macro_rules! m { () => { $crate::x::Y } }
fn z() { crate::k::l::m(1); let s = \"crate::string\"; }
#[cfg(test)]
mod tests { use crate::t::U; }
";
        let paths: Vec<String> = crate_paths(source).iter().map(|p| p.join("::")).collect();
        assert_eq!(
            paths,
            vec!["a", "a::b::C", "a::b::D", "a::f", "g", "k::l::m"]
        );
    }

    #[test]
    fn imports_map_to_files_and_cycles_are_listed() {
        assert_eq!(module_of(Path::new("lib.rs")), "crate");
        assert_eq!(module_of(Path::new("tls/mod.rs")), "tls");
        assert_eq!(module_of(Path::new("tls/verifier.rs")), "tls::verifier");
        let sources: BTreeMap<String, String> = [
            ("crate", "pub use a::X;\n"),
            // a/b.rs exists: an edge to a::b; a::missing does not: an edge to a.
            ("a", "use crate::a::b::Y; use crate::c::Z;\n"),
            ("a::b", "use crate::a::missing::Q;\n"),
            ("c", "use crate::Top; use crate::d;\n"),
            ("d", "fn f() { crate::c::g() }\n"),
        ]
        .into_iter()
        .map(|(m, s)| (m.to_owned(), s.to_owned()))
        .collect();
        let graph = import_graph(&sources);
        let edges = |m: &str| graph[m].iter().cloned().collect::<Vec<_>>();
        assert_eq!(edges("crate"), Vec::<String>::new());
        assert_eq!(edges("a"), vec!["a::b", "c"]);
        assert_eq!(edges("a::b"), vec!["a"]);
        assert_eq!(edges("c"), vec!["crate", "d"]);
        let found = cycles(&graph);
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            found,
            vec![
                (strings(&["a", "a::b"]), strings(&["a", "a::b", "a"])),
                (strings(&["c", "d"]), strings(&["c", "d", "c"])),
            ]
        );
        assert!(
            printout(&graph).contains("a -> a::b, c\n"),
            "{}",
            printout(&graph)
        );
        let acyclic: Graph = [("x", vec!["y"]), ("y", vec![])]
            .into_iter()
            .map(|(m, t)| (m.to_owned(), t.into_iter().map(str::to_owned).collect()))
            .collect();
        assert!(cycles(&acyclic).is_empty());
    }
}
