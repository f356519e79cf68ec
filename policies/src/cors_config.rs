//! What a successful CORS preflight announces: methods, headers, cache time.
//!
//! The edge answers preflights itself (they carry no client id and no body,
//! so there is nothing the provider would add). The allow-lists are fixed by
//! configuration and checked once at load; the header values are built then
//! too, so a preflight only copies them.

use std::collections::HashSet;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use http::Method;
use thiserror::Error;

/// Methods announced by default: the provider's browser endpoints
/// (`/oauth/token`, `/co/authenticate`, `/userinfo`, `/dbconnections/*`,
/// `/passwordless/start`, discovery) only take `GET` and `POST`.
pub const DEFAULT_ALLOW_METHODS: [&str; 2] = ["GET", "POST"];

/// Request headers allowed by default: what the provider's browser SDKs
/// send (`Auth0-Client` is their telemetry header).
pub const DEFAULT_ALLOW_HEADERS: [&str; 4] = [
    "authorization",
    "content-type",
    "auth0-client",
    "x-requested-with",
];

/// Default preflight cache time. Short, so that removing an origin from the
/// configuration takes effect in browsers within minutes.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);

/// A CORS allow-list entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CorsConfigError {
    /// Not an HTTP method token.
    #[error("{method:?} is not a valid HTTP method")]
    InvalidMethod { method: String },
    /// Not an HTTP header name.
    #[error("{name:?} is not a valid HTTP header name")]
    InvalidHeader { name: String },
    /// `*` means "anything" only for requests without credentials; the edge
    /// always answers with credentials allowed, where browsers read `*` as a
    /// literal name. Refused so that nobody believes it works.
    #[error("'*' cannot be used in CORS allow-lists when credentials are allowed; list the names")]
    Wildcard,
    /// A preflight answer with no method allows nothing.
    #[error("at least one method must be allowed")]
    NoMethods,
}

/// The configured preflight answer.
#[derive(Debug, Clone)]
pub struct CorsConfig {
    allow_methods: HeaderValue,
    allow_headers: HashSet<HeaderName>,
    max_age: HeaderValue,
}

impl CorsConfig {
    /// Validates the lists. Methods are kept as written (they are
    /// case-sensitive); header names are compared case-insensitively.
    pub fn new<M, H>(
        methods: M,
        headers: H,
        max_age: Duration,
    ) -> Result<CorsConfig, CorsConfigError>
    where
        M: IntoIterator,
        M::Item: AsRef<str>,
        H: IntoIterator,
        H::Item: AsRef<str>,
    {
        let mut method_names: Vec<String> = Vec::new();
        for method in methods {
            let method = method.as_ref().trim();
            if method == "*" {
                return Err(CorsConfigError::Wildcard);
            }
            let parsed = Method::from_bytes(method.as_bytes()).map_err(|_| {
                CorsConfigError::InvalidMethod {
                    method: method.chars().take(64).collect(),
                }
            })?;
            if !method_names.iter().any(|m| m == parsed.as_str()) {
                method_names.push(parsed.as_str().to_owned());
            }
        }
        if method_names.is_empty() {
            return Err(CorsConfigError::NoMethods);
        }
        let allow_methods = HeaderValue::from_str(&method_names.join(", ")).map_err(|_| {
            CorsConfigError::InvalidMethod {
                method: method_names.join(", ").chars().take(64).collect(),
            }
        })?;

        let mut allow_headers = HashSet::new();
        for name in headers {
            let name = name.as_ref().trim();
            if name == "*" {
                return Err(CorsConfigError::Wildcard);
            }
            let parsed = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                CorsConfigError::InvalidHeader {
                    name: name.chars().take(64).collect(),
                }
            })?;
            allow_headers.insert(parsed);
        }

        Ok(CorsConfig {
            allow_methods,
            allow_headers,
            max_age: HeaderValue::from(max_age.as_secs()),
        })
    }

    /// The `Access-Control-Allow-Methods` value.
    pub fn allow_methods(&self) -> &HeaderValue {
        &self.allow_methods
    }

    /// The `Access-Control-Max-Age` value (seconds).
    pub fn max_age(&self) -> &HeaderValue {
        &self.max_age
    }

    /// True when request header `name` is on the list (any case).
    pub fn allows_header(&self, name: &str) -> bool {
        HeaderName::from_bytes(name.as_bytes())
            .map(|name| self.allow_headers.contains(&name))
            .unwrap_or(false)
    }

    /// The allowed subset of an `Access-Control-Request-Headers` value, in
    /// request order, lower-case, without duplicates, joined with `", "`;
    /// `None` when nothing requested is allowed.
    pub(crate) fn allowed_request_headers(&self, requested: &str) -> Option<HeaderValue> {
        let mut allowed: Vec<HeaderName> = Vec::new();
        for name in requested.split(',') {
            let Ok(name) = HeaderName::from_bytes(name.trim().as_bytes()) else {
                continue;
            };
            if self.allow_headers.contains(&name) && !allowed.contains(&name) {
                allowed.push(name);
            }
        }
        if allowed.is_empty() {
            return None;
        }
        let joined = allowed
            .iter()
            .map(HeaderName::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        HeaderValue::from_str(&joined).ok()
    }
}

impl Default for CorsConfig {
    /// [`DEFAULT_ALLOW_METHODS`], [`DEFAULT_ALLOW_HEADERS`], [`DEFAULT_MAX_AGE`].
    fn default() -> Self {
        let allow_headers = DEFAULT_ALLOW_HEADERS
            .iter()
            .map(|name| HeaderName::from_static(name))
            .collect();
        CorsConfig {
            allow_methods: HeaderValue::from_static("GET, POST"),
            allow_headers,
            max_age: HeaderValue::from(DEFAULT_MAX_AGE.as_secs()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_entries() {
        let none: [&str; 0] = [];
        assert_eq!(
            CorsConfig::new(["GET", "*"], none, DEFAULT_MAX_AGE).unwrap_err(),
            CorsConfigError::Wildcard
        );
        assert_eq!(
            CorsConfig::new(["GET"], ["*"], DEFAULT_MAX_AGE).unwrap_err(),
            CorsConfigError::Wildcard
        );
        assert!(matches!(
            CorsConfig::new(["GE T"], none, DEFAULT_MAX_AGE),
            Err(CorsConfigError::InvalidMethod { .. })
        ));
        assert!(matches!(
            CorsConfig::new(["GET"], ["bad header"], DEFAULT_MAX_AGE),
            Err(CorsConfigError::InvalidHeader { .. })
        ));
        assert_eq!(
            CorsConfig::new(none, none, DEFAULT_MAX_AGE).unwrap_err(),
            CorsConfigError::NoMethods
        );
    }

    #[test]
    fn default_matches_the_constants() {
        let config = CorsConfig::default();
        let built = CorsConfig::new(
            DEFAULT_ALLOW_METHODS,
            DEFAULT_ALLOW_HEADERS,
            DEFAULT_MAX_AGE,
        )
        .unwrap();
        assert_eq!(config.allow_methods(), built.allow_methods());
        assert_eq!(config.max_age(), built.max_age());
        assert_eq!(config.allow_headers, built.allow_headers);
    }

    #[test]
    fn echoes_only_allowed_headers_in_request_order() {
        let config = CorsConfig::default();
        assert_eq!(
            config
                .allowed_request_headers("X-Evil, Content-Type ,AUTHORIZATION,content-type,,")
                .unwrap(),
            "content-type, authorization"
        );
        assert_eq!(config.allowed_request_headers("x-evil"), None);
        assert!(config.allows_header("Auth0-Client"));
        assert!(!config.allows_header("cookie"));
    }
}
