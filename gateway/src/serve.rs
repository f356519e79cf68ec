//! One accepted TCP connection, from handshake to close: the handshake and its metrics, then
//! HTTP/1.1 or HTTP/2 (by ALPN) with the limits of the state the connection was accepted under,
//! each request through [`crate::request::handle`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::Watcher;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use crate::config::Limits;
use crate::connection::{accept_tls, Connection};
use crate::metrics::Metrics;
use crate::request::{self, RequestHandles};

/// Decrements the active-connection gauge however the connection ends.
struct ActiveGuard<'a>(&'a Metrics);

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.0.active_connections.dec();
    }
}

pub async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    handles: Arc<RequestHandles>,
    watcher: Watcher,
) {
    let metrics = &handles.metrics;
    metrics.active_connections.inc();
    let _active = ActiveGuard(metrics);
    let state = handles.state.load_full();
    let started = Instant::now();
    let (tls, conn) = match accept_tls(tcp, peer, &state).await {
        Ok(accepted) => accepted,
        Err(failure) => {
            failure.record(metrics);
            return;
        }
    };
    conn.record_handshake(metrics, started.elapsed());
    serve_http(tls, conn, &state.config.limits, handles.clone(), watcher).await;
}

async fn serve_http(
    tls: TlsStream<TcpStream>,
    conn: Connection,
    limits: &Limits,
    handles: Arc<RequestHandles>,
    watcher: Watcher,
) {
    let peer = conn.peer;
    let conn = Arc::new(conn);
    let service = service_fn(move |req| {
        let (conn, handles) = (conn.clone(), handles.clone());
        async move { Ok::<_, std::convert::Infallible>(request::handle(&conn, &handles, req).await) }
    });
    let serving = http_builder(limits)
        .serve_connection(TokioIo::new(tls), service)
        .into_owned();
    if let Err(e) = watcher.watch(serving).await {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

fn http_builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .max_headers(limits.max_headers)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.h2_max_concurrent_streams)
        .max_header_list_size(limits.max_header_bytes as u32)
        .keep_alive_interval(limits.idle_timeout / 2)
        .keep_alive_timeout(limits.idle_timeout / 2);
    builder
}
