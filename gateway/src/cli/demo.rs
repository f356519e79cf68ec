//! `mtls-gateway demo`: the whole product on one machine in one command. It generates a throwaway
//! PKI, starts a stand-in identity-provider edge that echoes what it receives, writes an ordinary
//! configuration file for the gateway, starts the gateway from it, and prints `curl` commands.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use mtls_certs::{DevPki, PkiSpec};

use mtls_gateway::config;

pub struct DemoOptions {
    pub listen: SocketAddr,
    pub domain: String,
    /// Where to write the PKI and config; a temporary directory (removed at exit) when `None`.
    pub dir: Option<PathBuf>,
}

pub const DEMO_UPSTREAM_HOST: &str = "idp.demo.internal";
const DEMO_API_KEY: &str = "demo-cname-api-key-not-secret";

pub async fn run(opts: DemoOptions) -> anyhow::Result<()> {
    let (dir, temporary) = match &opts.dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("mtls-gateway-demo-{}", std::process::id())),
            true,
        ),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let result = run_in(&opts, &dir).await;
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

async fn run_in(opts: &DemoOptions, dir: &Path) -> anyhow::Result<()> {
    let spec = PkiSpec {
        domain: opts.domain.clone(),
        upstream_host: DEMO_UPSTREAM_HOST.to_owned(),
    };
    let pki = DevPki::generate(&spec).context("generating the demo PKI")?;
    pki.write_to(dir).context("writing the demo PKI")?;

    let echo = mtls_testkit::echo::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        pki.upstream.chain_der(),
        pki.upstream.key(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("starting the stand-in upstream: {e}"))?;

    std::fs::write(dir.join("cname-api-key"), DEMO_API_KEY)?;
    let config_path = dir.join("gateway.toml");
    std::fs::write(&config_path, demo_config(opts, echo.addr))?;
    let config = config::load(&config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let gateway = mtls_gateway::start(config).await?;
    let port = gateway.addrs[0].port();

    print_instructions(opts, dir, port, gateway.admin_addr);
    super::signals::wait_for_stop().await;
    println!("stopping");
    gateway.shutdown().await;
    drop(echo);
    Ok(())
}

fn demo_config(opts: &DemoOptions, upstream: SocketAddr) -> String {
    format!(
        r#"# Written by `mtls-gateway demo`: a working configuration for the throwaway PKI beside it.
listen = ["{listen}"]

[admin]
listen = "127.0.0.1:0"

[[domain]]
name = "{domain}"
cert = "server.pem"
key = "server.key"
api_key_file = "cname-api-key"

[domain.upstream]
host = "{upstream_host}"
connect_to = "{upstream}"
ca_file = "root.pem"

[domain.mtls]
client_ca = ["root.pem"]
"#,
        listen = opts.listen,
        domain = opts.domain,
        upstream_host = DEMO_UPSTREAM_HOST,
    )
}

fn print_instructions(opts: &DemoOptions, dir: &Path, port: u16, admin: Option<SocketAddr>) {
    let d = dir.display();
    let domain = &opts.domain;
    let ip = match opts.listen.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
        ip => ip.to_string(),
    };
    let base = format!(
        "curl -sS --cacert {d}/root.pem --resolve {domain}:{port}:{ip} --resolve mtls.{domain}:{port}:{ip}"
    );
    let token =
        format!("https://mtls.{domain}:{port}/oauth/token -d grant_type=client_credentials");
    println!("mtls-gateway demo is running.");
    println!("  gateway:   https://{domain}:{port} and https://mtls.{domain}:{port} (on {ip})");
    println!("  upstream:  a stand-in identity provider that echoes what it receives");
    println!("  files:     {d} (gateway.toml is the configuration in use)");
    if let Some(a) = admin {
        println!("  metrics:   http://{a}/metrics");
    }
    println!();
    println!(
        "# CA-signed client certificate: the upstream sees client-certificate-ca-verified: SUCCESS"
    );
    println!("{base} --cert {d}/client.pem --key {d}/client.key {token}");
    println!("# Self-signed client certificate: forwarded, flagged FAILED:self-signed certificate");
    println!("{base} --cert {d}/self-signed-leaf.pem --key {d}/self-signed-leaf.key {token}");
    println!("# No client certificate on the mTLS alias: 401 invalid_client, nothing forwarded");
    println!("{base} {token}");
    println!("# A path the mTLS alias does not forward: 404");
    println!(
        "{base} --cert {d}/client.pem --key {d}/client.key https://mtls.{domain}:{port}/authorize"
    );
    println!("# The plain domain forwards every path and never asks for a certificate");
    println!("{base} https://{domain}:{port}/authorize?client_id=demo");
    println!();
    println!("ready. Press Ctrl-C to stop.");
}
