//! Masking: the source with every comment, string literal (raw ones included) and char literal
//! blanked, newlines kept, so braces and keywords can be read off the text that is code.

pub fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The source with comments, string literals and char literals replaced by spaces. Newlines
/// stay, so line numbers and the braces and keywords of the code are where they were.
pub fn mask(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        match literal_end(&chars, i) {
            Some(end) => {
                out.extend(
                    chars[i..end]
                        .iter()
                        .map(|&c| if c == '\n' { c } else { ' ' }),
                );
                i = end;
            }
            None => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    out
}

/// Where the comment or literal starting at `i` ends (exclusive), if one starts there. A
/// literal's prefix (`b`, `c`, `br`) is left to the caller's text except for raw strings.
fn literal_end(chars: &[char], i: usize) -> Option<usize> {
    let at = |k: usize| chars.get(k).copied();
    match (chars[i], at(i + 1)) {
        ('/', Some('/')) => Some(
            chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(chars.len(), |p| i + p),
        ),
        ('/', Some('*')) => Some(block_comment_end(chars, i)),
        ('"', _) => Some(quoted_end(chars, i + 1, '"')),
        ('\'', Some('\\')) => Some(quoted_end(chars, i + 1, '\'')),
        // `'x'` is a char; `'a` (no closing quote right after one char) is a lifetime or label.
        ('\'', Some(c)) if c != '\'' && at(i + 2) == Some('\'') => Some(i + 3),
        ('r' | 'b' | 'c', _) if i == 0 || !is_ident_char(chars[i - 1]) => raw_string_end(chars, i),
        _ => None,
    }
}

/// Block comments nest in Rust.
fn block_comment_end(chars: &[char], start: usize) -> usize {
    let mut depth = 0usize;
    let mut j = start;
    while j + 1 < chars.len() {
        match (chars[j], chars[j + 1]) {
            ('/', '*') => {
                depth += 1;
                j += 2;
            }
            ('*', '/') => {
                depth -= 1;
                j += 2;
                if depth == 0 {
                    return j;
                }
            }
            _ => j += 1,
        }
    }
    chars.len()
}

/// The end of a string or char literal whose body starts at `j`, honouring backslash escapes.
fn quoted_end(chars: &[char], mut j: usize, quote: char) -> usize {
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 2,
            c if c == quote => return j + 1,
            _ => j += 1,
        }
    }
    chars.len()
}

/// `r"..."`, `r#"..."#`, `br##"..."##`, `cr"..."`; `None` for identifiers such as `r#type`.
fn raw_string_end(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    if matches!(chars[j], 'b' | 'c') {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|&&c| c == '#').count();
    j += hashes;
    if chars.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < chars.len() {
        if chars[j] == '"'
            && chars[j + 1..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == '#')
                .count()
                == hashes
        {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(chars.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_blanks_comments_strings_chars_and_raw_strings() {
        let source = concat!(
            "let a = \"{ \\\" }\"; // }\n",
            "let b = r#\"}\" { \"#; /* { /* } */ } */\n",
            "let c = '{'; let d = '\\''; let e = b'}';\n",
            "fn f<'a>(x: &'a str) -> &'a str { x }\n",
            "let r#type = br\"{\"; let g = cr##\"}\"#\"##;\n",
        );
        let masked = mask(source);
        assert_eq!(masked.lines().count(), source.lines().count());
        assert_eq!(masked.len(), source.len());
        let braces: String = masked.chars().filter(|c| "{}".contains(*c)).collect();
        // Only the function body's braces are code.
        assert_eq!(braces, "{}", "{masked}");
        assert!(
            masked.contains("fn f<'a>(x: &'a str) -> &'a str { x }"),
            "{masked}"
        );
        let raw = format!(
            "let r#type = {}; let g = {};",
            " ".repeat(5),
            " ".repeat(11)
        );
        assert_eq!(masked.lines().nth(4), Some(raw.as_str()));
        assert!(!masked.contains("//") && !masked.contains("/*"), "{masked}");
    }
}
