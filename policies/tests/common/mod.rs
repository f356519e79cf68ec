//! The domain the browser-policy tests run against.

#![allow(dead_code)]

use mtls_policies::{
    App, AppSettings, BrowserPolicy, CorsConfig, OriginSet, Refusal, UnknownClientPolicy,
};

/// Single-page app: CORS from its site and any preview site, cross-origin
/// login from its site only.
pub const SPA: &str = "spa-client";
/// Another app on another site, with cross-origin login off.
pub const OTHER: &str = "other-client";

pub fn settings(cors: &[&str], web: &[&str], cross_origin_authentication: bool) -> AppSettings {
    AppSettings {
        allowed_origins: OriginSet::parse(cors).unwrap(),
        allowed_web_origins: OriginSet::parse(web).unwrap(),
        cross_origin_authentication,
    }
}

pub fn policy_with(unknown: UnknownClientPolicy, cors: CorsConfig) -> BrowserPolicy {
    BrowserPolicy::new(
        [
            App {
                client_id: SPA.into(),
                settings: settings(
                    &["https://app.example.com", "https://*.preview.example.com"],
                    &["https://app.example.com"],
                    true,
                ),
            },
            App {
                client_id: OTHER.into(),
                settings: settings(
                    &["https://other.example.org"],
                    &["https://other.example.org"],
                    false,
                ),
            },
        ],
        unknown,
        cors,
    )
    .unwrap()
    .with_own_origins(
        OriginSet::parse(["https://auth.example.com", "https://mtls.auth.example.com"]).unwrap(),
    )
}

pub fn policy() -> BrowserPolicy {
    policy_with(UnknownClientPolicy::Deny, CorsConfig::default())
}

/// The provider's plain-text 403.
pub fn assert_origin_refusal(refusal: &Refusal, shown: &str) {
    let text = format!("Origin {shown} is not allowed.");
    assert_eq!(
        refusal,
        &Refusal::OriginNotAllowed {
            origin: shown.into()
        }
    );
    assert_eq!(refusal.status().as_u16(), 403);
    assert_eq!(refusal.description(), text);
    assert_eq!(refusal.body(), text.as_bytes());
    assert_eq!(refusal.content_type(), "text/plain; charset=utf-8");
}
