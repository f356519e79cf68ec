//! The admin listener: `/metrics` (Prometheus text), `/healthz` (process alive), `/readyz`
//! (listeners bound and a configuration loaded). Plain HTTP/1.1: bind it to a private address.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::proxy_body::{full, ProxyBody};
use crate::readiness::Readiness;
use crate::state::StateHandle;

/// What the admin endpoints read.
#[derive(Clone)]
pub struct Admin {
    pub state: StateHandle,
    pub metrics: Arc<Metrics>,
    pub readiness: Arc<Readiness>,
}

pub async fn serve(listener: TcpListener, admin: Admin, mut stop: watch::Receiver<bool>) {
    loop {
        let (tcp, _) = tokio::select! {
            r = listener.accept() => match r { Ok(p) => p, Err(_) => continue },
            _ = stop.changed() => return,
        };
        let admin = admin.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let admin = admin.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(&admin, &req)) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(5))
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

fn answer(admin: &Admin, req: &Request<Incoming>) -> Response<ProxyBody> {
    let text = |status, body: String, ctype: &'static str| {
        let mut r = Response::new(full(Bytes::from(body)));
        *r.status_mut() = status;
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(ctype),
        );
        r
    };
    if req.method() != Method::GET {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed\n".into(),
            "text/plain",
        );
    }
    match req.uri().path() {
        "/metrics" => text(
            StatusCode::OK,
            admin.metrics.encode(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
        "/healthz" => text(StatusCode::OK, "ok\n".into(), "text/plain"),
        "/readyz" => {
            let state = admin.state.load();
            let domains: Vec<String> = state
                .config
                .domains
                .iter()
                .map(|d| d.name.clone())
                .collect();
            match admin.readiness.check(&domains) {
                Ok(()) => text(StatusCode::OK, "ready\n".into(), "text/plain"),
                Err(failing) => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("not ready\n{}\n", failing.join("\n")),
                    "text/plain",
                ),
            }
        }
        _ => text(StatusCode::NOT_FOUND, "not found\n".into(), "text/plain"),
    }
}
