//! The server-side operations of one handshake, timed one by one: a table of named entries, each
//! preparing its operation from the PKI once and returning it ready to call, run by one loop.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self as lc_sig, KeyPair as _};
use rustls::crypto::aws_lc_rs::kx_group;
use rustls::crypto::{CryptoProvider, SupportedKxGroup};
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, SignatureScheme};

use crate::configs::provider;
use crate::files::{first_cert, key, tbs_and_signature};
use crate::BoxError;

/// One prepared operation; an error stops the measurement.
type Op<'a> = Box<dyn FnMut() -> Result<(), BoxError> + 'a>;

/// One row of the table.
struct Measurement {
    /// The key in the JSON output, which `scenarios` sums into floors.
    key: &'static str,
    label: &'static str,
    /// Calls per timed batch: more for the fast operations, so a batch is long enough to time.
    per_batch: usize,
    prepare: for<'a> fn(&'a Inputs) -> Result<Op<'a>, BoxError>,
}

/// What several operations share, read once.
struct Inputs {
    dir: PathBuf,
    provider: Arc<CryptoProvider>,
    /// `client.pem`'s leaf.
    leaf: CertificateDer<'static>,
    /// A client CertificateVerify-shaped message and `client.key`'s ECDSA P-256 signature of it.
    cv_msg: Vec<u8>,
    cv_sig: Vec<u8>,
}

/// The operations, in the order they are printed and written.
const MEASUREMENTS: &[Measurement] = &[
    // Key exchange: what the server does on receiving the client's key share.
    Measurement {
        key: "kx_x25519",
        label: "ECDHE X25519 (server keypair + shared secret)",
        per_batch: 2000,
        prepare: |_| key_exchange(kx_group::X25519),
    },
    Measurement {
        key: "kx_p256",
        label: "ECDHE P-256 (server keypair + shared secret)",
        per_batch: 2000,
        prepare: |_| key_exchange(kx_group::SECP256R1),
    },
    Measurement {
        key: "kx_x25519mlkem768",
        label: "X25519MLKEM768 (reference; not negotiated here)",
        per_batch: 2000,
        prepare: |_| key_exchange(kx_group::X25519MLKEM768),
    },
    // The server's signature over a handshake transcript (TLS 1.3 CertificateVerify shape).
    Measurement {
        key: "sign_ecdsa_p256",
        label: "server signature ECDSA P-256 SHA-256",
        per_batch: 2000,
        prepare: |i| server_signature(i, "server", SignatureScheme::ECDSA_NISTP256_SHA256),
    },
    Measurement {
        key: "sign_rsa2048_pss",
        label: "server signature RSA-2048 PSS SHA-256",
        per_batch: 300,
        prepare: |i| server_signature(i, "server-rsa", SignatureScheme::RSA_PSS_SHA256),
    },
    Measurement {
        key: "sign_rsa2048_pkcs1",
        label: "server signature RSA-2048 PKCS#1 v1.5 SHA-256",
        per_batch: 300,
        prepare: |i| server_signature(i, "server-rsa", SignatureScheme::RSA_PKCS1_SHA256),
    },
    // The client certificate's signature by the root: the one signature of the chain.
    Measurement {
        key: "verify_cert_ecdsa_p256",
        label: "client certificate signature by the root (ECDSA P-256)",
        per_batch: 2000,
        prepare: chain_signature,
    },
    // CertificateVerify: raw, and the way rustls' verifiers do it (parse the leaf, then verify).
    Measurement {
        key: "verify_cv_ecdsa_p256",
        label: "CertificateVerify signature (ECDSA P-256), raw",
        per_batch: 2000,
        prepare: certificate_verify_raw,
    },
    Measurement {
        key: "verify_cv_rustls",
        label: "CertificateVerify as rustls does it (parse leaf + verify)",
        per_batch: 2000,
        prepare: certificate_verify_rustls,
    },
    // The whole client-chain check of rustls' stock verifier, for comparison with the cache.
    Measurement {
        key: "verify_chain_webpki",
        label: "client chain check, rustls WebPkiClientVerifier (whole)",
        per_batch: 2000,
        prepare: stock_chain_check,
    },
    // The key schedule's primitive, by hash: TLS 1.3 suites ending in _SHA384 use HMAC-SHA384.
    Measurement {
        key: "hmac_sha256",
        label: "HMAC-SHA256 of 64 bytes (SHA-256 suites' key schedule step)",
        per_batch: 20000,
        prepare: |_| key_schedule_step(hmac::HMAC_SHA256),
    },
    Measurement {
        key: "hmac_sha384",
        label: "HMAC-SHA384 of 64 bytes (SHA-384 suites' key schedule step)",
        per_batch: 20000,
        prepare: |_| key_schedule_step(hmac::HMAC_SHA384),
    },
];

/// The keys of the table, for the scenarios' tests.
#[cfg(test)]
pub fn keys() -> impl Iterator<Item = &'static str> {
    MEASUREMENTS.iter().map(|m| m.key)
}

/// One measured figure, under its entry's key and label.
pub struct Figure {
    pub key: &'static str,
    pub label: &'static str,
    pub us: f64,
}

/// Times every entry of [`MEASUREMENTS`], printing each figure as it comes.
pub fn run_all(dir: &Path, batches: usize) -> Result<Vec<Figure>, BoxError> {
    let inputs = Inputs::read(dir)?;
    let mut table = Vec::with_capacity(MEASUREMENTS.len());
    for m in MEASUREMENTS {
        let mut op = (m.prepare)(&inputs)?;
        let us = time_us(batches, m.per_batch, &mut op)?;
        eprintln!("  {:<62} {us:>9.2} µs", m.label);
        table.push(Figure {
            key: m.key,
            label: m.label,
            us,
        });
    }
    Ok(table)
}

/// Median over `batches` of the wall time per call of `op`, in microseconds, after a warm-up.
fn time_us(batches: usize, per_batch: usize, op: &mut Op<'_>) -> Result<f64, BoxError> {
    for _ in 0..per_batch.div_ceil(4).max(5) {
        op()?;
    }
    let mut samples = Vec::with_capacity(batches);
    for _ in 0..batches {
        let start = Instant::now();
        for _ in 0..per_batch {
            op()?;
        }
        samples.push(start.elapsed().as_secs_f64() * 1e6 / per_batch as f64);
    }
    samples.sort_by(f64::total_cmp);
    Ok(samples[samples.len() / 2])
}

/// A signed-handshake-shaped message: 64 spaces, the context string, a 32-byte transcript hash.
fn transcript(context: &[u8], hash_byte: u8) -> Vec<u8> {
    let mut msg = vec![0x20u8; 64];
    msg.extend_from_slice(context);
    msg.extend_from_slice(&[hash_byte; 32]);
    msg
}

impl Inputs {
    fn read(dir: &Path) -> Result<Inputs, BoxError> {
        let provider = provider();
        let signing = provider
            .key_provider
            .load_private_key(key(&dir.join("client.key"))?)?;
        let signer = signing
            .choose_scheme(&[SignatureScheme::ECDSA_NISTP256_SHA256])
            .ok_or("client.key cannot sign with ECDSA P-256")?;
        let cv_msg = transcript(b"TLS 1.3, client CertificateVerify\0", 0xcd);
        let cv_sig = signer.sign(&cv_msg)?;
        Ok(Inputs {
            dir: dir.to_owned(),
            leaf: first_cert(&dir.join("client.pem"))?,
            provider,
            cv_msg,
            cv_sig,
        })
    }
}

fn key_exchange<'a>(group: &'static dyn SupportedKxGroup) -> Result<Op<'a>, BoxError> {
    let client_share = group.start()?.pub_key().to_vec();
    Ok(Box::new(move || {
        let done = group.start_and_complete(&client_share)?;
        black_box(done.secret);
        Ok(())
    }))
}

fn server_signature<'a>(
    inputs: &'a Inputs,
    file: &str,
    scheme: SignatureScheme,
) -> Result<Op<'a>, BoxError> {
    let signing = inputs
        .provider
        .key_provider
        .load_private_key(key(&inputs.dir.join(format!("{file}.key")))?)?;
    let signer = signing
        .choose_scheme(&[scheme])
        .ok_or_else(|| format!("{file}.key cannot sign with {scheme:?}"))?;
    let msg = transcript(b"TLS 1.3, server CertificateVerify\0", 0xab);
    Ok(Box::new(move || {
        black_box(signer.sign(&msg)?);
        Ok(())
    }))
}

/// An ECDSA P-256 public key from a PKCS#8 private key file.
fn ecdsa_public_key(path: &Path) -> Result<lc_sig::UnparsedPublicKey<Vec<u8>>, BoxError> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let pair = lc_sig::EcdsaKeyPair::from_pkcs8(
        &lc_sig::ECDSA_P256_SHA256_ASN1_SIGNING,
        key(path)?.secret_der(),
    )
    .map_err(|e| format!("{name}: not an ECDSA P-256 PKCS#8 key: {e}"))?;
    Ok(lc_sig::UnparsedPublicKey::new(
        &lc_sig::ECDSA_P256_SHA256_ASN1,
        pair.public_key().as_ref().to_vec(),
    ))
}

fn chain_signature(inputs: &Inputs) -> Result<Op<'_>, BoxError> {
    let (tbs, cert_sig) = tbs_and_signature(inputs.leaf.as_ref())
        .ok_or("client.pem: cannot find tbsCertificate and signature")?;
    let root_pub = ecdsa_public_key(&inputs.dir.join("root.key"))?;
    root_pub
        .verify(tbs, cert_sig)
        .map_err(|_| "client.pem is not signed by root.key with ECDSA P-256 SHA-256")?;
    Ok(Box::new(move || Ok(root_pub.verify(tbs, cert_sig)?)))
}

fn certificate_verify_raw(inputs: &Inputs) -> Result<Op<'_>, BoxError> {
    let client_pub = ecdsa_public_key(&inputs.dir.join("client.key"))?;
    Ok(Box::new(move || {
        Ok(client_pub.verify(&inputs.cv_msg, &inputs.cv_sig)?)
    }))
}

fn certificate_verify_rustls(inputs: &Inputs) -> Result<Op<'_>, BoxError> {
    let ecdsa_alg = inputs
        .provider
        .signature_verification_algorithms
        .mapping
        .iter()
        .find(|(s, _)| *s == SignatureScheme::ECDSA_NISTP256_SHA256)
        .and_then(|(_, a)| a.first().copied())
        .ok_or("no ECDSA P-256 verification algorithm")?;
    Ok(Box::new(move || {
        let ee = webpki::EndEntityCert::try_from(&inputs.leaf)?;
        Ok(ee.verify_signature(ecdsa_alg, &inputs.cv_msg, &inputs.cv_sig)?)
    }))
}

fn stock_chain_check(inputs: &Inputs) -> Result<Op<'_>, BoxError> {
    let mut roots = RootCertStore::empty();
    roots.add(first_cert(&inputs.dir.join("root.pem"))?)?;
    let stock =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), inputs.provider.clone())
            .allow_unauthenticated()
            .build()?;
    let now = UnixTime::now();
    Ok(Box::new(move || {
        stock.verify_client_cert(&inputs.leaf, &[], now)?;
        Ok(())
    }))
}

fn key_schedule_step<'a>(alg: hmac::Algorithm) -> Result<Op<'a>, BoxError> {
    let k = hmac::Key::new(alg, &[7u8; 48]);
    let data = [9u8; 64];
    Ok(Box::new(move || {
        black_box(hmac::sign(&k, &data));
        Ok(())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_measurement_prepares_and_runs_on_a_generated_pki() {
        let inputs = Inputs::read(crate::test_pki_dir()).expect("inputs");
        for m in MEASUREMENTS {
            let mut op = (m.prepare)(&inputs).unwrap_or_else(|e| panic!("{}: {e}", m.key));
            let us = time_us(3, 2, &mut op).unwrap_or_else(|e| panic!("{}: {e}", m.key));
            assert!(us > 0.0 && us.is_finite(), "{}: {us}", m.key);
        }
    }

    #[test]
    fn keys_are_unique() {
        let mut keys: Vec<&str> = MEASUREMENTS.iter().map(|m| m.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), MEASUREMENTS.len());
    }

    #[test]
    fn a_certificate_the_root_did_not_sign_is_refused() {
        let mut inputs = Inputs::read(crate::test_pki_dir()).expect("inputs");
        inputs.leaf =
            first_cert(&crate::test_pki_dir().join("same-name-other-ca.pem")).expect("pem");
        let err = chain_signature(&inputs).err().expect("refused");
        assert!(err.to_string().contains("not signed by root.key"), "{err}");
    }
}
