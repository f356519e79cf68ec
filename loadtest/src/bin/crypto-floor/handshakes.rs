//! Whole rustls handshakes in memory, timed on the server side.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, HandshakeKind, ServerConfig, ServerConnection};

use crate::configs::group_name;
use crate::BoxError;

/// Runs one handshake in memory and returns the server side's wall time (its
/// `ServerConnection::new`, `read_tls`, `process_new_packets` and `write_tls` calls), including
/// the session tickets it sends after the handshake.
fn handshake(
    client_cfg: &Arc<ClientConfig>,
    server_cfg: &Arc<ServerConfig>,
    name: &ServerName<'static>,
    buf: &mut Vec<u8>,
) -> Result<(Duration, ServerConnection), BoxError> {
    let mut client = ClientConnection::new(client_cfg.clone(), name.clone())?;
    let started = Instant::now();
    let mut server = ServerConnection::new(server_cfg.clone())?;
    let mut server_time = started.elapsed();
    loop {
        let mut progressed = false;
        buf.clear();
        while client.wants_write() {
            client.write_tls(buf)?;
        }
        if !buf.is_empty() {
            progressed = true;
            let t = Instant::now();
            let mut rd = &buf[..];
            while !rd.is_empty() {
                server.read_tls(&mut rd)?;
                server.process_new_packets()?;
            }
            server_time += t.elapsed();
        }
        buf.clear();
        let t = Instant::now();
        while server.wants_write() {
            server.write_tls(buf)?;
        }
        server_time += t.elapsed();
        if !buf.is_empty() {
            progressed = true;
            let mut rd = &buf[..];
            while !rd.is_empty() {
                client.read_tls(&mut rd)?;
                client.process_new_packets()?;
            }
        }
        if !progressed {
            break;
        }
    }
    if client.is_handshaking() || server.is_handshaking() {
        return Err("in-memory handshake did not complete".into());
    }
    Ok((server_time, server))
}

/// The median server time per handshake, and what the last handshake negotiated.
pub struct HandshakeFigure {
    pub us: f64,
    pub version: String,
    pub suite: String,
    pub group: String,
    pub resumed_ratio: f64,
}

pub fn time_handshakes(
    client_cfg: Arc<ClientConfig>,
    server_cfg: Arc<ServerConfig>,
    batches: usize,
    per_batch: usize,
) -> Result<HandshakeFigure, BoxError> {
    let name = ServerName::try_from("mtls.auth.example.com")?;
    let mut buf = Vec::with_capacity(16 * 1024);
    // Warm-up, which also gives a resuming client its first session.
    let (_, first) = handshake(&client_cfg, &server_cfg, &name, &mut buf)?;
    let mut last = first;
    let mut samples = Vec::with_capacity(batches);
    let (mut total, mut resumed) = (0u32, 0u32);
    for _ in 0..per_batch / 4 {
        handshake(&client_cfg, &server_cfg, &name, &mut buf)?;
    }
    for _ in 0..batches {
        let mut sum = Duration::ZERO;
        for _ in 0..per_batch {
            let (t, conn) = handshake(&client_cfg, &server_cfg, &name, &mut buf)?;
            sum += t;
            total += 1;
            if conn.handshake_kind() == Some(HandshakeKind::Resumed) {
                resumed += 1;
            }
            last = conn;
        }
        samples.push(sum.as_secs_f64() * 1e6 / per_batch as f64);
    }
    samples.sort_by(f64::total_cmp);
    Ok(HandshakeFigure {
        us: samples[samples.len() / 2],
        version: last
            .protocol_version()
            .map(|v| format!("{v:?}"))
            .unwrap_or_default(),
        suite: last
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()))
            .unwrap_or_default(),
        group: group_name(last.negotiated_key_exchange_group()),
        resumed_ratio: f64::from(resumed) / f64::from(total.max(1)),
    })
}
