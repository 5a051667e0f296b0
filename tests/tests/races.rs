//! Racing requests: one account per email, one organization, one valid
//! invite link, and never a 5xx.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::sync::{Arc, Barrier};

use ls_integration::http::Client;
use ls_integration::process::{command, run};
use ls_integration::server::{OWNER_TOKEN, Options, TestApp, no_throttling};
use serde_json::{Value, json};

/// Letter-case variants of one address.
fn variant(i: usize) -> String {
    "race@example.com"
        .chars()
        .enumerate()
        .map(|(k, c)| {
            if (i >> (k % 8)) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

#[test]
fn fifty_concurrent_creations_of_one_email_make_one_account() {
    let t = TestApp::start();
    let addr = t.addr;
    let barrier = Arc::new(Barrier::new(50));
    let workers: Vec<_> = (0..50)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut c = Client::with_token(addr, OWNER_TOKEN);
                barrier.wait();
                c.json("POST", "/api/users", &json!({"username": format!("r{i}"), "email": variant(i), "password": "race-password-1"}))
            })
        })
        .collect();
    let answers: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let created = answers.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        created,
        1,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in answers.iter().filter(|r| r.status != 201) {
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(
            r.json()["validation_errors"]["email"][0],
            "User with this email already exists"
        );
    }
    let users = Client::with_token(addr, OWNER_TOKEN)
        .get("/api/users")
        .json();
    let matching: Vec<&Value> = users
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["email"] == "race@example.com")
        .collect();
    assert_eq!(matching.len(), 1);
    let id = users[0]["active_organization"].as_i64().unwrap();
    let members = Client::with_token(addr, OWNER_TOKEN)
        .get(&format!("/api/organizations/{id}/memberships?page_size=-1"))
        .json();
    let memberships = members["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["user"]["email"] == "race@example.com")
        .count();
    assert_eq!(memberships, 1);
}

#[test]
fn concurrent_sign_ups_on_the_page_make_one_account_and_never_a_5xx() {
    // 50 sign-ups from one address: the flood limit would answer most.
    let t = TestApp::with(Options {
        throttle: Some(no_throttling()),
        ..Options::default()
    });
    let addr = t.addr;
    let before = t.user_count();
    let barrier = Arc::new(Barrier::new(50));
    let workers: Vec<_> = (0..50)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut c = Client::new(addr);
                c.get("/user/signup/");
                barrier.wait();
                c.form(
                    "/user/signup/",
                    &[("email", &variant(i)), ("password", "race-password-1")],
                )
            })
        })
        .collect();
    let answers: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    assert_eq!(answers.iter().filter(|r| r.status == 302).count(), 1);
    // The page answers like Label Studio's form (API.md): the form again,
    // with the message beside the email field; never a 5xx.
    for r in answers.iter().filter(|r| r.status != 302) {
        assert_eq!(r.status, 200, "{}", r.status);
        assert!(
            r.body.contains("User with this email already exists"),
            "{}",
            r.body
        );
    }
    assert_eq!(t.user_count(), before + 1);
}

#[test]
fn concurrent_invite_resets_leave_exactly_one_valid_link() {
    let t = TestApp::start();
    let addr = t.addr;
    let barrier = Arc::new(Barrier::new(16));
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut c = Client::with_token(addr, OWNER_TOKEN);
                barrier.wait();
                c.send("POST", "/api/invite/reset-token", &[], None)
            })
        })
        .collect();
    let tokens: Vec<String> = workers
        .into_iter()
        .map(|w| {
            let r = w.join().unwrap();
            assert_eq!(r.status, 201, "{}", r.body);
            r.json()["token"].as_str().unwrap().to_owned()
        })
        .collect();
    let valid: Vec<&String> = tokens
        .iter()
        .filter(|tok| t.block_on(t.services.signup_gate(Some(tok))).is_ok())
        .collect();
    assert_eq!(
        valid.len(),
        1,
        "exactly one of the {} links is current",
        tokens.len()
    );
    let current = Client::with_token(addr, OWNER_TOKEN)
        .get("/api/invite")
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(valid[0], &current);
}

#[test]
fn first_run_bootstrap_racing_ls_admin_makes_one_user_and_one_organization() {
    for round in 0..3 {
        let home = tempfile::tempdir().unwrap();
        let data = home.path().join("data");
        let mut server = command("ls-server", home.path());
        server.arg("--data-dir").arg(&data).args([
            "start",
            "-p",
            "0",
            "--username",
            "same@example.com",
            "--password",
            "server-password-1",
        ]);
        let mut admin = command("ls-admin", home.path());
        admin.arg("--data-dir").arg(&data).args([
            "user",
            "create",
            "--email",
            "SAME@example.com",
            "--password-stdin",
        ]);
        let admin = std::thread::spawn(move || run(admin, Some("admin-password-1\n")));
        let srv = ls_integration::process::Server::start(server).unwrap();
        let out = admin.join().unwrap();
        // Whoever came second was told the account exists.
        assert!(
            out.code == Some(0) || out.stderr.contains("already exists"),
            "round {round}: {out:?}"
        );
        let (code, log) = srv.stop();
        assert_eq!(code, Some(0), "{log}");
        let mut list = command("ls-admin", home.path());
        list.arg("--data-dir")
            .arg(&data)
            .args(["user", "list", "--json"]);
        let users: Value = serde_json::from_str(&run(list, None).stdout).unwrap();
        let users = users.as_array().unwrap();
        assert_eq!(users.len(), 1, "round {round}: {users:?}");
        assert_eq!(users[0]["role"], "owner");
        assert_eq!(users[0]["active_organization"], 1, "one organization");
    }
}
