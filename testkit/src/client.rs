//! Real TLS clients for the integration tests: a client identity, a request, the response, and
//! one request over HTTP/1.1 or HTTP/2 on any stream (rustls + hyper).

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use mtls_certs::Issued;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

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
