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
    let venv = home.path().join("venv");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let status = Command::new(&python)
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .expect("python3 is needed for the SDK test");
    assert!(status.success(), "python3 -m venv failed");
    let pip = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", SDK])
        .output()
        .unwrap();
    assert!(
        pip.status.success(),
        "pip install {SDK} failed:\n{}",
        String::from_utf8_lossy(&pip.stderr)
    );

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
    let out = Command::new(venv.join("bin/python"))
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
