//! `ls-admin` writes to the database while `ls-server` serves from it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::thread;

use ls_integration::process::{Server, admin, command, owner_server, run, without_throttling};
use serde_json::Value;

#[test]
fn ls_admin_creates_users_while_the_server_runs() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let server = Server::start(owner_server(home.path(), &data)).unwrap();
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

#[test]
fn ls_admin_under_client_load_never_causes_a_5xx() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use ls_integration::http::Client;

    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let mut cmd = command("ls-server", home.path());
    // Six clients logging in as one account in a loop, by design.
    without_throttling(&mut cmd);
    cmd.arg("--data-dir").arg(&data).args([
        "start",
        "-p",
        "0",
        "--username",
        "owner@example.com",
        "--password",
        "owner-password-1",
    ]);
    let server = Server::start(cmd).unwrap();
    let addr = server.addr;
    for i in 0..6 {
        let out = admin(
            home.path(),
            &data,
            &[
                "user",
                "create",
                "--email",
                &format!("load{i}@example.com"),
                "--password-stdin",
            ],
            Some("load-password-1\n"),
        );
        assert_eq!(out.code, Some(0), "{out:?}");
    }

    let stop = Arc::new(AtomicBool::new(false));
    let requests = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..6)
        .map(|i| {
            let (stop, requests) = (Arc::clone(&stop), Arc::clone(&requests));
            std::thread::spawn(move || {
                let email = format!("load{i}@example.com");
                let mut statuses = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let mut c = Client::new(addr);
                    c.get("/user/login/");
                    statuses.push(
                        c.form(
                            "/user/login/",
                            &[("email", &email), ("password", "load-password-1")],
                        )
                        .status,
                    );
                    statuses.push(c.get("/api/current-user/whoami").status);
                    statuses.push(c.form("/logout/", &[]).status);
                    requests.fetch_add(3, Ordering::Relaxed);
                }
                statuses
            })
        })
        .collect();

    // Meanwhile the operator works: every command within the busy timeout.
    let mut slowest = Duration::ZERO;
    for round in 0..3 {
        for args in [
            vec![
                "user",
                "set-password",
                "--email",
                "load0@example.com",
                "--password-stdin",
            ],
            vec!["user", "deactivate", "--email", "load1@example.com"],
            vec!["user", "activate", "--email", "load1@example.com"],
            vec!["token", "reset", "--email", "load2@example.com"],
            vec!["invite", "reset"],
        ] {
            let started = Instant::now();
            let out = admin(
                home.path(),
                &data,
                &args,
                Some(&format!("changed-password-{round}\n")),
            );
            slowest = slowest.max(started.elapsed());
            assert_eq!(out.code, Some(0), "{args:?}: {out:?}");
            assert!(!out.stderr.contains("locked"), "{}", out.stderr);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let statuses: Vec<u16> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert!(
        slowest < Duration::from_secs(10),
        "slowest ls-admin command took {slowest:?}"
    );
    assert!(
        statuses.len() > 30,
        "the clients ran: {} requests",
        statuses.len()
    );
    let bad: Vec<&u16> = statuses.iter().filter(|s| **s >= 500 || **s == 0).collect();
    assert!(bad.is_empty(), "server errors under ls-admin: {bad:?}");
    // Logins answered as the account allowed at the time: 302, or the form again (200).
    assert!(
        statuses.iter().all(|s| [200, 302, 401].contains(s)),
        "{statuses:?}"
    );
    let (code, log) = server.stop();
    assert_eq!(code, Some(0));
    assert!(!log.contains("locked") && !log.contains("ERROR"), "{log}");
}
