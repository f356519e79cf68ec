//! One accepted TCP connection, from handshake to close: the handshake and its metrics, then
//! HTTP/1.1 or HTTP/2 as ALPN negotiated (no protocol sniffing), with the limits of the state the
//! connection was accepted under, each request through [`crate::request::handle`].
//!
//! Every phase has a timer: the handshake (`handshake_timeout`, in [`accept_tls`]), the first
//! request (`header_read_timeout` from the handshake: a client that sends nothing, or half an
//! HTTP/2 preface, is closed), each later HTTP/1.1 request head (hyper's `header_read_timeout`),
//! and the connection as a whole (`max_connection_age`, then a graceful close). A reload that
//! removes the host or changes the verdict of the connection's certificate closes it gracefully
//! too, so a revocation reaches long-lived HTTP/2 connections.

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::sleep;
use tokio_rustls::server::TlsStream;

use crate::config::Limits;
use crate::connection::{accept_tls, Connection};
use crate::metrics::{CloseLabels, CloseReason, Metrics};
use crate::request::{self, RequestHandles};

/// What tells a connection to close: the gateway stopping, and reloads.
#[derive(Clone)]
pub struct Signals {
    pub stop: watch::Receiver<bool>,
    pub reloads: watch::Receiver<u64>,
}

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
    signals: Signals,
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
    let limits = state.config.limits.clone();
    drop(state);
    serve_http(tls, Arc::new(conn), &limits, handles.clone(), signals).await;
}

async fn serve_http(
    tls: TlsStream<TcpStream>,
    conn: Arc<Connection>,
    limits: &Limits,
    handles: Arc<RequestHandles>,
    mut signals: Signals,
) {
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    let requested = Arc::new(AtomicBool::new(false));
    let service = {
        let (conn, handles, requested) = (conn.clone(), handles.clone(), requested.clone());
        service_fn(move |req| {
            requested.store(true, Ordering::Relaxed);
            let (conn, handles) = (conn.clone(), handles.clone());
            async move { Ok::<_, std::convert::Infallible>(request::handle(&conn, &handles, req).await) }
        })
    };
    let builder = http_builder(limits, h2);
    let mut serving = pin!(builder.serve_connection(TokioIo::new(tls), service));
    let mut first_request = pin!(sleep(limits.header_read_timeout));
    let mut max_age = pin!(sleep(with_jitter(limits.max_connection_age, conn.peer)));
    let mut hard_close = pin!(sleep(Duration::MAX));
    let mut closing: Option<CloseReason> = None;
    let mut shutdown_sent = false;
    let mut waiting_first = true;
    let reason = loop {
        tokio::select! {
            result = serving.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(peer = %conn.peer, error = %e, "connection ended with an error");
                }
                break closing;
            }
            _ = first_request.as_mut(), if waiting_first => {
                waiting_first = false;
                if !requested.load(Ordering::Relaxed) {
                    break Some(CloseReason::NoRequest);
                }
            }
            _ = max_age.as_mut(), if closing.is_none() => closing = Some(CloseReason::MaxAge),
            _ = signals.stop.changed(), if closing.is_none() => closing = Some(CloseReason::Drain),
            changed = signals.reloads.changed(), if closing.is_none() => {
                if changed.is_ok() && !conn.still_acceptable(&handles.state.load()) {
                    closing = Some(CloseReason::TrustChanged);
                }
            }
            _ = hard_close.as_mut(), if closing.is_some() => break closing,
        }
        if closing.is_some() && !shutdown_sent {
            shutdown_sent = true;
            // GOAWAY (HTTP/2) or `Connection: close` after the response in flight (HTTP/1.1),
            // then at most `drain_timeout` for the requests in flight to finish.
            serving.as_mut().graceful_shutdown();
            hard_close
                .as_mut()
                .reset(tokio::time::Instant::now() + limits.drain_timeout);
        }
    };
    if let Some(reason) = reason {
        handles
            .metrics
            .connections_closed
            .get_or_create(&CloseLabels { reason })
            .inc();
    }
}

/// `age` spread by ±10% per client port, so connections opened together (a fleet restart, a
/// load test) don't all reconnect at the same instant.
fn with_jitter(age: Duration, peer: SocketAddr) -> Duration {
    let spread = u64::from(peer.port()).wrapping_mul(2_654_435_761) % 201;
    age.mul_f64(0.9 + spread as f64 / 1000.0)
}

fn http_builder(limits: &Limits, h2: bool) -> auto::Builder<TokioExecutor> {
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
    // The protocol is the one ALPN agreed on: an HTTP/1.1 request on an `h2` connection, or an
    // HTTP/2 preface on an `http/1.1` one, is a protocol error, not a second chance.
    if h2 {
        builder.http2_only()
    } else {
        builder.http1_only()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_ten_percent() {
        let age = Duration::from_secs(600);
        for port in [0u16, 1, 443, 8443, 40000, 65535] {
            let j = with_jitter(age, SocketAddr::from(([127, 0, 0, 1], port)));
            assert!(
                j >= Duration::from_secs(540) && j <= Duration::from_secs(660),
                "{j:?}"
            );
        }
    }
}
