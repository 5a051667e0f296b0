//! Two `ls-server` instances on one PostgreSQL behind nginx (Debian's, on
//! loopback): nothing lives in process memory, so what one instance (or
//! `ls-admin`) changes holds on the other from the very next request.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;

use ls_integration::http::{Client, request};
use ls_integration::nginx::{free_port, nginx};
use ls_integration::process::{Server, command, run};

const SECRET: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
const OWNER_TOKEN: &str = "scale-owner-token-1";

fn instance(home: &Path, url: &str, public: &str, bootstrap: bool) -> Server {
    let mut cmd = command("ls-server", home);
    cmd.env("LS_SECRET_KEY", SECRET)
        .env("LABEL_STUDIO_HOST", public)
        .arg("--database-url")
        .arg(url)
        .args(["start", "-p", "0"]);
    if bootstrap {
        cmd.args([
            "--username",
            "owner@example.com",
            "--password",
            "owner-password-1",
            "--user-token",
            OWNER_TOKEN,
        ]);
    }
    Server::start(cmd).unwrap()
}

fn whoami(addr: std::net::SocketAddr, headers: &[(&str, &str)]) -> u16 {
    request(addr, "GET", "/api/current-user/whoami", headers, None).status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_behind_nginx_share_everything() {
    let db = ls_integration::pg::PgDatabase::create("scale").await;
    let url = db.url.clone();

    let home = tempfile::tempdir().unwrap();
    let lb_port = free_port();
    let public = format!("http://127.0.0.1:{lb_port}");
    let a = instance(&home.path().join("a"), &url, &public, true);
    let b = instance(&home.path().join("b"), &url, &public, false);
    let lb_dir = home.path().join("nginx");
    std::fs::create_dir_all(&lb_dir).unwrap();
    let _lb = nginx(&lb_dir, lb_port, &[a.addr, b.addr]);
    let lb: std::net::SocketAddr = format!("127.0.0.1:{lb_port}").parse().unwrap();

    // A session made through the balancer works on both instances.
    let mut browser = Client::new(lb);
    browser.get("/user/login/");
    let r = browser.form(
        "/user/login/",
        &[
            ("email", "owner@example.com"),
            ("password", "owner-password-1"),
        ],
    );
    assert_eq!(r.status, 302, "{}", r.body);
    let sid = browser.cookie("sessionid").unwrap();
    let csrf = browser.cookie("csrftoken").unwrap();
    let cookie = format!("sessionid={sid}; csrftoken={csrf}");
    for _ in 0..6 {
        assert_eq!(
            browser.get("/api/current-user/whoami").status,
            200,
            "through nginx, alternating instances"
        );
    }
    assert_eq!(whoami(a.addr, &[("Cookie", &cookie)]), 200);
    assert_eq!(whoami(b.addr, &[("Cookie", &cookie)]), 200);

    // Logout through A ends the session on B at once.
    let body = format!("csrfmiddlewaretoken={csrf}");
    let r = request(
        a.addr,
        "POST",
        "/logout/",
        &[
            ("Cookie", &cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        Some(body.as_bytes()),
    );
    assert_eq!(r.status, 302);
    assert_eq!(whoami(b.addr, &[("Cookie", &cookie)]), 401);

    // A token reset on A: the old token fails on B, the new one works there.
    let auth = format!("Token {OWNER_TOKEN}");
    let r = request(
        a.addr,
        "POST",
        "/api/current-user/reset-token",
        &[("Authorization", &auth)],
        None,
    );
    let new = r.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(whoami(b.addr, &[("Authorization", &auth)]), 401);
    let new_auth = format!("Token {new}");
    assert_eq!(whoami(b.addr, &[("Authorization", &new_auth)]), 200);

    // An invite reset on B: A refuses the old link.
    let old = request(
        a.addr,
        "GET",
        "/api/invite",
        &[("Authorization", &new_auth)],
        None,
    )
    .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = request(
        b.addr,
        "POST",
        "/api/invite/reset-token",
        &[("Authorization", &new_auth)],
        None,
    );
    assert_eq!(r.status, 201);
    let stale = request(
        a.addr,
        "GET",
        &format!("/user/signup/?token={old}"),
        &[],
        None,
    );
    assert!(
        stale.status == 403 && stale.body.contains("no longer valid"),
        "{}",
        stale.status
    );

    // ls-admin without the shared secret is refused, before it can write anything.
    let mut stray = command("ls-admin", home.path());
    stray
        .arg("--database-url")
        .arg(&url)
        .args(["token", "reset", "--email", "owner@example.com"]);
    let out = run(stray, None);
    assert_ne!(out.code, Some(0));
    assert!(out.stderr.contains("LS_SECRET_KEY"), "{}", out.stderr);

    // ls-admin on the same database: password change and deactivation hold everywhere.
    let mut member = Client::new(lb);
    member.get("/user/login/");
    let r = member.form(
        &format!(
            "/user/signup/?token={}",
            r.json()["token"].as_str().unwrap()
        ),
        &[
            ("email", "m@example.com"),
            ("password", "member-password-1"),
        ],
    );
    assert_eq!(r.status, 302, "{}", r.body);
    let member_cookie = format!("sessionid={}", member.cookie("sessionid").unwrap());
    let mut pw = command("ls-admin", home.path());
    pw.env("LS_SECRET_KEY", SECRET)
        .arg("--database-url")
        .arg(&url)
        .args([
            "user",
            "set-password",
            "--email",
            "m@example.com",
            "--password-stdin",
        ]);
    assert_eq!(run(pw, Some("another-password-2\n")).code, Some(0));
    assert_eq!(whoami(a.addr, &[("Cookie", &member_cookie)]), 401);
    assert_eq!(whoami(b.addr, &[("Cookie", &member_cookie)]), 401);
    let mut off = command("ls-admin", home.path());
    off.env("LS_SECRET_KEY", SECRET)
        .arg("--database-url")
        .arg(&url)
        .args(["user", "deactivate", "--email", "owner@example.com"]);
    assert_eq!(run(off, None).code, Some(0));
    assert_eq!(whoami(a.addr, &[("Authorization", &new_auth)]), 401);
    assert_eq!(whoami(b.addr, &[("Authorization", &new_auth)]), 401);

    a.stop();
    b.stop();
    db.drop_database().await;
}
