#![forbid(unsafe_code)]

mod cli;

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
        command: cli::certs::CertsCommand,
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
        Command::Check { config } => cli::check::run(&config),
        Command::Certs { command } => cli::certs::run(command),
        Command::Run { config } => runtime.block_on(run(&config)),
        Command::Demo {
            listen,
            domain,
            dir,
        } => {
            match runtime.block_on(cli::demo::run(cli::demo::DemoOptions {
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
        Err(e @ mtls_gateway::StartError::Build(_)) => {
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
    let stop = cli::signals::wait_for_stop();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = hup.recv() => { gateway.reloader().reload_from(path); }
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
