//! Helpers for the workspace-level tests: the architecture's tidy rules (the
//! dependency graph, the module graph and file lengths), and
//! running the real `ls-server` / `ls-admin` binaries as processes.
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod http;
pub mod label_studio;
pub mod module_graph;
pub mod nginx;
pub mod oidc;
pub mod pg;
pub mod pg_tls;
pub mod process;
pub mod python;
pub mod seed;
pub mod server;
pub mod smtp;
pub mod snapshot;
pub mod tidy;
