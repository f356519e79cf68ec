//! mtls-gateway: the customer edge of an identity provider's custom domain.
//!
//! It terminates TLS for `<domain>` and `mtls.<domain>`, verifies client certificates on the
//! alias, and forwards requests to the provider's edge with the `cname-api-key`,
//! `client-certificate`, `client-certificate-ca-verified` and client-IP headers the provider
//! expects. See `docs/architecture.md` for the layout and one request's walk through the files.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod admin;
pub mod config;
pub mod connection;
pub mod gateway;
pub mod limiter;
pub mod listener;
pub mod metrics;
pub mod proxy_body;
pub mod readiness;
pub mod reload;
pub mod request;
pub mod serve;
pub mod state;
pub mod tls;
pub mod trust;
pub mod upstream;
pub mod watch;

pub use gateway::{start, RunningGateway, StartError};
