//! The benchmark's scenarios: each one's crypto floor (the sum of the measured operations a
//! server performs in it) and whole in-memory rustls handshakes, with the gateway's cached chain
//! verdict, with rustls' stock verifier, and with a SHA-256 suite.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::configs::{client_config, server_config, ChainCheck};
use crate::handshakes::{time_handshakes, HandshakeFigure};
use crate::measurements::Figure;
use crate::{BoxError, Tls};

struct Scenario {
    id: &'static str,
    cert: &'static str,
    tls: Tls,
    resume: bool,
    /// The measured operations of the server's asymmetric crypto with the chain verdict cached.
    ops: &'static [&'static str],
    /// Added when the chain is verified on every handshake.
    chain_op: Option<&'static str>,
    formula: &'static str,
}

const FULL_ECDSA: &[&str] = &["kx_x25519", "sign_ecdsa_p256", "verify_cv_rustls"];
const FULL_RSA: &[&str] = &["kx_x25519", "sign_rsa2048_pss", "verify_cv_rustls"];
const CHAIN: Option<&str> = Some("verify_cert_ecdsa_p256");

const SCENARIOS: &[Scenario] = &[
    Scenario {
        id: "full-tls13-ecdsa",
        cert: "server",
        tls: Tls::V13,
        resume: false,
        ops: FULL_ECDSA,
        chain_op: CHAIN,
        formula: "X25519 + ECDSA sign + CertificateVerify (+ chain signature)",
    },
    Scenario {
        id: "full-tls12-ecdsa",
        cert: "server",
        tls: Tls::V12,
        resume: false,
        ops: FULL_ECDSA,
        chain_op: CHAIN,
        formula: "X25519 + ECDSA sign + CertificateVerify (+ chain signature)",
    },
    Scenario {
        id: "full-tls13-rsa",
        cert: "server-rsa",
        tls: Tls::V13,
        resume: false,
        ops: FULL_RSA,
        chain_op: CHAIN,
        formula: "X25519 + RSA-2048 PSS sign + CertificateVerify (+ chain signature)",
    },
    Scenario {
        id: "resume-tls13",
        cert: "server",
        tls: Tls::V13,
        resume: true,
        ops: &["kx_x25519"],
        chain_op: None,
        formula: "X25519 (psk_dhe_ke); no signature",
    },
    Scenario {
        id: "resume-tls12",
        cert: "server",
        tls: Tls::V12,
        resume: true,
        ops: &[],
        chain_op: None,
        formula: "none (abbreviated handshake: symmetric only)",
    },
];

impl Scenario {
    /// (verdict cached, chain verified every time), in µs.
    fn floors(&self, table: &[Figure]) -> (f64, f64) {
        let us = |key: &str| table.iter().find(|o| o.key == key).map_or(0.0, |o| o.us);
        let cached = self.ops.iter().fold(0.0, |sum, k| sum + us(k));
        (cached, self.chain_op.map_or(cached, |k| cached + us(k)))
    }

    fn handshakes(
        &self,
        dir: &Path,
        batches: usize,
        check: ChainCheck,
        only_sha256: bool,
    ) -> Result<HandshakeFigure, BoxError> {
        let client = client_config(
            &dir.join("root.pem"),
            &dir.join("client.pem"),
            &dir.join("client.key"),
            Some(self.tls),
            self.resume,
            only_sha256,
        )?;
        let per_batch = if self.cert == "server-rsa" { 150 } else { 400 };
        let server = server_config(dir, self.cert, check)?;
        time_handshakes(client, server, batches, per_batch)
    }

    /// Runs the handshakes, prints one line and returns the scenario's JSON.
    fn run(&self, dir: &Path, batches: usize, table: &[Figure]) -> Result<Value, BoxError> {
        let cached = self.handshakes(dir, batches, ChainCheck::Cached, false)?;
        let every = if self.resume {
            None
        } else {
            Some(self.handshakes(dir, batches, ChainCheck::EveryTime, false)?)
        };
        // The same with a SHA-256 suite: on CPUs where aws-lc has no fast SHA-512 code path,
        // the default SHA-384 suite's key schedule is a visible share of a handshake.
        let sha256 = self.handshakes(dir, batches, ChainCheck::Cached, true)?;
        eprintln!(
            "  {:<18} {:>8.1} µs  ({} {} {}, resumed {:.0}%){}; with {}: {:.1} µs",
            self.id,
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
        let (floor_cached, floor_every) = self.floors(table);
        Ok(json!({
            "floor_us": floor_cached,
            "floor_chain_verified_us": floor_every,
            "formula": self.formula,
            "rustls_handshake_us": cached.us,
            "rustls_handshake_stock_verifier_us": every.as_ref().map(|e| e.us),
            "rustls_handshake_sha256_suite_us": sha256.us,
            "sha256_suite": sha256.suite,
            "version": cached.version,
            "suite": cached.suite,
            "group": cached.group,
            "resumed_ratio": cached.resumed_ratio,
        }))
    }
}

/// Every scenario's figures by id, and `keepalive`, which has no handshake per request.
pub fn run_all(
    dir: &Path,
    batches: usize,
    table: &[Figure],
) -> Result<Map<String, Value>, BoxError> {
    let mut out = Map::new();
    for s in SCENARIOS {
        out.insert(s.id.to_owned(), s.run(dir, batches, table)?);
    }
    out.insert(
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
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(key: &'static str, us: f64) -> Figure {
        Figure {
            key,
            label: key,
            us,
        }
    }

    #[test]
    fn floors_sum_the_measured_operations() {
        let table = [
            figure("kx_x25519", 30.0),
            figure("sign_ecdsa_p256", 20.0),
            figure("sign_rsa2048_pss", 800.0),
            figure("verify_cv_rustls", 50.0),
            figure("verify_cert_ecdsa_p256", 45.0),
        ];
        let floors: Vec<(&str, (f64, f64))> =
            SCENARIOS.iter().map(|s| (s.id, s.floors(&table))).collect();
        assert_eq!(
            floors,
            vec![
                ("full-tls13-ecdsa", (100.0, 145.0)),
                ("full-tls12-ecdsa", (100.0, 145.0)),
                ("full-tls13-rsa", (880.0, 925.0)),
                ("resume-tls13", (30.0, 30.0)),
                ("resume-tls12", (0.0, 0.0)),
            ]
        );
    }

    #[test]
    fn every_floor_operation_is_measured() {
        let dir = crate::test_pki_dir();
        let keys: Vec<&str> = crate::measurements::keys().collect();
        for s in SCENARIOS {
            for k in s.ops.iter().chain(s.chain_op.iter()) {
                assert!(keys.contains(k), "{}: {k} is not measured", s.id);
            }
            assert!(dir.join(format!("{}.pem", s.cert)).is_file(), "{}", s.cert);
        }
    }

    #[test]
    fn a_resumed_scenario_resumes_in_memory() {
        let dir = crate::test_pki_dir();
        for s in SCENARIOS.iter().filter(|s| s.resume) {
            let figure = s
                .handshakes(dir, 3, ChainCheck::Cached, false)
                .expect("handshakes");
            assert!(
                figure.resumed_ratio > 0.99,
                "{}: {}",
                s.id,
                figure.resumed_ratio
            );
            assert!(figure.us > 0.0);
        }
        let full = &SCENARIOS[0];
        let figure = full
            .handshakes(dir, 3, ChainCheck::EveryTime, true)
            .expect("handshakes");
        assert_eq!(figure.resumed_ratio, 0.0);
        assert_eq!(figure.version, "TLSv1_3");
        assert!(figure.suite.ends_with("_SHA256"), "{}", figure.suite);
    }
}
