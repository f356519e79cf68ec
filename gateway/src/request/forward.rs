//! Forward: rewrite the request for the provider and send it; stream the answer back.
//!
//! The rewrite order matters: hop-by-hop headers go first (including any the client named in
//! `Connection`), then every client copy of the protected headers (any case, `_` for `-`), then
//! the edge inserts its own `Host`, `cname-api-key`, client-IP and certificate headers. A client
//! naming `client-certificate` in `Connection` therefore cannot remove the injected value.

use std::time::Instant;

use http::header::HOST;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Request, Response, Uri, Version};
use http_body_util::BodyExt;
use mtls_policies::CNAME_API_KEY_HEADER;
use mtls_policies::{strip_hop_by_hop, strip_identity_headers, Refusal};
use mtls_policies::{CLIENT_CERTIFICATE_CA_VERIFIED_HEADER, CLIENT_CERTIFICATE_HEADER};

use super::context::{CertHeaders, UpstreamTimings};
use crate::connection::Connection;
use crate::metrics::{Metrics, UpstreamErrorLabels};
use crate::proxy_body::ProxyBody;
use crate::upstream::UpstreamError;

pub async fn forward(
    conn: &Connection,
    metrics: &Metrics,
    mut parts: http::request::Parts,
    body: ProxyBody,
    certificate: Option<CertHeaders>,
    timings: &mut UpstreamTimings,
) -> Result<Response<ProxyBody>, Refusal> {
    let domain = &conn.host.domain;
    rewrite_headers(conn, &mut parts.headers, certificate);
    parts.uri = upstream_uri(&domain.upstream.authority, parts.uri.path_and_query())?;
    // The pooled client picks HTTP/1.1 or HTTP/2 by ALPN with the upstream.
    parts.version = Version::HTTP_11;

    let sent = Instant::now();
    let result = domain.upstream.send(Request::from_parts(parts, body)).await;
    let elapsed = sent.elapsed();
    timings.elapsed = Some(elapsed);
    match result {
        Ok(resp) => {
            metrics.upstream_duration.observe(elapsed.as_secs_f64());
            timings.status = Some(resp.status().as_u16());
            let (mut parts, body) = resp.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            Ok(Response::from_parts(parts, body.boxed()))
        }
        Err(UpstreamError::ClientBody(e)) => {
            tracing::debug!(domain = %domain.config.name, error = %e, "client request body failed");
            Err(Refusal::BadRequest("The request body could not be read."))
        }
        Err(e) => {
            metrics
                .upstream_errors
                .get_or_create(&UpstreamErrorLabels { kind: e.kind() })
                .inc();
            tracing::warn!(domain = %domain.config.name, error = %e, "upstream request failed");
            Err(match e {
                UpstreamError::Timeout(_) => Refusal::UpstreamTimeout,
                UpstreamError::Connect(_)
                | UpstreamError::Request(_)
                | UpstreamError::ClientBody(_) => Refusal::UpstreamUnavailable,
            })
        }
    }
}

fn rewrite_headers(
    conn: &Connection,
    headers: &mut http::HeaderMap,
    certificate: Option<CertHeaders>,
) {
    let config = &conn.host.domain.config;
    strip_hop_by_hop(headers);
    strip_identity_headers(headers, &config.identity_headers);
    headers.insert(HOST, config.upstream.host_header.clone());
    headers.insert(CNAME_API_KEY_HEADER, config.api_key.header_value().clone());
    headers.insert(
        config.identity_headers.client_ip_header().clone(),
        conn.client_ip.clone(),
    );
    if let Some(c) = certificate {
        headers.insert(CLIENT_CERTIFICATE_HEADER, c.certificate);
        headers.insert(CLIENT_CERTIFICATE_CA_VERIFIED_HEADER, c.verified);
    }
}

/// The upstream URI: the provider's origin with the request's path and query exactly as received
/// (the path we checked is the path we forward).
fn upstream_uri(authority: &Authority, pq: Option<&PathAndQuery>) -> Result<Uri, Refusal> {
    let pq = match pq {
        Some(pq) if pq.as_str().starts_with('/') => pq.clone(),
        _ => {
            return Err(Refusal::BadRequest(
                "The request target must be an absolute path.",
            ))
        }
    };
    Uri::builder()
        .scheme(Scheme::HTTPS)
        .authority(authority.clone())
        .path_and_query(pq)
        .build()
        .map_err(|_| Refusal::BadRequest("The request target is not valid."))
}
