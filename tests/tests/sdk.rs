//! Label Studio's own Python client (`label-studio-sdk` from PyPI, in a
//! throw-away virtual environment) drives the real `ls-server` binary.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;
use std::process::Command;

use ls_integration::process::{Server, command};

/// The client version the contract was recorded against.
const SDK: &str = "label-studio-sdk==2.1.2";

#[test]
fn label_studio_sdk_drives_the_server() {
    let home = tempfile::tempdir().unwrap();
    let bin = ls_integration::python::venv(home.path(), &[SDK]);

    let mut cmd = command("ls-server", home.path());
    cmd.arg("--data-dir").arg(home.path().join("data")).args([
        "start",
        "-p",
        "0",
        "--username",
        "owner@example.com",
        "--password",
        "owner-password-1",
        "--user-token",
        "owner-token-0001",
    ]);
    let server = Server::start(cmd).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("sdk/drive_sdk.py");
    let out = Command::new(bin.join("python"))
        .arg(&script)
        .env("LS_URL", format!("http://{}", server.addr))
        .env("LS_TOKEN", "owner-token-0001")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let (_, log) = server.stop();
    assert!(
        out.status.success(),
        "SDK script failed:\n{stdout}\n{stderr}\nserver log:\n{log}"
    );
    assert!(stdout.contains("all SDK calls passed"), "{stdout}");
}
