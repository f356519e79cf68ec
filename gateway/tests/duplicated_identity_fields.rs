//! Parser differentials on the fields decisions depend on: a `client_id` given twice (form and
//! JSON), Basic credentials and a body naming different clients. Each once turned into "no client"
//! at the edge, which meant the union of every client's origins for CORS and no per-client rate
//! limit; now each is a 400 and nothing reaches the provider.

mod support;

use http::StatusCode;
use support::*;

const APPS: &str = r#"
[domain.browser]

[[domain.app]]
client_id = "spa1"
allowed_origins = ["https://one.web.test"]

[[domain.app]]
client_id = "spa2"
allowed_origins = ["https://two.web.test"]

[[domain.rate_limit]]
name = "per-client"
routes = ["/oauth/token"]
key = "client_id"
rate = 2
per = "1m"
burst = 2
"#;

fn form(body: &str) -> Req {
    Req::post(DOMAIN, "/oauth/token", body)
}

fn json(body: &str) -> Req {
    let mut r = Req::post(DOMAIN, "/oauth/token", body);
    r.headers.retain(|(k, _)| k != "content-type");
    r.header("content-type", "application/json")
}

#[tokio::test]
async fn a_duplicated_client_id_never_widens_the_allowed_origins() {
    let g = Harness::start(Options {
        domain_extra: String::new(),
        mtls_extra: APPS.into(),
        ..Options::default()
    })
    .await;
    for proto in BOTH {
        let c = Client::new(DOMAIN, None, proto);
        let before = g.upstream_requests();
        for body in [
            "grant_type=x&client_id=spa1&client_id=spa1",
            "client_id=spa1&client%5Fid=spa1",
        ] {
            let r = c
                .request(g.addr, form(body).header("origin", "https://two.web.test"))
                .await
                .unwrap();
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{proto:?} {body}");
            assert_eq!(r.json()["error"], "invalid_request");
            assert!(r.headers.get("access-control-allow-origin").is_none());
        }
        let r = c
            .request(
                g.addr,
                json(r#"{"client_id":"spa1","client_id":"spa1"}"#)
                    .header("origin", "https://two.web.test"),
            )
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(g.upstream_requests(), before, "nothing was forwarded");
        // The control: the client's own origin is still served.
        let r = c
            .request(
                g.addr,
                form("client_id=spa2").header("origin", "https://two.web.test"),
            )
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_duplicated_client_id_never_escapes_its_rate_limit() {
    let g = Harness::start(Options {
        mtls_extra: APPS.into(),
        ..Options::default()
    })
    .await;
    let c = Client::new(DOMAIN, None, Proto::H1);
    for _ in 0..2 {
        let r = c.request(g.addr, form("client_id=spa1")).await.unwrap();
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = c.request(g.addr, form("client_id=spa1")).await.unwrap();
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let before = g.upstream_requests();
    for req in [
        form("client_id=spa1&client_id=spa1"),
        json(r#"{"client_id":"spa1","client_id":"spa1"}"#),
    ] {
        let r = c.request(g.addr, req).await.unwrap();
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
    }
    assert_eq!(g.upstream_requests(), before);
}

#[tokio::test]
async fn credentials_and_body_naming_two_clients_are_refused() {
    use base64::Engine;
    let g = Harness::start(Options {
        mtls_extra: APPS.into(),
        ..Options::default()
    })
    .await;
    let c = Client::new(DOMAIN, None, Proto::H2);
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("spa1:secret")
    );
    let before = g.upstream_requests();
    let r = c
        .request(
            g.addr,
            form("client_id=spa2")
                .header("authorization", &basic)
                .header("origin", "https://two.web.test"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(g.upstream_requests(), before);
    let r = c
        .request(
            g.addr,
            form("client_id=spa1")
                .header("authorization", &basic)
                .header("origin", "https://one.web.test"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
}
