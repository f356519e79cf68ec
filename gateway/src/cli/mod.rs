//! The command line: `run` (in `main.rs`), `check`, `certs`, `demo`. Only the binary uses these;
//! the library knows nothing of them.

pub mod certs;
pub mod check;
pub mod demo;
pub mod signals;
