//! The `client-certificate` header value.
//!
//! The identity provider behind the gateway was built for an nginx-style
//! customer edge that forwards `$ssl_client_escaped_cert`. To be a drop-in
//! replacement the gateway has to produce the very same bytes, so this module
//! pins down both halves of that variable:
//!
//! 1. the PEM text exactly as OpenSSL's `PEM_write_bio_X509` writes it
//!    (`-----BEGIN CERTIFICATE-----\n`, base64 in 64-character lines each
//!    ending in `\n`, `-----END CERTIFICATE-----\n`), and
//! 2. percent-encoding of every byte outside the RFC 3986 *unreserved* set
//!    (`A-Z a-z 0-9 - . _ ~`) as `%XX` with uppercase hex — the same output
//!    as Python's `urllib.parse.quote(pem, safe='')`.
//!
//! The header has a size limit ([`CLIENT_CERT_HEADER_LIMIT`]); the gateway
//! checks it on every handshake, so [`escaped_pem_len`] computes the encoded
//! length arithmetically instead of building the string first.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Largest escaped PEM the gateway forwards in the `client-certificate`
/// header. Bigger certificates are refused rather than truncated, because a
/// truncated certificate would be a different (unparseable) credential.
pub const CLIENT_CERT_HEADER_LIMIT: usize = 4096;

const LABEL: &str = "CERTIFICATE";
const PEM_BEGIN: &str = "-----BEGIN CERTIFICATE-----\n";
const PEM_END: &str = "-----END CERTIFICATE-----\n";
/// OpenSSL wraps base64 at 64 characters per line.
const LINE_WIDTH: usize = 64;

/// Everything except the RFC 3986 unreserved characters is escaped.
const ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// PEM text of a DER certificate, byte-identical to what OpenSSL writes
/// (LF line endings, 64-character lines, trailing newline).
pub fn pem(der: &[u8]) -> String {
    pem_block(LABEL, der)
}

/// OpenSSL-style PEM with any label; keys and CRLs written by the dev PKI use
/// it too, so every file it writes has the same shape on every platform.
pub(crate) fn pem_block(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines = b64.len().div_ceil(LINE_WIDTH);
    let mut out = String::with_capacity(2 * label.len() + 40 + b64.len() + lines);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // Base64 output is pure ASCII, so slicing at any byte index is a char boundary.
    let mut rest = b64.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(LINE_WIDTH));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// [`pem`] percent-encoded the way nginx's `$ssl_client_escaped_cert` is.
pub fn escaped_pem(der: &[u8]) -> String {
    utf8_percent_encode(&pem(der), ESCAPE).to_string()
}

/// Length of [`escaped_pem`] without building it.
///
/// Only a handful of characters can occur in the PEM text and each has a
/// fixed encoded width: letters, digits and `-` stay one byte; space, `\n`,
/// `+`, `/` and `=` become three (`%20`, `%0A`, `%2B`, `%2F`, `%3D`). So the
/// length is the plain PEM length plus two for every escaped character, and
/// the only data-dependent part is how many base64 digits are `+` or `/`.
pub fn escaped_pem_len(der: &[u8]) -> usize {
    let b64_len = der.len().div_ceil(3) * 4;
    let lines = b64_len.div_ceil(LINE_WIDTH);
    let padding = (3 - der.len() % 3) % 3;
    // "BEGIN CERTIFICATE" and "END CERTIFICATE" each hold one space, and both
    // armour lines end in a newline: 2 escapes per armour line.
    let armour = PEM_BEGIN.len() + 2 * 2 + PEM_END.len() + 2 * 2;
    let escaped_in_body = lines + padding + plus_or_slash_digits(der);
    armour + b64_len + lines + 2 * escaped_in_body
}

/// Counts the base64 digits with value 62 (`+`) or 63 (`/`) in the standard
/// encoding of `der`, i.e. six-bit groups whose top five bits are all set.
fn plus_or_slash_digits(der: &[u8]) -> usize {
    let is_62_or_63 = |sextet: u32| usize::from(sextet >> 1 == 0b11111);
    der.chunks(3)
        .map(|chunk| {
            let a = u32::from(chunk[0]);
            let b = chunk.get(1).copied().map_or(0, u32::from);
            let c = chunk.get(2).copied().map_or(0, u32::from);
            let group = (a << 16) | (b << 8) | c;
            // A chunk of n bytes yields n + 1 real digits; the rest are '='.
            (0..=chunk.len())
                .map(|i| is_62_or_63((group >> (18 - 6 * i)) & 0x3f))
                .sum::<usize>()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    const FIXED_PEM: &str = include_str!("../tests/data/fixed-cert.pem");
    const FIXED_ESCAPED: &str = include_str!("../tests/data/fixed-cert.escaped");

    fn fixed_der() -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(FIXED_PEM.as_bytes()).unwrap()
    }

    #[test]
    fn pem_round_trips_the_openssl_written_file() {
        assert_eq!(pem(&fixed_der()), FIXED_PEM);
    }

    #[test]
    fn escaped_pem_matches_python_quote_vector() {
        // The vector file holds the escaped string and nothing else (no newline).
        assert_eq!(escaped_pem(&fixed_der()), FIXED_ESCAPED);
    }

    #[test]
    fn escaped_pem_uses_uppercase_hex_and_keeps_unreserved() {
        let s = escaped_pem(&fixed_der());
        assert!(s.starts_with("-----BEGIN%20CERTIFICATE-----%0A"));
        assert!(s.ends_with("%0A-----END%20CERTIFICATE-----%0A"));
        assert!(!s.contains(['+', '/', '=', ' ', '\n']));
        assert!(!s.contains("%0a") && !s.contains("%2f") && !s.contains("%2b"));
    }

    #[test]
    fn pem_lines_are_64_wide() {
        let p = pem(&[0xfb; 200]);
        let body: Vec<&str> = p.lines().skip(1).collect();
        let (last_armour, body) = body.split_last().unwrap();
        assert_eq!(*last_armour, "-----END CERTIFICATE-----");
        assert!(body[..body.len() - 1].iter().all(|l| l.len() == 64));
        assert!(body[body.len() - 1].len() <= 64);
    }

    #[test]
    fn escaped_len_matches_for_every_length_and_pattern() {
        // Every residue mod 3, line-boundary lengths, and bytes that produce
        // '+' and '/' digits in every position of a group.
        let patterns: [&[u8]; 5] = [
            &[0xff],
            &[0xfb, 0xef, 0xbe],
            &[0x00],
            &[0xf8, 0x3e, 0x0f],
            &[1, 2, 3, 4, 5],
        ];
        for pattern in patterns {
            for len in [0usize, 1, 2, 3, 4, 47, 48, 49, 95, 96, 97, 1000] {
                let der: Vec<u8> = pattern.iter().copied().cycle().take(len).collect();
                assert_eq!(
                    escaped_pem_len(&der),
                    escaped_pem(&der).len(),
                    "len {len} pattern {pattern:?}"
                );
            }
        }
    }

    #[test]
    fn escaped_len_matches_for_real_certificates() {
        let pki = crate::pki::test_pki();
        let mut ders = vec![fixed_der().to_vec()];
        ders.extend(
            pki.entries()
                .iter()
                .map(|(_, issued)| issued.cert_der.to_vec()),
        );
        for der in ders {
            assert_eq!(escaped_pem_len(&der), escaped_pem(&der).len());
        }
    }

    #[test]
    fn empty_input_is_armour_only() {
        assert_eq!(pem(&[]), format!("{PEM_BEGIN}{PEM_END}"));
        assert_eq!(escaped_pem_len(&[]), escaped_pem(&[]).len());
    }
}
