//! Loading a domain's upstream and its `cname-api-key` (part of [`super::load`]).

use std::net::SocketAddr;
use std::sync::Arc;

use http::HeaderValue;
use rustls::RootCertStore;

use super::file::FileUpstream;
use super::load::{valid_hostname, Loader};
use super::{ApiKey, UpstreamConfig};

impl Loader {
    pub(super) fn api_key(
        &mut self,
        key: &str,
        file: Option<&str>,
        env: Option<&str>,
    ) -> Option<ApiKey> {
        let secret = match (file, env) {
            (Some(_), Some(_)) => {
                self.error(
                    format!("{key}.api_key_file"),
                    "set either api_key_file or api_key_env, not both",
                );
                return None;
            }
            (None, None) => {
                self.error(
                    format!("{key}.api_key_file"),
                    "the cname-api-key is required: set api_key_file or api_key_env",
                );
                return None;
            }
            (Some(f), None) => {
                let path = self.resolve(f);
                match std::fs::read_to_string(&path) {
                    Ok(s) => s.trim().to_owned(),
                    Err(e) => {
                        self.error(
                            format!("{key}.api_key_file"),
                            format!("{}: cannot read: {e}", path.display()),
                        );
                        return None;
                    }
                }
            }
            (None, Some(var)) => match std::env::var(var) {
                Ok(s) => s.trim().to_owned(),
                Err(_) => {
                    self.error(
                        format!("{key}.api_key_env"),
                        format!("environment variable `{var}` is not set or not UTF-8"),
                    );
                    return None;
                }
            },
        };
        let which = if file.is_some() {
            "api_key_file"
        } else {
            "api_key_env"
        };
        if secret.is_empty() {
            self.error(format!("{key}.{which}"), "the cname-api-key is empty");
            return None;
        }
        // The problem text never repeats the secret.
        ApiKey::new(&secret).or_else(|| {
            self.error(
                format!("{key}.{which}"),
                "the cname-api-key contains characters not allowed in a header",
            );
            None
        })
    }

    pub(super) fn upstream(&mut self, key: &str, u: &FileUpstream) -> Option<UpstreamConfig> {
        let errors_before = self.errors.len();
        let host = u.host.trim_end_matches('.').to_ascii_lowercase();
        if !valid_hostname(&host) && host.parse::<std::net::IpAddr>().is_err() {
            self.error(
                format!("{key}.host"),
                format!("`{}` is not a hostname", u.host),
            );
        }
        let header = u.host_header.clone().unwrap_or_else(|| host.clone());
        let host_header = HeaderValue::from_str(&header).ok();
        if host_header.is_none() {
            self.error(
                format!("{key}.host_header"),
                format!("`{header}` is not a valid Host header value"),
            );
        }
        let connect_to = u
            .connect_to
            .as_deref()
            .and_then(|a| match a.parse::<SocketAddr>() {
                Ok(a) => Some(a),
                Err(_) => {
                    self.error(
                        format!("{key}.connect_to"),
                        format!("`{a}` is not an IP:port socket address"),
                    );
                    None
                }
            });
        let roots = match &u.ca_file {
            None => None,
            Some(f) => {
                let certs = self
                    .read_certs(&format!("{key}.ca_file"), f)
                    .unwrap_or_default();
                let mut store = RootCertStore::empty();
                let (_, bad) = store.add_parsable_certificates(certs);
                if bad > 0 {
                    self.error(
                        format!("{key}.ca_file"),
                        format!("{f}: {bad} certificate(s) could not be used as trust anchors"),
                    );
                }
                Some(Arc::new(store))
            }
        };
        if u.connect_timeout.is_zero() {
            self.error(
                format!("{key}.connect_timeout"),
                "must be greater than zero",
            );
        }
        if u.response_timeout.is_zero() {
            self.error(
                format!("{key}.response_timeout"),
                "must be greater than zero",
            );
        }
        if self.errors.len() > errors_before {
            return None;
        }
        Some(UpstreamConfig {
            host,
            port: u.port,
            host_header: host_header?,
            connect_to,
            roots,
            connect_timeout: u.connect_timeout,
            response_timeout: u.response_timeout,
        })
    }
}
