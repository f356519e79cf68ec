//! The pooled keep-alive HTTPS client to the identity provider's edge, one per domain.
//!
//! HTTP/1.1 only: each request in flight has an upstream connection of its own, so a client that
//! stops reading its response holds back only that connection, never a flow-control window shared
//! with other clients (as one multiplexed HTTP/2 connection would). It also sends the provider
//! exactly one `Host`, never `Host` beside `:authority`.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::{ClientConfig, RootCertStore};

use crate::config::UpstreamConfig;
use crate::metrics::UpstreamErrorKind;
use crate::proxy_body::ProxyBody;

/// How long an idle pooled upstream connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
const POOL_MAX_IDLE_PER_HOST: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("upstream did not answer within {0:?}")]
    Timeout(Duration),
    #[error("upstream connection failed: {0}")]
    Connect(String),
    #[error("upstream request failed: {0}")]
    Request(String),
    /// The client's request body failed while it was being forwarded (a malformed chunk, a
    /// reset stream): the client's fault, not the provider's.
    #[error("the client's request body failed: {0}")]
    ClientBody(String),
}

impl UpstreamError {
    /// Stable metric label.
    pub fn kind(&self) -> UpstreamErrorKind {
        match self {
            UpstreamError::Timeout(_) => UpstreamErrorKind::Timeout,
            UpstreamError::Connect(_) => UpstreamErrorKind::Connect,
            UpstreamError::Request(_) => UpstreamErrorKind::Request,
            UpstreamError::ClientBody(_) => UpstreamErrorKind::ClientBody,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UpstreamBuildError {
    #[error("no usable system root certificates for the upstream (set upstream.ca_file)")]
    NoSystemRoots,
    #[error("{0}")]
    Tls(#[from] rustls::Error),
    #[error("`{0}` cannot be used as a URI authority")]
    BadHost(String),
}

#[derive(Clone)]
pub struct Upstream {
    client: Client<HttpsConnector<HttpConnector<Resolve>>, ProxyBody>,
    /// `host[:port]` of the upstream URI; the request's path and query are appended unchanged.
    pub authority: http::uri::Authority,
    pub response_timeout: Duration,
}

impl Upstream {
    pub fn new(cfg: &UpstreamConfig) -> Result<Upstream, UpstreamBuildError> {
        let roots = match &cfg.roots {
            Some(r) => r.clone(),
            None => system_roots().ok_or(UpstreamBuildError::NoSystemRoots)?,
        };
        let tls = ClientConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new_with_resolver(Resolve {
            connect_to: cfg.connect_to,
        });
        http.enforce_http(false);
        http.set_connect_timeout(Some(cfg.connect_timeout));
        http.set_nodelay(true);
        http.set_keepalive(Some(Duration::from_secs(60)));
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_max_idle_per_host(POOL_MAX_IDLE_PER_HOST)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(https);
        // With `connect_to` the port comes from that address: the URI carries none.
        let authority = if cfg.connect_to.is_some() || cfg.port == 443 {
            cfg.host.clone()
        } else {
            format!("{}:{}", cfg.host, cfg.port)
        };
        let authority = authority
            .parse()
            .map_err(|_| UpstreamBuildError::BadHost(cfg.host.clone()))?;
        Ok(Upstream {
            client,
            authority,
            response_timeout: cfg.response_timeout,
        })
    }

    /// Sends the request; the response head must arrive within the response timeout, the body
    /// then streams.
    pub async fn send(&self, req: Request<ProxyBody>) -> Result<Response<Incoming>, UpstreamError> {
        match tokio::time::timeout(self.response_timeout, self.client.request(req)).await {
            Err(_) => Err(UpstreamError::Timeout(self.response_timeout)),
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) if e.is_connect() => Err(UpstreamError::Connect(error_chain(&e))),
            Ok(Err(e)) if is_client_body_error(&e) => {
                Err(UpstreamError::ClientBody(error_chain(&e)))
            }
            Ok(Err(e)) => Err(UpstreamError::Request(error_chain(&e))),
        }
    }
}

/// hyper reports a failure of the request body it was sending as a "user" error.
fn is_client_body_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_user)
        {
            return true;
        }
        cur = err.source();
    }
    false
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}

/// The system's trust store, read once.
fn system_roots() -> Option<Arc<RootCertStore>> {
    static ROOTS: OnceLock<Option<Arc<RootCertStore>>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut store = RootCertStore::empty();
            store.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            (!store.is_empty()).then(|| Arc::new(store))
        })
        .clone()
}

/// DNS, unless the operator pinned the upstream's address (`connect_to`), in which case the
/// hostname is still what TLS verifies.
#[derive(Clone, Debug)]
pub struct Resolve {
    connect_to: Option<SocketAddr>,
}

type ResolveFuture =
    Pin<Box<dyn Future<Output = Result<std::vec::IntoIter<SocketAddr>, std::io::Error>> + Send>>;

impl tower_service::Service<Name> for Resolve {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = ResolveFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        if let Some(addr) = self.connect_to {
            return Box::pin(std::future::ready(Ok(vec![addr].into_iter())));
        }
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            Ok(addrs.into_iter())
        })
    }
}
