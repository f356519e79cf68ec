//! The development PKI on disk.
//!
//! [`DevPki::write_to`] writes one flat directory, so that configs, `curl`
//! and `openssl` invocations in docs can name the files directly. File stems
//! are the [`DevPki`] field names with `-` for `_`:
//!
//! | file                            | content                                          |
//! |---------------------------------|--------------------------------------------------|
//! | `<name>.pem`                    | the certificate, PEM                             |
//! | `<name>.key`                    | its private key, PKCS#8 PEM, mode 0600 on unix   |
//! | `client-via-intermediate-chain.pem` | leaf then intermediate — what a client sends |
//! | `root-crl.pem`                  | the root's CRL, PEM (revokes `revoked.pem`)      |
//!
//! `<name>` is each of: `root`, `intermediate`, `server`, `server-rsa`,
//! `wildcard-server`, `upstream`, `client`, `client-via-intermediate`,
//! `self-signed-ca`, `self-signed-leaf`, `expired`, `not-yet-valid`,
//! `wrong-eku`, `revoked`, `same-name-other-ca`, `oversized`.
//!
//! A `<name>-chain.pem` is written only where the chain holds more than the
//! certificate itself (today: `client-via-intermediate`); everything else is
//! issued directly by the root, so its `.pem` already is its chain. The
//! trust anchor for both client and upstream verification is `root.pem`.
//! Existing files are overwritten.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use crate::pki::{DevPki, PkiError};

impl DevPki {
    /// Writes every entry into `dir` (created if missing) using the layout
    /// in the [module documentation](crate::pki_files).
    pub fn write_to(&self, dir: &Path) -> Result<(), PkiError> {
        fs::create_dir_all(dir).map_err(|source| PkiError::Io {
            path: dir.to_owned(),
            source,
        })?;
        for (name, issued) in self.entries() {
            write_public(&dir.join(format!("{name}.pem")), &issued.cert_pem)?;
            write_secret(&dir.join(format!("{name}.key")), &issued.key_pem)?;
            if issued.chain_pem != issued.cert_pem {
                write_public(&dir.join(format!("{name}-chain.pem")), &issued.chain_pem)?;
            }
        }
        write_public(&dir.join("root-crl.pem"), &self.root_crl_pem)
    }
}

fn write_public(path: &Path, contents: &str) -> Result<(), PkiError> {
    fs::write(path, contents).map_err(|source| PkiError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Private keys are created owner-only. The mode is also forced on a file
/// that already existed (where `mode()` has no effect) *before* the key is
/// written, so the key is never readable by others, not even briefly.
fn write_secret(path: &Path, contents: &str) -> Result<(), PkiError> {
    let io_err = |source| PkiError::Io {
        path: path.to_owned(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        options.mode(0o600);
        let file = options.open(path).map_err(io_err)?;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(io_err)?;
        write_all(file, contents).map_err(io_err)
    }
    #[cfg(not(unix))]
    {
        let file = options.open(path).map_err(io_err)?;
        write_all(file, contents).map_err(io_err)
    }
}

fn write_all(mut file: fs::File, contents: &str) -> std::io::Result<()> {
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::test_pki;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

    fn temp_dir(tag: &str) -> std::path::PathBuf {
        let mut random = [0u8; 8];
        aws_lc_rs::rand::fill(&mut random).unwrap();
        std::env::temp_dir().join(format!("mtls-certs-{tag}-{}", hex::encode(random)))
    }

    #[test]
    fn writes_every_file_and_they_parse_back() {
        let pki = test_pki();
        let dir = temp_dir("write");
        pki.write_to(&dir).unwrap();

        for (name, issued) in pki.entries() {
            let cert = CertificateDer::from_pem_file(dir.join(format!("{name}.pem"))).unwrap();
            assert_eq!(cert, issued.cert_der, "{name}");
            let key = PrivateKeyDer::from_pem_file(dir.join(format!("{name}.key"))).unwrap();
            assert_eq!(key.secret_der(), issued.key().secret_der(), "{name}");
        }
        let chain: Vec<_> =
            CertificateDer::pem_file_iter(dir.join("client-via-intermediate-chain.pem"))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        assert_eq!(chain, pki.client_via_intermediate.chain_der());
        assert!(!dir.join("client-chain.pem").exists());
        let crl = CertificateRevocationListDer::from_pem_file(dir.join("root-crl.pem")).unwrap();
        assert_eq!(crl.as_ref(), pki.root_crl_der.as_slice());

        let mut names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names.len(), 16 * 2 + 2, "{names:?}");
        assert!(names.contains(&"client-via-intermediate.pem".to_owned()));
        assert!(names.contains(&"server-rsa.key".to_owned()));

        // A second run overwrites in place.
        pki.write_to(&dir).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn key_files_are_owner_only_even_when_they_existed() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = temp_dir("mode");
        fs::create_dir_all(&dir).unwrap();
        let existing = dir.join("client.key");
        fs::write(&existing, "old").unwrap();
        fs::set_permissions(&existing, fs::Permissions::from_mode(0o644)).unwrap();

        test_pki().write_to(&dir).unwrap();
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            if path.extension().is_some_and(|e| e == "key") {
                assert_eq!(mode, 0o600, "{}", path.display());
            }
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unwritable_target_reports_the_path() {
        let dir = temp_dir("blocked");
        fs::write(&dir, "a file, not a directory").unwrap();
        let err = test_pki().write_to(&dir).unwrap_err();
        assert!(matches!(err, PkiError::Io { ref path, .. } if path == &dir));
        assert!(err.to_string().contains(&dir.display().to_string()));
        fs::remove_file(&dir).unwrap();
    }
}
