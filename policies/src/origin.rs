//! A request's `Origin`, parsed strictly and normalised for comparison.
//!
//! Every browser-facing decision (CORS, cross-origin authentication) starts by
//! asking "who is calling?", and the answer is the `Origin` header. Browsers
//! always send it in serialised form (RFC 6454 §6.2, WHATWG URL "origin
//! serialisation"): lower-case scheme and host, A-label (punycode) host, no
//! default port, no path. Anything that does not look like that did not come
//! from a browser's own origin computation, so it is not an origin here and
//! matches nothing.
//!
//! The same syntax is used for the configured allow-lists (with one `*`
//! permitted there, see [`crate::OriginPattern`]), so both sides go through
//! one parser and cannot disagree about what a host or a port is. The parser
//! is written by hand rather than taken from a general URL library because
//! a URL parser is deliberately lenient (it accepts `https://a.com:0443`,
//! `https://0x7f.1`, backslashes, userinfo, embedded tabs, ...) and every such
//! leniency would have to be undone again here.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::origin_pattern::OriginPatternError;

/// Longest DNS name in presentation form, without a trailing dot.
const MAX_HOST_LEN: usize = 253;
/// Longest DNS label.
const MAX_LABEL_LEN: usize = 63;

/// The two schemes an allowed origin may have: the provider documents that
/// "the protocol of the URL **must** be `http` or `https`".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `http`, default port 80.
    Http,
    /// `https`, default port 443.
    Https,
}

impl Scheme {
    /// The scheme's name, lower-case.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// The port that is omitted when an origin is serialised.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// The host of an origin, in the form it is compared in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A registered name: lower-case ASCII labels, no trailing dot.
    Domain(Box<str>),
    /// An IPv4 literal in canonical dotted-quad form.
    Ipv4(Ipv4Addr),
    /// An IPv6 literal; compared by value so `[0:0::1]` equals `[::1]`.
    Ipv6(Ipv6Addr),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(name) => f.write_str(name),
            Host::Ipv4(addr) => write!(f, "{addr}"),
            Host::Ipv6(addr) => write!(f, "[{addr}]"),
        }
    }
}

/// A tuple origin (scheme, host, port) as sent in an `Origin` header.
///
/// There is no value for the opaque origin `null`: [`Origin::parse`] returns
/// `None` for it, so it can never be found in an allow-list. A page with an
/// opaque origin (sandboxed iframe, `data:` URL, some redirects) has no
/// identity that an operator could have allowed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: Scheme,
    host: Host,
    /// `None` when the port is the scheme's default, so that
    /// `https://a.com:443` and `https://a.com` are one origin.
    port: Option<u16>,
}

impl Origin {
    /// Parses an `Origin` header value (or an exact allow-list entry).
    ///
    /// Normalises: lower-case scheme and host, default port (443 for https,
    /// 80 for http) removed, one trailing `/` tolerated and removed.
    /// Returns `None` for `null`, for anything with userinfo, a path, a
    /// query or a fragment, for non-ASCII hosts (browsers send A-labels), for
    /// a `*`, and for anything else that is not a serialised origin.
    pub fn parse(value: &str) -> Option<Origin> {
        match parse_origin_syntax(value, false) {
            Ok(Parsed {
                scheme,
                host: ParsedHost::Exact(host),
                port,
            }) => Some(Origin { scheme, host, port }),
            _ => None,
        }
    }

    /// Builds an origin from parts; used by the pattern parser.
    pub(crate) fn from_parts(scheme: Scheme, host: Host, port: Option<u16>) -> Origin {
        Origin { scheme, host, port }
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host, normalised.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The explicit port, or `None` for the scheme's default port.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The port the origin actually uses (the default one when not explicit).
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or_else(|| self.scheme.default_port())
    }
}

/// Serialises as a browser would: `https://host[:port]`, no trailing slash.
impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// What the shared parser found; the wildcard form only when allowed.
pub(crate) struct Parsed {
    pub(crate) scheme: Scheme,
    pub(crate) host: ParsedHost,
    pub(crate) port: Option<u16>,
}

/// A host without a `*`, or the pieces of a host with one.
pub(crate) enum ParsedHost {
    Exact(Host),
    /// `prefix*suffix.parent`: the `*` sits in the left-most label, `parent`
    /// is everything after that label's dot (at least two labels).
    Wildcard {
        prefix: Box<str>,
        suffix: Box<str>,
        parent: Box<str>,
    },
}

/// The one parser for origins and origin patterns.
///
/// `allow_wildcard` is true only for configured patterns; for request
/// origins a `*` is just an invalid host character.
pub(crate) fn parse_origin_syntax(
    input: &str,
    allow_wildcard: bool,
) -> Result<Parsed, OriginPatternError> {
    let input = input.trim_matches(|c: char| c == ' ' || c == '\t');
    if input.is_empty() {
        return Err(OriginPatternError::Empty);
    }
    let (scheme_text, rest) = input
        .split_once(':')
        .ok_or(OriginPatternError::MissingScheme)?;
    if scheme_text.is_empty() {
        return Err(OriginPatternError::MissingScheme);
    }
    let scheme = if scheme_text.eq_ignore_ascii_case("https") {
        Scheme::Https
    } else if scheme_text.eq_ignore_ascii_case("http") {
        Scheme::Http
    } else if scheme_text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && scheme_text.as_bytes()[0].is_ascii_alphabetic()
        && !rest.starts_with(|c: char| c.is_ascii_digit())
    {
        return Err(OriginPatternError::UnsupportedScheme {
            scheme: scheme_text.to_ascii_lowercase(),
        });
    } else {
        // `example.com:8080` or `*.example.com:443`: the part before the
        // colon is a host (a port follows it), not a scheme.
        return Err(OriginPatternError::MissingScheme);
    };
    let rest = rest
        .strip_prefix("//")
        .ok_or(OriginPatternError::MissingScheme)?;

    // The authority ends at the first `/`, `?` or `#`.
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(end);
    check_nothing_after_authority(after)?;
    if authority.contains('@') {
        return Err(OriginPatternError::UserinfoNotAllowed);
    }

    let (host_text, port_text) = split_host_port(authority)?;
    let port = match port_text {
        None => None,
        Some(text) => {
            let port = parse_port(text)?;
            (port != scheme.default_port()).then_some(port)
        }
    };
    let host = parse_host(host_text, allow_wildcard)?;
    Ok(Parsed { scheme, host, port })
}

/// Only nothing or a single `/` may follow the host: the provider's web
/// origins "cannot contain relative paths after the domain URL", and a
/// browser's `Origin` never has a path, query or fragment.
fn check_nothing_after_authority(after: &str) -> Result<(), OriginPatternError> {
    let after = after.strip_prefix('/').unwrap_or(after);
    match after.as_bytes().first() {
        None => Ok(()),
        Some(b'?') => Err(OriginPatternError::QueryNotAllowed),
        Some(b'#') => Err(OriginPatternError::FragmentNotAllowed),
        Some(_) => Err(OriginPatternError::PathNotAllowed),
    }
}

/// Splits `host[:port]` / `[v6][:port]`; the port text is returned unparsed.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), OriginPatternError> {
    if authority.starts_with('[') {
        let close = authority
            .find(']')
            .ok_or(OriginPatternError::InvalidIpAddress)?;
        let (host, after) = authority.split_at(close + 1);
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(OriginPatternError::InvalidIpAddress),
            },
        };
    }
    match authority.split_once(':') {
        None => Ok((authority, None)),
        Some((host, port)) => Ok((host, Some(port))),
    }
}

/// 1 to 65535, decimal digits only (no sign, no spaces, no `*`).
fn parse_port(text: &str) -> Result<u16, OriginPatternError> {
    let invalid = || OriginPatternError::InvalidPort {
        port: text.chars().take(16).collect(),
    };
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err(invalid()),
        Ok(port) => Ok(port),
    }
}

fn parse_host(text: &str, allow_wildcard: bool) -> Result<ParsedHost, OriginPatternError> {
    if text.is_empty() {
        return Err(OriginPatternError::EmptyHost);
    }
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner.strip_suffix(']').unwrap_or(inner);
        if inner.contains('*') {
            return Err(OriginPatternError::WildcardInIpAddress);
        }
        // Only real IPv6 addresses: no zone identifiers, no IPvFuture.
        return inner
            .parse::<Ipv6Addr>()
            .map(|addr| ParsedHost::Exact(Host::Ipv6(addr)))
            .map_err(|_| OriginPatternError::InvalidIpAddress);
    }
    if !text.is_ascii() {
        return Err(OriginPatternError::NonAsciiHost);
    }
    if text.contains(['{', '}']) {
        return Err(OriginPatternError::PlaceholderNotSupported);
    }
    if text.len() > MAX_HOST_LEN {
        return Err(OriginPatternError::HostTooLong);
    }
    let host = text.to_ascii_lowercase();
    let mut wildcards = 0usize;
    let mut wildcard_label = 0usize;
    let mut labels = 0usize;
    for (index, label) in host.split('.').enumerate() {
        labels += 1;
        if label.is_empty() {
            return Err(OriginPatternError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(OriginPatternError::LabelTooLong);
        }
        for c in label.chars() {
            match c {
                'a'..='z' | '0'..='9' | '-' | '_' => {}
                '*' if allow_wildcard => {
                    wildcards += 1;
                    wildcard_label = index;
                }
                other => return Err(OriginPatternError::InvalidHostCharacter { ch: other }),
            }
        }
    }

    // A name whose last label is a number is an IPv4 address to a browser
    // (WHATWG URL "ends in a number"); only the canonical dotted quad is what
    // a browser would send, so only that is accepted.
    let last = host.rsplit('.').next().unwrap_or_default();
    if last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x") {
        if wildcards > 0 {
            return Err(OriginPatternError::WildcardInIpAddress);
        }
        return host
            .parse::<Ipv4Addr>()
            .map(|addr| ParsedHost::Exact(Host::Ipv4(addr)))
            .map_err(|_| OriginPatternError::InvalidIpAddress);
    }

    match wildcards {
        0 => Ok(ParsedHost::Exact(Host::Domain(host.into_boxed_str()))),
        1 => wildcard_host(&host, wildcard_label, labels),
        _ => Err(OriginPatternError::MultipleWildcards),
    }
}

/// Checks where the one `*` is and splits the host around it.
///
/// The registrable domain is taken to be the last two labels. That is what
/// the provider's own example (`https://*.com` invalid) needs, and it needs
/// no public-suffix data; the cost is that `https://*.co.uk` is accepted, so
/// operators must not configure wildcards directly under a multi-label public
/// suffix (see the module docs of [`crate::origin_pattern`]).
fn wildcard_host(
    host: &str,
    wildcard_label: usize,
    labels: usize,
) -> Result<ParsedHost, OriginPatternError> {
    if wildcard_label + 2 >= labels {
        return Err(OriginPatternError::WildcardInRegistrableDomain);
    }
    if wildcard_label != 0 {
        return Err(OriginPatternError::WildcardNotInLeftmostLabel);
    }
    let (first, parent) = host
        .split_once('.')
        .ok_or(OriginPatternError::WildcardInRegistrableDomain)?;
    let (prefix, suffix) = first
        .split_once('*')
        .ok_or(OriginPatternError::WildcardNotInLeftmostLabel)?;
    Ok(ParsedHost::Wildcard {
        prefix: prefix.into(),
        suffix: suffix.into(),
        parent: parent.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_default_port_and_trailing_slash() {
        let a = Origin::parse("HTTPS://Example.COM:443/").unwrap();
        let b = Origin::parse("https://example.com").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "https://example.com");
        assert_eq!(a.effective_port(), 443);
    }

    #[test]
    fn keeps_non_default_ports() {
        let o = Origin::parse("http://localhost:443").unwrap();
        assert_eq!(o.port(), Some(443));
        assert_eq!(o.to_string(), "http://localhost:443");
        assert_eq!(Origin::parse("http://a.com:80").unwrap().port(), None);
    }

    #[test]
    fn ip_literals_are_compared_by_value() {
        assert_eq!(
            Origin::parse("http://[0:0::1]:8080"),
            Origin::parse("http://[::1]:8080")
        );
        assert_eq!(
            Origin::parse("https://127.0.0.1").unwrap().to_string(),
            "https://127.0.0.1"
        );
        assert_eq!(Origin::parse("https://0x7f.0.0.1"), None);
        assert_eq!(Origin::parse("https://127.1"), None);
        assert_eq!(Origin::parse("https://[fe80::1%25eth0]"), None);
    }

    #[test]
    fn rejects_non_origins() {
        for value in [
            "null",
            "",
            "*",
            "https://",
            "https://a.com/path",
            "https://a.com?q",
            "https://a.com#f",
            "https://user@a.com",
            "https://a..com",
            "https://a.com.",
            "https://a.com:",
            "https://a.com:0",
            "https://a.com:65536",
            "https://a.com:+1",
            "https://bücher.example",
            "https://*.example.com",
            "ftp://a.com",
            "a.com",
            "https:a.com",
            "https://a com",
        ] {
            assert_eq!(Origin::parse(value), None, "{value:?}");
        }
    }
}
