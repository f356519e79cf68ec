//! Loading the browser policy and rate-limit rules of a domain (part of [`super::load`]).

use super::load::Loader;
use mtls_policies::RouteList;

impl Loader {
    pub(super) fn origin_set(&mut self, key: &str, entries: &[String]) -> mtls_policies::OriginSet {
        match mtls_policies::OriginSet::parse(entries) {
            Ok(set) => set,
            Err(e) => {
                self.error(key, e.to_string());
                mtls_policies::OriginSet::new()
            }
        }
    }

    pub(super) fn app_settings(
        &mut self,
        key: &str,
        s: &super::file::FileAppSettings,
    ) -> mtls_policies::AppSettings {
        mtls_policies::AppSettings {
            allowed_origins: self.origin_set(&format!("{key}.allowed_origins"), &s.allowed_origins),
            allowed_web_origins: self.origin_set(
                &format!("{key}.allowed_web_origins"),
                &s.allowed_web_origins,
            ),
            cross_origin_authentication: s.cross_origin_authentication,
        }
    }

    /// `Some(None)`: no browser policy configured; `None`: errors were recorded.
    pub(super) fn browser(
        &mut self,
        key: &str,
        domain: &str,
        browser: Option<&super::file::FileBrowser>,
        apps: &[super::file::FileApp],
    ) -> Option<Option<super::BrowserConfig>> {
        if browser.is_none() && apps.is_empty() {
            return Some(None);
        }
        let errors_before = self.errors.len();
        let default = super::file::FileBrowser::default();
        let b = browser.unwrap_or(&default);
        let bk = format!("{key}.browser");
        let mut list = Vec::new();
        for (i, a) in apps.iter().enumerate() {
            let settings = self.app_settings(&format!("{key}.app[{i}]"), &a.settings);
            list.push(mtls_policies::App {
                client_id: a.client_id.clone(),
                settings,
            });
        }
        let unknown = match &b.default_app {
            None => mtls_policies::UnknownClientPolicy::Deny,
            Some(s) => mtls_policies::UnknownClientPolicy::UseApp(
                self.app_settings(&format!("{bk}.default_app"), s),
            ),
        };
        let cors = self.cors(&bk, b);
        let routes = match &b.cors_routes {
            Some(r) => RouteList::new(r),
            None => RouteList::new(super::DEFAULT_CORS_ROUTES),
        };
        let routes = match routes {
            Ok(r) => Some(r),
            Err(e) => {
                self.error(format!("{bk}.cors_routes"), e.to_string());
                None
            }
        };
        if self.errors.len() > errors_before {
            return None;
        }
        let own_set = self.own_origins(key, domain);
        match mtls_policies::BrowserPolicy::new(list, unknown, cors?) {
            Ok(policy) => Some(Some(super::BrowserConfig {
                policy: policy.with_own_origins(own_set),
                cors_routes: routes?,
            })),
            Err(e) => {
                self.error(format!("{key}.app"), e.to_string());
                None
            }
        }
    }

    /// The CORS answers of `[domain.browser]` at `bk`.
    fn cors(
        &mut self,
        bk: &str,
        b: &super::file::FileBrowser,
    ) -> Option<mtls_policies::CorsConfig> {
        use super::{DEFAULT_CORS_HEADERS, DEFAULT_CORS_MAX_AGE, DEFAULT_CORS_METHODS};
        let cors = mtls_policies::CorsConfig::new(
            b.cors_methods
                .clone()
                .unwrap_or_else(|| DEFAULT_CORS_METHODS.map(str::to_owned).to_vec()),
            b.cors_headers
                .clone()
                .unwrap_or_else(|| DEFAULT_CORS_HEADERS.map(str::to_owned).to_vec()),
            b.cors_max_age.unwrap_or(DEFAULT_CORS_MAX_AGE),
        );
        match cors {
            Ok(c) => Some(c),
            Err(e) => {
                self.error(format!("{bk}.cors_methods"), e.to_string());
                None
            }
        }
    }

    /// The provider's own pages (the domain and its alias, on any port) are not cross-origin.
    fn own_origins(&mut self, key: &str, domain: &str) -> mtls_policies::OriginSet {
        let own = [
            format!("https://{domain}"),
            format!("https://mtls.{domain}"),
        ];
        let mut own_set = self.origin_set(&format!("{key}.name"), &own);
        for port in self.listen_ports.clone() {
            let with_port = [
                format!("https://{domain}:{port}"),
                format!("https://mtls.{domain}:{port}"),
            ];
            own_set.extend_from(&self.origin_set(&format!("{key}.name"), &with_port));
        }
        own_set
    }

    pub(super) fn rate_rules(
        &mut self,
        key: &str,
        rules: &[super::file::FileRateRule],
    ) -> Option<mtls_policies::RateRules> {
        use super::file::{FileKeyPart, FileRateKey, RateHosts};
        use mtls_policies::{HostFilter, KeyPart, Quota, RateRule, RuleKey};
        let part = |p: FileKeyPart| match p {
            FileKeyPart::ClientIp => KeyPart::ClientIp,
            FileKeyPart::CertThumbprint => KeyPart::CertThumbprint,
            FileKeyPart::ClientId => KeyPart::ClientId,
        };
        let mut out = Vec::new();
        let errors_before = self.errors.len();
        for (i, r) in rules.iter().enumerate() {
            let k = format!("{key}[{i}]");
            let quota = match Quota::new(r.rate, r.per, r.burst.unwrap_or(r.rate)) {
                Ok(q) => q,
                Err(e) => {
                    self.error(format!("{k}.rate"), e.to_string());
                    continue;
                }
            };
            let rule_key = match &r.key {
                FileRateKey::One(FileKeyPart::ClientIp) => RuleKey::ClientIp,
                FileRateKey::One(FileKeyPart::CertThumbprint) => RuleKey::CertThumbprint,
                FileRateKey::One(FileKeyPart::ClientId) => RuleKey::ClientId,
                FileRateKey::Combination(parts) => {
                    RuleKey::Combination(parts.iter().map(|p| part(*p)).collect())
                }
            };
            let hosts = match r.hosts {
                RateHosts::Domain => HostFilter::Domain,
                RateHosts::Alias => HostFilter::Alias,
                RateHosts::Both => HostFilter::Both,
            };
            match RateRule::new(&r.name, &r.routes, hosts, rule_key, quota) {
                Ok(rule) => out.push(rule),
                Err(e) => self.error(k, e.to_string()),
            }
        }
        if self.errors.len() > errors_before {
            return None;
        }
        match mtls_policies::RateRules::new(out) {
            Ok(rules) => {
                for (host, route) in rules.routes_without_ip_rule() {
                    self.warnings.push(format!(
                        "{}: {key}: {route} on the {host:?} host has no client_ip rule: requests without the rule's key (no certificate, no client_id) are not limited there",
                        self.path.display()
                    ));
                }
                Some(rules)
            }
            Err(e) => {
                self.error(key, e.to_string());
                None
            }
        }
    }
}
