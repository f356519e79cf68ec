//! The `inspect` report checked against OpenSSL on the very same files.
//!
//! Every value an operator copies out of the report — fingerprint, names,
//! serial, dates, key, the header value — is compared with what
//! `openssl x509` prints for the file, so the report can be trusted next to
//! OpenSSL's own output. OpenSSL must be installed: these tests fail, rather
//! than skip, without it.

use std::collections::BTreeSet;
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use mtls_certs::{
    inspect, inspect_pem, DevPki, InspectError, Inspection, PkiSpec, ValidityStatus,
    CLIENT_CERT_HEADER_LIMIT,
};
use serde_json::{json, Value};
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// One PKI for the whole file: its RSA-4096 key is slow to generate.
fn pki() -> &'static DevPki {
    static PKI: OnceLock<DevPki> = OnceLock::new();
    PKI.get_or_init(|| DevPki::generate(&PkiSpec::default()).expect("generate the dev PKI"))
}

/// The dev PKI written out, as `openssl` needs files.
fn pki_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    pki().write_to(dir.path()).expect("write the dev PKI");
    dir
}

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// Runs `openssl` with `args`; a missing binary or a failure is a test
/// failure, never a skip.
fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("these tests compare with OpenSSL, but `openssl` could not be run: {e}")
        });
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("openssl prints UTF-8 here")
}

/// `openssl x509 -noout -in FILE <args>`, with `prefix` stripped from its
/// single line of output.
fn x509_line(file: &Path, args: &[&str], prefix: &str) -> String {
    let path = file.to_str().expect("UTF-8 path");
    let mut all = vec!["x509", "-noout", "-in", path];
    all.extend_from_slice(args);
    let out = openssl(&all);
    let line = out.trim_end_matches('\n');
    assert!(
        !line.contains('\n'),
        "one line expected from {args:?}: {out}"
    );
    line.strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{args:?} printed {line:?}, expected prefix {prefix:?}"))
        .to_owned()
}

/// `notAfter=Nov 16 19:45:39 2046 GMT` → unix seconds.
fn openssl_date(file: &Path, which: &str) -> i64 {
    let dates = openssl(&[
        "x509",
        "-noout",
        "-dates",
        "-in",
        file.to_str().expect("UTF-8"),
    ]);
    let prefix = format!("{which}=");
    let text = dates
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {which} in {dates}"));
    let format = format_description!(
        "[month repr:short] [day padding:space] [hour]:[minute]:[second] [year] GMT"
    );
    PrimitiveDateTime::parse(text, format)
        .unwrap_or_else(|e| panic!("cannot parse {text:?}: {e}"))
        .assume_utc()
        .unix_timestamp()
}

/// The value lines under one extension's heading in `openssl x509 -ext`.
fn openssl_ext(file: &Path, ext: &str, heading: &str) -> Option<String> {
    let out = openssl(&[
        "x509",
        "-noout",
        "-ext",
        ext,
        "-in",
        file.to_str().expect("UTF-8"),
    ]);
    let mut lines = out.lines().skip_while(|l| !l.starts_with(heading));
    lines.next()?;
    Some(
        lines
            .take_while(|l| l.starts_with(' '))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// The key description OpenSSL's `-text` output implies, in the report's words.
fn openssl_key_type(text: &str) -> String {
    let after = |marker: &str| -> String {
        let start = text
            .find(marker)
            .unwrap_or_else(|| panic!("no {marker:?} in openssl -text"))
            + marker.len();
        text[start..].lines().next().unwrap_or("").trim().to_owned()
    };
    let bits = || after("Public-Key: (").trim_end_matches(" bit)").to_owned();
    match after("Public Key Algorithm: ").as_str() {
        "rsaEncryption" => format!("RSA {}", bits()),
        "rsassaPss" => format!("RSA-PSS {}", bits()),
        "id-ecPublicKey" => format!("ECDSA {}", after("NIST CURVE: ")),
        "ED25519" => "Ed25519".into(),
        "ED448" => "Ed448".into(),
        other => panic!("no expectation for key algorithm {other}"),
    }
}

fn eku_short_name(long: &str) -> String {
    match long {
        "TLS Web Server Authentication" => "serverAuth",
        "TLS Web Client Authentication" => "clientAuth",
        "Code Signing" => "codeSigning",
        "E-mail Protection" => "emailProtection",
        "Time Stamping" => "timeStamping",
        "OCSP Signing" => "OCSPSigning",
        "Any Extended Key Usage" => "anyExtendedKeyUsage",
        other => other,
    }
    .to_owned()
}

/// `urllib.parse.quote(pem, safe='')`, written out independently of the
/// crate's encoder.
fn quote(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn one(file: &Path) -> Inspection {
    let bytes = fs::read(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
    let mut all = inspect_pem(&bytes, now()).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert_eq!(all.len(), 1, "{}", file.display());
    all.remove(0)
}

/// Everything `inspect` reports that OpenSSL also prints, compared.
fn assert_agrees_with_openssl(file: &Path) -> Inspection {
    let ins = one(file);
    let what = file.display();

    let fingerprint = x509_line(file, &["-fingerprint", "-sha256"], "sha256 Fingerprint=");
    assert_eq!(ins.sha256_colon, fingerprint, "{what}");
    let fingerprint_bytes = hex::decode(fingerprint.replace(':', "")).expect("hex fingerprint");
    assert_eq!(ins.sha256_hex, hex::encode(&fingerprint_bytes), "{what}");
    assert_eq!(
        ins.x5t_s256,
        URL_SAFE_NO_PAD.encode(&fingerprint_bytes),
        "{what}"
    );

    let subject = x509_line(file, &["-subject", "-nameopt", "RFC2253"], "subject=");
    assert_eq!(ins.subject_rfc4514, subject, "{what}");
    let issuer = x509_line(file, &["-issuer", "-nameopt", "RFC2253"], "issuer=");
    assert_eq!(ins.issuer_rfc4514, issuer, "{what}");

    let serial = x509_line(file, &["-serial"], "serial=");
    let norm = |s: &str| {
        let t = s.trim_start_matches('0').to_ascii_lowercase();
        if t.is_empty() {
            "0".to_owned()
        } else {
            t
        }
    };
    assert_eq!(norm(&ins.serial_hex), norm(&serial), "{what}");

    let not_before = openssl_date(file, "notBefore");
    let not_after = openssl_date(file, "notAfter");
    assert_eq!(ins.not_before_unix, not_before, "{what}");
    assert_eq!(ins.not_after_unix, not_after, "{what}");
    let rfc3339 = |t: i64| {
        OffsetDateTime::from_unix_timestamp(t)
            .expect("in range")
            .format(&time::format_description::well_known::Rfc3339)
            .expect("formats")
    };
    assert_eq!(ins.not_before_rfc3339, rfc3339(not_before), "{what}");
    assert_eq!(ins.not_after_rfc3339, rfc3339(not_after), "{what}");

    let text = openssl(&[
        "x509",
        "-noout",
        "-text",
        "-in",
        file.to_str().expect("UTF-8"),
    ]);
    assert_eq!(ins.key_type, openssl_key_type(&text), "{what}");
    let signature = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Signature Algorithm: "))
        .expect("signature algorithm")
        .trim();
    assert_eq!(ins.signature_algorithm, signature, "{what}");

    let ca = openssl_ext(file, "basicConstraints", "X509v3 Basic Constraints");
    assert_eq!(
        ins.is_ca,
        ca.is_some_and(|v| v.starts_with("CA:TRUE")),
        "{what}"
    );

    let ekus = openssl_ext(file, "extendedKeyUsage", "X509v3 Extended Key Usage")
        .map(|v| v.split(", ").map(eku_short_name).collect::<BTreeSet<_>>());
    let ours = ins.ekus.as_ref().map(|e| e.iter().cloned().collect());
    assert_eq!(ours, ekus, "{what}");

    let mut dns = Vec::new();
    let mut ips = Vec::new();
    let mut uris = Vec::new();
    let mut emails = Vec::new();
    if let Some(san) = openssl_ext(file, "subjectAltName", "X509v3 Subject Alternative Name") {
        for entry in san.split(", ") {
            if let Some(v) = entry.strip_prefix("DNS:") {
                dns.push(v.to_owned());
            } else if let Some(v) = entry.strip_prefix("IP Address:") {
                ips.push(v.parse::<IpAddr>().expect("IP").to_string());
            } else if let Some(v) = entry.strip_prefix("URI:") {
                uris.push(v.to_owned());
            } else if let Some(v) = entry.strip_prefix("email:") {
                emails.push(v.to_owned());
            }
        }
    }
    assert_eq!(
        (&ins.san_dns, &ins.san_ip, &ins.san_uri, &ins.san_email),
        (&dns, &ips, &uris, &emails),
        "{what}"
    );

    // The header value is the percent-encoded PEM, exactly as nginx sends
    // it; for OpenSSL-written files that is the file itself.
    let pem_text = openssl(&["x509", "-in", file.to_str().expect("UTF-8")]);
    assert_eq!(ins.pem, pem_text, "{what}");
    assert_eq!(ins.header_value, quote(pem_text.as_bytes()), "{what}");
    assert_eq!(ins.header_len, ins.header_value.len(), "{what}");
    assert_eq!(
        ins.header_fits,
        ins.header_len <= CLIENT_CERT_HEADER_LIMIT,
        "{what}"
    );
    ins
}

#[test]
fn dev_pki_certificates_agree_with_openssl() {
    let dir = pki_dir();
    for (name, issued) in pki().entries() {
        let ins = assert_agrees_with_openssl(&dir.path().join(format!("{name}.pem")));
        assert_eq!(ins.sha256_hex, issued.thumbprint().hex(), "{name}");
        assert_eq!(ins.pem, issued.cert_pem, "{name}");
    }
    let by_name = |name: &str| one(&dir.path().join(format!("{name}.pem")));
    let client = by_name("client");
    assert_eq!(client.key_type, "ECDSA P-256");
    assert_eq!(client.ekus, Some(vec!["clientAuth".to_owned()]));
    assert!(!client.self_signed && !client.is_ca);
    assert_eq!(by_name("server-rsa").key_type, "RSA 2048");
    assert_eq!(by_name("oversized").key_type, "RSA 4096");
    let ss = by_name("self-signed-leaf");
    assert!(ss.self_signed && !ss.is_ca);
    let ss = by_name("self-signed-ca");
    assert!(ss.self_signed && ss.is_ca);
    assert!(!by_name("same-name-other-ca").self_signed);
    let server = by_name("server");
    assert_eq!(
        server.san_dns,
        ["auth.example.com", "mtls.auth.example.com", "localhost"]
    );
    assert_eq!(server.san_ip, ["127.0.0.1"]);
}

#[test]
fn nginx_fixtures_agree_with_openssl_and_the_captured_headers() {
    let nginx = repo_file("gateway/tests/data/nginx");
    for name in [
        "client",
        "client-rsa",
        "self-signed",
        "client-via-intermediate",
        "same-name-other-ca",
    ] {
        let ins = assert_agrees_with_openssl(&nginx.join(format!("{name}.pem")));
        let captured = fs::read_to_string(nginx.join(format!("{name}.escaped"))).expect("vector");
        assert_eq!(
            ins.header_value, captured,
            "{name}: differs from what nginx sent"
        );
        assert_eq!(ins.header_len, captured.len(), "{name}");
    }
    let ins = one(&nginx.join("self-signed.pem"));
    assert!(ins.self_signed);
    assert_eq!(ins.registration_method(), "self_signed_tls_client_auth");
    let ins = one(&nginx.join("client-rsa.pem"));
    assert_eq!(ins.key_type, "RSA 2048");
    assert_eq!(ins.registration_method(), "tls_client_auth");
    // The nginx fixtures are valid from 2026-11-21T19:45:39Z to 2046.
    assert_eq!(ins.not_after_rfc3339, "2046-11-16T19:45:39Z");
    assert_eq!(ins.serial_hex, "0745facb08f13d77b5388f2b505d3d78");

    let data = repo_file("certs/tests/data");
    let ins = assert_agrees_with_openssl(&data.join("fixed-cert.pem"));
    let captured = fs::read_to_string(data.join("fixed-cert.escaped")).expect("vector");
    assert_eq!(ins.header_value, captured);
    assert_eq!(
        ins.san_dns,
        ["fixed-cert.example.com", "a.fixed-cert.example.com"]
    );
    assert_eq!(
        ins.subject_lines,
        "O=Example Tests\nCN=fixed-cert.example.com"
    );
    let ins = assert_agrees_with_openssl(&data.join("rsa-pss-self-signed.pem"));
    assert_eq!(ins.signature_algorithm, "rsassaPss");
    assert!(ins.self_signed);
}

#[test]
fn key_types_of_openssl_made_certificates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys: [(&str, &[&str], &str); 5] = [
        ("ed25519", &["-newkey", "ed25519"], "Ed25519"),
        (
            "p384",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
            "ECDSA P-384",
        ),
        (
            "p521",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521"],
            "ECDSA P-521",
        ),
        ("rsa3072", &["-newkey", "rsa:3072"], "RSA 3072"),
        (
            "rsapss",
            &["-newkey", "rsa-pss", "-pkeyopt", "rsa_keygen_bits:2048"],
            "RSA-PSS 2048",
        ),
    ];
    for (name, newkey, expected) in keys {
        let cert = dir.path().join(format!("{name}.pem"));
        let key = dir.path().join(format!("{name}.key"));
        let mut args = vec!["req", "-x509", "-nodes", "-days", "30", "-subj"];
        args.push("/O=Key Types/CN=key-type-test");
        args.extend_from_slice(newkey);
        args.extend_from_slice(&[
            "-addext",
            "subjectAltName=DNS:k.example,IP:::1,URI:https://k.example/c,email:ops@k.example",
            "-addext",
            "extendedKeyUsage=clientAuth,serverAuth,1.2.3.4",
            "-keyout",
            key.to_str().expect("UTF-8"),
            "-out",
            cert.to_str().expect("UTF-8"),
        ]);
        openssl(&args);
        let ins = assert_agrees_with_openssl(&cert);
        assert_eq!(ins.key_type, expected);
        assert_eq!(ins.san_ip, ["::1"]);
        assert_eq!(ins.san_uri, ["https://k.example/c"]);
        assert_eq!(ins.san_email, ["ops@k.example"]);
        assert_eq!(
            ins.ekus,
            Some(vec![
                "serverAuth".into(),
                "clientAuth".into(),
                "1.2.3.4".into()
            ])
        );
    }
}

/// The provider's guide generates its example certificate with this exact
/// command and shows the `subject_dn` for it; the report must reproduce it.
#[test]
fn the_documented_certificate_yields_the_documented_subject_dn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-keyout",
        key.to_str().expect("UTF-8"),
        "-out",
        cert.to_str().expect("UTF-8"),
        "-sha256",
        "-days",
        "365",
        "-nodes",
        "-subj",
        "/C=XX/ST=StateName/L=CityName/O=CompanyName/OU=CompanySectionName/CN=CommonNameOrHostname",
    ]);
    let ins = assert_agrees_with_openssl(&cert);
    assert_eq!(
        ins.subject_lines,
        "C=XX\nST=StateName\nL=CityName\nO=CompanyName\nOU=CompanySectionName\nCN=CommonNameOrHostname"
    );
    assert_eq!(
        ins.subject_rfc4514,
        "CN=CommonNameOrHostname,OU=CompanySectionName,O=CompanyName,L=CityName,ST=StateName,C=XX"
    );
    assert_eq!(ins.key_type, "RSA 2048");
    assert!(ins.self_signed);
    assert_eq!(
        ins.registration_json_ca_signed("$credential_name"),
        json!({
            "name": "$credential_name",
            "credential_type": "cert_subject_dn",
            "subject_dn": "C=XX\nST=StateName\nL=CityName\nO=CompanyName\nOU=CompanySectionName\nCN=CommonNameOrHostname"
        })
    );
    let pem = fs::read_to_string(&cert).expect("read cert");
    assert_eq!(
        ins.registration_json_self_signed("$credential_name"),
        json!({"name": "$credential_name", "credential_type": "x509_cert", "pem": pem})
    );
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn registration_bodies_have_exactly_the_documented_fields() {
    let self_signed = inspect(&pki().self_signed_leaf.cert_der, now()).expect("inspect");
    let body = self_signed.registration_json_self_signed("laptop 2026");
    assert_eq!(
        keys(&body),
        BTreeSet::from(["credential_type", "name", "pem"])
    );
    assert_eq!(body["credential_type"], "x509_cert");
    assert_eq!(body["name"], "laptop 2026");
    assert_eq!(body["pem"], pki().self_signed_leaf.cert_pem.as_str());
    // On the wire the PEM's line breaks are JSON `\n` escapes.
    let wire = serde_json::to_string(&body).expect("serialise");
    assert!(wire.contains("-----BEGIN CERTIFICATE-----\\n"), "{wire}");
    assert!(wire.contains("-----END CERTIFICATE-----\\n\""), "{wire}");

    let ca_signed = inspect(&pki().client.cert_der, now()).expect("inspect");
    let body = ca_signed.registration_json_ca_signed("client-1");
    assert_eq!(
        keys(&body),
        BTreeSet::from(["credential_type", "name", "subject_dn"])
    );
    assert_eq!(body["credential_type"], "cert_subject_dn");
    assert_eq!(body["subject_dn"], "CN=client-1");
    assert_eq!(ca_signed.registration_method(), "tls_client_auth");
    assert_eq!(
        self_signed.registration_method(),
        "self_signed_tls_client_auth"
    );
}

#[test]
fn render_text_shows_every_field() {
    let dir = pki_dir();
    for name in ["client", "server", "self-signed-leaf"] {
        let ins = one(&dir.path().join(format!("{name}.pem")));
        let text = ins.render_text();
        let label = |label: &str, value: &str| {
            assert!(
                text.lines()
                    .any(|l| l.starts_with(&format!("{label}:")) && l.ends_with(value)),
                "{name}: no {label:?} line ending in {value:?} in\n{text}"
            );
        };
        label("subject", &ins.subject_rfc4514);
        label("subject_dn", &ins.subject_lines);
        label("issuer", &ins.issuer_rfc4514);
        label("serial", &ins.serial_hex);
        label(
            "not before",
            &format!("{} (unix {})", ins.not_before_rfc3339, ins.not_before_unix),
        );
        label(
            "not after",
            &format!("{} (unix {})", ins.not_after_rfc3339, ins.not_after_unix),
        );
        label("validity", "days");
        assert!(text.contains("valid, expires in 36"), "{text}");
        label("key", &ins.key_type);
        label("signature", &ins.signature_algorithm);
        label("CA", "no");
        label("self-signed", if ins.self_signed { "yes" } else { "no" });
        label(
            "extended key usage",
            &ins.ekus.clone().unwrap_or_default().join(", "),
        );
        label("SHA-256", &ins.sha256_colon);
        label("SHA-256 hex", &ins.sha256_hex);
        label("x5t#S256", &ins.x5t_s256);
        label(
            "header size",
            &format!("{} of 4096 bytes (fits)", ins.header_len),
        );
        label("header value", &ins.header_value);
        let kind = if ins.self_signed {
            "self-signed"
        } else {
            "CA-signed"
        };
        label(
            "register with",
            &format!("{} ({kind})", ins.registration_method()),
        );
        label("credential name", &ins.suggested_name());
        for san in ins.san_dns.iter().chain(&ins.san_ip) {
            assert!(text.contains(san.as_str()), "{name}: {san} missing\n{text}");
        }
        // Both bodies, pretty-printed, under headings naming their method.
        let suggested = ins.suggested_name();
        for (method, body) in [
            (
                "self_signed_tls_client_auth",
                ins.registration_json_self_signed(&suggested),
            ),
            (
                "tls_client_auth",
                ins.registration_json_ca_signed(&suggested),
            ),
        ] {
            assert!(
                text.contains(&format!("\nCredential for {method} (")),
                "{text}"
            );
            assert!(
                text.contains(&format!("{body:#}")),
                "{name}: {method} body missing\n{text}"
            );
        }
        // Aligned: every value starts in the same column.
        let value_column = |l: &str| {
            let label_end = if l.starts_with(' ') {
                0
            } else {
                l.find(':').map_or(0, |i| i + 1)
            };
            l.len() - l[label_end..].trim_start().len()
        };
        let columns: BTreeSet<usize> = text
            .lines()
            .take_while(|l| !l.is_empty())
            .filter(|l| !l.starts_with("warning:"))
            .map(value_column)
            .collect();
        assert_eq!(columns.len(), 1, "{name}: ragged columns\n{text}");
    }
    let server = one(&dir.path().join("server.pem")).render_text();
    assert!(server.contains("SAN DNS:"), "{server}");
    assert!(
        server.contains("auth.example.com, mtls.auth.example.com, localhost"),
        "{server}"
    );
    assert!(
        server.contains("warning: extendedKeyUsage does not allow clientAuth"),
        "{server}"
    );
}

#[test]
fn expired_and_not_yet_valid_are_called_out() {
    let dir = pki_dir();
    let expired = one(&dir.path().join("expired.pem"));
    assert_eq!(expired.validity, ValidityStatus::Expired);
    let text = expired.render_text();
    assert!(text.contains("EXPIRED 1 day ago"), "{text}");
    assert!(
        text.contains("warning: the certificate has expired"),
        "{text}"
    );
    assert_eq!(expired.to_json()["validity"], "expired");

    let later = one(&dir.path().join("not-yet-valid.pem"));
    assert_eq!(later.validity, ValidityStatus::NotYetValid);
    let text = later.render_text();
    assert!(text.contains("not yet valid, starts in"), "{text}");
    assert_eq!(later.to_json()["validity"], "not_yet_valid");

    let fine = one(&dir.path().join("client.pem"));
    assert_eq!(fine.validity, ValidityStatus::Valid);
    assert!(fine.warnings().is_empty(), "{:?}", fine.warnings());
    assert!(!fine.render_text().contains("EXPIRED"));
}

#[test]
fn validity_bounds_are_inclusive() {
    let der = &pki().client.cert_der;
    let ins = inspect(der, now()).expect("inspect");
    let at = |t: i64| inspect(der, t).expect("inspect").validity;
    assert_eq!(at(ins.not_before_unix - 1), ValidityStatus::NotYetValid);
    assert_eq!(at(ins.not_before_unix), ValidityStatus::Valid);
    assert_eq!(at(ins.not_after_unix), ValidityStatus::Valid);
    assert_eq!(at(ins.not_after_unix + 1), ValidityStatus::Expired);
    let last_second = inspect(der, ins.not_after_unix).expect("inspect");
    assert_eq!(
        last_second.validity_text(),
        "valid, expires in less than a day"
    );
    let long_gone = inspect(der, ins.not_after_unix + 10 * 86_400 + 5).expect("inspect");
    assert_eq!(long_gone.validity_text(), "EXPIRED 10 days ago");
    assert_eq!(
        inspect(der, i64::MIN).expect("inspect").validity,
        ValidityStatus::NotYetValid
    );
    assert_eq!(
        inspect(der, i64::MAX).expect("inspect").validity,
        ValidityStatus::Expired
    );
}

#[test]
fn the_oversized_certificate_is_too_large() {
    let dir = pki_dir();
    let big = one(&dir.path().join("oversized.pem"));
    assert!(!big.header_fits);
    assert!(big.header_len > CLIENT_CERT_HEADER_LIMIT);
    assert_eq!(big.header_len, big.header_value.len());
    let text = big.render_text();
    assert!(
        text.contains(&format!(
            "{} of 4096 bytes (TOO LARGE: the gateway refuses it with 400)",
            big.header_len
        )),
        "{text}"
    );
    assert!(big
        .warnings()
        .iter()
        .any(|w| w.contains("over the 4096 byte limit")));
    assert_eq!(big.to_json()["header_fits"], false);
}

#[test]
fn inspect_pem_reads_chains_der_and_mixed_files() {
    let dir = pki_dir();
    let chain = fs::read(dir.path().join("client-via-intermediate-chain.pem")).expect("read");
    let both = inspect_pem(&chain, now()).expect("inspect chain");
    assert_eq!(both.len(), 2);
    assert_eq!(both[0].subject_rfc4514, "CN=client-via-intermediate");
    assert_eq!(both[1].subject_rfc4514, "CN=Example Intermediate CA");
    assert!(both[1].is_ca);

    let der = pki().client.cert_der.to_vec();
    let from_der = inspect_pem(&der, now()).expect("inspect DER");
    assert_eq!(from_der, vec![inspect(&der, now()).expect("inspect")]);

    // Key and certificate in one file, with CRLF line endings.
    let mixed = format!("{}{}", pki().client.key_pem, pki().client.cert_pem).replace('\n', "\r\n");
    let found = inspect_pem(mixed.as_bytes(), now()).expect("inspect mixed");
    assert_eq!(found, from_der);
}

#[test]
fn inspect_pem_rejects_what_is_not_a_certificate() {
    let t = now();
    assert_eq!(inspect_pem(b"", t), Err(InspectError::NoCertificate));
    assert_eq!(
        inspect_pem(b" \n\t\r\n", t),
        Err(InspectError::NoCertificate)
    );
    assert_eq!(
        inspect_pem(pki().client.key_pem.as_bytes(), t),
        Err(InspectError::NoCertificate)
    );
    assert!(matches!(
        inspect_pem(b"hello, world\n", t),
        Err(InspectError::Malformed(_))
    ));

    let der = &pki().client.cert_der;
    assert!(matches!(
        inspect_pem(&der[..der.len() - 1], t),
        Err(InspectError::Malformed(_))
    ));
    let mut trailing = der.to_vec();
    trailing.push(0);
    assert!(matches!(
        inspect(&trailing, t),
        Err(InspectError::Malformed(_))
    ));

    let broken = pki().client.cert_pem.replacen("MII", "M!I", 1);
    assert!(matches!(
        inspect_pem(broken.as_bytes(), t),
        Err(InspectError::Pem(_))
    ));
    let unterminated = pki()
        .client
        .cert_pem
        .replace("-----END CERTIFICATE-----\n", "");
    assert!(matches!(
        inspect_pem(unterminated.as_bytes(), t),
        Err(InspectError::Pem(_))
    ));

    // The second block decodes but is not a certificate.
    let bogus = format!(
        "{}-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        pki().client.cert_pem,
        base64::engine::general_purpose::STANDARD.encode(b"not DER")
    );
    let err = inspect_pem(bogus.as_bytes(), t).expect_err("second block is junk");
    assert!(
        matches!(err, InspectError::InBlock { index: 2, .. }),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("CERTIFICATE block 2"), "{err}");
}

#[test]
fn to_json_has_the_documented_field_names() {
    let ins = inspect(&pki().client.cert_der, now()).expect("inspect");
    let v = ins.to_json();
    let expected = BTreeSet::from([
        "subject_rfc4514",
        "subject_lines",
        "common_name",
        "issuer_rfc4514",
        "serial_hex",
        "not_before_unix",
        "not_before_rfc3339",
        "not_after_unix",
        "not_after_rfc3339",
        "checked_at_unix",
        "validity",
        "key_type",
        "signature_algorithm",
        "is_ca",
        "self_signed",
        "ekus",
        "san_dns",
        "san_ip",
        "san_uri",
        "san_email",
        "sha256_hex",
        "sha256_colon",
        "x5t_s256",
        "pem",
        "header_value",
        "header_len",
        "header_limit",
        "header_fits",
        "registration_method",
        "registration",
        "warnings",
    ]);
    assert_eq!(keys(&v), expected);
    assert_eq!(v["subject_rfc4514"], "CN=client-1");
    assert_eq!(v["common_name"], "client-1");
    assert_eq!(v["not_after_unix"], ins.not_after_unix);
    assert_eq!(v["ekus"], json!(["clientAuth"]));
    assert_eq!(v["header_limit"], 4096);
    assert_eq!(v["registration_method"], "tls_client_auth");
    assert_eq!(v["warnings"], json!([]));
    let name = ins.suggested_name();
    assert!(
        name.starts_with("client-1 ") && name.len() == "client-1 ".len() + 8,
        "{name}"
    );
    assert_eq!(
        v["registration"],
        json!({
            "self_signed_tls_client_auth": ins.registration_json_self_signed(&name),
            "tls_client_auth": ins.registration_json_ca_signed(&name),
        })
    );
    // A certificate with no extendedKeyUsage reports null, not [].
    let no_eku = inspect(&pki().root.cert_der, now()).expect("inspect");
    assert_eq!(no_eku.to_json()["ekus"], Value::Null);
    assert!(no_eku
        .render_text()
        .contains("none (no extendedKeyUsage extension: any purpose)"));
}

#[test]
fn hostile_names_cannot_reach_the_terminal_raw() {
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Evil, Inc.");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "fake\nCN=admin");
    params.subject_alt_names = vec![rcgen::SanType::DnsName(
        "a\u{1b}[2Jb.example"
            .try_into()
            .expect("IA5 allows control characters"),
    )];
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("sign");
    let ins = inspect(cert.der(), now()).expect("inspect");

    // The injected newline stays inside its RDN.
    assert_eq!(ins.subject_lines, "O=Evil\\, Inc.\nCN=fake\\0ACN=admin");
    assert_eq!(ins.san_dns, ["a\u{1b}[2Jb.example"]);
    let text = ins.render_text();
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{text:?}"
    );
    assert!(text.contains("a\\u{1b}[2Jb.example"), "{text}");
    // Only the CA-signed path depends on DN spelling, so only it warns.
    assert!(ins.self_signed);
    assert!(ins.warnings().is_empty(), "{:?}", ins.warnings());

    let ca_signed = {
        let root = pki().root.issuer().expect("root issuer");
        params.signed_by(&key, &root).expect("sign")
    };
    let ins = inspect(ca_signed.der(), now()).expect("inspect");
    assert!(
        ins.warnings()
            .iter()
            .any(|w| w.contains("RFC 4514 escapes")),
        "{:?}",
        ins.warnings()
    );

    // emailAddress has no RFC 4514 short name, so it is a dotted OID, which
    // the provider's documented form does not cover either.
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "client-with-email");
    params.distinguished_name.push(
        rcgen::DnType::CustomDnType(vec![1, 2, 840, 113549, 1, 9, 1]),
        rcgen::DnValue::Ia5String("ops@example.com".try_into().expect("IA5")),
    );
    let root = pki().root.issuer().expect("root issuer");
    let cert = params.signed_by(&key, &root).expect("sign");
    let ins = inspect(cert.der(), now()).expect("inspect");
    assert_eq!(
        ins.subject_lines,
        "CN=client-with-email\n1.2.840.113549.1.9.1=ops@example.com"
    );
    assert!(
        ins.warnings().iter().any(|w| w.contains("dotted OIDs")),
        "{:?}",
        ins.warnings()
    );
}
