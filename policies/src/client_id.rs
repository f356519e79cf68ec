//! Which application a request is for: its OAuth `client_id`.
//!
//! CORS and cross-origin authentication are configured per application, and
//! rate limits may be too, so the edge needs the client id a request names.
//! It can be in a form body (`application/x-www-form-urlencoded`, the OAuth
//! token endpoint), a JSON body (the provider also accepts JSON, and
//! `/co/authenticate` only takes JSON), the query string, or the user name of
//! HTTP Basic authentication (`client_secret_basic`, RFC 6749 §2.3.1).
//!
//! The edge reads, never rewrites: the body is forwarded unchanged, so what
//! the edge decides on must be what the provider will read. Hence:
//!
//! * names are decoded before comparison (`client%5Fid` *is* `client_id`,
//!   as it is to the provider), and JSON escapes likewise;
//! * a `client_id` given twice is an error ([`ClientIdError::Duplicate`]),
//!   not "first wins": RFC 6749 §3.1/§3.2 say parameters "MUST NOT be
//!   included more than once", and if the edge took the first while the
//!   provider took the last, the edge would check one application's rules
//!   and the provider would act for another.
//!
//! The `Result` functions tell "no client id" apart from "a body the edge
//! cannot read"; callers that make security decisions should use them and
//! not fall back to a more permissive rule on an error. The `Option`
//! convenience functions collapse every error to `None`.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use percent_encoding::percent_decode;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use thiserror::Error;

/// The parameter name.
pub const CLIENT_ID: &str = "client_id";

/// Standard base64 that accepts the value with or without `=` padding:
/// some HTTP clients omit it and the provider still accepts them.
const BASIC_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a body's client id could not be determined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ClientIdError {
    /// Neither form nor JSON (or no `Content-Type`).
    #[error("the body is neither application/x-www-form-urlencoded nor application/json")]
    UnsupportedContentType,
    /// Not valid JSON, not a JSON object, or not UTF-8 after decoding.
    #[error("the body is malformed")]
    Malformed,
    /// `client_id` appears more than once.
    #[error("client_id is given more than once")]
    Duplicate,
    /// The JSON `client_id` is not a string.
    #[error("client_id is not a string")]
    NotAString,
    /// `client_id` is present but empty.
    #[error("client_id is empty")]
    Empty,
}

/// The body's kind, from the media type of `Content-Type` (parameters such
/// as `charset` ignored, case-insensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Form,
    Json,
}

fn body_kind(content_type: Option<&str>) -> Option<BodyKind> {
    let essence = content_type?.split(';').next()?.trim();
    if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Some(BodyKind::Form)
    } else if essence.eq_ignore_ascii_case("application/json") {
        Some(BodyKind::Json)
    } else {
        None
    }
}

/// The client id of a form or JSON body; `Ok(None)` when it has none.
pub fn parse_client_id_from_body(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Option<String>, ClientIdError> {
    match body_kind(content_type) {
        Some(BodyKind::Form) => client_id_from_form(body),
        Some(BodyKind::Json) => client_id_from_json(body),
        None => Err(ClientIdError::UnsupportedContentType),
    }
}

/// The client a request names, for decisions that depend on it (per-client origins, per-client
/// rate limits): HTTP Basic credentials (`client_secret_basic`), and the form or JSON body when
/// it was read. Every error is a refusal, never "no client": a duplicated `client_id`, a body the
/// edge cannot read, two `Content-Type` headers, or Basic credentials and a body naming two
/// different clients would otherwise let the edge check one client's rules while the provider
/// acts for another. A body of another media type names no client (the provider reads none from
/// it either).
pub fn request_client_id(
    headers: &http::HeaderMap,
    body: Option<&[u8]>,
) -> Result<Option<String>, crate::Refusal> {
    use crate::Refusal;
    let basic = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(client_id_from_basic_auth);
    let from_body = match body {
        None => None,
        Some(body) => {
            let content_type =
                crate::single_header(headers, &http::header::CONTENT_TYPE, "Content-Type")?;
            match parse_client_id_from_body(content_type, body) {
                Ok(id) => id,
                Err(ClientIdError::UnsupportedContentType) => None,
                Err(ClientIdError::Duplicate) => {
                    return Err(Refusal::BadRequest("client_id is given more than once."))
                }
                Err(_) => {
                    return Err(Refusal::BadRequest(
                        "The client_id in the request body is not valid.",
                    ))
                }
            }
        }
    };
    match (basic, from_body) {
        (Some(a), Some(b)) if a != b => Err(Refusal::BadRequest(
            "The credentials and the request body name different clients.",
        )),
        (Some(a), _) => Ok(Some(a)),
        (None, b) => Ok(b),
    }
}

/// The client id of a form or JSON body; `None` when there is none or the
/// body cannot be read (see [`parse_client_id_from_body`] to tell apart).
pub fn client_id_from_body(content_type: Option<&str>, body: &[u8]) -> Option<String> {
    parse_client_id_from_body(content_type, body).ok().flatten()
}

/// The client id of an `application/x-www-form-urlencoded` body or of a
/// query string (without the `?`), decoded as the WHATWG URL standard does:
/// `+` is a space, `%XX` a byte, the result UTF-8.
pub fn client_id_from_form(form: &[u8]) -> Result<Option<String>, ClientIdError> {
    let mut found = None;
    for pair in form.split(|&b| b == b'&') {
        if pair.is_empty() {
            continue;
        }
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, &[][..]),
        };
        // Invalid UTF-8 in a name is replaced, as the provider's decoder
        // would; such a name is never `client_id`.
        if form_decode_lossy(name) != CLIENT_ID {
            continue;
        }
        if found.is_some() {
            return Err(ClientIdError::Duplicate);
        }
        let value = form_decode(value).ok_or(ClientIdError::Malformed)?;
        if value.is_empty() {
            return Err(ClientIdError::Empty);
        }
        found = Some(value);
    }
    Ok(found)
}

/// The client id of a JSON body, which must be an object. Other members
/// are skipped without being built into values.
pub fn client_id_from_json(body: &[u8]) -> Result<Option<String>, ClientIdError> {
    let scan: JsonScan = serde_json::from_slice(body).map_err(|_| ClientIdError::Malformed)?;
    scan.0
}

/// The client id of an `Authorization: Basic` header (`client_secret_basic`).
///
/// RFC 6749 §2.3.1: the client id is form-urlencoded before being used as
/// the Basic user name, so it is decoded again here (`my%3Aapp` is
/// `my:app`, `+` is a space). `None` for any other scheme, bad base64, no
/// `:`, an empty id or invalid UTF-8.
pub fn client_id_from_basic_auth(header: &str) -> Option<String> {
    let header = header.trim();
    let split = header.find([' ', '\t'])?;
    let (scheme, credentials) = header.split_at(split);
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = BASIC_BASE64.decode(credentials.trim()).ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let id = form_decode(&decoded[..colon])?;
    (!id.is_empty()).then_some(id)
}

/// `+` to space, then percent-decoding; `None` if not UTF-8.
fn form_decode(bytes: &[u8]) -> Option<String> {
    let plus_decoded: Vec<u8> = bytes
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    String::from_utf8(percent_decode(&plus_decoded).collect()).ok()
}

fn form_decode_lossy(bytes: &[u8]) -> String {
    let plus_decoded: Vec<u8> = bytes
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    String::from_utf8_lossy(&percent_decode(&plus_decoded).collect::<Vec<u8>>()).into_owned()
}

/// What a JSON object says about `client_id`; a serde error means the body
/// is not a JSON object at all.
struct JsonScan(Result<Option<String>, ClientIdError>);

impl<'de> Deserialize<'de> for JsonScan {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ScanVisitor)
    }
}

struct ScanVisitor;

impl<'de> Visitor<'de> for ScanVisitor {
    type Value = JsonScan;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonScan, A::Error> {
        let mut seen = 0usize;
        let mut first: Result<Option<String>, ClientIdError> = Ok(None);
        while let Some(key) = map.next_key::<String>()? {
            if key != CLIENT_ID {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            // Keep reading after a duplicate so that a malformed tail still
            // makes the whole body malformed.
            let value = map.next_value::<JsonValueKind>()?;
            seen += 1;
            if seen == 1 {
                first = match value {
                    JsonValueKind::String(s) if s.is_empty() => Err(ClientIdError::Empty),
                    JsonValueKind::String(s) => Ok(Some(s)),
                    JsonValueKind::Other => Err(ClientIdError::NotAString),
                };
            }
        }
        Ok(JsonScan(if seen > 1 {
            Err(ClientIdError::Duplicate)
        } else {
            first
        }))
    }
}

/// A JSON value that is either a string (kept) or anything else (skipped).
enum JsonValueKind {
    String(String),
    Other,
}

impl<'de> Deserialize<'de> for JsonValueKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = JsonValueKind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<JsonValueKind, E> {
        Ok(JsonValueKind::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<JsonValueKind, E> {
        Ok(JsonValueKind::String(v))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<JsonValueKind, E> {
        Ok(JsonValueKind::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<JsonValueKind, E> {
        Ok(JsonValueKind::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<JsonValueKind, E> {
        Ok(JsonValueKind::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<JsonValueKind, E> {
        Ok(JsonValueKind::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<JsonValueKind, E> {
        Ok(JsonValueKind::Other)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<JsonValueKind, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(JsonValueKind::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonValueKind, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(JsonValueKind::Other)
    }
}
