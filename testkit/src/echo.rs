//! A stand-in identity-provider edge for the demo and the tests: an HTTPS server that answers every
//! request with a JSON echo of what it received (method, path, headers, body size), so anyone can
//! see exactly what the gateway forwards.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// Bodies larger than this are counted, not kept.
const MAX_ECHO_BODY: usize = 1 << 20;

pub struct EchoServer {
    pub addr: SocketAddr,
    /// Requests received so far: tests use it to prove that nothing reached the provider.
    pub requests: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn start(
    addr: SocketAddr,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<EchoServer, Box<dyn std::error::Error + Send + Sync>> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut tls = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(tls));
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let requests = Arc::new(AtomicU64::new(0));
    let counter = requests.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = service_fn(move |req| {
                    counter.fetch_add(1, Ordering::Relaxed);
                    echo(req)
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    Ok(EchoServer {
        addr,
        requests,
        task,
    })
}

/// Request header asking the stand-in to wait this many milliseconds before answering, to
/// simulate a slow provider.
pub const DELAY_HEADER: &str = "x-echo-delay-ms";

/// Request header asking the stand-in to add this many bytes of padding to its answer, for
/// large responses.
pub const PAD_HEADER: &str = "x-echo-pad";

async fn echo(
    req: Request<Incoming>,
) -> Result<Response<http_body_util::Full<Bytes>>, std::convert::Infallible> {
    let (parts, body) = req.into_parts();
    let delay = parts
        .headers
        .get(DELAY_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(ms) = delay {
        tokio::time::sleep(std::time::Duration::from_millis(ms.min(60_000))).await;
    }
    let (body, trailers) = match http_body_util::Limited::new(body, MAX_ECHO_BODY)
        .collect()
        .await
    {
        Ok(b) => {
            let trailers: Vec<(String, String)> = b
                .trailers()
                .map(|t| {
                    t.iter()
                        .map(|(k, v)| {
                            let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
                            (k.as_str().to_owned(), v)
                        })
                        .collect()
                })
                .unwrap_or_default();
            (b.to_bytes(), trailers)
        }
        Err(_) => (Bytes::new(), Vec::new()),
    };
    let pad = parts
        .headers
        .get(PAD_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .map_or(0, |n| n.min(MAX_ECHO_BODY));
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let json = serde_json::json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"),
        "version": format!("{:?}", parts.version),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
        "trailers": trailers,
        "pad": "p".repeat(pad),
    });
    let mut resp = Response::new(http_body_util::Full::new(Bytes::from(json.to_string())));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}
