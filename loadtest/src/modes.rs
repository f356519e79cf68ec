//! The four modes, as what one worker does in one iteration.
//!
//! | mode        | one iteration                                               | resumption |
//! |-------------|-------------------------------------------------------------|------------|
//! | `handshake` | TCP connect, TLS handshake, close                           | off        |
//! | `full`      | TCP connect, TLS handshake, one request, close              | off        |
//! | `resume`    | like `handshake`, with the worker's own session store       | on         |
//! | `keepalive` | one request on the worker's connection (reconnect if gone)  | off        |
//!
//! "Close" in `handshake` and `resume` sends close_notify and then reads until the server
//! closes too. That wait matters: in TLS 1.3 the client's side of the handshake completes
//! before the server has looked at the client certificate, so a rejected certificate only
//! shows as an alert *after* the handshake — and the session tickets a resumption needs arrive
//! then as well. An iteration therefore succeeds only once the server has accepted it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::ValueEnum;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, HandshakeKind, ProtocolVersion};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::classify::{self, ErrorClass, Phase};
use crate::client_tls;
use crate::http::{exchange_once, KeptConn, RequestTemplate};
use crate::transport::Transport;

/// What an iteration does; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Handshake,
    Full,
    Resume,
    Keepalive,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Handshake => "handshake",
            Mode::Full => "full",
            Mode::Resume => "resume",
            Mode::Keepalive => "keepalive",
        }
    }

    /// Whether iterations send a request.
    pub fn sends_requests(self) -> bool {
        matches!(self, Mode::Full | Mode::Keepalive)
    }
}

/// Where to connect and what to send; shared by every worker.
#[derive(Debug)]
pub struct Target {
    pub addr: std::net::SocketAddr,
    pub server_name: ServerName<'static>,
    /// Limit for each phase.
    pub timeout: Duration,
    /// For `full` and `keepalive`.
    pub request: Option<RequestTemplate>,
}

/// What one iteration observed. Phase latencies are set for the phases that completed.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// A TCP connection was established (whatever happened next).
    pub connected: bool,
    pub connect: Option<Duration>,
    pub handshake: Option<Duration>,
    pub request: Option<Duration>,
    /// The handshake resumed a session.
    pub resumed: bool,
    pub version: Option<ProtocolVersion>,
    /// The response status, when a response arrived.
    pub status: Option<u16>,
    pub error: Option<ErrorClass>,
}

/// One worker: a connector (with its own session store in `resume` mode) and, in `keepalive`
/// mode, its connection.
pub struct Worker {
    mode: Mode,
    target: Arc<Target>,
    connector: TlsConnector,
    kept: Option<KeptConn>,
}

impl Worker {
    /// `config` is the run's shared configuration (resumption off); `resume` workers copy it
    /// once to give themselves a session store.
    pub fn new(mode: Mode, target: Arc<Target>, config: &Arc<ClientConfig>) -> Worker {
        let config = match mode {
            Mode::Resume => client_tls::with_session_store(config),
            _ => config.clone(),
        };
        Worker {
            mode,
            target,
            connector: TlsConnector::from(config),
            kept: None,
        }
    }

    pub async fn iterate(&mut self) -> Outcome {
        let mut out = Outcome::default();
        let result = match self.mode {
            Mode::Handshake | Mode::Resume => self.handshake_only(&mut out).await,
            Mode::Full => self.full(&mut out).await,
            Mode::Keepalive => self.keepalive(&mut out).await,
        };
        if let Err(e) = result {
            out.error = Some(e);
        }
        out
    }

    async fn handshake_only(&mut self, out: &mut Outcome) -> Result<(), ErrorClass> {
        let mut tls = self.open(out).await?;
        close_and_wait(&mut tls, self.target.timeout).await
    }

    async fn full(&mut self, out: &mut Outcome) -> Result<(), ErrorClass> {
        let tls = self.open(out).await?;
        let Some(request) = &self.target.request else {
            return Ok(());
        };
        let done = exchange_once(tls, request, self.target.timeout).await?;
        out.request = Some(done.took);
        check_status(out, done.status)
    }

    async fn keepalive(&mut self, out: &mut Outcome) -> Result<(), ErrorClass> {
        let Some(request) = self.target.request.as_ref() else {
            return Ok(());
        };
        let to = self.target.timeout;
        if self.kept.as_ref().is_none_or(KeptConn::is_closed) {
            self.kept = None;
            let tls = self.open(out).await?;
            let conn = timeout(to, KeptConn::open(tls, request.is_http2()))
                .await
                .map_err(|_| ErrorClass::Timeout(Phase::Request))??;
            self.kept = Some(conn);
        }
        let Some(conn) = self.kept.as_mut() else {
            return Ok(());
        };
        let started = Instant::now();
        let result = match timeout(to, conn.send(request, to)).await {
            Ok(r) => r,
            Err(_) => Err(ErrorClass::Timeout(Phase::Request)),
        };
        let status = match result {
            Ok(s) => s,
            Err(e) => {
                // Whatever went wrong, this connection is not to be trusted with the next one.
                self.kept = None;
                return Err(e);
            }
        };
        out.request = Some(started.elapsed());
        check_status(out, status)
    }

    /// TCP connect and TLS handshake, each under the phase timeout.
    async fn open(&self, out: &mut Outcome) -> Result<TlsStream<Transport>, ErrorClass> {
        let to = self.target.timeout;
        let t0 = Instant::now();
        let tcp = match timeout(to, TcpStream::connect(self.target.addr)).await {
            Err(_) => return Err(ErrorClass::Timeout(Phase::Connect)),
            Ok(Err(e)) => return Err(classify::connect(&e)),
            Ok(Ok(tcp)) => tcp,
        };
        out.connected = true;
        // Handshake flights are small writes that must not wait for Nagle.
        let _ = tcp.set_nodelay(true);
        let t1 = Instant::now();
        out.connect = Some(t1 - t0);
        let name = self.target.server_name.clone();
        let tls = match timeout(to, self.connector.connect(name, Transport::new(tcp))).await {
            Err(_) => return Err(ErrorClass::Timeout(Phase::Handshake)),
            Ok(Err(e)) => return Err(classify::io(&e, Phase::Handshake)),
            Ok(Ok(tls)) => tls,
        };
        out.handshake = Some(t1.elapsed());
        let (_, conn) = tls.get_ref();
        out.resumed = conn.handshake_kind() == Some(HandshakeKind::Resumed);
        out.version = conn.protocol_version();
        Ok(tls)
    }
}

fn check_status(out: &mut Outcome, status: u16) -> Result<(), ErrorClass> {
    out.status = Some(status);
    if status >= 400 {
        return Err(ErrorClass::Http(status));
    }
    Ok(())
}

/// Sends close_notify (and FIN), then reads until the server closes. Reading is what surfaces a
/// TLS 1.3 server's alert about the client certificate, and what takes in session tickets.
async fn close_and_wait(tls: &mut TlsStream<Transport>, limit: Duration) -> Result<(), ErrorClass> {
    let work = async {
        // Writes to a server that already left are absorbed (see `transport`); its alert, if
        // any, is read below.
        let shutdown = tls.shutdown().await;
        let mut buf = [0u8; 512];
        let read = loop {
            match tls.read(&mut buf).await {
                Ok(0) => break Ok(()),
                Ok(_) => continue,
                // The server closed the TCP connection without close_notify: still closed.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break Ok(()),
                Err(e) => break Err(classify::io(&e, Phase::Close)),
            }
        };
        match (read, shutdown) {
            (Err(e), _) => Err(e),
            (Ok(()), Err(e)) => Err(classify::io(&e, Phase::Close)),
            (Ok(()), Ok(())) => Ok(()),
        }
    };
    timeout(limit, work)
        .await
        .map_err(|_| ErrorClass::Timeout(Phase::Close))?
}
