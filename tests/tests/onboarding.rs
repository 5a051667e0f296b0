//! A team behind one address onboards (issue 14, point 1): per-address
//! limits count failures only, with the contract's defaults (API.md), over
//! the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use ls_integration::http::Client;
use ls_integration::process::{Server, owner_server};

/// 150 people sign up through the invite link from one address and log in
/// (the page, then the API with the session), and none sees a 429; then 300
/// wrong passwords from that address, for other accounts, make the next
/// attempt 429.
#[test]
fn a_team_behind_one_address_onboards_and_only_failures_count() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = owner_server(home.path(), &home.path().join("data"));
    cmd.env("LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK", "true");
    let server = Server::start(cmd).unwrap();
    let addr = server.addr;
    let invite = Client::with_token(addr, "owner-token-1")
        .get("/api/invite")
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let signup = format!("/user/signup/?token={invite}");
    let people = 150;
    for i in 0..people {
        let email = format!("annotator{i}@example.com");
        let mut browser = Client::new(addr);
        browser.get(&signup);
        let r = browser.form(
            &signup,
            &[("email", &email), ("password", "team-password-1")],
        );
        assert_eq!(r.status, 302, "sign-up {i}: {}", r.body);
        assert!(
            r.cookie("ls_device").is_some(),
            "a new account's browser is known from its sign-up"
        );
        let mut again = Client::new(addr);
        again.get("/user/login/");
        let r = again.form(
            "/user/login/",
            &[("email", &email), ("password", "team-password-1")],
        );
        assert_eq!(r.status, 302, "login {i}: {}", r.body);
        let me = again.get("/api/current-user/whoami");
        assert_eq!(me.status, 200, "the API with the session, {i}: {}", me.body);
    }
    // 300 failures, two for each of the accounts (each far from its own
    // limit of 10), from the same address: the address's limit.
    let mut attacker = Client::new(addr);
    attacker.get("/user/login/");
    for n in 0..300 {
        let email = format!("annotator{}@example.com", n % people);
        let r = attacker.form(
            "/user/login/",
            &[("email", &email), ("password", "a-wrong-guess")],
        );
        assert_eq!(
            r.status, 200,
            "failure {n} is an ordinary refusal: {}",
            r.body
        );
    }
    let r = attacker.form(
        "/user/login/",
        &[
            ("email", "annotator0@example.com"),
            ("password", "team-password-1"),
        ],
    );
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").is_some());
    server.stop();
}
