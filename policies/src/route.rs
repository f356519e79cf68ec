//! Which request paths the mTLS alias forwards to the identity provider.
//!
//! The alias exists for a handful of token endpoints only, so the policy is an
//! allow-list matched on the *raw* path bytes. Nothing is decoded or normalised
//! before matching: proxies and origin servers disagree about `%2F`, `;params`,
//! dot segments, doubled slashes and trailing dots, and every one of those
//! disagreements has been used to smuggle a request past a path check. If the
//! string we compared is exactly the string we forward, the provider can never
//! see a path we did not check.

use thiserror::Error;

/// Routes the alias forwards when the configuration names none.
pub const DEFAULT_ALIAS_ROUTES: [&str; 3] = ["/oauth/token", "/oauth/par", "/userinfo"];

/// A configured route that cannot be matched safely.
///
/// Configured routes are held to a stricter grammar than request paths so that
/// a route can only ever equal a request path that needs no interpretation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RouteError {
    /// The route is the empty string.
    #[error("route is empty")]
    Empty,
    /// The route does not start with `/` (origin-form paths always do).
    #[error("route {route:?} must start with '/'")]
    NoLeadingSlash { route: String },
    /// The route contains `//`, an empty segment some servers collapse.
    #[error("route {route:?} contains an empty segment (\"//\")")]
    EmptySegment { route: String },
    /// The route contains a `.` or `..` segment, which servers resolve.
    #[error("route {route:?} contains a '.' or '..' segment")]
    DotSegment { route: String },
    /// The route contains a byte outside RFC 3986 unreserved characters and
    /// `/` — this covers `%`, `;`, `?`, `#`, spaces, controls and non-ASCII.
    #[error("route {route:?} contains forbidden character {found:?} at byte {index}")]
    ForbiddenCharacter {
        route: String,
        found: char,
        index: usize,
    },
}

/// The exact paths the mTLS alias forwards.
///
/// Lookups are a linear scan: the list holds a few entries, and a scan with a
/// length check first beats hashing the request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteList {
    routes: Vec<Box<str>>,
}

impl RouteList {
    /// Validates and stores the configured routes. Duplicates are kept once.
    ///
    /// An empty list is accepted and allows nothing: it fails closed, which is
    /// the safe reading of an operator switching every route off.
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(
        routes: I,
    ) -> Result<RouteList, RouteError> {
        let mut list: Vec<Box<str>> = Vec::new();
        for route in routes {
            let route = route.as_ref();
            validate_route(route)?;
            if !list.iter().any(|known| &**known == route) {
                list.push(route.into());
            }
        }
        Ok(RouteList { routes: list })
    }

    /// `path` is the raw request path as received (no query). Allowed only on
    /// exact, case-sensitive byte equality with a configured route. Everything
    /// else is refused: `//oauth/token`, `/oauth//token`, `/oauth%2Ftoken`,
    /// `/oauth/%74oken`, `/%2e/oauth/token`, `/oauth/./token`,
    /// `/oauth/x/../token`, `/oauth/token;a=b`, `/oauth/token.`,
    /// `/oauth/token/`, `/OAUTH/TOKEN`, `/oauth/token%00`, empty, `*`,
    /// absolute-form leftovers. We never decode or normalise and then forward
    /// something else: the path we matched is the path we forward, so the
    /// provider can never see a path we did not check.
    pub fn allows(&self, path: &str) -> bool {
        self.routes
            .iter()
            .any(|route| route.len() == path.len() && route.as_bytes() == path.as_bytes())
    }

    /// The configured routes, in configuration order, without duplicates.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.routes.iter().map(|route| &**route)
    }

    /// Number of distinct configured routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// True when no route is configured (every path is refused).
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

impl Default for RouteList {
    /// The [`DEFAULT_ALIAS_ROUTES`].
    fn default() -> Self {
        RouteList {
            routes: DEFAULT_ALIAS_ROUTES
                .iter()
                .map(|route| (*route).into())
                .collect(),
        }
    }
}

/// RFC 3986 `unreserved` plus the segment separator.
fn is_route_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/')
}

fn validate_route(route: &str) -> Result<(), RouteError> {
    if route.is_empty() {
        return Err(RouteError::Empty);
    }
    if !route.starts_with('/') {
        return Err(RouteError::NoLeadingSlash {
            route: route.to_owned(),
        });
    }
    if let Some((index, found)) = route
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii() && is_route_byte(c as u8)))
    {
        return Err(RouteError::ForbiddenCharacter {
            route: route.to_owned(),
            found,
            index,
        });
    }
    if route.contains("//") {
        return Err(RouteError::EmptySegment {
            route: route.to_owned(),
        });
    }
    // Skip the leading '/'. A trailing empty segment ("/" or "/dir/") is fine:
    // it is matched byte-for-byte like everything else.
    if route[1..]
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Err(RouteError::DotSegment {
            route: route.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type ErrorCheck = fn(&RouteError) -> bool;

    fn defaults() -> RouteList {
        RouteList::new(DEFAULT_ALIAS_ROUTES).unwrap()
    }

    #[test]
    fn defaults_are_allowed() {
        let list = defaults();
        for route in DEFAULT_ALIAS_ROUTES {
            assert!(list.allows(route), "{route} should be allowed");
        }
        assert_eq!(list.iter().collect::<Vec<_>>(), DEFAULT_ALIAS_ROUTES);
        assert_eq!(RouteList::default(), list);
    }

    #[test]
    fn every_trick_is_refused() {
        let list = defaults();
        let tricks = [
            "//oauth/token",
            "/oauth//token",
            "/oauth%2Ftoken",
            "/oauth%2ftoken",
            "/oauth/%74oken",
            "/%2e/oauth/token",
            "/%2E/oauth/token",
            "/./oauth/token",
            "/oauth/./token",
            "/oauth/x/../token",
            "/oauth/token/..",
            "/oauth/token;a=b",
            "/oauth;/token",
            "/oauth/token.",
            "/oauth/token/",
            "/oauth/token//",
            "/OAUTH/TOKEN",
            "/OAuth/token",
            "/oauth/Token",
            "/oauth/token%00",
            "/oauth/token\0",
            "/oauth/token?x=1",
            "/oauth/token#frag",
            "/oauth/token ",
            " /oauth/token",
            "/oauth/token\r\n",
            "/oauth\\token",
            "\\oauth\\token",
            "oauth/token",
            "",
            "/",
            "*",
            "https://auth.example.com/oauth/token",
            "http://mtls.auth.example.com/userinfo",
            "//mtls.auth.example.com/userinfo",
            "/userinfo/",
            "/userinfo%20",
            "/oauth/paR",
            "/oauth/par\u{200b}",
            "/оauth/token", // Cyrillic 'о'
        ];
        for trick in tricks {
            assert!(!list.allows(trick), "{trick:?} must be refused");
        }
    }

    #[test]
    fn empty_list_allows_nothing() {
        let list = RouteList::new(Vec::<String>::new()).unwrap();
        assert!(list.is_empty());
        assert!(!list.allows("/oauth/token"));
        assert!(!list.allows(""));
    }

    #[test]
    fn duplicates_collapse() {
        let list = RouteList::new(["/a", "/b", "/a"]).unwrap();
        assert_eq!(list.iter().collect::<Vec<_>>(), ["/a", "/b"]);
        assert_eq!(list.len(), 2);
    }

    #[test]
    fn acceptable_routes() {
        for route in [
            "/",
            "/a",
            "/oauth/token",
            "/dir/",
            "/a.b",
            "/.well-known/x",
            "/~user",
            "/x_y-z",
            "/..a",
            "/a..",
        ] {
            assert!(
                RouteList::new([route]).is_ok(),
                "{route:?} should be accepted"
            );
        }
    }

    #[test]
    fn bad_routes_are_rejected() {
        assert_eq!(RouteList::new([""]), Err(RouteError::Empty));
        let cases: [(&str, ErrorCheck); 22] = [
            ("oauth/token", |e| {
                matches!(e, RouteError::NoLeadingSlash { .. })
            }),
            ("*", |e| matches!(e, RouteError::NoLeadingSlash { .. })),
            ("https://x/oauth", |e| {
                matches!(e, RouteError::NoLeadingSlash { .. })
            }),
            ("//oauth/token", |e| {
                matches!(e, RouteError::EmptySegment { .. })
            }),
            ("/oauth//token", |e| {
                matches!(e, RouteError::EmptySegment { .. })
            }),
            ("/oauth/token//", |e| {
                matches!(e, RouteError::EmptySegment { .. })
            }),
            ("//", |e| matches!(e, RouteError::EmptySegment { .. })),
            ("/.", |e| matches!(e, RouteError::DotSegment { .. })),
            ("/..", |e| matches!(e, RouteError::DotSegment { .. })),
            ("/oauth/./token", |e| {
                matches!(e, RouteError::DotSegment { .. })
            }),
            ("/oauth/../token", |e| {
                matches!(e, RouteError::DotSegment { .. })
            }),
            ("/oauth/token/.", |e| {
                matches!(e, RouteError::DotSegment { .. })
            }),
            ("/oauth%2Ftoken", |e| {
                matches!(e, RouteError::ForbiddenCharacter { found: '%', .. })
            }),
            ("/oauth/token;a", |e| {
                matches!(e, RouteError::ForbiddenCharacter { found: ';', .. })
            }),
            ("/oauth/token?", |e| {
                matches!(e, RouteError::ForbiddenCharacter { found: '?', .. })
            }),
            ("/oauth/token#", |e| {
                matches!(e, RouteError::ForbiddenCharacter { found: '#', .. })
            }),
            ("/oauth token", |e| {
                matches!(e, RouteError::ForbiddenCharacter { found: ' ', .. })
            }),
            ("/oauth\\token", |e| {
                matches!(e, RouteError::ForbiddenCharacter { found: '\\', .. })
            }),
            ("/oauth/token\0", |e| {
                matches!(e, RouteError::ForbiddenCharacter { found: '\0', .. })
            }),
            ("/oauth/token\n", |e| {
                matches!(e, RouteError::ForbiddenCharacter { found: '\n', .. })
            }),
            ("/tökén", |e| {
                matches!(
                    e,
                    RouteError::ForbiddenCharacter {
                        found: 'ö',
                        index: 2,
                        ..
                    }
                )
            }),
            ("/a:b", |e| {
                matches!(e, RouteError::ForbiddenCharacter { found: ':', .. })
            }),
        ];
        for (route, expected) in cases {
            let err = RouteList::new(["/ok", route]).unwrap_err();
            assert!(expected(&err), "{route:?} gave {err:?}");
            assert!(!err.to_string().is_empty());
        }
    }

    /// Strings that are close to a configured route: the cases most likely to
    /// slip through a sloppy matcher.
    fn near_miss() -> impl Strategy<Value = String> {
        let route = prop::sample::select(DEFAULT_ALIAS_ROUTES.to_vec());
        (
            route,
            any::<String>(),
            any::<String>(),
            0usize..32,
            any::<bool>(),
        )
            .prop_map(|(route, prefix, suffix, flip, keep)| {
                if keep {
                    return route.to_owned();
                }
                let mut s = route.to_owned();
                match flip % 4 {
                    0 => s.insert_str(0, &prefix),
                    1 => s.push_str(&suffix),
                    2 => s = s.to_ascii_uppercase(),
                    _ => {
                        let at = flip.min(s.len());
                        s.insert_str(at, &suffix);
                    }
                }
                s
            })
    }

    proptest! {
        #[test]
        fn allows_iff_exactly_configured(s in prop_oneof![any::<String>(), "[/a-zA-Z%.;]{0,16}", near_miss()]) {
            let list = defaults();
            let expected = DEFAULT_ALIAS_ROUTES.contains(&s.as_str());
            prop_assert_eq!(list.allows(&s), expected);
        }

        #[test]
        fn valid_generated_routes_match_only_themselves(
            segments in prop::collection::vec("[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,8}", 1..5),
            probe in any::<String>(),
        ) {
            let route = format!("/{}", segments.join("/"));
            let list = RouteList::new([route.as_str()]).unwrap();
            prop_assert!(list.allows(&route));
            prop_assert_eq!(list.allows(&probe), probe == route);
        }
    }
}
