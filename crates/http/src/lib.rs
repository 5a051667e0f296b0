//! The HTTP layer: the server loop, routes, authentication (API tokens and
//! server-side sessions with CSRF), the JSON shapes of Label Studio's API,
//! and the one map from errors to status codes and its error envelope.
//!
//! Architecture invariant: only this crate knows HTTP; it reaches storage
//! only through the use-cases in `app`.
#![forbid(unsafe_code)]

mod api;
mod auth;
mod body;
mod client_ip;
mod connections;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod metrics;
mod observe;
mod pages;
mod routing;
mod server;
mod state;
mod stream;

pub use client_ip::parse_trusted;
pub use error::ApiError;
pub use metrics::{Metrics, MetricsError, serve_metrics};
pub use server::{App, Bound, HttpConfig, shutdown_signal};

/// The version reported by `/api/version` and in error envelopes.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
