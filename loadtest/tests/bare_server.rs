//! Against a bare rustls + tokio server that requires client certificates: exact counts per
//! mode, resumption on both TLS versions, and failures classified by name.

mod support;

use rustls::version::{TLS12, TLS13};
use support::*;

const N: u64 = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_mode_gives_exactly_n_successes() {
    let server = BareServer::start(&[&TLS13, &TLS12]).await;
    let s = run(&with(
        client_args(server.addr, ALIAS),
        &["--mode", "handshake", "--count", &N.to_string(), "-c", "4"],
    ))
    .await;
    assert_eq!(
        (s.attempts, s.successes, s.errors),
        (N, N, 0),
        "{:?}",
        s.errors_by_class
    );
    assert_eq!(s.handshakes, N);
    assert_eq!(s.resumed, 0, "resumption is off outside resume mode");
    assert_eq!(s.tls_versions.tls13, N, "TLS 1.3 is preferred");
    assert_eq!(s.responses, 0);
    assert_eq!(s.latency_us.handshake.count, N);
    assert_eq!(s.latency_us.request.count, 0);
    assert!(s.request.is_none());
    assert_eq!(
        server.handshakes.load(std::sync::atomic::Ordering::Relaxed),
        N
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_mode_gives_exactly_n_responses() {
    let server = BareServer::start(&[&TLS13, &TLS12]).await;
    let s = run(&with(
        client_args(server.addr, ALIAS),
        &[
            "--mode",
            "full",
            "--count",
            &N.to_string(),
            "-c",
            "4",
            "--path",
            "/x",
        ],
    ))
    .await;
    assert_eq!(
        (s.attempts, s.successes, s.errors),
        (N, N, 0),
        "{:?}",
        s.errors_by_class
    );
    assert_eq!(s.responses, N);
    assert_eq!(s.http_status.get("200"), Some(&N));
    assert_eq!(s.connections, N);
    assert_eq!(s.latency_us.request.count, N);
    assert_eq!(s.request.as_deref(), Some("GET /x"));
    assert!(s.latency_us.total.p50_us >= s.latency_us.handshake.p50_us);
}

async fn resumption_ratio(version: &'static rustls::SupportedProtocolVersion, flag: &str) {
    let server = BareServer::start(&[version]).await;
    let s = run(&with(
        client_args(server.addr, ALIAS),
        &[
            "--mode", "resume", "--tls", flag, "--count", "60", "-c", "3",
        ],
    ))
    .await;
    assert_eq!((s.successes, s.errors), (60, 0), "{:?}", s.errors_by_class);
    let ratio = s.resumption_ratio.expect("handshakes happened");
    // Each worker's first handshake is necessarily full; after that, sessions are reused.
    assert!(ratio > 0.5, "TLS {flag}: resumption ratio {ratio}");
    assert_eq!(s.resumed as f64 / s.handshakes as f64, ratio);
    match flag {
        "1.3" => assert_eq!(s.tls_versions.tls13, 60),
        _ => assert_eq!(s.tls_versions.tls12, 60),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_mode_resumes_tls13_sessions() {
    resumption_ratio(&TLS13, "1.3").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_mode_resumes_tls12_sessions() {
    resumption_ratio(&TLS12, "1.2").await;
}

/// An expired client certificate: the server's alert arrives by name, on both versions (in
/// TLS 1.3 only after the client's side of the handshake is done) and in every mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_client_certificate_is_an_alert_by_name() {
    let server = BareServer::start(&[&TLS13, &TLS12]).await;
    for (mode, tls) in [
        ("handshake", "1.3"),
        ("handshake", "1.2"),
        ("full", "1.3"),
        ("full", "1.2"),
        ("keepalive", "1.3"),
    ] {
        let mut args = client_args(server.addr, ALIAS);
        let i = args.iter().position(|a| a == "--cert").expect("cert") + 1;
        args[i] = file("expired.pem");
        args[i + 2] = file("expired.key");
        let s = run(&with(
            args,
            &["--mode", mode, "--tls", tls, "--count", "10", "-c", "2"],
        ))
        .await;
        assert_eq!((s.successes, s.errors), (0, 10), "{mode} {tls}");
        assert_eq!(
            s.errors_by_class.get("alert:certificate_expired"),
            Some(&10),
            "{mode} TLS {tls}: {:?}",
            s.errors_by_class
        );
        assert_eq!(s.connections, 10);
        assert_eq!(
            s.latency_us.handshake.count, 0,
            "failures stay out of the latencies"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_client_certificate_is_an_alert_by_name() {
    let server = BareServer::start(&[&TLS13]).await;
    let args: Vec<String> = [
        "mtls-loadtest",
        "--connect",
        &server.addr.to_string(),
        "--sni",
        ALIAS,
        "--cacert",
        &file("root.pem"),
        "--mode",
        "handshake",
        "--count",
        "5",
        "--quiet",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let s = run(&args).await;
    assert_eq!(
        s.errors_by_class.get("alert:certificate_required"),
        Some(&5),
        "{:?}",
        s.errors_by_class
    );
    assert!(!s.client_cert);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_server_certificate_is_refused_locally() {
    let server = BareServer::start(&[&TLS13]).await;
    let mut args = client_args(server.addr, ALIAS);
    let i = args.iter().position(|a| a == "--cacert").expect("cacert") + 1;
    args[i] = file("self-signed-ca.pem");
    let s = run(&with(args, &["--mode", "handshake", "--count", "5"])).await;
    assert_eq!(
        s.errors_by_class.get("tls:server_cert_unknown_issuer"),
        Some(&5),
        "{:?}",
        s.errors_by_class
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_port_is_connect_refused() {
    let s = run(&with(
        client_args(closed_port(), ALIAS),
        &["--mode", "full", "--count", "7", "-c", "2"],
    ))
    .await;
    assert_eq!((s.successes, s.errors), (0, 7));
    assert_eq!(
        s.errors_by_class.get("connect_refused"),
        Some(&7),
        "{:?}",
        s.errors_by_class
    );
    assert_eq!(s.connections, 0);
    assert!(s
        .warnings
        .iter()
        .any(|w| w.contains("no iteration succeeded")));
}

/// Open loop: exactly the counted iterations, each with a start lag, and the latency measured
/// from the intended start so it can never be below the start lag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_runs_exactly_count_iterations() {
    let server = BareServer::start(&[&TLS13]).await;
    let s = run(&with(
        client_args(server.addr, ALIAS),
        &[
            "--mode",
            "handshake",
            "--rate",
            "400/s",
            "--count",
            "30",
            "-c",
            "8",
        ],
    ))
    .await;
    assert_eq!(
        (s.attempts, s.successes),
        (30, 30),
        "{:?}",
        s.errors_by_class
    );
    assert_eq!(s.loop_kind, "open");
    assert_eq!(s.target_rate, Some(400.0));
    let lag = s
        .latency_us
        .start_lag
        .as_ref()
        .expect("open loop reports start lag");
    assert_eq!(lag.count, 30);
    assert!(s.latency_us.total.max_us >= lag.max_us);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_against_the_bare_server_reuses_connections() {
    let server = BareServer::start(&[&TLS13]).await;
    let s = run(&with(
        client_args(server.addr, ALIAS),
        &["--mode", "keepalive", "--count", "50", "-c", "2"],
    ))
    .await;
    assert_eq!((s.successes, s.errors), (50, 0), "{:?}", s.errors_by_class);
    assert_eq!(s.responses, 50);
    assert!(
        s.connections <= 2,
        "at most one connection per worker: {}",
        s.connections
    );
    assert_eq!(s.handshakes, s.connections);
}

/// A server that accepts TCP and never speaks: the handshake phase times out, by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_is_a_handshake_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let mut args = client_args(addr, ALIAS);
    let i = args.iter().position(|a| a == "--timeout").expect("timeout") + 1;
    args[i] = "200ms".into();
    let s = run(&with(
        args,
        &["--mode", "handshake", "--count", "4", "-c", "4"],
    ))
    .await;
    assert_eq!(
        s.errors_by_class.get("timeout:handshake"),
        Some(&4),
        "{:?}",
        s.errors_by_class
    );
    assert_eq!(s.connections, 4);
    holder.abort();
}
