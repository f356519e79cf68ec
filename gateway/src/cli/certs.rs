//! `mtls-gateway certs`: a development PKI, and what the gateway and the provider see of a
//! certificate.

use std::path::PathBuf;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum CertsCommand {
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

pub fn run(command: CertsCommand) -> i32 {
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
