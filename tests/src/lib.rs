//! Helpers for the workspace-level tests: the architecture's tidy rules, and
//! running the real `ls-server` / `ls-admin` binaries as processes.
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod http;
pub mod pg;
pub mod process;
pub mod seed;
pub mod server;
pub mod snapshot;
pub mod tidy;
