//! Secrets (passwords, API tokens, session ids, invite tokens) never reach
//! the log, at any level: a full session of the real binary at `trace`,
//! then a search of everything it wrote.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use ls_integration::http::Client;
use ls_integration::process::{Server, command, run};
use serde_json::json;

#[test]
fn a_full_session_at_trace_level_logs_no_secret() {
    let log = full_session("text");
    assert!(
        log.matches("ls_http::access").count() >= 10,
        "requests are logged:\n{log}"
    );
}

/// The same session with `log_format = json`: every line is one JSON
/// object, each request's line has its id, route template, status and
/// latency, and no secret is anywhere.
#[test]
fn the_json_log_is_one_object_a_line_with_request_ids_and_no_secret() {
    let log = full_session("json");
    let mut requests = 0;
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object ({e}): {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
        if v["target"] == "ls_http::access" {
            requests += 1;
            let f = &v["fields"];
            assert!(
                f["route"].as_str().unwrap().starts_with('/') || f["route"] == "unmatched",
                "{line}"
            );
            assert!(f["status"].as_u64().unwrap() >= 100, "{line}");
            assert!(f["latency_ms"].as_f64().unwrap() >= 0.0, "{line}");
            let id = v["span"]["request_id"].as_str().unwrap();
            assert_eq!(id.len(), 32, "{line}");
            // Never the path: it may carry a token.
            assert!(!line.contains("token="), "{line}");
        }
    }
    assert!(requests >= 10, "requests are logged:\n{log}");
}

/// A session touching every kind of secret, logged at trace in `format`:
/// the log, checked for every secret.
fn full_session(format: &str) -> String {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let owner_password = "Owner-Pass-5e3f1";
    let owner_token = "owner-token-8c1d2";
    let mut cmd = command("ls-server", home.path());
    cmd.env("LS_LOG", "trace")
        .env("LS_LOG_FORMAT", format)
        .arg("--data-dir")
        .arg(&data)
        .args([
            "start",
            "-p",
            "0",
            "--username",
            "owner@example.com",
            "--password",
            owner_password,
            "--user-token",
            owner_token,
        ]);
    let server = Server::start(cmd).unwrap();
    let mut secrets: Vec<String> = vec![owner_password.into(), owner_token.into()];

    // The API with a token.
    let mut api = Client::with_token(server.addr, owner_token);
    let member_password = "Member-Pass-77aa1";
    let r = api.json(
        "POST",
        "/api/users",
        &json!({"username": "m", "email": "m@example.com", "password": member_password}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    secrets.push(member_password.into());
    let invite = api.get("/api/invite").json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let reset = api
        .send("POST", "/api/invite/reset-token", &[], None)
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    secrets.extend([invite, reset]);
    assert_eq!(api.get("/api/current-user/token").status, 200);

    // Personal access tokens: create, refresh, use as Bearer, rotate, revoke.
    let pat = api.json("POST", "/api/token/", &json!({})).json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let access = Client::new(server.addr)
        .json("POST", "/api/token/refresh/", &json!({"refresh": pat}))
        .json()["access"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut jwt = Client::new(server.addr);
    jwt.headers
        .push(("Authorization".into(), format!("Bearer {access}")));
    assert_eq!(jwt.get("/api/current-user/whoami").status, 200);
    let rotated = api
        .json("POST", "/api/token/rotate/", &json!({"refresh": pat}))
        .json()["refresh"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        api.json(
            "POST",
            "/api/token/blacklist/",
            &json!({"refresh": rotated})
        )
        .status,
        204
    );
    assert_eq!(jwt.get("/api/current-user/whoami").status, 401);
    // Their signatures are the secret part; the payloads are readable by design.
    for t in [&pat, &access, &rotated] {
        secrets.push(t.rsplit('.').next().unwrap().to_owned());
    }

    // A browser session: login (wrong, then right), API calls with CSRF, logout.
    let mut browser = Client::new(server.addr);
    browser.get("/user/login/");
    let wrong = "Wrong-Pass-0000x";
    browser.form(
        "/user/login/",
        &[("email", "m@example.com"), ("password", wrong)],
    );
    secrets.push(wrong.into());
    let r = browser.form(
        "/user/login/",
        &[("email", "m@example.com"), ("password", member_password)],
    );
    assert_eq!(r.status, 302);
    let sid = browser.cookie("sessionid").unwrap();
    let csrf = browser.cookie("csrftoken").unwrap();
    secrets.extend([sid, csrf.clone()]);
    let r = browser.send(
        "POST",
        "/api/current-user/reset-token",
        &[("X-CSRFToken", &csrf)],
        None,
    );
    assert_eq!(r.status, 201);
    secrets.push(r.json()["token"].as_str().unwrap().to_owned());
    browser.form("/logout/", &[]);

    // ls-admin's token reset, at trace too.
    let mut admin = command("ls-admin", home.path());
    admin
        .env("LS_LOG", "trace")
        .arg("--data-dir")
        .arg(&data)
        .args(["token", "reset", "--email", "owner@example.com"]);
    let out = run(admin, None);
    assert_eq!(out.code, Some(0), "{out:?}");
    let admin_token = out.stdout.trim().to_owned();
    assert!(
        !out.stderr.contains(&admin_token),
        "ls-admin logged the token it printed"
    );
    secrets.push(admin_token);

    let (code, log) = server.stop();
    assert_eq!(code, Some(0));
    assert!(log.contains("DEBUG"), "the log is at trace level:\n{log}");
    let deployment_secret = std::fs::read_to_string(data.join("secret_key")).unwrap();
    secrets.push(deployment_secret.trim().to_owned());
    for s in &secrets {
        assert!(s.len() >= 8);
        assert!(
            !log.contains(s.as_str()),
            "a secret ({}…) is in the log",
            &s[..4]
        );
    }
    log
}
