//! A validated run: options checked against each other, the address resolved, certificate and
//! key files read and the rustls configuration built — all before the first connection, so a
//! typo fails at once instead of as thousands of identical errors.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rustls::pki_types::ServerName;
use rustls::ClientConfig;

use crate::cli::{Args, TlsVersion};
use crate::client_tls::{self, TlsOptions, TlsSetupError};
use crate::cpu::{CpuError, Process};
use crate::http::{RequestError, RequestTemplate};
use crate::modes::{Mode, Target};
use crate::schedule::Pacing;

/// A run without --duration or --count lasts this long.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);

/// Why the options do not make a run.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot resolve --connect {connect}: {source}")]
    Resolve {
        connect: String,
        source: std::io::Error,
    },
    #[error("--connect {0} resolves to no address")]
    NoAddress(String),
    #[error("--sni `{0}` is not a DNS name or IP address")]
    Sni(String),
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("cannot read --body-file {}: {source}", path.display())]
    BodyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--server-pid: {0}")]
    ServerPid(CpuError),
    #[error("--duration must be longer than zero")]
    ZeroDuration,
}

/// Everything [`crate::run`] needs.
#[derive(Debug)]
pub struct Plan {
    pub mode: Mode,
    /// `--connect` as given.
    pub connect: String,
    pub sni: String,
    pub target: Arc<Target>,
    /// Shared by all workers; resumption off (resume workers copy it).
    pub tls: Arc<ClientConfig>,
    pub tls_version: Option<TlsVersion>,
    pub client_cert: bool,
    pub http2: bool,
    pub pacing: Pacing,
    pub concurrency: u32,
    pub duration: Option<Duration>,
    pub count: Option<u64>,
    pub warmup: Duration,
    pub server_pid: Option<u32>,
    pub quiet: bool,
}

impl Plan {
    pub fn from_args(a: &Args) -> Result<Plan, PlanError> {
        let addr = resolve(&a.connect)?;
        let server_name =
            ServerName::try_from(a.sni.clone()).map_err(|_| PlanError::Sni(a.sni.clone()))?;
        let alpn = if a.http2 {
            vec![b"h2".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        let tls = client_tls::build(&TlsOptions {
            cacert: a.cacert.clone(),
            insecure: a.insecure,
            cert: a.cert.clone(),
            key: a.key.clone(),
            version: a.tls,
            ciphers: a.ciphers.clone(),
            groups: a.groups.clone(),
            alpn,
        })?;
        let request = if a.mode.sends_requests() {
            let body = match (&a.body, &a.body_file) {
                (Some(b), _) => Bytes::from(b.clone().into_bytes()),
                (None, Some(path)) => {
                    Bytes::from(std::fs::read(path).map_err(|source| PlanError::BodyFile {
                        path: path.clone(),
                        source,
                    })?)
                }
                (None, None) => Bytes::new(),
            };
            let authority = a.host.as_deref().unwrap_or(&a.sni);
            Some(RequestTemplate::new(
                &a.method, authority, &a.path, &a.headers, body, a.http2,
            )?)
        } else {
            None
        };
        if let Some(pid) = a.server_pid {
            Process::Pid(pid).cpu().map_err(PlanError::ServerPid)?;
        }
        if a.duration == Some(Duration::ZERO) {
            return Err(PlanError::ZeroDuration);
        }
        let duration = match (a.duration, a.count) {
            (None, None) => Some(DEFAULT_DURATION),
            (d, _) => d,
        };
        Ok(Plan {
            mode: a.mode,
            connect: a.connect.clone(),
            sni: a.sni.clone(),
            target: Arc::new(Target {
                addr,
                server_name,
                timeout: a.timeout,
                request,
            }),
            tls: Arc::new(tls),
            tls_version: a.tls,
            client_cert: a.cert.is_some(),
            http2: a.http2,
            pacing: match a.rate {
                Some(per_second) => Pacing::Open { per_second },
                None => Pacing::Closed,
            },
            concurrency: a.concurrency,
            duration,
            count: a.count,
            warmup: a.warmup,
            server_pid: a.server_pid,
            quiet: a.quiet,
        })
    }
}

fn resolve(connect: &str) -> Result<SocketAddr, PlanError> {
    connect
        .to_socket_addrs()
        .map_err(|source| PlanError::Resolve {
            connect: connect.into(),
            source,
        })?
        .next()
        .ok_or_else(|| PlanError::NoAddress(connect.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> Args {
        let mut v = vec![
            "mtls-loadtest",
            "--connect",
            "127.0.0.1:9",
            "--sni",
            "mtls.auth.example.com",
            "--insecure",
        ];
        v.extend_from_slice(extra);
        Args::try_parse_from(v).expect("parses")
    }

    #[test]
    fn defaults() {
        let p = Plan::from_args(&args(&[])).expect("plan");
        assert_eq!(p.mode, Mode::Full);
        assert_eq!(p.duration, Some(DEFAULT_DURATION));
        assert_eq!(p.pacing, Pacing::Closed);
        assert_eq!(p.tls.alpn_protocols, [b"http/1.1".to_vec()]);
        let req = p.target.request.as_ref().expect("full mode sends requests");
        assert_eq!(req.describe(), "GET /");

        let p = Plan::from_args(&args(&["-n", "5", "-m", "handshake", "--http2"])).expect("plan");
        assert_eq!(p.duration, None, "a count alone bounds the run");
        assert!(p.target.request.is_none());
        assert_eq!(p.tls.alpn_protocols, [b"h2".to_vec()]);
    }

    #[test]
    fn problems_are_found_before_the_run() {
        let mut a = args(&[]);
        a.sni = "not a name".into();
        assert!(matches!(Plan::from_args(&a), Err(PlanError::Sni(_))));
        assert!(matches!(
            Plan::from_args(&args(&["--body-file", "/nonexistent/body"])),
            Err(PlanError::BodyFile { .. })
        ));
        assert!(matches!(
            Plan::from_args(&args(&["--server-pid", "4294967295"])),
            Err(PlanError::ServerPid(_))
        ));
        assert!(matches!(
            Plan::from_args(&args(&["--path", "no-slash"])),
            Err(PlanError::Request(_))
        ));
        assert!(matches!(
            Plan::from_args(&args(&["--duration", "0s"])),
            Err(PlanError::ZeroDuration)
        ));
        let mut a = args(&[]);
        a.connect = "no-port".into();
        assert!(matches!(
            Plan::from_args(&a),
            Err(PlanError::Resolve { .. })
        ));
    }
}
