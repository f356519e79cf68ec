//! Every refusal is an answer the client can read, on both protocols: a 429 for a request whose
//! body the edge never read (it is drained first, not reset), a 413 for a body over the cap, and
//! a HEAD request's refusal without a body (HTTP/2 clients reject DATA after a HEAD).

mod support;

use http::StatusCode;
use support::*;

const RULE: &str = r#"
[[domain.rate_limit]]
name = "ip"
routes = ["/oauth/token"]
key = "client_ip"
rate = 1
per = "1h"
burst = 1
"#;

#[tokio::test]
async fn a_429_with_an_unread_body_is_an_answer_not_a_reset() {
    let g = Harness::start(Options {
        mtls_extra: RULE.into(),
        ..Options::default()
    })
    .await;
    let body = format!("client_id=x&pad={}", "a".repeat(60 * 1024));
    let first = Client::new(DOMAIN, None, Proto::H1)
        .request(g.addr, Req::post(DOMAIN, "/oauth/token", &body))
        .await
        .unwrap();
    assert_eq!(first.status, StatusCode::OK);
    for proto in BOTH {
        let c = Client::new(DOMAIN, None, proto);
        for i in 0..25 {
            let r = c
                .request(g.addr, Req::post(DOMAIN, "/oauth/token", &body))
                .await
                .unwrap_or_else(|e| panic!("{proto:?} try {i}: {e}"));
            assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{proto:?} try {i}");
            assert_eq!(r.json()["error"], "too_many_attempts");
        }
    }
}

#[tokio::test]
async fn a_body_over_the_cap_is_a_413_answer() {
    let g = Harness::start(Options {
        tables: "[limits]\nmax_body_bytes = 1024\n".into(),
        mtls_extra: r#"
[[domain.rate_limit]]
name = "client"
routes = ["/oauth/token"]
key = "client_id"
rate = 100
per = "1m"
"#
        .into(),
        ..Options::default()
    })
    .await;
    let body = format!("client_id=x&pad={}", "a".repeat(8 * 1024));
    for proto in BOTH {
        let r = Client::new(DOMAIN, None, proto)
            .request(g.addr, Req::post(DOMAIN, "/oauth/token", &body))
            .await
            .unwrap_or_else(|e| panic!("{proto:?}: {e}"));
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{proto:?}");
        assert_eq!(r.json()["error"], "invalid_request");
    }
}

#[tokio::test]
async fn refusals_to_head_requests_carry_no_body() {
    let g = Harness::start(Options::default()).await;
    for proto in BOTH {
        let mut head = Req::get(ALIAS, "/not-a-route");
        head.method = http::Method::HEAD;
        let cert = ClientCert::leaf(&pki().client);
        let r = Client::new(ALIAS, Some(cert), proto)
            .request(g.addr, head)
            .await
            .unwrap_or_else(|e| panic!("{proto:?}: {e}"));
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{proto:?}");
        assert!(r.body.is_empty(), "{proto:?}: {:?}", r.body);
        let mut head = Req::get(ALIAS, "/oauth/token");
        head.method = http::Method::HEAD;
        let r = Client::new(ALIAS, None, proto)
            .request(g.addr, head)
            .await
            .unwrap_or_else(|e| panic!("{proto:?}: {e}"));
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{proto:?}");
        assert!(r.body.is_empty(), "{proto:?}");
    }
}
