//! The client's rustls configuration, built once per run and shared by every worker: building it
//! parses the certificate, the key and the trust store, which must not be paid per connection.
//!
//! Resumption is off in every mode but `resume`, so `handshake` and `full` measure full
//! handshakes only; `resume` gives each worker its own copy with its own session store
//! ([`with_session_store`]), the way one real client keeps its sessions.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::Resumption;
use rustls::crypto::{aws_lc_rs, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, SupportedProtocolVersion};

use crate::cli::TlsVersion;
use crate::danger::DangerousAcceptAnyServerCert;

/// Sessions a `resume` worker remembers. One target, so a few suffice: TLS 1.3 tickets are
/// single-use and servers send several per connection.
const SESSIONS_PER_WORKER: usize = 8;

/// Why the TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot read {}: {source}", path.display())]
    Pem {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("{} holds no certificate", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{}: not a usable CA certificate: {source}", path.display())]
    BadCa {
        path: PathBuf,
        source: rustls::Error,
    },
    #[error("name the CA to trust with --cacert, or skip verification with --insecure")]
    NoTrust,
    #[error("unknown cipher suite `{name}`; known: {known}")]
    UnknownCipher { name: String, known: String },
    #[error("unknown key-exchange group `{name}`; known: {known}")]
    UnknownGroup { name: String, known: String },
    #[error("the client certificate or key is unusable: {0}")]
    ClientCert(rustls::Error),
    #[error("no offered cipher suite works with the chosen TLS version: {0}")]
    Versions(rustls::Error),
}

/// The TLS choices from the command line.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    pub cacert: Option<PathBuf>,
    pub insecure: bool,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub version: Option<TlsVersion>,
    pub ciphers: Vec<String>,
    pub groups: Vec<String>,
    pub alpn: Vec<Vec<u8>>,
}

/// Builds the shared configuration, resumption disabled.
pub fn build(opts: &TlsOptions) -> Result<ClientConfig, TlsSetupError> {
    let provider = Arc::new(provider(&opts.ciphers, &opts.groups)?);
    let versions: &[&'static SupportedProtocolVersion] = match opts.version {
        Some(TlsVersion::Tls12) => &[&rustls::version::TLS12],
        Some(TlsVersion::Tls13) => &[&rustls::version::TLS13],
        None => &[&rustls::version::TLS13, &rustls::version::TLS12],
    };
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(TlsSetupError::Versions)?;
    let builder = match (&opts.cacert, opts.insecure) {
        (Some(path), _) => builder.with_root_certificates(roots(path)?),
        (None, false) => return Err(TlsSetupError::NoTrust),
        (None, true) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(DangerousAcceptAnyServerCert::new(
                provider,
            ))),
    };
    let mut config = match (&opts.cert, &opts.key) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(certificates(cert)?, private_key(key)?)
            .map_err(TlsSetupError::ClientCert)?,
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = opts.alpn.clone();
    config.resumption = Resumption::disabled();
    Ok(config)
}

/// A copy of `base` with its own in-memory session store, for one `resume` worker.
pub fn with_session_store(base: &ClientConfig) -> Arc<ClientConfig> {
    let mut config = base.clone();
    config.resumption = Resumption::in_memory_sessions(SESSIONS_PER_WORKER);
    Arc::new(config)
}

fn provider(ciphers: &[String], groups: &[String]) -> Result<CryptoProvider, TlsSetupError> {
    let mut provider = aws_lc_rs::default_provider();
    if !ciphers.is_empty() {
        provider.cipher_suites = ciphers
            .iter()
            .map(|name| {
                aws_lc_rs::ALL_CIPHER_SUITES
                    .iter()
                    .find(|s| s.suite().as_str() == Some(name.as_str()))
                    .copied()
                    .ok_or_else(|| TlsSetupError::UnknownCipher {
                        name: name.clone(),
                        known: aws_lc_rs::ALL_CIPHER_SUITES
                            .iter()
                            .filter_map(|s| s.suite().as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
            })
            .collect::<Result<_, _>>()?;
    }
    if !groups.is_empty() {
        provider.kx_groups = groups
            .iter()
            .map(|name| {
                aws_lc_rs::ALL_KX_GROUPS
                    .iter()
                    .find(|g| g.name().as_str() == Some(name.as_str()))
                    .copied()
                    .ok_or_else(|| TlsSetupError::UnknownGroup {
                        name: name.clone(),
                        known: aws_lc_rs::ALL_KX_GROUPS
                            .iter()
                            .filter_map(|g| g.name().as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
            })
            .collect::<Result<_, _>>()?;
    }
    Ok(provider)
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let pem = |source| TlsSetupError::Pem {
        path: path.to_owned(),
        source,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(pem)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem)?;
    if certs.is_empty() {
        return Err(TlsSetupError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsSetupError> {
    PrivateKeyDer::from_pem_file(path).map_err(|source| TlsSetupError::Pem {
        path: path.to_owned(),
        source,
    })
}

fn roots(path: &Path) -> Result<RootCertStore, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(path)? {
        roots.add(cert).map_err(|source| TlsSetupError::BadCa {
            path: path.to_owned(),
            source,
        })?;
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn cipher_and_group_names_select_from_the_provider() {
        let p = provider(
            &names(&[
                "TLS13_AES_128_GCM_SHA256",
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            ]),
            &names(&["secp256r1", "X25519"]),
        )
        .expect("known names");
        assert_eq!(p.cipher_suites.len(), 2);
        let groups: Vec<_> = p
            .kx_groups
            .iter()
            .filter_map(|g| g.name().as_str())
            .collect();
        assert_eq!(groups, ["secp256r1", "X25519"], "order is preference order");

        let err = provider(&names(&["RC4"]), &[]).expect_err("unknown");
        assert!(
            err.to_string().contains("TLS13_AES_256_GCM_SHA384"),
            "{err}"
        );
        assert!(matches!(
            provider(&[], &names(&["x448"])),
            Err(TlsSetupError::UnknownGroup { .. })
        ));
    }

    #[test]
    fn a_tls12_only_suite_with_tls13_only_is_refused() {
        let opts = TlsOptions {
            insecure: true,
            version: Some(TlsVersion::Tls13),
            ciphers: names(&["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]),
            ..TlsOptions::default()
        };
        assert!(matches!(build(&opts), Err(TlsSetupError::Versions(_))));
    }

    #[test]
    fn missing_files_name_the_path() {
        let opts = TlsOptions {
            cacert: Some(PathBuf::from("/nonexistent/root.pem")),
            ..TlsOptions::default()
        };
        let err = build(&opts).expect_err("missing file");
        assert!(err.to_string().contains("/nonexistent/root.pem"), "{err}");
    }
}
