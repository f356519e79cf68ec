//! Server-side TLS: the crypto provider, the two policy presets and one `ServerConfig` per host.

mod verifier;

use std::sync::{Arc, OnceLock};

use rustls::crypto::{aws_lc_rs, CryptoProvider};
use rustls::server::{ResolvesServerCert, ServerSessionMemoryCache};
use rustls::sign::SingleCertAndKey;
use rustls::{CipherSuite, ServerConfig};

pub use verifier::EdgeClientVerifier;

use crate::config::{DomainConfig, TlsPolicy};

/// Sessions remembered per host for TLS 1.2 session-id resumption (tickets need no server state).
const SESSION_CACHE_ENTRIES: usize = 4096;

/// ALPN: HTTP/2 first, HTTP/1.1 for everyone else.
pub const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The aws-lc-rs provider with rustls' default suites: the `recommended` preset.
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(sha256_suites_first(aws_lc_rs::default_provider())))
        .clone()
}

/// The server picks the suite (`ignore_client_order`), and it prefers the SHA-256 suites: on
/// CPUs where aws-lc has no accelerated SHA-512, each SHA-384 HMAC costs about twice as much, a
/// quarter of a resumed TLS 1.3 handshake's CPU (measured; see docs/performance.md). AES-128-GCM
/// meets every policy the presets implement, FAPI included; nothing is removed, only reordered.
fn sha256_suites_first(mut p: CryptoProvider) -> CryptoProvider {
    p.cipher_suites.sort_by_key(|s| {
        let name = format!("{:?}", s.suite());
        (!name.ends_with("SHA256"), !name.contains("AES_128_GCM"))
    });
    p
}

/// FAPI 1 Advanced (section 8.5): TLS 1.3 suites, and on TLS 1.2 only
/// `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256` and `TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384` (the DHE
/// variants are not offered by rustls). ChaCha20 on TLS 1.2, which rustls enables by default, is out.
pub fn fapi_provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| {
            let mut p = sha256_suites_first(aws_lc_rs::default_provider());
            p.cipher_suites.retain(|s| match s {
                rustls::SupportedCipherSuite::Tls13(_) => true,
                rustls::SupportedCipherSuite::Tls12(_) => FAPI_TLS12_SUITES.contains(&s.suite()),
            });
            Arc::new(p)
        })
        .clone()
}

pub const FAPI_TLS12_SUITES: [CipherSuite; 2] = [
    CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
];

#[derive(Debug, thiserror::Error)]
pub enum TlsBuildError {
    #[error("domain {domain}: {source}")]
    Rustls {
        domain: String,
        source: rustls::Error,
    },
}

/// Session-resumption state kept across reloads, so a reload does not force every client into a
/// full handshake. Resumed sessions are re-checked against the new trust (see `trust.rs`).
#[derive(Clone)]
pub struct Resumption {
    pub ticketer: Arc<dyn rustls::server::ProducesTickets>,
    pub sessions: Arc<dyn rustls::server::StoresServerSessions>,
}

impl Resumption {
    pub fn new() -> Result<Resumption, rustls::Error> {
        Ok(Resumption {
            ticketer: aws_lc_rs::Ticketer::new()?,
            sessions: ServerSessionMemoryCache::new(SESSION_CACHE_ENTRIES),
        })
    }

    pub fn of(config: &ServerConfig) -> Resumption {
        Resumption {
            ticketer: config.ticketer.clone(),
            sessions: config.session_storage.clone(),
        }
    }
}

/// The `ServerConfig` for one host of a domain: the plain domain never asks for a certificate,
/// the alias asks (optionally) through `verifier`. Each gets its own ticketer and session cache so
/// a session from the plain domain can never be resumed on the alias.
pub fn server_config(
    domain: &DomainConfig,
    verifier: Option<Arc<EdgeClientVerifier>>,
    resumption: Option<Resumption>,
) -> Result<Arc<ServerConfig>, TlsBuildError> {
    let wrap = |source| TlsBuildError::Rustls {
        domain: domain.name.clone(),
        source,
    };
    let (provider, fapi) = match domain.tls_policy {
        TlsPolicy::Recommended => (provider(), false),
        TlsPolicy::Fapi => (fapi_provider(), true),
    };
    let builder = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(wrap)?;
    let builder = match verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let resolver: Arc<dyn ResolvesServerCert> =
        Arc::new(SingleCertAndKey::from(domain.certified_key.clone()));
    let mut config = builder.with_cert_resolver(resolver);
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    let resumption = match resumption {
        Some(r) => r,
        None => Resumption::new().map_err(wrap)?,
    };
    config.session_storage = resumption.sessions;
    config.ticketer = resumption.ticketer;
    config.ignore_client_order = true;
    if fapi {
        config.require_ems = true;
    }
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_aes128_suites_come_first_and_none_is_dropped() {
        let all = aws_lc_rs::default_provider().cipher_suites.len();
        for p in [provider(), fapi_provider()] {
            let names: Vec<String> = p
                .cipher_suites
                .iter()
                .map(|s| format!("{:?}", s.suite()))
                .collect();
            assert_eq!(names[0], "TLS13_AES_128_GCM_SHA256", "{names:?}");
            let first_sha384 = names.iter().position(|n| n.ends_with("SHA384")).unwrap();
            assert!(
                names[..first_sha384].iter().all(|n| n.ends_with("SHA256")),
                "{names:?}"
            );
        }
        assert_eq!(provider().cipher_suites.len(), all);
    }
}
