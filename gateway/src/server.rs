//! Listeners and connections: accept, read the ClientHello, pick the host's TLS config by SNI,
//! finish the handshake, gather the connection's facts once, then serve HTTP/1.1 or HTTP/2.

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use crate::config::Config;
use crate::metrics::{KindLabels, Metrics};
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
        tokio::spawn(crate::connection::connection(
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
