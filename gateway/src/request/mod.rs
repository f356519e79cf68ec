//! One request's way through the edge, as named phases in request order:
//!
//! 1. [`cors::preflight`]: a CORS preflight is answered at the edge, never forwarded;
//! 2. [`admit`]: host vs TLS server name, alias routes and certificate policy, on the head only;
//! 3. [`body`]: the body is read (capped) only when a decision needs it;
//! 4. [`cors::check`]: the `Origin` against the named client's origins, `/co/authenticate`;
//! 5. [`rate_limit`]: every matching rule, the strictest decision wins;
//! 6. [`forward`]: rewrite the headers, send upstream, stream the answer back;
//! 7. [`respond`] and [`access_log`]: CORS and rate-limit headers, one log line, metrics.
//!
//! Each phase takes the connection's facts, what it needs of the request and of [`RequestCtx`],
//! and returns a value or a [`Refusal`]; phases never call each other. A refused request's body
//! is drained so the client reads the answer.

mod access_log;
mod admit;
mod body;
mod context;
mod cors;
mod forward;
mod rate_limit;
mod respond;

use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;
use mtls_policies::{request_client_id, Refusal};

use crate::connection::Connection;
use crate::limiter::RateLimiter;
use crate::metrics::Metrics;
use crate::proxy_body::ProxyBody;
use crate::state::StateHandle;
use body::RequestBody;
pub use context::RequestCtx;

/// What the request path reads besides the connection: the current state (for settings a reload
/// may change), the metrics and the rate limiter.
pub struct RequestHandles {
    pub state: StateHandle,
    pub metrics: Arc<Metrics>,
    pub limiter: Arc<RateLimiter>,
}

/// Serves one request: the phases, then the response and its log line. Never fails: every
/// refusal is an answer.
pub async fn handle(
    conn: &Connection,
    handles: &RequestHandles,
    req: Request<Incoming>,
) -> Response<ProxyBody> {
    let mut cx = RequestCtx::new(conn, &req);
    let mut resp = match phases(conn, handles, &mut cx, req).await {
        Ok(resp) => resp,
        Err(refusal) => {
            handles.metrics.count_refusal(&refusal);
            respond::refusal(&refusal, &cx.method)
        }
    };
    respond::finish(&mut resp, &cx);
    access_log::record(conn, &handles.metrics, &cx, &resp);
    resp
}

async fn phases(
    conn: &Connection,
    handles: &RequestHandles,
    cx: &mut RequestCtx,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, Refusal> {
    if let Some(answer) = cors::preflight(conn, &req, &mut cx.cors) {
        body::drain(req.into_body()).await;
        return answer;
    }
    let certificate = match admit::admit(conn, &req, &handles.metrics) {
        Ok(c) => c,
        Err(refusal) => {
            body::drain(req.into_body()).await;
            return Err(refusal);
        }
    };
    let (parts, body) = req.into_parts();
    let mut body = RequestBody::Unread(body);
    if let Err(refusal) = decide(conn, handles, cx, &parts, &mut body).await {
        body.drain().await;
        return Err(refusal);
    }
    let body = body.into_proxy_body();
    let (metrics, upstream) = (&handles.metrics, &mut cx.upstream);
    forward::forward(conn, metrics, parts, body, certificate, upstream).await
}

/// The decisions that may need the body: CORS for the named client, then rate limits.
async fn decide(
    conn: &Connection,
    handles: &RequestHandles,
    cx: &mut RequestCtx,
    parts: &http::request::Parts,
    body: &mut RequestBody,
) -> Result<(), Refusal> {
    cors::mark_relevant(conn, parts, &mut cx.cors);
    let bytes = if rate_limit::needs_client_id(conn, parts) || cors::needs_body(conn, parts) {
        let limit = handles.state.load().config.limits.max_body_bytes;
        Some(body.read(parts, limit).await?)
    } else {
        None
    };
    let client_id = request_client_id(&parts.headers, bytes.as_deref())?;
    cors::check(
        conn,
        parts,
        bytes.as_deref(),
        client_id.as_deref(),
        &mut cx.cors,
    )?;
    let (limiter, metrics) = (&handles.limiter, &handles.metrics);
    rate_limit::apply(
        conn,
        limiter,
        metrics,
        parts,
        client_id.as_deref(),
        &mut cx.rate,
    )
    .await
}
