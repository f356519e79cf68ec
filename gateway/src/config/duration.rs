//! Durations as the file writes them (`"10s"`, `"500ms"`, `"2m"`), with problem texts that show
//! the fix: a bare number gets its unit suggested, a string that is not a duration an example.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};

/// For `#[serde(deserialize_with = "duration::required")]` on a `Duration` field.
pub(super) fn required<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    d.deserialize_any(DurationVisitor)
}

/// For `#[serde(default, deserialize_with = "duration::optional")]` on an `Option<Duration>`
/// field (serde calls it only when the key is present).
pub(super) fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    required(d).map(Some)
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration with a unit, e.g. \"30s\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        parse(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        Err(E::custom(unit_missing(&v.to_string())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        Err(E::custom(unit_missing(&v.to_string())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
        // humantime reads integers only: offer the value in milliseconds.
        let ms = (v * 1000.0).round();
        Err(E::custom(format!(
            "expected a duration with a unit, e.g. \"{ms}ms\"; found the number {v}"
        )))
    }
}

/// Parses a duration string, or says what is wrong with it and how it is written.
pub(super) fn parse(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(unit_missing(trimmed));
    }
    humantime::parse_duration(trimmed).map_err(|e| {
        let why = match e {
            humantime::DurationError::UnknownUnit { unit, .. } => {
                format!("unknown unit `{unit}`")
            }
            humantime::DurationError::NumberExpected(at) => {
                format!("expected a number at `{}`", trimmed.get(at..).unwrap_or(trimmed))
            }
            humantime::DurationError::InvalidCharacter(at) => {
                format!("unexpected `{}`", trimmed.get(at..).unwrap_or(trimmed))
            }
            humantime::DurationError::Empty => "it is empty".to_owned(),
            humantime::DurationError::NumberOverflow => "it is too long".to_owned(),
        };
        format!(
            "\"{text}\" is not a duration ({why}); write a number and a unit, e.g. \"10s\", \"500ms\" or \"2m\""
        )
    })
}

fn unit_missing(number: &str) -> String {
    format!("expected a duration with a unit, e.g. \"{number}s\"; found the bare number {number}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_mistakes_show_the_fix() {
        assert_eq!(parse("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        let bare = parse("30").unwrap_err();
        assert!(bare.contains("e.g. \"30s\""), "{bare}");
        let parsecs = parse("10 parsecs").unwrap_err();
        assert!(
            parsecs.starts_with("\"10 parsecs\" is not a duration (unknown unit `parsecs`)"),
            "{parsecs}"
        );
        assert!(parsecs.contains("e.g. \"10s\""), "{parsecs}");
        assert!(parse("").unwrap_err().contains("it is empty"));
        assert!(parse("ten seconds")
            .unwrap_err()
            .contains("(expected a number at `ten seconds`)"));
    }
}
