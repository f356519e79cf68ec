//! `crypto-floor probe`: one real connection (two with `--resume`) with the load generator's TLS
//! settings and one token request; prints what was negotiated and the HTTP status as one JSON
//! line.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, HandshakeKind};
use serde_json::json;

use crate::configs::{client_config, group_name};
use crate::{BoxError, Tls};

pub fn probe(
    connect: &str,
    sni: &str,
    cacert: &Path,
    cert: &Path,
    key_file: &Path,
    tls: Option<Tls>,
    resume: bool,
) -> Result<(), BoxError> {
    let line = negotiated(connect, sni, cacert, cert, key_file, tls, resume)?;
    println!("{line}");
    Ok(())
}

/// What the last connection negotiated, and the status line of its answer.
fn negotiated(
    connect: &str,
    sni: &str,
    cacert: &Path,
    cert: &Path,
    key_file: &Path,
    tls: Option<Tls>,
    resume: bool,
) -> Result<serde_json::Value, BoxError> {
    let config = client_config(cacert, cert, key_file, tls, resume, false)?;
    let name = ServerName::try_from(sni.to_owned())?;
    let rounds = if resume { 2 } else { 1 };
    let mut line = serde_json::Value::Null;
    for _ in 0..rounds {
        let mut sock = TcpStream::connect(connect).map_err(|e| format!("{connect}: {e}"))?;
        sock.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut conn = ClientConnection::new(config.clone(), name.clone())?;
        while conn.is_handshaking() {
            conn.complete_io(&mut sock)?;
        }
        let body = "grant_type=client_credentials";
        let request = format!(
            "POST /oauth/token HTTP/1.1\r\nHost: {sni}\r\n\
             content-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        );
        let mut stream = rustls::Stream::new(&mut conn, &mut sock);
        stream.write_all(request.as_bytes())?;
        let mut response = Vec::new();
        // Servers may close without close_notify; what was read is enough.
        let _ = stream.read_to_end(&mut response);
        let status = String::from_utf8_lossy(&response)
            .lines()
            .next()
            .unwrap_or("")
            .to_owned();
        line = json!({
            "version": conn.protocol_version().map(|v| format!("{v:?}")),
            "suite": conn.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite())),
            "group": group_name(conn.negotiated_key_exchange_group()),
            "resumed": conn.handshake_kind() == Some(HandshakeKind::Resumed),
            "status": status,
        });
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::sync::Arc;

    use rustls::ServerConnection;

    use super::*;
    use crate::configs::{server_config, ChainCheck};

    /// A TLS server shaped like the gateway that answers `connections` requests with 200.
    fn serve(connections: usize) -> String {
        let config = server_config(crate::test_pki_dir(), "server", ChainCheck::Cached)
            .expect("server config");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        std::thread::spawn(move || {
            for sock in listener.incoming().take(connections) {
                let mut sock = sock.expect("accept");
                let mut conn = ServerConnection::new(Arc::clone(&config)).expect("connection");
                let mut stream = rustls::Stream::new(&mut conn, &mut sock);
                let mut request = Vec::new();
                let mut chunk = [0u8; 4096];
                while !request.ends_with(b"client_credentials") {
                    let n = stream.read(&mut chunk).expect("read request");
                    assert!(n > 0, "the request ended early");
                    request.extend_from_slice(&chunk[..n]);
                }
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .expect("answer");
                conn.send_close_notify();
                let _ = conn.complete_io(&mut sock);
            }
        });
        addr
    }

    fn probe_with(tls: Tls, resume: bool) -> serde_json::Value {
        let dir = crate::test_pki_dir();
        let addr = serve(if resume { 2 } else { 1 });
        negotiated(
            &addr,
            "mtls.auth.example.com",
            &dir.join("root.pem"),
            &dir.join("client.pem"),
            &dir.join("client.key"),
            Some(tls),
            resume,
        )
        .expect("probe")
    }

    #[test]
    fn reports_what_was_negotiated_and_the_status() {
        let line = probe_with(Tls::V13, false);
        assert_eq!(line["version"], "TLSv1_3");
        assert_eq!(line["suite"], "TLS13_AES_256_GCM_SHA384");
        assert_eq!(line["group"], "X25519");
        assert_eq!(line["resumed"], false);
        assert_eq!(line["status"], "HTTP/1.1 200 OK");
    }

    #[test]
    fn with_resume_reports_the_second_connection() {
        let line = probe_with(Tls::V12, true);
        assert_eq!(line["version"], "TLSv1_2");
        assert_eq!(line["resumed"], true);
        assert_eq!(line["status"], "HTTP/1.1 200 OK");
    }
}
