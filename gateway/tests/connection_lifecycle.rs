//! Every phase of a connection has an end: silent TLS connections (any ALPN, half an HTTP/2
//! preface) are closed after `header_read_timeout` and no longer lock out other clients; the
//! protocol is the one ALPN agreed; connections past `max_connection_age`, or whose certificate a
//! reload revokes, are closed gracefully; a per-address connection cap; trailers never carry
//! identity headers to the provider; a client's malformed chunked body is the client's fault.

mod support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

/// A TLS connection to the plain domain offering `alpn` (none when empty), handshake done.
async fn tls(
    addr: std::net::SocketAddr,
    alpn: &[&[u8]],
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let mut config = Client::new(DOMAIN, None, Proto::H1).config();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = TcpStream::connect(addr).await?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from(DOMAIN).unwrap(), tcp)
        .await
}

/// Whether the server closes `stream` within `limit`.
async fn closed_within<S: tokio::io::AsyncRead + Unpin>(s: &mut S, limit: Duration) -> bool {
    let mut buf = [0u8; 256];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn silent_tls_connections_no_longer_lock_out_other_clients() {
    let g = Harness::start(Options {
        tables: "[limits]\nmax_connections = 8\nheader_read_timeout = \"1s\"\n".into(),
        ..Options::default()
    })
    .await;
    let mut silent = Vec::new();
    for alpn in [&[b"h2" as &[u8]][..], &[b"http/1.1"], &[]]
        .iter()
        .cycle()
        .take(7)
    {
        silent.push(tls(g.addr, alpn).await.expect("handshake"));
    }
    // Half an HTTP/2 preface, then nothing.
    let mut half = tls(g.addr, &[b"h2"]).await.expect("handshake");
    half.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    silent.push(half);
    // Every slot is taken: a normal client is refused.
    let c = Client::new(DOMAIN, None, Proto::H1);
    assert!(c.request(g.addr, Req::get(DOMAIN, "/x")).await.is_err());
    for s in &mut silent {
        assert!(
            closed_within(s, Duration::from_secs(5)).await,
            "a silent connection stayed open"
        );
    }
    let r = c.request(g.addr, Req::get(DOMAIN, "/x")).await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    // The HTTP/2 ones (three silent, one half preface) by the first-request timer; the HTTP/1.1
    // ones by it or, at the same instant, by hyper's own header timeout.
    let m = g.metrics().await;
    let closed = metric(
        &m,
        "mtls_gateway_connections_closed_total{reason=\"no_request\"}",
    );
    assert!(closed >= 4.0, "{m}");
}

#[tokio::test]
async fn the_protocol_is_the_one_alpn_agreed() {
    let g = Harness::start(Options::default()).await;
    // HTTP/1.1 on a connection negotiated as h2: a protocol error, never served.
    let mut s = tls(g.addr, &[b"h2"]).await.unwrap();
    s.write_all(b"GET /x HTTP/1.1\r\nHost: auth.example.com\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut got)).await;
    assert!(!String::from_utf8_lossy(&got).contains("200 OK"), "{got:?}");
    // An HTTP/2 preface on a connection negotiated as http/1.1: answered as HTTP/1.1 (400).
    let mut s = tls(g.addr, &[b"http/1.1"]).await.unwrap();
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut got)).await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.is_empty() || text.starts_with("HTTP/1.1 4"), "{text}");
    assert_eq!(g.upstream_requests(), 0);
}

#[tokio::test]
async fn old_connections_and_revoked_certificates_are_closed_gracefully() {
    let g = Harness::start(Options {
        tables: "[limits]\nmax_connection_age = \"2s\"\n".into(),
        mtls_extra: "deny_list = \"deny.toml\"".into(),
        files: vec![("deny.toml".into(), "sha256 = []\n".into())],
        ..Options::default()
    })
    .await;
    let p = pki();
    // An alias connection whose certificate is denied by a reload: closed soon after it.
    let client = Client::new(ALIAS, Some(ClientCert::leaf(&p.client)), Proto::H2);
    let io = client.connect(g.addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(io))
            .await
            .unwrap();
    let ended = tokio::spawn(conn);
    let req = Request::post(format!("https://{ALIAS}/oauth/token"))
        .body(Full::new(Bytes::from_static(b"grant_type=x")))
        .unwrap();
    assert_eq!(
        sender.send_request(req).await.unwrap().status(),
        StatusCode::OK
    );
    let thumbprint = mtls_certs::Thumbprint::of(&p.client.cert_der).hex();
    std::fs::write(
        g.dir.path().join("deny.toml"),
        format!("sha256 = [\"{thumbprint}\"]\n"),
    )
    .unwrap();
    let gateway = g.gateway.as_ref().unwrap();
    assert!(gateway
        .reloader()
        .reload_from(&g.dir.path().join("gateway.toml")));
    let closed = tokio::time::timeout(Duration::from_secs(1), ended).await;
    assert!(closed.is_ok(), "the denied client's connection stayed open");
    // A plain-domain connection is closed at its maximum age.
    let plain = Client::new(DOMAIN, None, Proto::H2);
    let io = plain.connect(g.addr).await.unwrap();
    let (_sender, conn) = hyper::client::conn::http2::handshake::<_, _, Full<Bytes>>(
        TokioExecutor::new(),
        TokioIo::new(io),
    )
    .await
    .unwrap();
    let ended = tokio::spawn(conn);
    let _keep = _sender;
    assert!(tokio::time::timeout(Duration::from_secs(5), ended)
        .await
        .is_ok());
    let m = g.metrics().await;
    assert_eq!(
        metric(
            &m,
            "mtls_gateway_connections_closed_total{reason=\"trust_changed\"}"
        ),
        1.0,
        "{m}"
    );
    assert!(
        metric(
            &m,
            "mtls_gateway_connections_closed_total{reason=\"max_age\"}"
        ) >= 1.0
    );
}

#[tokio::test]
async fn connections_per_address_are_capped_when_configured() {
    let g = Harness::start(Options {
        tables: "[limits]\nmax_connections_per_ip = 2\n".into(),
        ..Options::default()
    })
    .await;
    let a = tls(g.addr, &[b"http/1.1"]).await.unwrap();
    let b = tls(g.addr, &[b"http/1.1"]).await.unwrap();
    assert!(tls(g.addr, &[b"http/1.1"]).await.is_err());
    drop((a, b));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = Client::new(DOMAIN, None, Proto::H1)
        .request(g.addr, Req::get(DOMAIN, "/x"))
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    let m = g.metrics().await;
    assert_eq!(
        metric(
            &m,
            "mtls_gateway_connections_refused_total{kind=\"max_connections_per_ip\"}"
        ),
        1.0
    );
}

#[tokio::test]
async fn trailers_never_carry_identity_headers_upstream() {
    let g = Harness::start(Options::default()).await;
    let p = pki();
    let client = Client::new(ALIAS, Some(ClientCert::leaf(&p.client)), Proto::H2);
    let io = client.connect(g.addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(io))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut trailers = HeaderMap::new();
    trailers.insert("client-certificate", HeaderValue::from_static("evil"));
    trailers.insert(
        "client-certificate-ca-verified",
        HeaderValue::from_static("SUCCESS"),
    );
    trailers.insert("cname-api-key", HeaderValue::from_static("stolen"));
    trailers.insert("true-client-ip", HeaderValue::from_static("203.0.113.9"));
    let body = Full::new(Bytes::from_static(b"grant_type=x"))
        .with_trailers(Box::pin(async move { Some(Ok(trailers)) }));
    let req = Request::post(format!("https://{ALIAS}/oauth/token"))
        .header("te", "trailers")
        .body(body)
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let echoed: serde_json::Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(echoed["trailers"], serde_json::json!([]), "{echoed}");
    assert_eq!(echoed["body"], "grant_type=x");
}

#[tokio::test]
async fn a_malformed_chunked_body_is_the_clients_fault() {
    let g = Harness::start(Options::default()).await;
    let mut s = tls(g.addr, &[b"http/1.1"]).await.unwrap();
    s.write_all(
        b"POST /oauth/token HTTP/1.1\r\nHost: auth.example.com\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nxx\r\n0\r\n\r\n",
    )
    .await
    .unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut got)).await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    let m = g.metrics().await;
    assert_eq!(
        metric(
            &m,
            "mtls_gateway_refusals_total{kind=\"bad_request\",fault=\"client\"}"
        ),
        1.0,
        "{m}"
    );
    assert!(!m.contains("mtls_gateway_upstream_errors_total{"), "{m}");
}

#[tokio::test]
async fn an_unknown_or_missing_server_name_gets_unrecognized_name() {
    let g = Harness::start(Options::default()).await;
    for (name, sni) in [("unknown.example.com", true), (DOMAIN, false)] {
        let mut config = Client::new(DOMAIN, None, Proto::H1).config();
        config.enable_sni = sni;
        let tcp = TcpStream::connect(g.addr).await.unwrap();
        let err = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from(name).unwrap(), tcp)
            .await
            .expect_err("no handshake without a served name");
        let tls_err = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
            .cloned();
        assert_eq!(
            tls_err,
            Some(rustls::Error::AlertReceived(
                rustls::AlertDescription::UnrecognisedName
            )),
            "{name} sni={sni}: {err}"
        );
    }
    // A served name still works on the same listener.
    let r = Client::new(DOMAIN, None, Proto::H2)
        .request(g.addr, Req::get(DOMAIN, "/x"))
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    let m = g.metrics().await;
    assert_eq!(
        metric(
            &m,
            "mtls_gateway_tls_handshakes_total{host_kind=\"domain\",outcome=\"unknown_sni\",version=\"unknown\",resumed=\"false\"}"
        ),
        2.0
    );
}
