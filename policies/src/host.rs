//! The request's `Host` / `:authority` checked against the TLS server name.
//!
//! The edge serves two names from one listener: the plain domain, where no
//! client certificate is asked for, and the `mtls.` alias, where one is. A
//! client that opens TLS for one name and then sends a request naming the other
//! would get the other name's routing without its TLS policy (domain fronting
//! across our own hosts). So every request's authority must name exactly the
//! host the TLS connection was opened for; anything else is answered with 421.
//!
//! Parsing is deliberately strict. A lenient parser that disagrees with the
//! provider's about what the host is becomes a way to route one place and be
//! interpreted as another, so anything unusual is treated as malformed.

use std::net::Ipv6Addr;

use http::header::HOST;
use http::uri::Authority;
use http::{HeaderMap, Uri};

use crate::{single_header, Refusal};

/// Longest DNS name in presentation form, without the trailing dot.
const MAX_HOST_LEN: usize = 253;
/// Longest DNS label.
const MAX_LABEL_LEN: usize = 63;

/// Lower-cased host part of an authority (`"Auth.Example.com:443"` ->
/// `"auth.example.com"`), trailing dot removed, port removed (IPv6 literals in
/// brackets handled and returned with their brackets); `None` when malformed
/// (empty, userinfo `@`, spaces, bad port).
///
/// Registered names are limited to ASCII letters, digits, `-`, `_` and `.`
/// with no empty labels: internationalised names arrive as A-labels, and
/// percent-encoding or sub-delimiters in a host have no legitimate use here.
pub fn authority_host(authority: &str) -> Option<String> {
    host_slice(authority).map(str::to_ascii_lowercase)
}

/// True when the request's authority names exactly the host the TLS
/// connection was opened for (`sni`, already lower-case without trailing dot).
/// Port is ignored. Case-insensitive.
/// `"mtls.auth.example.com"` != `"auth.example.com"`.
///
/// Does not allocate: it runs on every request.
pub fn authority_matches_sni(authority: &str, sni: &str) -> bool {
    // Tolerate a caller that did not normalise the SNI; it costs nothing.
    let sni = sni.strip_suffix('.').unwrap_or(sni);
    if sni.is_empty() {
        return false;
    }
    match host_slice(authority) {
        // A TLS server name is never an IP literal (RFC 6066 §3).
        Some(host) => !host.starts_with('[') && host.eq_ignore_ascii_case(sni),
        None => false,
    }
}

/// Every authority a request names (the request target's, as HTTP/2 `:authority` or an absolute
/// URI, and the `Host` header) must be the connection's TLS server name: otherwise a request
/// could ride a plain-domain connection to an alias route, or the reverse (HTTP/2 connection reuse
/// makes this a real case). A request naming no host at all, or two `Host` headers, is malformed.
pub fn check_authority(uri: &Uri, headers: &HeaderMap, sni: &str) -> Result<(), Refusal> {
    let target = uri.authority().map(Authority::as_str);
    let host = single_header(headers, &HOST, "Host")?;
    if target.is_none() && host.is_none() {
        return Err(Refusal::BadRequest("The request names no host."));
    }
    for authority in target.into_iter().chain(host) {
        if !authority_matches_sni(authority, sni) {
            return Err(Refusal::Misdirected);
        }
    }
    Ok(())
}

/// The validated host part of `authority`, original case, trailing dot removed.
fn host_slice(authority: &str) -> Option<&str> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(rest) => {
            let close = rest.find(']')?;
            // Only real IPv6 addresses: no zone identifiers, no IPvFuture.
            rest[..close].parse::<Ipv6Addr>().ok()?;
            let after = &rest[close + 1..];
            let port = if after.is_empty() {
                None
            } else {
                Some(after.strip_prefix(':')?)
            };
            // Keep the brackets: they are part of the RFC 3986 host.
            (&authority[..close + 2], port)
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if let Some(port) = port {
        if !is_valid_port(port) {
            return None;
        }
    }
    if host.starts_with('[') {
        return Some(host);
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    is_valid_reg_name(host).then_some(host)
}

/// One to five digits fitting in a u16. An empty port (`host:`) is refused:
/// RFC 3986 permits it, but no client we serve sends it.
fn is_valid_port(port: &str) -> bool {
    !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok()
}

fn is_valid_reg_name(host: &str) -> bool {
    if host.is_empty() || host.len() > MAX_HOST_LEN {
        return false;
    }
    host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= MAX_LABEL_LEN
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_host_table() {
        let long_label = "a".repeat(63);
        let too_long_label = "a".repeat(64);
        let long_host = format!("{}.com", ["a"; 125].join("."));
        let too_long_host = format!("{}.com", ["a"; 126].join("."));
        let table: Vec<(&str, Option<&str>)> = vec![
            ("auth.example.com", Some("auth.example.com")),
            ("Auth.Example.com:443", Some("auth.example.com")),
            ("AUTH.EXAMPLE.COM", Some("auth.example.com")),
            ("auth.example.com.", Some("auth.example.com")),
            ("auth.example.com.:8443", Some("auth.example.com")),
            ("mtls.auth.example.com:0", Some("mtls.auth.example.com")),
            ("mtls.auth.example.com:65535", Some("mtls.auth.example.com")),
            ("localhost", Some("localhost")),
            ("under_score.example.com", Some("under_score.example.com")),
            ("xn--bcher-kva.example", Some("xn--bcher-kva.example")),
            ("127.0.0.1:443", Some("127.0.0.1")),
            ("[::1]", Some("[::1]")),
            ("[::1]:443", Some("[::1]")),
            ("[2001:DB8::1]:8443", Some("[2001:db8::1]")),
            ("[::ffff:192.0.2.1]", Some("[::ffff:192.0.2.1]")),
            (&long_label, Some(&long_label)),
            (&long_host, Some(&long_host)),
            // Malformed.
            ("", None),
            (".", None),
            ("..", None),
            (":443", None),
            ("auth.example.com..", None),
            (".auth.example.com", None),
            ("auth..example.com", None),
            ("auth.example.com:", None),
            ("auth.example.com:65536", None),
            ("auth.example.com:99999", None),
            ("auth.example.com:000443", None),
            ("auth.example.com:-1", None),
            ("auth.example.com:+443", None),
            ("auth.example.com:44a", None),
            ("auth.example.com: 443", None),
            ("auth.example.com:443:443", None),
            ("user@auth.example.com", None),
            ("user:pass@auth.example.com", None),
            ("auth.example.com@evil.example", None),
            ("auth.example.com ", None),
            (" auth.example.com", None),
            ("auth example.com", None),
            ("auth.example.com\t", None),
            ("auth.example.com\r\nx: y", None),
            ("auth.example.com\0", None),
            ("auth.example.com/", None),
            ("auth.example.com/path", None),
            ("https://auth.example.com", None),
            ("auth%2eexample.com", None),
            ("auth.example.com\\", None),
            ("auth.exämple.com", None),
            ("*", None),
            ("*.example.com", None),
            (&too_long_label, None),
            (&too_long_host, None),
            ("::1", None),
            ("[::1", None),
            ("::1]", None),
            ("[]", None),
            ("[::1]443", None),
            ("[::1]:", None),
            ("[::1]:http", None),
            ("[::1]]:443", None),
            ("[fe80::1%25eth0]", None),
            ("[v1.fe80::a+en1]", None),
            ("[auth.example.com]", None),
            ("[127.0.0.1]", None),
        ];
        for (authority, expected) in table {
            assert_eq!(
                authority_host(authority).as_deref(),
                expected,
                "authority {authority:?}"
            );
        }
    }

    #[test]
    fn sni_matching() {
        let sni = "auth.example.com";
        let alias = "mtls.auth.example.com";
        let matches = [
            ("auth.example.com", sni),
            ("auth.example.com:443", sni),
            ("AUTH.example.COM", sni),
            ("auth.example.com.", sni),
            ("auth.example.com.:443", sni),
            ("mtls.auth.example.com", alias),
            ("MTLS.Auth.Example.Com:8443", alias),
            ("mtls.auth.example.com.", alias),
            // A caller that forgot to normalise the SNI still matches.
            ("auth.example.com", "Auth.Example.Com."),
        ];
        for (authority, sni) in matches {
            assert!(
                authority_matches_sni(authority, sni),
                "{authority:?} vs {sni:?}"
            );
        }
        let mismatches = [
            ("mtls.auth.example.com", sni),
            ("auth.example.com", alias),
            ("mtls.auth.example.com:443", sni),
            ("evil.example", sni),
            ("auth.example.com.evil.example", sni),
            ("xauth.example.com", sni),
            ("example.com", sni),
            ("auth.example.co", sni),
            ("user@auth.example.com", sni),
            ("auth.example.com@mtls.auth.example.com", alias),
            ("auth.example.com:", sni),
            ("auth.example.com:99999", sni),
            ("auth.example.com..", sni),
            ("", sni),
            ("auth.example.com", ""),
            ("auth.example.com", "."),
            ("", ""),
            ("[::1]", "[::1]"),
            ("[::1]", "::1"),
            ("auth.example.com ", sni),
        ];
        for (authority, sni) in mismatches {
            assert!(
                !authority_matches_sni(authority, sni),
                "{authority:?} vs {sni:?}"
            );
        }
    }

    #[test]
    fn check_authority_table() {
        use http::HeaderValue;
        let sni = "mtls.auth.example.com";
        let with_host = |uri: &str, hosts: &[&str]| {
            let mut h = HeaderMap::new();
            for v in hosts {
                h.append(HOST, HeaderValue::from_str(v).unwrap());
            }
            check_authority(&uri.parse::<Uri>().unwrap(), &h, sni)
        };
        assert_eq!(
            with_host("/oauth/token", &["mtls.auth.example.com"]),
            Ok(())
        );
        assert_eq!(
            with_host("/oauth/token", &["MTLS.auth.example.com:443"]),
            Ok(())
        );
        assert_eq!(
            with_host("https://mtls.auth.example.com/oauth/token", &[]),
            Ok(())
        );
        assert_eq!(
            with_host("/oauth/token", &["auth.example.com"]),
            Err(Refusal::Misdirected)
        );
        // The target and the Host header must both match.
        assert_eq!(
            with_host(
                "https://mtls.auth.example.com/oauth/token",
                &["auth.example.com"]
            ),
            Err(Refusal::Misdirected)
        );
        assert_eq!(
            with_host("https://auth.example.com/x", &["mtls.auth.example.com"]),
            Err(Refusal::Misdirected)
        );
        assert_eq!(
            with_host("/oauth/token", &[]),
            Err(Refusal::BadRequest("The request names no host."))
        );
        assert_eq!(
            with_host("/x", &["mtls.auth.example.com", "mtls.auth.example.com"]),
            Err(Refusal::RepeatedHeader("Host"))
        );
    }
}
