//! The HTTP layer: routes, authentication extractors, and the one map from
//! errors to status codes and Label Studio's error envelope.
//!
//! Architecture invariant: only this crate knows HTTP; it talks to storage
//! only through the use-cases in `app`.
#![forbid(unsafe_code)]

mod auth;
mod error;
mod routes;
mod server;

pub use error::ApiError;
pub use server::{App, HttpConfig, shutdown_signal};

/// The version reported by `/api/version` and in error envelopes.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
