//! Body: read the request body only when a decision needs it (a `client_id` for a rate-limit rule
//! or a per-client origin check, a `/co/authenticate` check), once, capped, then forward the same
//! bytes. A refused request's body is drained so the client sees the answer, not a reset.

use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::CONTENT_LENGTH;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use mtls_policies::{single_header, Refusal};

use crate::proxy_body::{full, ProxyBody};

/// Drain budget for a refused request's body.
const DRAIN_BYTES: usize = 64 * 1024;
const DRAIN_TIME: Duration = Duration::from_millis(500);

/// The request body: still streaming, or read because a decision needed it.
pub enum RequestBody {
    Unread(Incoming),
    Read(Bytes),
}

impl RequestBody {
    /// Reads the whole body (once) and returns it; more than `limit` bytes is 413, never a
    /// truncated read. A declared `Content-Length` over the limit is refused before reading.
    pub async fn read(
        &mut self,
        parts: &http::request::Parts,
        limit: usize,
    ) -> Result<Bytes, Refusal> {
        let body = match self {
            RequestBody::Read(bytes) => return Ok(bytes.clone()),
            RequestBody::Unread(body) => body,
        };
        let declared = single_header(&parts.headers, &CONTENT_LENGTH, "Content-Length")?
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(Refusal::PayloadTooLarge { limit });
        }
        let mut buf = BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame =
                frame.map_err(|_| Refusal::BadRequest("The request body could not be read."))?;
            if let Some(data) = frame.data_ref() {
                if buf.len() + data.len() > limit {
                    return Err(Refusal::PayloadTooLarge { limit });
                }
                buf.extend_from_slice(data);
            }
        }
        let bytes = buf.freeze();
        *self = RequestBody::Read(bytes.clone());
        Ok(bytes)
    }

    /// What to forward: the bytes read, or the stream without its trailers.
    pub fn into_proxy_body(self) -> ProxyBody {
        match self {
            RequestBody::Unread(body) => WithoutTrailers(body).boxed(),
            RequestBody::Read(bytes) => full(bytes),
        }
    }

    /// Reads and discards what is left of a refused request's body, up to a small size and time
    /// budget. Answering before the body is read makes HTTP/2 reset the stream, and some clients
    /// (curl among them) then report a framing error instead of the JSON answer.
    pub async fn drain(self) {
        if let RequestBody::Unread(body) = self {
            drain(body).await;
        }
    }
}

/// A request body forwarded without its trailers. Trailers are headers too: a client could send
/// `client-certificate` or `cname-api-key` there, after the edge stripped the head. The provider's
/// endpoints read no trailers, so none are forwarded (a read body never carries them either).
struct WithoutTrailers(Incoming);

impl Body for WithoutTrailers {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        loop {
            match ready!(Pin::new(&mut self.0).poll_frame(cx)) {
                Some(Ok(frame)) if frame.is_trailers() => continue,
                other => return Poll::Ready(other),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.0.size_hint()
    }
}

pub async fn drain(mut body: Incoming) {
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        let mut seen = 0;
        while let Some(Ok(frame)) = body.frame().await {
            seen += frame.data_ref().map_or(0, |d| d.len());
            if seen > DRAIN_BYTES {
                break;
            }
        }
    })
    .await;
}
