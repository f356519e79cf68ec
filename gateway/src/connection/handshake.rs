//! The TLS handshake: ClientHello → host by SNI → that host's `ServerConfig` → handshake → the
//! connection's facts.

use std::net::SocketAddr;
use std::sync::Arc;

use mtls_policies::HostKind;
use rustls::pki_types::UnixTime;
use rustls::server::{Accepted, Acceptor};
use rustls::HandshakeKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::StartHandshake;

use super::outcome::{HandshakeFailure, HandshakeOutcome};
use super::{client_ip_value, Connection};
use crate::metrics::TlsVersion;
use crate::state::{Host, State};

/// Completes the handshake on `tcp` within the state's `handshake_timeout`, or says why not.
pub async fn accept_tls(
    tcp: TcpStream,
    peer: SocketAddr,
    state: &State,
) -> Result<(TlsStream<TcpStream>, Connection), HandshakeFailure> {
    let fail = |outcome, host_kind| HandshakeFailure {
        outcome,
        host_kind,
        version: TlsVersion::Unknown,
        resumed: false,
    };
    let timeout = state.config.limits.handshake_timeout;
    let (host, tls) = match tokio::time::timeout(timeout, handshake(tcp, state)).await {
        Err(_) => return Err(fail(HandshakeOutcome::Timeout, HostKind::Domain)),
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "no usable ClientHello");
            return Err(fail(HandshakeOutcome::BadClientHello, HostKind::Domain));
        }
        Ok(Ok((None, _))) => return Err(fail(HandshakeOutcome::UnknownSni, HostKind::Domain)),
        Ok(Ok((Some(host), Err(e)))) => {
            let outcome = HandshakeOutcome::of_handshake_error(&e);
            tracing::debug!(%peer, host = %host.name, error = %e, ?outcome, "handshake failed");
            return Err(fail(outcome, host.kind));
        }
        Ok(Ok((Some(host), Ok(tls)))) => (host, tls),
    };
    let connection = facts(host, peer, &tls)?;
    Ok((tls, connection))
}

type Handshake = (Option<Arc<Host>>, std::io::Result<TlsStream<TcpStream>>);

/// A fatal `unrecognized_name` alert record (RFC 6066 §3), for a ClientHello naming no host we
/// serve, or none.
const UNRECOGNIZED_NAME_ALERT: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x70];

/// Reads the ClientHello and runs the handshake with the config of the host it names. A name we
/// don't serve is answered with an `unrecognized_name` alert before any handshake.
async fn handshake(mut tcp: TcpStream, state: &State) -> std::io::Result<Handshake> {
    let accepted = read_client_hello(&mut tcp).await?;
    let sni = accepted
        .client_hello()
        .server_name()
        .map(|s| s.trim_end_matches('.').to_ascii_lowercase());
    let Some(host) = sni.as_deref().and_then(|s| state.host(s)).cloned() else {
        let _ = tcp.write_all(&UNRECOGNIZED_NAME_ALERT).await;
        return Ok((None, Err(std::io::ErrorKind::NotFound.into())));
    };
    let config = host.tls.clone();
    let start = StartHandshake::from_parts(accepted, tcp);
    Ok((Some(host), start.into_stream(config).await))
}

/// Feeds the socket to a rustls `Acceptor` until a whole ClientHello has arrived (anything read
/// past it stays buffered in the acceptor). A malformed one gets rustls' alert.
async fn read_client_hello(tcp: &mut TcpStream) -> std::io::Result<Accepted> {
    let mut acceptor = Acceptor::default();
    let mut buf = [0u8; 2048];
    loop {
        let n = tcp.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let mut read = &buf[..n];
        while !read.is_empty() {
            acceptor.read_tls(&mut read)?;
        }
        match acceptor.accept() {
            Ok(Some(accepted)) => return Ok(accepted),
            Ok(None) => continue,
            Err((e, mut alert)) => {
                let mut out = Vec::new();
                let _ = alert.write(&mut out);
                let _ = tcp.write_all(&out).await;
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e));
            }
        }
    }
}

/// The connection's facts, gathered once. On the alias the certificate's verdict comes from the
/// trust's cache after a full handshake, and is a real re-check after a resumed one (rustls does
/// not call the verifier then), so a reload's new CRL or deny-list entry applies to resumption.
fn facts(
    host: Arc<Host>,
    peer: SocketAddr,
    tls: &TlsStream<TcpStream>,
) -> Result<Connection, HandshakeFailure> {
    let (_, conn) = tls.get_ref();
    let tls_version = TlsVersion::of(conn.protocol_version());
    let resumed = conn.handshake_kind() == Some(HandshakeKind::Resumed);
    let identity = match (&host.domain.trust, host.kind, conn.peer_certificates()) {
        (Some(trust), HostKind::Alias, Some([leaf, intermediates @ ..])) => {
            match trust.evaluate(leaf, intermediates, UnixTime::now()) {
                Ok(id) => Some(id),
                Err(e) => {
                    tracing::info!(%peer, host = %host.name, error = %e, resumed, "client certificate no longer acceptable");
                    return Err(HandshakeFailure {
                        outcome: HandshakeOutcome::NoLongerAcceptable,
                        host_kind: host.kind,
                        version: tls_version,
                        resumed,
                    });
                }
            }
        }
        _ => None,
    };
    Ok(Connection {
        host,
        peer,
        client_ip: client_ip_value(peer),
        identity,
        tls_version,
        resumed,
    })
}
