//! What a client sees when limited: headers and the 429 refusal.

use std::time::Duration;

use http::header::{HeaderMap, HeaderValue, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use mtls_policies::{
    insert_rate_limit_headers, Decision, Refusal, X_RATELIMIT_LIMIT, X_RATELIMIT_REMAINING,
    X_RATELIMIT_RESET,
};
use serde_json::Value;

const UNIX_NOW: Duration = Duration::from_millis(1_700_000_000_250);

#[test]
fn allowed_headers_carry_a_unix_reset_and_no_retry_after() {
    let mut headers = HeaderMap::new();
    headers.insert(X_RATELIMIT_REMAINING, HeaderValue::from_static("999"));
    insert_rate_limit_headers(
        &mut headers,
        &Decision {
            allowed: true,
            limit: 20,
            remaining: 7,
            reset_after: Duration::from_millis(1_300),
            retry_after: None,
        },
        UNIX_NOW,
    );
    assert_eq!(headers[X_RATELIMIT_LIMIT], "20");
    assert_eq!(headers[X_RATELIMIT_REMAINING], "7");
    // 1_700_000_000.25 s + 1.3 s = 1_700_000_001.55 s, rounded up.
    assert_eq!(headers[X_RATELIMIT_RESET], "1700000002");
    assert!(!headers.contains_key(RETRY_AFTER));
    assert_eq!(headers.get_all(X_RATELIMIT_REMAINING).iter().count(), 1);
}

#[test]
fn an_allowed_decision_keeps_an_upstream_retry_after() {
    let mut headers = HeaderMap::new();
    headers.insert(RETRY_AFTER, HeaderValue::from_static("120"));
    insert_rate_limit_headers(
        &mut headers,
        &Decision {
            allowed: true,
            limit: 1,
            remaining: 0,
            reset_after: Duration::from_secs(1),
            retry_after: None,
        },
        UNIX_NOW,
    );
    assert_eq!(headers[RETRY_AFTER], "120");
}

#[test]
fn refused_headers_round_retry_after_up() {
    let mut headers = HeaderMap::new();
    let decision = Decision {
        allowed: false,
        limit: 5,
        remaining: 0,
        reset_after: Duration::from_millis(4_000),
        retry_after: Some(Duration::from_millis(2_001)),
    };
    insert_rate_limit_headers(&mut headers, &decision, UNIX_NOW);
    assert_eq!(headers[RETRY_AFTER], "3");
    assert_eq!(headers[X_RATELIMIT_REMAINING], "0");
    assert_eq!(headers[X_RATELIMIT_RESET], "1700000005");
}

#[test]
fn too_many_requests_refusal() {
    let refusal = Refusal::TooManyRequests {
        retry_after_secs: 3,
    };
    assert_eq!(refusal.status().as_u16(), 429);
    assert_eq!(refusal.error(), "too_many_attempts");
    assert_eq!(refusal.kind(), "too_many_requests");
    assert_eq!(
        refusal.description(),
        "Too many requests. Retry after 3 seconds."
    );
    assert_eq!(
        Refusal::TooManyRequests {
            retry_after_secs: 1
        }
        .description(),
        "Too many requests. Retry after 1 second."
    );
    let response = refusal.response();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()[RETRY_AFTER], "3");
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["error"], "too_many_attempts");
    assert_eq!(body["error_description"], *refusal.description());
    assert!(refusal.to_string().starts_with("429 too_many_attempts"));
}

#[test]
fn other_refusals_carry_no_retry_after() {
    assert!(!Refusal::NotFound
        .response()
        .headers()
        .contains_key(RETRY_AFTER));
}
