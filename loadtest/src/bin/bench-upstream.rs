#![forbid(unsafe_code)]
//! The stand-in upstream of the side-by-side benchmark (`loadtest/bench/run.sh`): an HTTPS server
//! that reads each request's body and answers 200 with a small fixed JSON body, over HTTP/1.1 or
//! HTTP/2 by ALPN, on one thread. Both servers under test proxy to it, so the cost of the
//! upstream leg is the same for both; it never runs on the core being measured.
//!
//! ```text
//! bench-upstream --listen 127.0.0.1:0 --cert upstream.pem --key upstream.key --port-file port
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use clap::Parser;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::crypto::aws_lc_rs;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// The answer to every request: about the size of a small token response.
const BODY: &str = r#"{"access_token":"bench","token_type":"Bearer","expires_in":86400}"#;

#[derive(Parser)]
#[command(name = "bench-upstream")]
struct Args {
    /// Address to listen on; port 0 picks a free port (see --port-file).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Server certificate chain (PEM).
    #[arg(long)]
    cert: PathBuf,
    /// Its private key (PEM).
    #[arg(long)]
    key: PathBuf,
    /// ALPN protocols offered, in preference order, comma-separated.
    #[arg(long, default_value = "h2,http/1.1", value_delimiter = ',')]
    alpn: Vec<String>,
    /// Write the bound port here once listening.
    #[arg(long)]
    port_file: Option<PathBuf>,
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args = Args::parse();
    let chain = CertificateDer::pem_file_iter(&args.cert)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(&args.key)?;
    let mut tls = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    tls.alpn_protocols = args.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    let acceptor = TlsAcceptor::from(Arc::new(tls));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(args, acceptor))
}

async fn serve(
    args: Args,
    acceptor: TlsAcceptor,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let listener = TcpListener::bind(args.listen).await?;
    let port = listener.local_addr()?.port();
    if let Some(path) = &args.port_file {
        std::fs::write(path, format!("{port}\n"))?;
    }
    eprintln!("bench-upstream listening on {}", listener.local_addr()?);
    loop {
        let (tcp, _) = match listener.accept().await {
            Ok(pair) => pair,
            Err(e) => {
                eprintln!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service_fn(answer))
                .await;
        });
    }
}

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    // Read the body so the proxy's upload completes, as a real provider would.
    req.into_body().collect().await?;
    let mut resp = Response::new(Full::new(Bytes::from_static(BODY.as_bytes())));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}
