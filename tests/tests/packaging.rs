//! What packagers and operators take from the repository: shell
//! completions and man pages from both binaries, the systemd unit
//! (`systemd-analyze verify` and its exposure score, where systemd's tools
//! are), the compose stack's nginx configuration (`nginx -t`), and the
//! container image (`docker build`, where a Docker daemon answers).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;
use std::process::Command;

use ls_integration::process::{bin, command, has, run};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

#[test]
fn completions_for_every_shell_of_both_binaries() {
    let home = tempfile::tempdir().unwrap();
    for name in ["ls-admin", "ls-server"] {
        let script = |shell: &str| {
            let mut cmd = command(name, home.path());
            cmd.args(["completions", shell]);
            let out = run(cmd, None);
            assert_eq!(out.code, Some(0), "{name} completions {shell}: {out:?}");
            out.stdout
        };
        let bash = script("bash");
        assert!(bash.contains("complete -F"), "{bash}");
        let file = home.path().join(format!("{name}.bash"));
        std::fs::write(&file, &bash).unwrap();
        let syntax = Command::new("bash").arg("-n").arg(&file).output().unwrap();
        assert!(
            syntax.status.success(),
            "{}",
            String::from_utf8_lossy(&syntax.stderr)
        );
        assert!(script("zsh").starts_with(&format!("#compdef {name}")));
        assert!(script("fish").contains(&format!("complete -c {name}")));
    }
    // The subcommands are in them.
    let mut cmd = command("ls-admin", home.path());
    cmd.args(["completions", "bash"]);
    let bash = run(cmd, None).stdout;
    for sub in ["backup", "restore", "user", "import", "completions", "man"] {
        assert!(bash.contains(sub), "{sub} is not completed");
    }
    // An unknown shell is a usage error that names the choices.
    let mut cmd = command("ls-admin", home.path());
    cmd.args(["completions", "tcsh"]);
    let out = run(cmd, None);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("bash"), "{}", out.stderr);
}

#[test]
fn man_pages_for_every_command() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("man1");
    let mut cmd = command("ls-admin", home.path());
    cmd.args(["man", "--out-dir"]).arg(&dir);
    let out = run(cmd, None);
    assert_eq!(out.code, Some(0), "{out:?}");
    for page in [
        "ls-admin.1",
        "ls-admin-backup.1",
        "ls-admin-restore.1",
        "ls-admin-user-create.1",
    ] {
        let text =
            std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{page}:\n{text}"
        );
        assert!(
            out.stdout.contains(page),
            "{page} is not listed: {}",
            out.stdout
        );
    }
    let main = std::fs::read_to_string(dir.join("ls-admin.1")).unwrap();
    assert!(main.contains("backup") && main.contains("restore"));
    let mut cmd = command("ls-server", home.path());
    cmd.arg("man");
    let out = run(cmd, None);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains(".TH ls-server"), "{}", out.stdout);
    assert!(out.stdout.contains("start"));
    if has("man") {
        let shown = Command::new("man")
            .arg("-l")
            .arg(dir.join("ls-admin-backup.1"))
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .output()
            .unwrap();
        assert!(
            shown.status.success(),
            "{}",
            String::from_utf8_lossy(&shown.stderr)
        );
    }
}

#[test]
fn the_systemd_unit_verifies_and_is_hardened() {
    if !has("systemd-analyze") {
        eprintln!("skipped: systemd-analyze is not on this machine");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(repo().join("deploy/ls-server.service")).unwrap();
    // The unit as shipped, pointed at the binary just built.
    let here = unit.replace(
        "/usr/local/bin/ls-server",
        bin("ls-server").to_str().unwrap(),
    );
    assert_ne!(here, unit);
    let path = dir.path().join("ls-server.service");
    std::fs::write(&path, here).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(
        !said.contains("Unknown") && !said.contains("Failed to parse"),
        "{said}"
    );
    for key in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "StateDirectory=ls-users",
        "NoNewPrivileges=yes",
    ] {
        assert!(unit.contains(key), "{key}");
    }
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=yes"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&security.stdout);
    if let Some(score) = text
        .lines()
        .find_map(|l| l.split("Overall exposure level for ").nth(1))
        .and_then(|rest| rest.split(": ").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
    {
        assert!(score <= 2.0, "exposure {score}:\n{text}");
    } else {
        eprintln!("systemd-analyze security gave no score here:\n{text}");
    }
}

#[test]
fn the_compose_stacks_nginx_configuration_is_valid() {
    let nginx = ["/usr/sbin/nginx", "nginx"]
        .into_iter()
        .find(|n| Path::new(n).exists() || has(n));
    let Some(nginx) = nginx else {
        eprintln!("skipped: nginx is not on this machine");
        return;
    };
    let out = Command::new(nginx)
        .arg("-t")
        .arg("-c")
        .arg(repo().join("deploy/nginx.conf"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_container_image_builds_where_docker_answers() {
    let daemon = Command::new("docker")
        .arg("info")
        .output()
        .is_ok_and(|o| o.status.success());
    if !daemon {
        eprintln!(
            "skipped: no Docker daemon answers here (docker build deploy/Dockerfile not run)"
        );
        return;
    }
    let status = Command::new("docker")
        .current_dir(repo())
        .args([
            "build",
            "-f",
            "deploy/Dockerfile",
            "-t",
            "ls-users:test",
            ".",
        ])
        .status()
        .unwrap();
    assert!(status.success());
}
