//! One configured allowed origin, possibly with a subdomain wildcard.
//!
//! The provider lets an application list "Allowed Origins (CORS)" and
//! "Allowed Web Origins", and documents exactly which wildcards those lists
//! accept ("Subdomain URL Placeholders"). The edge enforces the same lists, so
//! it must accept exactly the same patterns and give each the same meaning;
//! anything the provider documents as "will not work" is refused when the
//! configuration is loaded, with an error naming the rule, instead of being
//! silently reinterpreted:
//!
//! * the protocol **must** be `http` or `https`;
//! * the `*` **must** be in a subdomain: `https://*.com` will not work. The
//!   registrable domain is taken to be the last two labels (no public-suffix
//!   data is shipped), so `https://*.co.uk` is accepted and would match every
//!   `*.co.uk` site: do not configure wildcards directly under a multi-label
//!   public suffix;
//! * the `*` **must** be in the subdomain furthest from the root:
//!   `https://sub.*.example.com` will not work;
//! * **no more than one** `*`: `https://*.*.example.com` will not work;
//! * the `*` **may** carry a prefix and/or suffix inside its label:
//!   `https://prefix-*-suffix.example.com` works;
//! * a wildcard **will not** match more than one level:
//!   `https://*.example.com` does not match `https://sub1.sub2.example.com`
//!   (nor `https://example.com`: the `*` stands for at least one character);
//! * no relative path after the host (a single trailing `/` is tolerated);
//! * `{organization_name}` and `{custom_domain.metadata.KEY}` placeholders are
//!   refused: the edge has no organization or custom-domain metadata to fill
//!   them with.
//!
//! Ports are compared exactly after removing the scheme's default port, and
//! hosts case-insensitively.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::origin::{parse_origin_syntax, Host, Origin, ParsedHost, Scheme};

/// Why a configured origin pattern was refused. Each variant is one rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OriginPatternError {
    /// Nothing but whitespace.
    #[error("the origin is empty")]
    Empty,
    /// No `scheme://` in front of the host.
    #[error("the origin must start with http:// or https://")]
    MissingScheme,
    /// The provider: "The protocol of the URL **must** be `http` or `https`."
    #[error("scheme {scheme:?} is not allowed: the protocol must be http or https")]
    UnsupportedScheme { scheme: String },
    /// `https://user@host` names a user, not an origin.
    #[error("the origin must not contain userinfo ('@')")]
    UserinfoNotAllowed,
    /// The provider: URLs "cannot contain relative paths after the domain".
    #[error("the origin must not contain a path after the host")]
    PathNotAllowed,
    /// An origin has no query.
    #[error("the origin must not contain a query ('?')")]
    QueryNotAllowed,
    /// An origin has no fragment.
    #[error("the origin must not contain a fragment ('#')")]
    FragmentNotAllowed,
    /// `https://` or `https://:443`.
    #[error("the origin has no host")]
    EmptyHost,
    /// `a..b`, a leading or a trailing dot.
    #[error("the host has an empty label (two dots in a row, or a leading or trailing dot)")]
    EmptyLabel,
    /// More than 63 characters in one label.
    #[error("a host label is longer than 63 characters")]
    LabelTooLong,
    /// More than 253 characters in the host.
    #[error("the host is longer than 253 characters")]
    HostTooLong,
    /// Browsers send internationalised names as A-labels.
    #[error("the host is not ASCII: write internationalised names in their xn-- (punycode) form")]
    NonAsciiHost,
    /// Anything but letters, digits, `-`, `_`, `.` (and one `*`).
    #[error("the host contains {ch:?}, which is not a valid hostname character")]
    InvalidHostCharacter { ch: char },
    /// `{organization_name}` and custom-domain placeholders.
    #[error(
        "URL placeholders ({{...}}) are not supported at the edge: list the origins explicitly"
    )]
    PlaceholderNotSupported,
    /// A bracketed IPv6 literal that does not parse, or a numeric host that
    /// is not a canonical dotted-quad IPv4 address.
    #[error("the host is not a valid IP address literal (IPv4 must be a canonical dotted quad)")]
    InvalidIpAddress,
    /// Not 1 to 65535 in decimal digits.
    #[error("port {port:?} is not a number from 1 to 65535")]
    InvalidPort { port: String },
    /// The provider: "The URL **must not** contain more than one wildcard."
    #[error("the origin contains more than one '*' wildcard")]
    MultipleWildcards,
    /// The provider: "The wildcard **must** be located in a subdomain within
    /// the hostname component. `https://*.com` will not work."
    #[error("the '*' wildcard must be in a subdomain, not in the registrable domain (the last two labels)")]
    WildcardInRegistrableDomain,
    /// The provider: "The wildcard **must** be located in the subdomain
    /// furthest from the root domain. `https://sub.*.example.com` will not
    /// work."
    #[error("the '*' wildcard must be in the left-most label of the host")]
    WildcardNotInLeftmostLabel,
    /// Wildcards are for subdomains; an IP address has none.
    #[error("a '*' wildcard cannot be used in an IP address")]
    WildcardInIpAddress,
}

/// A subdomain wildcard: `scheme://prefix*suffix.parent[:port]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct WildcardPattern {
    scheme: Scheme,
    prefix: Box<str>,
    suffix: Box<str>,
    /// The labels after the wildcard label, e.g. `example.com`.
    parent: Box<str>,
    port: Option<u16>,
}

impl WildcardPattern {
    /// True when `origin` has the same scheme and port and its host is one
    /// label (at least one character in place of the `*`) followed by
    /// `parent`. Never allocates.
    pub(crate) fn matches(&self, origin: &Origin) -> bool {
        if origin.scheme() != self.scheme || origin.port() != self.port {
            return false;
        }
        let Host::Domain(host) = origin.host() else {
            return false;
        };
        let Some((label, parent)) = host.split_once('.') else {
            return false;
        };
        parent == &*self.parent
            && label.len() > self.prefix.len() + self.suffix.len()
            && label.starts_with(&*self.prefix)
            && label.ends_with(&*self.suffix)
    }
}

impl fmt::Display for WildcardPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}*{}.{}",
            self.scheme.as_str(),
            self.prefix,
            self.suffix,
            self.parent
        )?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum PatternKind {
    Exact(Origin),
    Wildcard(WildcardPattern),
}

/// One entry of an "Allowed Origins (CORS)" or "Allowed Web Origins" list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OriginPattern(pub(crate) PatternKind);

impl OriginPattern {
    /// Parses one configured entry; see the module docs for the rules.
    pub fn parse(text: &str) -> Result<OriginPattern, OriginPatternError> {
        let parsed = parse_origin_syntax(text, true)?;
        let kind = match parsed.host {
            ParsedHost::Exact(host) => {
                PatternKind::Exact(Origin::from_parts(parsed.scheme, host, parsed.port))
            }
            ParsedHost::Wildcard {
                prefix,
                suffix,
                parent,
            } => PatternKind::Wildcard(WildcardPattern {
                scheme: parsed.scheme,
                prefix,
                suffix,
                parent,
                port: parsed.port,
            }),
        };
        Ok(OriginPattern(kind))
    }

    /// True when the request's origin is allowed by this entry.
    pub fn matches(&self, origin: &Origin) -> bool {
        match &self.0 {
            PatternKind::Exact(exact) => exact == origin,
            PatternKind::Wildcard(wildcard) => wildcard.matches(origin),
        }
    }

    /// True for a pattern with a `*`.
    pub fn is_wildcard(&self) -> bool {
        matches!(self.0, PatternKind::Wildcard(_))
    }

    /// The one origin a pattern without `*` stands for.
    pub fn as_exact(&self) -> Option<&Origin> {
        match &self.0 {
            PatternKind::Exact(origin) => Some(origin),
            PatternKind::Wildcard(_) => None,
        }
    }
}

/// The normalised form (lower-case, default port removed, no trailing `/`).
impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            PatternKind::Exact(origin) => origin.fmt(f),
            PatternKind::Wildcard(wildcard) => wildcard.fmt(f),
        }
    }
}

impl FromStr for OriginPattern {
    type Err = OriginPatternError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        OriginPattern::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_normalised() {
        for (input, shown) in [
            ("HTTPS://*.Example.COM:443/", "https://*.example.com"),
            (
                "https://pre-*-suf.example.com:8443",
                "https://pre-*-suf.example.com:8443",
            ),
            ("http://LOCALHOST:3000/", "http://localhost:3000"),
        ] {
            assert_eq!(OriginPattern::parse(input).unwrap().to_string(), shown);
        }
    }

    #[test]
    fn wildcard_needs_at_least_one_character() {
        let p = OriginPattern::parse("https://a-*-b.example.com").unwrap();
        assert!(p.matches(&Origin::parse("https://a-x-b.example.com").unwrap()));
        assert!(!p.matches(&Origin::parse("https://a--b.example.com").unwrap()));
        assert!(!p.matches(&Origin::parse("https://a-b.example.com").unwrap()));
    }
}
