//! Against the real gateway, started in-process from a configuration file, with its echo
//! upstream: the token endpoint on the mTLS alias, kept-alive HTTP/1.1 and HTTP/2, and a path
//! the alias does not forward.

mod support;

use support::*;

const TOKEN: &[&str] = &[
    "-X",
    "POST",
    "--path",
    "/oauth/token",
    "-H",
    "content-type: application/x-www-form-urlencoded",
    "--body",
    "grant_type=client_credentials",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_mode_token_requests_on_the_alias_all_get_200() {
    let gw = Gateway::start().await;
    let s = run(&with(
        with(client_args(gw.addr, ALIAS), TOKEN),
        &["--mode", "full", "--count", "40", "-c", "4"],
    ))
    .await;
    assert_eq!((s.successes, s.errors), (40, 0), "{:?}", s.errors_by_class);
    assert_eq!(s.http_status.get("200"), Some(&40));
    assert_eq!(s.handshakes, 40);
    assert_eq!(s.resumed, 0);

    let s = run(&with(
        with(client_args(gw.addr, ALIAS), TOKEN),
        &["--mode", "full", "--http2", "--count", "20", "-c", "2"],
    ))
    .await;
    assert_eq!(s.http.as_deref(), Some("h2"));
    assert_eq!(
        (s.successes, s.errors),
        (20, 0),
        "h2: {:?}",
        s.errors_by_class
    );
    assert_eq!(s.http_status.get("200"), Some(&20));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_mode_against_the_gateway() {
    let gw = Gateway::start().await;
    for tls in ["1.3", "1.2"] {
        let s = run(&with(
            client_args(gw.addr, ALIAS),
            &[
                "--mode",
                "handshake",
                "--tls",
                tls,
                "--count",
                "30",
                "-c",
                "3",
            ],
        ))
        .await;
        assert_eq!(
            (s.successes, s.errors),
            (30, 0),
            "TLS {tls}: {:?}",
            s.errors_by_class
        );
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_gives_the_exact_request_count_over_http1_and_http2() {
    let gw = Gateway::start().await;
    for http2 in [false, true] {
        let mut args = with(
            with(client_args(gw.addr, ALIAS), TOKEN),
            &["--mode", "keepalive", "--count", "120", "-c", "3"],
        );
        if http2 {
            args.push("--http2".into());
        }
        let s = run(&args).await;
        let proto = if http2 { "h2" } else { "http/1.1" };
        assert_eq!(s.http.as_deref(), Some(proto));
        assert_eq!(
            (s.successes, s.errors),
            (120, 0),
            "{proto}: {:?}",
            s.errors_by_class
        );
        assert_eq!(s.responses, 120, "{proto}");
        assert_eq!(s.http_status.get("200"), Some(&120), "{proto}");
        assert!(
            s.connections <= 3,
            "{proto}: {} connections for 3 workers",
            s.connections
        );
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_the_alias_does_not_forward_counts_as_404() {
    let gw = Gateway::start().await;
    for extra in [
        &["--mode", "full"][..],
        &["--mode", "keepalive", "--http2"][..],
    ] {
        let s = run(&with(
            with(
                client_args(gw.addr, ALIAS),
                &["--path", "/authorize", "--count", "15", "-c", "2"],
            ),
            extra,
        ))
        .await;
        assert_eq!((s.successes, s.errors), (0, 15), "{extra:?}");
        assert_eq!(
            s.errors_by_class.get("http:404"),
            Some(&15),
            "{extra:?}: {:?}",
            s.errors_by_class
        );
        assert_eq!(s.http_status.get("404"), Some(&15));
        assert_eq!(s.responses, 15);
    }
    gw.stop().await;
}
