//! Sign-up email-domain rules on every path that makes an account (issue
//! 17): one table of emails, each tried through the sign-up page, the page
//! from an invite link, an invitation of one person, `POST /api/users` and
//! `ls-admin user create`; a
//! refusal names the email field and stores nothing, and `ls-admin user
//! create --force` is the one deliberate exception. (Single sign-on and the
//! first-run account: `app`'s unit tests, `domain_rules_hold_on_…`.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use ls_integration::http::Client;
use ls_integration::process::{Server, admin_ok, command, owner_server, run};
use ls_integration::server::{OWNER_PASSWORD, OWNER_TOKEN, Options, TestApp, no_throttling};
use serde_json::json;
use signup_policy::domains::{DomainPattern, DomainRules};

/// (email, allowed?)
const TABLE: &[(&str, bool)] = &[
    ("ada@example.com", true),
    ("bob@lab.example.com", true),
    ("cy@deep.lab.EXAMPLE.com", true),
    ("dee@contractors.example.com", false),
    ("eve@x.contractors.example.com", false),
    ("fay@example.org", false),
    ("gus@badexample.com", false),
    ("hal@example.com.evil.org", false),
];

fn rules() -> DomainRules {
    let p = |s| DomainPattern::parse(s).unwrap();
    DomainRules {
        allowed: vec![p("example.com"), p("*.example.com")],
        blocked: vec![p("*.contractors.example.com"), p("contractors.example.com")],
    }
}

/// One way of making an account: (status, body) for (email, username).
type Attempt<'a> = &'a dyn Fn(&str, &str) -> (u16, String);

fn app() -> TestApp {
    TestApp::with(Options {
        throttle: Some(no_throttling()),
        signup_domains: Some(rules()),
        ..Options::default()
    })
}

#[test]
fn the_domain_rules_hold_on_the_page_the_invite_link_and_the_api() {
    let t = app();
    let mut owner = Client::with_token(t.addr, OWNER_TOKEN);
    let invite_url = owner.get("/api/invite").json()["invite_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let owner_page = std::cell::RefCell::new({
        let mut c = Client::new(t.addr);
        c.get("/user/login/");
        let r = c.form(
            "/user/login/",
            &[("email", "owner@example.com"), ("password", OWNER_PASSWORD)],
        );
        assert_eq!(r.status, 302);
        c
    });
    let paths: [(&str, Attempt<'_>); 4] = [
        ("sign-up page", &|email, _| {
            let mut c = Client::new(t.addr);
            c.get("/user/signup/");
            let r = c.form(
                "/user/signup/",
                &[("email", email), ("password", "a-long-password-1")],
            );
            (r.status, r.body)
        }),
        ("invite link's page", &|email, _| {
            let mut c = Client::new(t.addr);
            c.get(&invite_url);
            let r = c.form(
                &invite_url,
                &[("email", email), ("password", "a-long-password-1")],
            );
            (r.status, r.body)
        }),
        ("one-person invitation", &|email, _| {
            let r = owner_page.borrow_mut().form(
                "/organization/invitations",
                &[("email", email), ("role", "member")],
            );
            let Some(at) = r.body.find("id=\"invitation-link\"") else {
                // Refused when it is made: the page says why.
                return (r.status, r.body);
            };
            let rest = &r.body[at..];
            let url = &rest[rest.find("value=\"").unwrap() + 7..];
            let url = url[..url.find('"').unwrap()].replace("&amp;", "&");
            let path = &url[url.find("/user/").unwrap()..];
            let mut c = Client::new(t.addr);
            c.get(path);
            let r = c.form(path, &[("email", email), ("password", "a-long-password-1")]);
            (r.status, r.body)
        }),
        ("POST /api/users", &|email, username| {
            let r = Client::with_token(t.addr, OWNER_TOKEN).json(
                "POST",
                "/api/users",
                &json!({"email": email, "username": username, "password": "a-long-password-1"}),
            );
            (r.status, r.body)
        }),
    ];
    for (i, (path, try_it)) in paths.iter().enumerate() {
        for (n, (email, allowed)) in TABLE.iter().enumerate() {
            // Each path makes its own accounts: a distinct local part.
            let email = email.replacen('@', &format!("{i}@"), 1);
            let before = t.snapshot();
            let (status, body) = try_it(&email, &format!("user{i}x{n}"));
            if *allowed {
                assert!(
                    matches!(status, 201 | 302),
                    "{path}: {email}: {status} {body}"
                );
                assert_ne!(t.snapshot(), before, "{path}: {email} made an account");
            } else {
                assert!(
                    matches!(status, 200 | 400),
                    "{path}: {email}: {status} {body}"
                );
                assert!(
                    body.contains("email domain") || body.contains("email domains"),
                    "{path}: {email}: the refusal says why: {body}"
                );
                if *path == "POST /api/users" {
                    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                    assert!(v["validation_errors"]["email"].is_array(), "{body}");
                }
                assert_eq!(t.snapshot(), before, "{path}: {email} stored nothing");
            }
        }
    }
}

#[test]
fn ls_admin_keeps_the_rules_unless_forced() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let mut cmd = owner_server(home.path(), &data);
    // The first-run owner is owner@example.com: inside the rules.
    cmd.env("LS_SIGNUP_ALLOWED_DOMAINS", "example.com,*.example.com")
        .env(
            "LS_SIGNUP_BLOCKED_DOMAINS",
            "contractors.example.com,*.contractors.example.com",
        );
    let _server = Server::start(cmd).unwrap();
    let h = home.path();
    for (email, allowed) in TABLE {
        let mut cmd = command("ls-admin", h);
        cmd.env("LS_SIGNUP_ALLOWED_DOMAINS", "example.com,*.example.com")
            .env(
                "LS_SIGNUP_BLOCKED_DOMAINS",
                "contractors.example.com,*.contractors.example.com",
            )
            .arg("--data-dir")
            .arg(&data)
            .args(["user", "create", "--email", email, "--no-password"]);
        let out = run(cmd, None);
        if *allowed {
            assert_eq!(out.code, Some(0), "{email}: {out:?}");
        } else {
            assert_eq!(out.code, Some(2), "{email}: {out:?}");
            assert!(
                out.stderr.contains("email:") && out.stderr.contains("--force"),
                "{out:?}"
            );
        }
    }
    let before = admin_ok(h, &data, &["user", "list", "--json"], None);
    assert!(!before.contains("fay@example.org"));
    let mut cmd = command("ls-admin", h);
    cmd.env("LS_SIGNUP_ALLOWED_DOMAINS", "example.com")
        .arg("--data-dir")
        .arg(&data)
        .args([
            "user",
            "create",
            "--email",
            "fay@example.org",
            "--no-password",
            "--force",
        ]);
    let out = run(cmd, None);
    assert_eq!(out.code, Some(0), "--force: {out:?}");
    let after = admin_ok(h, &data, &["user", "list", "--json"], None);
    assert!(after.contains("fay@example.org"));
}

#[test]
fn a_bad_pattern_stops_the_start_with_the_setting_named() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let mut cmd = owner_server(home.path(), &data);
    cmd.env("LS_SIGNUP_ALLOWED_DOMAINS", "example.com,ex*mple.org");
    let out = run(cmd, None);
    assert_ne!(out.code, Some(0));
    assert!(
        out.stderr.contains("signup_allowed_domains") && out.stderr.contains("ex*mple.org"),
        "{out:?}"
    );
}
