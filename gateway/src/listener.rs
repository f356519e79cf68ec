//! The accept loop of one HTTPS listener: the connection limit (read from the current state, so a
//! reload changes it), one task per connection, and the drain at shutdown.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

use crate::config::Limits;
use crate::metrics::{ConnectionRefusal, ConnectionRefusedLabels};
use crate::request::RequestHandles;
use crate::serve::Signals;

/// Open connections across every listener, against `limits.max_connections` and, when set,
/// `limits.max_connections_per_ip`; shutdown waits for them to reach zero.
#[derive(Default)]
pub struct ConnectionSlots {
    open: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    none_open: Notify,
}

/// Holds one slot (and the address's, when counted) until the connection ends.
struct Slot {
    slots: Arc<ConnectionSlots>,
    ip: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(ip) = self.ip {
            let mut per_ip = self.slots.per_ip.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(n) = per_ip.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    per_ip.remove(&ip);
                }
            }
        }
        if self.slots.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.slots.none_open.notify_waiters();
        }
    }
}

impl ConnectionSlots {
    fn take(self: &Arc<Self>, limits: &Limits, ip: IpAddr) -> Result<Slot, ConnectionRefusal> {
        let max = limits.max_connections;
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .map_err(|_| ConnectionRefusal::MaxConnections)?;
        let mut slot = Slot {
            slots: self.clone(),
            ip: None,
        };
        if limits.max_connections_per_ip > 0 {
            let mut per_ip = self.per_ip.lock().unwrap_or_else(|e| e.into_inner());
            let n = per_ip.entry(ip).or_insert(0);
            if *n >= limits.max_connections_per_ip {
                // Dropping `slot` gives the global slot back.
                return Err(ConnectionRefusal::MaxConnectionsPerIp);
            }
            *n += 1;
            slot.ip = Some(ip);
        }
        Ok(slot)
    }

    /// Resolves once no connection is open.
    async fn none_open(&self) {
        loop {
            let notified = self.none_open.notified();
            if self.open.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

pub async fn accept_loop(
    listener: TcpListener,
    handles: Arc<RequestHandles>,
    slots: Arc<ConnectionSlots>,
    signals: Signals,
) {
    let mut stop: watch::Receiver<bool> = signals.stop.clone();
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
        // Over a limit: refuse at once, so a flood of idle sockets cannot slow down everyone else.
        let slot = match slots.take(
            &handles.state.load().config.limits,
            peer.ip().to_canonical(),
        ) {
            Ok(slot) => slot,
            Err(kind) => {
                handles
                    .metrics
                    .connections_refused
                    .get_or_create(&ConnectionRefusedLabels { kind })
                    .inc();
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let connection = crate::serve::connection(tcp, peer, handles.clone(), signals.clone());
        tokio::spawn(async move {
            connection.await;
            drop(slot);
        });
    }
    drop(listener);
    // Each connection saw the stop signal and is closing gracefully within `drain_timeout`.
    let drain = handles.state.load().config.limits.drain_timeout;
    if tokio::time::timeout(drain + Duration::from_secs(1), slots.none_open())
        .await
        .is_err()
    {
        tracing::warn!(
            ?drain,
            "drain deadline passed with requests still in flight"
        );
    }
}
