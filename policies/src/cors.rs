//! CORS decisions: answer a preflight, or decorate (or refuse) a request.
//!
//! The edge enforces the provider's "Allowed Origins (CORS)" before anything
//! reaches the provider, so a page that is not allowed never gets its request
//! processed, not merely its answer hidden by the browser. An allowed origin
//! is always echoed, never answered with `*`: the provider's endpoints are
//! called with credentials (cookies for `/co/authenticate`, silent
//! authentication), and browsers reject `*` together with
//! `Access-Control-Allow-Credentials: true`.
//!
//! Refusals use the provider's own answer, a 403 whose body is only the text
//! `Origin <origin> is not allowed.` (no `error` / `error_description`; see
//! "Configure Cross-Origin Resource Sharing", error codes), so browser SDKs
//! see what they would see from the provider.
//!
//! Every decision that depends on the `Origin` header says so with
//! `Vary: Origin`, so no shared cache hands one origin's answer to another.
//! The gateway should *append* the `Vary` entries to any the provider sent
//! and *replace* any `Access-Control-*` headers the provider sent, since the
//! edge's decision is the one that must hold.

use http::header::{
    HeaderName, HeaderValue, ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS,
    ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE, VARY,
};
use http::StatusCode;

use crate::browser_policy::BrowserPolicy;
use crate::origin::Origin;
use crate::refusal::Refusal;

/// Status of an allowed preflight answer (no body).
pub const PREFLIGHT_STATUS: StatusCode = StatusCode::NO_CONTENT;

/// Longest request text echoed in a refusal (only for values that are not
/// origins at all; a parsed origin is echoed in its normalised form).
const MAX_ECHOED_ORIGIN: usize = 256;

/// `Vary` for answers that depend on the `Origin` header.
static VARY_ORIGIN: [(HeaderName, HeaderValue); 1] = [(VARY, HeaderValue::from_static("Origin"))];

/// `Vary` for preflight answers, which also depend on what was requested.
static VARY_PREFLIGHT: [(HeaderName, HeaderValue); 1] = [(
    VARY,
    HeaderValue::from_static(
        "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
    ),
)];

/// What to do with an `OPTIONS` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreflightDecision {
    /// Not a CORS preflight (no `Origin` or no
    /// `Access-Control-Request-Method`): handle it like any other request,
    /// including [`actual_request`].
    NotPreflight,
    /// Answer [`PREFLIGHT_STATUS`] with exactly these headers; do not forward.
    Allowed {
        /// ACAO (echoed origin), ACAC, ACAM, ACAH (if any requested header
        /// is allowed), Max-Age, Vary.
        headers: Vec<(HeaderName, HeaderValue)>,
    },
    /// Answer with this refusal (403) and [`PreflightDecision::headers`].
    Refused(Refusal),
}

impl PreflightDecision {
    /// The headers to put on the answer: `Vary` on every decision about a
    /// preflight, nothing for [`PreflightDecision::NotPreflight`].
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        match self {
            PreflightDecision::NotPreflight => &[],
            PreflightDecision::Allowed { headers } => headers,
            PreflightDecision::Refused(_) => &VARY_PREFLIGHT,
        }
    }
}

/// What to do with a non-preflight request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsDecision {
    /// No `Origin` (or the domain's own): not a cross-origin request.
    /// Forward; add [`CorsDecision::headers`] (`Vary: Origin`) to the answer.
    NotCors,
    /// Forward, and add exactly these headers to the provider's answer.
    Allowed {
        /// ACAO (echoed origin), ACAC `true`, `Vary: Origin`.
        headers: Vec<(HeaderName, HeaderValue)>,
    },
    /// Do not forward; answer with this refusal (403) and
    /// [`CorsDecision::headers`].
    Refused(Refusal),
}

impl CorsDecision {
    /// The headers to add to the answer; `Vary: Origin` in every case.
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        match self {
            CorsDecision::Allowed { headers } => headers,
            CorsDecision::NotCors | CorsDecision::Refused(_) => &VARY_ORIGIN,
        }
    }
}

/// Decides a CORS preflight (`OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`).
///
/// A preflight carries no client id, so it is checked against every
/// application's allowed origins ([`BrowserPolicy::union_cors_origins`]);
/// the actual request that follows is checked against its own application's
/// list by [`actual_request`]. The method and headers announced are the
/// configured ones; a method or header that is not on the list is simply not
/// announced, and the browser then does not send the request.
pub fn preflight(
    policy: &BrowserPolicy,
    origin: Option<&str>,
    request_method: Option<&str>,
    request_headers: Option<&str>,
) -> PreflightDecision {
    let Some(raw_origin) = origin else {
        return PreflightDecision::NotPreflight;
    };
    if request_method.is_none_or(|method| method.trim().is_empty()) {
        return PreflightDecision::NotPreflight;
    }
    let allowed = Origin::parse(raw_origin).is_some_and(|o| policy.union_cors_origins().allows(&o));
    let acao = match echo_value(raw_origin) {
        Some(value) if allowed => value,
        _ => return PreflightDecision::Refused(origin_not_allowed(Some(raw_origin))),
    };
    let config = policy.cors_config();
    let mut headers = Vec::with_capacity(6);
    headers.push((ACCESS_CONTROL_ALLOW_ORIGIN, acao));
    headers.push((
        ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    ));
    headers.push((ACCESS_CONTROL_ALLOW_METHODS, config.allow_methods().clone()));
    if let Some(allowed) = request_headers.and_then(|h| config.allowed_request_headers(h)) {
        headers.push((ACCESS_CONTROL_ALLOW_HEADERS, allowed));
    }
    headers.push((ACCESS_CONTROL_MAX_AGE, config.max_age().clone()));
    headers.extend(VARY_PREFLIGHT.iter().cloned());
    PreflightDecision::Allowed { headers }
}

/// Decides a request that is not a preflight.
///
/// With a client id (from the body, the query or Basic authentication, see
/// [`crate::client_id`]) the origin must be in that application's
/// "Allowed Origins (CORS)" (or the unknown-client default's); without one,
/// in the union of all of them. An `Origin` equal to one of the domain's own
/// origins ([`BrowserPolicy::with_own_origins`]) is a same-origin request,
/// for instance the provider's hosted login page posting to itself.
///
/// Apply it only where a browser makes CORS requests (XHR/fetch endpoints
/// such as `/oauth/token`, `/co/authenticate`, `/userinfo`): browsers also
/// send `Origin` on cross-site form navigations (a SAML or `form_post`
/// response posted to `/login/callback` from another identity provider),
/// and those are not governed by CORS.
pub fn actual_request(
    policy: &BrowserPolicy,
    origin: Option<&str>,
    client_id: Option<&str>,
) -> CorsDecision {
    let Some(raw_origin) = origin else {
        return CorsDecision::NotCors;
    };
    let Some(parsed) = Origin::parse(raw_origin) else {
        return CorsDecision::Refused(origin_not_allowed(Some(raw_origin)));
    };
    if policy.own_origins().allows(&parsed) {
        return CorsDecision::NotCors;
    }
    let allowed_origins = match client_id {
        Some(id) => policy.settings_for(id).map(|s| &s.allowed_origins),
        None => Some(policy.union_cors_origins()),
    };
    let allowed = allowed_origins.is_some_and(|set| set.allows(&parsed));
    match echo_value(raw_origin) {
        Some(acao) if allowed => CorsDecision::Allowed {
            headers: vec![
                (ACCESS_CONTROL_ALLOW_ORIGIN, acao),
                (
                    ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                ),
                (VARY, HeaderValue::from_static("Origin")),
            ],
        },
        _ => CorsDecision::Refused(origin_not_allowed(Some(raw_origin))),
    }
}

/// The provider's 403 for an origin it does not allow.
///
/// The text is `Origin <origin> is not allowed.`; a value that parses as an
/// origin is shown normalised, anything else (including `null`) with only
/// its visible ASCII characters and at most 256 of them, so the answer never
/// carries control characters or an unbounded echo. No `Origin` at all gives
/// `Origin is not allowed.`, the provider's text with nothing to name.
pub fn origin_not_allowed(origin: Option<&str>) -> Refusal {
    let shown = match origin {
        None => String::new(),
        Some(raw) => match Origin::parse(raw) {
            Some(parsed) => parsed.to_string(),
            None => raw
                .chars()
                .filter(|c| c.is_ascii_graphic())
                .take(MAX_ECHOED_ORIGIN)
                .collect(),
        },
    };
    Refusal::OriginNotAllowed { origin: shown }
}

/// `Access-Control-Allow-Origin` must repeat the request's `Origin` byte for
/// byte (Fetch, "CORS check"), so the value as received is echoed, not the
/// normalised form. Only called for values that parsed as an origin, which
/// are visible ASCII, so this does not fail in practice; if it did, the
/// request is refused rather than answered without the header.
fn echo_value(raw_origin: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(raw_origin.trim_matches(|c: char| c == ' ' || c == '\t')).ok()
}
