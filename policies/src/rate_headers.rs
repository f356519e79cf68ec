//! The rate-limit headers the edge adds to its answers.
//!
//! They follow the provider's own, so clients written against it need no
//! change behind the edge:
//!
//! - `x-ratelimit-limit`: the bucket's burst capacity — the most requests
//!   that can pass at once, which is what "requests available in the current
//!   time frame" means for a bucket that refills continuously.
//! - `x-ratelimit-remaining`: requests that would still pass right now.
//! - `x-ratelimit-reset`: Unix time in seconds (rounded up) at which the
//!   bucket is full again — a timestamp, as the provider sends, not a delay.
//! - `retry-after` (refusals only): whole seconds, rounded up, at least 1.

use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};

use crate::gcra::Decision;

/// Burst capacity of the strictest bucket that applied.
pub const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
/// Requests that would still pass now.
pub const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
/// Unix seconds at which the bucket is full again.
pub const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// Sets the headers for `decision` on `headers`, replacing any copy of the
/// three `x-ratelimit-*` headers already there, and sets `retry-after` on a
/// refusal. An allowed decision leaves `retry-after` alone: on a forwarded
/// answer it may be the provider's (a 503's), which is not ours to remove.
/// `unix_now` is the wall clock, passed in so that this stays pure.
pub fn insert_rate_limit_headers(headers: &mut HeaderMap, decision: &Decision, unix_now: Duration) {
    headers.insert(X_RATELIMIT_LIMIT, HeaderValue::from(decision.limit));
    headers.insert(X_RATELIMIT_REMAINING, HeaderValue::from(decision.remaining));
    headers.insert(
        X_RATELIMIT_RESET,
        HeaderValue::from(decision.reset_unix_secs(unix_now)),
    );
    if let Some(seconds) = decision.retry_after_secs() {
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
}
