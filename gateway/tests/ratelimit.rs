//! Rate limiting through the real server: each key type, the provider's headers, bodies read for a
//! `client_id` and forwarded unchanged, and one limit across two replicas sharing a real Redis,
//! including Redis dying and coming back.

mod support;

use std::time::{Duration, Instant};

use http::StatusCode;
use support::*;

fn rule(name: &str, routes: &str, key: &str, rate: u32, burst: u32) -> String {
    format!("\n[[domain.rate_limit]]\nname = \"{name}\"\nroutes = [{routes}]\nkey = {key}\nrate = {rate}\nper = \"1m\"\nburst = {burst}\n")
}

fn header(r: &Resp, name: &str) -> String {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn client_ip_limit_with_headers_ignores_spoofed_forwarding_headers() {
    let h = Harness::start(Options {
        mtls_extra: rule("ip", "\"/authorize\"", "\"client_ip\"", 3, 3),
        ..Options::default()
    })
    .await;
    let c = Client::new(DOMAIN, None, Proto::H1);
    for remaining in [2, 1, 0] {
        let r = c
            .request(h.addr, Req::get(DOMAIN, "/authorize"))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(header(&r, "x-ratelimit-limit"), "3");
        assert_eq!(header(&r, "x-ratelimit-remaining"), remaining.to_string());
        let reset: u64 = header(&r, "x-ratelimit-reset").parse().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(
            reset > now && reset <= now + 61,
            "reset {reset} vs now {now}"
        );
    }
    for spoof in ["203.0.113.1", "198.51.100.2, 127.0.0.2"] {
        let r = c
            .request(
                h.addr,
                Req::get(DOMAIN, "/authorize")
                    .header("x-forwarded-for", spoof)
                    .header("true-client-ip", spoof),
            )
            .await
            .unwrap();
        assert_eq!(
            r.status,
            StatusCode::TOO_MANY_REQUESTS,
            "a spoofed {spoof} escaped the limit"
        );
        assert_eq!(r.json()["error"], "too_many_attempts");
        let retry: u64 = header(&r, "retry-after").parse().unwrap();
        assert!((1..=20).contains(&retry), "{retry}");
        assert_eq!(header(&r, "x-ratelimit-remaining"), "0");
    }
    // Other routes are not limited by this rule and carry no rate headers.
    let r = c
        .request(h.addr, Req::get(DOMAIN, "/u/login"))
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers.get("x-ratelimit-limit").is_none());
    assert_eq!(h.upstream_requests(), 4);
    let m = h.metrics().await;
    assert_eq!(metric(&m, "mtls_gateway_ratelimit_decisions_total{rule=\"ip\",outcome=\"refused\",source=\"local\"}"), 2.0, "{m}");
    assert_eq!(
        metric(
            &m,
            "mtls_gateway_refusals_total{kind=\"too_many_requests\",fault=\"client\"}"
        ),
        2.0,
        "{m}"
    );
}

#[tokio::test]
async fn certificate_thumbprint_limit_is_per_certificate() {
    let h = Harness::start(Options {
        mtls_extra: rule("cert", "\"/oauth/token\"", "\"cert_thumbprint\"", 2, 2),
        ..Options::default()
    })
    .await;
    let a = Client::new(ALIAS, Some(ClientCert::leaf(&pki().client)), Proto::H2);
    let b = Client::new(
        ALIAS,
        Some(ClientCert::leaf(&pki().self_signed_leaf)),
        Proto::H2,
    );
    for want in [
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::TOO_MANY_REQUESTS,
    ] {
        assert_eq!(
            a.request(h.addr, Req::post(ALIAS, "/oauth/token", "x=1"))
                .await
                .unwrap()
                .status,
            want
        );
    }
    assert_eq!(
        b.request(h.addr, Req::post(ALIAS, "/oauth/token", "x=1"))
            .await
            .unwrap()
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn client_id_limit_reads_form_json_and_basic_auth_and_forwards_bodies_unchanged() {
    let rules = rule("cid", "\"/oauth/token\"", "\"client_id\"", 2, 2)
        + &rule("ip", "\"/oauth/token\"", "\"client_ip\"", 100, 100);
    let h = Harness::start(Options {
        mtls_extra: rules,
        tables: "[limits]\nmax_body_bytes = 1024".into(),
        ..Options::default()
    })
    .await;
    let c = Client::new(DOMAIN, None, Proto::H1);
    let form = "grant_type=client_credentials&client_id=app-a&client_secret=s";
    for want in [
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::TOO_MANY_REQUESTS,
    ] {
        let r = c
            .request(h.addr, Req::post(DOMAIN, "/oauth/token", form))
            .await
            .unwrap();
        assert_eq!(r.status, want);
        if want == StatusCode::OK {
            assert_eq!(
                r.json()["body"],
                form,
                "the body must be forwarded unchanged"
            );
            // The strictest rule's figures are reported.
            assert_eq!(header(&r, "x-ratelimit-limit"), "2");
        }
    }
    // The same client id in JSON and through HTTP Basic counts against the same bucket.
    let json = r#"{"grant_type":"client_credentials","client_id":"app-a"}"#;
    let mut json_req = Req::post(DOMAIN, "/oauth/token", json);
    json_req.headers = vec![("content-type".into(), "application/json".into())];
    let r = c.request(h.addr, json_req).await.unwrap();
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // Two Content-Type headers (a parser-differential trick) are refused outright.
    let twice = Req::post(DOMAIN, "/oauth/token", json).header("content-type", "application/json");
    let r = c.request(h.addr, twice).await.unwrap();
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let basic = Req::post(DOMAIN, "/oauth/token", "grant_type=client_credentials")
        .header("authorization", "Basic YXBwLWE6c2VjcmV0"); // app-a:secret
    assert_eq!(
        c.request(h.addr, basic).await.unwrap().status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client id has its own bucket.
    let r = c
        .request(h.addr, Req::post(DOMAIN, "/oauth/token", "client_id=app-b"))
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    // A body larger than the read cap is refused, not truncated.
    let big = format!("client_id=app-c&pad={}", "x".repeat(2048));
    let r = c
        .request(h.addr, Req::post(DOMAIN, "/oauth/token", &big))
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json()["error"], "invalid_request");
}

async fn wait_for(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn redis_tables(redis: &RedisServer, mode: &str) -> String {
    format!("[rate_limit]\nbackend = \"redis\"\nredis_url = \"{}\"\nredis_timeout = \"200ms\"\non_redis_error = \"{mode}\"", redis.url())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_limit_through_redis() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let opts = || Options {
        tables: redis_tables(&redis, "fail_open"),
        mtls_extra: rule("shared", "\"/authorize\"", "\"client_ip\"", 4, 4),
        ..Options::default()
    };
    let (a, b) = (Harness::start(opts()).await, Harness::start(opts()).await);
    let c = Client::new(DOMAIN, None, Proto::H1);
    // Wait until both replicas decide through Redis, then start from an empty bucket.
    for h in [&a, &b] {
        wait_for("redis connection", async || {
            c.request(h.addr, Req::get(DOMAIN, "/warmup")).await.is_ok()
                && h.metrics()
                    .await
                    .contains("mtls_gateway_ratelimit_redis_degraded 0")
        })
        .await;
    }
    let mut allowed = 0;
    for i in 0..10 {
        let h = if i % 2 == 0 { &a } else { &b };
        let r = c
            .request(h.addr, Req::get(DOMAIN, "/authorize"))
            .await
            .unwrap();
        if r.status == StatusCode::OK {
            allowed += 1;
        } else {
            assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        }
    }
    assert_eq!(
        allowed, 4,
        "the two replicas together must allow exactly the burst"
    );
    for h in [&a, &b] {
        let m = h.metrics().await;
        assert!(m.contains("source=\"redis\""), "{m}");
        assert!(!m.contains("fallback"), "{m}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_applies_the_fail_mode_and_recovers() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let open = Harness::start(Options {
        tables: redis_tables(&redis, "fail_open"),
        mtls_extra: rule("r", "\"/authorize\"", "\"client_ip\"", 1000, 1000),
        ..Options::default()
    })
    .await;
    let closed = Harness::start(Options {
        tables: redis_tables(&redis, "fail_closed"),
        mtls_extra: rule("r", "\"/authorize\"", "\"client_ip\"", 1000, 1000),
        ..Options::default()
    })
    .await;
    let c = Client::new(DOMAIN, None, Proto::H1);
    for h in [&open, &closed] {
        wait_for("redis decisions", async || {
            c.request(h.addr, Req::get(DOMAIN, "/authorize"))
                .await
                .is_ok_and(|r| r.status == StatusCode::OK)
                && h.metrics().await.contains("source=\"redis\"")
        })
        .await;
    }

    redis.kill();
    let r = c
        .request(open.addr, Req::get(DOMAIN, "/authorize"))
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK, "fail_open must keep serving");
    let r = c
        .request(closed.addr, Req::get(DOMAIN, "/authorize"))
        .await
        .unwrap();
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "fail_closed must refuse while Redis is down"
    );
    for h in [&open, &closed] {
        let m = h.metrics().await;
        assert!(m.contains("mtls_gateway_ratelimit_redis_degraded 1"), "{m}");
    }
    assert!(open.metrics().await.contains("source=\"fallback_local\""));
    assert!(closed
        .metrics()
        .await
        .contains("source=\"fallback_closed\""));

    redis.restart();
    for h in [&open, &closed] {
        wait_for("recovery", async || {
            let ok = c
                .request(h.addr, Req::get(DOMAIN, "/authorize"))
                .await
                .is_ok_and(|r| r.status == StatusCode::OK);
            ok && h
                .metrics()
                .await
                .contains("mtls_gateway_ratelimit_redis_degraded 0")
        })
        .await;
    }
}
