//! Shared harness for the gateway's integration tests: a generated PKI, the echo upstream, a
//! gateway started on port 0 from a real configuration file, and real TLS clients (rustls +
//! hyper, HTTP/1.1 or HTTP/2).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use mtls_certs::{DevPki, Issued, PkiSpec};
use mtls_gateway::echo::EchoServer;
use mtls_gateway::RunningGateway;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
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
        let echo = mtls_gateway::echo::start(
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

/// A client identity to present.
#[derive(Clone)]
pub struct ClientCert {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: Arc<PrivateKeyDer<'static>>,
}

impl ClientCert {
    pub fn leaf(i: &Issued) -> ClientCert {
        ClientCert {
            chain: vec![i.cert_der.clone()],
            key: Arc::new(i.key()),
        }
    }
    pub fn with_chain(i: &Issued) -> ClientCert {
        ClientCert {
            chain: i.chain_der(),
            key: Arc::new(i.key()),
        }
    }
    /// From PEM files (the committed nginx fixtures).
    pub fn from_files(chain: &Path, key: &Path) -> ClientCert {
        use rustls::pki_types::pem::PemObject;
        let chain = CertificateDer::pem_file_iter(chain)
            .expect("chain")
            .collect::<Result<Vec<_>, _>>()
            .expect("pem");
        ClientCert {
            chain,
            key: Arc::new(PrivateKeyDer::from_pem_file(key).expect("key")),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Proto {
    H1,
    H2,
}

pub const BOTH: [Proto; 2] = [Proto::H1, Proto::H2];

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

#[derive(Clone)]
pub struct Req {
    pub method: http::Method,
    pub authority: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Req {
    pub fn get(authority: &str, path: &str) -> Req {
        Req {
            method: http::Method::GET,
            authority: authority.into(),
            path: path.into(),
            headers: vec![],
            body: Bytes::new(),
        }
    }
    pub fn post(authority: &str, path: &str, body: &str) -> Req {
        Req {
            method: http::Method::POST,
            authority: authority.into(),
            path: path.into(),
            headers: vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: Bytes::from(body.to_owned()),
        }
    }
    pub fn header(mut self, k: &str, v: &str) -> Req {
        self.headers.push((k.into(), v.into()));
        self
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
    /// Every value the upstream saw for a header (from the echo's JSON).
    pub fn upstream_header(&self, name: &str) -> Vec<String> {
        let j = self.json();
        j["headers"]
            .as_array()
            .expect("echo headers")
            .iter()
            .filter(|p| p[0].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
            .map(|p| p[1].as_str().unwrap_or_default().to_owned())
            .collect()
    }
    pub fn upstream_header_names(&self) -> Vec<String> {
        self.json()["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .map(|p| p[0].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

pub async fn send<S>(io: S, proto: Proto, req: Req) -> Result<Resp, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    let uri = match proto {
        Proto::H1 => req.path.clone(),
        Proto::H2 => format!("https://{}{}", req.authority, req.path),
    };
    let mut b = Request::builder().method(req.method.clone()).uri(uri);
    if proto == Proto::H1 {
        b = b.header(http::header::HOST, req.authority.as_str());
    }
    for (k, v) in &req.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    let request = b
        .body(Full::new(req.body.clone()))
        .map_err(|e| format!("build: {e}"))?;
    let resp = match proto {
        Proto::H1 => {
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
                .await
                .map_err(|e| format!("h1: {e}"))?;
            tokio::spawn(conn);
            sender
                .send_request(request)
                .await
                .map_err(|e| format!("h1 request: {e}"))?
        }
        Proto::H2 => {
            let (mut sender, conn) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                    .await
                    .map_err(|e| format!("h2: {e}"))?;
            tokio::spawn(conn);
            sender
                .send_request(request)
                .await
                .map_err(|e| format!("h2 request: {e}"))?
        }
    };
    let (parts, body) = resp.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    Ok(Resp {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// A real `redis-server` on a free loopback port, stopped on drop. `None` (after a loud message)
/// when redis-server is not installed; under `CI=true` that is a failure instead.
pub struct RedisServer {
    pub port: u16,
    child: Option<std::process::Child>,
}

impl RedisServer {
    pub fn start() -> Option<RedisServer> {
        if std::process::Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            let msg = "redis-server is not installed: the Redis rate-limit tests did not run (apt-get install redis-server)";
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{msg}");
            }
            eprintln!("\n\n*** SKIPPED: {msg} ***\n");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = RedisServer { port, child: None };
        server.restart();
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts (again) on the same port and waits until it accepts connections.
    pub fn restart(&mut self) {
        self.kill();
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
