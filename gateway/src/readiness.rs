//! Upstream reachability for `/readyz`: a TCP connect to each domain's upstream, at start and then
//! periodically. A replica whose provider edge cannot be reached reports not ready, so a load
//! balancer sends its clients to a replica that can.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::watch;

use crate::state::StateHandle;

const PROBE_INTERVAL: Duration = Duration::from_secs(10);

/// Last probe result per domain; none until the first round of probes finished.
#[derive(Default)]
pub struct Readiness {
    results: RwLock<HashMap<String, Result<(), String>>>,
}

impl Readiness {
    /// Ready when no configured domain's last probe failed. Before the first round of probes
    /// nothing is known and the replica is not ready; after it, a domain a reload just added is
    /// pending, not failing: a ConfigMap change reloads every replica at once, and pulling them
    /// all out of the balancer for a domain nobody has probed yet would leave none serving.
    pub fn check(&self, domains: &[String]) -> Result<(), Vec<String>> {
        let results = self.results.read().unwrap_or_else(|e| e.into_inner());
        let started = !results.is_empty();
        let failing: Vec<String> = domains
            .iter()
            .filter_map(|d| match results.get(d) {
                Some(Ok(())) => None,
                Some(Err(e)) => Some(format!("{d}: {e}")),
                None if started => None,
                None => Some(format!("{d}: upstream not probed yet")),
            })
            .collect();
        if failing.is_empty() {
            Ok(())
        } else {
            Err(failing)
        }
    }

    fn record(&self, domain: &str, result: Result<(), String>) {
        let mut results = self.results.write().unwrap_or_else(|e| e.into_inner());
        results.insert(domain.to_owned(), result);
    }
}

/// Probes every domain's upstream now and then every [`PROBE_INTERVAL`], until `stop`.
/// Probes every domain's upstream now, then every [`PROBE_INTERVAL`] and after every reload
/// (`reloads` changes), until `stop`.
pub async fn probe(
    state: StateHandle,
    readiness: Arc<Readiness>,
    mut reloads: watch::Receiver<u64>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let state = state.load_full();
        for d in &state.config.domains {
            let u = &d.upstream;
            let result = match u.connect_to {
                Some(addr) => connect(addr, u.connect_timeout).await,
                None => match tokio::net::lookup_host((u.host.as_str(), u.port)).await {
                    Ok(mut addrs) => match addrs.next() {
                        Some(addr) => connect(addr, u.connect_timeout).await,
                        None => Err("no address".to_owned()),
                    },
                    Err(e) => Err(format!("resolve {}: {e}", u.host)),
                },
            };
            if let Err(e) = &result {
                tracing::warn!(domain = %d.name, error = %e, "upstream probe failed");
            }
            readiness.record(&d.name, result);
        }
        tokio::select! {
            _ = tokio::time::sleep(PROBE_INTERVAL) => {}
            _ = reloads.changed() => {}
            _ = stop.changed() => return,
        }
    }
}

async fn connect(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("connect {addr}: {e}")),
        Err(_) => Err(format!("connect {addr}: timed out after {timeout:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_added_by_a_reload_is_pending_not_failing() {
        let r = Readiness::default();
        let one = ["a.example".to_owned()];
        let two = ["a.example".to_owned(), "b.example".to_owned()];
        // Before the first round nothing is known: not ready.
        assert!(r.check(&one).is_err());
        r.record("a.example", Ok(()));
        assert!(r.check(&one).is_ok());
        // A reload adds b.example: not probed yet, still ready.
        assert!(r.check(&two).is_ok());
        r.record("b.example", Err("connect refused".into()));
        let failing = r.check(&two).unwrap_err();
        assert_eq!(failing, vec!["b.example: connect refused".to_owned()]);
    }
}
