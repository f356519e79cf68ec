//! CORS: preflights answered at the edge, `Origin` checked on CORS routes for the client the
//! request names, and `/co/authenticate` checked against the client's cross-origin settings. The
//! decisions are `mtls-policies` functions; this phase feeds them and records what the response
//! must carry in [`CorsOutcome`].

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_REQUEST_HEADERS,
    ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use mtls_policies::{
    actual_request, check_authority, check_co_authenticate, preflight as decide_preflight,
    single_header, CorsDecision, HostKind, PreflightDecision, Refusal, CO_AUTHENTICATE_PATH,
};

use super::context::CorsOutcome;
use crate::connection::Connection;
use crate::proxy_body::{empty, ProxyBody};

fn is_co_authenticate(conn: &Connection, parts: &http::request::Parts) -> bool {
    conn.host.kind == HostKind::Domain
        && parts.method == Method::POST
        && parts.uri.path() == CO_AUTHENTICATE_PATH
}

/// Whether the body must be read: `/co/authenticate` always, a CORS route when the request
/// carries an `Origin` and may name its client in the body.
pub fn needs_body(conn: &Connection, parts: &http::request::Parts) -> bool {
    let Some(b) = &conn.host.domain.config.browser else {
        return false;
    };
    is_co_authenticate(conn, parts)
        || (parts.headers.contains_key(ORIGIN)
            && b.cors_routes.allows(parts.uri.path())
            && !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS))
}

/// A CORS preflight is answered here and never forwarded. `None`: not a preflight (or no
/// browser policy, or a host mismatch the admit phase will answer).
pub fn preflight<B>(
    conn: &Connection,
    req: &Request<B>,
    out: &mut CorsOutcome,
) -> Option<Result<Response<ProxyBody>, Refusal>> {
    let b = conn.host.domain.config.browser.as_ref()?;
    if req.method() != Method::OPTIONS
        || check_authority(req.uri(), req.headers(), &conn.host.name).is_err()
    {
        return None;
    }
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let decision = decide_preflight(
        &b.policy,
        header(&ORIGIN),
        header(&ACCESS_CONTROL_REQUEST_METHOD),
        header(&ACCESS_CONTROL_REQUEST_HEADERS),
    );
    let answer = match decision {
        PreflightDecision::NotPreflight => return None,
        PreflightDecision::Refused(r) => Err(r),
        PreflightDecision::Allowed { headers } => {
            let mut resp = Response::new(empty());
            *resp.status_mut() = StatusCode::NO_CONTENT;
            for (k, v) in headers {
                resp.headers_mut().append(k, v);
            }
            Ok(resp)
        }
    };
    out.vary = true;
    Some(answer)
}

/// Marks a CORS-relevant request (`/co/authenticate`, a CORS route): its answer varies by
/// `Origin` whatever the outcome, including a refusal of a later phase or of the body parser.
pub fn mark_relevant(conn: &Connection, parts: &http::request::Parts, out: &mut CorsOutcome) {
    if let Some(b) = &conn.host.domain.config.browser {
        if is_co_authenticate(conn, parts) || b.cors_routes.allows(parts.uri.path()) {
            out.vary = true;
        }
    }
}

/// The checks on an actual request ([`mark_relevant`] has run).
pub fn check(
    conn: &Connection,
    parts: &http::request::Parts,
    body: Option<&[u8]>,
    client_id: Option<&str>,
    out: &mut CorsOutcome,
) -> Result<(), Refusal> {
    let Some(b) = &conn.host.domain.config.browser else {
        return Ok(());
    };
    let origin = single_header(&parts.headers, &ORIGIN, "Origin")?;
    if is_co_authenticate(conn, parts) {
        check_co_authenticate(&b.policy, origin, body.unwrap_or_default())?;
        // Accepted: the origin is one of the client's allowed web origins, so it may read the
        // answer.
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
    match actual_request(&b.policy, origin, client_id) {
        CorsDecision::NotCors => Ok(()),
        CorsDecision::Allowed { headers } => {
            out.allow = headers.into_iter().filter(|(k, _)| *k != VARY).collect();
            Ok(())
        }
        CorsDecision::Refused(r) => Err(r),
    }
}
