//! CORS preflights and actual requests, and how their refusals render.

mod common;

use std::time::Duration;

use common::{assert_origin_refusal, policy, policy_with, settings, OTHER, SPA};
use http::header::{
    HeaderName, HeaderValue, ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS,
    ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE,
    CACHE_CONTROL, CONTENT_TYPE, VARY, X_CONTENT_TYPE_OPTIONS,
};
use mtls_policies::{
    actual_request, origin_not_allowed, preflight, CorsConfig, CorsDecision, PreflightDecision,
    Refusal, UnknownClientPolicy, PREFLIGHT_STATUS,
};

const PREFLIGHT_VARY: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

fn h(name: HeaderName, value: &'static str) -> (HeaderName, HeaderValue) {
    (name, HeaderValue::from_static(value))
}

fn value<'a>(headers: &'a [(HeaderName, HeaderValue)], name: &HeaderName) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.to_str().ok())
}

/// Every answer to a browser: `Vary` names `Origin`, and an allowed origin
/// is echoed, never `*`, exactly when credentials are allowed.
fn assert_cors_invariants(headers: &[(HeaderName, HeaderValue)]) {
    let vary = value(headers, &VARY).expect("Vary present");
    assert!(vary.starts_with("Origin"), "{vary}");
    assert_eq!(headers.iter().filter(|(n, _)| n == VARY).count(), 1);
    let acao = value(headers, &ACCESS_CONTROL_ALLOW_ORIGIN);
    assert_ne!(acao, Some("*"));
    assert_eq!(
        acao.is_some(),
        value(headers, &ACCESS_CONTROL_ALLOW_CREDENTIALS) == Some("true")
    );
}

// ---- preflight ----

#[test]
fn preflight_allowed_answers_with_exactly_the_configured_headers() {
    let decision = preflight(
        &policy(),
        Some("https://app.example.com"),
        Some("POST"),
        Some("content-type, auth0-client"),
    );
    assert_eq!(
        decision,
        PreflightDecision::Allowed {
            headers: vec![
                h(ACCESS_CONTROL_ALLOW_ORIGIN, "https://app.example.com"),
                h(ACCESS_CONTROL_ALLOW_CREDENTIALS, "true"),
                h(ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"),
                h(ACCESS_CONTROL_ALLOW_HEADERS, "content-type, auth0-client"),
                h(ACCESS_CONTROL_MAX_AGE, "600"),
                h(VARY, PREFLIGHT_VARY),
            ]
        }
    );
    assert_cors_invariants(decision.headers());
    assert_eq!(PREFLIGHT_STATUS.as_u16(), 204);
}

#[test]
fn preflight_uses_the_union_of_every_app() {
    for origin in [
        "https://app.example.com",
        "https://pr-7.preview.example.com",
        "https://other.example.org",
    ] {
        let decision = preflight(&policy(), Some(origin), Some("POST"), None);
        assert!(
            matches!(decision, PreflightDecision::Allowed { .. }),
            "{origin}"
        );
        assert_eq!(
            value(decision.headers(), &ACCESS_CONTROL_ALLOW_ORIGIN),
            Some(origin)
        );
        // Nothing requested, nothing announced.
        assert_eq!(
            value(decision.headers(), &ACCESS_CONTROL_ALLOW_HEADERS),
            None
        );
    }
}

#[test]
fn preflight_includes_the_unknown_client_default() {
    let default = settings(&["https://partner.example.net"], &[], false);
    let policy = policy_with(UnknownClientPolicy::UseApp(default), CorsConfig::default());
    let decision = preflight(
        &policy,
        Some("https://partner.example.net"),
        Some("GET"),
        None,
    );
    assert!(matches!(decision, PreflightDecision::Allowed { .. }));
    let deny = preflight(
        &common::policy(),
        Some("https://partner.example.net"),
        Some("GET"),
        None,
    );
    assert!(matches!(deny, PreflightDecision::Refused(_)));
}

#[test]
fn preflight_echoes_only_allowed_request_headers() {
    let decision = preflight(
        &policy(),
        Some("https://app.example.com"),
        Some("POST"),
        Some("X-Evil, Content-Type,cookie , AUTHORIZATION, content-type, bad header"),
    );
    assert_eq!(
        value(decision.headers(), &ACCESS_CONTROL_ALLOW_HEADERS),
        Some("content-type, authorization")
    );
    let none_allowed = preflight(
        &policy(),
        Some("https://app.example.com"),
        Some("POST"),
        Some("x-evil"),
    );
    assert_eq!(
        value(none_allowed.headers(), &ACCESS_CONTROL_ALLOW_HEADERS),
        None
    );
}

#[test]
fn preflight_announces_configured_methods_and_max_age() {
    let cors = CorsConfig::new(
        ["GET", "POST", "PATCH", "POST"],
        ["content-type", "x-custom"],
        Duration::from_secs(7200),
    )
    .unwrap();
    let policy = policy_with(UnknownClientPolicy::Deny, cors);
    let decision = preflight(
        &policy,
        Some("https://app.example.com"),
        Some("DELETE"),
        Some("X-Custom"),
    );
    let headers = decision.headers();
    assert_eq!(
        value(headers, &ACCESS_CONTROL_ALLOW_METHODS),
        Some("GET, POST, PATCH")
    );
    assert_eq!(
        value(headers, &ACCESS_CONTROL_ALLOW_HEADERS),
        Some("x-custom")
    );
    assert_eq!(value(headers, &ACCESS_CONTROL_MAX_AGE), Some("7200"));
}

#[test]
fn not_a_preflight_without_origin_or_requested_method() {
    for (origin, method) in [
        (None, Some("POST")),
        (None, None),
        (Some("https://app.example.com"), None),
        (Some("https://app.example.com"), Some("")),
        (Some("https://evil.example"), None),
    ] {
        let decision = preflight(&policy(), origin, method, Some("content-type"));
        assert_eq!(
            decision,
            PreflightDecision::NotPreflight,
            "{origin:?} {method:?}"
        );
        assert!(decision.headers().is_empty());
    }
}

#[test]
fn preflight_refusals_use_the_providers_text() {
    for (origin, shown) in [
        ("https://evil.example", "https://evil.example"),
        ("HTTPS://Evil.Example:443/", "https://evil.example"),
        ("null", "null"),
        (
            "https://app.example.com.evil.example",
            "https://app.example.com.evil.example",
        ),
        ("http://app.example.com", "http://app.example.com"),
        (
            "https://app.example.com:8443",
            "https://app.example.com:8443",
        ),
        (
            "https://a.b.preview.example.com",
            "https://a.b.preview.example.com",
        ),
        (
            "https://app.example.com/path",
            "https://app.example.com/path",
        ),
        ("*", "*"),
        ("https://auth.example.com", "https://auth.example.com"),
    ] {
        let decision = preflight(&policy(), Some(origin), Some("POST"), None);
        let PreflightDecision::Refused(refusal) = &decision else {
            panic!("{origin}: {decision:?}");
        };
        assert_origin_refusal(refusal, shown);
        assert_eq!(decision.headers(), [h(VARY, PREFLIGHT_VARY)]);
        assert_cors_invariants(decision.headers());
    }
}

// ---- actual requests ----

#[test]
fn actual_request_allowed_for_the_named_client() {
    let decision = actual_request(&policy(), Some("https://app.example.com"), Some(SPA));
    assert_eq!(
        decision,
        CorsDecision::Allowed {
            headers: vec![
                h(ACCESS_CONTROL_ALLOW_ORIGIN, "https://app.example.com"),
                h(ACCESS_CONTROL_ALLOW_CREDENTIALS, "true"),
                h(VARY, "Origin"),
            ]
        }
    );
    assert_cors_invariants(decision.headers());
}

#[test]
fn actual_request_checks_the_named_clients_list_not_the_union() {
    let decision = actual_request(&policy(), Some("https://app.example.com"), Some(OTHER));
    let CorsDecision::Refused(refusal) = &decision else {
        panic!("{decision:?}");
    };
    assert_origin_refusal(refusal, "https://app.example.com");
    assert_eq!(decision.headers(), [h(VARY, "Origin")]);
}

#[test]
fn actual_request_without_client_id_uses_the_union() {
    for origin in ["https://app.example.com", "https://other.example.org"] {
        let decision = actual_request(&policy(), Some(origin), None);
        assert!(matches!(decision, CorsDecision::Allowed { .. }), "{origin}");
    }
    let refused = actual_request(&policy(), Some("https://evil.example"), None);
    assert!(matches!(refused, CorsDecision::Refused(_)));
}

#[test]
fn actual_request_unknown_client() {
    let denied = actual_request(&policy(), Some("https://app.example.com"), Some("nobody"));
    let CorsDecision::Refused(refusal) = &denied else {
        panic!("{denied:?}");
    };
    assert_origin_refusal(refusal, "https://app.example.com");

    let default = settings(&["https://partner.example.net"], &[], false);
    let policy = policy_with(UnknownClientPolicy::UseApp(default), CorsConfig::default());
    let allowed = actual_request(&policy, Some("https://partner.example.net"), Some("nobody"));
    assert!(matches!(allowed, CorsDecision::Allowed { .. }));
    let known = actual_request(&policy, Some("https://partner.example.net"), Some(SPA));
    assert!(matches!(known, CorsDecision::Refused(_)));
}

#[test]
fn actual_request_wildcard_is_one_label() {
    let one = actual_request(
        &policy(),
        Some("https://pr-1.preview.example.com"),
        Some(SPA),
    );
    assert!(matches!(one, CorsDecision::Allowed { .. }));
    let two = actual_request(
        &policy(),
        Some("https://a.pr-1.preview.example.com"),
        Some(SPA),
    );
    assert!(matches!(two, CorsDecision::Refused(_)));
}

#[test]
fn actual_request_echoes_the_origin_as_sent() {
    let decision = actual_request(&policy(), Some("HTTPS://APP.example.com"), Some(SPA));
    assert_eq!(
        value(decision.headers(), &ACCESS_CONTROL_ALLOW_ORIGIN),
        Some("HTTPS://APP.example.com")
    );
}

#[test]
fn no_origin_or_own_origin_is_not_cors_but_still_varies() {
    for (origin, client) in [
        (None, None),
        (None, Some(SPA)),
        (None, Some("nobody")),
        (Some("https://auth.example.com"), None),
        (Some("https://mtls.auth.example.com"), Some("nobody")),
    ] {
        let decision = actual_request(&policy(), origin, client);
        assert_eq!(decision, CorsDecision::NotCors, "{origin:?}");
        assert_eq!(decision.headers(), [h(VARY, "Origin")]);
        assert_cors_invariants(decision.headers());
    }
}

#[test]
fn actual_request_refuses_what_is_not_an_origin() {
    for (origin, shown) in [
        ("null", "null"),
        ("", ""),
        ("https://a@app.example.com", "https://a@app.example.com"),
        ("https://app.example.com?x", "https://app.example.com?x"),
        ("https://app.example.com\u{7}x", "https://app.example.comx"),
        ("https://bücher.example", "https://bcher.example"),
    ] {
        let decision = actual_request(&policy(), Some(origin), Some(SPA));
        let CorsDecision::Refused(refusal) = &decision else {
            panic!("{origin:?}: {decision:?}");
        };
        if shown.is_empty() {
            assert_eq!(refusal.description(), "Origin is not allowed.");
        } else {
            assert_origin_refusal(refusal, shown);
        }
        assert_cors_invariants(decision.headers());
    }
}

// ---- rendering ----

#[test]
fn origin_refusal_renders_as_plain_text() {
    let refusal = origin_not_allowed(Some("https://test.app"));
    let response = refusal.response();
    assert_eq!(response.status().as_u16(), 403);
    assert_eq!(response.body(), b"Origin https://test.app is not allowed.");
    assert_eq!(
        response.headers()[CONTENT_TYPE],
        "text/plain; charset=utf-8"
    );
    assert_eq!(response.headers()[X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    assert_eq!(refusal.kind(), "origin_not_allowed");
    assert_eq!(
        origin_not_allowed(None).description(),
        "Origin is not allowed."
    );
}

#[test]
fn echoed_garbage_is_bounded_and_visible_ascii() {
    let long = format!("https://{}\r\n\u{0}<script>", "a".repeat(5000));
    let refusal = origin_not_allowed(Some(&long));
    let Refusal::OriginNotAllowed { origin } = &refusal else {
        panic!()
    };
    assert_eq!(origin.len(), 256);
    assert!(origin.bytes().all(|b| b.is_ascii_graphic()));
}

#[test]
fn cross_origin_login_refusal_is_the_providers_json() {
    let refusal = Refusal::CrossOriginLoginNotAllowed;
    let response = refusal.response();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "error": "unauthorized_client",
            "error_description": "Cross origin login not allowed."
        })
    );
    assert_eq!(refusal.kind(), "cross_origin_login_not_allowed");
    assert_eq!(refusal.body(), refusal.json_body());
}
