//! A reload: build a complete new [`State`] from the configuration, swap it in, or keep the old one
//! and say why. SIGHUP and the file watcher both come here.

use std::path::Path;
use std::sync::Arc;

use tokio::sync::watch;

use crate::config::Config;
use crate::metrics::{CrlLabels, DomainLabels, Metrics, ReloadLabels, ReloadResult};
use crate::state::{BuildError, State, StateHandle};

/// What a reload needs: the state to replace and the metrics to report to. Each successful
/// reload bumps `generation`, so tasks that depend on the state (open connections re-checking
/// their client certificate, the readiness probe) learn of it.
#[derive(Clone)]
pub struct Reloader {
    pub state: StateHandle,
    pub metrics: Arc<Metrics>,
    pub generation: Arc<watch::Sender<u64>>,
}

impl Reloader {
    /// Builds and swaps in a new state; the old one keeps serving if the new one fails.
    pub fn apply(&self, config: Config) -> Result<(), BuildError> {
        match State::build(config, Some(&self.state.load())) {
            Ok(state) => {
                record_expiry(&self.metrics, &state);
                self.state.store(Arc::new(state));
                self.generation.send_modify(|g| *g += 1);
                self.count(ReloadResult::Success);
                Ok(())
            }
            Err(e) => {
                self.count(ReloadResult::Failure);
                Err(e)
            }
        }
    }

    /// Reads the configuration file again and swaps it in. Errors are logged and counted; the
    /// running state keeps serving.
    pub fn reload_from(&self, path: &Path) -> bool {
        let config = match crate::config::load(path) {
            Ok(config) => config,
            Err(errors) => {
                self.count(ReloadResult::Failure);
                for e in &errors.0 {
                    tracing::error!("reload failed; the previous configuration keeps serving: {e}");
                }
                return false;
            }
        };
        for w in &config.warnings {
            tracing::warn!("{w}");
        }
        match self.apply(config) {
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

    fn count(&self, result: ReloadResult) {
        self.metrics
            .config_reloads
            .get_or_create(&ReloadLabels { kind: result })
            .inc();
    }
}

/// The server-certificate and CRL expiry gauges for `state`. A reload may drop a CRL or a domain:
/// they start from empty so stale series disappear.
pub fn record_expiry(metrics: &Metrics, state: &State) {
    metrics.crl_next_update.clear();
    metrics.server_cert_expiry.clear();
    for d in &state.config.domains {
        let domain = DomainLabels {
            domain: d.name.clone(),
        };
        metrics
            .server_cert_expiry
            .get_or_create(&domain)
            .set(d.cert_not_after);
        for crl in &d.mtls.crls {
            if let Some(next) = crl.next_update {
                let labels = CrlLabels {
                    domain: d.name.clone(),
                    issuer: crl.issuer.clone(),
                };
                metrics.crl_next_update.get_or_create(&labels).set(next);
            }
        }
    }
}
