#![forbid(unsafe_code)]
//! The crypto floor of an mTLS handshake, for the side-by-side benchmark (`loadtest/bench/run.sh`).
//!
//! `crypto-floor ops --dir PKI` times, in process and on one thread, the server-side asymmetric
//! operations of one handshake with the same library and the same calls the gateway makes
//! (rustls' aws-lc-rs provider): the ECDHE key exchange (`start_and_complete` on the group rustls
//! negotiates), the server's signature, the client certificate's signature (by the root) and the
//! CertificateVerify check. It then runs complete rustls handshakes in memory (no sockets, no
//! HTTP) between a client configured like `mtls-loadtest` and a server configured like the
//! gateway, and reports the server side's time per handshake and what was negotiated. Pin it to
//! one idle core: the figures are wall time of a single thread.
//!
//! `crypto-floor probe --connect ADDR --sni NAME ...` makes one connection (two with `--resume`)
//! with the load generator's TLS settings, sends one token request and prints what was negotiated
//! (version, suite, key-exchange group, resumed) and the HTTP status, as one JSON line.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{self as lc_sig, KeyPair as _};
use clap::{Parser, Subcommand, ValueEnum};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::client::Resumption;
use rustls::crypto::aws_lc_rs::{self as provider_mod, kx_group};
use rustls::crypto::{CryptoProvider, SupportedKxGroup, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ServerSessionMemoryCache, WebPkiClientVerifier};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, DistinguishedName, HandshakeKind,
    RootCertStore, ServerConfig, ServerConnection, SignatureScheme, SupportedProtocolVersion,
};
use serde_json::json;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser)]
#[command(name = "crypto-floor")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Time the server-side crypto of one handshake, and whole in-memory rustls handshakes.
    Ops {
        /// Directory written by `mtls-gateway certs init`.
        #[arg(long)]
        dir: PathBuf,
        /// Measured batches per figure (the median batch is reported).
        #[arg(long, default_value_t = 7)]
        batches: usize,
        /// Write the figures as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// One real connection with the load generator's TLS settings; prints what was negotiated.
    Probe {
        #[arg(long)]
        connect: String,
        #[arg(long)]
        sni: String,
        #[arg(long)]
        cacert: PathBuf,
        #[arg(long)]
        cert: PathBuf,
        #[arg(long)]
        key: PathBuf,
        #[arg(long, value_enum)]
        tls: Option<Tls>,
        /// Connect twice with one session store and report the second connection.
        #[arg(long)]
        resume: bool,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum Tls {
    #[value(name = "1.2")]
    V12,
    #[value(name = "1.3")]
    V13,
}

fn main() {
    let result = match Cli::parse().command {
        Cmd::Ops { dir, batches, json } => ops(&dir, batches.max(3), json.as_deref()),
        Cmd::Probe {
            connect,
            sni,
            cacert,
            cert,
            key,
            tls,
            resume,
        } => probe(&connect, &sni, &cacert, &cert, &key, tls, resume),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------------------
// Timing

/// Median over `batches` of the wall time per call of `f`, in microseconds, after a warm-up.
fn time_us(batches: usize, per_batch: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..per_batch.div_ceil(4).max(5) {
        f();
    }
    let mut samples: Vec<f64> = (0..batches)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_batch {
                f();
            }
            start.elapsed().as_secs_f64() * 1e6 / per_batch as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

// ---------------------------------------------------------------------------------------------
// Files

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, BoxError> {
    let all = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if all.is_empty() {
        return Err(format!("{}: no certificate", path.display()).into());
    }
    Ok(all)
}

fn key(path: &Path) -> Result<PrivateKeyDer<'static>, BoxError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| format!("{}: {e}", path.display()).into())
}

/// Reads one DER TLV: (tag, whole element, contents).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)? as usize;
    let (len, header) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 3 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *input.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let whole = input.get(..header + len)?;
    Some((tag, whole, &whole[header..]))
}

/// (tbsCertificate, signature) of a DER certificate.
fn tbs_and_signature(cert: &[u8]) -> Option<(&[u8], &[u8])> {
    let (_, _, body) = tlv(cert)?;
    let (_, tbs, rest) = tlv(body).map(|(t, w, _)| (t, w, &body[w.len()..]))?;
    let (_, alg, _) = tlv(rest)?;
    let rest = &rest[alg.len()..];
    let (tag, _, bits) = tlv(rest)?;
    (tag == 0x03 && bits.first() == Some(&0)).then(|| (tbs, &bits[1..]))
}

// ---------------------------------------------------------------------------------------------
// Configurations shaped like the gateway's and the load generator's

fn provider() -> Arc<CryptoProvider> {
    Arc::new(provider_mod::default_provider())
}

/// The gateway's alias verifier on a cache hit: the chain's verdict is already known (the gateway
/// hashes the chain and looks it up), the CertificateVerify signature is always checked.
#[derive(Debug)]
struct VerdictCached {
    algs: WebPkiSupportedAlgorithms,
    hints: Vec<DistinguishedName>,
}

impl ClientCertVerifier for VerdictCached {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }
    fn verify_client_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ChainCheck {
    /// As the gateway after the first handshake of a client: verdict cached.
    Cached,
    /// rustls' stock `WebPkiClientVerifier`: the chain is verified on every handshake.
    EveryTime,
}

fn server_config(dir: &Path, cert: &str, check: ChainCheck) -> Result<Arc<ServerConfig>, BoxError> {
    let root = certs(&dir.join("root.pem"))?;
    let mut roots = RootCertStore::empty();
    roots.add(root[0].clone())?;
    let roots = Arc::new(roots);
    let verifier: Arc<dyn ClientCertVerifier> = match check {
        ChainCheck::Cached => Arc::new(VerdictCached {
            algs: provider().signature_verification_algorithms,
            hints: roots.subjects(),
        }),
        ChainCheck::EveryTime => WebPkiClientVerifier::builder_with_provider(roots, provider())
            .allow_unauthenticated()
            .build()?,
    };
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            certs(&dir.join(format!("{cert}.pem")))?,
            key(&dir.join(format!("{cert}.key")))?,
        )?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config.ticketer = provider_mod::Ticketer::new()?;
    config.session_storage = ServerSessionMemoryCache::new(4096);
    config.ignore_client_order = true;
    Ok(Arc::new(config))
}

fn versions(tls: Option<Tls>) -> &'static [&'static SupportedProtocolVersion] {
    static V12: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS12];
    static V13: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
    static BOTH: [&SupportedProtocolVersion; 2] =
        [&rustls::version::TLS13, &rustls::version::TLS12];
    match tls {
        Some(Tls::V12) => &V12,
        Some(Tls::V13) => &V13,
        None => &BOTH,
    }
}

/// `mtls-loadtest`'s client: default aws-lc-rs provider, one trust anchor, a client certificate,
/// ALPN http/1.1, resumption off unless asked. `only_sha256` offers only the suites whose hash is
/// SHA-256 (to measure what the SHA-384 key schedule of the default first suite costs).
fn client_config(
    cacert: &Path,
    cert: &Path,
    key_file: &Path,
    tls: Option<Tls>,
    resume: bool,
    only_sha256: bool,
) -> Result<Arc<ClientConfig>, BoxError> {
    let mut roots = RootCertStore::empty();
    for c in certs(cacert)? {
        roots.add(c)?;
    }
    let mut provider = provider_mod::default_provider();
    if only_sha256 {
        provider
            .cipher_suites
            .retain(|s| s.suite().as_str().is_some_and(|n| n.ends_with("_SHA256")));
    }
    let mut config = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions(tls))?
        .with_root_certificates(roots)
        .with_client_auth_cert(certs(cert)?, key(key_file)?)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.resumption = if resume {
        Resumption::in_memory_sessions(8)
    } else {
        Resumption::disabled()
    };
    Ok(Arc::new(config))
}

fn group_name(g: Option<&'static dyn SupportedKxGroup>) -> String {
    g.map(|g| format!("{:?}", g.name()))
        .unwrap_or_else(|| "none".into())
}

// ---------------------------------------------------------------------------------------------
// In-memory handshakes

/// Runs one handshake in memory and returns the server side's wall time (its
/// `ServerConnection::new`, `read_tls`, `process_new_packets` and `write_tls` calls), including
/// the session tickets it sends after the handshake.
fn handshake(
    client_cfg: &Arc<ClientConfig>,
    server_cfg: &Arc<ServerConfig>,
    name: &ServerName<'static>,
    buf: &mut Vec<u8>,
) -> Result<(Duration, ServerConnection), BoxError> {
    let mut client = ClientConnection::new(client_cfg.clone(), name.clone())?;
    let started = Instant::now();
    let mut server = ServerConnection::new(server_cfg.clone())?;
    let mut server_time = started.elapsed();
    loop {
        let mut progressed = false;
        buf.clear();
        while client.wants_write() {
            client.write_tls(buf)?;
        }
        if !buf.is_empty() {
            progressed = true;
            let t = Instant::now();
            let mut rd = &buf[..];
            while !rd.is_empty() {
                server.read_tls(&mut rd)?;
                server.process_new_packets()?;
            }
            server_time += t.elapsed();
        }
        buf.clear();
        let t = Instant::now();
        while server.wants_write() {
            server.write_tls(buf)?;
        }
        server_time += t.elapsed();
        if !buf.is_empty() {
            progressed = true;
            let mut rd = &buf[..];
            while !rd.is_empty() {
                client.read_tls(&mut rd)?;
                client.process_new_packets()?;
            }
        }
        if !progressed {
            break;
        }
    }
    if client.is_handshaking() || server.is_handshaking() {
        return Err("in-memory handshake did not complete".into());
    }
    Ok((server_time, server))
}

struct HandshakeFigure {
    us: f64,
    version: String,
    suite: String,
    group: String,
    resumed_ratio: f64,
}

fn time_handshakes(
    client_cfg: Arc<ClientConfig>,
    server_cfg: Arc<ServerConfig>,
    batches: usize,
    per_batch: usize,
) -> Result<HandshakeFigure, BoxError> {
    let name = ServerName::try_from("mtls.auth.example.com")?;
    let mut buf = Vec::with_capacity(16 * 1024);
    // Warm-up, which also gives a resuming client its first session.
    let (_, first) = handshake(&client_cfg, &server_cfg, &name, &mut buf)?;
    let mut last = first;
    let mut samples = Vec::with_capacity(batches);
    let (mut total, mut resumed) = (0u32, 0u32);
    for _ in 0..per_batch / 4 {
        handshake(&client_cfg, &server_cfg, &name, &mut buf)?;
    }
    for _ in 0..batches {
        let mut sum = Duration::ZERO;
        for _ in 0..per_batch {
            let (t, conn) = handshake(&client_cfg, &server_cfg, &name, &mut buf)?;
            sum += t;
            total += 1;
            if conn.handshake_kind() == Some(HandshakeKind::Resumed) {
                resumed += 1;
            }
            last = conn;
        }
        samples.push(sum.as_secs_f64() * 1e6 / per_batch as f64);
    }
    samples.sort_by(f64::total_cmp);
    Ok(HandshakeFigure {
        us: samples[samples.len() / 2],
        version: last
            .protocol_version()
            .map(|v| format!("{v:?}"))
            .unwrap_or_default(),
        suite: last
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()))
            .unwrap_or_default(),
        group: group_name(last.negotiated_key_exchange_group()),
        resumed_ratio: f64::from(resumed) / f64::from(total.max(1)),
    })
}

// ---------------------------------------------------------------------------------------------
// ops

struct Op {
    key: &'static str,
    label: &'static str,
    us: f64,
}

fn ops(dir: &Path, batches: usize, json_out: Option<&Path>) -> Result<(), BoxError> {
    let p = provider();
    let mut table: Vec<Op> = Vec::new();
    let mut push = |key, label, us| {
        eprintln!("  {label:<62} {us:>9.2} µs");
        table.push(Op { key, label, us });
    };
    eprintln!("crypto floor: server-side operations, one thread, median of {batches} batches");

    // Key exchange: what the server does on receiving the client's key share.
    for (key, label, group) in [
        (
            "kx_x25519",
            "ECDHE X25519 (server keypair + shared secret)",
            kx_group::X25519,
        ),
        (
            "kx_p256",
            "ECDHE P-256 (server keypair + shared secret)",
            kx_group::SECP256R1,
        ),
        (
            "kx_x25519mlkem768",
            "X25519MLKEM768 (reference; not negotiated here)",
            kx_group::X25519MLKEM768,
        ),
    ] {
        let client_share = group.start()?.pub_key().to_vec();
        let us = time_us(batches, 2000, || {
            let done = group
                .start_and_complete(&client_share)
                .expect("key exchange");
            std::hint::black_box(done.secret);
        });
        push(key, label, us);
    }

    // The server's signature over a handshake transcript (TLS 1.3 CertificateVerify shape).
    let mut msg = vec![0x20u8; 64];
    msg.extend_from_slice(b"TLS 1.3, server CertificateVerify\0");
    msg.extend_from_slice(&[0xab; 32]);
    for (key_name, file, scheme, label, iters) in [
        (
            "sign_ecdsa_p256",
            "server",
            SignatureScheme::ECDSA_NISTP256_SHA256,
            "server signature ECDSA P-256 SHA-256",
            2000,
        ),
        (
            "sign_rsa2048_pss",
            "server-rsa",
            SignatureScheme::RSA_PSS_SHA256,
            "server signature RSA-2048 PSS SHA-256",
            300,
        ),
        (
            "sign_rsa2048_pkcs1",
            "server-rsa",
            SignatureScheme::RSA_PKCS1_SHA256,
            "server signature RSA-2048 PKCS#1 v1.5 SHA-256",
            300,
        ),
    ] {
        let signing = p
            .key_provider
            .load_private_key(key(&dir.join(format!("{file}.key")))?)?;
        let signer = signing
            .choose_scheme(&[scheme])
            .ok_or_else(|| format!("{file}.key cannot sign with {scheme:?}"))?;
        let us = time_us(batches, iters, || {
            std::hint::black_box(signer.sign(&msg).expect("sign"));
        });
        push(key_name, label, us);
    }

    // The client certificate's signature by the root: the one signature of the chain.
    let client = certs(&dir.join("client.pem"))?;
    let (tbs, cert_sig) = tbs_and_signature(client[0].as_ref())
        .ok_or("client.pem: cannot find tbsCertificate and signature")?;
    let root_key = key(&dir.join("root.key"))?;
    let root_pair = lc_sig::EcdsaKeyPair::from_pkcs8(
        &lc_sig::ECDSA_P256_SHA256_ASN1_SIGNING,
        root_key.secret_der(),
    )
    .map_err(|e| format!("root.key: not an ECDSA P-256 PKCS#8 key: {e}"))?;
    let root_pub = lc_sig::UnparsedPublicKey::new(
        &lc_sig::ECDSA_P256_SHA256_ASN1,
        root_pair.public_key().as_ref().to_vec(),
    );
    root_pub
        .verify(tbs, cert_sig)
        .map_err(|_| "client.pem is not signed by root.key with ECDSA P-256 SHA-256")?;
    let us = time_us(batches, 2000, || {
        root_pub.verify(tbs, cert_sig).expect("verify");
    });
    push(
        "verify_cert_ecdsa_p256",
        "client certificate signature by the root (ECDSA P-256)",
        us,
    );

    // CertificateVerify: raw, and the way rustls' verifiers do it (parse the leaf, then verify).
    let client_signing = p
        .key_provider
        .load_private_key(key(&dir.join("client.key"))?)?;
    let client_signer = client_signing
        .choose_scheme(&[SignatureScheme::ECDSA_NISTP256_SHA256])
        .ok_or("client.key cannot sign with ECDSA P-256")?;
    let mut cv_msg = vec![0x20u8; 64];
    cv_msg.extend_from_slice(b"TLS 1.3, client CertificateVerify\0");
    cv_msg.extend_from_slice(&[0xcd; 32]);
    let cv_sig = client_signer.sign(&cv_msg)?;
    let client_pair = lc_sig::EcdsaKeyPair::from_pkcs8(
        &lc_sig::ECDSA_P256_SHA256_ASN1_SIGNING,
        key(&dir.join("client.key"))?.secret_der(),
    )
    .map_err(|e| format!("client.key: not an ECDSA P-256 PKCS#8 key: {e}"))?;
    let client_pub = lc_sig::UnparsedPublicKey::new(
        &lc_sig::ECDSA_P256_SHA256_ASN1,
        client_pair.public_key().as_ref().to_vec(),
    );
    let us = time_us(batches, 2000, || {
        client_pub.verify(&cv_msg, &cv_sig).expect("verify");
    });
    push(
        "verify_cv_ecdsa_p256",
        "CertificateVerify signature (ECDSA P-256), raw",
        us,
    );
    let algs = p.signature_verification_algorithms;
    let ecdsa_alg = algs
        .mapping
        .iter()
        .find(|(s, _)| *s == SignatureScheme::ECDSA_NISTP256_SHA256)
        .and_then(|(_, a)| a.first().copied())
        .ok_or("no ECDSA P-256 verification algorithm")?;
    let leaf = client[0].clone();
    let us = time_us(batches, 2000, || {
        let ee = webpki::EndEntityCert::try_from(&leaf).expect("parse");
        ee.verify_signature(ecdsa_alg, &cv_msg, &cv_sig)
            .expect("verify");
    });
    push(
        "verify_cv_rustls",
        "CertificateVerify as rustls does it (parse leaf + verify)",
        us,
    );

    // The whole client-chain check of rustls' stock verifier, for comparison with the cache.
    let mut roots = RootCertStore::empty();
    roots.add(certs(&dir.join("root.pem"))?[0].clone())?;
    let stock = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), p.clone())
        .allow_unauthenticated()
        .build()?;
    let now = UnixTime::now();
    let us = time_us(batches, 2000, || {
        stock
            .verify_client_cert(&leaf, &[], now)
            .expect("client chain");
    });
    push(
        "verify_chain_webpki",
        "client chain check, rustls WebPkiClientVerifier (whole)",
        us,
    );

    // The key schedule's primitive, by hash: TLS 1.3 suites ending in _SHA384 use HMAC-SHA384.
    for (key_name, alg, label) in [
        (
            "hmac_sha256",
            aws_lc_rs::hmac::HMAC_SHA256,
            "HMAC-SHA256 of 64 bytes (SHA-256 suites' key schedule step)",
        ),
        (
            "hmac_sha384",
            aws_lc_rs::hmac::HMAC_SHA384,
            "HMAC-SHA384 of 64 bytes (SHA-384 suites' key schedule step)",
        ),
    ] {
        let k = aws_lc_rs::hmac::Key::new(alg, &[7u8; 48]);
        let data = [9u8; 64];
        let us = time_us(batches, 20000, || {
            std::hint::black_box(aws_lc_rs::hmac::sign(&k, &data));
        });
        push(key_name, label, us);
    }

    let get = |k: &str| {
        table
            .iter()
            .find(|o| o.key == k)
            .map(|o| o.us)
            .unwrap_or(0.0)
    };
    let kx = get("kx_x25519");
    let cv = get("verify_cv_rustls");
    let chain = get("verify_cert_ecdsa_p256");

    // Whole rustls handshakes in memory.
    eprintln!("in-memory rustls handshakes, server side (gateway-like config, verdict cached):");
    let client_pem = dir.join("client.pem");
    let client_key = dir.join("client.key");
    let root_pem = dir.join("root.pem");
    let ccfg = |tls, resume, only_sha256| {
        client_config(
            &root_pem,
            &client_pem,
            &client_key,
            Some(tls),
            resume,
            only_sha256,
        )
    };
    struct Scenario {
        id: &'static str,
        cert: &'static str,
        tls: Tls,
        resume: bool,
        /// Asymmetric operations on the server, verdict cached / chain verified every time.
        floor_cached: f64,
        floor_every: f64,
        formula: &'static str,
    }
    let sign_ec = get("sign_ecdsa_p256");
    let sign_rsa = get("sign_rsa2048_pss");
    let scenarios = [
        Scenario {
            id: "full-tls13-ecdsa",
            cert: "server",
            tls: Tls::V13,
            resume: false,
            floor_cached: kx + sign_ec + cv,
            floor_every: kx + sign_ec + cv + chain,
            formula: "X25519 + ECDSA sign + CertificateVerify (+ chain signature)",
        },
        Scenario {
            id: "full-tls12-ecdsa",
            cert: "server",
            tls: Tls::V12,
            resume: false,
            floor_cached: kx + sign_ec + cv,
            floor_every: kx + sign_ec + cv + chain,
            formula: "X25519 + ECDSA sign + CertificateVerify (+ chain signature)",
        },
        Scenario {
            id: "full-tls13-rsa",
            cert: "server-rsa",
            tls: Tls::V13,
            resume: false,
            floor_cached: kx + sign_rsa + cv,
            floor_every: kx + sign_rsa + cv + chain,
            formula: "X25519 + RSA-2048 PSS sign + CertificateVerify (+ chain signature)",
        },
        Scenario {
            id: "resume-tls13",
            cert: "server",
            tls: Tls::V13,
            resume: true,
            floor_cached: kx,
            floor_every: kx,
            formula: "X25519 (psk_dhe_ke); no signature",
        },
        Scenario {
            id: "resume-tls12",
            cert: "server",
            tls: Tls::V12,
            resume: true,
            floor_cached: 0.0,
            floor_every: 0.0,
            formula: "none (abbreviated handshake: symmetric only)",
        },
    ];
    let mut scenario_json = serde_json::Map::new();
    for s in &scenarios {
        let per_batch = if s.cert == "server-rsa" { 150 } else { 400 };
        let cached = time_handshakes(
            ccfg(s.tls, s.resume, false)?,
            server_config(dir, s.cert, ChainCheck::Cached)?,
            batches,
            per_batch,
        )?;
        let every = if s.resume {
            None
        } else {
            Some(time_handshakes(
                ccfg(s.tls, s.resume, false)?,
                server_config(dir, s.cert, ChainCheck::EveryTime)?,
                batches,
                per_batch,
            )?)
        };
        // The same with a SHA-256 suite: on CPUs where aws-lc has no fast SHA-512 code path,
        // the default SHA-384 suite's key schedule is a visible share of a handshake.
        let sha256 = time_handshakes(
            ccfg(s.tls, s.resume, true)?,
            server_config(dir, s.cert, ChainCheck::Cached)?,
            batches,
            per_batch,
        )?;
        eprintln!(
            "  {:<18} {:>8.1} µs  ({} {} {}, resumed {:.0}%){}; with {}: {:.1} µs",
            s.id,
            cached.us,
            cached.version,
            cached.suite,
            cached.group,
            cached.resumed_ratio * 100.0,
            every
                .as_ref()
                .map(|e| format!("; stock verifier {:.1} µs", e.us))
                .unwrap_or_default(),
            sha256.suite,
            sha256.us,
        );
        scenario_json.insert(
            s.id.to_owned(),
            json!({
                "floor_us": s.floor_cached,
                "floor_chain_verified_us": s.floor_every,
                "formula": s.formula,
                "rustls_handshake_us": cached.us,
                "rustls_handshake_stock_verifier_us": every.as_ref().map(|e| e.us),
                "rustls_handshake_sha256_suite_us": sha256.us,
                "sha256_suite": sha256.suite,
                "version": cached.version,
                "suite": cached.suite,
                "group": cached.group,
                "resumed_ratio": cached.resumed_ratio,
            }),
        );
    }
    scenario_json.insert(
        "keepalive".into(),
        json!({
            "floor_us": 0.0,
            "floor_chain_verified_us": 0.0,
            "formula": "none (no handshake per request)",
            "rustls_handshake_us": null,
            "rustls_handshake_stock_verifier_us": null,
            "rustls_handshake_sha256_suite_us": null,
            "sha256_suite": null,
            "version": null, "suite": null, "group": null, "resumed_ratio": null,
        }),
    );
    let out = json!({
        "schema": 1,
        "library": "rustls 0.23 aws-lc-rs provider",
        "batches": batches,
        "ops": table.iter().map(|o| json!({"key": o.key, "label": o.label, "us": o.us})).collect::<Vec<_>>(),
        "scenarios": scenario_json,
    });
    match json_out {
        Some(path) => std::fs::write(path, serde_json::to_string_pretty(&out)?)
            .map_err(|e| format!("{}: {e}", path.display()))?,
        None => println!("{}", serde_json::to_string_pretty(&out)?),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// probe

fn probe(
    connect: &str,
    sni: &str,
    cacert: &Path,
    cert: &Path,
    key_file: &Path,
    tls: Option<Tls>,
    resume: bool,
) -> Result<(), BoxError> {
    let config = client_config(cacert, cert, key_file, tls, resume, false)?;
    let name = ServerName::try_from(sni.to_owned())?;
    let rounds = if resume { 2 } else { 1 };
    let mut line = serde_json::Value::Null;
    for _ in 0..rounds {
        let mut sock = TcpStream::connect(connect).map_err(|e| format!("{connect}: {e}"))?;
        sock.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut conn = ClientConnection::new(config.clone(), name.clone())?;
        while conn.is_handshaking() {
            conn.complete_io(&mut sock)?;
        }
        let body = "grant_type=client_credentials";
        let request = format!(
            "POST /oauth/token HTTP/1.1\r\nHost: {sni}\r\n\
             content-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        );
        let mut stream = rustls::Stream::new(&mut conn, &mut sock);
        stream.write_all(request.as_bytes())?;
        let mut response = Vec::new();
        // Servers may close without close_notify; what was read is enough.
        let _ = stream.read_to_end(&mut response);
        let status = String::from_utf8_lossy(&response)
            .lines()
            .next()
            .unwrap_or("")
            .to_owned();
        line = json!({
            "version": conn.protocol_version().map(|v| format!("{v:?}")),
            "suite": conn.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite())),
            "group": group_name(conn.negotiated_key_exchange_group()),
            "resumed": conn.handshake_kind() == Some(HandshakeKind::Resumed),
            "status": status,
        });
    }
    println!("{line}");
    Ok(())
}
