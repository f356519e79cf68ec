//! Starting and stopping the gateway: build the first state, bind every listener, spawn the
//! tasks (accept loops, admin, readiness probe, file watcher), each with the handles it needs.

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::Config;
use crate::limiter::{RateLimitError, RateLimiter};
use crate::listener::{accept_loop, ConnectionSlots};
use crate::metrics::Metrics;
use crate::readiness::Readiness;
use crate::reload::{record_expiry, Reloader};
use crate::request::RequestHandles;
use crate::serve::Signals;
use crate::state::{BuildError, State};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    RateLimit(#[from] RateLimitError),
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
    reloader: Reloader,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl RunningGateway {
    /// What SIGHUP uses to reload the configuration.
    pub fn reloader(&self) -> &Reloader {
        &self.reloader
    }

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
    let watch = config.watch;
    let config_path = config.path.clone();
    let limiter = Arc::new(RateLimiter::new(&config.rate_limit)?);
    let metrics = Arc::new(Metrics::new());
    let state = State::build(config, None)?;
    record_expiry(&metrics, &state);
    let state = Arc::new(ArcSwap::from_pointee(state));
    let handles = Arc::new(RequestHandles {
        state: state.clone(),
        metrics: metrics.clone(),
        limiter,
    });
    let readiness = Arc::new(Readiness::default());
    let reloader = Reloader {
        state: state.clone(),
        metrics: metrics.clone(),
        generation: Arc::new(watch::channel(0).0),
    };
    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let slots = Arc::new(ConnectionSlots::default());
    let mut addrs = Vec::new();
    let signals = Signals {
        stop: stop_rx.clone(),
        reloads: reloader.generation.subscribe(),
    };
    for addr in listen {
        let (listener, local) = bind(addr).await?;
        addrs.push(local);
        let accept = accept_loop(listener, handles.clone(), slots.clone(), signals.clone());
        tasks.spawn(accept);
    }
    let reloads = reloader.generation.subscribe();
    let probe = crate::readiness::probe(state.clone(), readiness.clone(), reloads, stop_rx.clone());
    tasks.spawn(probe);
    if let Some(debounce) = watch {
        let watcher = crate::watch::run(reloader.clone(), config_path, debounce, stop_rx.clone());
        tasks.spawn(watcher);
    }
    let admin_addr = match admin {
        Some(addr) => {
            let (listener, local) = bind(addr).await?;
            let admin = crate::admin::Admin {
                state,
                metrics,
                readiness,
            };
            tasks.spawn(crate::admin::serve(listener, admin, stop_rx.clone()));
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
        reloader,
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
