//! Why a handshake did not produce a connection, as a type: metrics and logs read the variant,
//! never a string prefix.

use mtls_policies::HostKind;

use crate::metrics::{HandshakeLabels, HandshakeResult, Metrics, TlsVersion};
use crate::metrics::{VerdictLabels, VerdictOutcome, VerdictReason};

/// A client certificate refused during the handshake (a TLS alert was sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertRefusal {
    Expired,
    NotYetValid,
    WrongEku,
    Malformed,
    Untrusted,
    BadSignature,
    Revoked,
    Invalid,
}

/// How a connection attempt ended without a usable TLS connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeOutcome {
    /// No complete handshake within `handshake_timeout`.
    Timeout,
    /// The first bytes were not a TLS ClientHello.
    BadClientHello,
    /// The ClientHello named no host we serve (or none at all).
    UnknownSni,
    /// The client certificate was refused in the handshake.
    Certificate(CertRefusal),
    /// A resumed session whose certificate the current trust no longer accepts.
    NoLongerAcceptable,
    /// The client ended the handshake with an alert.
    AlertReceived,
    /// No application protocol in common.
    NoAlpn,
    /// No protocol version or cipher suite in common.
    Incompatible,
    /// Any other TLS error.
    Tls,
    /// The socket failed.
    Io,
}

/// A failed handshake with what is known about it.
#[derive(Debug, Clone, Copy)]
pub struct HandshakeFailure {
    pub outcome: HandshakeOutcome,
    /// The host the ClientHello named; unknown hosts count as the plain domain.
    pub host_kind: HostKind,
    pub version: TlsVersion,
    pub resumed: bool,
}

impl HandshakeOutcome {
    /// Classifies the error tokio-rustls returns from a handshake.
    pub fn of_handshake_error(e: &std::io::Error) -> HandshakeOutcome {
        use rustls::{CertificateError as C, Error as E};
        use CertRefusal as R;
        let cert = |r| HandshakeOutcome::Certificate(r);
        match e.get_ref().and_then(|i| i.downcast_ref::<E>()) {
            Some(E::InvalidCertificate(C::Expired | C::ExpiredContext { .. })) => cert(R::Expired),
            Some(E::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. })) => {
                cert(R::NotYetValid)
            }
            Some(E::InvalidCertificate(C::InvalidPurpose | C::InvalidPurposeContext { .. })) => {
                cert(R::WrongEku)
            }
            Some(E::InvalidCertificate(C::BadEncoding)) => cert(R::Malformed),
            Some(E::InvalidCertificate(C::UnknownIssuer)) => cert(R::Untrusted),
            Some(E::InvalidCertificate(C::BadSignature)) => cert(R::BadSignature),
            Some(E::InvalidCertificate(
                C::Revoked
                | C::ExpiredRevocationList
                | C::ExpiredRevocationListContext { .. }
                | C::UnknownRevocationStatus,
            )) => cert(R::Revoked),
            Some(E::InvalidCertificate(_)) => cert(R::Invalid),
            Some(E::AlertReceived(_)) => HandshakeOutcome::AlertReceived,
            Some(E::NoApplicationProtocol) => HandshakeOutcome::NoAlpn,
            Some(E::PeerIncompatible(_)) => HandshakeOutcome::Incompatible,
            Some(_) => HandshakeOutcome::Tls,
            None => HandshakeOutcome::Io,
        }
    }

    pub fn label(self) -> HandshakeResult {
        use CertRefusal as R;
        use HandshakeResult as L;
        match self {
            HandshakeOutcome::Timeout => L::Timeout,
            HandshakeOutcome::BadClientHello => L::BadClientHello,
            HandshakeOutcome::UnknownSni => L::UnknownSni,
            HandshakeOutcome::Certificate(r) => match r {
                R::Expired => L::CertExpired,
                R::NotYetValid => L::CertNotYetValid,
                R::WrongEku => L::CertWrongEku,
                R::Malformed => L::CertMalformed,
                R::Untrusted => L::CertUntrusted,
                R::BadSignature => L::CertBadSignature,
                R::Revoked => L::CertRevoked,
                R::Invalid => L::CertInvalid,
            },
            HandshakeOutcome::NoLongerAcceptable => L::CertRechecked,
            HandshakeOutcome::AlertReceived => L::AlertReceived,
            HandshakeOutcome::NoAlpn => L::NoAlpn,
            HandshakeOutcome::Incompatible => L::Incompatible,
            HandshakeOutcome::Tls => L::TlsError,
            HandshakeOutcome::Io => L::IoError,
        }
    }
}

impl CertRefusal {
    fn verdict_reason(self) -> VerdictReason {
        match self {
            CertRefusal::Expired => VerdictReason::CertExpired,
            CertRefusal::NotYetValid => VerdictReason::CertNotYetValid,
            CertRefusal::WrongEku => VerdictReason::CertWrongEku,
            CertRefusal::Malformed => VerdictReason::CertMalformed,
            CertRefusal::Untrusted => VerdictReason::CertUntrusted,
            CertRefusal::BadSignature => VerdictReason::CertBadSignature,
            CertRefusal::Revoked => VerdictReason::CertRevoked,
            CertRefusal::Invalid => VerdictReason::CertInvalid,
        }
    }
}

impl HandshakeFailure {
    /// Counts the failed handshake and, for a refused certificate, the verdict.
    pub fn record(&self, metrics: &Metrics) {
        metrics
            .handshakes
            .get_or_create(&HandshakeLabels {
                host_kind: self.host_kind,
                outcome: self.outcome.label(),
                version: self.version,
                resumed: self.resumed,
            })
            .inc();
        if let HandshakeOutcome::Certificate(r) = self.outcome {
            metrics
                .verdicts
                .get_or_create(&VerdictLabels {
                    outcome: VerdictOutcome::Refused,
                    reason: r.verdict_reason(),
                })
                .inc();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rustls_errors_map_to_outcomes() {
        let wrap = |e: rustls::Error| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        let revoked = wrap(rustls::CertificateError::Revoked.into());
        assert_eq!(
            HandshakeOutcome::of_handshake_error(&revoked),
            HandshakeOutcome::Certificate(CertRefusal::Revoked)
        );
        let plain = std::io::Error::other("reset");
        assert_eq!(
            HandshakeOutcome::of_handshake_error(&plain),
            HandshakeOutcome::Io
        );
        let alpn = wrap(rustls::Error::NoApplicationProtocol);
        assert_eq!(
            HandshakeOutcome::of_handshake_error(&alpn).label(),
            HandshakeResult::NoAlpn
        );
        assert_eq!(
            HandshakeOutcome::NoLongerAcceptable.label().as_str(),
            "cert_rechecked"
        );
    }
}
