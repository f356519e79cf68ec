//! Operating the gateway: metrics after a scripted mix, readiness, slow and idle clients,
//! connection limits, SIGTERM draining, and logs that never carry secrets.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use http::StatusCode;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_mtls-gateway");

fn metric(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_count_a_scripted_mix() {
    let h = Harness::start(Options::default()).await;
    let p = pki();
    let good = Client::new(ALIAS, Some(ClientCert::leaf(&p.client)), Proto::H2);
    for _ in 0..3 {
        assert_eq!(
            good.request(h.addr, Req::post(ALIAS, "/oauth/token", "x=1"))
                .await
                .unwrap()
                .status,
            StatusCode::OK
        );
    }
    let selfsigned = Client::new(
        ALIAS,
        Some(ClientCert::leaf(&p.self_signed_leaf)),
        Proto::H1,
    );
    assert_eq!(
        selfsigned
            .request(h.addr, Req::get(ALIAS, "/userinfo"))
            .await
            .unwrap()
            .status,
        StatusCode::OK
    );
    assert_eq!(
        good.request(h.addr, Req::get(ALIAS, "/authorize"))
            .await
            .unwrap()
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        good.request(h.addr, Req::get(DOMAIN, "/oauth/token"))
            .await
            .unwrap()
            .status,
        StatusCode::MISDIRECTED_REQUEST
    );
    let none = Client::new(ALIAS, None, Proto::H1);
    assert_eq!(
        none.request(h.addr, Req::get(ALIAS, "/userinfo"))
            .await
            .unwrap()
            .status,
        StatusCode::UNAUTHORIZED
    );
    let plain = Client::new(DOMAIN, None, Proto::H1);
    assert_eq!(
        plain
            .request(h.addr, Req::get(DOMAIN, "/authorize?x=1"))
            .await
            .unwrap()
            .status,
        StatusCode::OK
    );
    assert_eq!(
        plain
            .request(h.addr, Req::get(DOMAIN, "/some/other/path"))
            .await
            .unwrap()
            .status,
        StatusCode::OK
    );
    let expired = Client::new(ALIAS, Some(ClientCert::leaf(&p.expired)), Proto::H1);
    assert!(expired
        .request(h.addr, Req::get(ALIAS, "/userinfo"))
        .await
        .is_err());

    let m = h.metrics().await;
    let want = [
        ("mtls_gateway_requests_total{host_kind=\"alias\",route=\"/oauth/token\",status_class=\"2xx\"}", 3.0),
        ("mtls_gateway_requests_total{host_kind=\"alias\",route=\"/userinfo\",status_class=\"2xx\"}", 1.0),
        ("mtls_gateway_requests_total{host_kind=\"alias\",route=\"/authorize\",status_class=\"4xx\"}", 1.0),
        ("mtls_gateway_requests_total{host_kind=\"domain\",route=\"/authorize\",status_class=\"2xx\"}", 1.0),
        ("mtls_gateway_requests_total{host_kind=\"domain\",route=\"other\",status_class=\"2xx\"}", 1.0),
        ("mtls_gateway_refusals_total{kind=\"not_found\",fault=\"client\"}", 1.0),
        ("mtls_gateway_refusals_total{kind=\"misdirected\",fault=\"client\"}", 1.0),
        ("mtls_gateway_refusals_total{kind=\"client_certificate_required\",fault=\"client\"}", 1.0),
        ("mtls_gateway_client_cert_verdicts_total{outcome=\"success\",reason=\"none\"}", 5.0),
        ("mtls_gateway_client_cert_verdicts_total{outcome=\"failed\",reason=\"self_signed\"}", 1.0),
        ("mtls_gateway_client_cert_verdicts_total{outcome=\"none\",reason=\"none\"}", 1.0),
        ("mtls_gateway_client_cert_verdicts_total{outcome=\"refused\",reason=\"cert_expired\"}", 1.0),
        ("mtls_gateway_request_duration_seconds_count{host_kind=\"alias\"}", 7.0),
        ("mtls_gateway_upstream_duration_seconds_count", 6.0),
        ("mtls_gateway_active_connections", 0.0),
    ];
    for (series, value) in want {
        assert_eq!(metric(&m, series), value, "{series}\n{m}");
    }
    assert!(
        metric(
            &m,
            "mtls_gateway_server_cert_expiry_timestamp_seconds{domain=\"auth.example.com\"}"
        ) > 1.7e9
    );
    let handshakes_ok: f64 = m
        .lines()
        .filter(|l| {
            l.starts_with("mtls_gateway_tls_handshakes_total{") && l.contains("outcome=\"ok\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(handshakes_ok, 9.0, "{m}");
    // Bounded labels: no path, thumbprint or address ever appears in a series.
    assert!(!m.contains("some/other"), "{m}");
    assert!(!m.contains("127.0.0.1"), "{m}");
}

#[tokio::test]
async fn readiness_follows_the_upstream() {
    let up = Harness::start(Options::default()).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = admin_get(up.admin, "/readyz").await;
        if r.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "never ready: {r}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(admin_get(up.admin, "/healthz")
        .await
        .starts_with("HTTP/1.1 200"));
    let down = Harness::start(Options {
        upstream: Upstream::Refused,
        ..Options::default()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = admin_get(down.admin, "/readyz").await;
    assert!(r.starts_with("HTTP/1.1 503"), "{r}");
    assert!(r.contains("auth.example.com"), "{r}");
    assert!(admin_get(down.admin, "/healthz")
        .await
        .starts_with("HTTP/1.1 200"));
}

/// Waits until the server closes `stream` (EOF or error), or `limit` passes. Returns whether it closed.
async fn closed_within<S: tokio::io::AsyncRead + Unpin>(stream: &mut S, limit: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// A client trickling its request head one byte a second is closed once the header timeout passes,
/// while the gateway keeps serving others.
#[tokio::test]
async fn slowloris_is_closed_by_the_header_timeout() {
    let h = Harness::start(Options {
        tables: "[limits]\nheader_read_timeout = \"2s\"".into(),
        ..Options::default()
    })
    .await;
    let client = Client::new(DOMAIN, None, Proto::H1);
    let mut tls = client.connect(h.addr).await.unwrap();
    let head = b"GET /authorize HTTP/1.1\r\nHost: auth.example.com\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let started = Instant::now();
    let mut closed = false;
    for byte in head.iter().take(30) {
        if tls.write_all(&[*byte]).await.is_err() || tls.flush().await.is_err() {
            closed = true;
            break;
        }
        if closed_within(&mut tls, Duration::from_secs(1)).await {
            closed = true;
            break;
        }
    }
    assert!(
        closed,
        "the slow client was still connected after {:?}",
        started.elapsed()
    );
    // Others are still served.
    let r = client
        .request(h.addr, Req::get(DOMAIN, "/authorize"))
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(h.upstream_requests(), 1);
}

/// An HTTP/1.1 keep-alive connection that goes quiet is closed by the gateway.
#[tokio::test]
async fn idle_keepalive_connections_are_closed() {
    let h = Harness::start(Options {
        tables: "[limits]\nheader_read_timeout = \"1s\"".into(),
        ..Options::default()
    })
    .await;
    let mut tls = Client::new(DOMAIN, None, Proto::H1)
        .connect(h.addr)
        .await
        .unwrap();
    tls.write_all(b"GET /x HTTP/1.1\r\nHost: auth.example.com\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tls.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert!(
        closed_within(&mut tls, Duration::from_secs(20)).await,
        "idle connection never closed"
    );
}

/// Past `max_connections`, new connections are closed at once; a client already connected keeps
/// being served.
#[tokio::test]
async fn connections_past_the_limit_are_refused_early() {
    let h = Harness::start(Options {
        tables: "[limits]\nmax_connections = 4\nhandshake_timeout = \"30s\"".into(),
        ..Options::default()
    })
    .await;
    let tls = Client::new(DOMAIN, None, Proto::H1)
        .connect(h.addr)
        .await
        .unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    let get = || {
        http::Request::get("/first")
            .header("host", DOMAIN)
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap()
    };
    assert_eq!(
        sender.send_request(get()).await.unwrap().status(),
        StatusCode::OK
    );

    let mut idle = Vec::new();
    for _ in 0..10 {
        idle.push(tokio::net::TcpStream::connect(h.addr).await.unwrap());
    }
    let mut closed = 0;
    for s in &mut idle {
        if closed_within(s, Duration::from_millis(500)).await {
            closed += 1;
        }
    }
    assert_eq!(
        closed, 7,
        "3 idle connections fit beside the active one; 7 must be refused"
    );
    assert_eq!(
        sender.send_request(get()).await.unwrap().status(),
        StatusCode::OK
    );
    let m = h.metrics().await;
    assert_eq!(
        metric(
            &m,
            "mtls_gateway_connections_refused_total{kind=\"max_connections\"}"
        ),
        7.0,
        "{m}"
    );
}

/// Starts the real binary on a prepared configuration; returns the child and its HTTPS address.
fn spawn_gateway(
    config: &std::path::Path,
    env: &[(&str, &str)],
) -> (std::process::Child, std::net::SocketAddr) {
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent && line.contains("listening") && !line.contains("admin") {
                if let Some(addr) = line
                    .rsplit("addr=")
                    .next()
                    .and_then(|a| a.trim().parse().ok())
                {
                    let _ = tx.send(addr);
                    sent = true;
                }
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("gateway did not start");
    (child, addr)
}

fn wait_exit(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < deadline, "process did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTERM while a slow upstream request is in flight: the request completes, new connections
/// are refused, and the process exits 0.
#[tokio::test]
async fn sigterm_drains_in_flight_requests() {
    let prepared = Prepared::new(Options {
        tables: "[limits]\ndrain_timeout = \"20s\"".into(),
        ..Options::default()
    })
    .await;
    let (mut child, addr) = spawn_gateway(&prepared.config_path, &[]);
    let slow = tokio::spawn(async move {
        Client::new(DOMAIN, None, Proto::H1)
            .request(
                addr,
                Req::get(DOMAIN, "/slow").header(mtls_testkit::echo::DELAY_HEADER, "1500"),
            )
            .await
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while prepared
        .echo
        .requests
        .load(std::sync::atomic::Ordering::SeqCst)
        == 0
    {
        assert!(
            Instant::now() < deadline,
            "slow request never reached the upstream"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    // New connections are refused once the listener is closed.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            break;
        }
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let resp = slow.await.unwrap().expect("in-flight request was cut");
    assert_eq!(resp.status, StatusCode::OK);
    let status =
        tokio::task::spawn_blocking(move || wait_exit(&mut child, Duration::from_secs(30)))
            .await
            .unwrap();
    assert_eq!(status.code(), Some(0));
}

/// The demo flow with debug logging: requests with every kind of certificate, and not one log
/// line carries the API key, a PEM or a private key.
#[test]
fn logs_never_contain_secrets() {
    for format in ["human", "json"] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let mut child = Command::new(BIN)
            .args([
                "--log-format",
                format,
                "demo",
                "--listen",
                "127.0.0.1:0",
                "--dir",
            ])
            .arg(dir.path())
            .env("MTLS_GATEWAY_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut commands = Vec::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if line.starts_with("curl ") {
                commands.push(line);
            } else if line.starts_with("ready") {
                break;
            }
        }
        assert_eq!(commands.len(), 5);
        for cmd in &commands {
            let spoof = " -H 'client-certificate: spoofed' -H 'cname-api-key: spoofed-key'";
            let out = Command::new("sh")
                .arg("-c")
                .arg(format!("{cmd}{spoof}"))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{cmd}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(wait_exit(&mut child, Duration::from_secs(30)).success());

        let text = std::fs::read_to_string(&log).unwrap();
        let api_key = std::fs::read_to_string(dir.path().join("cname-api-key")).unwrap();
        let client_pem = std::fs::read_to_string(dir.path().join("client.pem")).unwrap();
        let client_key = std::fs::read_to_string(dir.path().join("client.key")).unwrap();
        let body_line = |pem: &str| pem.lines().nth(2).unwrap().to_owned();
        // Positive control: the access log is there and names the certificate by thumbprint.
        assert!(text.contains("access"), "{format}: no access log:\n{text}");
        assert!(
            text.contains(&pki_thumbprint(&client_pem)),
            "{format}: thumbprint missing"
        );
        for secret in [
            api_key.trim().to_owned(),
            body_line(&client_pem),
            body_line(&client_key),
            "BEGIN".to_owned(),
            "PRIVATE KEY".to_owned(),
        ] {
            assert!(!text.contains(&secret), "{format}: log contains {secret:?}");
        }
        let escaped = mtls_certs::escaped_pem(&pem_der(&client_pem));
        assert!(
            !text.contains(&escaped[40..80]),
            "{format}: log contains the encoded certificate"
        );
    }
}

fn pem_der(pem: &str) -> Vec<u8> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .to_vec()
}

fn pki_thumbprint(pem: &str) -> String {
    mtls_certs::Thumbprint::of(&pem_der(pem)).hex()
}

/// Oversized request heads are refused by the HTTP layer and never reach the upstream.
#[tokio::test]
async fn oversized_request_heads_are_refused() {
    let h = Harness::start(Options {
        tables: "[limits]\nmax_headers = 20\nmax_header_bytes = 8192".into(),
        ..Options::default()
    })
    .await;
    let client = Client::new(DOMAIN, None, Proto::H1);
    let mut many = Req::get(DOMAIN, "/x");
    for i in 0..40 {
        many = many.header(&format!("x-h{i}"), "v");
    }
    let big = Req::get(DOMAIN, "/x").header("x-big", &"a".repeat(20_000));
    for req in [many, big] {
        // Closed without an answer is also a refusal; an answer must be a 4xx.
        if let Ok(r) = client.request(h.addr, req).await {
            assert!(r.status.is_client_error(), "{:?}", r.status);
        }
    }
    let ok = client
        .request(h.addr, Req::get(DOMAIN, "/x"))
        .await
        .unwrap();
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(h.upstream_requests(), 1);
}
