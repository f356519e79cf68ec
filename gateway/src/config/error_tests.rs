//! Problem reports of [`super::load_str`] on broken files: each names its key and line, says how
//! to fix the value where it can, never names a Rust type, and one mistake does not hide the
//! next.

use std::path::Path;

use super::{load_str, ConfigError, Position};

const FILE: &str = "/etc/gw.toml";

/// A configuration with one domain whose files do not exist (validation then reports
/// `domain[0].cert`), with TOML added at the given places.
fn config(tables: &str, domain: &str, upstream: &str, rest: &str) -> String {
    format!(
        r#"listen = ["127.0.0.1:0"]
{tables}
[[domain]]
name = "auth.example.com"
cert = "server.pem"
key = "server.key"
api_key_file = "api-key"
{domain}
[domain.upstream]
host = "idp.example.internal"
{upstream}
{rest}"#
    )
}

/// Every problem reported for `text`, each checked for Rust type names.
fn problems(text: &str) -> Vec<ConfigError> {
    let errors = match load_str(Path::new(FILE), text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.0,
    };
    for e in &errors {
        assert_plain(&e.to_string());
    }
    errors
}

/// The one problem reported at `key`.
fn at<'a>(errors: &'a [ConfigError], key: &str) -> &'a ConfigError {
    let found: Vec<&ConfigError> = errors.iter().filter(|e| e.key == key).collect();
    assert_eq!(found.len(), 1, "one problem at {key}: {errors:#?}");
    found[0]
}

fn line_of(text: &str, needle: &str) -> usize {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in the text"));
    text[..offset].matches('\n').count() + 1
}

/// No Rust type name, serde vocabulary or other implementation word reaches an operator.
fn assert_plain(text: &str) {
    const RUST: [&str; 17] = [
        "untagged", "variant", "struct", "enum", "usize", "isize", "u8", "u16", "u32", "u64",
        "i64", "f64", "String", "Vec", "Option", "Duration", "serde",
    ];
    for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
        let camel = word.chars().skip(1).any(char::is_uppercase)
            && word.chars().any(char::is_lowercase)
            && !word.contains('_');
        assert!(
            !RUST.contains(&word) && !camel,
            "`{word}` in a problem text: {text}"
        );
    }
}

#[test]
fn a_duration_that_is_not_one_names_its_key_and_line() {
    let text = config("", "", "response_timeout = \"10 parsecs\"", "");
    let errors = problems(&text);
    let e = at(&errors, "domain[0].upstream.response_timeout");
    assert!(
        e.problem.contains("\"10 parsecs\" is not a duration"),
        "{e}"
    );
    assert!(e.problem.contains("e.g. \"10s\""), "{e}");
    let line = line_of(&text, "response_timeout");
    assert_eq!(e.position.map(|p| p.line), Some(line));
    assert!(
        e.to_string().starts_with(&format!(
            "{FILE}: domain[0].upstream.response_timeout (line {line}): "
        )),
        "{e}"
    );
}

#[test]
fn a_bare_number_for_a_duration_gets_its_unit_suggested() {
    for value in ["\"30\"", "30"] {
        let text = config(
            &format!("[limits]\nhandshake_timeout = {value}"),
            "",
            "",
            "",
        );
        let errors = problems(&text);
        let e = at(&errors, "limits.handshake_timeout");
        assert!(
            e.problem
                .starts_with("expected a duration with a unit, e.g. \"30s\""),
            "{e}"
        );
    }
}

#[test]
fn a_misspelled_rate_limit_key_part_is_named_and_corrected() {
    let rule = "[[domain.rate_limit]]\nname = \"ip\"\nroutes = [\"/oauth/token\"]\nkey = \"client_ipp\"\nrate = 10\nper = \"1s\"";
    let text = config("", "", "", rule);
    let errors = problems(&text);
    let e = at(&errors, "domain[0].rate_limit[0].key");
    assert_eq!(
        e.problem,
        "unknown key part `client_ipp`; expected one of client_ip, cert_thumbprint, client_id, or a list of them; did you mean `client_ip`?"
    );
    assert_eq!(
        e.position.map(|p| p.line),
        Some(line_of(&text, "client_ipp"))
    );
    // The rule was taken out, not reported again as missing its key.
    assert!(
        !errors.iter().any(|e| e.problem.contains("required")),
        "{errors:#?}"
    );
}

#[test]
fn a_part_in_a_key_list_is_named_by_its_index() {
    let rule = "[[domain.rate_limit]]\nname = \"c\"\nroutes = [\"/oauth/token\"]\nkey = [\"cert_thumbprint\", \"client_di\"]\nrate = 10\nper = \"1s\"";
    let errors = problems(&config("", "", "", rule));
    let e = at(&errors, "domain[0].rate_limit[0].key[1]");
    assert!(e.problem.ends_with("did you mean `client_id`?"), "{e}");
}

#[test]
fn unknown_keys_are_named_with_the_nearest_known_one() {
    let errors = problems(&config("", "", "respnse_timeout = \"5s\"", ""));
    let e = at(&errors, "domain[0].upstream.respnse_timeout");
    assert_eq!(
        e.problem,
        "unknown key `respnse_timeout`; did you mean `response_timeout`?"
    );

    let errors = problems(&config("", "upstream_timeout = \"5s\"", "", ""));
    let e = at(&errors, "domain[0].upstream_timeout");
    assert!(
        e.problem.starts_with(
            "unknown key `upstream_timeout`; the keys allowed here are name, cert, key, "
        ),
        "{e}"
    );

    let text = config("bogus = 1", "", "", "");
    let errors = problems(&text);
    let e = at(&errors, "bogus");
    assert_eq!(e.position.map(|p| p.line), Some(line_of(&text, "bogus")));
}

#[test]
fn unknown_choices_list_the_accepted_values() {
    let errors = problems(&config("", "tls_policy = \"fap\"", "", ""));
    assert_eq!(
        at(&errors, "domain[0].tls_policy").problem,
        "unknown value `fap`; expected one of recommended, fapi; did you mean `fapi`?"
    );
    let errors = problems(&config("[rate_limit]\nbackend = 3", "", "", ""));
    assert_eq!(
        at(&errors, "rate_limit.backend").problem,
        "expected one of local, redis, found integer `3`"
    );
}

#[test]
fn client_ca_entries_are_checked_as_a_name_or_a_table() {
    let mtls = "[domain.mtls]\nclient_ca = [\"root.pem\", { file = \"other.pem\", revocation = \"leef\" }, 5]";
    let errors = problems(&config("", "", "", mtls));
    assert!(at(&errors, "domain[0].mtls.client_ca[1].revocation")
        .problem
        .ends_with("did you mean `leaf`?"));
    assert!(at(&errors, "domain[0].mtls.client_ca[2]")
        .problem
        .starts_with("expected a PEM file name, or a table like { file = \"ca.pem\""));
}

#[test]
fn wrong_types_are_described_in_toml_terms() {
    let errors = problems(&config(
        "",
        "",
        "port = 70000",
        "[domain.browser]\ncors_max_age = 1.5",
    ));
    assert_eq!(
        at(&errors, "domain[0].upstream.port").problem,
        "expected an integer from 0 to 65535, found integer `70000`"
    );
    assert!(at(&errors, "domain[0].browser.cors_max_age")
        .problem
        .starts_with("expected a duration with a unit, e.g. \"1500ms\""));
    let errors = problems("listen = 5\n[admin]\nenabled = \"no\"\n");
    assert_eq!(
        at(&errors, "listen").problem,
        "expected an array, found integer `5`"
    );
    assert_eq!(
        at(&errors, "admin.enabled").problem,
        "expected true or false, found string \"no\""
    );
}

#[test]
fn a_value_that_cannot_be_read_is_reported_once() {
    // Taken out, `api_key_file` would otherwise also be reported as not set.
    let text = config("", "", "", "").replace("api_key_file = \"api-key\"", "api_key_file = 5");
    let errors = problems(&text);
    let e = at(&errors, "domain[0].api_key_file");
    assert_eq!(e.problem, "expected a string, found integer `5`");
}

#[test]
fn a_missing_required_key_is_named_at_its_table() {
    let text = config("", "", "", "").replace("host = \"idp.example.internal\"", "");
    let errors = problems(&text);
    let e = at(&errors, "domain[0].upstream.host");
    assert_eq!(e.problem, "required, but not set");
    assert_eq!(
        e.position.map(|p| p.line),
        Some(line_of(&text, "[domain.upstream]"))
    );
}

#[test]
fn app_settings_name_their_own_keys() {
    let apps = "[[domain.app]]\nclient_id = \"a\"\ncross_origin_authentication = \"yes\"\n[[domain.app]]\nclient_id = \"b\"\nallowed_origin = [\"https://app.example.com\"]";
    let errors = problems(&config("", "", "", apps));
    assert_eq!(
        at(&errors, "domain[0].app[0].cross_origin_authentication").problem,
        "expected true or false, found string \"yes\""
    );
    assert_eq!(
        at(&errors, "domain[0].app[1].allowed_origin").problem,
        "unknown key `allowed_origin`; did you mean `allowed_origins`?"
    );
}

#[test]
fn a_single_bracket_domain_table_is_explained() {
    let text = config("", "", "", "").replace("[[domain]]", "[domain]");
    let errors = problems(&text);
    assert!(at(&errors, "domain").problem.contains("double brackets"));
}

#[test]
fn every_problem_is_reported_not_only_the_first() {
    let rule = "[[domain.rate_limit]]\nname = \"ip\"\nroutes = [\"/oauth/token\"]\nkey = \"client_ipp\"\nrate = 10\nper = \"1s\"";
    let text = config("[limits]\nhandshake_timeout = \"ten\"", "", "", rule)
        .replace("api_key_file = \"api-key\"\n", "");
    let errors = problems(&text);
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    // Read problems in file order, then what validation found in the rest (the certificate
    // files of this configuration do not exist).
    assert_eq!(
        keys,
        [
            "limits.handshake_timeout",
            "domain[0].rate_limit[0].key",
            "domain[0].cert",
            "domain[0].api_key_file",
        ],
        "{errors:#?}"
    );
    assert!(at(&errors, "domain[0].api_key_file")
        .problem
        .contains("set api_key_file or api_key_env"));
}

#[test]
fn validation_problems_carry_the_line_of_their_key() {
    let text = "listen = [\"127.0.0.1:0\", \"nowhere\"]\n";
    let errors = problems(text);
    assert_eq!(at(&errors, "listen[1]").position.map(|p| p.line), Some(1));
    assert_eq!(at(&errors, "domain").position, None);
}

#[test]
fn a_syntax_error_stops_with_its_line_and_column() {
    // The string is not closed: the parser notices at the end of its line.
    let text = "listen = [\"127.0.0.1:0\"]\n[limits]\nhandshake_timeout = \"10s\nbogus = 1\n";
    let errors = problems(text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let e = &errors[0];
    assert_eq!(e.key, "");
    assert_eq!(
        e.position,
        Some(Position {
            line: 3,
            column: 25
        })
    );
    assert!(
        e.to_string()
            .starts_with("/etc/gw.toml: line 3, column 25: invalid TOML: invalid basic string"),
        "{e}"
    );
}
