//! The audit log (issue 17): every action writes exactly one entry, with
//! who, what, on whom and from where, never a secret; a refused action
//! writes none; the API pages through it by keyset; `ls-admin audit export
//! --jsonl` writes it all; and a server killed in the middle of actions
//! leaves each one with its entry or neither.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ls_integration::http::{Client, Response, request};
use ls_integration::process::{Server, admin_ok, owner_server};
use ls_integration::server::{
    OWNER_EMAIL, OWNER_PASSWORD, OWNER_TOKEN, Options, TestApp, no_throttling,
};
use orgs::Role;
use serde_json::{Value, json};

fn logged_in(t: &TestApp, email: &str, password: &str) -> Client {
    let mut c = Client::new(t.addr);
    c.get("/user/login/");
    let r = c.form("/user/login/", &[("email", email), ("password", password)]);
    assert_eq!(r.status, 302, "{}", r.body);
    c
}

/// Every entry, newest first, through the API's pages.
fn entries(t: &TestApp) -> Vec<Value> {
    let mut api = Client::with_token(t.addr, OWNER_TOKEN);
    let mut out = Vec::new();
    let mut path = "/api/audit-log?limit=7".to_owned();
    loop {
        let r = api.get(&path);
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        out.extend(v["results"].as_array().unwrap().iter().cloned());
        match v["next"].as_str() {
            Some(next) => path = next[next.find("/api/").unwrap()..].to_owned(),
            None => return out,
        }
    }
}

fn value_of(r: &Response, id: &str) -> String {
    let at = r.body.find(&format!("id=\"{id}\"")).unwrap();
    let rest = &r.body[at..];
    let v = &rest[rest.find("value=\"").unwrap() + 7..];
    v[..v.find('"').unwrap()].replace("&amp;", "&")
}

#[test]
fn every_action_writes_exactly_one_entry_and_a_refusal_none() {
    let t = TestApp::with(Options {
        throttle: Some(no_throttling()),
        ..Options::default()
    });
    let (member_id, _) = t.add_user(
        "member@example.com",
        Role::Member,
        Some("member-password-1"),
    );
    let (admin_id, _) = t.add_user(
        "admin@example.com",
        Role::Administrator,
        Some("admin-password-1"),
    );
    let mut owner = logged_in(&t, OWNER_EMAIL, OWNER_PASSWORD);
    let mut member = logged_in(&t, "member@example.com", "member-password-1");
    let mut api = Client::with_token(t.addr, OWNER_TOKEN);

    let step = |what: &str, action: &str, run: &mut dyn FnMut() -> u16, ok: u16| {
        let before = entries(&t).len();
        assert_eq!(run(), ok, "{what}");
        let after = entries(&t);
        assert_eq!(
            after.len(),
            before + usize::from(!action.is_empty()),
            "{what}: {:?}",
            &after[..after.len().min(3)]
        );
        if !action.is_empty() {
            let e = &after[0];
            assert_eq!(e["action"], action, "{what}: {e}");
            assert_eq!(e["client"], "127.0.0.1", "{what}: {e}");
        }
    };
    step(
        "a refused role change",
        "",
        &mut || {
            member
                .form(
                    &format!("/organization/members/{admin_id}/role"),
                    &[("role", "member")],
                )
                .status
        },
        403,
    );
    step(
        "a role change",
        "member.role_changed",
        &mut || {
            owner
                .form(
                    &format!("/organization/members/{member_id}/role"),
                    &[("role", "administrator")],
                )
                .status
        },
        302,
    );
    step(
        "back through the API",
        "member.role_changed",
        &mut || {
            let org = t
                .block_on(t.services.find_user(OWNER_EMAIL))
                .unwrap()
                .active_organization
                .unwrap();
            api.json(
                "PATCH",
                &format!("/api/organizations/{org}/memberships/{member_id}"),
                &json!({"role": "member"}),
            )
            .status
        },
        200,
    );
    step(
        "a deactivation",
        "user.deactivated",
        &mut || {
            owner
                .form(
                    &format!("/organization/members/{member_id}/deactivate"),
                    &[],
                )
                .status
        },
        302,
    );
    step(
        "a re-activation",
        "user.activated",
        &mut || {
            owner
                .form(&format!("/organization/members/{member_id}/activate"), &[])
                .status
        },
        302,
    );
    let mut link = String::new();
    step(
        "a reset link",
        "password.reset_link_made",
        &mut || {
            let r = owner.form(
                &format!("/organization/members/{member_id}/reset-link"),
                &[],
            );
            let url = value_of(&r, "reset-url");
            link = url[url.find("/user/").unwrap()..].to_owned();
            r.status
        },
        200,
    );
    let mut anyone = Client::new(t.addr);
    anyone.get("/user/login/");
    step(
        "a reset link refused (too short)",
        "",
        &mut || anyone.form(&link, &[("password", "short")]).status,
        400,
    );
    step(
        "a password set through it",
        "password.reset",
        &mut || {
            anyone
                .form(&link, &[("password", "member-password-2")])
                .status
        },
        200,
    );
    let mut member = logged_in(&t, "member@example.com", "member-password-2");
    step(
        "a wrong current password",
        "",
        &mut || {
            member
                .form(
                    "/user/account/password",
                    &[
                        ("current_password", "nope-nope-nope"),
                        ("new_password", "member-password-3"),
                    ],
                )
                .status
        },
        400,
    );
    step(
        "a password change",
        "password.changed",
        &mut || {
            member
                .form(
                    "/user/account/password",
                    &[
                        ("current_password", "member-password-2"),
                        ("new_password", "member-password-3"),
                    ],
                )
                .status
        },
        302,
    );
    step(
        "a personal access token",
        "personal_token.created",
        &mut || {
            member
                .form("/user/account/tokens", &[("password", "member-password-3")])
                .status
        },
        200,
    );
    step(
        "an API token reset",
        "token.reset",
        &mut || member.form("/user/account/reset-token", &[]).status,
        200,
    );
    step(
        "the invite link reset",
        "invite_link.reset",
        &mut || owner.form("/organization/reset-link", &[]).status,
        302,
    );
    step(
        "an invitation",
        "invitation.created",
        &mut || {
            owner
                .form(
                    "/organization/invitations",
                    &[("email", "guest@example.com"), ("role", "member")],
                )
                .status
        },
        200,
    );
    step(
        "an invitation refused (an account has it)",
        "",
        &mut || {
            owner
                .form(
                    "/organization/invitations",
                    &[("email", "admin@example.com"), ("role", "member")],
                )
                .status
        },
        200,
    );
    step(
        "a sign-up",
        "user.created",
        &mut || {
            let mut c = Client::new(t.addr);
            c.get("/user/signup/");
            c.form(
                "/user/signup/",
                &[
                    ("email", "new@example.com"),
                    ("password", "new-password-12"),
                ],
            )
            .status
        },
        302,
    );
    step(
        "a removal",
        "member.removed",
        &mut || {
            owner
                .form(&format!("/organization/members/{member_id}/remove"), &[])
                .status
        },
        302,
    );
    step(
        "the ownership handed over",
        "organization.ownership_transferred",
        &mut || {
            owner
                .form(&format!("/organization/members/{admin_id}/transfer"), &[])
                .status
        },
        302,
    );

    // What an entry holds: who, on whom, never a secret.
    let all = entries(&t);
    let transfer = &all[0];
    assert_eq!(transfer["actor"], OWNER_EMAIL);
    assert_eq!(transfer["target"], "admin@example.com");
    let text = serde_json::to_string(&all).unwrap();
    for secret in [
        "member-password-2",
        "member-password-3",
        OWNER_TOKEN,
        &link[link.find("token=").unwrap() + 6..],
    ] {
        assert!(!text.contains(secret), "the log holds a secret: {secret}");
    }
    // A member may not read it; filters narrow it.
    let r = request(t.addr, "GET", "/api/audit-log", &[], None);
    assert_eq!(r.status, 401);
    let r = Client::with_token(t.addr, &t.add_user("x@example.com", Role::Member, None).1)
        .get("/api/audit-log");
    assert_eq!(r.status, 403);
    let r = api.get("/api/audit-log?action=password.");
    let actions: BTreeSet<String> = r.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actions,
        BTreeSet::from([
            "password.changed".into(),
            "password.reset".into(),
            "password.reset_link_made".into()
        ])
    );
    let r = api.get("/api/audit-log?person=guest@");
    assert_eq!(r.json()["results"].as_array().unwrap().len(), 1);
    assert_eq!(api.get("/api/audit-log?before=abc").status, 400);
    // The page, for the owner.
    let r = owner.get("/organization/audit/?action=member.");
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("member.removed") && !r.body.contains("password.changed"),
        "{}",
        r.body
    );
}

#[test]
fn a_lockout_is_recorded_once() {
    let t = TestApp::start();
    let mut c = Client::new(t.addr);
    c.get("/user/login/");
    for _ in 0..12 {
        c.form(
            "/user/login/",
            &[("email", OWNER_EMAIL), ("password", "wrong-password-1")],
        );
    }
    let locks: Vec<Value> = entries(&t)
        .into_iter()
        .filter(|e| e["action"] == "throttle.locked")
        .collect();
    assert_eq!(locks.len(), 1, "{locks:?}");
    assert_eq!(locks[0]["target"], format!("login:account:{OWNER_EMAIL}"));
}

/// Users created through the API, acknowledged or not, while the server is
/// killed: each account has its `user.created` entry and each entry its
/// account, and every acknowledged one has both.
#[test]
fn a_server_killed_mid_action_leaves_each_change_with_its_entry_or_neither() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let mut acked = BTreeSet::new();
    for cycle in 0..3 {
        let server = Server::start(owner_server(home.path(), &data)).unwrap();
        let addr = server.addr;
        let stop = Arc::new(AtomicBool::new(false));
        let got = Arc::new(Mutex::new(Vec::new()));
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let (stop, got) = (Arc::clone(&stop), Arc::clone(&got));
                std::thread::spawn(move || {
                    for i in 0.. {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let email = format!("c{cycle}w{w}n{i}@example.com");
                        let body = serde_json::to_vec(
                            &json!({"email": email, "username": format!("c{cycle}w{w}n{i}")}),
                        )
                        .unwrap();
                        let r = std::panic::catch_unwind(|| {
                            request(
                                addr,
                                "POST",
                                "/api/users",
                                &[
                                    ("Authorization", "Token owner-token-1"),
                                    ("Content-Type", "application/json"),
                                ],
                                Some(&body),
                            )
                        });
                        match r {
                            Ok(r) if r.status == 201 => got.lock().unwrap().push(email),
                            Ok(_) => {}
                            Err(_) => break,
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(700 + 150 * cycle));
        server.kill();
        stop.store(true, Ordering::SeqCst);
        for w in workers {
            let _ = w.join();
        }
        acked.extend(got.lock().unwrap().iter().cloned());
    }
    let users: BTreeSet<String> = serde_json::from_str::<Value>(&admin_ok(
        home.path(),
        &data,
        &["user", "list", "--json"],
        None,
    ))
    .unwrap()
    .as_array()
    .unwrap()
    .iter()
    .map(|u| u["email"].as_str().unwrap().to_owned())
    .filter(|e| e != "owner@example.com")
    .collect();
    let export = admin_ok(home.path(), &data, &["audit", "export", "--jsonl"], None);
    let created: BTreeSet<String> = export
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["action"] == "user.created" && e["detail"] == "administrator")
        .map(|e| e["target"].as_str().unwrap().to_owned())
        .collect();
    println!(
        "{} acknowledged, {} stored, {} entries",
        acked.len(),
        users.len(),
        created.len()
    );
    assert!(
        !acked.is_empty(),
        "no request was acknowledged before the kills"
    );
    assert_eq!(
        users, created,
        "an account without its entry, or an entry without its account"
    );
    assert!(acked.is_subset(&users), "an acknowledged account was lost");
}
