//! Everything one custom domain needs for its browser-facing decisions.
//!
//! Built once when the configuration is loaded (and again on reload), then
//! shared read-only by every request. The union of all CORS origins is
//! computed here, once, because preflights carry no client id and must be
//! answered against every application's list.

use std::collections::HashMap;

use thiserror::Error;

use crate::apps::{App, AppSettings, UnknownClientPolicy};
use crate::cors_config::CorsConfig;
use crate::origin_set::OriginSet;

/// The application list is inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BrowserPolicyError {
    /// Two entries for one client id: which one applies would depend on
    /// configuration order.
    #[error("client id {client_id:?} is configured more than once")]
    DuplicateClientId { client_id: String },
    /// An empty client id can never be sent by a real client.
    #[error("an application has an empty client id")]
    EmptyClientId,
}

/// One domain's applications, unknown-client default and CORS answer.
#[derive(Debug, Clone)]
pub struct BrowserPolicy {
    apps: HashMap<String, AppSettings>,
    unknown: UnknownClientPolicy,
    union_cors: OriginSet,
    cors: CorsConfig,
    own: OriginSet,
}

impl BrowserPolicy {
    /// Builds the policy and precomputes the CORS union (every app's
    /// allowed origins, plus the unknown-client default's).
    pub fn new<I>(
        apps: I,
        unknown: UnknownClientPolicy,
        cors: CorsConfig,
    ) -> Result<BrowserPolicy, BrowserPolicyError>
    where
        I: IntoIterator<Item = App>,
    {
        let mut by_id: HashMap<String, AppSettings> = HashMap::new();
        let mut union_cors = OriginSet::new();
        for App {
            client_id,
            settings,
        } in apps
        {
            if client_id.is_empty() {
                return Err(BrowserPolicyError::EmptyClientId);
            }
            if by_id.contains_key(&client_id) {
                return Err(BrowserPolicyError::DuplicateClientId { client_id });
            }
            union_cors.extend_from(&settings.allowed_origins);
            by_id.insert(client_id, settings);
        }
        if let UnknownClientPolicy::UseApp(settings) = &unknown {
            union_cors.extend_from(&settings.allowed_origins);
        }
        Ok(BrowserPolicy {
            apps: by_id,
            unknown,
            union_cors,
            cors,
            own: OriginSet::new(),
        })
    }

    /// Declares the domain's own origins (`https://auth.example.com`, and
    /// the `mtls.` alias's). A request whose `Origin` is one of them is
    /// same-origin, not CORS: the provider's hosted pages post to their own
    /// domain with an `Origin` header, and no application list mentions it.
    pub fn with_own_origins(mut self, own: OriginSet) -> BrowserPolicy {
        self.own = own;
        self
    }

    /// The domain's own origins (empty unless set).
    pub fn own_origins(&self) -> &OriginSet {
        &self.own
    }

    /// The configured settings of `client_id`, if it is configured.
    pub fn app(&self, client_id: &str) -> Option<&AppSettings> {
        self.apps.get(client_id)
    }

    /// The settings that apply to `client_id`: its own, else the
    /// unknown-client default; `None` when that default is
    /// [`UnknownClientPolicy::Deny`].
    pub fn settings_for(&self, client_id: &str) -> Option<&AppSettings> {
        match self.apps.get(client_id) {
            Some(settings) => Some(settings),
            None => match &self.unknown {
                UnknownClientPolicy::Deny => None,
                UnknownClientPolicy::UseApp(settings) => Some(settings),
            },
        }
    }

    /// Every origin any application (or the default) allows for CORS.
    pub fn union_cors_origins(&self) -> &OriginSet {
        &self.union_cors
    }

    /// The preflight answer's configuration.
    pub fn cors_config(&self) -> &CorsConfig {
        &self.cors
    }

    /// The unknown-client default.
    pub fn unknown_client_policy(&self) -> &UnknownClientPolicy {
        &self.unknown
    }

    /// Number of configured applications.
    pub fn app_count(&self) -> usize {
        self.apps.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(id: &str, cors: &[&str]) -> App {
        App {
            client_id: id.to_owned(),
            settings: AppSettings {
                allowed_origins: OriginSet::parse(cors).unwrap(),
                ..AppSettings::default()
            },
        }
    }

    #[test]
    fn refuses_duplicate_and_empty_ids() {
        let dup = BrowserPolicy::new(
            [app("a", &[]), app("a", &[])],
            UnknownClientPolicy::Deny,
            CorsConfig::default(),
        );
        assert_eq!(
            dup.unwrap_err(),
            BrowserPolicyError::DuplicateClientId {
                client_id: "a".into()
            }
        );
        let empty = BrowserPolicy::new(
            [app("", &[])],
            UnknownClientPolicy::Deny,
            CorsConfig::default(),
        );
        assert_eq!(empty.unwrap_err(), BrowserPolicyError::EmptyClientId);
    }

    #[test]
    fn union_includes_every_app_and_the_default() {
        let default = app("", &["https://default.test"]).settings;
        let policy = BrowserPolicy::new(
            [
                app("a", &["https://a.test"]),
                app("b", &["https://*.b.test"]),
            ],
            UnknownClientPolicy::UseApp(default),
            CorsConfig::default(),
        )
        .unwrap();
        assert_eq!(policy.union_cors_origins().len(), 3);
        assert_eq!(policy.app_count(), 2);
        assert!(policy.app("a").is_some());
        assert!(policy.app("zzz").is_none());
        assert!(policy.settings_for("zzz").is_some());
    }
}
