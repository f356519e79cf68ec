//! Browser-facing policy in the request path: CORS preflights answered at the edge, `Origin`
//! checked on CORS routes for the client the request names, and `/co/authenticate` checked
//! against the client's cross-origin settings. The decisions are `mtls-policies` functions; this
//! file only feeds them and applies their headers.

use http::header::{ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN, ORIGIN, VARY};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use mtls_policies::{
    actual_request, check_co_authenticate, preflight as decide_preflight, CorsDecision,
    PreflightDecision, Refusal, CO_AUTHENTICATE_PATH,
};

use crate::metrics::HostKind;
use crate::proxy::ConnContext;
use crate::upstream::ProxyBody;

/// What the browser policy adds to the response.
#[derive(Default)]
pub struct CorsOutcome {
    /// The request was CORS-relevant: the response varies by `Origin`.
    vary: bool,
    /// Headers that allow the calling origin to read the response; they replace any the provider sent.
    allow: Vec<(HeaderName, HeaderValue)>,
}

impl CorsOutcome {
    /// The response depends on the request's `Origin` (preflights, refusals).
    pub fn varies(&mut self) {
        self.vary = true;
    }

    pub fn apply(&self, headers: &mut HeaderMap) {
        if !self.allow.is_empty() {
            let upstream: Vec<HeaderName> = headers
                .keys()
                .filter(|k| k.as_str().starts_with("access-control-"))
                .cloned()
                .collect();
            for k in upstream {
                headers.remove(k);
            }
            for (k, v) in &self.allow {
                headers.insert(k.clone(), v.clone());
            }
        }
        if self.vary && !vary_has_origin(headers) {
            headers.append(VARY, HeaderValue::from_static("Origin"));
        }
    }
}

fn vary_has_origin(headers: &HeaderMap) -> bool {
    headers
        .get_all(VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("origin") || t.trim() == "*")
}

fn origin_of(parts: &http::request::Parts) -> Result<Option<&str>, Refusal> {
    let mut all = parts.headers.get_all(ORIGIN).iter();
    match (all.next(), all.next()) {
        (_, Some(_)) => Err(Refusal::BadRequest("More than one Origin header.")),
        (None, None) => Ok(None),
        (Some(v), None) => v
            .to_str()
            .map(Some)
            .map_err(|_| Refusal::BadRequest("The Origin header is not valid.")),
    }
}

fn is_co_authenticate(cx: &ConnContext, parts: &http::request::Parts) -> bool {
    cx.host.kind == HostKind::domain
        && parts.method == Method::POST
        && parts.uri.path() == CO_AUTHENTICATE_PATH
}

/// Whether the body must be read: `/co/authenticate` always, a CORS route when the request
/// carries an `Origin` and may name its client in the body.
pub fn needs_body(cx: &ConnContext, parts: &http::request::Parts) -> bool {
    let Some(b) = &cx.host.domain.config.browser else {
        return false;
    };
    is_co_authenticate(cx, parts)
        || (parts.headers.contains_key(ORIGIN)
            && b.cors_routes.allows(parts.uri.path())
            && !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS))
}

/// A CORS preflight is answered here and never forwarded. `None`: not a preflight (or no
/// browser policy, or a host mismatch the normal checks will answer).
pub fn preflight<B>(
    cx: &ConnContext,
    req: &Request<B>,
) -> Option<Result<Response<ProxyBody>, Refusal>> {
    let b = cx.host.domain.config.browser.as_ref()?;
    if req.method() != Method::OPTIONS || crate::proxy::check_authority(req, &cx.host.name).is_err()
    {
        return None;
    }
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let decision = decide_preflight(
        &b.policy,
        header("origin"),
        header("access-control-request-method"),
        header("access-control-request-headers"),
    );
    match decision {
        PreflightDecision::NotPreflight => None,
        PreflightDecision::Refused(r) => Some(Err(r)),
        PreflightDecision::Allowed { headers } => {
            let mut resp = Response::new(crate::respond::full(bytes::Bytes::new()));
            *resp.status_mut() = StatusCode::NO_CONTENT;
            for (k, v) in headers {
                resp.headers_mut().append(k, v);
            }
            Some(Ok(resp))
        }
    }
}

/// The checks on an actual request. CORS-relevant requests get `Vary: Origin` whatever the outcome.
pub fn check(
    cx: &ConnContext,
    parts: &http::request::Parts,
    body: Option<&[u8]>,
    client_id: Option<&str>,
    out: &mut CorsOutcome,
) -> Result<(), Refusal> {
    let Some(b) = &cx.host.domain.config.browser else {
        return Ok(());
    };
    let origin = origin_of(parts)?;
    if is_co_authenticate(cx, parts) {
        out.vary = true;
        check_co_authenticate(&b.policy, origin, body.unwrap_or_default())?;
        // Accepted: the origin is one of the client's allowed web origins, so it may read the answer.
        if let Some(o) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
            out.allow = vec![
                (ACCESS_CONTROL_ALLOW_ORIGIN, o),
                (
                    ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                ),
            ];
        }
        return Ok(());
    }
    if !b.cors_routes.allows(parts.uri.path()) {
        return Ok(());
    }
    out.vary = true;
    match actual_request(&b.policy, origin, client_id) {
        CorsDecision::NotCors => Ok(()),
        CorsDecision::Allowed { headers } => {
            out.allow = headers.into_iter().filter(|(k, _)| *k != VARY).collect();
            Ok(())
        }
        CorsDecision::Refused(r) => Err(r),
    }
}
