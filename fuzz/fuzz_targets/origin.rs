//! Fuzzes the origin parser and matcher.
//!
//! Input: `pattern\norigin` (no newline: the same text is used for both).
//! Checks, besides "no panic": normalised forms parse back to the same
//! value, a set holding one pattern agrees with the pattern, and a pattern
//! without `*` matches exactly the origin it normalises to.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mtls_policies::{Origin, OriginPattern, OriginSet};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (pattern_text, origin_text) = text.split_once('\n').unwrap_or((&text, &text));

    let origin = Origin::parse(origin_text);
    if let Some(origin) = &origin {
        let shown = origin.to_string();
        assert_eq!(Origin::parse(&shown).as_ref(), Some(origin), "{shown}");
        assert!(!shown.contains('*'));
    }

    let Ok(pattern) = OriginPattern::parse(pattern_text) else {
        return;
    };
    let shown = pattern.to_string();
    assert_eq!(
        OriginPattern::parse(&shown).as_ref(),
        Ok(&pattern),
        "{shown}"
    );

    let set: OriginSet = std::iter::once(pattern.clone()).collect();
    if let Some(origin) = &origin {
        let matched = pattern.matches(origin);
        assert_eq!(set.allows(origin), matched);
        if let Some(exact) = pattern.as_exact() {
            assert_eq!(matched, exact == origin);
        } else if matched {
            // A wildcard match is the pattern's parent plus one label.
            let host = origin.host().to_string();
            let parent = shown
                .split_once('.')
                .map(|(_, rest)| rest.rsplit_once(':').map_or(rest, |(h, _)| h))
                .unwrap_or_default();
            let (label, rest) = host.split_once('.').unwrap_or_default();
            assert!(!label.is_empty() && rest == parent, "{shown} vs {origin}");
        }
    }
    // The pattern's own text, as an origin, is matched by an exact pattern.
    if let Some(exact) = pattern.as_exact() {
        assert!(pattern.matches(exact));
    }
});
