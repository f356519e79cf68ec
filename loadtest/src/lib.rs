//! mtls-loadtest: a load generator for TLS endpoints that ask for client certificates.
//!
//! It measures what an mTLS edge spends its time on — full handshakes with a client certificate,
//! resumed handshakes, and requests on new or kept-alive connections — and reports latency
//! percentiles per phase, errors by class (TLS alerts by name), and the CPU both sides spent per
//! connection. The binary (`src/main.rs`) is a thin shell around [`run`]; everything else lives
//! here so the integration tests can drive it without a subprocess.
//!
//! Module map: [`cli`] (options) → [`plan`] (validated, files loaded, TLS config built once) →
//! [`runner`] (workers, [`schedule`], live sampling) → [`report::Summary`] → [`csv`], [`html`].
#![forbid(unsafe_code)]

pub mod classify;
pub mod cli;
pub mod client_tls;
pub mod cpu;
pub mod csv;
pub mod danger;
pub mod histogram;
pub mod html;
pub mod http;
pub mod modes;
pub mod plan;
pub mod progress;
pub mod recorder;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod svg;
pub mod transport;

pub use cli::Args;
pub use modes::Mode;
pub use plan::{Plan, PlanError};
pub use report::Summary;
pub use runner::{run, RunError};
