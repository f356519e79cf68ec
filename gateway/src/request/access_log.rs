//! Access log: one line per request, and the request metrics.

use http::Response;
use mtls_policies::HostKind;

use super::context::RequestCtx;
use crate::connection::Connection;
use crate::metrics::{HostLabels, Metrics, RequestLabels, StatusClass};

pub fn record<B>(conn: &Connection, metrics: &Metrics, cx: &RequestCtx, resp: &Response<B>) {
    let elapsed = cx.started.elapsed();
    let host_kind = conn.host.kind;
    metrics
        .requests
        .get_or_create(&RequestLabels {
            host_kind,
            route: cx.route,
            status_class: StatusClass::of(resp.status()),
        })
        .inc();
    metrics
        .request_duration
        .get_or_create(&HostLabels { host_kind })
        .observe(elapsed.as_secs_f64());
    let (thumbprint, verdict) = match &conn.identity {
        Some(id) => (Some(id.thumbprint), id.verdict.label()),
        None => (None, "none"),
    };
    // The path is logged without its query string: queries can carry codes and tokens.
    tracing::info!(
        target: "access",
        domain = %conn.host.domain.config.name,
        alias = host_kind == HostKind::Alias,
        method = %cx.method,
        path = %cx.uri.path(),
        status = resp.status().as_u16(),
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        upstream_status = cx.upstream.status,
        upstream_ms = cx.upstream.elapsed.map(|d| d.as_secs_f64() * 1000.0),
        client_ip = %conn.peer.ip(),
        cert_sha256 = thumbprint.map(|t| t.hex()),
        verdict,
        tls_version = conn.tls_version.as_str(),
        resumed = conn.resumed,
    );
}
