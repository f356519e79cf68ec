//! TLS presets and resumption: the FAPI preset's TLS 1.2 suites and extended master secret, and
//! that a resumed session on the alias keeps its client identity.

mod support;

use std::process::{Command, Stdio};
use std::sync::Arc;

use http::StatusCode;
use rustls::client::Resumption;
use rustls::crypto::aws_lc_rs;
use rustls::pki_types::ServerName;
use rustls::{CipherSuite, ClientConfig, HandshakeKind, RootCertStore};
use support::*;

fn client_config(
    suites: &[CipherSuite],
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> ClientConfig {
    let mut provider = aws_lc_rs::default_provider();
    if !suites.is_empty() {
        provider
            .cipher_suites
            .retain(|s| suites.contains(&s.suite()));
    }
    let mut roots = RootCertStore::empty();
    roots.add(pki().root.cert_der.clone()).unwrap();
    ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(pki().client.chain_der(), pki().client.key())
        .unwrap()
}

async fn handshake(
    addr: std::net::SocketAddr,
    sni: &str,
    config: ClientConfig,
) -> std::io::Result<()> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config));
    tls.connect(ServerName::try_from(sni.to_owned()).unwrap(), tcp)
        .await
        .map(|_| ())
}

async fn fapi_gateway() -> Harness {
    Harness::start(Options {
        server_cert: "server-rsa.pem".into(),
        server_key: "server-rsa.key".into(),
        domain_extra: "tls_policy = \"fapi\"".into(),
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn fapi_allows_only_the_fapi_tls12_suites() {
    let h = fapi_gateway().await;
    let tls12 = [&rustls::version::TLS12];
    for sni in [DOMAIN, ALIAS] {
        for ok in [
            CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        ] {
            handshake(h.addr, sni, client_config(&[ok], &tls12))
                .await
                .unwrap_or_else(|e| panic!("{ok:?} refused: {e}"));
        }
        let chacha = client_config(
            &[CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256],
            &tls12,
        );
        assert!(
            handshake(h.addr, sni, chacha).await.is_err(),
            "FAPI accepted ChaCha20 on TLS 1.2"
        );
        handshake(h.addr, sni, client_config(&[], &[&rustls::version::TLS13]))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn recommended_preset_keeps_rustls_defaults() {
    let h = Harness::start(Options {
        server_cert: "server-rsa.pem".into(),
        server_key: "server-rsa.key".into(),
        ..Options::default()
    })
    .await;
    let chacha = client_config(
        &[CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256],
        &[&rustls::version::TLS12],
    );
    handshake(h.addr, DOMAIN, chacha).await.unwrap();
}

/// OpenSSL can be told not to offer extended master secret; the FAPI preset must then refuse
/// the TLS 1.2 handshake, while the same command with EMS succeeds (the control).
#[tokio::test]
async fn fapi_requires_extended_master_secret() {
    let h = fapi_gateway().await;
    let cnf = h.dir.path().join("no-ems.cnf");
    std::fs::write(
        &cnf,
        "openssl_conf = conf\n[conf]\nssl_conf = ssl\n[ssl]\nsystem_default = sys\n[sys]\nOptions = -ExtendedMasterSecret\n",
    )
    .unwrap();
    let root = h.dir.path().join("root.pem");
    let run = |no_ems: bool| {
        let mut cmd = Command::new("openssl");
        cmd.args([
            "s_client",
            "-connect",
            &h.addr.to_string(),
            "-servername",
            DOMAIN,
            "-tls1_2",
        ])
        .args([
            "-cipher",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "-verify_return_error",
            "-CAfile",
        ])
        .arg(&root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        if no_ems {
            cmd.env("OPENSSL_CONF", &cnf);
        }
        cmd
    };
    let with_ems = tokio::task::spawn_blocking({
        let mut c = run(false);
        move || c.output().unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&with_ems.stdout);
    assert!(
        text.contains("Extended master secret: yes"),
        "control failed: {text}"
    );
    let without = tokio::task::spawn_blocking({
        let mut c = run(true);
        move || c.output().unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&without.stdout);
    assert!(
        !without.status.success(),
        "FAPI accepted a TLS 1.2 handshake without EMS: {text}"
    );
    assert!(!text.contains("Extended master secret: yes"), "{text}");
}

/// A resumed session (no certificate exchanged) must still forward the client's identity, and
/// the upstream must not be able to tell a resumed request from a full one.
#[tokio::test]
async fn resumed_sessions_keep_the_client_identity() {
    let h = Harness::start(Options::default()).await;
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let mut config = client_config(&[], &[version]);
        config.resumption = Resumption::in_memory_sessions(16);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        let mut kinds = Vec::new();
        for _ in 0..3 {
            let tcp = tokio::net::TcpStream::connect(h.addr).await.unwrap();
            let tls = tokio_rustls::TlsConnector::from(config.clone())
                .connect(ServerName::try_from(ALIAS).unwrap(), tcp)
                .await
                .unwrap();
            let resp = send(tls, Proto::H1, Req::post(ALIAS, "/oauth/token", "x=1"))
                .await
                .unwrap();
            assert_eq!(resp.status, StatusCode::OK);
            assert_eq!(
                resp.upstream_header("client-certificate-ca-verified"),
                vec!["SUCCESS"],
                "{version:?}"
            );
            assert_eq!(
                resp.upstream_header("client-certificate"),
                vec![mtls_certs::escaped_pem(&pki().client.cert_der)]
            );
            // TLS 1.3 tickets arrive after the handshake: check the kind on a fresh handshake.
            let tcp = tokio::net::TcpStream::connect(h.addr).await.unwrap();
            let tls = tokio_rustls::TlsConnector::from(config.clone())
                .connect(ServerName::try_from(ALIAS).unwrap(), tcp)
                .await
                .unwrap();
            kinds.push(tls.get_ref().1.handshake_kind());
            drop(tls);
        }
        assert!(
            kinds.contains(&Some(HandshakeKind::Resumed)),
            "{version:?}: never resumed: {kinds:?}"
        );
    }
    let m = h.metrics().await;
    assert!(m.contains("resumed=\"true\""), "{m}");
}

/// Presents `chain` but signs the CertificateVerify with `key`: what an attacker holding only a
/// copy of someone's (self-signed) certificate would do.
#[derive(Debug)]
struct Impostor(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for Impostor {
    fn resolve(
        &self,
        _: &[&[u8]],
        _: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
    fn has_certs(&self) -> bool {
        true
    }
}

fn impostor_config(
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> ClientConfig {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let signer = provider.key_provider.load_private_key(key).unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(pki().root.cert_der.clone()).unwrap();
    let mut c = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_cert_resolver(Arc::new(Impostor(Arc::new(
            rustls::sign::CertifiedKey::new(chain, signer),
        ))));
    c.alpn_protocols = vec![b"http/1.1".to_vec()];
    c
}

async fn request_with(h: &Harness, config: ClientConfig) -> Result<Resp, String> {
    let tcp = tokio::net::TcpStream::connect(h.addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from(ALIAS).unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    send(tls, Proto::H1, Req::post(ALIAS, "/oauth/token", "x=1")).await
}

#[tokio::test]
async fn self_signed_certificate_without_its_key_is_refused() {
    let h = Harness::start(Options::default()).await;
    // Control: the right key passes (flagged FAILED, but forwarded).
    let ok = impostor_config(
        vec![pki().self_signed_leaf.cert_der.clone()],
        pki().self_signed_leaf.key(),
    );
    let resp = request_with(&h, ok).await.unwrap();
    assert_eq!(
        resp.upstream_header("client-certificate-ca-verified"),
        vec!["FAILED:self-signed certificate"]
    );
    // Same certificate, someone else's key: the CertificateVerify check refuses it.
    for (cert, key) in [
        (&pki().self_signed_leaf, &pki().client),
        (&pki().client, &pki().self_signed_leaf),
    ] {
        let bad = impostor_config(vec![cert.cert_der.clone()], key.key());
        assert!(
            request_with(&h, bad).await.is_err(),
            "a certificate was accepted without its key"
        );
    }
    assert_eq!(h.upstream_requests(), 1);
}

#[tokio::test]
async fn malformed_certificate_is_refused() {
    let h = Harness::start(Options::default()).await;
    let garbage = [
        vec![0x30, 0x03, 0x02, 0x01, 0x00],
        b"not a certificate".to_vec(),
        {
            // A real certificate with trailing bytes.
            let mut v = pki().client.cert_der.to_vec();
            v.extend_from_slice(&[0, 0]);
            v
        },
    ];
    for bytes in garbage {
        let config = impostor_config(vec![bytes.into()], pki().client.key());
        assert!(request_with(&h, config).await.is_err());
    }
    assert_eq!(h.upstream_requests(), 0);
    assert!(h.metrics().await.contains("cert_malformed"));
}
