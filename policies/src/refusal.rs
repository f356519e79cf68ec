//! Every synthetic HTTP answer the edge gives, built in one place.
//!
//! Clients of the token endpoints parse OAuth 2.0 error bodies (RFC 6749
//! §5.2), so the edge's own refusals use the same shape and the same `error`
//! codes the provider would. Keeping them in one enum means a status code, its
//! error code, its text and its metric label cannot drift apart, and no
//! refusal can leak internal detail by accident.

use std::borrow::Cow;
use std::fmt;

use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::{Response, StatusCode};
use serde::Serialize;

/// Used only if serialisation ever failed, which it cannot for two strings;
/// it keeps the body valid JSON without a panic path.
const FALLBACK_BODY: &[u8] =
    br#"{"error":"server_error","error_description":"The gateway could not process the request."}"#;

/// A request the edge answers itself instead of forwarding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 404: the path is not forwarded on this host.
    NotFound,
    /// 421: the request's host is not the TLS server name.
    Misdirected,
    /// 401: the mTLS alias was reached without a client certificate.
    ClientCertificateRequired,
    /// 400: the client certificate would not fit in the forwarded header.
    ClientCertificateTooLarge { encoded_len: usize, limit: usize },
    /// 400 with a fixed explanation. `&'static str` so that request data can
    /// never be echoed back.
    BadRequest(&'static str),
    /// 502: the provider could not be reached.
    UpstreamUnavailable,
    /// 504: the provider did not answer in time.
    UpstreamTimeout,
    /// 500: a fault in the edge itself; details go to logs, not to clients.
    Internal,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl Refusal {
    /// The HTTP status code.
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::NotFound => StatusCode::NOT_FOUND,
            Refusal::Misdirected => StatusCode::MISDIRECTED_REQUEST,
            Refusal::ClientCertificateRequired => StatusCode::UNAUTHORIZED,
            Refusal::ClientCertificateTooLarge { .. } | Refusal::BadRequest(_) => {
                StatusCode::BAD_REQUEST
            }
            Refusal::UpstreamUnavailable => StatusCode::BAD_GATEWAY,
            Refusal::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            Refusal::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The OAuth-style `error` code.
    pub fn error(&self) -> &'static str {
        match self {
            Refusal::NotFound => "not_found",
            Refusal::Misdirected => "misdirected_request",
            Refusal::ClientCertificateRequired => "invalid_client",
            Refusal::ClientCertificateTooLarge { .. } | Refusal::BadRequest(_) => "invalid_request",
            Refusal::UpstreamUnavailable | Refusal::UpstreamTimeout => "temporarily_unavailable",
            Refusal::Internal => "server_error",
        }
    }

    /// Human-readable `error_description`.
    pub fn description(&self) -> Cow<'static, str> {
        match self {
            Refusal::NotFound => Cow::Borrowed("The requested path is not served on this host."),
            Refusal::Misdirected => Cow::Borrowed("The request's host does not match the TLS server name."),
            Refusal::ClientCertificateRequired => Cow::Borrowed("A client certificate is required on this host."),
            Refusal::ClientCertificateTooLarge { encoded_len, limit } => Cow::Owned(format!(
                "The client certificate is {encoded_len} bytes when encoded, more than the limit of {limit} bytes."
            )),
            Refusal::BadRequest(text) => Cow::Borrowed(text),
            Refusal::UpstreamUnavailable => Cow::Borrowed("The identity provider could not be reached."),
            Refusal::UpstreamTimeout => Cow::Borrowed("The identity provider did not answer in time."),
            Refusal::Internal => Cow::Borrowed("The gateway could not process the request."),
        }
    }

    /// `{"error": "...", "error_description": "..."}` — serialised with
    /// serde_json so any text is escaped.
    pub fn json_body(&self) -> Vec<u8> {
        let description = self.description();
        serde_json::to_vec(&ErrorBody {
            error: self.error(),
            error_description: &description,
        })
        .unwrap_or_else(|_| FALLBACK_BODY.to_vec())
    }

    /// Short stable label for metrics/logs (`"not_found"`, `"misdirected"`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Refusal::NotFound => "not_found",
            Refusal::Misdirected => "misdirected",
            Refusal::ClientCertificateRequired => "client_certificate_required",
            Refusal::ClientCertificateTooLarge { .. } => "client_certificate_too_large",
            Refusal::BadRequest(_) => "bad_request",
            Refusal::UpstreamUnavailable => "upstream_unavailable",
            Refusal::UpstreamTimeout => "upstream_timeout",
            Refusal::Internal => "internal",
        }
    }

    /// The complete response: status, JSON body, `content-type:
    /// application/json` and `cache-control: no-store` (RFC 6749 §5.1 asks
    /// token-endpoint answers not to be cached; a cached refusal would outlive
    /// its cause).
    pub fn response(&self) -> Response<Vec<u8>> {
        let mut response = Response::new(self.json_body());
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status().as_u16(),
            self.error(),
            self.description()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn all() -> Vec<Refusal> {
        vec![
            Refusal::NotFound,
            Refusal::Misdirected,
            Refusal::ClientCertificateRequired,
            Refusal::ClientCertificateTooLarge {
                encoded_len: 12_345,
                limit: 8_192,
            },
            Refusal::BadRequest("The request is malformed."),
            Refusal::UpstreamUnavailable,
            Refusal::UpstreamTimeout,
            Refusal::Internal,
        ]
    }

    #[test]
    fn statuses_and_codes_are_as_documented() {
        let expected = [
            (404, "not_found"),
            (421, "misdirected_request"),
            (401, "invalid_client"),
            (400, "invalid_request"),
            (400, "invalid_request"),
            (502, "temporarily_unavailable"),
            (504, "temporarily_unavailable"),
            (500, "server_error"),
        ];
        for (refusal, (status, error)) in all().iter().zip(expected) {
            assert_eq!(refusal.status().as_u16(), status, "{refusal:?}");
            assert_eq!(refusal.error(), error, "{refusal:?}");
        }
    }

    #[test]
    fn every_body_is_json_with_exactly_two_keys() {
        for refusal in all() {
            let body: Value = serde_json::from_slice(&refusal.json_body()).unwrap();
            let object = body.as_object().unwrap();
            assert_eq!(object.len(), 2, "{refusal:?}");
            assert_eq!(object["error"], refusal.error());
            assert_eq!(object["error_description"], *refusal.description());
            assert!(!refusal.description().is_empty());
        }
    }

    #[test]
    fn description_text_is_escaped() {
        let refusal = Refusal::BadRequest("quote \" backslash \\ newline \n tag </script> nul \0");
        let body = refusal.json_body();
        assert!(!body.contains(&b'\n') && !body.contains(&0));
        let parsed: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            parsed["error_description"],
            "quote \" backslash \\ newline \n tag </script> nul \0"
        );
    }

    #[test]
    fn too_large_names_both_sizes() {
        let text = Refusal::ClientCertificateTooLarge {
            encoded_len: 12_345,
            limit: 8_192,
        }
        .description();
        assert!(text.contains("12345") && text.contains("8192"), "{text}");
    }

    #[test]
    fn kinds_are_distinct_and_stable() {
        let kinds: Vec<&str> = all().iter().map(Refusal::kind).collect();
        assert_eq!(
            kinds,
            [
                "not_found",
                "misdirected",
                "client_certificate_required",
                "client_certificate_too_large",
                "bad_request",
                "upstream_unavailable",
                "upstream_timeout",
                "internal",
            ]
        );
    }

    #[test]
    fn response_carries_status_body_and_headers() {
        for refusal in all() {
            let response = refusal.response();
            assert_eq!(response.status(), refusal.status());
            assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
            assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
            assert_eq!(*response.body(), refusal.json_body());
            assert!(refusal
                .to_string()
                .starts_with(&refusal.status().as_u16().to_string()));
        }
    }
}
