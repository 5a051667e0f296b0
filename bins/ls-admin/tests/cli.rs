//! The command line itself (also makes `cargo test` build this binary for
//! the workspace tests in `tests/`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::process::{Command, Stdio};

#[test]
fn passwords_are_never_taken_from_argv() {
    let out = Command::new(env!("CARGO_BIN_EXE_ls-admin"))
        .args(["user", "create", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--password-stdin") && text.contains("--password-file"),
        "{text}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_ls-admin"))
        .args([
            "user",
            "create",
            "--email",
            "a@example.com",
            "--password",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "there is no --password flag");
}

#[test]
fn without_a_terminal_the_password_source_must_be_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ls-admin"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["user", "create", "--email", "a@example.com"])
        .env_remove("LS_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--password-stdin"));
}

#[test]
fn doctor_reports_the_sqlite_settings() {
    let dir = tempfile::tempdir().unwrap();
    // doctor reads an existing deployment; it never makes one (issue 15).
    let made = Command::new(env!("CARGO_BIN_EXE_ls-admin"))
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "user",
            "create",
            "--email",
            "a@example.com",
            "--no-password",
        ])
        .env_remove("LS_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_ls-admin"))
        .arg("--data-dir")
        .arg(dir.path())
        .arg("doctor")
        .env_remove("LS_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "journal_mode     wal",
        "synchronous      2 (FULL)",
        "foreign_keys     1",
        "busy_timeout     10000 ms",
        "sqlite_version   3.",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
}
