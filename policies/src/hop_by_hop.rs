//! Hop-by-hop headers, which describe one connection and must not be forwarded.
//!
//! Forwarding them would let a client steer the edge-to-provider connection
//! (`Transfer-Encoding`, `Upgrade`, `TE`) and is a classic ingredient of
//! request smuggling. RFC 9110 §7.6.1 also lets the sender name any other
//! header in `Connection` to make it hop-by-hop; a proxy must drop those too.
//!
//! That second rule is also an attack: `Connection: client-certificate` asks
//! the proxy to delete a header. It is harmless here only because the edge
//! strips before it injects, so the order matters — strip hop-by-hop headers
//! and client-sent identity headers first, then add the edge's own.

use http::header::{HeaderMap, HeaderName, CONNECTION};

/// Headers that are hop-by-hop by definition (RFC 9110 §7.6.1, plus the
/// non-standard `proxy-connection` still sent by some clients).
pub const HOP_BY_HOP_HEADERS: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Hop-by-hop headers a proxy must not forward (RFC 9110 §7.6.1):
/// connection, keep-alive, proxy-connection, te, trailer, transfer-encoding,
/// upgrade, plus any header named in a Connection header. Removes them in
/// place, every copy.
///
/// `Connection` values are comma-separated tokens; every `Connection` line is
/// read, tokens are trimmed of optional whitespace and matched
/// case-insensitively. Tokens that are not valid header names are ignored —
/// they cannot name a header in the map.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let nominated: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .flat_map(|value| value.as_bytes().split(|&b| b == b','))
        .map(trim_ows)
        .filter(|token| !token.is_empty())
        .filter_map(|token| HeaderName::from_bytes(token).ok())
        .collect();
    for name in nominated {
        headers.remove(name);
    }
    for name in HOP_BY_HOP_HEADERS {
        headers.remove(name);
    }
}

/// Trims RFC 9110 optional whitespace (spaces and horizontal tabs).
fn trim_ows(token: &[u8]) -> &[u8] {
    let start = token
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(token.len());
    let end = token
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &token[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    fn names(headers: &HeaderMap) -> Vec<&str> {
        let mut names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        names
    }

    #[test]
    fn fixed_hop_by_hop_headers_are_removed() {
        let mut headers = map(&[
            ("connection", "keep-alive"),
            ("keep-alive", "timeout=5"),
            ("proxy-connection", "keep-alive"),
            ("te", "trailers"),
            ("trailer", "x-checksum"),
            ("transfer-encoding", "chunked"),
            ("transfer-encoding", "gzip"),
            ("upgrade", "h2c"),
            ("content-type", "application/json"),
            ("content-length", "2"),
            ("authorization", "Basic abc"),
        ]);
        strip_hop_by_hop(&mut headers);
        assert_eq!(
            names(&headers),
            ["authorization", "content-length", "content-type"]
        );
    }

    #[test]
    fn connection_nominated_headers_are_removed() {
        let mut headers = map(&[
            ("connection", "close, X-Foo ,\tx-bar\t"),
            ("connection", "X-Baz"),
            ("x-foo", "1"),
            ("x-foo", "2"),
            ("x-bar", "1"),
            ("x-baz", "1"),
            ("x-qux", "kept"),
            ("accept", "application/json"),
        ]);
        strip_hop_by_hop(&mut headers);
        assert_eq!(names(&headers), ["accept", "x-qux"]);
    }

    #[test]
    fn odd_connection_values_are_tolerated() {
        let mut headers = map(&[
            ("connection", ",,  , x-foo,,"),
            ("connection", "not a token, x:y, x-bar"),
            ("connection", ""),
            ("x-foo", "1"),
            ("x-bar", "1"),
            ("not", "kept"),
            ("x-y", "kept"),
        ]);
        headers.append(
            CONNECTION,
            HeaderValue::from_bytes(b"x-\xffopaque, x-baz").unwrap(),
        );
        headers.append("x-baz", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut headers);
        assert_eq!(names(&headers), ["not", "x-y"]);
    }

    #[test]
    fn no_connection_header_keeps_normal_headers() {
        let mut headers = map(&[
            ("host", "auth.example.com"),
            ("x-request-id", "abc"),
            ("accept", "*/*"),
        ]);
        let before = headers.clone();
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers, before);
    }

    #[test]
    fn trims_only_optional_whitespace() {
        assert_eq!(trim_ows(b"  a b\t"), b"a b");
        assert_eq!(trim_ows(b" \t "), b"");
        assert_eq!(trim_ows(b""), b"");
        assert_eq!(trim_ows(b"x"), b"x");
    }
}
