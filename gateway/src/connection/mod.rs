//! A client connection's life as types: [`accept_tls`] reads the ClientHello, picks the host's TLS
//! configuration by SNI and completes the handshake, then returns the stream with the
//! connection's facts ([`Connection`]), gathered once, or a [`HandshakeOutcome`] saying why not.

mod handshake;
mod outcome;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use mtls_policies::HostKind;
use rustls::pki_types::UnixTime;

pub use handshake::accept_tls;
pub use outcome::{CertRefusal, HandshakeFailure, HandshakeOutcome};

use crate::metrics::{HandshakeLabels, HandshakeResult, HostLabels, Metrics, TlsVersion};
use crate::metrics::{VerdictLabels, VerdictOutcome, VerdictReason};
use crate::state::{Host, State};
use crate::trust::ClientIdentity;

/// What is known about a connection once its handshake is done; shared by all its requests.
pub struct Connection {
    pub host: Arc<Host>,
    /// The TCP peer.
    pub peer: SocketAddr,
    /// The peer's IP as a header value, formatted once per connection.
    pub client_ip: HeaderValue,
    /// The client certificate's identity (alias only; `None` without a certificate).
    pub identity: Option<Arc<ClientIdentity>>,
    pub tls_version: TlsVersion,
    pub resumed: bool,
}

impl Connection {
    /// Counts the finished handshake, its duration and (on the alias) the certificate verdict.
    pub fn record_handshake(&self, metrics: &Metrics, elapsed: Duration) {
        let host_kind = self.host.kind;
        metrics
            .handshakes
            .get_or_create(&HandshakeLabels {
                host_kind,
                outcome: HandshakeResult::Ok,
                version: self.tls_version,
                resumed: self.resumed,
            })
            .inc();
        metrics
            .handshake_duration
            .get_or_create(&HostLabels { host_kind })
            .observe(elapsed.as_secs_f64());
        if host_kind == HostKind::Alias {
            let (outcome, reason) = match &self.identity {
                None => (VerdictOutcome::None, VerdictReason::None),
                Some(id) => id.verdict.metric_labels(),
            };
            metrics
                .verdicts
                .get_or_create(&VerdictLabels { outcome, reason })
                .inc();
        }
    }
}

impl Connection {
    /// Whether the connection may go on serving under `state` (after a reload): its host is still
    /// served, and its client certificate, judged by the new trust, tells the provider the same
    /// thing as when the connection was accepted. A revoked or denied certificate, or one whose
    /// verdict changed, must reconnect and be judged again.
    pub fn still_acceptable(&self, state: &State) -> bool {
        let Some(host) = state.host(&self.host.name) else {
            return false;
        };
        let Some(id) = &self.identity else {
            return true;
        };
        let (Some(trust), Some((leaf, intermediates))) =
            (&host.domain.trust, id.chain.split_first())
        else {
            return false;
        };
        match trust.evaluate(leaf, intermediates, UnixTime::now()) {
            Ok(now) => now.same_verdict(id),
            Err(_) => false,
        }
    }
}

/// The client's IP as the header value sent upstream.
pub fn client_ip_value(peer: SocketAddr) -> HeaderValue {
    // An IP address always formats to a valid header value.
    HeaderValue::from_str(&peer.ip().to_canonical().to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}
