//! Every synthetic HTTP answer the edge gives, built in one place.
//!
//! Clients of the token endpoints parse OAuth 2.0 error bodies (RFC 6749
//! §5.2), so the edge's own refusals use the same shape and the same `error`
//! codes the provider would. Keeping them in one enum means a status code, its
//! error code, its text and its metric label cannot drift apart, and no
//! refusal can leak internal detail by accident.

use std::borrow::Cow;
use std::fmt;

use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
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
    /// 401 `invalid_client`: the certificate matches no registered credential (`edge_policy = "registered"`).
    ClientCertificateNotRegistered,
    /// 400: the client certificate would not fit in the forwarded header.
    ClientCertificateTooLarge { encoded_len: usize, limit: usize },
    /// 400 with a fixed explanation. `&'static str` so that request data can
    /// never be echoed back.
    BadRequest(&'static str),
    /// 400: a header a decision reads appears more than once (its display name).
    RepeatedHeader(&'static str),
    /// 400: a header a decision reads is not visible ASCII text (its display name).
    InvalidHeader(&'static str),
    /// 502: the provider could not be reached.
    UpstreamUnavailable,
    /// 504: the provider did not answer in time.
    UpstreamTimeout,
    /// 429: a rate limit refused the request; `retry_after_secs` becomes the
    /// `Retry-After` header. The `error` code is the provider's own for its
    /// 429s, so clients that already handle those need nothing new.
    TooManyRequests { retry_after_secs: u64 },
    /// 413 `invalid_request`: a body the edge must read (to find a `client_id`) is larger than
    /// it reads.
    PayloadTooLarge { limit: usize },
    /// 403: a browser request from an origin the application does not allow.
    /// The provider answers these with a plain-text body, `Origin <origin> is
    /// not allowed.`, without `error` or `error_description` ("Configure
    /// Cross-Origin Resource Sharing", error codes), so [`Refusal::body`] is
    /// that text, not JSON. `origin` is the normalised or sanitised value
    /// (see `cors::origin_not_allowed`); empty when there was none.
    OriginNotAllowed { origin: String },
    /// 401 `unauthorized_client` "Cross origin login not allowed.": the
    /// provider's answer from `/co/authenticate` when the application has
    /// cross-origin authentication off.
    CrossOriginLoginNotAllowed,
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
            Refusal::ClientCertificateNotRegistered => StatusCode::UNAUTHORIZED,
            Refusal::ClientCertificateTooLarge { .. }
            | Refusal::BadRequest(_)
            | Refusal::RepeatedHeader(_)
            | Refusal::InvalidHeader(_) => StatusCode::BAD_REQUEST,
            Refusal::UpstreamUnavailable => StatusCode::BAD_GATEWAY,
            Refusal::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            Refusal::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Refusal::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::OriginNotAllowed { .. } => StatusCode::FORBIDDEN,
            Refusal::CrossOriginLoginNotAllowed => StatusCode::UNAUTHORIZED,
        }
    }

    /// The OAuth-style `error` code.
    pub fn error(&self) -> &'static str {
        match self {
            Refusal::NotFound => "not_found",
            Refusal::Misdirected => "misdirected_request",
            Refusal::ClientCertificateRequired => "invalid_client",
            Refusal::ClientCertificateNotRegistered => "invalid_client",
            Refusal::ClientCertificateTooLarge { .. }
            | Refusal::BadRequest(_)
            | Refusal::RepeatedHeader(_)
            | Refusal::InvalidHeader(_) => "invalid_request",
            Refusal::UpstreamUnavailable | Refusal::UpstreamTimeout => "temporarily_unavailable",
            Refusal::TooManyRequests { .. } => "too_many_attempts",
            Refusal::PayloadTooLarge { .. } => "invalid_request",
            Refusal::OriginNotAllowed { .. } => "access_denied",
            Refusal::CrossOriginLoginNotAllowed => "unauthorized_client",
        }
    }

    /// Human-readable `error_description`.
    pub fn description(&self) -> Cow<'static, str> {
        match self {
            Refusal::NotFound => Cow::Borrowed("The requested path is not served on this host."),
            Refusal::Misdirected => Cow::Borrowed("The request's host does not match the TLS server name."),
            Refusal::ClientCertificateRequired => Cow::Borrowed("A client certificate is required on this host."),
            Refusal::ClientCertificateNotRegistered => Cow::Borrowed("The client certificate is not registered for use on this host."),
            Refusal::ClientCertificateTooLarge { encoded_len, limit } => Cow::Owned(format!(
                "The client certificate is {encoded_len} bytes when encoded, more than the limit of {limit} bytes."
            )),
            Refusal::BadRequest(text) => Cow::Borrowed(text),
            Refusal::RepeatedHeader(name) => Cow::Owned(format!("More than one {name} header.")),
            Refusal::InvalidHeader(name) => Cow::Owned(format!("The {name} header is not valid.")),
            Refusal::UpstreamUnavailable => Cow::Borrowed("The identity provider could not be reached."),
            Refusal::UpstreamTimeout => Cow::Borrowed("The identity provider did not answer in time."),
            Refusal::OriginNotAllowed { origin } if origin.is_empty() => {
                Cow::Borrowed("Origin is not allowed.")
            }
            Refusal::OriginNotAllowed { origin } => Cow::Owned(format!("Origin {origin} is not allowed.")),
            Refusal::CrossOriginLoginNotAllowed => Cow::Borrowed("Cross origin login not allowed."),
            Refusal::PayloadTooLarge { limit } => Cow::Owned(format!(
                "The request body is larger than the {limit} bytes this endpoint reads."
            )),
            Refusal::TooManyRequests { retry_after_secs } => Cow::Owned(format!(
                "Too many requests. Retry after {retry_after_secs} second{}.",
                if *retry_after_secs == 1 { "" } else { "s" }
            )),
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

    /// The answer's body: [`Refusal::json_body`], except for
    /// [`Refusal::OriginNotAllowed`], whose body is the provider's plain text.
    pub fn body(&self) -> Vec<u8> {
        match self {
            Refusal::OriginNotAllowed { .. } => self.description().into_owned().into_bytes(),
            _ => self.json_body(),
        }
    }

    /// The `content-type` of [`Refusal::body`].
    pub fn content_type(&self) -> &'static str {
        match self {
            Refusal::OriginNotAllowed { .. } => "text/plain; charset=utf-8",
            _ => "application/json",
        }
    }

    /// Stable label for metrics and logs.
    pub fn kind(&self) -> RefusalKind {
        match self {
            Refusal::NotFound => RefusalKind::NotFound,
            Refusal::Misdirected => RefusalKind::Misdirected,
            Refusal::ClientCertificateRequired => RefusalKind::ClientCertificateRequired,
            Refusal::ClientCertificateNotRegistered => RefusalKind::ClientCertificateNotRegistered,
            Refusal::ClientCertificateTooLarge { .. } => RefusalKind::ClientCertificateTooLarge,
            Refusal::BadRequest(_) | Refusal::RepeatedHeader(_) | Refusal::InvalidHeader(_) => {
                RefusalKind::BadRequest
            }
            Refusal::UpstreamUnavailable => RefusalKind::UpstreamUnavailable,
            Refusal::UpstreamTimeout => RefusalKind::UpstreamTimeout,
            Refusal::TooManyRequests { .. } => RefusalKind::TooManyRequests,
            Refusal::PayloadTooLarge { .. } => RefusalKind::PayloadTooLarge,
            Refusal::OriginNotAllowed { .. } => RefusalKind::OriginNotAllowed,
            Refusal::CrossOriginLoginNotAllowed => RefusalKind::CrossOriginLoginNotAllowed,
        }
    }

    /// Whose fault the refusal is: a client's request, or the provider behind the edge. Alerts on
    /// provider outages count only [`Fault::Upstream`], so no client can fake one.
    pub fn fault(&self) -> Fault {
        match self {
            Refusal::UpstreamUnavailable | Refusal::UpstreamTimeout => Fault::Upstream,
            _ => Fault::Client,
        }
    }

    /// The complete response: status, [`Refusal::body`] with its
    /// `content-type` (JSON, or the provider's plain text for a refused
    /// origin, with `x-content-type-options: nosniff`), and `cache-control:
    /// no-store` (RFC 6749 §5.1 asks token-endpoint answers not to be cached;
    /// a cached refusal would outlive its cause). A 429 also carries
    /// `Retry-After`.
    pub fn response(&self) -> Response<Vec<u8>> {
        let mut response = Response::new(self.body());
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type()));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Refusal::OriginNotAllowed { .. } = self {
            // The text echoes request data: never let it be sniffed as HTML.
            headers.insert(
                http::header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
        }
        if let Refusal::TooManyRequests { retry_after_secs } = self {
            headers.insert(RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        response
    }
}

/// Whose fault a failed request is (the pingora style): the metric for refusals carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The client sent something the edge refuses.
    Client,
    /// The provider could not be reached or did not answer in time.
    Upstream,
}

impl Fault {
    pub const ALL: [Fault; 2] = [Fault::Client, Fault::Upstream];

    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Client => "client",
            Fault::Upstream => "upstream",
        }
    }
}

/// The kind of a [`Refusal`], without its data: a bounded metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalKind {
    NotFound,
    Misdirected,
    ClientCertificateRequired,
    ClientCertificateNotRegistered,
    ClientCertificateTooLarge,
    BadRequest,
    UpstreamUnavailable,
    UpstreamTimeout,
    TooManyRequests,
    PayloadTooLarge,
    OriginNotAllowed,
    CrossOriginLoginNotAllowed,
}

impl RefusalKind {
    pub const ALL: [RefusalKind; 12] = [
        RefusalKind::NotFound,
        RefusalKind::Misdirected,
        RefusalKind::ClientCertificateRequired,
        RefusalKind::ClientCertificateNotRegistered,
        RefusalKind::ClientCertificateTooLarge,
        RefusalKind::BadRequest,
        RefusalKind::UpstreamUnavailable,
        RefusalKind::UpstreamTimeout,
        RefusalKind::TooManyRequests,
        RefusalKind::PayloadTooLarge,
        RefusalKind::OriginNotAllowed,
        RefusalKind::CrossOriginLoginNotAllowed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RefusalKind::NotFound => "not_found",
            RefusalKind::Misdirected => "misdirected",
            RefusalKind::ClientCertificateRequired => "client_certificate_required",
            RefusalKind::ClientCertificateNotRegistered => "client_certificate_not_registered",
            RefusalKind::ClientCertificateTooLarge => "client_certificate_too_large",
            RefusalKind::BadRequest => "bad_request",
            RefusalKind::UpstreamUnavailable => "upstream_unavailable",
            RefusalKind::UpstreamTimeout => "upstream_timeout",
            RefusalKind::TooManyRequests => "too_many_requests",
            RefusalKind::PayloadTooLarge => "payload_too_large",
            RefusalKind::OriginNotAllowed => "origin_not_allowed",
            RefusalKind::CrossOriginLoginNotAllowed => "cross_origin_login_not_allowed",
        }
    }
}

impl PartialEq<&str> for RefusalKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
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
            Refusal::ClientCertificateNotRegistered,
            Refusal::ClientCertificateTooLarge {
                encoded_len: 12_345,
                limit: 8_192,
            },
            Refusal::BadRequest("The request is malformed."),
            Refusal::UpstreamUnavailable,
            Refusal::UpstreamTimeout,
            Refusal::RepeatedHeader("Host"),
        ]
    }

    #[test]
    fn statuses_and_codes_are_as_documented() {
        let expected = [
            (404, "not_found"),
            (421, "misdirected_request"),
            (401, "invalid_client"),
            (401, "invalid_client"),
            (400, "invalid_request"),
            (400, "invalid_request"),
            (502, "temporarily_unavailable"),
            (504, "temporarily_unavailable"),
            (400, "invalid_request"),
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
        let kinds: Vec<&str> = all().iter().map(|r| r.kind().as_str()).collect();
        assert_eq!(
            kinds,
            [
                "not_found",
                "misdirected",
                "client_certificate_required",
                "client_certificate_not_registered",
                "client_certificate_too_large",
                "bad_request",
                "upstream_unavailable",
                "upstream_timeout",
                "bad_request",
            ]
        );
    }

    #[test]
    fn faults_blame_the_provider_only_for_upstream_failures() {
        for refusal in all() {
            let expected = match refusal {
                Refusal::UpstreamUnavailable | Refusal::UpstreamTimeout => Fault::Upstream,
                _ => Fault::Client,
            };
            assert_eq!(refusal.fault(), expected, "{refusal:?}");
        }
        let labels: std::collections::HashSet<&str> =
            RefusalKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(labels.len(), RefusalKind::ALL.len());
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
