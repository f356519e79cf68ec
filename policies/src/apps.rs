//! The browser-facing settings of the provider's applications, as the edge
//! knows them.
//!
//! The provider keeps, per application (client id), the lists the edge has
//! to enforce: "Allowed Origins (CORS)" (which pages may call it from
//! JavaScript), "Allowed Web Origins" (which pages may use cross-origin
//! authentication, device flow and `web_message`) and whether
//! "Allow Cross-Origin Authentication" is on. The gateway builds these from
//! its configuration; nothing here reads files or talks to the provider.

use crate::origin_set::OriginSet;

/// One application's browser-facing settings.
///
/// `Default` allows nothing: no origins, cross-origin authentication off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppSettings {
    /// "Allowed Origins (CORS)": origins whose JavaScript may read the
    /// provider's answers. The provider also accepts the origins of
    /// "Allowed Callback URLs" for CORS; the edge does not know callback
    /// URLs, so list those origins here too.
    pub allowed_origins: OriginSet,
    /// "Allowed Web Origins": origins that may call `/co/authenticate`.
    ///
    /// Wildcards are accepted here as in the CORS list. The provider's pages
    /// disagree: "Application Settings" and "Subdomain URL Placeholders" list
    /// Allowed Web Origins among the fields that take `*`, while the
    /// cross-origin authentication page says they "cannot contain
    /// wildcards". The edge follows the settings reference; an operator who
    /// wants the stricter reading simply configures no `*` here.
    pub allowed_web_origins: OriginSet,
    /// "Allow Cross-Origin Authentication" (the Management API's
    /// `cross_origin_auth`).
    pub cross_origin_authentication: bool,
}

/// One application: its client id and settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// The provider's client id, compared byte for byte.
    pub client_id: String,
    /// Its settings.
    pub settings: AppSettings,
}

/// What to do with a client id the edge has no settings for.
///
/// Denying is the default: an application the operator has not described to
/// the edge has, as far as the edge can tell, allowed no origin at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum UnknownClientPolicy {
    /// Treat it as allowing nothing.
    #[default]
    Deny,
    /// Treat it as having these settings.
    UseApp(AppSettings),
}
