//! Fuzzes the CORS and `/co/authenticate` decisions and client id
//! extraction against a fixed domain policy.
//!
//! Input fields are separated by NUL bytes: origin, requested method,
//! requested headers, client id, content type, authorization, body (the
//! body is the rest, NULs included). Checks, besides "no panic": `Vary`
//! on every CORS answer, `Access-Control-Allow-Origin` never `*` and
//! always with credentials, and refusals with the provider's statuses.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mtls_policies::{
    actual_request, check_co_authenticate, client_id_from_basic_auth, client_id_from_body,
    client_id_from_form, preflight, App, AppSettings, BrowserPolicy, CorsConfig, CorsDecision,
    OriginSet, PreflightDecision, Refusal, UnknownClientPolicy,
};

static POLICY: LazyLock<BrowserPolicy> = LazyLock::new(|| {
    let set = |entries: &[&str]| OriginSet::parse(entries).unwrap_or_default();
    BrowserPolicy::new(
        [
            App {
                client_id: "spa".into(),
                settings: AppSettings {
                    allowed_origins: set(&["https://app.example.com", "https://*.example.com"]),
                    allowed_web_origins: set(&["https://app.example.com"]),
                    cross_origin_authentication: true,
                },
            },
            App {
                client_id: "off".into(),
                settings: AppSettings {
                    allowed_origins: set(&["http://localhost:3000"]),
                    allowed_web_origins: set(&["http://localhost:3000"]),
                    cross_origin_authentication: false,
                },
            },
        ],
        UnknownClientPolicy::Deny,
        CorsConfig::default(),
    )
    .unwrap_or_else(|_| std::process::abort())
    .with_own_origins(set(&["https://auth.example.com"]))
});

fn check_headers(headers: &[(http::HeaderName, http::HeaderValue)]) {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, v)| v.as_bytes())
    };
    assert!(get("vary").is_some_and(|v| v.starts_with(b"Origin")));
    let acao = get("access-control-allow-origin");
    assert_ne!(acao, Some(&b"*"[..]));
    assert_eq!(
        acao.is_some(),
        get("access-control-allow-credentials") == Some(b"true")
    );
}

fn check_refusal(refusal: &Refusal) {
    let status = refusal.status().as_u16();
    match refusal {
        Refusal::OriginNotAllowed { origin } => {
            assert_eq!(status, 403);
            assert!(origin.bytes().all(|b| b.is_ascii_graphic()) && origin.len() <= 256);
        }
        Refusal::CrossOriginLoginNotAllowed => assert_eq!(status, 401),
        Refusal::BadRequest(_) => assert_eq!(status, 400),
        other => panic!("unexpected refusal {other:?}"),
    }
    let _ = refusal.response();
}

fuzz_target!(|data: &[u8]| {
    let mut fields = data.splitn(7, |&b| b == 0);
    let mut next = || fields.next().map(String::from_utf8_lossy);
    let origin = next();
    let method = next();
    let request_headers = next();
    let client_id = next();
    let content_type = next();
    let authorization = next();
    let body = data.splitn(7, |&b| b == 0).nth(6).unwrap_or_default();
    let policy = &*POLICY;

    let decision = preflight(
        policy,
        origin.as_deref(),
        method.as_deref(),
        request_headers.as_deref(),
    );
    match &decision {
        PreflightDecision::NotPreflight => assert!(decision.headers().is_empty()),
        PreflightDecision::Allowed { headers } => check_headers(headers),
        PreflightDecision::Refused(refusal) => {
            check_headers(decision.headers());
            check_refusal(refusal);
        }
    }

    let decision = actual_request(policy, origin.as_deref(), client_id.as_deref());
    check_headers(decision.headers());
    match &decision {
        CorsDecision::Allowed { headers } => {
            let echoed = headers
                .iter()
                .find(|(n, _)| n == "access-control-allow-origin");
            let sent = origin
                .as_deref()
                .unwrap_or_default()
                .trim_matches([' ', '\t']);
            assert_eq!(echoed.map(|(_, v)| v.as_bytes()), Some(sent.as_bytes()));
        }
        CorsDecision::Refused(refusal) => check_refusal(refusal),
        CorsDecision::NotCors => {}
    }

    if let Err(refusal) = check_co_authenticate(policy, origin.as_deref(), body) {
        check_refusal(&refusal);
    }
    let _ = client_id_from_body(content_type.as_deref(), body);
    let _ = client_id_from_form(body);
    if let Some(authorization) = authorization.as_deref() {
        if let Some(id) = client_id_from_basic_auth(authorization) {
            assert!(!id.is_empty());
        }
    }
});
