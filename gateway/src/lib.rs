//! mtls-gateway: the customer edge of an identity provider's custom domain.
//!
//! It terminates TLS for `<domain>` and `mtls.<domain>`, verifies client certificates on the
//! alias, and forwards requests to the provider's edge with the `cname-api-key`,
//! `client-certificate`, `client-certificate-ca-verified` and client-IP headers the provider
//! expects. See `docs/architecture.md` for the request flow.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod admin;
pub mod body;
pub mod browser;
pub mod check;
pub mod config;
pub mod connection;
pub mod demo;
pub mod echo;
pub mod metrics;
pub mod probe;
pub mod proxy;
pub mod ratelimit;
pub mod respond;
pub mod server;
pub mod signals;
pub mod state;
pub mod tls;
pub mod trust;
pub mod upstream;
pub mod watch;

pub use server::{start, RunningGateway};
