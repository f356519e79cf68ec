//! Error classes: every failed iteration is counted under exactly one short, stable name, so runs
//! can be compared and scripts can look for e.g. `alert:certificate_expired` without parsing
//! free-form error text. The class is a small `Copy` value (no allocation on the hot path); its
//! name is only produced when the summary is written.

use std::error::Error as StdError;
use std::fmt;
use std::io;

use rustls::{AlertDescription, CertificateError};

/// Where in an iteration a failure happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// TCP connect.
    Connect,
    /// The TLS handshake.
    Handshake,
    /// An HTTP request and its response.
    Request,
    /// Closing the connection (close_notify, then waiting for the server to close), which is
    /// where a TLS 1.3 server's verdict on the client certificate arrives in `handshake` and
    /// `resume` modes.
    Close,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Connect => "connect",
            Phase::Handshake => "handshake",
            Phase::Request => "request",
            Phase::Close => "close",
        }
    }
}

/// Why an iteration failed. [`fmt::Display`] gives the stable class name documented in the
/// README (`connect_refused`, `timeout:handshake`, `alert:certificate_expired`, `http:404`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorClass {
    /// Nothing listens on the target port (ECONNREFUSED).
    ConnectRefused,
    /// Any other TCP connect failure (unreachable, no ports left, ...).
    ConnectError,
    /// A phase did not finish within `--timeout`.
    Timeout(Phase),
    /// The server sent a fatal TLS alert; the value is the alert number.
    Alert(u8),
    /// This side rejected the TLS session (e.g. the server certificate did not verify).
    Tls(&'static str),
    /// The peer closed or reset the connection without a TLS alert.
    Closed(Phase),
    /// Any other I/O failure.
    Io(Phase),
    /// A response arrived with a status of 400 or above.
    Http(u16),
    /// The HTTP exchange failed for a protocol reason (malformed response, HTTP/2 error, ...).
    Protocol,
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorClass::ConnectRefused => f.write_str("connect_refused"),
            ErrorClass::ConnectError => f.write_str("connect_error"),
            ErrorClass::Timeout(p) => write!(f, "timeout:{}", p.as_str()),
            ErrorClass::Alert(a) => match alert_name(AlertDescription::from(*a)) {
                Some(name) => write!(f, "alert:{name}"),
                None => write!(f, "alert:unknown_{a}"),
            },
            ErrorClass::Tls(what) => write!(f, "tls:{what}"),
            ErrorClass::Closed(p) => write!(f, "closed:{}", p.as_str()),
            ErrorClass::Io(p) => write!(f, "io:{}", p.as_str()),
            ErrorClass::Http(status) => write!(f, "http:{status}"),
            ErrorClass::Protocol => f.write_str("http_protocol"),
        }
    }
}

/// The IANA / RFC 8446 name of an alert (`certificate_expired`, `unknown_ca`, ...).
pub fn alert_name(a: AlertDescription) -> Option<&'static str> {
    use AlertDescription as A;
    Some(match a {
        A::CloseNotify => "close_notify",
        A::UnexpectedMessage => "unexpected_message",
        A::BadRecordMac => "bad_record_mac",
        A::DecryptionFailed => "decryption_failed",
        A::RecordOverflow => "record_overflow",
        A::DecompressionFailure => "decompression_failure",
        A::HandshakeFailure => "handshake_failure",
        A::NoCertificate => "no_certificate",
        A::BadCertificate => "bad_certificate",
        A::UnsupportedCertificate => "unsupported_certificate",
        A::CertificateRevoked => "certificate_revoked",
        A::CertificateExpired => "certificate_expired",
        A::CertificateUnknown => "certificate_unknown",
        A::IllegalParameter => "illegal_parameter",
        A::UnknownCA => "unknown_ca",
        A::AccessDenied => "access_denied",
        A::DecodeError => "decode_error",
        A::DecryptError => "decrypt_error",
        A::ExportRestriction => "export_restriction",
        A::ProtocolVersion => "protocol_version",
        A::InsufficientSecurity => "insufficient_security",
        A::InternalError => "internal_error",
        A::InappropriateFallback => "inappropriate_fallback",
        A::UserCanceled => "user_canceled",
        A::NoRenegotiation => "no_renegotiation",
        A::MissingExtension => "missing_extension",
        A::UnsupportedExtension => "unsupported_extension",
        A::CertificateUnobtainable => "certificate_unobtainable",
        A::UnrecognisedName => "unrecognized_name",
        A::BadCertificateStatusResponse => "bad_certificate_status_response",
        A::BadCertificateHashValue => "bad_certificate_hash_value",
        A::UnknownPSKIdentity => "unknown_psk_identity",
        A::CertificateRequired => "certificate_required",
        A::NoApplicationProtocol => "no_application_protocol",
        A::EncryptedClientHelloRequired => "encrypted_client_hello_required",
        _ => return None,
    })
}

/// A failed TCP connect.
pub fn connect(e: &io::Error) -> ErrorClass {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => ErrorClass::ConnectRefused,
        io::ErrorKind::TimedOut => ErrorClass::Timeout(Phase::Connect),
        _ => ErrorClass::ConnectError,
    }
}

/// An I/O error from a TLS stream: tokio-rustls wraps rustls' own errors (alerts received,
/// certificate verification failures) inside `io::Error`.
pub fn io(e: &io::Error, phase: Phase) -> ErrorClass {
    if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return tls_error(tls);
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => ErrorClass::Closed(phase),
        io::ErrorKind::TimedOut => ErrorClass::Timeout(phase),
        _ => ErrorClass::Io(phase),
    }
}

/// A rustls error: an alert from the peer keeps its name; anything this side decided is `tls:`.
pub fn tls_error(e: &rustls::Error) -> ErrorClass {
    use rustls::Error as E;
    ErrorClass::Tls(match e {
        E::AlertReceived(a) => return ErrorClass::Alert(u8::from(*a)),
        E::InvalidCertificate(c) => certificate_error(c),
        E::NoCertificatesPresented => "no_server_certificate",
        E::NoApplicationProtocol => "no_application_protocol",
        E::PeerIncompatible(_) => "peer_incompatible",
        E::PeerMisbehaved(_) => "peer_misbehaved",
        E::DecryptError => "decrypt_error",
        E::InappropriateMessage { .. } | E::InappropriateHandshakeMessage { .. } => {
            "unexpected_message"
        }
        E::InvalidMessage(_) => "invalid_message",
        _ => "other",
    })
}

fn certificate_error(c: &CertificateError) -> &'static str {
    use CertificateError as C;
    match c {
        C::UnknownIssuer => "server_cert_unknown_issuer",
        C::Expired | C::ExpiredContext { .. } => "server_cert_expired",
        C::NotValidYet | C::NotValidYetContext { .. } => "server_cert_not_yet_valid",
        C::NotValidForName | C::NotValidForNameContext { .. } => "server_cert_wrong_name",
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => "server_cert_wrong_purpose",
        C::Revoked => "server_cert_revoked",
        _ => "server_cert_invalid",
    }
}

/// A failed HTTP exchange. hyper and h2 wrap the transport's `io::Error`, which in turn wraps
/// the rustls error — and `io::Error::source()` skips its own payload — so each link of the
/// chain, and each `io::Error`'s payload, is inspected rather than only followed.
pub fn http(e: &(dyn StdError + 'static), phase: Phase) -> ErrorClass {
    let mut first_io: Option<&io::Error> = None;
    let mut next: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return tls_error(tls);
        }
        if let Some(io_err) = err.downcast_ref::<io::Error>() {
            first_io.get_or_insert(io_err);
            if let Some(inner) = io_err.get_ref() {
                next = Some(inner);
                continue;
            }
        }
        next = err.source();
    }
    if let Some(io_err) = first_io {
        return io(io_err, phase);
    }
    if let Some(h) = e.downcast_ref::<hyper::Error>() {
        if h.is_incomplete_message() || h.is_canceled() || h.is_closed() {
            return ErrorClass::Closed(phase);
        }
        if h.is_timeout() {
            return ErrorClass::Timeout(phase);
        }
    }
    ErrorClass::Protocol
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable() {
        assert_eq!(ErrorClass::ConnectRefused.to_string(), "connect_refused");
        assert_eq!(
            ErrorClass::Timeout(Phase::Handshake).to_string(),
            "timeout:handshake"
        );
        assert_eq!(
            ErrorClass::Alert(u8::from(AlertDescription::CertificateExpired)).to_string(),
            "alert:certificate_expired"
        );
        assert_eq!(
            ErrorClass::Alert(u8::from(AlertDescription::UnknownCA)).to_string(),
            "alert:unknown_ca"
        );
        assert_eq!(ErrorClass::Alert(0xfe).to_string(), "alert:unknown_254");
        assert_eq!(ErrorClass::Http(404).to_string(), "http:404");
        assert_eq!(ErrorClass::Closed(Phase::Close).to_string(), "closed:close");
    }

    #[test]
    fn rustls_errors_inside_io_errors_are_found() {
        let alert = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(AlertDescription::CertificateRequired),
        );
        assert_eq!(
            io(&alert, Phase::Handshake).to_string(),
            "alert:certificate_required"
        );
        let local = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        assert_eq!(
            io(&local, Phase::Handshake).to_string(),
            "tls:server_cert_unknown_issuer"
        );
        // And one level further down, as hyper reports it.
        let wrapped = io::Error::other(alert);
        assert_eq!(
            http(&wrapped, Phase::Request).to_string(),
            "alert:certificate_required"
        );
    }

    #[test]
    fn plain_io_errors_by_kind() {
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(
            io(&reset, Phase::Request),
            ErrorClass::Closed(Phase::Request)
        );
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(connect(&refused), ErrorClass::ConnectRefused);
        let other = io::Error::from(io::ErrorKind::AddrNotAvailable);
        assert_eq!(connect(&other), ErrorClass::ConnectError);
    }
}
