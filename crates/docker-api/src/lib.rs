//! The Docker Engine API over HTTP/1.1 on a unix socket (and, when asked,
//! TCP), on top of `wharf-engine`. This crate is the only one that knows
//! Docker's JSON shapes, status codes and stream framings.
//!
//! [`router`] splits a request by its first path segment (after an optional
//! `/v1.NN` prefix) and hands it to the module that serves that family.

#![forbid(unsafe_code)]

pub mod build;
pub mod containers;
pub mod exec;
pub mod http;
pub mod images;
pub mod networks;
pub mod router;
pub mod server;
pub mod streams;
pub mod system;
pub mod volumes;

/// The newest API version served.
pub const API_VERSION: &str = "1.47";
/// The oldest API version served.
pub const MIN_API_VERSION: &str = "1.24";
