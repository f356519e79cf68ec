//! One client connection: the ClientHello picks the host's TLS config by SNI, the handshake
//! completes (or fails and is counted), the connection's facts are gathered once, then HTTP/1.1 or
//! HTTP/2 is served until the client leaves or the gateway drains.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::HeaderValue;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::Watcher;
use rustls::pki_types::UnixTime;
use rustls::server::Acceptor;
use rustls::HandshakeKind;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio_rustls::LazyConfigAcceptor;

use crate::metrics::{HandshakeLabels, HostKind, HostLabels, Metrics, VerdictLabels};
use crate::proxy::{self, ConnContext};
use crate::server::Shared;

/// Decrements the active-connection gauge however the connection ends.
struct ActiveGuard<'a>(&'a Metrics);

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.0.active_connections.dec();
    }
}

pub(crate) async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    _permit: OwnedSemaphorePermit,
    watcher: Watcher,
) {
    shared.metrics.active_connections.inc();
    let _active = ActiveGuard(&shared.metrics);
    let state = shared.state.load_full();
    let limits = &state.config.limits;
    let started = Instant::now();

    let handshake = async {
        let start = LazyConfigAcceptor::new(Acceptor::default(), tcp).await?;
        let sni = start
            .client_hello()
            .server_name()
            .map(|s| s.trim_end_matches('.').to_ascii_lowercase());
        let host = sni.as_deref().and_then(|s| state.host(s)).cloned();
        let config = host
            .as_ref()
            .map(|h| h.tls.clone())
            .unwrap_or_else(crate::tls::refusing_config);
        let stream = start.into_stream(config).await;
        Ok::<_, std::io::Error>((host, stream))
    };
    let (host, tls) = match tokio::time::timeout(limits.handshake_timeout, handshake).await {
        Err(_) => {
            count_handshake(&shared.metrics, HostKind::domain, "timeout", None, false);
            return;
        }
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "no usable ClientHello");
            count_handshake(
                &shared.metrics,
                HostKind::domain,
                "bad_client_hello",
                None,
                false,
            );
            return;
        }
        Ok(Ok((None, _))) => {
            count_handshake(
                &shared.metrics,
                HostKind::domain,
                "unknown_sni",
                None,
                false,
            );
            return;
        }
        Ok(Ok((Some(host), Err(e)))) => {
            let outcome = handshake_failure(&e);
            tracing::debug!(%peer, host = %host.name, error = %e, outcome, "handshake failed");
            count_handshake(&shared.metrics, host.kind, outcome, None, false);
            if outcome.starts_with("cert_") {
                shared
                    .metrics
                    .verdicts
                    .get_or_create(&VerdictLabels {
                        outcome: "refused",
                        reason: outcome,
                    })
                    .inc();
            }
            return;
        }
        Ok(Ok((Some(host), Ok(tls)))) => (host, tls),
    };
    let (_, conn) = tls.get_ref();
    let version = conn.protocol_version();
    let resumed = conn.handshake_kind() == Some(HandshakeKind::Resumed);
    let identity = match (&host.domain.trust, host.kind, conn.peer_certificates()) {
        (Some(trust), HostKind::alias, Some([leaf, intermediates @ ..])) => {
            // A cache hit after a full handshake; a real re-check for a resumed session.
            match trust.evaluate(leaf, intermediates, UnixTime::now()) {
                Ok(id) => Some(id),
                Err(e) => {
                    tracing::info!(%peer, host = %host.name, error = %e, resumed, "client certificate no longer acceptable");
                    count_handshake(
                        &shared.metrics,
                        host.kind,
                        "cert_rechecked",
                        version,
                        resumed,
                    );
                    return;
                }
            }
        }
        _ => None,
    };
    count_handshake(&shared.metrics, host.kind, "ok", version, resumed);
    shared
        .metrics
        .handshake_duration
        .get_or_create(&HostLabels {
            host_kind: host.kind,
        })
        .observe(started.elapsed().as_secs_f64());
    if host.kind == HostKind::alias {
        let (outcome, reason) = match &identity {
            None => ("none", "none"),
            Some(id) => match id.verdict {
                crate::trust::Verdict::Success => ("success", "none"),
                crate::trust::Verdict::Failed(r) => ("failed", r.label()),
            },
        };
        shared
            .metrics
            .verdicts
            .get_or_create(&VerdictLabels { outcome, reason })
            .inc();
    }

    let cx = Arc::new(ConnContext {
        shared: shared.clone(),
        client_ip: client_ip_value(peer),
        host,
        peer,
        identity,
        tls_version: crate::tls::version_label(version),
        resumed,
    });
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
    let service = service_fn(move |req| proxy::handle(cx.clone(), req));
    let conn = builder
        .serve_connection(TokioIo::new(tls), service)
        .into_owned();
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

fn client_ip_value(peer: SocketAddr) -> HeaderValue {
    // An IP address always formats to a valid header value.
    HeaderValue::from_str(&peer.ip().to_canonical().to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

fn count_handshake(
    m: &Metrics,
    host_kind: HostKind,
    outcome: &'static str,
    version: Option<rustls::ProtocolVersion>,
    resumed: bool,
) {
    m.handshakes
        .get_or_create(&HandshakeLabels {
            host_kind,
            outcome,
            version: crate::tls::version_label(version),
            resumed: if resumed { "true" } else { "false" },
        })
        .inc();
}

/// Metric label for a failed handshake, from the rustls error tokio-rustls wraps.
fn handshake_failure(e: &std::io::Error) -> &'static str {
    use rustls::{CertificateError as C, Error as E};
    match e.get_ref().and_then(|i| i.downcast_ref::<E>()) {
        Some(E::InvalidCertificate(C::Expired | C::ExpiredContext { .. })) => "cert_expired",
        Some(E::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. })) => {
            "cert_not_yet_valid"
        }
        Some(E::InvalidCertificate(C::InvalidPurpose | C::InvalidPurposeContext { .. })) => {
            "cert_wrong_eku"
        }
        Some(E::InvalidCertificate(C::BadEncoding)) => "cert_malformed",
        Some(E::InvalidCertificate(C::UnknownIssuer)) => "cert_untrusted",
        Some(E::InvalidCertificate(C::BadSignature)) => "cert_bad_signature",
        Some(E::InvalidCertificate(
            C::Revoked
            | C::ExpiredRevocationList
            | C::ExpiredRevocationListContext { .. }
            | C::UnknownRevocationStatus,
        )) => "cert_revoked",
        Some(E::InvalidCertificate(_)) => "cert_invalid",
        Some(E::AlertReceived(_)) => "alert_received",
        Some(E::NoApplicationProtocol) => "no_alpn",
        Some(E::PeerIncompatible(_)) => "incompatible",
        Some(_) => "tls_error",
        None => "io_error",
    }
}
