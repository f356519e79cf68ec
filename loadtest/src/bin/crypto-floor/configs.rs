//! rustls configurations shaped like the gateway's (server) and the load generator's (client).

use std::path::Path;
use std::sync::Arc;

use rustls::client::Resumption;
use rustls::crypto::aws_lc_rs::{self as provider_mod};
use rustls::crypto::{CryptoProvider, SupportedKxGroup, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ServerSessionMemoryCache, WebPkiClientVerifier};
use rustls::{
    ClientConfig, DistinguishedName, RootCertStore, ServerConfig, SupportedProtocolVersion,
};

use crate::files::{certs, first_cert, key};
use crate::{BoxError, Tls};

pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(provider_mod::default_provider())
}

/// The gateway's alias verifier on a cache hit: the chain's verdict is already known (the gateway
/// hashes the chain and looks it up), the CertificateVerify signature is always checked.
#[derive(Debug)]
struct VerdictCached {
    algs: WebPkiSupportedAlgorithms,
    hints: Vec<DistinguishedName>,
}

impl ClientCertVerifier for VerdictCached {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }
    fn verify_client_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    mtls_certs::handshake_signatures!(self => &self.algs);
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ChainCheck {
    /// As the gateway after the first handshake of a client: verdict cached.
    Cached,
    /// rustls' stock `WebPkiClientVerifier`: the chain is verified on every handshake.
    EveryTime,
}

pub fn server_config(
    dir: &Path,
    cert: &str,
    check: ChainCheck,
) -> Result<Arc<ServerConfig>, BoxError> {
    let mut roots = RootCertStore::empty();
    roots.add(first_cert(&dir.join("root.pem"))?)?;
    let roots = Arc::new(roots);
    let verifier: Arc<dyn ClientCertVerifier> = match check {
        ChainCheck::Cached => Arc::new(VerdictCached {
            algs: provider().signature_verification_algorithms,
            hints: roots.subjects(),
        }),
        ChainCheck::EveryTime => WebPkiClientVerifier::builder_with_provider(roots, provider())
            .allow_unauthenticated()
            .build()?,
    };
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            certs(&dir.join(format!("{cert}.pem")))?,
            key(&dir.join(format!("{cert}.key")))?,
        )?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config.ticketer = provider_mod::Ticketer::new()?;
    config.session_storage = ServerSessionMemoryCache::new(4096);
    config.ignore_client_order = true;
    Ok(Arc::new(config))
}

fn versions(tls: Option<Tls>) -> &'static [&'static SupportedProtocolVersion] {
    static V12: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS12];
    static V13: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
    static BOTH: [&SupportedProtocolVersion; 2] =
        [&rustls::version::TLS13, &rustls::version::TLS12];
    match tls {
        Some(Tls::V12) => &V12,
        Some(Tls::V13) => &V13,
        None => &BOTH,
    }
}

/// `mtls-loadtest`'s client: default aws-lc-rs provider, one trust anchor, a client certificate,
/// ALPN http/1.1, resumption off unless asked. `only_sha256` offers only the suites whose hash is
/// SHA-256 (to measure what the SHA-384 key schedule of the default first suite costs).
pub fn client_config(
    cacert: &Path,
    cert: &Path,
    key_file: &Path,
    tls: Option<Tls>,
    resume: bool,
    only_sha256: bool,
) -> Result<Arc<ClientConfig>, BoxError> {
    let mut roots = RootCertStore::empty();
    for c in certs(cacert)? {
        roots.add(c)?;
    }
    let mut provider = provider_mod::default_provider();
    if only_sha256 {
        provider
            .cipher_suites
            .retain(|s| s.suite().as_str().is_some_and(|n| n.ends_with("_SHA256")));
    }
    let mut config = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions(tls))?
        .with_root_certificates(roots)
        .with_client_auth_cert(certs(cert)?, key(key_file)?)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.resumption = if resume {
        Resumption::in_memory_sessions(8)
    } else {
        Resumption::disabled()
    };
    Ok(Arc::new(config))
}

pub fn group_name(g: Option<&'static dyn SupportedKxGroup>) -> String {
    g.map(|g| format!("{:?}", g.name()))
        .unwrap_or_else(|| "none".into())
}
