//! Shared by the integration tests: one development PKI written to disk, a bare rustls + tokio
//! server that requires client certificates (WebPkiClientVerifier over the PKI's root) and
//! answers HTTP/1.1, the real gateway started in-process from a configuration file, and a
//! shorthand to run the load generator as a library with command-line arguments.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use clap::Parser;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use mtls_certs::{DevPki, PkiSpec};
use mtls_loadtest::{Args, Plan, Summary};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedProtocolVersion};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

pub const DOMAIN: &str = "auth.example.com";
pub const ALIAS: &str = "mtls.auth.example.com";
pub const UPSTREAM_HOST: &str = "idp.example.internal";

/// One PKI per test binary (RSA key generation is slow), written once to a directory that lives
/// as long as the binary.
pub fn pki() -> &'static (DevPki, tempfile::TempDir) {
    static PKI: OnceLock<(DevPki, tempfile::TempDir)> = OnceLock::new();
    PKI.get_or_init(|| {
        let pki = DevPki::generate(&PkiSpec {
            domain: DOMAIN.into(),
            upstream_host: UPSTREAM_HOST.into(),
        })
        .expect("generate PKI");
        let dir = tempfile::tempdir().expect("tempdir");
        pki.write_to(dir.path()).expect("write PKI");
        (pki, dir)
    })
}

/// A file of the written PKI, e.g. `file("client.pem")`.
pub fn file(name: &str) -> String {
    pki().1.path().join(name).display().to_string()
}

/// Options for the good client against `addr`, ready to extend.
pub fn client_args(addr: SocketAddr, sni: &str) -> Vec<String> {
    [
        "mtls-loadtest",
        "--connect",
        &addr.to_string(),
        "--sni",
        sni,
        "--cacert",
        &file("root.pem"),
        "--cert",
        &file("client.pem"),
        "--key",
        &file("client.key"),
        "--timeout",
        "5s",
        "--quiet",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// Runs the load generator in this process with these arguments.
pub async fn run(args: &[String]) -> Summary {
    let args = Args::try_parse_from(args).unwrap_or_else(|e| panic!("{e}"));
    let plan = Plan::from_args(&args).unwrap_or_else(|e| panic!("plan: {e}"));
    mtls_loadtest::run(&plan).await.expect("run")
}

pub fn with(mut base: Vec<String>, extra: &[&str]) -> Vec<String> {
    base.extend(extra.iter().map(|s| (*s).to_owned()));
    base
}

/// A rustls server that requires a client certificate issued by the PKI's root, completes the
/// handshake and answers every HTTP/1.1 request with 200. It counts accepted handshakes.
pub struct BareServer {
    pub addr: SocketAddr,
    pub handshakes: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Drop for BareServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl BareServer {
    pub async fn start(versions: &[&'static SupportedProtocolVersion]) -> BareServer {
        let (pki, _) = pki();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = RootCertStore::empty();
        roots.add(pki.root.cert_der.clone()).expect("root");
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .expect("verifier");
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .expect("versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(pki.server.chain_der(), pki.server.key())
            .expect("server cert");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let handshakes = Arc::new(AtomicU64::new(0));
        let counter = handshakes.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    let service = service_fn(|_req| async {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                            Bytes::from_static(b"ok\n"),
                        )))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        BareServer {
            addr,
            handshakes,
            task,
        }
    }
}

/// The real gateway and its echo upstream, started in-process from a configuration file in the
/// PKI directory, as `mtls-gateway run` would load it.
pub struct Gateway {
    pub addr: SocketAddr,
    gateway: Option<mtls_gateway::RunningGateway>,
    _echo: mtls_testkit::echo::EchoServer,
}

impl Gateway {
    pub async fn start() -> Gateway {
        let (pki, dir) = pki();
        let echo = mtls_testkit::echo::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            pki.upstream.chain_der(),
            pki.upstream.key(),
        )
        .await
        .expect("echo upstream");
        let api_key = dir.path().join("api-key");
        std::fs::write(&api_key, "loadtest-api-key\n").expect("api key");
        let config = format!(
            r#"listen = ["127.0.0.1:0"]

[admin]
listen = "127.0.0.1:0"

[[domain]]
name = "{DOMAIN}"
cert = "server.pem"
key = "server.key"
api_key_file = "api-key"

[domain.upstream]
host = "{UPSTREAM_HOST}"
connect_to = "{upstream}"
ca_file = "root.pem"

[domain.mtls]
client_ca = ["root.pem"]
"#,
            upstream = echo.addr
        );
        // Each gateway gets its own file: tests run concurrently.
        let path = unique_path(dir.path(), "gateway", "toml");
        std::fs::write(&path, config).expect("config");
        let config = mtls_gateway::config::load(&path).unwrap_or_else(|e| panic!("config: {e}"));
        let gateway = mtls_gateway::start(config).await.expect("gateway start");
        Gateway {
            addr: gateway.addrs[0],
            gateway: Some(gateway),
            _echo: echo,
        }
    }

    pub async fn stop(mut self) {
        if let Some(g) = self.gateway.take() {
            g.shutdown().await;
        }
    }
}

/// A fresh file name in `dir`.
pub fn unique_path(dir: &Path, stem: &str, ext: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    dir.join(format!(
        "{stem}-{}-{}.{ext}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let a = l.local_addr().expect("addr");
    drop(l);
    a
}
