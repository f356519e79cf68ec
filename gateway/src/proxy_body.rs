//! The body type of every response the gateway writes and of every request it forwards.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};

pub type ProxyBody = BoxBody<Bytes, hyper::Error>;

/// A body of known bytes.
pub fn full(body: Bytes) -> ProxyBody {
    Full::new(body).map_err(|never| match never {}).boxed()
}

pub fn empty() -> ProxyBody {
    Empty::new().map_err(|never| match never {}).boxed()
}
