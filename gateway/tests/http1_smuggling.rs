//! HTTP/1.1 request smuggling: raw bytes over TLS to a real gateway in front of the echo upstream.
//!
//! A front end and the server behind it must agree on where each request ends. For every
//! ambiguous message (Content-Length with Transfer-Encoding, two lengths, disguised
//! Transfer-Encoding, bare LF line ends, a space before a colon, a request hidden in a body) the
//! gateway must either refuse it (400, or the connection closed) or read it one unambiguous
//! way and close the connection after answering. In every case the upstream may receive only
//! requests the attacking connection got an answer for, never the hidden one, and a normal client
//! on another connection is served right after.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use http::StatusCode;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The path of every request an attack tries to hide; it must never reach the upstream.
const HIDDEN: &str = "/smuggled";

/// One response read off the attacking connection.
#[derive(Debug)]
struct RawResponse {
    status: u16,
    body: Vec<u8>,
}

impl RawResponse {
    /// For answers from the echo upstream: the request it received, as its JSON echo.
    fn upstream_saw(&self) -> Option<serde_json::Value> {
        serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .filter(|j| j.get("method").is_some())
    }
}

/// What the attacking connection got back.
#[derive(Debug)]
struct Exchange {
    responses: Vec<RawResponse>,
    /// The gateway closed the connection (rather than waiting for more requests).
    closed: bool,
    /// Bytes after the last complete response.
    rest: Vec<u8>,
}

impl Exchange {
    fn statuses(&self) -> Vec<u16> {
        self.responses.iter().map(|r| r.status).collect()
    }
}

/// Parses complete responses from `buf`; stops at the first incomplete one.
fn parse_responses(mut buf: &[u8]) -> (Vec<RawResponse>, Vec<u8>) {
    let mut out = Vec::new();
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut resp = httparse::Response::new(&mut headers);
        let head_len = match resp.parse(buf) {
            Ok(httparse::Status::Complete(n)) => n,
            _ => break,
        };
        let status = resp.code.unwrap_or(0);
        let header = |name: &str| {
            resp.headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
        };
        let chunked = header("transfer-encoding").is_some_and(|v| v.ends_with("chunked"));
        let length = header("content-length").and_then(|v| v.parse::<usize>().ok());
        let rest = &buf[head_len..];
        let (body, used) = if chunked {
            match dechunk(rest) {
                Some(b) => b,
                None => break,
            }
        } else {
            let n = length.unwrap_or(0);
            if rest.len() < n {
                break;
            }
            (rest[..n].to_vec(), n)
        };
        out.push(RawResponse { status, body });
        buf = &rest[used..];
    }
    (out, buf.to_vec())
}

/// A chunked body and the bytes it took, or `None` when incomplete.
fn dechunk(mut buf: &[u8]) -> Option<(Vec<u8>, usize)> {
    let start = buf.len();
    let mut body = Vec::new();
    loop {
        let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&buf[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        buf = &buf[line_end + 2..];
        if size == 0 {
            // No trailers from the gateway: the final CRLF follows at once.
            buf = buf.strip_prefix(b"\r\n")?;
            return Some((body, start - buf.len()));
        }
        if buf.len() < size + 2 {
            return None;
        }
        body.extend_from_slice(&buf[..size]);
        buf = &buf[size + 2..];
    }
}

/// Sends `raw` on a new TLS connection (ALPN http/1.1) and reads until the gateway closes it or
/// stays quiet for a second.
async fn exchange(addr: SocketAddr, client: &Client, raw: &[u8]) -> Exchange {
    assert_eq!(client.proto, Proto::H1);
    let mut tls = client.connect(addr).await.expect("TLS handshake");
    tls.write_all(raw).await.expect("write the attack");
    tls.flush().await.expect("flush");
    let mut buf = Vec::new();
    let mut closed = false;
    loop {
        let mut chunk = [0u8; 16384];
        match tokio::time::timeout(Duration::from_secs(1), tls.read(&mut chunk)).await {
            Err(_) => break,
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let (responses, rest) = parse_responses(&buf);
    Exchange {
        responses,
        closed,
        rest,
    }
}

fn plain() -> Client {
    Client::new(DOMAIN, None, Proto::H1)
}

/// The invariants every case shares: each request the upstream received was answered on the
/// attacking connection (by the upstream, or by the gateway when forwarding failed part way), the
/// hidden request was never forwarded, and a normal client on another connection is served right
/// after.
async fn assert_nothing_smuggled(h: &Harness, before: u64, x: &Exchange, case: &str) {
    let forwarded = h.upstream_requests() - before;
    let answered_by_upstream: Vec<serde_json::Value> = x
        .responses
        .iter()
        .filter_map(RawResponse::upstream_saw)
        .collect();
    assert!(
        answered_by_upstream.len() as u64 <= forwarded && forwarded <= x.responses.len() as u64,
        "{case}: the upstream received {forwarded} requests, the client saw answers {:?}",
        x.statuses()
    );
    for seen in &answered_by_upstream {
        assert_ne!(
            seen["path"], HIDDEN,
            "{case}: the hidden request was forwarded"
        );
    }
    assert!(
        x.rest.is_empty(),
        "{case}: unparsable bytes after the responses: {:?}",
        String::from_utf8_lossy(&x.rest)
    );
    let resp = plain()
        .request(h.addr, Req::get(DOMAIN, "/after"))
        .await
        .unwrap_or_else(|e| panic!("{case}: a normal client failed afterwards: {e}"));
    assert_eq!(
        resp.status,
        StatusCode::OK,
        "{case}: normal client afterwards"
    );
}

/// The request was refused outright: a 400 and nothing forwarded.
async fn assert_refused(h: &Harness, raw: &str, case: &str) {
    let before = h.upstream_requests();
    let x = exchange(h.addr, &plain(), raw.as_bytes()).await;
    assert_eq!(x.statuses(), vec![400], "{case}: {x:?}");
    assert!(x.closed, "{case}: connection left open after a 400");
    assert_eq!(h.upstream_requests(), before, "{case}: forwarded");
    assert_nothing_smuggled(h, before, &x, case).await;
}

/// The request was read one way, answered, and the connection closed before anything hidden in
/// it could be read as a request; or it was refused with 400.
async fn assert_answered_once_then_closed(h: &Harness, raw: &str, case: &str) {
    let before = h.upstream_requests();
    let x = exchange(h.addr, &plain(), raw.as_bytes()).await;
    assert_eq!(x.responses.len(), 1, "{case}: {x:?}");
    assert!(x.closed, "{case}: connection left open: {x:?}");
    let resp = &x.responses[0];
    if resp.status != 400 {
        assert_eq!(resp.status, 200, "{case}: {x:?}");
        let seen = resp.upstream_saw().expect("the echo's answer");
        // What the upstream got is framed one way only.
        let names: Vec<String> = seen["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .filter_map(|p| p[0].as_str().map(str::to_ascii_lowercase))
            .collect();
        assert!(
            !(names.contains(&"content-length".into())
                && names.contains(&"transfer-encoding".into())),
            "{case}: forwarded with both lengths: {names:?}"
        );
    }
    assert_nothing_smuggled(h, before, &x, case).await;
}

fn hidden_request() -> String {
    format!("GET {HIDDEN} HTTP/1.1\r\nHost: {DOMAIN}\r\n\r\n")
}

// ---------------------------------------------------------------------------------------------
// Content-Length and Transfer-Encoding together

/// CL.TE: a front end that went by Content-Length would see one request; one that goes by
/// Transfer-Encoding sees the hidden request after the empty chunked body.
#[tokio::test]
async fn content_length_then_transfer_encoding() {
    let h = Harness::start(Options::default()).await;
    let raw = format!(
        "POST /cl-te HTTP/1.1\r\nHost: {DOMAIN}\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{}",
        5 + hidden_request().len(),
        hidden_request()
    );
    assert_answered_once_then_closed(&h, &raw, "CL.TE").await;
}

/// TE.CL: the chunked body holds the hidden request; a front end going by the (short)
/// Content-Length would forward the rest as a new request.
#[tokio::test]
async fn transfer_encoding_then_content_length() {
    let h = Harness::start(Options::default()).await;
    let hidden = hidden_request();
    let raw = format!(
        "POST /te-cl HTTP/1.1\r\nHost: {DOMAIN}\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n{:x}\r\n{hidden}\r\n0\r\n\r\n",
        hidden.len()
    );
    assert_answered_once_then_closed(&h, &raw, "TE.CL").await;
}

/// Two different lengths: no reading is right, so the request is refused.
#[tokio::test]
async fn duplicate_content_length_is_refused() {
    let h = Harness::start(Options::default()).await;
    let hidden = hidden_request();
    let long = 5 + hidden.len();
    for (case, lengths) in [
        (
            "two Content-Length fields",
            format!("Content-Length: 5\r\nContent-Length: {long}\r\n"),
        ),
        (
            "a Content-Length list",
            format!("Content-Length: 5, {long}\r\n"),
        ),
    ] {
        let raw =
            format!("POST /two-lengths HTTP/1.1\r\nHost: {DOMAIN}\r\n{lengths}\r\nhello{hidden}");
        assert_refused(&h, &raw, case).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Transfer-Encoding in disguise

/// Transfer-Encoding values that are not plainly `chunked`, each beside a Content-Length that
/// would put the hidden request after the body. Whatever `chunked` cannot be the final coding
/// of is refused; `chunked` with surrounding whitespace is `chunked` (RFC 9110 5.5) and is
/// read as such, with the connection closed after the answer.
#[tokio::test]
async fn obfuscated_transfer_encoding() {
    let h = Harness::start(Options::default()).await;
    let hidden = hidden_request();
    let body = format!("0\r\n\r\n{hidden}");
    let refused = [
        ("xchunked", "Transfer-Encoding: xchunked\r\n"),
        (
            "chunked, identity",
            "Transfer-Encoding: chunked, identity\r\n",
        ),
        (
            "chunked then identity on two lines",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
        ),
        ("a folded line", "Transfer-Encoding:\r\n chunked\r\n"),
        ("a vertical tab", "Transfer-Encoding:\x0bchunked\r\n"),
    ];
    for (case, te) in refused {
        let raw = format!(
            "POST /obfuscated HTTP/1.1\r\nHost: {DOMAIN}\r\nContent-Length: {}\r\n{te}\r\n{body}",
            body.len()
        );
        assert_refused(&h, &raw, case).await;
    }
    let read_as_chunked = [
        ("a trailing space", "Transfer-Encoding: chunked \r\n"),
        ("a tab before", "Transfer-Encoding:\tchunked\r\n"),
        ("upper case", "Transfer-Encoding: CHUNKED\r\n"),
    ];
    for (case, te) in read_as_chunked {
        let raw = format!(
            "POST /obfuscated HTTP/1.1\r\nHost: {DOMAIN}\r\nContent-Length: {}\r\n{te}\r\n{body}",
            body.len()
        );
        assert_answered_once_then_closed(&h, &raw, case).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Line ends, names, and requests after a body

/// Bare LF: accepted as a line end in the request head (RFC 9112 2.2 allows it, and the gateway
/// forwards its own framing), but a chunked body with bare-LF chunk lines is malformed; neither
/// may let the hidden request through.
#[tokio::test]
async fn bare_lf_line_ends() {
    let h = Harness::start(Options::default()).await;
    let hidden = hidden_request();

    let before = h.upstream_requests();
    let head_only = format!("GET /bare-lf HTTP/1.1\nHost: {DOMAIN}\nConnection: close\n\n");
    let x = exchange(h.addr, &plain(), head_only.as_bytes()).await;
    assert!(
        x.statuses() == vec![200] || x.statuses() == vec![400],
        "bare LF head: {x:?}"
    );
    assert_nothing_smuggled(&h, before, &x, "bare LF head").await;

    // A line that a bare-LF-blind parser would read as one field, hiding Transfer-Encoding.
    let before = h.upstream_requests();
    let raw = format!(
        "POST /bare-lf HTTP/1.1\r\nHost: {DOMAIN}\r\nX-Note: a\nTransfer-Encoding: chunked\r\nContent-Length: {}\r\n\r\n0\r\n\r\n{hidden}",
        5 + hidden.len()
    );
    let x = exchange(h.addr, &plain(), raw.as_bytes()).await;
    assert!(x.responses.len() <= 1, "bare LF between fields: {x:?}");
    assert!(
        x.closed,
        "bare LF between fields: connection left open: {x:?}"
    );
    assert_nothing_smuggled(&h, before, &x, "bare LF between fields").await;

    // Chunk-size lines ended by bare LF, then the hidden request.
    let before = h.upstream_requests();
    let raw = format!(
        "POST /bare-lf HTTP/1.1\r\nHost: {DOMAIN}\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n{hidden}"
    );
    let x = exchange(h.addr, &plain(), raw.as_bytes()).await;
    assert!(x.closed, "bare LF chunks: connection left open: {x:?}");
    assert!(
        x.statuses().iter().all(|&s| s >= 400),
        "bare LF chunks were accepted: {x:?}"
    );
    assert_nothing_smuggled(&h, before, &x, "bare LF chunks").await;
}

/// `Name : value` is not a field (RFC 9112 5.1: no whitespace between name and colon); a
/// server must refuse it with 400, whichever field it is.
#[tokio::test]
async fn space_before_colon_is_refused() {
    let h = Harness::start(Options::default()).await;
    let hidden = hidden_request();
    let body = format!("0\r\n\r\n{hidden}");
    let cases = [
        (
            "Transfer-Encoding :",
            format!(
                "POST /space HTTP/1.1\r\nHost: {DOMAIN}\r\nContent-Length: {}\r\nTransfer-Encoding : chunked\r\n\r\n{body}",
                body.len()
            ),
        ),
        (
            "Content-Length :",
            format!(
                "POST /space HTTP/1.1\r\nHost: {DOMAIN}\r\nContent-Length : {}\r\n\r\n{body}",
                body.len()
            ),
        ),
        (
            "Host :",
            format!("GET /space HTTP/1.1\r\nHost : {DOMAIN}\r\n\r\n"),
        ),
        (
            "a tab before the colon",
            format!("GET /space HTTP/1.1\r\nHost: {DOMAIN}\r\nX-Tab\t: 1\r\n\r\n"),
        ),
    ];
    for (case, raw) in cases {
        assert_refused(&h, &raw, case).await;
    }
}

/// A request after a body is a request of its own: it goes through every check the first one
/// did. On the mTLS alias the second asks for a path the alias does not forward (404); on the
/// plain domain it names the alias in Host (421). A request inside a body that has a length
/// stays body.
#[tokio::test]
async fn request_after_a_body_gets_every_check() {
    let h = Harness::start(Options::default()).await;
    let alias = Client::new(ALIAS, Some(ClientCert::leaf(&pki().client)), Proto::H1);

    let before = h.upstream_requests();
    let raw = format!(
        "POST /oauth/token HTTP/1.1\r\nHost: {ALIAS}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\nx=1GET {HIDDEN} HTTP/1.1\r\nHost: {ALIAS}\r\nConnection: close\r\n\r\n"
    );
    let x = exchange(h.addr, &alias, raw.as_bytes()).await;
    assert_eq!(x.statuses(), vec![200, 404], "alias: {x:?}");
    assert_nothing_smuggled(&h, before, &x, "after a body on the alias").await;

    let before = h.upstream_requests();
    let raw = format!(
        "POST /form HTTP/1.1\r\nHost: {DOMAIN}\r\nContent-Length: 3\r\n\r\nx=1GET /oauth/token HTTP/1.1\r\nHost: {ALIAS}\r\nConnection: close\r\n\r\n"
    );
    let x = exchange(h.addr, &plain(), raw.as_bytes()).await;
    assert_eq!(x.statuses(), vec![200, 421], "plain domain: {x:?}");
    assert_nothing_smuggled(&h, before, &x, "after a body on the plain domain").await;

    let before = h.upstream_requests();
    let hidden = hidden_request();
    let raw = format!(
        "GET /with-body HTTP/1.1\r\nHost: {DOMAIN}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{hidden}",
        hidden.len()
    );
    let x = exchange(h.addr, &plain(), raw.as_bytes()).await;
    assert_eq!(x.statuses(), vec![200], "request inside a body: {x:?}");
    let seen = x.responses[0].upstream_saw().expect("echo");
    assert_eq!(seen["path"], "/with-body");
    assert_eq!(
        seen["body"],
        hidden.as_str(),
        "the body reached the upstream as body"
    );
    assert_nothing_smuggled(&h, before, &x, "request inside a body").await;
}

/// A client's malformed body is the client's fault: a chunked body whose chunk-size line ends in
/// a bare LF must be answered 400, not blamed on the identity provider (502
/// `temporarily_unavailable`, counted in `mtls_gateway_upstream_errors_total`), which would let any
/// client raise the provider's error rate and its alerts at will.
#[tokio::test]
async fn malformed_body_is_a_client_error() {
    let h = Harness::start(Options::default()).await;
    let raw = format!(
        "POST /bad-chunks HTTP/1.1\r\nHost: {DOMAIN}\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n"
    );
    let x = exchange(h.addr, &plain(), raw.as_bytes()).await;
    assert_eq!(x.statuses(), vec![400], "{x:?}");
    let metrics = h.metrics().await;
    assert!(
        !metrics
            .lines()
            .any(|l| l.starts_with("mtls_gateway_upstream_errors_total{") && !l.ends_with(" 0")),
        "a client's malformed body counted as an upstream error:\n{metrics}"
    );
}
