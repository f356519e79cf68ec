//! The request path, in phases: host check, route check, client-identity check, header rewrite,
//! forward, respond. Each phase is a call into `mtls-policies` or a plain function here; every
//! refusal is a [`Refusal`] rendered by [`crate::respond`].

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::header::HOST;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderName, HeaderValue, Request, Response, Uri, Version};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use mtls_policies::{
    authority_matches_sni, insert_rate_limit_headers, strip_hop_by_hop, strip_identity_headers,
    Decision, Refusal,
};

use crate::config::NoCertificatePolicy;
use crate::metrics::{HostKind, HostLabels, KindLabels, RequestLabels};
use crate::server::Shared;
use crate::state::Host;
use crate::trust::ClientIdentity;
use crate::upstream::{ProxyBody, UpstreamError};

pub static CNAME_API_KEY: HeaderName = HeaderName::from_static("cname-api-key");
pub static CLIENT_CERTIFICATE: HeaderName = HeaderName::from_static("client-certificate");
pub static CLIENT_CERTIFICATE_CA_VERIFIED: HeaderName =
    HeaderName::from_static("client-certificate-ca-verified");

/// What is known about a connection once its handshake is done; shared by all its requests.
pub struct ConnContext {
    pub shared: Arc<Shared>,
    pub host: Arc<Host>,
    pub peer: SocketAddr,
    /// The peer's IP as a header value, formatted once per connection.
    pub client_ip: HeaderValue,
    pub identity: Option<Arc<ClientIdentity>>,
    pub tls_version: &'static str,
    pub resumed: bool,
}

/// What the access log records about the upstream leg.
struct UpstreamOutcome {
    status: Option<u16>,
    elapsed_ms: Option<f64>,
}

pub async fn handle(
    cx: Arc<ConnContext>,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let route = crate::metrics::route_label(&path, &cx.host.domain.config.mtls.route_labels);
    let mut rate: Option<Decision> = None;
    let mut cors = crate::browser::CorsOutcome::default();
    let mut upstream = UpstreamOutcome {
        status: None,
        elapsed_ms: None,
    };
    let result = match crate::browser::preflight(&cx, &req) {
        Some(answer) => {
            cors.varies();
            drain(req.into_body()).await;
            answer
        }
        None => match admit(&cx, &req) {
            Ok(cert_headers) => {
                forward(&cx, req, cert_headers, &mut rate, &mut cors, &mut upstream).await
            }
            Err(refusal) => {
                drain(req.into_body()).await;
                Err(refusal)
            }
        },
    };
    let resp = match result {
        Ok(resp) => resp,
        Err(refusal) => {
            cx.shared
                .metrics
                .refusals
                .get_or_create(&KindLabels {
                    kind: refusal.kind(),
                })
                .inc();
            crate::respond::refusal(&refusal)
        }
    };
    let mut resp = resp;
    cors.apply(resp.headers_mut());
    if let Some(decision) = &rate {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        insert_rate_limit_headers(resp.headers_mut(), decision, now);
    }
    let elapsed = started.elapsed();
    let m = &cx.shared.metrics;
    let kind = cx.host.kind;
    m.requests
        .get_or_create(&RequestLabels {
            host_kind: kind,
            route,
            status_class: crate::metrics::status_class(resp.status()),
        })
        .inc();
    m.request_duration
        .get_or_create(&HostLabels { host_kind: kind })
        .observe(elapsed.as_secs_f64());
    let (thumbprint, verdict) = match &cx.identity {
        Some(id) => (Some(id.thumbprint), id.verdict.label()),
        None => (None, "none"),
    };
    // The path is logged without its query string: queries can carry codes and tokens.
    tracing::info!(
        target: "access",
        domain = %cx.host.domain.config.name,
        alias = kind == HostKind::alias,
        method = %method,
        path = %path,
        status = resp.status().as_u16(),
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        upstream_status = upstream.status,
        upstream_ms = upstream.elapsed_ms,
        client_ip = %cx.peer.ip(),
        cert_sha256 = thumbprint.map(|t| t.hex()),
        verdict,
        tls_version = cx.tls_version,
        resumed = cx.resumed,
    );
    Ok(resp)
}

/// The checks made on the request head before anything is sent upstream. On success, the
/// certificate headers to inject (alias only).
fn admit<B>(
    cx: &ConnContext,
    req: &Request<B>,
) -> Result<Option<(HeaderValue, HeaderValue)>, Refusal> {
    check_authority(req, &cx.host.name)?;
    if cx.host.kind != HostKind::alias {
        return Ok(None);
    }
    if !cx.host.domain.config.mtls.routes.allows(req.uri().path()) {
        return Err(Refusal::NotFound);
    }
    client_cert_headers(cx)
}

/// Reads and discards a refused request's body, up to a small size and time budget. Answering
/// before the body is read makes HTTP/2 reset the stream, and some clients (curl among them)
/// then report a framing error instead of our JSON answer.
pub(crate) async fn drain(mut body: Incoming) {
    const DRAIN_BYTES: usize = 64 * 1024;
    const DRAIN_TIME: std::time::Duration = std::time::Duration::from_millis(500);
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        let mut seen = 0;
        while let Some(Ok(frame)) = body.frame().await {
            seen += frame.data_ref().map_or(0, |d| d.len());
            if seen > DRAIN_BYTES {
                break;
            }
        }
    })
    .await;
}

async fn forward(
    cx: &ConnContext,
    req: Request<Incoming>,
    cert_headers: Option<(HeaderValue, HeaderValue)>,
    rate: &mut Option<Decision>,
    cors: &mut crate::browser::CorsOutcome,
    outcome: &mut UpstreamOutcome,
) -> Result<Response<ProxyBody>, Refusal> {
    let domain = &cx.host.domain;
    let (mut parts, body) = req.into_parts();
    let needs_body =
        crate::ratelimit::needs_client_id(cx, &parts) || crate::browser::needs_body(cx, &parts);
    let (body, bytes) = crate::body::read_if(needs_body, body, cx.shared.max_body_bytes).await?;
    let client_id = crate::body::client_id(&parts, bytes.as_deref())?;
    crate::browser::check(cx, &parts, bytes.as_deref(), client_id.as_deref(), cors)?;
    crate::ratelimit::apply(cx, &parts, client_id.as_deref(), rate).await?;
    let headers = &mut parts.headers;
    strip_hop_by_hop(headers);
    strip_identity_headers(headers, &domain.config.identity_headers);
    headers.insert(HOST, domain.config.upstream.host_header.clone());
    headers.insert(
        CNAME_API_KEY.clone(),
        domain.config.api_key.header_value().clone(),
    );
    headers.insert(
        domain.config.identity_headers.client_ip_header().clone(),
        cx.client_ip.clone(),
    );
    if let Some((cert, verified)) = cert_headers {
        headers.insert(CLIENT_CERTIFICATE.clone(), cert);
        headers.insert(CLIENT_CERTIFICATE_CA_VERIFIED.clone(), verified);
    }
    parts.uri = upstream_uri(&domain.upstream.authority, parts.uri.path_and_query())?;
    // The pooled client picks HTTP/1.1 or HTTP/2 by ALPN with the upstream.
    parts.version = Version::HTTP_11;
    let upstream_req = Request::from_parts(parts, body);

    let sent = Instant::now();
    let result = domain.upstream.send(upstream_req).await;
    let elapsed = sent.elapsed();
    outcome.elapsed_ms = Some(elapsed.as_secs_f64() * 1000.0);
    let m = &cx.shared.metrics;
    match result {
        Ok(resp) => {
            m.upstream_duration.observe(elapsed.as_secs_f64());
            outcome.status = Some(resp.status().as_u16());
            let (mut parts, body) = resp.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            Ok(Response::from_parts(parts, body.boxed()))
        }
        Err(e) => {
            m.upstream_errors
                .get_or_create(&KindLabels { kind: e.kind() })
                .inc();
            tracing::warn!(domain = %domain.config.name, error = %e, "upstream request failed");
            Err(match e {
                UpstreamError::Timeout(_) => Refusal::UpstreamTimeout,
                UpstreamError::Connect(_) | UpstreamError::Request(_) => {
                    Refusal::UpstreamUnavailable
                }
            })
        }
    }
}

/// Every authority the request names (the request target's and the Host header) must be the
/// connection's TLS server name; otherwise a request could ride a plain-domain connection to an
/// alias route, or the reverse (HTTP/2 connection reuse makes this a real case).
pub(crate) fn check_authority<B>(req: &Request<B>, sni: &str) -> Result<(), Refusal> {
    let target = req.uri().authority().map(Authority::as_str);
    let mut hosts = req.headers().get_all(HOST).iter();
    let host = match (hosts.next(), hosts.next()) {
        (Some(_), Some(_)) => return Err(Refusal::BadRequest("More than one Host header.")),
        (Some(v), None) => Some(
            v.to_str()
                .map_err(|_| Refusal::BadRequest("The Host header is not valid."))?,
        ),
        (None, _) => None,
    };
    if target.is_none() && host.is_none() {
        return Err(Refusal::BadRequest("The request names no host."));
    }
    for authority in target.into_iter().chain(host) {
        if !authority_matches_sni(authority, sni) {
            return Err(Refusal::Misdirected);
        }
    }
    Ok(())
}

/// The `client-certificate` and `client-certificate-ca-verified` values for an alias request,
/// `None` when the connection has no certificate and policy forwards such requests.
fn client_cert_headers(cx: &ConnContext) -> Result<Option<(HeaderValue, HeaderValue)>, Refusal> {
    match &cx.identity {
        None => match cx.host.domain.config.mtls.no_certificate {
            NoCertificatePolicy::Reject => Err(Refusal::ClientCertificateRequired),
            NoCertificatePolicy::Forward => Ok(None),
        },
        Some(id)
            if id.registered.is_none()
                && cx.host.domain.config.mtls.edge_policy
                    == crate::config::EdgePolicy::Registered =>
        {
            Err(Refusal::ClientCertificateNotRegistered)
        }
        Some(id) => match &id.cert_header {
            Ok(cert) => Ok(Some((cert.clone(), id.verdict_header.clone()))),
            Err(len) => {
                cx.shared.metrics.cert_too_large.inc();
                Err(Refusal::ClientCertificateTooLarge {
                    encoded_len: *len,
                    limit: mtls_certs::CLIENT_CERT_HEADER_LIMIT,
                })
            }
        },
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
