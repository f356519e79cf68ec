//! Browser-facing policy through the real server: preflights, actual requests with and without an
//! `Origin`, the client named in the body, `/co/authenticate` for each error row of the provider's
//! table, and `Vary: Origin` on every CORS-relevant response.

mod support;

use http::StatusCode;
use support::*;

const APPS: &str = r#"
[domain.browser]
cors_max_age = "5m"

[[domain.app]]
client_id = "spa"
allowed_origins = ["https://app.example.com", "https://*.spa.example.com"]
allowed_web_origins = ["https://login.example.com"]
cross_origin_authentication = true

[[domain.app]]
client_id = "legacy"
allowed_origins = ["https://legacy.example.com"]
allowed_web_origins = ["https://legacy.example.com"]
cross_origin_authentication = false
"#;

async fn gateway() -> Harness {
    Harness::start(Options {
        mtls_extra: APPS.into(),
        ..Options::default()
    })
    .await
}

fn h(r: &Resp, name: &str) -> Vec<String> {
    r.headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .collect()
}

fn varies_by_origin(r: &Resp) -> bool {
    h(r, "vary")
        .iter()
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("origin"))
}

fn preflight(origin: &str) -> Req {
    let mut r = Req::get(DOMAIN, "/oauth/token")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, x-not-allowed",
        );
    r.method = http::Method::OPTIONS;
    r
}

#[tokio::test]
async fn preflights_are_answered_at_the_edge() {
    let g = gateway().await;
    for proto in BOTH {
        let c = Client::new(DOMAIN, None, proto);
        for origin in [
            "https://app.example.com",
            "https://a.spa.example.com",
            "https://LEGACY.example.com:443",
        ] {
            let r = c.request(g.addr, preflight(origin)).await.unwrap();
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{origin}");
            assert_eq!(
                h(&r, "access-control-allow-origin"),
                vec![origin.to_owned()]
            );
            assert_eq!(h(&r, "access-control-allow-credentials"), vec!["true"]);
            assert!(h(&r, "access-control-allow-methods")[0].contains("POST"));
            assert_eq!(
                h(&r, "access-control-allow-headers"),
                vec!["content-type"],
                "only allow-listed headers are echoed"
            );
            assert_eq!(h(&r, "access-control-max-age"), vec!["300"]);
            assert!(varies_by_origin(&r));
        }
        for origin in [
            "https://a.b.spa.example.com",
            "https://evil.example.net",
            "null",
            "http://app.example.com",
        ] {
            let r = c.request(g.addr, preflight(origin)).await.unwrap();
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{origin}");
            assert_eq!(
                String::from_utf8_lossy(&r.body),
                format!("Origin {origin} is not allowed.")
            );
            assert!(h(&r, "access-control-allow-origin").is_empty());
            assert!(varies_by_origin(&r));
        }
    }
    assert_eq!(g.upstream_requests(), 0, "a preflight was forwarded");
}

#[tokio::test]
async fn actual_requests_are_checked_against_the_named_client() {
    let g = gateway().await;
    for proto in BOTH {
        let c = Client::new(DOMAIN, None, proto);
        let token = |origin: Option<&str>, body: &str| {
            let r = Req::post(DOMAIN, "/oauth/token", body);
            match origin {
                Some(o) => r.header("origin", o),
                None => r,
            }
        };
        // Allowed origin for the client named in the form body: forwarded, readable, body intact.
        let body = "grant_type=refresh_token&client_id=spa&refresh_token=r";
        let r = c
            .request(g.addr, token(Some("https://app.example.com"), body))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json()["body"], body);
        assert_eq!(
            h(&r, "access-control-allow-origin"),
            vec!["https://app.example.com"]
        );
        assert_eq!(h(&r, "access-control-allow-credentials"), vec!["true"]);
        assert!(varies_by_origin(&r));
        // An origin allowed for another client only: refused, nothing forwarded.
        let before = g.upstream_requests();
        let r = c
            .request(
                g.addr,
                token(Some("https://legacy.example.com"), "client_id=spa"),
            )
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(
            String::from_utf8_lossy(&r.body),
            "Origin https://legacy.example.com is not allowed."
        );
        assert!(varies_by_origin(&r));
        // JSON body naming the right client.
        let mut json = Req::post(
            DOMAIN,
            "/oauth/token",
            r#"{"client_id":"legacy","grant_type":"x"}"#,
        )
        .header("origin", "https://legacy.example.com");
        json.headers.retain(|(k, _)| k != "content-type");
        let r = c
            .request(g.addr, json.header("content-type", "application/json"))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::OK);
        // An unknown client is denied by default.
        let r = c
            .request(
                g.addr,
                token(Some("https://app.example.com"), "client_id=nobody"),
            )
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // No client id at all: the domain's union of CORS origins applies (GET /userinfo).
        let r = c
            .request(
                g.addr,
                Req::get(DOMAIN, "/userinfo").header("origin", "https://x.spa.example.com"),
            )
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            h(&r, "access-control-allow-origin"),
            vec!["https://x.spa.example.com"]
        );
        // Without an Origin nothing is checked, but the answer still varies by Origin.
        let r = c
            .request(g.addr, token(None, "client_id=spa"))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert!(h(&r, "access-control-allow-origin").is_empty());
        assert!(varies_by_origin(&r));
        // Never a wildcard with credentials.
        assert!(!r
            .headers
            .iter()
            .any(|(k, v)| k == "access-control-allow-origin" && v == "*"));
        assert_eq!(g.upstream_requests(), before + 3);
        // Routes outside the CORS list are not touched (the provider's own pages post forms).
        let r = c
            .request(
                g.addr,
                Req::post(DOMAIN, "/login/callback", "x=1")
                    .header("origin", "https://idp.partner.example"),
            )
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn cross_origin_authentication_follows_the_providers_error_table() {
    let g = gateway().await;
    let c = Client::new(DOMAIN, None, Proto::H1);
    let co = |origin: &str, body: &str| {
        let mut r = Req::post(DOMAIN, "/co/authenticate", body).header("origin", origin);
        r.headers.retain(|(k, _)| k != "content-type");
        r.header("content-type", "application/json")
    };
    let good = r#"{"client_id":"spa","credential_type":"password","username":"u","password":"p","realm":"db"}"#;
    let cases: [(&str, &str, StatusCode, &str); 4] = [
        (
            "https://login.example.com",
            "{not json",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "https://login.example.com",
            r#"{"client_id":"nobody","username":"u"}"#,
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
        ),
        (
            "https://legacy.example.com",
            r#"{"client_id":"legacy","username":"u"}"#,
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
        ),
        ("https://app.example.com", good, StatusCode::FORBIDDEN, ""),
    ];
    for (origin, body, status, error) in cases {
        let r = c.request(g.addr, co(origin, body)).await.unwrap();
        assert_eq!(r.status, status, "{origin} {body}");
        if error.is_empty() {
            assert_eq!(
                String::from_utf8_lossy(&r.body),
                format!("Origin {origin} is not allowed.")
            );
        } else {
            assert_eq!(r.json()["error"], error, "{body}");
        }
        if error == "unauthorized_client" && origin.contains("legacy") {
            assert_eq!(
                r.json()["error_description"],
                "Cross origin login not allowed."
            );
        }
        assert!(varies_by_origin(&r), "{origin}");
    }
    assert_eq!(g.upstream_requests(), 0);
    let r = c
        .request(g.addr, co("https://login.example.com", good))
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["body"], good, "forwarded unchanged");
    assert_eq!(
        h(&r, "access-control-allow-origin"),
        vec!["https://login.example.com"]
    );
    assert!(varies_by_origin(&r));
}

#[tokio::test]
async fn invalid_origin_patterns_are_configuration_errors() {
    let dir = tempfile::tempdir().unwrap();
    pki().write_to(dir.path()).unwrap();
    std::fs::write(dir.path().join("api-key"), "k").unwrap();
    for (pattern, words) in [
        ("https://*.com", "registrable"),
        ("https://sub.*.example.com", "left"),
        ("https://*.*.example.com", "more than one"),
        ("ftp://app.example.com", "scheme"),
        ("https://app.example.com/path", "path"),
    ] {
        let text = format!(
            "[[domain]]\nname = \"auth.example.com\"\ncert = \"server.pem\"\nkey = \"server.key\"\napi_key_file = \"api-key\"\n\
             [domain.upstream]\nhost = \"idp.example.internal\"\nca_file = \"root.pem\"\n\
             [[domain.app]]\nclient_id = \"a\"\nallowed_origins = [\"{pattern}\"]\n"
        );
        let path = dir.path().join("gw.toml");
        std::fs::write(&path, text).unwrap();
        let err = mtls_gateway::config::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("domain[0].app[0].allowed_origins"),
            "{pattern}: {err}"
        );
        assert!(err.to_lowercase().contains(words), "{pattern}: {err}");
    }
    // Unknown keys in an application table are errors too (a typo must not silently open CORS).
    let text = "[[domain]]\nname = \"auth.example.com\"\ncert = \"server.pem\"\nkey = \"server.key\"\napi_key_file = \"api-key\"\n\
                [domain.upstream]\nhost = \"idp.example.internal\"\nca_file = \"root.pem\"\n\
                [[domain.app]]\nclient_id = \"a\"\nallowed_origin = [\"https://app.example.com\"]\n";
    let path = dir.path().join("gw.toml");
    std::fs::write(&path, text).unwrap();
    let err = mtls_gateway::config::load(&path).unwrap_err().to_string();
    assert!(err.contains("allowed_origin"), "{err}");
}
