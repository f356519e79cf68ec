//! Problem texts for values serde could not read, in the file's terms: TOML types instead of
//! Rust ones, the accepted keys and values, and the nearest one when a name looks misspelled.

/// What serde's message says, taken apart (its wording is fixed by `serde::de::Error`).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Explained {
    /// A required key is not set; the field name.
    Missing(String),
    /// A key that is not allowed here; the field name and the keys that are.
    Unknown { key: String, allowed: Vec<String> },
    /// Anything else, as a finished problem text.
    Other(String),
}

pub(super) fn explain(message: &str) -> Explained {
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        return Explained::Missing(field.to_owned());
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (key, allowed) = rest.split_once('`').unwrap_or((rest, ""));
        return Explained::Unknown {
            key: key.to_owned(),
            allowed: backticked(allowed),
        };
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some((found, expected)) = message
            .strip_prefix(prefix)
            .and_then(|rest| rest.rsplit_once(", expected "))
        {
            return Explained::Other(format!(
                "expected {}, found {}",
                toml_terms(expected),
                toml_terms(found)
            ));
        }
    }
    Explained::Other(message.to_owned())
}

/// The problem text for a key that is not allowed where it is written.
pub(super) fn unknown_key(key: &str, allowed: &[String]) -> String {
    let names: Vec<&str> = allowed.iter().map(String::as_str).collect();
    match nearest(key, &names) {
        Some(near) => format!("unknown key `{key}`; did you mean `{near}`?"),
        None if names.is_empty() => format!("unknown key `{key}`"),
        None => format!(
            "unknown key `{key}`; the keys allowed here are {}",
            names.join(", ")
        ),
    }
}

/// `unknown value `fap`; expected one of recommended, fapi; did you mean `fapi`?`: `what` names
/// the kind of value, `also` extends the list of what is accepted.
pub(super) fn unknown_value(what: &str, got: &str, names: &[&str], also: &str) -> String {
    let mut text = format!(
        "unknown {what} `{got}`; expected one of {}{also}",
        names.join(", ")
    );
    if let Some(near) = nearest(got, names) {
        text.push_str(&format!("; did you mean `{near}`?"));
    }
    text
}

/// The candidate closest to `got`, when it is close enough to be a misspelling of it: at most
/// one edit, or one edit in three characters.
pub(super) fn nearest<'a>(got: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(got, c), *c))
        .filter(|(d, c)| *d <= 1 || 3 * d <= got.len().max(c.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Serde's descriptions of what it expected or found, in TOML's words.
fn toml_terms(what: &str) -> String {
    let text = match what {
        "u8" => "an integer from 0 to 255",
        "u16" => "an integer from 0 to 65535",
        "u32" => "an integer from 0 to 4294967295",
        "u64" | "usize" => "a non-negative integer",
        "i8" | "i16" | "i32" | "i64" | "isize" => "an integer",
        "a boolean" => "true or false",
        "a sequence" | "sequence" => "an array",
        "a map" | "map" => "a table",
        "f32" | "f64" => "a number",
        other if other.starts_with("struct ") || other.starts_with("enum ") => "a table",
        other => other,
    };
    text.to_owned()
}

/// The names between backticks in `text`, in order.
fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_are_taken_apart() {
        assert_eq!(
            explain("missing field `host`"),
            Explained::Missing("host".into())
        );
        assert_eq!(
            explain("unknown field `prot`, expected one of `host`, `port`"),
            Explained::Unknown {
                key: "prot".into(),
                allowed: vec!["host".into(), "port".into()]
            }
        );
        assert_eq!(
            explain("unknown field `x`, there are no fields"),
            Explained::Unknown {
                key: "x".into(),
                allowed: vec![]
            }
        );
        assert_eq!(
            explain("invalid value: integer `70000`, expected u16"),
            Explained::Other("expected an integer from 0 to 65535, found integer `70000`".into())
        );
        assert_eq!(
            explain("invalid type: string \"x\", expected struct FileUpstream"),
            Explained::Other("expected a table, found string \"x\"".into())
        );
        assert_eq!(
            explain("invalid type: integer `5`, expected a sequence"),
            Explained::Other("expected an array, found integer `5`".into())
        );
    }

    #[test]
    fn suggestions_are_near_misses_only() {
        let names = ["client_ip", "cert_thumbprint", "client_id"];
        assert_eq!(nearest("client_ipp", &names), Some("client_ip"));
        assert_eq!(nearest("cert_thumbprnt", &names), Some("cert_thumbprint"));
        assert_eq!(nearest("ip", &names), None);
        assert_eq!(nearest("fap", &["recommended", "fapi"]), Some("fapi"));
        assert_eq!(
            unknown_key("handshake_timout", &["handshake_timeout".into()]),
            "unknown key `handshake_timout`; did you mean `handshake_timeout`?"
        );
        assert_eq!(
            unknown_key("zzz", &["host".into(), "port".into()]),
            "unknown key `zzz`; the keys allowed here are host, port"
        );
    }
}
