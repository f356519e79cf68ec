//! What the edge concludes about a client certificate: the verdict forwarded in
//! `client-certificate-ca-verified`, its reason words, and the identity the request path uses.

use http::HeaderValue;
use mtls_certs::Thumbprint;
use rustls::pki_types::CertificateDer;

use crate::config::registry::Registered;
use crate::metrics::{VerdictOutcome, VerdictReason};

/// What the edge tells the provider in `client-certificate-ca-verified`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Success,
    Failed(FailReason),
}

/// Failure reasons, worded as nginx/OpenSSL word the same case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    SelfSigned,
    /// The leaf's issuer is not a trusted CA and no intermediate was sent.
    UnverifiedFirst,
    /// An intermediate was sent but the chain ends at an untrusted CA.
    NoLocalIssuer,
    ChainExpired,
    ChainNotYetValid,
    CaAsLeaf,
    /// Revoked by a CRL (with `revoked = "flag"`).
    Revoked,
    /// A CRL covering the chain is past its nextUpdate (`stale_crl = "enforce"`, `revoked = "flag"`).
    CrlStale,
    /// No CRL for an issuer in the chain (`crl_missing = "deny"`, `revoked = "flag"`).
    CrlMissing,
    Other,
}

impl FailReason {
    pub fn text(self) -> &'static str {
        match self {
            FailReason::SelfSigned => "self-signed certificate",
            FailReason::UnverifiedFirst => "unable to verify the first certificate",
            FailReason::NoLocalIssuer => "unable to get local issuer certificate",
            FailReason::ChainExpired => "certificate has expired",
            FailReason::ChainNotYetValid => "certificate is not yet valid",
            FailReason::CaAsLeaf => "CA certificate used as end entity",
            FailReason::Revoked => "certificate revoked",
            FailReason::CrlStale => "CRL has expired",
            FailReason::CrlMissing => "unable to get certificate CRL",
            FailReason::Other => "certificate verification failed",
        }
    }

    /// Stable label for logs and metrics.
    pub fn label(self) -> &'static str {
        self.metric_label().as_str()
    }

    fn metric_label(self) -> VerdictReason {
        match self {
            FailReason::SelfSigned => VerdictReason::SelfSigned,
            FailReason::UnverifiedFirst => VerdictReason::UnverifiedFirst,
            FailReason::NoLocalIssuer => VerdictReason::NoLocalIssuer,
            FailReason::ChainExpired => VerdictReason::ChainExpired,
            FailReason::ChainNotYetValid => VerdictReason::ChainNotYetValid,
            FailReason::CaAsLeaf => VerdictReason::CaAsLeaf,
            FailReason::Revoked => VerdictReason::Revoked,
            FailReason::CrlStale => VerdictReason::CrlStale,
            FailReason::CrlMissing => VerdictReason::CrlMissing,
            FailReason::Other => VerdictReason::Other,
        }
    }
}

impl Verdict {
    /// The exact header value, built once per verdict.
    pub fn header_value(self) -> HeaderValue {
        match self {
            Verdict::Success => HeaderValue::from_static("SUCCESS"),
            Verdict::Failed(r) => HeaderValue::from_str(&format!("FAILED:{}", r.text()))
                .unwrap_or_else(|_| HeaderValue::from_static("FAILED")),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Success => "success",
            Verdict::Failed(r) => r.label(),
        }
    }

    /// The verdict metric's labels.
    pub fn metric_labels(self) -> (VerdictOutcome, VerdictReason) {
        match self {
            Verdict::Success => (VerdictOutcome::Success, VerdictReason::None),
            Verdict::Failed(r) => (VerdictOutcome::Failed, r.metric_label()),
        }
    }
}

/// Everything the request path needs about the client's certificate, computed once.
#[derive(Debug)]
pub struct ClientIdentity {
    pub thumbprint: Thumbprint,
    pub verdict: Verdict,
    pub verdict_header: HeaderValue,
    /// Size of the `client-certificate` value (URL-encoded PEM).
    pub encoded_len: usize,
    /// The `client-certificate` value; `None` when it is over the provider's limit.
    pub cert_header: Option<HeaderValue>,
    /// Until when this verdict holds (certificate notAfter, earliest enforced CRL nextUpdate).
    pub valid_until: i64,
    /// The registry entry the certificate matches, when a registry is configured.
    pub registered: Option<Registered>,
    /// The chain as presented (leaf first), kept once per distinct client so that open
    /// connections can be re-checked when the trust changes.
    pub chain: Vec<CertificateDer<'static>>,
}

impl ClientIdentity {
    /// Whether `other` (the same chain judged again) tells the provider the same thing.
    pub fn same_verdict(&self, other: &ClientIdentity) -> bool {
        self.verdict == other.verdict && self.registered == other.registered
    }
}
