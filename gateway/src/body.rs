//! Request bodies the edge must look into (to find a `client_id`, or to check a
//! `/co/authenticate` request): read once, with a size cap, then forwarded byte for byte.

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use mtls_policies::{client_id_from_basic_auth, parse_client_id_from_body, Refusal};

use crate::upstream::ProxyBody;

/// Reads the whole body when `needed` (refusing one over `limit` with 413, never truncating it),
/// and returns what to forward with the bytes read; otherwise streams it untouched.
pub async fn read_if(
    needed: bool,
    body: Incoming,
    limit: usize,
) -> Result<(ProxyBody, Option<Bytes>), Refusal> {
    if !needed {
        return Ok((body.boxed(), None));
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => {
            let bytes = collected.to_bytes();
            Ok((crate::respond::full(bytes.clone()), Some(bytes)))
        }
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(Refusal::PayloadTooLarge { limit })
        }
        Err(_) => Err(Refusal::BadRequest("The request body could not be read.")),
    }
}

/// The client a request names: HTTP Basic credentials first (`client_secret_basic`), else the
/// form or JSON body when it was read. Two `Content-Type` headers are refused: the edge and the
/// provider could then read different client ids.
pub fn client_id(
    parts: &http::request::Parts,
    body: Option<&[u8]>,
) -> Result<Option<String>, Refusal> {
    let basic = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(client_id_from_basic_auth);
    if basic.is_some() {
        return Ok(basic);
    }
    let Some(body) = body else { return Ok(None) };
    let mut types = parts.headers.get_all(http::header::CONTENT_TYPE).iter();
    let content_type = match (types.next(), types.next()) {
        (_, Some(_)) => return Err(Refusal::BadRequest("More than one Content-Type header.")),
        (t, None) => t.and_then(|v| v.to_str().ok()),
    };
    Ok(parse_client_id_from_body(content_type, body).ok().flatten())
}
