//! `mtls-gateway check` on a configuration from `deploy/`, its file paths pointed at a
//! generated PKI.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use mtls_certs::{DevPki, PkiSpec};

use super::files::file_config;
use super::{run, BIN};

fn pki() -> &'static DevPki {
    static PKI: OnceLock<DevPki> = OnceLock::new();
    PKI.get_or_init(|| {
        DevPki::generate(&PkiSpec {
            domain: "auth.example.com".into(),
            upstream_host: "idp.example.internal".into(),
        })
        .expect("generate PKI")
    })
}

/// Points every file the configuration names at the generated PKI in `dir`, by replacing the
/// quoted path strings, so that everything else in the file is checked exactly as written.
fn with_pki_paths(text: &str, dir: &Path) -> String {
    let config = file_config("configuration", text);
    let mut replace: Vec<(String, PathBuf)> = Vec::new();
    for d in &config.domains {
        assert_eq!(
            d.name, "auth.example.com",
            "the PKI is made for auth.example.com"
        );
        replace.push((d.cert.clone(), dir.join("server.pem")));
        replace.push((d.key.clone(), dir.join("server.key")));
        for ca in &d.mtls.client_ca {
            replace.push((ca.file().to_owned(), dir.join("root.pem")));
        }
        for crl in &d.mtls.crl {
            replace.push((crl.clone(), dir.join("root-crl.pem")));
        }
        if let Some(f) = &d.mtls.deny_list {
            replace.push((f.clone(), dir.join("deny-list.toml")));
        }
        if let Some(f) = &d.mtls.registry {
            replace.push((f.clone(), dir.join("registry.toml")));
        }
        if let Some(f) = &d.upstream.ca_file {
            replace.push((f.clone(), dir.join("root.pem")));
        }
        if let Some(f) = &d.api_key_file {
            replace.push((f.clone(), dir.join("cname-api-key")));
        }
    }
    let mut out = text.to_owned();
    for (from, to) in replace {
        let quoted = format!("\"{from}\"");
        assert!(out.contains(&quoted), "{quoted} not found verbatim");
        out = out.replace(&quoted, &format!("\"{}\"", to.display()));
    }
    out
}

pub fn check_config(what: &str, text: &str, env: &[(&str, &str)]) {
    let dir = tempfile::tempdir().expect("tempdir");
    pki().write_to(dir.path()).expect("write PKI");
    std::fs::write(dir.path().join("cname-api-key"), "test-cname-api-key\n").expect("key");
    std::fs::write(
        dir.path().join("deny-list.toml"),
        "sha256 = []\n\n[[issuer_serial]]\nissuer = \"CN=Example Root CA\"\nserial = \"01:02\"\n",
    )
    .expect("deny list");
    std::fs::write(
        dir.path().join("registry.toml"),
        "[[client]]\nclient_id = \"k3Jd8s\"\nself_signed_pem = [\"self-signed-leaf.pem\"]\n",
    )
    .expect("registry");
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, with_pki_paths(text, dir.path())).expect("write config");
    let out = run(Command::new(BIN)
        .args(["check", "--config"])
        .arg(&path)
        .envs(env.iter().copied()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: mtls-gateway check failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(": OK"), "{what}: {stdout}");
    assert!(stdout.contains("mtls.auth.example.com"), "{what}: {stdout}");
}
