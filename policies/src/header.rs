//! Headers a decision reads must appear at most once, with a text value.
//!
//! When a request carries two `Host`, `Origin` or `Content-Type` headers, the edge and the provider
//! may each believe a different one: the edge checks the first, the provider reads the last. The only
//! safe reading of a repeated or non-text value is a refusal, never "absent".

use http::{HeaderMap, HeaderName};

use crate::Refusal;

/// The one value of `name`, `None` when absent. Two or more values, or a value that is not
/// visible ASCII text, is a 400 naming the header by `display` (`"Host"`, `"Origin"`).
pub fn single_header<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
    display: &'static str,
) -> Result<Option<&'a str>, Refusal> {
    let mut all = headers.get_all(name).iter();
    match (all.next(), all.next()) {
        (_, Some(_)) => Err(Refusal::RepeatedHeader(display)),
        (None, None) => Ok(None),
        (Some(v), None) => v
            .to_str()
            .map(Some)
            .map_err(|_| Refusal::InvalidHeader(display)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{HOST, ORIGIN};
    use http::HeaderValue;

    #[test]
    fn absent_one_repeated_and_binary() {
        let mut h = HeaderMap::new();
        assert_eq!(single_header(&h, &HOST, "Host"), Ok(None));
        h.insert(HOST, HeaderValue::from_static("a.example"));
        assert_eq!(single_header(&h, &HOST, "Host"), Ok(Some("a.example")));
        h.append(HOST, HeaderValue::from_static("a.example"));
        // Even an identical repeat is refused: the edge does not guess which one counts.
        assert_eq!(
            single_header(&h, &HOST, "Host"),
            Err(Refusal::RepeatedHeader("Host"))
        );
        let mut o = HeaderMap::new();
        o.insert(ORIGIN, HeaderValue::from_bytes(b"https://\xffx").unwrap());
        let refusal = single_header(&o, &ORIGIN, "Origin").unwrap_err();
        assert_eq!(refusal, Refusal::InvalidHeader("Origin"));
        assert_eq!(refusal.description(), "The Origin header is not valid.");
        assert_eq!(refusal.status(), http::StatusCode::BAD_REQUEST);
    }
}
