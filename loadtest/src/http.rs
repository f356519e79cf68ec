//! The HTTP side: one request template built at start-up, and the two ways of sending it — once
//! on a fresh connection (`full`) or repeatedly on a kept one (`keepalive`), over HTTP/1.1 or
//! HTTP/2 with hyper.
//!
//! The template holds the parsed method, URI, headers and body, so each send costs a header-map
//! clone and nothing is parsed per request. Response bodies are read to the end and dropped:
//! the server's work includes producing them, the generator has no use for them.

use std::future::Future;
use std::pin::pin;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, HOST};
use http::{HeaderMap, Method, Request, Response, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;
use tokio::time::timeout;

use crate::classify::{self, ErrorClass, Phase};

/// Why the request options do not make a request.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("`{0}` is not an HTTP method")]
    Method(String),
    #[error("--path `{path}` is not a valid path: {reason}")]
    Path { path: String, reason: String },
    #[error("header `{name}` is not valid: {reason}")]
    Header { name: String, reason: String },
}

/// The request every iteration sends.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    http2: bool,
}

impl RequestTemplate {
    /// `authority` becomes the Host header (HTTP/1.1, unless `headers` has one) or the
    /// :authority pseudo-header (HTTP/2).
    pub fn new(
        method: &str,
        authority: &str,
        path: &str,
        headers: &[(String, String)],
        body: Bytes,
        http2: bool,
    ) -> Result<RequestTemplate, RequestError> {
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|_| RequestError::Method(method.into()))?;
        let bad_path = |reason: String| RequestError::Path {
            path: path.into(),
            reason,
        };
        if !path.starts_with('/') {
            return Err(bad_path("it must start with `/`".into()));
        }
        let uri = if http2 {
            Uri::builder()
                .scheme("https")
                .authority(authority)
                .path_and_query(path)
                .build()
        } else {
            Uri::builder().path_and_query(path).build()
        }
        .map_err(|e| bad_path(e.to_string()))?;
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let bad = |reason: String| RequestError::Header {
                name: name.clone(),
                reason,
            };
            let n = HeaderName::from_bytes(name.as_bytes()).map_err(|e| bad(e.to_string()))?;
            let v = HeaderValue::from_str(value).map_err(|e| bad(e.to_string()))?;
            map.append(n, v);
        }
        if !http2 && !map.contains_key(HOST) {
            let host = HeaderValue::from_str(authority).map_err(|e| RequestError::Header {
                name: "host".into(),
                reason: e.to_string(),
            })?;
            map.insert(HOST, host);
        }
        Ok(RequestTemplate {
            method,
            uri,
            headers: map,
            body,
            http2,
        })
    }

    pub fn is_http2(&self) -> bool {
        self.http2
    }

    /// `GET /path`, for the summary.
    pub fn describe(&self) -> String {
        let path = self.uri.path_and_query().map_or("/", |p| p.as_str());
        format!("{} {path}", self.method)
    }

    fn build(&self) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(self.body.clone()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.uri.clone();
        *req.headers_mut() = self.headers.clone();
        req
    }
}

/// A completed request on a fresh connection.
#[derive(Clone, Copy, Debug)]
pub struct Exchange {
    pub status: u16,
    /// From the start of the HTTP exchange (including HTTP/2's connection preface) to the end
    /// of the response body; closing the connection is not included.
    pub took: Duration,
}

/// One request on a fresh connection, which is then closed (HTTP/1.1: close_notify and FIN;
/// HTTP/2: GOAWAY first). The exchange and the close each get at most `limit`; a close that
/// does not finish never turns a received response into a failure.
pub async fn exchange_once<IO>(
    io: IO,
    template: &RequestTemplate,
    limit: Duration,
) -> Result<Exchange, ErrorClass>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let started = Instant::now();
    let io = TokioIo::new(io);
    let req = template.build();
    let fail = |e: hyper::Error| classify::http(&e, Phase::Request);
    let timed_out = |_| ErrorClass::Timeout(Phase::Request);
    if template.http2 {
        let (mut sender, conn) = timeout(limit, http2::handshake(TokioExecutor::new(), io))
            .await
            .map_err(timed_out)?
            .map_err(fail)?;
        let exchange = async move {
            let r = match sender.send_request(req).await {
                Ok(resp) => drain(resp).await,
                Err(e) => Err(e),
            };
            drop(sender);
            r
        };
        drive(conn, exchange, started, limit).await
    } else {
        let (mut sender, conn) = timeout(limit, http1::handshake(io))
            .await
            .map_err(timed_out)?
            .map_err(fail)?;
        let exchange = async move {
            let r = match sender.send_request(req).await {
                Ok(resp) => drain(resp).await,
                Err(e) => Err(e),
            };
            drop(sender);
            r
        };
        drive(conn, exchange, started, limit).await
    }
}

/// Polls the connection and the exchange together in this task (no task spawned per
/// connection); once the exchange is done and the request handle dropped, lets the connection
/// close cleanly.
///
/// When both fail, the connection's error names the cause: if it read a TLS alert while the
/// request was still queued, the request itself only learns that the connection is gone.
async fn drive<C, E>(
    conn: C,
    exchange: E,
    started: Instant,
    limit: Duration,
) -> Result<Exchange, ErrorClass>
where
    C: Future<Output = Result<(), hyper::Error>>,
    E: Future<Output = Result<u16, hyper::Error>>,
{
    let mut conn = pin!(conn);
    let mut exchange = pin!(exchange);
    let mut conn_result = None;
    let remaining = limit.saturating_sub(started.elapsed());
    let outcome = timeout(remaining, async {
        tokio::select! {
            biased;
            r = &mut exchange => r,
            c = &mut conn => {
                conn_result = Some(c);
                exchange.await
            }
        }
    })
    .await;
    let took = started.elapsed();
    let Ok(result) = outcome else {
        return Err(ErrorClass::Timeout(Phase::Request));
    };
    if conn_result.is_none() {
        conn_result = timeout(limit, conn).await.ok();
    }
    match (result, conn_result) {
        (Ok(status), _) => Ok(Exchange { status, took }),
        (Err(_), Some(Err(conn_err))) => Err(classify::http(&conn_err, Phase::Request)),
        (Err(e), _) => Err(classify::http(&e, Phase::Request)),
    }
}

async fn drain(resp: Response<Incoming>) -> Result<u16, hyper::Error> {
    let status = resp.status().as_u16();
    let mut body = resp.into_body();
    while let Some(frame) = body.frame().await {
        frame?;
    }
    Ok(status)
}

/// A persistent connection: the request handle, with the connection driven by its own task
/// for as long as the handle lives. The task hands back the error it ended with, for the same
/// reason as in [`drive`].
pub struct KeptConn {
    sender: Sender,
    ended: oneshot::Receiver<ErrorClass>,
}

enum Sender {
    H1(http1::SendRequest<Full<Bytes>>),
    H2(http2::SendRequest<Full<Bytes>>),
}

/// Drives a kept connection; reports its error, if any, through `tx`.
async fn run_conn<C>(conn: C, tx: oneshot::Sender<ErrorClass>)
where
    C: Future<Output = Result<(), hyper::Error>>,
{
    if let Err(e) = conn.await {
        let _ = tx.send(classify::http(&e, Phase::Request));
    }
}

impl KeptConn {
    pub async fn open<IO>(io: IO, http2: bool) -> Result<KeptConn, ErrorClass>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let io = TokioIo::new(io);
        let fail = |e: hyper::Error| classify::http(&e, Phase::Request);
        let (tx, ended) = oneshot::channel();
        let sender = if http2 {
            let (sender, conn) = http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(fail)?;
            tokio::spawn(run_conn(conn, tx));
            Sender::H2(sender)
        } else {
            let (sender, conn) = http1::handshake(io).await.map_err(fail)?;
            tokio::spawn(run_conn(conn, tx));
            Sender::H1(sender)
        };
        Ok(KeptConn { sender, ended })
    }

    /// The server closed it (or it failed): a new one is needed.
    pub fn is_closed(&self) -> bool {
        match &self.sender {
            Sender::H1(s) => s.is_closed(),
            Sender::H2(s) => s.is_closed(),
        }
    }

    /// Sends one request and reads the response. When the connection died, `error_wait` bounds
    /// the wait for its task's own account of why.
    pub async fn send(
        &mut self,
        template: &RequestTemplate,
        error_wait: Duration,
    ) -> Result<u16, ErrorClass> {
        let result = async {
            let resp = match &mut self.sender {
                Sender::H1(s) => {
                    s.ready().await?;
                    s.send_request(template.build()).await?
                }
                Sender::H2(s) => {
                    s.ready().await?;
                    s.send_request(template.build()).await?
                }
            };
            drain(resp).await
        }
        .await;
        let class = match result {
            Ok(status) => return Ok(status),
            Err(e) => classify::http(&e, Phase::Request),
        };
        // "Closed" means the connection is gone, so its task is ending and about to say why;
        // any other class is already specific (and may concern this request only).
        if let ErrorClass::Closed(_) = class {
            if let Ok(Ok(conn_class)) = timeout(error_wait, &mut self.ended).await {
                return Err(conn_class);
            }
        }
        Err(class)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http1_template_sets_host_from_the_authority() {
        let t = RequestTemplate::new(
            "POST",
            "mtls.auth.example.com",
            "/oauth/token?x=1",
            &[(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            Bytes::from_static(b"grant_type=client_credentials"),
            false,
        )
        .expect("valid");
        let r = t.build();
        assert_eq!(r.method(), Method::POST);
        assert_eq!(r.uri(), "/oauth/token?x=1");
        assert_eq!(r.headers()[HOST], "mtls.auth.example.com");
        assert_eq!(t.describe(), "POST /oauth/token?x=1");
    }

    #[test]
    fn an_explicit_host_header_wins_and_http2_uses_the_authority() {
        let t = RequestTemplate::new(
            "GET",
            "a.example",
            "/",
            &[("Host".into(), "b.example".into())],
            Bytes::new(),
            false,
        )
        .expect("valid");
        assert_eq!(t.build().headers()[HOST], "b.example");
        let t = RequestTemplate::new("GET", "a.example:8443", "/x", &[], Bytes::new(), true)
            .expect("valid");
        let r = t.build();
        assert_eq!(r.uri(), "https://a.example:8443/x");
        assert!(!r.headers().contains_key(HOST));
    }

    #[test]
    fn bad_options_are_reported() {
        let new = |m: &str, p: &str, h: &[(String, String)]| {
            RequestTemplate::new(m, "a", p, h, Bytes::new(), false)
        };
        assert!(matches!(
            new("GE T", "/", &[]),
            Err(RequestError::Method(_))
        ));
        assert!(matches!(
            new("GET", "x", &[]),
            Err(RequestError::Path { .. })
        ));
        assert!(matches!(
            new("GET", "/", &[("bad name".into(), "v".into())]),
            Err(RequestError::Header { .. })
        ));
        assert!(matches!(
            new("GET", "/", &[("x".into(), "line\nbreak".into())]),
            Err(RequestError::Header { .. })
        ));
    }
}
