//! The command line itself (also makes `cargo test` build this binary for
//! the workspace tests in `tests/`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::process::Command;

#[test]
fn help_lists_the_first_run_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_ls-server"))
        .args(["start", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--username",
        "--password",
        "--user-token",
        "--host",
        "--internal-host",
        "--port",
        "--data-dir",
        "--database-url",
        "--config",
    ] {
        assert!(text.contains(flag), "{flag} missing from:\n{text}");
    }
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_ls-server"))
        .args(["start", "--frobnicate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
