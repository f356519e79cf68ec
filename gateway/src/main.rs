#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use mtls_gateway::config::{self, EXIT_CONFIG};
use tokio::signal::unix::{signal, SignalKind};

/// TLS-terminating customer edge for an identity provider's custom domain, with mTLS on the
/// `mtls.` alias.
#[derive(Parser)]
#[command(name = "mtls-gateway", version)]
struct Cli {
    /// Log output format (also MTLS_GATEWAY_LOG_FORMAT). Filter with MTLS_GATEWAY_LOG (e.g. "info,access=warn").
    #[arg(
        long,
        global = true,
        value_enum,
        env = "MTLS_GATEWAY_LOG_FORMAT",
        default_value = "human"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve with the given configuration. SIGHUP reloads it; SIGTERM/SIGINT drain and stop.
    Run {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a configuration the way a start would; exit 64 when invalid.
    Check {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Development certificates and certificate inspection.
    Certs {
        #[command(subcommand)]
        command: CertsCommand,
    },
    /// Run the gateway with a throwaway PKI and a stand-in upstream, and print curl commands.
    Demo {
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
        #[arg(long, default_value = "auth.example.com")]
        domain: String,
        /// Keep the generated PKI and configuration in this directory.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum CertsCommand {
    /// Write a development PKI (root and intermediate CAs, server and client certificates for every
    /// case the gateway handles, a CRL) into DIR.
    Init {
        dir: PathBuf,
        #[arg(long, default_value = "auth.example.com")]
        domain: String,
        #[arg(long, default_value = "idp.example.internal")]
        upstream_host: String,
    },
    /// Show what the gateway and the provider see of a certificate: names, validity, thumbprints,
    /// the exact `client-certificate` header and the body to register it with the provider.
    Inspect {
        file: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

fn certs(command: CertsCommand) -> i32 {
    match command {
        CertsCommand::Init {
            dir,
            domain,
            upstream_host,
        } => {
            let spec = mtls_certs::PkiSpec {
                domain,
                upstream_host,
            };
            match mtls_certs::DevPki::generate(&spec)
                .and_then(|pki| pki.write_to(&dir).map(|()| pki))
            {
                Ok(pki) => {
                    println!(
                        "wrote a development PKI for {} to {}:",
                        spec.domain,
                        dir.display()
                    );
                    for (name, _) in pki.entries() {
                        println!("  {name}.pem  {name}.key");
                    }
                    println!("  client-via-intermediate-chain.pem  root-crl.pem");
                    0
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    1
                }
            }
        }
        CertsCommand::Inspect { file, json } => {
            let bytes = match std::fs::read(&file) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("error: {}: {e}", file.display());
                    return 1;
                }
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            match mtls_certs::inspect_pem(&bytes, now) {
                Ok(all) => {
                    for (i, cert) in all.iter().enumerate() {
                        if json {
                            println!("{}", cert.to_json());
                        } else {
                            if i > 0 {
                                println!();
                            }
                            print!("{}", cert.render_text());
                        }
                    }
                    0
                }
                Err(e) => {
                    eprintln!("error: {}: {e}", file.display());
                    1
                }
            }
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match cli.command {
        Command::Check { config } => mtls_gateway::check::run(&config),
        Command::Certs { command } => certs(command),
        Command::Run { config } => runtime.block_on(run(&config)),
        Command::Demo {
            listen,
            domain,
            dir,
        } => {
            match runtime.block_on(mtls_gateway::demo::run(mtls_gateway::demo::DemoOptions {
                listen,
                domain,
                dir,
            })) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    1
                }
            }
        }
    };
    ExitCode::from(code as u8)
}

async fn run(path: &Path) -> i32 {
    let config = match config::load(path) {
        Ok(c) => c,
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("error: {e}");
            }
            return EXIT_CONFIG;
        }
    };
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    let gateway = match mtls_gateway::start(config).await {
        Ok(g) => g,
        Err(e @ mtls_gateway::server::StartError::Build(_)) => {
            eprintln!("error: {}: {e}", path.display());
            return EXIT_CONFIG;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let mut hup = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot install the SIGHUP handler: {e}");
            return 1;
        }
    };
    let stop = mtls_gateway::signals::wait_for_stop();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = hup.recv() => { gateway.shared.reload_from(path); }
        }
    }
    tracing::info!("stopping: draining in-flight requests");
    gateway.shutdown().await;
    tracing::info!("stopped");
    0
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("MTLS_GATEWAY_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
}
