//! The binary as an operator runs it: `check` on good and broken configurations, and `demo`
//! driven the way its printed instructions say, with real curl.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_mtls-gateway");

fn write_pki(dir: &Path) {
    pki().write_to(dir).unwrap();
    std::fs::write(dir.join("api-key"), API_KEY).unwrap();
}

fn config(cert: &str, key: &str, extra_domain: &str) -> String {
    format!(
        r#"listen = ["127.0.0.1:0"]
[[domain]]
name = "auth.example.com"
cert = "{cert}"
key = "{key}"
api_key_file = "api-key"
{extra_domain}
[domain.upstream]
host = "idp.example.internal"
ca_file = "root.pem"
[domain.mtls]
client_ca = ["root.pem"]
"#
    )
}

fn check(dir: &Path, text: &str) -> (i32, String, String) {
    let path = dir.join("gw.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_accepts_a_good_configuration() {
    let dir = tempfile::tempdir().unwrap();
    write_pki(dir.path());
    let (code, out, err) = check(dir.path(), &config("server.pem", "server.key", ""));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("OK"), "{out}");
    assert!(out.contains("mtls.auth.example.com"), "{out}");
}

#[test]
fn check_rejects_a_wildcard_that_does_not_cover_the_alias() {
    let dir = tempfile::tempdir().unwrap();
    write_pki(dir.path());
    let (code, _, err) = check(
        dir.path(),
        &config("wildcard-server.pem", "wildcard-server.key", ""),
    );
    assert_eq!(code, 64, "{err}");
    assert!(err.contains("domain[0].cert"), "{err}");
    assert!(
        err.contains("does not cover `mtls.auth.example.com`"),
        "{err}"
    );
    // The plain domain is covered by the wildcard: only the alias is reported.
    assert!(!err.contains("does not cover `auth.example.com`"), "{err}");
}

#[test]
fn check_rejects_a_key_that_does_not_match() {
    let dir = tempfile::tempdir().unwrap();
    write_pki(dir.path());
    let (code, _, err) = check(dir.path(), &config("server.pem", "client.key", ""));
    assert_eq!(code, 64, "{err}");
    assert!(
        err.contains("domain[0].key") && err.contains("does not match"),
        "{err}"
    );
}

#[test]
fn check_rejects_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    write_pki(dir.path());
    let (code, _, err) = check(dir.path(), &config("missing-cert.pem", "server.key", ""));
    assert_eq!(code, 64, "{err}");
    assert!(
        err.contains("domain[0].cert") && err.contains("missing-cert.pem"),
        "{err}"
    );
}

#[test]
fn check_rejects_an_unknown_key() {
    let dir = tempfile::tempdir().unwrap();
    write_pki(dir.path());
    let (code, _, err) = check(
        dir.path(),
        &config("server.pem", "server.key", "upstream_timeout = \"5s\""),
    );
    assert_eq!(code, 64, "{err}");
    assert!(
        err.contains("gw.toml") && err.contains("upstream_timeout"),
        "{err}"
    );
}

#[test]
fn check_reports_every_problem_and_never_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    write_pki(dir.path());
    let secret = "s3cr3t-value\u{7f}with-a-control-char";
    std::fs::write(dir.path().join("api-key"), secret).unwrap();
    let text = config("missing.pem", "server.key", "tls_policy = \"fapi\"")
        .replace("client_ca = [\"root.pem\"]", "client_ca = [\"nope.pem\"]");
    let (code, _, err) = check(dir.path(), &text);
    assert_eq!(code, 64, "{err}");
    assert!(err.contains("domain[0].cert"), "{err}");
    assert!(err.contains("domain[0].mtls.client_ca[0]"), "{err}");
    assert!(err.contains("domain[0].api_key_file"), "{err}");
    assert!(!err.contains("s3cr3t"), "the secret leaked: {err}");
}

/// The `error:` lines of a `check` run, each checked for Rust type names and serde vocabulary.
fn error_lines(err: &str) -> Vec<&str> {
    const RUST: [&str; 12] = [
        "untagged", "variant", "struct", "enum", "usize", "u16", "u32", "u64", "String", "Option",
        "Duration", "serde",
    ];
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    for line in &lines {
        // The temporary directory's random name is not part of the message.
        let message = line.split_once("gw.toml: ").map_or(*line, |(_, m)| m);
        for word in message.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            let camel = word.chars().skip(1).any(char::is_uppercase)
                && word.chars().any(char::is_lowercase)
                && !word.contains('_');
            assert!(!RUST.contains(&word) && !camel, "`{word}` in: {line}");
        }
    }
    lines
}

fn line_of(text: &str, needle: &str) -> usize {
    text[..text.find(needle).unwrap()].matches('\n').count() + 1
}

const RATE_RULE: &str = r#"
[[domain.rate_limit]]
name = "token-by-ip"
routes = ["/oauth/token"]
key = "client_ipp"
rate = 10
per = "1s"
"#;

#[test]
fn check_names_the_key_and_line_of_a_value_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    write_pki(dir.path());
    let text = config("server.pem", "server.key", "").replace(
        "ca_file = \"root.pem\"",
        "ca_file = \"root.pem\"\nresponse_timeout = \"10 parsecs\"",
    );
    let (code, _, err) = check(dir.path(), &text);
    assert_eq!(code, 64, "{err}");
    let lines = error_lines(&err);
    assert_eq!(lines.len(), 1, "{err}");
    let line = line_of(&text, "response_timeout");
    assert!(
        lines[0].contains(&format!(
            "gw.toml: domain[0].upstream.response_timeout (line {line}): \"10 parsecs\" is not a duration"
        )),
        "{err}"
    );
    assert!(lines[0].contains("e.g. \"10s\""), "{err}");
}

#[test]
fn check_suggests_the_key_part_meant() {
    let dir = tempfile::tempdir().unwrap();
    write_pki(dir.path());
    let text = config("server.pem", "server.key", "") + RATE_RULE;
    let (code, _, err) = check(dir.path(), &text);
    assert_eq!(code, 64, "{err}");
    let lines = error_lines(&err);
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("domain[0].rate_limit[0].key")
            && lines[0].contains("unknown key part `client_ipp`")
            && lines[0].contains("did you mean `client_ip`?"),
        "{err}"
    );
}

#[test]
fn check_suggests_a_unit_for_a_bare_number() {
    let dir = tempfile::tempdir().unwrap();
    write_pki(dir.path());
    let text = config("server.pem", "server.key", "").replace(
        "[[domain]]",
        "[limits]\nhandshake_timeout = \"30\"\n[[domain]]",
    );
    let (code, _, err) = check(dir.path(), &text);
    assert_eq!(code, 64, "{err}");
    let lines = error_lines(&err);
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("limits.handshake_timeout")
            && lines[0].contains("expected a duration with a unit, e.g. \"30s\""),
        "{err}"
    );
}

#[test]
fn check_reports_read_and_validation_problems_together() {
    let dir = tempfile::tempdir().unwrap();
    write_pki(dir.path());
    let text = (config("server.pem", "server.key", "") + RATE_RULE)
        .replace(
            "[[domain]]",
            "[limits]\nhandshake_timeout = \"ten seconds\"\n[[domain]]",
        )
        .replace("api_key_file = \"api-key\"\n", "");
    let (code, _, err) = check(dir.path(), &text);
    assert_eq!(code, 64, "{err}");
    let lines = error_lines(&err);
    assert_eq!(lines.len(), 3, "{err}");
    assert!(
        lines[0].contains("limits.handshake_timeout (line 3)"),
        "{err}"
    );
    assert!(lines[1].contains("domain[0].rate_limit[0].key"), "{err}");
    assert!(
        lines[2].contains("domain[0].api_key_file")
            && lines[2].contains("set api_key_file or api_key_env"),
        "{err}"
    );
    assert!(err.contains("3 problem(s)"), "{err}");
}

#[test]
fn check_reports_a_syntax_error_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    write_pki(dir.path());
    let text = config("server.pem", "server.key", "")
        .replace("[domain.upstream]", "[domain.upstream\nport = 8443");
    let (code, _, err) = check(dir.path(), &text);
    assert_eq!(code, 64, "{err}");
    let lines = error_lines(&err);
    assert_eq!(lines.len(), 1, "{err}");
    let line = line_of(&text, "[domain.upstream");
    assert!(
        lines[0].contains(&format!("gw.toml: line {line}, column 17: invalid TOML")),
        "{err}"
    );
}

#[test]
fn run_exits_64_on_invalid_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.toml");
    std::fs::write(&path, "listen = 5\n").unwrap();
    let out = Command::new(BIN)
        .args(["run", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("gw.toml"));
}

/// Runs `mtls-gateway demo`, then every curl command it prints, exactly as printed.
#[test]
fn demo_prints_curl_commands_that_work() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0", "--dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut commands = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "demo never became ready");
        let line = lines.next().expect("demo exited early").unwrap();
        if line.starts_with("curl ") {
            commands.push(line);
        } else if line.starts_with("ready") {
            break;
        }
    }
    assert_eq!(commands.len(), 5, "{commands:?}");
    let run = |cmd: &str| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("{cmd} -w '\\n%{{http_code}}'"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
        (
            code.trim().to_owned(),
            body.to_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, body, err) = run(&commands[0]);
    assert_eq!(code, "200", "{body}{err}");
    assert!(
        body.contains("\"client-certificate-ca-verified\",\"SUCCESS\""),
        "{body}"
    );
    assert!(body.contains("\"cname-api-key\""), "{body}");
    let (code, body, err) = run(&commands[1]);
    assert_eq!(code, "200", "{body}{err}");
    assert!(body.contains("FAILED:self-signed certificate"), "{body}");
    let (code, body, err) = run(&commands[2]);
    assert_eq!(code, "401", "{body}{err}");
    assert!(body.contains("invalid_client"), "{body}");
    let (code, body, err) = run(&commands[3]);
    assert_eq!(code, "404", "{body}{err}");
    let (code, body, err) = run(&commands[4]);
    assert_eq!(code, "200", "{body}{err}");
    assert!(body.contains("/authorize?client_id=demo"), "{body}");

    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "demo did not stop on Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
}
