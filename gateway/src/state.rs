//! The run-time state built from a validated [`Config`]: per host, its TLS config, trust and
//! upstream client. Built completely before it is swapped in, so a reload is all or nothing.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use mtls_policies::HostKind;
use rustls::ServerConfig;

use crate::config::{Config, DomainConfig};
use crate::tls::{self, EdgeClientVerifier, TlsBuildError};
use crate::trust::Trust;
use crate::upstream::{Upstream, UpstreamBuildError};

/// One TLS server name we answer for.
pub struct Host {
    /// Lower-case server name (`auth.example.com` or `mtls.auth.example.com`).
    pub name: String,
    pub kind: HostKind,
    pub tls: Arc<ServerConfig>,
    pub domain: Arc<DomainRuntime>,
}

pub struct DomainRuntime {
    pub config: Arc<DomainConfig>,
    pub upstream: Upstream,
    /// Present when the alias is served.
    pub trust: Option<Arc<Trust>>,
}

/// The state every task reads: swapped whole by a reload, never locked.
pub type StateHandle = Arc<ArcSwap<State>>;

pub struct State {
    pub config: Config,
    hosts: HashMap<String, Arc<Host>>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Tls(#[from] TlsBuildError),
    #[error("domain {domain}: upstream: {source}")]
    Upstream {
        domain: String,
        source: UpstreamBuildError,
    },
}

impl State {
    /// Builds the state for `config`. With `previous`, each host that existed before keeps its
    /// session-ticket keys and session cache.
    pub fn build(config: Config, previous: Option<&State>) -> Result<State, BuildError> {
        let mut hosts = HashMap::new();
        for d in &config.domains {
            let upstream = Upstream::new(&d.upstream).map_err(|source| BuildError::Upstream {
                domain: d.name.clone(),
                source,
            })?;
            let trust = d.alias.as_ref().map(|_| Arc::new(Trust::new(d.clone())));
            let runtime = Arc::new(DomainRuntime {
                config: d.clone(),
                upstream,
                trust: trust.clone(),
            });
            let plain = Host {
                name: d.name.clone(),
                kind: HostKind::Domain,
                tls: tls::server_config(d, None, resumption_of(previous, &d.name))?,
                domain: runtime.clone(),
            };
            hosts.insert(d.name.clone(), Arc::new(plain));
            if let (Some(alias), Some(trust)) = (&d.alias, trust) {
                let verifier = Arc::new(EdgeClientVerifier::new(trust));
                let host = Host {
                    name: alias.clone(),
                    kind: HostKind::Alias,
                    tls: tls::server_config(d, Some(verifier), resumption_of(previous, alias))?,
                    domain: runtime,
                };
                hosts.insert(alias.clone(), Arc::new(host));
            }
        }
        Ok(State { config, hosts })
    }

    /// The host for a ClientHello's server name (already lower-case, no trailing dot).
    pub fn host(&self, sni: &str) -> Option<&Arc<Host>> {
        self.hosts.get(sni)
    }
}

fn resumption_of(previous: Option<&State>, host: &str) -> Option<tls::Resumption> {
    previous
        .and_then(|p| p.host(host))
        .map(|h| tls::Resumption::of(&h.tls))
}
