//! Finding the client id in form and JSON bodies, query strings and Basic
//! authentication.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use mtls_policies::{
    client_id_from_basic_auth, client_id_from_body, client_id_from_form, client_id_from_json,
    parse_client_id_from_body, ClientIdError,
};

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
const JSON: Option<&str> = Some("application/json");

/// A body and the client id expected from it.
type Case = (&'static [u8], Result<Option<&'static str>, ClientIdError>);

#[test]
fn form_bodies() {
    let cases: &[Case] = &[
        (b"grant_type=password&client_id=abc&x=1", Ok(Some("abc"))),
        (b"client_id=abc", Ok(Some("abc"))),
        (b"&&client_id=abc&", Ok(Some("abc"))),
        (b"client_id=a%20b%2Bc", Ok(Some("a b+c"))),
        (b"client_id=a+b", Ok(Some("a b"))),
        (b"client%5Fid=abc", Ok(Some("abc"))),
        (b"client%5fid=abc", Ok(Some("abc"))),
        (b"client_id=%C3%A9t%C3%A9", Ok(Some("\u{e9}t\u{e9}"))),
        (b"client_id=abc=def", Ok(Some("abc=def"))),
        (b"client_id=100%", Ok(Some("100%"))),
        (b"Client_ID=abc", Ok(None)),
        (b"client_id_x=abc&xclient_id=abc", Ok(None)),
        (b"grant_type=client_credentials", Ok(None)),
        (b"", Ok(None)),
        (
            b"client_id=abc&client_id=abc",
            Err(ClientIdError::Duplicate),
        ),
        (
            b"client_id=abc&client%5Fid=def",
            Err(ClientIdError::Duplicate),
        ),
        (b"client_id=&client_id=abc", Err(ClientIdError::Empty)),
        (b"client_id=", Err(ClientIdError::Empty)),
        (b"client_id", Err(ClientIdError::Empty)),
        (b"client_id=%FF", Err(ClientIdError::Malformed)),
        (b"client_id=\xff", Err(ClientIdError::Malformed)),
        (b"%FF=x&client_id=abc", Ok(Some("abc"))),
    ];
    for (body, expected) in cases {
        let expected = expected.map(|id| id.map(str::to_owned));
        assert_eq!(
            parse_client_id_from_body(FORM, body),
            expected,
            "{:?}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(client_id_from_form(body), expected);
        assert_eq!(client_id_from_body(FORM, body), expected.ok().flatten());
    }
}

#[test]
fn json_bodies() {
    let cases: &[Case] = &[
        (br#"{"client_id":"abc","username":"u"}"#, Ok(Some("abc"))),
        (br#" { "client_id" : "abc" } "#, Ok(Some("abc"))),
        (br#"{"client\u005fid":"abc"}"#, Ok(Some("abc"))),
        (br#"{"client_id":"a\"b\u00e9"}"#, Ok(Some("a\"b\u{e9}"))),
        (
            br#"{"x":[1,{"client_id":"no"}],"client_id":"abc"}"#,
            Ok(Some("abc")),
        ),
        (br#"{"nested":{"client_id":"abc"}}"#, Ok(None)),
        (br#"{}"#, Ok(None)),
        (
            br#"{"client_id":"abc","client_id":"def"}"#,
            Err(ClientIdError::Duplicate),
        ),
        (
            br#"{"client_id":1,"client_id":"def"}"#,
            Err(ClientIdError::Duplicate),
        ),
        (br#"{"client_id":""}"#, Err(ClientIdError::Empty)),
        (br#"{"client_id":42}"#, Err(ClientIdError::NotAString)),
        (br#"{"client_id":null}"#, Err(ClientIdError::NotAString)),
        (br#"{"client_id":true}"#, Err(ClientIdError::NotAString)),
        (br#"{"client_id":["abc"]}"#, Err(ClientIdError::NotAString)),
        (br#"{"client_id":{"a":1}}"#, Err(ClientIdError::NotAString)),
        (br#"[{"client_id":"abc"}]"#, Err(ClientIdError::Malformed)),
        (br#""abc""#, Err(ClientIdError::Malformed)),
        (br#"{"client_id":"abc"} x"#, Err(ClientIdError::Malformed)),
        (
            br#"{"client_id":"abc","client_id":"def""#,
            Err(ClientIdError::Malformed),
        ),
        (br#"{"client_id":"\ud800"}"#, Err(ClientIdError::Malformed)),
        (b"", Err(ClientIdError::Malformed)),
        (b"client_id=abc", Err(ClientIdError::Malformed)),
    ];
    for (body, expected) in cases {
        let expected = expected.map(|id| id.map(str::to_owned));
        assert_eq!(
            parse_client_id_from_body(JSON, body),
            expected,
            "{:?}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(client_id_from_json(body), expected);
        assert_eq!(client_id_from_body(JSON, body), expected.ok().flatten());
    }
}

#[test]
fn deeply_nested_json_is_skipped_without_recursion() {
    // Other members are skipped iteratively, so depth costs no stack.
    let depth = 100_000;
    let deep = format!(
        "{{\"a\":{}{},\"client_id\":\"abc\"}}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    assert_eq!(client_id_from_json(deep.as_bytes()), Ok(Some("abc".into())));
    let deep_id = format!(
        "{{\"client_id\":{}{}}}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    assert_eq!(
        client_id_from_json(deep_id.as_bytes()),
        Err(ClientIdError::NotAString)
    );
    let unbalanced = format!("{{\"a\":{}}}", "[".repeat(depth));
    assert_eq!(
        client_id_from_json(unbalanced.as_bytes()),
        Err(ClientIdError::Malformed)
    );
}

#[test]
fn content_types() {
    for content_type in [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=UTF-8",
        "Application/X-WWW-Form-Urlencoded",
        " application/x-www-form-urlencoded ;charset=utf-8",
    ] {
        assert_eq!(
            client_id_from_body(Some(content_type), b"client_id=abc").as_deref(),
            Some("abc"),
            "{content_type}"
        );
    }
    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
    ] {
        assert_eq!(
            client_id_from_body(Some(content_type), br#"{"client_id":"abc"}"#).as_deref(),
            Some("abc"),
            "{content_type}"
        );
    }
    for content_type in [
        None,
        Some(""),
        Some("text/plain"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonx"),
        Some("application/x-www-form-urlencoded-x"),
    ] {
        assert_eq!(
            parse_client_id_from_body(content_type, b"client_id=abc"),
            Err(ClientIdError::UnsupportedContentType),
            "{content_type:?}"
        );
        assert_eq!(client_id_from_body(content_type, b"client_id=abc"), None);
    }
}

#[test]
fn query_strings_use_the_form_rules() {
    assert_eq!(
        client_id_from_form(b"response_type=code&client_id=abc&redirect_uri=x"),
        Ok(Some("abc".into()))
    );
}

fn basic(credentials: &[u8]) -> String {
    format!("Basic {}", STANDARD.encode(credentials))
}

#[test]
fn basic_authentication() {
    let cases: Vec<(String, Option<&str>)> = vec![
        (basic(b"abc:secret"), Some("abc")),
        (basic(b"abc:"), Some("abc")),
        (basic(b"abc:se:cret"), Some("abc")),
        (basic(b"my%3Aapp:secret"), Some("my:app")),
        (basic(b"a+b:secret"), Some("a b")),
        (basic(b"%C3%A9:secret"), Some("\u{e9}")),
        (format!("basic {}", STANDARD.encode(b"abc:s")), Some("abc")),
        (
            format!("BASIC   {}  ", STANDARD.encode(b"abc:s")),
            Some("abc"),
        ),
        (
            format!("Basic {}", STANDARD_NO_PAD.encode(b"abcd:s")),
            Some("abcd"),
        ),
        (basic(b":secret"), None),
        (basic(b"abcsecret"), None),
        (basic(b"%FF:secret"), None),
        (basic(b"\xff:secret"), None),
        ("Basic !!!".into(), None),
        ("Basic".into(), None),
        ("Basic ".into(), None),
        ("Bearer abc".into(), None),
        (format!("Digest {}", STANDARD.encode(b"abc:s")), None),
        (format!("Basic{}", STANDARD.encode(b"abc:s")), None),
        (String::new(), None),
    ];
    for (header, expected) in cases {
        assert_eq!(
            client_id_from_basic_auth(&header).as_deref(),
            expected,
            "{header:?}"
        );
    }
}

/// The decision-facing reading: every parser error is a refusal, never "no client" (a duplicated
/// `client_id` once fell back to the union of every client's origins and skipped per-client rate
/// limits).
#[test]
fn request_client_id_never_turns_an_error_into_no_client() {
    use http::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
    use http::HeaderMap;
    use mtls_policies::{request_client_id, Refusal};
    let headers = |ctype: &str, auth: Option<&str>| {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_str(ctype).unwrap());
        if let Some(a) = auth {
            h.insert(AUTHORIZATION, HeaderValue::from_str(a).unwrap());
        }
        h
    };
    let form = headers("application/x-www-form-urlencoded", None);
    let json = headers("application/json", None);
    let refused = |r: Result<Option<String>, Refusal>| matches!(r, Err(Refusal::BadRequest(_)));
    assert_eq!(
        request_client_id(&form, Some(b"client_id=spa1")),
        Ok(Some("spa1".into()))
    );
    assert!(refused(request_client_id(
        &form,
        Some(b"client_id=spa1&client_id=spa1")
    )));
    assert!(refused(request_client_id(
        &form,
        Some(b"client_id=spa1&client%5Fid=other")
    )));
    assert!(refused(request_client_id(
        &json,
        Some(br#"{"client_id":"A","client_id":"A"}"#)
    )));
    assert!(refused(request_client_id(&json, Some(b"{not json"))));
    assert!(refused(request_client_id(
        &json,
        Some(br#"{"client_id":7}"#)
    )));
    assert!(refused(request_client_id(&form, Some(b"client_id="))));
    // Another media type names no client, for the provider too.
    let text = headers("text/plain", None);
    assert_eq!(request_client_id(&text, Some(b"client_id=x")), Ok(None));
    // Basic credentials and the body must agree.
    let basic = format!("Basic {}", STANDARD.encode("spa1:secret"));
    let both = headers("application/x-www-form-urlencoded", Some(&basic));
    assert_eq!(
        request_client_id(&both, Some(b"client_id=spa1")),
        Ok(Some("spa1".into()))
    );
    assert!(refused(request_client_id(&both, Some(b"client_id=spa2"))));
    assert_eq!(request_client_id(&both, None), Ok(Some("spa1".into())));
    // Two Content-Type headers: the edge and the provider could parse the body differently.
    let mut two = form.clone();
    two.append(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    assert_eq!(
        request_client_id(&two, Some(b"client_id=a")),
        Err(Refusal::RepeatedHeader("Content-Type"))
    );
}
