//! The accept loop of one HTTPS listener: the connection limit (read from the current state, so a
//! reload changes it), one task per connection, and the drain at shutdown.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::metrics::{ConnectionRefusal, ConnectionRefusedLabels};
use crate::request::RequestHandles;

/// Open connections across every listener, against `limits.max_connections`.
#[derive(Default)]
pub struct ConnectionSlots(AtomicUsize);

/// Holds one slot until the connection ends.
struct Slot(Arc<ConnectionSlots>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ConnectionSlots {
    fn take(self: &Arc<Self>, max: usize) -> Option<Slot> {
        self.0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(self.clone()))
    }
}

pub async fn accept_loop(
    listener: TcpListener,
    handles: Arc<RequestHandles>,
    slots: Arc<ConnectionSlots>,
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
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let max = handles.state.load().config.limits.max_connections;
        // Over the limit: refuse at once, so a flood of idle sockets cannot slow down everyone else.
        let Some(slot) = slots.take(max) else {
            handles
                .metrics
                .connections_refused
                .get_or_create(&ConnectionRefusedLabels {
                    kind: ConnectionRefusal::MaxConnections,
                })
                .inc();
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let connection = crate::serve::connection(tcp, peer, handles.clone(), graceful.watcher());
        tokio::spawn(async move {
            connection.await;
            drop(slot);
        });
    }
    drop(listener);
    let drain = handles.state.load().config.limits.drain_timeout;
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
