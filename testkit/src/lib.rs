//! Test support for the mTLS edge gateway, kept out of the product's library: the stand-in
//! identity-provider edge ([`echo`]) that the `demo` command and the tests forward to, real
//! TLS/HTTP clients for the integration tests ([`client`]), and a real `redis-server` on a free
//! loopback port ([`redis`]).
#![forbid(unsafe_code)]

pub mod client;
pub mod echo;
pub mod redis;
