//! Listeners and connections: accept, read the ClientHello, pick the host's TLS config by SNI,
//! finish the handshake, gather the connection's facts once, then serve HTTP/1.1 or HTTP/2.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use http::HeaderValue;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use rustls::pki_types::UnixTime;
use rustls::server::Acceptor;
use rustls::HandshakeKind;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::LazyConfigAcceptor;

use crate::config::Config;
use crate::metrics::{HandshakeLabels, HostKind, HostLabels, KindLabels, Metrics, VerdictLabels};
use crate::proxy::{self, ConnContext};
use crate::state::{BuildError, State};

/// What every connection shares: the swappable state and the metrics.
pub struct Shared {
    pub state: ArcSwap<State>,
    pub metrics: Metrics,
    pub readiness: crate::probe::Readiness,
    pub ratelimit: crate::ratelimit::RateLimiter,
    pub max_body_bytes: usize,
}

impl Shared {
    /// Builds and swaps in a new state; the old one keeps serving if the new one fails.
    pub fn reload(&self, config: Config) -> Result<(), BuildError> {
        match State::build(config, Some(&self.state.load())) {
            Ok(state) => {
                self.record_cert_expiry(&state);
                self.state.store(Arc::new(state));
                self.metrics
                    .config_reloads
                    .get_or_create(&KindLabels { kind: "success" })
                    .inc();
                Ok(())
            }
            Err(e) => {
                self.metrics
                    .config_reloads
                    .get_or_create(&KindLabels { kind: "failure" })
                    .inc();
                Err(e)
            }
        }
    }

    fn record_cert_expiry(&self, state: &State) {
        // A reload may drop a CRL or a domain: start from empty so stale series disappear.
        self.metrics.crl_next_update.clear();
        self.metrics.server_cert_expiry.clear();
        for d in &state.config.domains {
            self.metrics
                .server_cert_expiry
                .get_or_create(&crate::metrics::DomainLabels {
                    domain: d.name.clone(),
                })
                .set(d.cert_not_after);
            for crl in &d.mtls.crls {
                if let Some(next) = crl.next_update {
                    let labels = crate::metrics::CrlLabels {
                        domain: d.name.clone(),
                        issuer: crl.issuer.clone(),
                    };
                    self.metrics
                        .crl_next_update
                        .get_or_create(&labels)
                        .set(next);
                }
            }
        }
    }

    /// Reads the configuration file again and swaps it in. Errors are logged and counted; the
    /// running state keeps serving.
    pub fn reload_from(&self, path: &std::path::Path) -> bool {
        match crate::config::load(path) {
            Ok(config) => {
                for w in &config.warnings {
                    tracing::warn!("{w}");
                }
                match self.reload(config) {
                    Ok(()) => {
                        tracing::info!(config = %path.display(), "configuration reloaded");
                        true
                    }
                    Err(e) => {
                        tracing::error!(config = %path.display(), error = %e, "reload failed; the previous configuration keeps serving");
                        false
                    }
                }
            }
            Err(errors) => {
                self.metrics
                    .config_reloads
                    .get_or_create(&KindLabels { kind: "failure" })
                    .inc();
                for e in &errors.0 {
                    tracing::error!("reload failed; the previous configuration keeps serving: {e}");
                }
                false
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    RateLimit(#[from] crate::ratelimit::RateLimitError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A started gateway: its bound addresses and the handle to stop it.
pub struct RunningGateway {
    pub addrs: Vec<SocketAddr>,
    pub admin_addr: Option<SocketAddr>,
    pub shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl RunningGateway {
    /// Stops accepting, lets in-flight requests finish (HTTP/2 GOAWAY, HTTP/1.1
    /// `Connection: close`) up to the drain deadline, then returns.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Binds every listener and starts serving. Port 0 binds a free port; see `addrs`.
pub async fn start(config: Config) -> Result<RunningGateway, StartError> {
    let listen = config.listen.clone();
    let admin = config.admin_listen;
    let limits = config.limits.clone();
    let watch = config.watch;
    let config_path = config.path.clone();
    let ratelimit = crate::ratelimit::RateLimiter::new(&config.rate_limit)?;
    let max_body_bytes = config.limits.max_body_bytes;
    let state = State::build(config, None)?;
    let shared = Arc::new(Shared {
        state: ArcSwap::from_pointee(state),
        metrics: Metrics::new(),
        readiness: Default::default(),
        ratelimit,
        max_body_bytes,
    });
    shared.record_cert_expiry(&shared.state.load());
    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut addrs = Vec::new();
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    for addr in listen {
        let (listener, local) = bind(addr).await?;
        addrs.push(local);
        tasks.spawn(accept_loop(
            listener,
            shared.clone(),
            permits.clone(),
            stop_rx.clone(),
        ));
    }
    tasks.spawn(crate::probe::run(shared.clone(), stop_rx.clone()));
    if let Some(debounce) = watch {
        tasks.spawn(crate::watch::run(
            shared.clone(),
            config_path,
            debounce,
            stop_rx.clone(),
        ));
    }
    let admin_addr = match admin {
        Some(addr) => {
            let (listener, local) = bind(addr).await?;
            tasks.spawn(crate::admin::serve(
                listener,
                shared.clone(),
                stop_rx.clone(),
            ));
            Some(local)
        }
        None => None,
    };
    for a in &addrs {
        tracing::info!(addr = %a, "listening");
    }
    if let Some(a) = admin_addr {
        tracing::info!(addr = %a, "admin listening");
    }
    Ok(RunningGateway {
        addrs,
        admin_addr,
        shared,
        stop,
        tasks,
    })
}

/// Binds `addr` (port 0: a free port) and returns the listener with the address it got.
async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), StartError> {
    let err = |source| StartError::Bind { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(err)?;
    let local = listener.local_addr().map_err(err)?;
    Ok((listener, local))
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    permits: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off briefly rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        // Over the limit: refuse at once, so a flood of idle sockets cannot slow down everyone else.
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            shared
                .metrics
                .connections_refused
                .get_or_create(&KindLabels {
                    kind: "max_connections",
                })
                .inc();
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        tokio::spawn(connection(
            tcp,
            peer,
            shared.clone(),
            permit,
            graceful.watcher(),
        ));
    }
    drop(listener);
    let drain = shared.state.load().config.limits.drain_timeout;
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            ?drain,
            "drain deadline passed with requests still in flight"
        );
    }
}

/// Decrements the active-connection gauge however the connection ends.
struct ActiveGuard<'a>(&'a Metrics);

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.0.active_connections.dec();
    }
}

async fn connection(
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
