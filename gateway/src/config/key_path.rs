//! Key paths as problems name them (`domain[0].rate_limit[1].key`), and where such a key is
//! written in the TOML text.

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::Position;

/// One step from a table to a value: a key, or an index into an array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    Key(String),
    Index(usize),
}

/// Renders steps the way the file is written: `domain[0].upstream.response_timeout`.
pub(super) fn render(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The steps of a rendered key; `None` when it is not one (registry keys name another file).
pub(super) fn parse(key: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    for part in key.split('.') {
        let (name, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if name.is_empty() {
            return None;
        }
        steps.push(Step::Key(name.to_owned()));
        while let Some(tail) = rest.strip_prefix('[') {
            let (index, after) = tail.split_once(']')?;
            steps.push(Step::Index(index.parse().ok()?));
            rest = after;
        }
        if !rest.is_empty() {
            return None;
        }
    }
    Some(steps)
}

/// Converts the path serde reports (keys as written in the file, so renames are already applied).
pub(super) fn from_serde(path: &serde_path_to_error::Path) -> Vec<Step> {
    use serde_path_to_error::Segment;
    path.iter()
        .map_while(|s| match s {
            Segment::Seq { index } => Some(Step::Index(*index)),
            Segment::Map { key } | Segment::Enum { variant: key } => Some(Step::Key(key.clone())),
            Segment::Unknown => None,
        })
        .collect()
}

/// The value at `steps`, if the file has one there.
pub(super) fn get<'a, 'i>(
    root: &'a Spanned<DeValue<'i>>,
    steps: &[Step],
) -> Option<&'a Spanned<DeValue<'i>>> {
    let mut at = root;
    for step in steps {
        at = match (step, at.get_ref()) {
            (Step::Key(k), DeValue::Table(t)) => t.get(k.as_str())?,
            (Step::Index(i), DeValue::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(at)
}

/// Where the value at `steps` is written, or else the nearest table above it that is (a missing
/// key is shown at the table that should hold it); never the whole document.
pub(super) fn written_at(root: &Spanned<DeValue<'_>>, steps: &[Step]) -> Option<Range<usize>> {
    (1..=steps.len())
        .rev()
        .find_map(|n| get(root, &steps[..n]))
        .map(Spanned::span)
}

/// Removes the innermost key on `steps` from its table, and returns how many steps lead to it.
/// Never an array element: later elements keep their index, so problems found in them still
/// name the right one.
pub(super) fn remove(root: &mut Spanned<DeValue<'_>>, steps: &[Step]) -> Option<usize> {
    let last_key = steps.iter().rposition(|s| matches!(s, Step::Key(_)))?;
    let mut at = root.get_mut();
    for step in &steps[..last_key] {
        at = match (step, at) {
            (Step::Key(k), DeValue::Table(t)) => t.get_mut(k.as_str())?.get_mut(),
            (Step::Index(i), DeValue::Array(a)) => a.get_mut(*i)?.get_mut(),
            _ => return None,
        };
    }
    match (&steps[last_key], at) {
        (Step::Key(k), DeValue::Table(t)) => t.remove(k.as_str()).map(|_| last_key + 1),
        _ => None,
    }
}

/// The document as one value, for [`get`] and [`remove`].
pub(super) fn document<'i>(doc: &Spanned<DeTable<'i>>) -> Spanned<DeValue<'i>> {
    Spanned::new(doc.span(), DeValue::Table(doc.get_ref().clone()))
}

/// Line and column of a byte offset into `text`.
pub(super) fn position(text: &str, span: &Range<usize>) -> Position {
    let before = text.get(..span.start).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_render_and_parse_back() {
        let steps = vec![
            Step::Key("domain".into()),
            Step::Index(0),
            Step::Key("rate_limit".into()),
            Step::Index(12),
            Step::Key("key".into()),
        ];
        assert_eq!(render(&steps), "domain[0].rate_limit[12].key");
        assert_eq!(parse("domain[0].rate_limit[12].key"), Some(steps));
        assert_eq!(parse("domain[x]"), None);
        assert_eq!(parse("a..b"), None);
    }

    #[test]
    fn finds_and_removes_a_key_without_shifting_arrays() {
        let text = "[[domain]]\nname = \"a\"\n[[domain]]\nname = \"b\"\nport = 1\n";
        let doc = DeTable::parse(text).unwrap();
        let mut root = document(&doc);
        let port = parse("domain[1].port").unwrap();
        let span = get(&root, &port).unwrap().span();
        assert_eq!(position(text, &span), Position { line: 5, column: 8 });
        assert_eq!(remove(&mut root, &port), Some(3));
        assert!(get(&root, &port).is_none());
        assert!(get(&root, &parse("domain[1].name").unwrap()).is_some());
        // An index alone is never removed: the innermost key above it is.
        assert_eq!(remove(&mut root, &parse("domain[0]").unwrap()), Some(1));
        assert!(get(&root, &parse("domain").unwrap()).is_none());
    }
}
