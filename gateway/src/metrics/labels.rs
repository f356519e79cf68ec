//! Metric label values as types. Every label value the gateway can export is a variant of an enum
//! here, or comes from configuration (domain names, rule names, configured routes), so label sets
//! stay bounded by construction, and [`super::Metrics::with_every_series`] can list them all for
//! the dashboards' and alert rules' checks.

use prometheus_client::encoding::{EncodeLabelSet, LabelSetEncoder};

/// A label value: its text, and every value it can take (one example for values that come from
/// configuration).
pub trait LabelValue: Clone {
    fn label(&self) -> &str;
    fn every() -> Vec<Self>;
}

/// An enum of label values with their exported text.
macro_rules! label_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl $crate::metrics::labels::LabelValue for $name {
            fn label(&self) -> &str {
                self.as_str()
            }
            fn every() -> Vec<Self> {
                Self::ALL.to_vec()
            }
        }
    };
}

/// A label set: a struct whose fields are [`LabelValue`]s, encoded under the field names.
macro_rules! label_set {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Debug, Hash, PartialEq, Eq)]
        pub struct $name { $($(#[$fm])* pub $field: $ty),+ }

        impl EncodeLabelSet for $name {
            fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
                [$((stringify!($field), LabelValue::label(&self.$field))),+].encode(encoder)
            }
        }

        impl $name {
            /// Every combination of the fields' values.
            pub fn every() -> Vec<Self> {
                let mut out = Vec::new();
                label_set!(@nest out $name [] $($field : $ty,)+);
                out
            }
        }
    };
    (@nest $out:ident $name:ident [$($done:ident)*] $field:ident : $ty:ty, $($rest:tt)*) => {
        for $field in <$ty as LabelValue>::every() {
            label_set!(@nest $out $name [$($done)* $field] $($rest)*);
        }
    };
    (@nest $out:ident $name:ident [$($done:ident)*]) => {
        $out.push($name { $($done: $done.clone()),* });
    };
}

impl LabelValue for bool {
    fn label(&self) -> &str {
        if *self {
            "true"
        } else {
            "false"
        }
    }
    fn every() -> Vec<Self> {
        vec![false, true]
    }
}

/// Names from configuration (domains, CRL issuers): bounded by the configuration.
impl LabelValue for String {
    fn label(&self) -> &str {
        self
    }
    fn every() -> Vec<Self> {
        vec!["example".to_owned()]
    }
}

impl LabelValue for mtls_policies::HostKind {
    fn label(&self) -> &str {
        match self {
            mtls_policies::HostKind::Domain => "domain",
            mtls_policies::HostKind::Alias => "alias",
        }
    }
    fn every() -> Vec<Self> {
        vec![
            mtls_policies::HostKind::Domain,
            mtls_policies::HostKind::Alias,
        ]
    }
}

impl LabelValue for mtls_policies::RefusalKind {
    fn label(&self) -> &str {
        self.as_str()
    }
    fn every() -> Vec<Self> {
        Self::ALL.to_vec()
    }
}

impl LabelValue for mtls_policies::Fault {
    fn label(&self) -> &str {
        self.as_str()
    }
    fn every() -> Vec<Self> {
        Self::ALL.to_vec()
    }
}

/// A rate-limit rule's configured name, interned at load.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct RuleName(pub &'static str);

impl LabelValue for RuleName {
    fn label(&self) -> &str {
        self.0
    }
    fn every() -> Vec<Self> {
        vec![RuleName("example")]
    }
}

/// The `route` label: a well-known provider path, a configured alias route, or `other`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct Route(pub &'static str);

/// Provider paths worth their own label on the plain domain; any other path is `other`, so the
/// label's values stay bounded whatever clients request.
pub const WELL_KNOWN_ROUTES: [&str; 7] = [
    "/authorize",
    "/co/authenticate",
    "/oauth/token",
    "/oauth/par",
    "/userinfo",
    "/oauth/revoke",
    "/.well-known/openid-configuration",
];

impl Route {
    pub const OTHER: Route = Route("other");

    /// The label for a request path: a well-known path, one of the domain's configured routes
    /// (interned at load by [`intern`]), or `other`. No lock, no allocation.
    pub fn of(path: &str, configured: &[&'static str]) -> Route {
        WELL_KNOWN_ROUTES
            .iter()
            .chain(configured)
            .find(|r| **r == path)
            .map_or(Route::OTHER, |r| Route(r))
    }
}

impl LabelValue for Route {
    fn label(&self) -> &str {
        self.0
    }
    fn every() -> Vec<Self> {
        WELL_KNOWN_ROUTES
            .iter()
            .map(|r| Route(r))
            .chain([Route::OTHER])
            .collect()
    }
}

/// Interns configured names (routes, rule names) once per distinct string, so reloads never grow
/// memory for a name already known, and labels are `&'static str`.
pub fn intern<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'static str> {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static SEEN: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    names
        .into_iter()
        .map(|r| match seen.get(r) {
            Some(s) => *s,
            None => {
                let leaked: &'static str = Box::leak(r.to_owned().into_boxed_str());
                seen.insert(leaked);
                leaked
            }
        })
        .collect()
}

label_enum! {
    /// How a TLS handshake ended; `ok` or why it failed. See `connection::HandshakeOutcome`.
    HandshakeResult {
        Ok => "ok",
        Timeout => "timeout",
        BadClientHello => "bad_client_hello",
        UnknownSni => "unknown_sni",
        CertExpired => "cert_expired",
        CertNotYetValid => "cert_not_yet_valid",
        CertWrongEku => "cert_wrong_eku",
        CertMalformed => "cert_malformed",
        CertUntrusted => "cert_untrusted",
        CertBadSignature => "cert_bad_signature",
        CertRevoked => "cert_revoked",
        CertInvalid => "cert_invalid",
        /// A resumed session whose certificate the current trust no longer accepts.
        CertRechecked => "cert_rechecked",
        AlertReceived => "alert_received",
        NoAlpn => "no_alpn",
        Incompatible => "incompatible",
        TlsError => "tls_error",
        IoError => "io_error",
    }
}

label_enum! {
    TlsVersion {
        Tls13 => "TLSv1.3",
        Tls12 => "TLSv1.2",
        Unknown => "unknown",
    }
}

impl TlsVersion {
    pub fn of(v: Option<rustls::ProtocolVersion>) -> TlsVersion {
        match v {
            Some(rustls::ProtocolVersion::TLSv1_3) => TlsVersion::Tls13,
            Some(rustls::ProtocolVersion::TLSv1_2) => TlsVersion::Tls12,
            _ => TlsVersion::Unknown,
        }
    }
}

label_enum! {
    /// What the alias made of a connection's client certificate.
    VerdictOutcome {
        Success => "success",
        Failed => "failed",
        Refused => "refused",
        None => "none",
    }
}

label_enum! {
    /// Why: a `FAILED:` reason, a refusal's handshake result, or `none`.
    VerdictReason {
        None => "none",
        SelfSigned => "self_signed",
        UnverifiedFirst => "unverified_first",
        NoLocalIssuer => "no_local_issuer",
        ChainExpired => "chain_expired",
        ChainNotYetValid => "chain_not_yet_valid",
        CaAsLeaf => "ca_as_leaf",
        Revoked => "revoked",
        CrlStale => "crl_stale",
        CrlMissing => "crl_missing",
        Other => "other",
        CertExpired => "cert_expired",
        CertNotYetValid => "cert_not_yet_valid",
        CertWrongEku => "cert_wrong_eku",
        CertMalformed => "cert_malformed",
        CertUntrusted => "cert_untrusted",
        CertBadSignature => "cert_bad_signature",
        CertRevoked => "cert_revoked",
        CertInvalid => "cert_invalid",
    }
}

label_enum! {
    StatusClass {
        Informational => "1xx",
        Success => "2xx",
        Redirection => "3xx",
        ClientError => "4xx",
        ServerError => "5xx",
    }
}

impl StatusClass {
    pub fn of(status: http::StatusCode) -> StatusClass {
        match status.as_u16() {
            100..=199 => StatusClass::Informational,
            200..=299 => StatusClass::Success,
            300..=399 => StatusClass::Redirection,
            400..=499 => StatusClass::ClientError,
            _ => StatusClass::ServerError,
        }
    }
}

label_enum! {
    UpstreamErrorKind {
        Timeout => "timeout",
        Connect => "connect",
        Request => "request",
        /// Not counted as an upstream error: the client's body failed (kept for the log's kind).
        ClientBody => "client_body",
    }
}

label_enum! {
    /// Why a connection was closed at accept, before TLS.
    ConnectionRefusal {
        MaxConnections => "max_connections",
        MaxConnectionsPerIp => "max_connections_per_ip",
    }
}

label_enum! {
    /// Why the gateway closed an established connection.
    CloseReason {
        /// No request within `header_read_timeout` of the handshake.
        NoRequest => "no_request",
        /// Older than `max_connection_age`.
        MaxAge => "max_age",
        /// After a reload, its host is gone or its certificate's verdict changed.
        TrustChanged => "trust_changed",
        /// The gateway is stopping.
        Drain => "drain",
    }
}

label_enum! {
    ReloadResult {
        Success => "success",
        Failure => "failure",
    }
}

label_enum! {
    RateOutcome {
        Allowed => "allowed",
        Refused => "refused",
    }
}

label_enum! {
    /// Where a rate-limit decision was made.
    RateSource {
        Local => "local",
        Redis => "redis",
        /// Redis unavailable; `fail_open` let the local limiter decide.
        FallbackLocal => "fallback_local",
        /// Redis unavailable; `fail_closed` refused.
        FallbackClosed => "fallback_closed",
    }
}

label_enum! {
    RedisErrorKind {
        Decision => "decision",
    }
}

label_set! {
    HandshakeLabels {
        host_kind: mtls_policies::HostKind,
        outcome: HandshakeResult,
        version: TlsVersion,
        resumed: bool,
    }
}

label_set! {
    HostLabels { host_kind: mtls_policies::HostKind }
}

label_set! {
    VerdictLabels { outcome: VerdictOutcome, reason: VerdictReason }
}

label_set! {
    RequestLabels {
        host_kind: mtls_policies::HostKind,
        route: Route,
        status_class: StatusClass,
    }
}

label_set! {
    RefusalLabels { kind: mtls_policies::RefusalKind, fault: mtls_policies::Fault }
}

label_set! {
    UpstreamErrorLabels { kind: UpstreamErrorKind }
}

label_set! {
    ConnectionRefusedLabels { kind: ConnectionRefusal }
}

label_set! {
    ReloadLabels { kind: ReloadResult }
}

label_set! {
    CloseLabels { reason: CloseReason }
}

label_set! {
    RateLabels { rule: RuleName, outcome: RateOutcome, source: RateSource }
}

label_set! {
    RedisErrorLabels { kind: RedisErrorKind }
}

label_set! {
    DomainLabels { domain: String }
}

label_set! {
    CrlLabels {
        domain: String,
        /// The CRL issuer's name (from configuration, so bounded).
        issuer: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_set_is_the_product_of_its_fields() {
        assert_eq!(
            HandshakeLabels::every().len(),
            2 * HandshakeResult::ALL.len() * 3 * 2
        );
        assert_eq!(CrlLabels::every().len(), 1);
        let texts: std::collections::HashSet<&str> =
            HandshakeResult::ALL.iter().map(|h| h.as_str()).collect();
        assert_eq!(
            texts.len(),
            HandshakeResult::ALL.len(),
            "label texts are distinct"
        );
    }

    #[test]
    fn routes_are_bounded() {
        let configured = intern(["/custom"]);
        assert_eq!(
            Route::of("/oauth/token", &configured),
            Route("/oauth/token")
        );
        assert_eq!(Route::of("/custom", &configured), Route("/custom"));
        assert_eq!(Route::of("/anything/else", &configured), Route::OTHER);
        // Interning the same name twice gives the same pointer: reloads don't leak.
        assert!(std::ptr::eq(intern(["/custom"])[0], configured[0]));
    }
}
