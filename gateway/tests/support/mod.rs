//! Shared harness for the gateway's integration tests: a generated PKI, the echo upstream, a
//! gateway started on port 0 from a real configuration file, and real TLS clients (rustls +
//! hyper, HTTP/1.1 or HTTP/2).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use mtls_certs::{DevPki, PkiSpec};
// Each suite uses some of these.
use mtls_gateway::RunningGateway;
#[allow(unused_imports)]
pub use mtls_testkit::client::{send, ClientCert, Proto, Req, Resp, BOTH};
pub use mtls_testkit::echo::EchoServer;
#[allow(unused_imports)]
pub use mtls_testkit::redis::RedisServer;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;

pub const DOMAIN: &str = "auth.example.com";
pub const ALIAS: &str = "mtls.auth.example.com";
pub const UPSTREAM_HOST: &str = "idp.example.internal";
pub const API_KEY: &str = "test-cname-api-key-7f3a9c";

/// One PKI per test binary: RSA-4096 generation is slow, and every test can share it.
pub fn pki() -> &'static DevPki {
    static PKI: OnceLock<DevPki> = OnceLock::new();
    PKI.get_or_init(|| {
        DevPki::generate(&PkiSpec {
            domain: DOMAIN.into(),
            upstream_host: UPSTREAM_HOST.into(),
        })
        .expect("generate PKI")
    })
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/nginx")
}

/// Where the upstream should point.
pub enum Upstream {
    Echo,
    /// A loopback port nothing listens on.
    Refused,
    /// Accepts TCP and never answers.
    Silent,
}

pub struct Options {
    pub upstream: Upstream,
    /// Extra TOML appended to the `[domain.mtls]` table.
    pub mtls_extra: String,
    /// Extra TOML appended to the `[domain.upstream]` table.
    pub upstream_extra: String,
    /// Extra TOML appended to the `[[domain]]` table (before sub-tables).
    pub domain_extra: String,
    /// Server certificate/key file names in the PKI directory.
    pub server_cert: String,
    pub server_key: String,
    /// Client CA file (path).
    pub client_ca: Option<PathBuf>,
    /// Extra top-level tables (e.g. a `[limits]` table), placed before `[[domain]]`.
    pub tables: String,
    /// Extra files (name, contents) written into the configuration directory before it loads.
    pub files: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            upstream: Upstream::Echo,
            mtls_extra: String::new(),
            upstream_extra: String::new(),
            domain_extra: String::new(),
            server_cert: "server.pem".into(),
            server_key: "server.key".into(),
            client_ca: None,
            tables: String::new(),
            files: Vec::new(),
        }
    }
}

/// A written configuration with its PKI and a running upstream, not yet started.
pub struct Prepared {
    pub config_path: PathBuf,
    pub echo: EchoServer,
    pub dir: tempfile::TempDir,
    silent: Option<tokio::task::JoinHandle<()>>,
}

pub struct Harness {
    pub gateway: Option<RunningGateway>,
    pub addr: SocketAddr,
    pub admin: SocketAddr,
    pub echo: EchoServer,
    pub dir: tempfile::TempDir,
    _silent: Option<tokio::task::JoinHandle<()>>,
}

impl Prepared {
    pub async fn new(opts: Options) -> Prepared {
        let dir = tempfile::tempdir().expect("tempdir");
        pki().write_to(dir.path()).expect("write PKI");
        std::fs::write(dir.path().join("api-key"), format!("{API_KEY}\n")).expect("api key");
        for (name, contents) in &opts.files {
            std::fs::write(dir.path().join(name), contents).expect("extra file");
        }
        let echo = mtls_testkit::echo::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            pki().upstream.chain_der(),
            pki().upstream.key(),
        )
        .await
        .expect("echo upstream");
        let mut silent = None;
        let upstream_addr = match opts.upstream {
            Upstream::Echo => echo.addr,
            Upstream::Refused => {
                let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
                let a = l.local_addr().expect("addr");
                drop(l);
                a
            }
            Upstream::Silent => {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                let a = l.local_addr().expect("addr");
                silent = Some(tokio::spawn(async move {
                    let mut held = Vec::new();
                    while let Ok((s, _)) = l.accept().await {
                        held.push(s);
                    }
                }));
                a
            }
        };
        let client_ca = opts
            .client_ca
            .clone()
            .unwrap_or_else(|| dir.path().join("root.pem"));
        let config = format!(
            r#"
listen = ["127.0.0.1:0"]
[admin]
listen = "127.0.0.1:0"
{tables}
[[domain]]
name = "{DOMAIN}"
cert = "{cert}"
key = "{key}"
api_key_file = "api-key"
{domain_extra}
[domain.upstream]
host = "{UPSTREAM_HOST}"
connect_to = "{upstream_addr}"
ca_file = "root.pem"
{upstream_extra}
[domain.mtls]
client_ca = ["{client_ca}"]
{mtls_extra}
"#,
            cert = opts.server_cert,
            key = opts.server_key,
            client_ca = client_ca.display(),
            domain_extra = opts.domain_extra,
            upstream_extra = opts.upstream_extra,
            mtls_extra = opts.mtls_extra,
            tables = opts.tables,
        );
        let config_path = dir.path().join("gateway.toml");
        std::fs::write(&config_path, config).expect("config");
        Prepared {
            config_path,
            echo,
            dir,
            silent,
        }
    }
}

impl Harness {
    pub async fn start(opts: Options) -> Harness {
        let p = Prepared::new(opts).await;
        let config = mtls_gateway::config::load(&p.config_path)
            .unwrap_or_else(|e| panic!("config invalid: {e}"));
        let gateway = mtls_gateway::start(config).await.expect("gateway start");
        Harness {
            addr: gateway.addrs[0],
            admin: gateway.admin_addr.expect("admin"),
            gateway: Some(gateway),
            echo: p.echo,
            dir: p.dir,
            _silent: p.silent,
        }
    }

    pub fn upstream_requests(&self) -> u64 {
        self.echo.requests.load(Ordering::SeqCst)
    }

    pub async fn metrics(&self) -> String {
        admin_get(self.admin, "/metrics").await
    }
}

/// GET on the admin listener; the whole raw HTTP/1.1 response.
pub async fn admin_get(admin: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(admin).await.expect("admin connect");
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    out
}

pub struct Client {
    pub sni: String,
    pub cert: Option<ClientCert>,
    pub proto: Proto,
    pub roots: Vec<CertificateDer<'static>>,
    pub versions: Vec<&'static rustls::SupportedProtocolVersion>,
}

impl Client {
    pub fn new(sni: &str, cert: Option<ClientCert>, proto: Proto) -> Client {
        Client {
            sni: sni.to_owned(),
            cert,
            proto,
            roots: vec![pki().root.cert_der.clone()],
            versions: vec![&rustls::version::TLS13, &rustls::version::TLS12],
        }
    }

    pub fn config(&self) -> ClientConfig {
        let mut roots = RootCertStore::empty();
        for r in &self.roots {
            roots.add(r.clone()).expect("root");
        }
        let b = ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_protocol_versions(&self.versions)
        .expect("versions")
        .with_root_certificates(roots);
        let mut c = match &self.cert {
            Some(cc) => b
                .with_client_auth_cert(cc.chain.clone(), cc.key.clone_key())
                .expect("client cert"),
            None => b.with_no_client_auth(),
        };
        c.alpn_protocols = match self.proto {
            Proto::H1 => vec![b"http/1.1".to_vec()],
            Proto::H2 => vec![b"h2".to_vec()],
        };
        c
    }

    /// Connects and completes the TLS handshake.
    pub async fn connect(
        &self,
        addr: SocketAddr,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let tcp = TcpStream::connect(addr).await?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(self.config()));
        let name = ServerName::try_from(self.sni.clone()).expect("server name");
        connector.connect(name, tcp).await
    }

    /// One request on a new connection. `authority` is the Host / :authority to send.
    pub async fn request(&self, addr: SocketAddr, req: Req) -> Result<Resp, String> {
        let tls = self
            .connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        send(tls, self.proto, req).await
    }
}
