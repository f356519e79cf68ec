//! `POST /co/authenticate`: one test per row of the provider's error table
//! that the edge answers, plus the order in which they apply.

mod common;

use common::{assert_origin_refusal, policy, policy_with, settings, OTHER, SPA};
use mtls_policies::cross_origin_auth::{BODY_FIELDS_REQUIRED, BODY_NOT_JSON_OBJECT};
use mtls_policies::{check_co_authenticate, CorsConfig, Refusal, UnknownClientPolicy};

const APP: Option<&str> = Some("https://app.example.com");

fn login(client_id: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "client_id": client_id,
        "credential_type": "http://auth0.com/oauth/grant-type/password-realm",
        "username": "user@example.com",
        "password": "correct horse",
        "realm": "Username-Password-Authentication",
    }))
    .unwrap()
}

fn assert_400(refusal: &Refusal, description: &str) {
    assert_eq!(refusal.status().as_u16(), 400);
    assert_eq!(refusal.error(), "invalid_request");
    assert_eq!(refusal.description(), description);
    let body: serde_json::Value = serde_json::from_slice(&refusal.body()).unwrap();
    assert_eq!(body["error"], "invalid_request");
}

fn assert_401(refusal: &Refusal) {
    assert_eq!(refusal, &Refusal::CrossOriginLoginNotAllowed);
    assert_eq!(refusal.status().as_u16(), 401);
    assert_eq!(refusal.error(), "unauthorized_client");
    assert_eq!(refusal.description(), "Cross origin login not allowed.");
}

#[test]
fn allowed_client_from_allowed_web_origin_is_forwarded() {
    assert_eq!(check_co_authenticate(&policy(), APP, &login(SPA)), Ok(()));
    assert_eq!(
        check_co_authenticate(&policy(), Some("HTTPS://App.Example.com:443"), &login(SPA)),
        Ok(())
    );
}

#[test]
fn body_that_is_not_a_json_object_is_400() {
    for body in [
        &b""[..],
        b"not json",
        b"[]",
        b"\"client_id\"",
        b"42",
        b"null",
        b"{",
        b"{\"client_id\":\"spa-client\"} trailing",
        b"client_id=spa-client&username=u",
        b"\xff\xfe{}",
    ] {
        let refusal = check_co_authenticate(&policy(), APP, body).unwrap_err();
        assert_400(&refusal, BODY_NOT_JSON_OBJECT);
    }
}

#[test]
fn missing_or_unusable_client_id_is_400_with_the_providers_text() {
    for body in [
        &br#"{}"#[..],
        br#"{"username":"u","password":"p"}"#,
        br#"{"client_id":""}"#,
        br#"{"client_id":42}"#,
        br#"{"client_id":null}"#,
        br#"{"client_id":["spa-client"]}"#,
        br#"{"client_id":{"id":"spa-client"}}"#,
        br#"{"client_id":"spa-client","client_id":"other-client"}"#,
        br#"{"nested":{"client_id":"spa-client"}}"#,
    ] {
        let refusal = check_co_authenticate(&policy(), APP, body).unwrap_err();
        assert_400(&refusal, BODY_FIELDS_REQUIRED);
    }
    assert_eq!(
        BODY_FIELDS_REQUIRED,
        "Invalid request body. All and only of client_id, credential_type, username, otp, realm are required."
    );
}

#[test]
fn cross_origin_authentication_off_is_401() {
    let refusal =
        check_co_authenticate(&policy(), Some("https://other.example.org"), &login(OTHER))
            .unwrap_err();
    assert_401(&refusal);
}

#[test]
fn unknown_client_denied_by_default_is_401() {
    let refusal = check_co_authenticate(&policy(), APP, &login("nobody")).unwrap_err();
    assert_401(&refusal);
}

#[test]
fn unknown_client_with_a_default_app_uses_its_settings() {
    let on = settings(&[], &["https://partner.example.net"], true);
    let policy = policy_with(UnknownClientPolicy::UseApp(on), CorsConfig::default());
    assert_eq!(
        check_co_authenticate(
            &policy,
            Some("https://partner.example.net"),
            &login("nobody")
        ),
        Ok(())
    );
    let refusal = check_co_authenticate(&policy, APP, &login("nobody")).unwrap_err();
    assert_origin_refusal(&refusal, "https://app.example.com");

    let off = settings(&[], &["https://partner.example.net"], false);
    let policy = policy_with(UnknownClientPolicy::UseApp(off), CorsConfig::default());
    let refusal = check_co_authenticate(
        &policy,
        Some("https://partner.example.net"),
        &login("nobody"),
    )
    .unwrap_err();
    assert_401(&refusal);
}

#[test]
fn origin_not_in_allowed_web_origins_is_403() {
    for (origin, shown) in [
        ("https://evil.example", "https://evil.example"),
        // In the app's CORS list, but not in its web origins.
        (
            "https://pr-1.preview.example.com",
            "https://pr-1.preview.example.com",
        ),
        ("http://app.example.com", "http://app.example.com"),
        (
            "https://app.example.com:8443",
            "https://app.example.com:8443",
        ),
        ("null", "null"),
        (
            "https://app.example.com/login",
            "https://app.example.com/login",
        ),
    ] {
        let refusal = check_co_authenticate(&policy(), Some(origin), &login(SPA)).unwrap_err();
        assert_origin_refusal(&refusal, shown);
    }
}

#[test]
fn missing_origin_is_403_without_a_name() {
    let refusal = check_co_authenticate(&policy(), None, &login(SPA)).unwrap_err();
    assert_eq!(
        refusal,
        Refusal::OriginNotAllowed {
            origin: String::new()
        }
    );
    assert_eq!(refusal.description(), "Origin is not allowed.");
    assert_eq!(refusal.body(), b"Origin is not allowed.");
}

#[test]
fn checks_apply_in_table_order() {
    // A bad body is reported before a bad origin.
    let refusal =
        check_co_authenticate(&policy(), Some("https://evil.example"), b"[]").unwrap_err();
    assert_400(&refusal, BODY_NOT_JSON_OBJECT);
    // A missing client id before a bad origin.
    let refusal = check_co_authenticate(&policy(), None, b"{}").unwrap_err();
    assert_400(&refusal, BODY_FIELDS_REQUIRED);
    // Cross-origin login off before a bad origin.
    let refusal =
        check_co_authenticate(&policy(), Some("https://evil.example"), &login(OTHER)).unwrap_err();
    assert_401(&refusal);
}
