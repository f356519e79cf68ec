//! Every response the gateway writes itself is built here, from a [`Refusal`].

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Response};
use http_body_util::{BodyExt, Full};
use mtls_policies::Refusal;

use crate::upstream::ProxyBody;

pub fn refusal(r: &Refusal) -> Response<ProxyBody> {
    let (parts, body) = r.response().into_parts();
    Response::from_parts(parts, full(Bytes::from(body)))
}

pub fn json(status: http::StatusCode, body: Bytes) -> Response<ProxyBody> {
    let mut resp = Response::new(full(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

pub fn full(body: Bytes) -> ProxyBody {
    Full::new(body).map_err(|never| match never {}).boxed()
}
