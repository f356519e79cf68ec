//! Respond: the response the client gets, whoever wrote it. Refusals are rendered from their
//! [`Refusal`]; every response then gets the CORS headers the browser policy decided (replacing
//! any the provider sent), `Vary: Origin` where the answer depends on it, and the rate-limit
//! figures.

use bytes::Bytes;
use http::header::VARY;
use http::{HeaderMap, HeaderValue, Method, Response};
use mtls_policies::{insert_rate_limit_headers, Refusal};

use super::context::{CorsOutcome, RequestCtx};
use crate::proxy_body::{empty, full, ProxyBody};

/// The gateway's own answer. A HEAD request gets the status and headers without the body.
pub fn refusal(r: &Refusal, method: &Method) -> Response<ProxyBody> {
    let (parts, body) = r.response().into_parts();
    let body = if method == Method::HEAD {
        empty()
    } else {
        full(Bytes::from(body))
    };
    Response::from_parts(parts, body)
}

/// Adds what the request's phases decided the response must carry.
pub fn finish(resp: &mut Response<ProxyBody>, cx: &RequestCtx) {
    apply_cors(&cx.cors, resp.headers_mut());
    if let Some(decision) = &cx.rate {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        insert_rate_limit_headers(resp.headers_mut(), decision, now);
    }
}

fn apply_cors(cors: &CorsOutcome, headers: &mut HeaderMap) {
    if !cors.allow.is_empty() {
        let upstream: Vec<_> = headers
            .keys()
            .filter(|k| k.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for k in upstream {
            headers.remove(k);
        }
        for (k, v) in &cors.allow {
            headers.insert(k.clone(), v.clone());
        }
    }
    if cors.vary && !vary_has_origin(headers) {
        headers.append(VARY, HeaderValue::from_static("Origin"));
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
