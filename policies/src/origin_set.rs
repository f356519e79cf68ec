//! A list of allowed origins, checked once per browser request.
//!
//! Exact entries are by far the common case (the provider recommends against
//! wildcards in production), so they live in a hash set and an allowed origin
//! costs one lookup however long the list is. Wildcards, which cannot be
//! hashed, are scanned linearly; there are few of them.

use std::collections::HashSet;

use thiserror::Error;

use crate::origin::Origin;
use crate::origin_pattern::{OriginPattern, OriginPatternError, PatternKind, WildcardPattern};

/// One entry of a configured list was refused; names the entry so the
/// operator can find it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("allowed origin #{index} ({entry:?}): {source}")]
pub struct OriginSetError {
    /// Zero-based position in the list.
    pub index: usize,
    /// The entry as configured (truncated to 200 characters).
    pub entry: String,
    /// The rule it broke.
    #[source]
    pub source: OriginPatternError,
}

/// A set of [`OriginPattern`]s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginSet {
    exact: HashSet<Origin>,
    wildcards: Vec<WildcardPattern>,
}

impl OriginSet {
    /// An empty set: allows nothing.
    pub fn new() -> OriginSet {
        OriginSet::default()
    }

    /// Parses every entry; the first bad one is reported with its position.
    pub fn parse<I, S>(entries: I) -> Result<OriginSet, OriginSetError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = OriginSet::new();
        for (index, entry) in entries.into_iter().enumerate() {
            let entry = entry.as_ref();
            let pattern = OriginPattern::parse(entry).map_err(|source| OriginSetError {
                index,
                entry: entry.chars().take(200).collect(),
                source,
            })?;
            set.insert(pattern);
        }
        Ok(set)
    }

    /// Adds one pattern (duplicates are kept once).
    pub fn insert(&mut self, pattern: OriginPattern) {
        match pattern.0 {
            PatternKind::Exact(origin) => {
                self.exact.insert(origin);
            }
            PatternKind::Wildcard(wildcard) => {
                if !self.wildcards.contains(&wildcard) {
                    self.wildcards.push(wildcard);
                }
            }
        }
    }

    /// Adds every pattern of `other`.
    pub fn extend_from(&mut self, other: &OriginSet) {
        self.exact.extend(other.exact.iter().cloned());
        for wildcard in &other.wildcards {
            if !self.wildcards.contains(wildcard) {
                self.wildcards.push(wildcard.clone());
            }
        }
    }

    /// True when some entry allows `origin`.
    pub fn allows(&self, origin: &Origin) -> bool {
        self.exact.contains(origin) || self.wildcards.iter().any(|w| w.matches(origin))
    }

    /// Number of distinct entries.
    pub fn len(&self) -> usize {
        self.exact.len() + self.wildcards.len()
    }

    /// True when the set allows nothing.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.wildcards.is_empty()
    }

    /// The entries, normalised (exact ones in no particular order, then the
    /// wildcards in configured order); for logs and diagnostics.
    pub fn patterns(&self) -> impl Iterator<Item = OriginPattern> + '_ {
        self.exact
            .iter()
            .cloned()
            .map(|origin| OriginPattern(PatternKind::Exact(origin)))
            .chain(
                self.wildcards
                    .iter()
                    .cloned()
                    .map(|wildcard| OriginPattern(PatternKind::Wildcard(wildcard))),
            )
    }
}

impl FromIterator<OriginPattern> for OriginSet {
    fn from_iter<T: IntoIterator<Item = OriginPattern>>(iter: T) -> Self {
        let mut set = OriginSet::new();
        set.extend(iter);
        set
    }
}

impl Extend<OriginPattern> for OriginSet {
    fn extend<T: IntoIterator<Item = OriginPattern>>(&mut self, iter: T) {
        for pattern in iter {
            self.insert(pattern);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_bad_entry() {
        let err = OriginSet::parse(["https://a.com", "https://*.com"]).unwrap_err();
        assert_eq!(err.index, 1);
        assert_eq!(err.entry, "https://*.com");
        assert_eq!(err.source, OriginPatternError::WildcardInRegistrableDomain);
    }

    #[test]
    fn exact_and_wildcard_entries_are_both_used() {
        let set = OriginSet::parse(["https://a.com", "https://*.b.com", "https://A.com/"]).unwrap();
        assert_eq!(set.len(), 2);
        assert!(set.allows(&Origin::parse("https://a.com").unwrap()));
        assert!(set.allows(&Origin::parse("https://x.b.com").unwrap()));
        assert!(!set.allows(&Origin::parse("https://b.com").unwrap()));
        let mut union = OriginSet::new();
        union.extend_from(&set);
        union.extend_from(&set);
        assert_eq!(union, set);
        assert_eq!(union.patterns().count(), 2);
    }
}
