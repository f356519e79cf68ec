//! The origin matcher against every rule of the provider's "Subdomain URL
//! Placeholders" page, its own examples, and the ways an `Origin` header can
//! be malformed.

use mtls_policies::OriginPatternError as E;
use mtls_policies::{Origin, OriginPattern, OriginSet};

/// (configured entry, normalised form or the rule it breaks)
const PATTERNS: &[(&str, Result<&str, E>)] = &[
    // The provider's examples.
    ("https://*.exampleco.com", Ok("https://*.exampleco.com")),
    ("https://app.exampleco.com", Ok("https://app.exampleco.com")),
    (
        "https://prefix-*-suffix.example.com",
        Ok("https://prefix-*-suffix.example.com"),
    ),
    ("https://*.com", Err(E::WildcardInRegistrableDomain)),
    (
        "https://sub.*.example.com",
        Err(E::WildcardNotInLeftmostLabel),
    ),
    ("https://*.*.example.com", Err(E::MultipleWildcards)),
    (
        "https://your-tenant.us.auth0.com",
        Ok("https://your-tenant.us.auth0.com"),
    ),
    ("https://test.app", Ok("https://test.app")),
    ("https://myapp.org/login", Err(E::PathNotAllowed)),
    (
        "https://exampleco.com/{organization_name}",
        Err(E::PathNotAllowed),
    ),
    (
        "https://{organization_name}.exampleco.com",
        Err(E::PlaceholderNotSupported),
    ),
    (
        "https://{custom_domain.metadata.public_app_url}.example.com",
        Err(E::PlaceholderNotSupported),
    ),
    // Protocols: "must be http or https".
    ("http://*.example.com", Ok("http://*.example.com")),
    ("HTTPS://*.Example.COM", Ok("https://*.example.com")),
    (
        "com.example.app://callback",
        Err(E::UnsupportedScheme {
            scheme: String::new(),
        }),
    ),
    (
        "service:jmx:rmi://localhost/jndi",
        Err(E::UnsupportedScheme {
            scheme: String::new(),
        }),
    ),
    (
        "ftp://example.com",
        Err(E::UnsupportedScheme {
            scheme: String::new(),
        }),
    ),
    ("*.google.com", Err(E::MissingScheme)),
    ("example.com", Err(E::MissingScheme)),
    ("example.com:8080", Err(E::MissingScheme)),
    ("https:example.com", Err(E::MissingScheme)),
    ("https:/example.com", Err(E::MissingScheme)),
    ("://example.com", Err(E::MissingScheme)),
    ("", Err(E::Empty)),
    ("   ", Err(E::Empty)),
    // Wildcard placement.
    ("https://*", Err(E::WildcardInRegistrableDomain)),
    ("https://*.localhost", Err(E::WildcardInRegistrableDomain)),
    ("https://app-*.com", Err(E::WildcardInRegistrableDomain)),
    ("https://example.*", Err(E::WildcardInRegistrableDomain)),
    ("https://a.example.*", Err(E::WildcardInRegistrableDomain)),
    ("https://a.*.com", Err(E::WildcardInRegistrableDomain)),
    (
        "https://a.b.*.example.com",
        Err(E::WildcardNotInLeftmostLabel),
    ),
    ("https://*-*.example.com", Err(E::MultipleWildcards)),
    ("https://**.example.com", Err(E::MultipleWildcards)),
    ("https://*.a.b.example.com", Ok("https://*.a.b.example.com")),
    ("https://a*.example.com", Ok("https://a*.example.com")),
    ("https://*z.example.com", Ok("https://*z.example.com")),
    (
        "https://*.example.com:8443",
        Ok("https://*.example.com:8443"),
    ),
    ("https://*.example.com:443", Ok("https://*.example.com")),
    ("https://*.example.com/", Ok("https://*.example.com")),
    ("https://*.0.0.1", Err(E::WildcardInIpAddress)),
    ("https://[*::1]", Err(E::WildcardInIpAddress)),
    (
        "https://example.com:*",
        Err(E::InvalidPort {
            port: String::new(),
        }),
    ),
    ("https://*_x.example.com", Ok("https://*_x.example.com")),
    (
        "https://*!.example.com",
        Err(E::InvalidHostCharacter { ch: '!' }),
    ),
    // Nothing after the host but one slash.
    ("https://example.com/", Ok("https://example.com")),
    ("https://example.com//", Err(E::PathNotAllowed)),
    ("https://example.com/a", Err(E::PathNotAllowed)),
    ("https://example.com?x=1", Err(E::QueryNotAllowed)),
    ("https://example.com/?x=1", Err(E::QueryNotAllowed)),
    ("https://example.com#top", Err(E::FragmentNotAllowed)),
    ("https://user@example.com", Err(E::UserinfoNotAllowed)),
    ("https://user:pw@example.com", Err(E::UserinfoNotAllowed)),
    ("https://a@b.com", Err(E::UserinfoNotAllowed)),
    // Hosts.
    ("https://", Err(E::EmptyHost)),
    ("https://:443", Err(E::EmptyHost)),
    ("https://a..example.com", Err(E::EmptyLabel)),
    ("https://.example.com", Err(E::EmptyLabel)),
    ("https://example.com.", Err(E::EmptyLabel)),
    ("https://bücher.example", Err(E::NonAsciiHost)),
    (
        "https://xn--bcher-kva.example",
        Ok("https://xn--bcher-kva.example"),
    ),
    (
        "https://exa mple.com",
        Err(E::InvalidHostCharacter { ch: ' ' }),
    ),
    (
        "https://ex%61mple.com",
        Err(E::InvalidHostCharacter { ch: '%' }),
    ),
    ("https:\\\\example.com", Err(E::MissingScheme)),
    ("https://localhost:3000", Ok("https://localhost:3000")),
    ("https://127.0.0.1:8443", Ok("https://127.0.0.1:8443")),
    ("https://127.1", Err(E::InvalidIpAddress)),
    ("https://0x7f.0.0.1", Err(E::InvalidIpAddress)),
    ("https://256.0.0.1", Err(E::InvalidIpAddress)),
    ("https://[::1]:8443", Ok("https://[::1]:8443")),
    ("https://[0:0:0:0:0:0:0:1]", Ok("https://[::1]")),
    ("https://[::1", Err(E::InvalidIpAddress)),
    ("https://[::1]x", Err(E::InvalidIpAddress)),
    ("https://[fe80::1%25eth0]", Err(E::InvalidIpAddress)),
    // Ports.
    ("http://example.com:80", Ok("http://example.com")),
    ("http://example.com:443", Ok("http://example.com:443")),
    ("https://example.com:80", Ok("https://example.com:80")),
    ("https://example.com:00443", Ok("https://example.com")),
    (
        "https://example.com:000443",
        Err(E::InvalidPort {
            port: String::new(),
        }),
    ),
    ("https://example.com:0443", Ok("https://example.com")),
    (
        "https://example.com:",
        Err(E::InvalidPort {
            port: String::new(),
        }),
    ),
    (
        "https://example.com:0",
        Err(E::InvalidPort {
            port: String::new(),
        }),
    ),
    (
        "https://example.com:65536",
        Err(E::InvalidPort {
            port: String::new(),
        }),
    ),
    ("https://example.com:65535", Ok("https://example.com:65535")),
    (
        "https://example.com:-1",
        Err(E::InvalidPort {
            port: String::new(),
        }),
    ),
    (
        "https://example.com:1:2",
        Err(E::InvalidPort {
            port: String::new(),
        }),
    ),
];

/// Compares errors by variant only for the ones that carry text.
fn same_error(actual: &E, expected: &E) -> bool {
    match (actual, expected) {
        (E::UnsupportedScheme { .. }, E::UnsupportedScheme { .. })
        | (E::InvalidPort { .. }, E::InvalidPort { .. }) => true,
        _ => actual == expected,
    }
}

#[test]
fn pattern_table() {
    for (input, expected) in PATTERNS {
        let actual = OriginPattern::parse(input);
        match (&actual, expected) {
            (Ok(pattern), Ok(shown)) => assert_eq!(pattern.to_string(), *shown, "{input:?}"),
            (Err(err), Err(want)) => {
                assert!(
                    same_error(err, want),
                    "{input:?}: got {err:?}, want {want:?}"
                );
                assert!(!err.to_string().is_empty());
            }
            _ => panic!("{input:?}: got {actual:?}, want {expected:?}"),
        }
    }
}

#[test]
fn unsupported_scheme_names_the_scheme() {
    assert_eq!(
        OriginPattern::parse("com.example.app://callback"),
        Err(E::UnsupportedScheme {
            scheme: "com.example.app".into()
        })
    );
    assert_eq!(
        OriginPattern::parse("service:jmx:rmi://localhost/jndi"),
        Err(E::UnsupportedScheme {
            scheme: "service".into()
        })
    );
}

/// (pattern, request origin, allowed)
const MATCHES: &[(&str, &str, bool)] = &[
    // The provider's examples.
    (
        "https://*.exampleco.com",
        "https://company-a.exampleco.com",
        true,
    ),
    (
        "https://*.example.com",
        "https://sub1.sub2.example.com",
        false,
    ),
    (
        "https://prefix-*-suffix.example.com",
        "https://prefix-abc-suffix.example.com",
        true,
    ),
    (
        "https://prefix-*-suffix.example.com",
        "https://prefix-abc.example.com",
        false,
    ),
    (
        "https://prefix-*-suffix.example.com",
        "https://abc-suffix.example.com",
        false,
    ),
    (
        "https://prefix-*-suffix.example.com",
        "https://prefix--suffix.example.com",
        false,
    ),
    (
        "https://prefix-*-suffix.example.com",
        "https://prefix-a.b-suffix.example.com",
        false,
    ),
    ("https://test.app", "https://test.app", true),
    // One label, at least one character, never the parent itself.
    ("https://*.example.com", "https://a.example.com", true),
    ("https://*.example.com", "https://example.com", false),
    (
        "https://*.example.com",
        "https://a.example.com.evil.com",
        false,
    ),
    ("https://*.example.com", "https://a.evil-example.com", false),
    ("https://*.example.com", "https://a.example.co", false),
    ("https://*.a.example.com", "https://x.a.example.com", true),
    ("https://*.a.example.com", "https://x.b.example.com", false),
    ("https://a*.example.com", "https://abc.example.com", true),
    ("https://a*.example.com", "https://a.example.com", false),
    ("https://a*.example.com", "https://ba.example.com", false),
    ("https://*z.example.com", "https://yz.example.com", true),
    ("https://*z.example.com", "https://zy.example.com", false),
    // Scheme is exact.
    ("https://*.example.com", "http://a.example.com", false),
    ("http://*.example.com", "https://a.example.com", false),
    ("https://example.com", "http://example.com", false),
    // Ports: exact after default-port removal.
    ("https://example.com", "https://example.com:443", true),
    ("https://example.com:443", "https://example.com", true),
    ("https://example.com", "https://example.com:8443", false),
    ("https://example.com:8443", "https://example.com:8443", true),
    ("https://example.com:8443", "https://example.com", false),
    ("http://example.com", "http://example.com:80", true),
    ("http://example.com:443", "http://example.com", false),
    ("https://*.example.com", "https://a.example.com:8443", false),
    (
        "https://*.example.com:8443",
        "https://a.example.com:8443",
        true,
    ),
    ("https://*.example.com:8443", "https://a.example.com", false),
    ("http://localhost:3000", "http://localhost:3000", true),
    ("http://localhost:3000", "http://localhost:3001", false),
    // Case and trailing slash.
    ("https://App.Example.com", "https://app.example.com", true),
    ("https://app.example.com", "HTTPS://APP.EXAMPLE.COM", true),
    ("https://*.Example.com", "https://A.EXAMPLE.COM", true),
    ("https://app.example.com/", "https://app.example.com", true),
    ("https://app.example.com", "https://app.example.com/", true),
    // Exact entries are exact.
    ("https://example.com", "https://www.example.com", false),
    ("https://example.com", "https://example.com.evil.com", false),
    ("https://example.com", "https://evilexample.com", false),
    // IP literals.
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080", true),
    ("http://[::1]:8080", "http://[0::1]:8080", true),
    ("http://[::1]", "http://127.0.0.1", false),
];

#[test]
fn match_table() {
    for (pattern, origin, expected) in MATCHES {
        let parsed = OriginPattern::parse(pattern).unwrap();
        let origin_parsed =
            Origin::parse(origin).unwrap_or_else(|| panic!("{origin:?} should parse"));
        assert_eq!(
            parsed.matches(&origin_parsed),
            *expected,
            "{pattern} vs {origin}"
        );
        let set = OriginSet::parse([pattern]).unwrap();
        assert_eq!(
            set.allows(&origin_parsed),
            *expected,
            "set {pattern} vs {origin}"
        );
    }
}

/// `Origin` header values that are not origins: they match nothing, even a
/// set that allows everything it can express.
const NOT_ORIGINS: &[&str] = &[
    "null",
    "NULL",
    "",
    " ",
    "*",
    "https://*.example.com",
    "https://a@b.com",
    "https://user:pass@example.com",
    "https://example.com/path",
    "https://example.com/?q=1",
    "https://example.com?q=1",
    "https://example.com#frag",
    "https://example.com//",
    "https://bücher.example",
    "https://exa\u{0}mple.com",
    "https://example.com\r\nx: y",
    "https://example.com:",
    "https://example.com:99999",
    "https://example.com.",
    "file://",
    "file:///etc/passwd",
    "data:text/html,hi",
    "chrome-extension://abcdef",
    "example.com",
    "//example.com",
    "https//example.com",
    "https://",
    "https://[::1",
    "https://0177.0.0.1",
    "\u{feff}https://example.com",
];

#[test]
fn non_origins_parse_to_none_and_match_nothing() {
    for value in NOT_ORIGINS {
        assert_eq!(Origin::parse(value), None, "{value:?}");
    }
}

/// (header, normalised)
const ORIGINS: &[(&str, &str)] = &[
    ("https://example.com", "https://example.com"),
    ("https://example.com/", "https://example.com"),
    ("HTTPS://EXAMPLE.COM", "https://example.com"),
    ("https://example.com:443", "https://example.com"),
    ("http://example.com:80", "http://example.com"),
    ("http://example.com:8080", "http://example.com:8080"),
    (" https://example.com ", "https://example.com"),
    (
        "https://xn--bcher-kva.example",
        "https://xn--bcher-kva.example",
    ),
    ("https://[::FFFF:1.2.3.4]", "https://[::ffff:1.2.3.4]"),
    ("http://localhost", "http://localhost"),
];

#[test]
fn origins_are_normalised() {
    for (value, shown) in ORIGINS {
        let origin = Origin::parse(value).unwrap_or_else(|| panic!("{value:?}"));
        assert_eq!(origin.to_string(), *shown, "{value:?}");
        assert_eq!(Origin::parse(shown), Some(origin));
    }
}

#[test]
fn a_set_mixing_exact_and_wildcards() {
    let set = OriginSet::parse([
        "https://app.example.com",
        "https://*.preview.example.com",
        "http://localhost:3000",
    ])
    .unwrap();
    let allowed = |o: &str| Origin::parse(o).is_some_and(|o| set.allows(&o));
    assert!(allowed("https://app.example.com"));
    assert!(allowed("https://pr-12.preview.example.com"));
    assert!(allowed("http://localhost:3000"));
    assert!(!allowed("https://preview.example.com"));
    assert!(!allowed("https://a.b.preview.example.com"));
    assert!(!allowed("https://localhost:3000"));
    assert!(!allowed("null"));
    assert!(OriginSet::new().is_empty());
}
