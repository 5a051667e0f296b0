//! A throw-away Python virtual environment with packages from PyPI, for
//! the tests that drive a real Python tool (a metrics parser, schemathesis).

use std::path::{Path, PathBuf};
use std::process::Command;

/// `python3 -m venv DIR/venv` with `packages` installed: its `bin/`.
pub fn venv(dir: &Path, packages: &[&str]) -> PathBuf {
    let venv = dir.join("venv");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let status = Command::new(&python)
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .expect("python3 is needed");
    assert!(status.success(), "python3 -m venv failed");
    let pip = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(packages)
        .output()
        .unwrap();
    assert!(
        pip.status.success(),
        "pip install {packages:?} failed:\n{}",
        String::from_utf8_lossy(&pip.stderr)
    );
    venv.join("bin")
}
