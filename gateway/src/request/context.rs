//! What one request's phases learn and the response needs: filled in as the request goes through
//! the pipeline, read by the respond and access-log phases.

use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue, Method, Request, Uri};
use mtls_policies::Decision;

use crate::connection::Connection;
use crate::metrics::Route;

pub struct RequestCtx {
    pub started: Instant,
    pub method: Method,
    /// The request target as received (path and query are forwarded unchanged).
    pub uri: Uri,
    pub route: Route,
    /// The strictest rate-limit decision, when a rule applied: its figures go in the response.
    pub rate: Option<Decision>,
    pub cors: CorsOutcome,
    pub upstream: UpstreamTimings,
}

impl RequestCtx {
    pub fn new<B>(conn: &Connection, req: &Request<B>) -> RequestCtx {
        RequestCtx {
            started: Instant::now(),
            method: req.method().clone(),
            uri: req.uri().clone(),
            route: Route::of(req.uri().path(), &conn.host.domain.config.mtls.route_labels),
            rate: None,
            cors: CorsOutcome::default(),
            upstream: UpstreamTimings::default(),
        }
    }
}

/// What the browser policy adds to the response.
#[derive(Default)]
pub struct CorsOutcome {
    /// The request was CORS-relevant: the response varies by `Origin`.
    pub vary: bool,
    /// Headers that allow the calling origin to read the response; they replace any the provider
    /// sent.
    pub allow: Vec<(HeaderName, HeaderValue)>,
}

/// The upstream leg, for the access log.
#[derive(Default)]
pub struct UpstreamTimings {
    pub status: Option<u16>,
    pub elapsed: Option<Duration>,
}

/// The `client-certificate` and `client-certificate-ca-verified` values an admitted alias request
/// carries upstream.
pub struct CertHeaders {
    pub certificate: HeaderValue,
    pub verified: HeaderValue,
}
