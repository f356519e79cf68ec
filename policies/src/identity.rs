//! Headers a client must never be able to set.
//!
//! The provider trusts a few headers because only its customer edge (us) can
//! reach it with the right `cname-api-key`: the client certificate, whether it
//! chained to a configured CA, and the true client IP. If a client could send
//! any of them and have them survive, it could claim a certificate it does not
//! hold or an address it does not have. So every client-sent copy is removed
//! before the edge injects its own values.
//!
//! Matching ignores ASCII case and treats `_` as `-`, because some servers and
//! frameworks along the way (CGI-style environments, nginx with
//! `underscores_in_headers`, WSGI) fold `Client_Certificate` into the same
//! variable as `client-certificate`. Stripping only the canonical spelling
//! would leave the folded one to be believed downstream.

use http::header::{HeaderMap, HeaderName};
use thiserror::Error;

pub use crate::hop_by_hop::strip_hop_by_hop;

/// Header carrying the edge's API key for the provider's custom domain.
pub const CNAME_API_KEY: &str = "cname-api-key";
/// Header carrying the client certificate the edge verified.
pub const CLIENT_CERTIFICATE: &str = "client-certificate";
/// Header saying whether the client certificate chained to a configured CA.
pub const CLIENT_CERTIFICATE_CA_VERIFIED: &str = "client-certificate-ca-verified";
/// Default header for the true client IP.
pub const DEFAULT_CLIENT_IP_HEADER: &str = "true-client-ip";

/// The same names as typed header names, for inserting.
pub const CNAME_API_KEY_HEADER: HeaderName = HeaderName::from_static(CNAME_API_KEY);
pub const CLIENT_CERTIFICATE_HEADER: HeaderName = HeaderName::from_static(CLIENT_CERTIFICATE);
pub const CLIENT_CERTIFICATE_CA_VERIFIED_HEADER: HeaderName =
    HeaderName::from_static(CLIENT_CERTIFICATE_CA_VERIFIED);

/// Headers the edge injects itself (besides the configured client-IP header).
pub const INJECTED_HEADERS: [&str; 3] = [
    CNAME_API_KEY,
    CLIENT_CERTIFICATE,
    CLIENT_CERTIFICATE_CA_VERIFIED,
];

/// Headers that claim a client address. Whatever the provider or anything in
/// between reads the client IP from, a client must not be able to choose it.
pub const CLIENT_IP_CLAIMS: [&str; 9] = [
    "true-client-ip",
    "x-forwarded-for",
    "x-real-ip",
    "x-client-ip",
    "forwarded",
    "x-cluster-client-ip",
    "cf-connecting-ip",
    "fastly-client-ip",
    "x-original-forwarded-for",
];

/// Headers the configured client-IP header may not be: the edge's own
/// identity headers, and headers whose meaning to HTTP itself (framing,
/// routing, credentials) would be overwritten by an address.
const RESERVED_FOR_CLIENT_IP: [&str; 15] = [
    CNAME_API_KEY,
    CLIENT_CERTIFICATE,
    CLIENT_CERTIFICATE_CA_VERIFIED,
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "authorization",
    "cookie",
];

/// The configured client-IP header is unusable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdentityError {
    /// Not a valid HTTP field name (empty, spaces, colons, non-ASCII...).
    #[error("client IP header {name:?} is not a valid HTTP header name")]
    InvalidName { name: String },
    /// Contains `_`. Many servers drop such headers or fold them into the
    /// `-` spelling, so the provider might never see it, or see it twice.
    #[error("client IP header {name:?} contains '_'; use '-' instead")]
    Underscore { name: String },
    /// Would overwrite an identity header or a header HTTP itself relies on.
    #[error("client IP header {name:?} is reserved and cannot carry the client IP")]
    Reserved { name: String },
}

/// The headers the edge injects, plus client-IP claims that are never
/// trusted from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityHeaders {
    client_ip_header: HeaderName,
}

impl IdentityHeaders {
    /// `client_ip_header` is the configured header for the true client IP
    /// (default `"true-client-ip"`). Case is normalised to lower case.
    pub fn new(client_ip_header: &str) -> Result<IdentityHeaders, IdentityError> {
        let name = HeaderName::from_bytes(client_ip_header.as_bytes()).map_err(|_| {
            IdentityError::InvalidName {
                name: client_ip_header.to_owned(),
            }
        })?;
        if client_ip_header.contains('_') {
            return Err(IdentityError::Underscore {
                name: client_ip_header.to_owned(),
            });
        }
        if RESERVED_FOR_CLIENT_IP
            .iter()
            .any(|reserved| same_header_name(reserved.as_bytes(), name.as_str().as_bytes()))
        {
            return Err(IdentityError::Reserved {
                name: client_ip_header.to_owned(),
            });
        }
        Ok(IdentityHeaders {
            client_ip_header: name,
        })
    }

    /// True when a client-sent header with this name must be removed:
    /// compared case-insensitively with `_` treated as `-` (so
    /// `"Client_Certificate"`, `"CNAME_API_KEY"`,
    /// `"client-certificate-ca-verified"`, `"True_Client_IP"` all match).
    /// Protected: cname-api-key, client-certificate,
    /// client-certificate-ca-verified, the configured client-ip header, and
    /// the client-IP claim family ([`CLIENT_IP_CLAIMS`]).
    ///
    /// Does not allocate: it runs for every header of every request.
    pub fn is_protected(&self, name: &str) -> bool {
        let name = name.as_bytes();
        INJECTED_HEADERS
            .iter()
            .chain(CLIENT_IP_CLAIMS.iter())
            .any(|protected| same_header_name(protected.as_bytes(), name))
            || same_header_name(self.client_ip_header.as_str().as_bytes(), name)
    }

    /// The header the edge writes the true client IP into.
    pub fn client_ip_header(&self) -> &HeaderName {
        &self.client_ip_header
    }
}

impl Default for IdentityHeaders {
    /// Uses [`DEFAULT_CLIENT_IP_HEADER`].
    fn default() -> Self {
        IdentityHeaders {
            client_ip_header: HeaderName::from_static(DEFAULT_CLIENT_IP_HEADER),
        }
    }
}

/// Removes every protected header from the map (all copies, any spelling).
/// Returns how many header fields (values) were removed.
///
/// Call this before injecting the edge's own identity headers, and after
/// [`strip_hop_by_hop`].
pub fn strip_identity_headers(headers: &mut HeaderMap, rules: &IdentityHeaders) -> usize {
    // Collect first: the map cannot be modified while its keys are borrowed.
    // The Vec only allocates when a client actually sent a protected header.
    let doomed: Vec<HeaderName> = headers
        .keys()
        .filter(|name| rules.is_protected(name.as_str()))
        .cloned()
        .collect();
    let mut removed = 0;
    for name in doomed {
        if let http::header::Entry::Occupied(entry) = headers.entry(name) {
            removed += entry.remove_entry_mult().1.count();
        }
    }
    removed
}

/// Byte-wise equality ignoring ASCII case, with `_` and `-` equivalent.
fn same_header_name(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(&x, &y)| fold(x) == fold(y))
}

fn fold(byte: u8) -> u8 {
    if byte == b'_' {
        b'-'
    } else {
        byte.to_ascii_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;

    fn all_protected() -> Vec<&'static str> {
        INJECTED_HEADERS
            .iter()
            .chain(CLIENT_IP_CLAIMS.iter())
            .copied()
            .collect()
    }

    fn insert(map: &mut HeaderMap, name: &str, value: &'static str) {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_static(value),
        );
    }

    #[test]
    fn spelling_variants_are_protected() {
        let rules = IdentityHeaders::default();
        let variants =
            "Client_Certificate CNAME_API_KEY client-certificate-ca-verified True_Client_IP \
            CLIENT-CERTIFICATE cLiEnT_cErTiFiCaTe-Ca_VeRiFiEd x_forwarded_for X-Forwarded-For \
            Forwarded X_REAL_IP x-Client-Ip x_cluster_client_ip CF-Connecting-IP Fastly_Client_IP \
            X-Original_Forwarded-For cname_api-key";
        for name in variants.split_whitespace() {
            assert!(rules.is_protected(name), "{name} must be protected");
        }
    }

    #[test]
    fn unrelated_headers_are_not_protected() {
        let rules = IdentityHeaders::default();
        for name in [
            "client-certificate-x",
            "x-client-certificate",
            "client-certificate-ca",
            "client-certificate-ca-verified-",
            "client certificate",
            "clientcertificate",
            "cname-api-keys",
            "cname-api",
            "x-api-key",
            "authorization",
            "content-type",
            "x-forwarded-proto",
            "x-forwarded-host",
            "forwarded-for",
            "true-client-ip2",
            "",
            "-",
            "client\u{2010}certificate", // Unicode hyphen
        ] {
            assert!(!rules.is_protected(name), "{name:?} must not be protected");
        }
    }

    #[test]
    fn configured_client_ip_header_is_protected() {
        let rules = IdentityHeaders::new("X-Edge-Client-IP").unwrap();
        assert_eq!(rules.client_ip_header().as_str(), "x-edge-client-ip");
        assert!(rules.is_protected("x-edge-client-ip"));
        assert!(rules.is_protected("X_Edge_Client_Ip"));
        // The claim family stays protected whatever is configured.
        assert!(rules.is_protected("true-client-ip"));
        assert!(rules.is_protected("x-forwarded-for"));
        assert!(!rules.is_protected("x-edge-client"));
    }

    #[test]
    fn client_ip_header_config_errors() {
        assert_eq!(
            IdentityHeaders::default(),
            IdentityHeaders::new(DEFAULT_CLIENT_IP_HEADER).unwrap()
        );
        assert!(IdentityHeaders::new("x-forwarded-for").is_ok());
        for bad in [
            "",
            " ",
            "true client ip",
            "true-client-ip:",
            ":authority",
            "ïp",
            "a\nb",
        ] {
            assert!(
                matches!(
                    IdentityHeaders::new(bad),
                    Err(IdentityError::InvalidName { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            IdentityHeaders::new("true_client_ip"),
            Err(IdentityError::Underscore { .. })
        ));
        for reserved in [
            "client-certificate",
            "CNAME-API-KEY",
            "Host",
            "content-length",
            "connection",
            "authorization",
        ] {
            let err = IdentityHeaders::new(reserved).unwrap_err();
            assert!(
                matches!(err, IdentityError::Reserved { .. }),
                "{reserved}: {err:?}"
            );
            assert!(err.to_string().contains(reserved));
        }
    }

    #[test]
    fn strips_every_copy_and_spelling() {
        let rules = IdentityHeaders::default();
        let mut headers = HeaderMap::new();
        assert_eq!(strip_identity_headers(&mut headers, &rules), 0);
        insert(&mut headers, "client-certificate", "forged");
        insert(&mut headers, "client-certificate", "forged-again");
        insert(&mut headers, "Client_Certificate", "forged-underscore");
        insert(&mut headers, "CNAME_API_KEY", "stolen");
        insert(&mut headers, "client-certificate-ca-verified", "SUCCESS");
        insert(&mut headers, "True_Client_IP", "1.2.3.4");
        insert(&mut headers, "x-forwarded-for", "1.2.3.4");
        insert(&mut headers, "x-forwarded-for", "5.6.7.8");
        insert(&mut headers, "forwarded", "for=1.2.3.4");
        insert(&mut headers, "client-certificate-x", "kept");
        insert(&mut headers, "x-api-key", "kept");
        insert(&mut headers, "authorization", "Bearer kept");
        insert(
            &mut headers,
            "content-type",
            "application/x-www-form-urlencoded",
        );

        assert_eq!(strip_identity_headers(&mut headers, &rules), 9);
        let mut left: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(
            left,
            [
                "authorization",
                "client-certificate-x",
                "content-type",
                "x-api-key"
            ]
        );
        assert!(headers.values().all(|v| v != "forged" && v != "stolen"));

        // Idempotent: nothing left to remove.
        assert_eq!(strip_identity_headers(&mut headers, &rules), 0);
    }

    /// Re-cases each byte and swaps '-' for '_' according to the masks.
    fn respell(name: &str, case_mask: &[bool], underscore_mask: &[bool]) -> String {
        name.bytes()
            .enumerate()
            .map(|(i, b)| {
                let b = if b == b'-' && underscore_mask[i % underscore_mask.len()] {
                    b'_'
                } else {
                    b
                };
                let b = if case_mask[i % case_mask.len()] {
                    b.to_ascii_uppercase()
                } else {
                    b
                };
                b as char
            })
            .collect()
    }

    proptest! {
        #[test]
        fn respelled_protected_names_are_always_stripped(
            picks in prop::collection::vec(0usize..12, 1..6),
            case_mask in prop::collection::vec(any::<bool>(), 1..40),
            underscore_mask in prop::collection::vec(any::<bool>(), 1..40),
            copies in 1usize..4,
        ) {
            let rules = IdentityHeaders::default();
            let protected = all_protected();
            let mut headers = HeaderMap::new();
            insert(&mut headers, "x-api-key", "kept");
            let mut inserted = 0;
            for pick in picks {
                let name = respell(protected[pick], &case_mask, &underscore_mask);
                prop_assert!(rules.is_protected(&name), "{} not protected", name);
                for _ in 0..copies {
                    insert(&mut headers, &name, "forged");
                    inserted += 1;
                }
            }
            prop_assert_eq!(strip_identity_headers(&mut headers, &rules), inserted);
            prop_assert_eq!(headers.len(), 1);
            prop_assert!(headers.contains_key("x-api-key"));
        }

        #[test]
        fn is_protected_agrees_with_normalised_lookup(name in "[a-zA-Z_-]{0,32}") {
            let rules = IdentityHeaders::default();
            let normalised = name.to_ascii_lowercase().replace('_', "-");
            let expected = all_protected().contains(&normalised.as_str());
            prop_assert_eq!(rules.is_protected(&name), expected);
        }
    }
}
