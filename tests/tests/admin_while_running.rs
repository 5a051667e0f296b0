//! `ls-admin` writes to the database while `ls-server` serves from it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::thread;

use ls_integration::process::{Server, command, run};
use serde_json::Value;

#[test]
fn ls_admin_creates_users_while_the_server_runs() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let mut cmd = command("ls-server", home.path());
    cmd.arg("--data-dir").arg(&data).args([
        "start",
        "-p",
        "0",
        "--username",
        "owner@example.com",
        "--password",
        "owner-password-1",
        "--user-token",
        "owner-token-1",
    ]);
    let server = Server::start(cmd).unwrap();
    let addr = server.addr;

    // Readers hit the server the whole time.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let stop = std::sync::Arc::clone(&stop);
        thread::spawn(move || {
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 10_000 {
                let (status, _) = ls_integration::process::http_get(
                    addr,
                    "/api/current-user/whoami",
                    &[("Authorization", "Token owner-token-1")],
                );
                assert_eq!(status, 200);
                n += 1;
            }
            n
        })
    };

    // Several ls-admin processes write at once.
    let writers: Vec<_> = (0..4)
        .map(|i| {
            let data = data.clone();
            let home = home.path().to_owned();
            thread::spawn(move || {
                let mut admin = command("ls-admin", &home);
                admin.arg("--data-dir").arg(&data).args([
                    "user",
                    "create",
                    "--email",
                    &format!("user{i}@example.com"),
                    "--role",
                    "member",
                    "--password-stdin",
                ]);
                run(admin, Some(&format!("member-password-{i}\n")))
            })
        })
        .collect();
    for w in writers {
        let out = w.join().unwrap();
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(!out.stderr.contains("locked"), "{}", out.stderr);
    }

    // The running server sees the new user and the token ls-admin made for them.
    let mut reset = command("ls-admin", home.path());
    reset
        .arg("--data-dir")
        .arg(&data)
        .args(["token", "reset", "--email", "user2@example.com"]);
    let out = run(reset, None);
    assert_eq!(out.code, Some(0), "{out:?}");
    let token = out.stdout.trim().to_owned();
    let (status, body) = server.get(
        "/api/current-user/whoami",
        &[("Authorization", &format!("Token {token}"))],
    );
    assert_eq!(status, 200, "{body}");
    let me: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(me["email"], "user2@example.com");
    assert_eq!(me["active_organization_meta"]["title"], "Label Studio");

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads = reader.join().unwrap();
    assert!(reads > 0);

    let mut list = command("ls-admin", home.path());
    list.arg("--data-dir")
        .arg(&data)
        .args(["user", "list", "--json"]);
    let out = run(list, None);
    let users: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(users.as_array().unwrap().len(), 5, "{users}");
    let (code, log) = server.stop();
    assert_eq!(code, Some(0));
    assert!(
        !log.contains("owner-password-1") && !log.contains(&token),
        "{log}"
    );
}

fn admin(
    home: &std::path::Path,
    data: &std::path::Path,
    args: &[&str],
    stdin: Option<&str>,
) -> ls_integration::process::Output {
    let mut cmd = command("ls-admin", home);
    cmd.arg("--data-dir").arg(data).args(args);
    run(cmd, stdin)
}

#[test]
fn ls_admin_manages_passwords_activation_and_the_invite_link() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let mut cmd = command("ls-server", home.path());
    cmd.arg("--data-dir").arg(&data).args([
        "start",
        "-p",
        "0",
        "--host",
        "https://labels.example.com/ls/",
        "--username",
        "owner@example.com",
        "--password",
        "owner-password-1",
        "--user-token",
        "owner-token-1",
    ]);
    let server = Server::start(cmd).unwrap();
    let whoami = |token: &str| server.get("/api/current-user/whoami", &[("X-Api-Key", token)]);

    // Invite links are built from the public URL, and a reset changes them.
    let shown = admin(
        home.path(),
        &data,
        &["--config", "/dev/null", "invite", "show"],
        None,
    );
    assert_eq!(shown.code, Some(0), "{shown:?}");
    let mut cfg = command("ls-admin", home.path());
    cfg.env("LABEL_STUDIO_HOST", "https://labels.example.com/ls/")
        .arg("--data-dir")
        .arg(&data)
        .args(["invite", "show"]);
    let link = run(cfg, None).stdout.trim().to_owned();
    assert!(
        link.starts_with("https://labels.example.com/ls/user/signup/?token="),
        "{link}"
    );
    let mut cfg = command("ls-admin", home.path());
    cfg.env("LABEL_STUDIO_HOST", "https://labels.example.com/ls")
        .arg("--data-dir")
        .arg(&data)
        .args(["invite", "reset"]);
    let new_link = run(cfg, None).stdout.trim().to_owned();
    assert!(
        new_link.starts_with("https://labels.example.com/ls/user/signup/?token="),
        "{new_link}"
    );
    assert_ne!(link, new_link);

    // Deactivation takes effect on the running server at once.
    assert_eq!(whoami("owner-token-1").0, 200);
    assert_eq!(
        admin(
            home.path(),
            &data,
            &["user", "deactivate", "--email", "owner@example.com"],
            None
        )
        .code,
        Some(0)
    );
    let (status, body) = whoami("owner-token-1");
    assert_eq!(status, 401);
    assert!(body.contains("User inactive or deleted."), "{body}");
    assert_eq!(
        admin(
            home.path(),
            &data,
            &["user", "activate", "--email", "Owner@Example.com"],
            None
        )
        .code,
        Some(0)
    );
    assert_eq!(whoami("owner-token-1").0, 200);

    // A password from a file, checked by the same policy.
    let file = home.path().join("pw");
    std::fs::write(&file, "password\n").unwrap();
    let weak = admin(
        home.path(),
        &data,
        &[
            "user",
            "set-password",
            "--email",
            "owner@example.com",
            "--password-file",
            file.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(weak.code, Some(2), "{weak:?}");
    assert!(weak.stderr.contains("too common"), "{}", weak.stderr);
    std::fs::write(&file, "a-brand-new-password\n").unwrap();
    let ok = admin(
        home.path(),
        &data,
        &[
            "user",
            "set-password",
            "--email",
            "owner@example.com",
            "--password-file",
            file.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(ok.code, Some(0), "{ok:?}");
    assert!(!ok.stdout.contains("a-brand-new-password"));

    // Unknown users and duplicate emails are input errors.
    assert_eq!(
        admin(
            home.path(),
            &data,
            &["user", "deactivate", "--email", "ghost@example.com"],
            None
        )
        .code,
        Some(2)
    );
    let dup = admin(
        home.path(),
        &data,
        &[
            "user",
            "create",
            "--email",
            "OWNER@example.com",
            "--no-password",
        ],
        None,
    );
    assert_eq!(dup.code, Some(2), "{dup:?}");
    assert!(dup.stderr.contains("already exists"), "{}", dup.stderr);
    let owner = admin(
        home.path(),
        &data,
        &[
            "user",
            "create",
            "--email",
            "x@example.com",
            "--role",
            "owner",
            "--no-password",
        ],
        None,
    );
    assert_eq!(owner.code, Some(2), "{owner:?}");
    let (code, _) = server.stop();
    assert_eq!(code, Some(0));
}
