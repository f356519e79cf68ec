//! Items in masked text: where functions start and end, which lines are `#[cfg(test)]` code,
//! and how many lines of a file count against its limit.

use super::mask::{is_ident_char, mask};

/// Byte offsets at which each line starts.
pub fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

fn line_of(starts: &[usize], offset: usize) -> usize {
    starts.partition_point(|&s| s <= offset) - 1
}

/// From `from`, the first `{` or `;` outside parentheses and brackets: where an item's body
/// starts, or where a declaration without body ends.
fn body_or_semicolon(text: &[u8], from: usize) -> Option<(usize, u8)> {
    let mut depth = 0i32;
    for (k, &b) in text.iter().enumerate().skip(from) {
        match b {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            b'{' | b';' if depth == 0 => return Some((k, b)),
            _ => {}
        }
    }
    None
}

/// The `}` that closes the `{` at `open`.
fn matching_brace(text: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, &b) in text.iter().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

/// The name of the function a (masked) line starts to define: `fn name(` or `fn name<`, after
/// any of `pub(...)`, `const`, `async`, `unsafe`, `extern`, `default`.
fn fn_name(line: &str) -> Option<&str> {
    let mut rest = line.trim_start();
    loop {
        let word_end = rest.find(|c: char| !is_ident_char(c)).unwrap_or(rest.len());
        let (word, after) = rest.split_at(word_end);
        match word {
            "pub" => {
                rest = match after.strip_prefix('(') {
                    Some(vis) => &vis[vis.find(')')? + 1..],
                    None => after,
                };
            }
            "const" | "async" | "unsafe" | "extern" | "default" => rest = after,
            "fn" if after.starts_with(char::is_whitespace) => {
                let after = after.trim_start();
                let name_end = after.find(|c: char| !is_ident_char(c))?;
                let (name, tail) = after.split_at(name_end);
                return (!name.is_empty() && (tail.starts_with('(') || tail.starts_with('<')))
                    .then_some(name);
            }
            _ => return None,
        }
        rest = rest.trim_start();
    }
}

/// Line ranges (0-based, inclusive) of the items under `#[cfg(test)]`, and whether each item is
/// a `mod`.
pub fn test_regions(masked: &str) -> Vec<(usize, usize, bool)> {
    let starts = line_starts(masked);
    let bytes = masked.as_bytes();
    let mut out = Vec::new();
    for (n, line) in masked.lines().enumerate() {
        let Some(attr) = line.find("#[cfg(test)]") else {
            continue;
        };
        let from = starts[n] + attr + "#[cfg(test)]".len();
        let Some((open, b'{')) = body_or_semicolon(bytes, from) else {
            continue;
        };
        let Some(close) = matching_brace(bytes, open) else {
            continue;
        };
        let item = &masked[from..open];
        let is_mod = item
            .split(|c: char| !is_ident_char(c))
            .any(|word| word == "mod");
        out.push((n, line_of(&starts, close), is_mod));
    }
    out
}

/// Lines that count against the file limit: all of them, less a `#[cfg(test)] mod` block that
/// ends the file.
pub fn counted_lines(source: &str) -> usize {
    let masked = mask(source);
    let total = source.lines().count();
    let lines: Vec<&str> = source.lines().collect();
    let last_code = lines
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .unwrap_or(0);
    test_regions(&masked)
        .into_iter()
        .find(|&(_, end, is_mod)| is_mod && end >= last_code)
        .map_or(total, |(start, _, _)| start)
}

#[derive(Debug, PartialEq, Eq)]
pub struct FnSpan {
    pub name: String,
    /// 1-based line of the `fn` keyword.
    pub line: usize,
    /// From the `fn` line to the closing brace, both included.
    pub lines: usize,
}

/// Every function with a body outside `#[cfg(test)]` items, nested ones included.
pub fn functions(source: &str) -> Vec<FnSpan> {
    let masked = mask(source);
    let bytes = masked.as_bytes();
    let starts = line_starts(&masked);
    let tests = test_regions(&masked);
    let mut out = Vec::new();
    for (n, line) in masked.lines().enumerate() {
        let Some(name) = fn_name(line) else {
            continue;
        };
        if tests.iter().any(|&(s, e, _)| (s..=e).contains(&n)) {
            continue;
        }
        let Some((open, b'{')) =
            body_or_semicolon(bytes, starts[n] + line.len() - line.trim_start().len())
        else {
            continue;
        };
        let Some(close) = matching_brace(bytes, open) else {
            continue;
        };
        out.push(FnSpan {
            name: name.to_owned(),
            line: n + 1,
            lines: line_of(&starts, close) - n + 1,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_length_runs_from_fn_to_its_closing_brace() {
        let source = "\
/// Doc comments and attributes are not counted.
#[inline]
pub(crate) async fn first(
    a: [u8; 2],
) -> Result<(), E>
where
    E: Sized,
{
    let s = r#\"}\"#;
    let c = '}';
    // }
    fn inner() {}
    Ok(())
}

trait T {
    fn declared(&self);
    fn provided(&self) -> u8 {
        1
    }
}

const fn third<T>() {}
";
        let found = functions(source);
        let spans: Vec<(&str, usize, usize)> = found
            .iter()
            .map(|f| (f.name.as_str(), f.line, f.lines))
            .collect();
        assert_eq!(
            spans,
            vec![
                ("first", 3, 12),
                ("inner", 12, 1),
                ("provided", 18, 3),
                ("third", 23, 1)
            ]
        );
    }

    #[test]
    fn test_code_is_not_counted() {
        let source = "\
fn kept() {
    let _ = 1;
}

#[cfg(test)]
fn helper() {
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_test() {
        let s = \"}\";
    }
}
";
        let names: Vec<String> = functions(source).into_iter().map(|f| f.name).collect();
        assert_eq!(names, vec!["kept"]);
        // The trailing test module is left out of the line count; the earlier test fn is not.
        assert_eq!(counted_lines(source), 8);
        let without_tests = "fn a() {}\n#[cfg(test)]\nmod tests {}\nfn b() {}\n";
        assert_eq!(
            counted_lines(without_tests),
            4,
            "the test module does not end the file"
        );
    }
}
