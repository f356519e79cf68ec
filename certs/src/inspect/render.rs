//! The text report and the JSON forms of an [`Inspection`].
//!
//! Kept apart from the parsing so that each can be read on its own. The text
//! report goes to a terminal, and certificate contents are chosen by whoever
//! made the certificate, so control characters in it are printed escaped,
//! never raw (they could otherwise move the cursor or rewrite earlier lines).

use serde_json::{json, Value};

use super::{Inspection, ValidityStatus};
use crate::encode::CLIENT_CERT_HEADER_LIMIT;

/// The provider's client authentication method for self-signed certificates.
const SELF_SIGNED_METHOD: &str = "self_signed_tls_client_auth";
/// The provider's client authentication method for CA-signed certificates.
const CA_SIGNED_METHOD: &str = "tls_client_auth";
/// Where both credential bodies are sent.
const CREDENTIALS_ENDPOINT: &str = "POST /api/v2/clients/{client_id}/credentials";
const DAY: i64 = 86_400;

impl Inspection {
    /// The credential body that registers this certificate for
    /// `self_signed_tls_client_auth`, as the provider documents it:
    /// `{"credential_type": "x509_cert", "name": name, "pem": <PEM>}`. The
    /// PEM is the OpenSSL text (LF line endings, trailing newline); JSON
    /// encoding turns its newlines into `\n`.
    pub fn registration_json_self_signed(&self, name: &str) -> Value {
        json!({
            "credential_type": "x509_cert",
            "name": name,
            "pem": self.pem,
        })
    }

    /// The credential body that registers this certificate's subject for
    /// `tls_client_auth`, as the provider documents it:
    /// `{"credential_type": "cert_subject_dn", "name": name, "subject_dn":
    /// <newline-separated DN>}`. The provider also accepts `"pem"` in place
    /// of `"subject_dn"` (the two are mutually exclusive) and then takes the
    /// DN from the certificate itself, which its guide calls the most
    /// reliable way to match; the `subject_dn` form lets an operator
    /// register a client without holding its certificate.
    pub fn registration_json_ca_signed(&self, name: &str) -> Value {
        json!({
            "credential_type": "cert_subject_dn",
            "name": name,
            "subject_dn": self.subject_lines,
        })
    }

    /// Which client authentication method this certificate is for:
    /// `self_signed_tls_client_auth` or `tls_client_auth`.
    pub fn registration_method(&self) -> &'static str {
        if self.self_signed {
            SELF_SIGNED_METHOD
        } else {
            CA_SIGNED_METHOD
        }
    }

    /// A credential name for the printed bodies: the subject's common name
    /// plus the start of the thumbprint, so that the old and new certificate
    /// of a rotation (same CN) are told apart in the provider's dashboard.
    pub fn suggested_name(&self) -> String {
        let short = |n: usize| self.sha256_hex.get(..n).unwrap_or(&self.sha256_hex);
        match self.common_name.as_deref().map(str::trim) {
            Some(cn) if !cn.is_empty() => format!("{cn} {}", short(8)),
            _ => format!("sha256 {}", short(16)),
        }
    }

    /// Problems an operator should fix before relying on this certificate.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self.validity {
            ValidityStatus::Valid => {}
            ValidityStatus::Expired => {
                out.push("the certificate has expired: the gateway refuses it".to_owned());
            }
            ValidityStatus::NotYetValid => out.push(format!(
                "the certificate is not valid before {}: the gateway refuses it until then",
                self.not_before_rfc3339
            )),
        }
        if let Some(ekus) = &self.ekus {
            if !ekus
                .iter()
                .any(|e| e == "clientAuth" || e == "anyExtendedKeyUsage")
            {
                out.push(
                    "extendedKeyUsage does not allow clientAuth: the gateway refuses it as a \
                     client certificate"
                        .to_owned(),
                );
            }
        }
        if !self.header_fits {
            out.push(format!(
                "the client-certificate header would be {} bytes, over the {} byte limit: \
                 the gateway refuses requests made with it (400)",
                self.header_len, CLIENT_CERT_HEADER_LIMIT
            ));
        }
        if !self.self_signed {
            if self.subject_lines.is_empty() {
                out.push(
                    "the subject is empty, so no subject_dn can match it: register the PEM \
                     (\"pem\" in place of \"subject_dn\")"
                        .to_owned(),
                );
            } else if subject_spelling_is_uncertain(&self.subject_lines) {
                out.push(
                    "the subject holds RFC 4514 escapes or attribute types written as dotted \
                     OIDs (such as emailAddress), and the provider does not document how \
                     subject_dn spells those: prefer registering the PEM (\"pem\" in place of \
                     \"subject_dn\")"
                        .to_owned(),
                );
            }
        }
        out
    }

    /// `valid, expires in N days`, `EXPIRED N days ago` or
    /// `not yet valid, starts in N days`, as of `checked_at_unix`.
    pub fn validity_text(&self) -> String {
        let now = self.checked_at_unix;
        match self.validity {
            ValidityStatus::Valid => format!(
                "valid, expires in {}",
                span(self.not_after_unix.saturating_sub(now))
            ),
            ValidityStatus::Expired => format!(
                "EXPIRED {} ago",
                span(now.saturating_sub(self.not_after_unix))
            ),
            ValidityStatus::NotYetValid => format!(
                "not yet valid, starts in {}",
                span(self.not_before_unix.saturating_sub(now))
            ),
        }
    }

    /// `1234 of 4096 bytes (fits)` or `… (TOO LARGE: …)`.
    pub fn header_text(&self) -> String {
        let verdict = if self.header_fits {
            "fits"
        } else {
            "TOO LARGE: the gateway refuses it with 400"
        };
        format!(
            "{} of {} bytes ({verdict})",
            self.header_len, CLIENT_CERT_HEADER_LIMIT
        )
    }

    /// The machine-readable form; field names are listed in the
    /// [module documentation](mod@crate::inspect#json-form) and stay stable.
    pub fn to_json(&self) -> Value {
        let name = self.suggested_name();
        json!({
            "subject_rfc4514": self.subject_rfc4514,
            "subject_lines": self.subject_lines,
            "common_name": self.common_name,
            "issuer_rfc4514": self.issuer_rfc4514,
            "serial_hex": self.serial_hex,
            "not_before_unix": self.not_before_unix,
            "not_before_rfc3339": self.not_before_rfc3339,
            "not_after_unix": self.not_after_unix,
            "not_after_rfc3339": self.not_after_rfc3339,
            "checked_at_unix": self.checked_at_unix,
            "validity": self.validity.as_str(),
            "key_type": self.key_type,
            "signature_algorithm": self.signature_algorithm,
            "is_ca": self.is_ca,
            "self_signed": self.self_signed,
            "ekus": self.ekus,
            "san_dns": self.san_dns,
            "san_ip": self.san_ip,
            "san_uri": self.san_uri,
            "san_email": self.san_email,
            "sha256_hex": self.sha256_hex,
            "sha256_colon": self.sha256_colon,
            "x5t_s256": self.x5t_s256,
            "pem": self.pem,
            "header_value": self.header_value,
            "header_len": self.header_len,
            "header_limit": CLIENT_CERT_HEADER_LIMIT,
            "header_fits": self.header_fits,
            "registration_method": self.registration_method(),
            "registration": {
                SELF_SIGNED_METHOD: self.registration_json_self_signed(&name),
                CA_SIGNED_METHOD: self.registration_json_ca_signed(&name),
            },
            "warnings": self.warnings(),
        })
    }

    /// The human report: aligned `label: value` lines, any warnings, then
    /// both credential bodies pretty-printed (named with
    /// [`Inspection::suggested_name`]) under headings saying where they go.
    pub fn render_text(&self) -> String {
        let mut out = aligned(&self.report_rows());
        for warning in self.warnings() {
            out.push_str(&format!("warning: {}\n", shown(&warning)));
        }
        out.push_str(&self.credential_sections());
        out
    }

    /// `("self-signed", "CA-signed")` or the reverse: this certificate's kind,
    /// then the other one, as the report words them.
    fn kinds(&self) -> (&'static str, &'static str) {
        if self.self_signed {
            ("self-signed", "CA-signed")
        } else {
            ("CA-signed", "self-signed")
        }
    }

    /// The report's `label: value` rows, in the order they are printed.
    fn report_rows(&self) -> [(&'static str, String); 23] {
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
        let list = |items: &[String]| {
            if items.is_empty() {
                "-".to_owned()
            } else {
                items.join(", ")
            }
        };
        let ekus = match &self.ekus {
            None => "none (no extendedKeyUsage extension: any purpose)".to_owned(),
            Some(ekus) if ekus.is_empty() => "(empty extension)".to_owned(),
            Some(ekus) => ekus.join(", "),
        };
        let (kind, _) = self.kinds();
        [
            ("subject", or_empty(&self.subject_rfc4514)),
            ("subject_dn", or_empty(&self.subject_lines)),
            ("issuer", or_empty(&self.issuer_rfc4514)),
            ("serial", self.serial_hex.clone()),
            (
                "not before",
                format!(
                    "{} (unix {})",
                    self.not_before_rfc3339, self.not_before_unix
                ),
            ),
            (
                "not after",
                format!("{} (unix {})", self.not_after_rfc3339, self.not_after_unix),
            ),
            ("validity", self.validity_text()),
            ("key", self.key_type.clone()),
            ("signature", self.signature_algorithm.clone()),
            ("CA", yes_no(self.is_ca)),
            ("self-signed", yes_no(self.self_signed)),
            ("extended key usage", ekus),
            ("SAN DNS", list(&self.san_dns)),
            ("SAN IP", list(&self.san_ip)),
            ("SAN URI", list(&self.san_uri)),
            ("SAN email", list(&self.san_email)),
            ("SHA-256", self.sha256_colon.clone()),
            ("SHA-256 hex", self.sha256_hex.clone()),
            ("x5t#S256", self.x5t_s256.clone()),
            ("header size", self.header_text()),
            ("header value", self.header_value.clone()),
            (
                "register with",
                format!("{} ({kind})", self.registration_method()),
            ),
            ("credential name", self.suggested_name()),
        ]
    }

    /// Both credential bodies, each under a heading naming its method, whether
    /// it applies to this certificate, and the endpoint it is sent to.
    fn credential_sections(&self) -> String {
        let (kind, other) = self.kinds();
        let name = self.suggested_name();
        let applies = |method: &str| {
            if method == self.registration_method() {
                format!("applies: the certificate is {kind}")
            } else {
                format!("only for a {other} certificate")
            }
        };
        let mut out = format!(
            "\nCredential for {SELF_SIGNED_METHOD} ({}), {CREDENTIALS_ENDPOINT}:\n{}\n",
            applies(SELF_SIGNED_METHOD),
            terminal_json(&self.registration_json_self_signed(&name)),
        );
        out.push_str(&format!(
            "\nCredential for {CA_SIGNED_METHOD} ({}), {CREDENTIALS_ENDPOINT}:\n{}\n\
             (\"pem\" may replace \"subject_dn\": the provider then reads the DN from the \
             certificate itself, which it calls the most reliable way to match)\n",
            applies(CA_SIGNED_METHOD),
            terminal_json(&self.registration_json_ca_signed(&name)),
        ));
        out
    }
}

/// `label: value` lines with the values lined up one column after the
/// longest label.
fn aligned(rows: &[(&str, String)]) -> String {
    let width = rows
        .iter()
        .map(|(label, _)| label.len() + 1)
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (label, value) in rows {
        // Only subject_dn has several lines; they line up under the first.
        for (i, line) in value.split('\n').enumerate() {
            let label = if i == 0 {
                format!("{label}:")
            } else {
                String::new()
            };
            out.push_str(&format!("{label:<width$} {}\n", shown(line)));
        }
    }
    out
}

/// Whether the newline-separated subject uses anything beyond the plain
/// `TYPE=value` lines the provider's guide shows: a backslash escape, a
/// `#`-hex value, or a type without a short name (dotted OID). A `+` inside
/// a value is always escaped, so splitting on it only over-approximates.
fn subject_spelling_is_uncertain(lines: &str) -> bool {
    lines.contains('\\')
        || lines.contains("=#")
        || lines
            .split(['\n', '+'])
            .any(|attr| attr.starts_with(|c: char| c.is_ascii_digit()))
}

/// Whole days, rounded down; under a day is said so rather than "0 days".
fn span(secs: i64) -> String {
    match secs / DAY {
        0 => "less than a day".to_owned(),
        1 => "1 day".to_owned(),
        n => format!("{n} days"),
    }
}

fn or_empty(s: &str) -> String {
    if s.is_empty() {
        "(empty)".to_owned()
    } else {
        s.to_owned()
    }
}

/// A text value with control characters as `\u{..}` escapes.
fn shown(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Pretty JSON that is safe to print. serde_json escapes only C0 controls
/// inside strings; DEL and the C1 controls (U+0080–U+009F, which include a
/// one-byte CSI) pass through raw. They can only occur inside strings, where
/// a `\uXXXX` escape is valid JSON with the same meaning.
fn terminal_json(value: &Value) -> String {
    format!("{value:#}")
        .chars()
        .map(|c| {
            if c.is_control() && c != '\n' {
                format!("\\u{:04x}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_round_down_to_days() {
        assert_eq!(span(0), "less than a day");
        assert_eq!(span(DAY - 1), "less than a day");
        assert_eq!(span(DAY), "1 day");
        assert_eq!(span(2 * DAY + 5), "2 days");
    }

    #[test]
    fn control_characters_are_escaped_for_the_terminal() {
        assert_eq!(shown("a\u{1b}[31mb\u{9b}"), "a\\u{1b}[31mb\\u{9b}");
        let v = json!({"k": "x\u{9b}y\u{1b}"});
        let text = terminal_json(&v);
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'));
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
    }
}
