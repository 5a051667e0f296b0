//! The hostile suite: attacks over real HTTP against the real server, each
//! followed by a check that nothing stored was created or changed
//! (`snapshot`: every user, membership, organization, token, retired invite
//! and session row). SECURITY.md maps each promise to these tests.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::time::{Duration, Instant};

use ls_integration::http::{Client, Response, form_encode, request};
use ls_integration::process::{Server, command};
use ls_integration::server::{
    OWNER_EMAIL, OWNER_PASSWORD, OWNER_TOKEN, Options, TestApp, no_throttling,
};
use orgs::Role;
use serde_json::json;

fn browser(t: &TestApp) -> Client {
    let mut c = Client::new(t.addr);
    assert_eq!(c.get("/user/login/").status, 200);
    c
}

fn invite_of(c: &mut Client) -> String {
    c.get("/api/invite").json()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn assert_no_5xx(r: &Response, what: &str) {
    assert!(
        (400..500).contains(&r.status) || r.status == 200 || r.status == 302,
        "{what}: {} {}",
        r.status,
        r.body
    );
}

/// With sign-up restricted, no request without a valid, current invite link
/// creates an account, whatever its shape; a valid link joins its own
/// organization.
#[test]
fn invite_only_admits_no_request_without_a_current_link() {
    let t = TestApp::with(Options {
        invite_only: true,
        organization_creation: true,
        ..Options::default()
    });
    let mut owner = Client::with_token(t.addr, OWNER_TOKEN);
    let first_org = owner.get("/api/current-user/whoami").json()["active_organization"]
        .as_i64()
        .unwrap();
    // A second organization, whose first link is then retired by a reset.
    let r = owner.json("POST", "/api/organizations", &json!({"title": "Second"}));
    assert_eq!(r.status, 201, "{}", r.body);
    let second_org = r.json()["id"].as_i64().unwrap();
    // Each organization's link before and after a reset.
    let mut links = |org: i64| {
        let r = owner.json(
            "PATCH",
            "/api/current-user",
            &json!({"active_organization": org}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let old = invite_of(&mut owner);
        let r = owner.send("POST", "/api/invite/reset-token", &[], None);
        (old, r.json()["token"].as_str().unwrap().to_owned())
    };
    let (second_old, second_new) = links(second_org);
    let (first_old, first) = links(first_org);

    let before = t.snapshot();
    let mut c = browser(&t);
    let fields = [
        ("email", "intruder@example.com"),
        ("password", "intruder-pass-1"),
    ];
    let upper = first.to_uppercase();
    let lower = first.to_lowercase();
    let mut queries = vec![
        String::new(),
        "?token=".into(),
        "?token".into(),
        format!("?token={first}&token={first}"),
        format!("?token={first_old}&token={first}"),
        format!("?token[]={first}"),
        format!("?token[0]={first}"),
        format!("?token=%20{first}"),
        format!("?token={first}%20"),
        format!("?token={first}+"),
        format!("?token=%09{first}"),
        format!("?TOKEN={first}"),
        format!("?token={first_old}"),
        format!("?token={second_old}"),
        format!("?token={}", &first[..first.len() - 1]),
        format!("?token={first}A"),
        "?token=guess".into(),
    ];
    if upper != first {
        queries.push(format!("?token={upper}"));
    }
    if lower != first {
        queries.push(format!("?token={lower}"));
    }
    for q in &queries {
        let r = c.form(&format!("/user/signup/{q}"), &fields);
        assert_eq!(r.status, 403, "{q}: {}", r.body);
        assert_eq!(t.snapshot(), before, "{q} changed something");
    }
    // The token in the body instead of the query.
    for body_field in ["token", "invite", "invite_token"] {
        let r = c.form(
            "/user/signup/",
            &[
                ("email", "intruder@example.com"),
                ("password", "intruder-pass-1"),
                (body_field, &first),
            ],
        );
        assert_eq!(r.status, 403, "{body_field}: {}", r.body);
    }
    // A GET with everything in the query creates nothing, even with a valid link.
    let r = c.get(&format!(
        "/user/signup/?token={first}&email=intruder%40example.com&password=intruder-pass-1"
    ));
    assert_eq!(r.status, 200);
    // A valid link without the CSRF token: refused.
    let r = request(
        t.addr,
        "POST",
        &format!("/user/signup/?token={first}"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(form_encode(&fields).as_bytes()),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // The API's account-creating path is for managers only.
    let body = json!({"email": "intruder@example.com", "password": "intruder-pass-1"});
    let r = Client::new(t.addr).json("POST", "/api/users", &body);
    assert_eq!(r.status, 401);
    let r = Client::with_token(t.addr, "not-a-token").json("POST", "/api/users", &body);
    assert_eq!(r.status, 401);
    let (_, member_key) = t.add_user("member@example.com", Role::Member, None);
    let member_made = t.snapshot();
    let r = Client::with_token(t.addr, &member_key).json("POST", "/api/users", &body);
    assert_eq!(r.status, 403);
    // An invite token is no credential anywhere else.
    for header in [
        ("Authorization", format!("Token {first}")),
        ("X-Api-Key", first.clone()),
        ("Authorization", format!("Bearer {first}")),
    ] {
        let r = request(
            t.addr,
            "POST",
            "/api/users",
            &[
                (header.0, header.1.as_str()),
                ("Content-Type", "application/json"),
            ],
            Some(body.to_string().as_bytes()),
        );
        assert_eq!(r.status, 401, "{header:?}");
    }
    assert_eq!(t.snapshot(), member_made);
    assert_ne!(member_made, before, "the operator path creates accounts");

    // The current link of the second organization joins the second organization.
    let mut joiner = browser(&t);
    let r = joiner.form(
        &format!("/user/signup/?token={second_new}"),
        &[
            ("email", "joiner@example.com"),
            ("password", "joiner-pass-12"),
        ],
    );
    assert_eq!(r.status, 302, "{}", r.body);
    let me = joiner.get("/api/current-user/whoami").json();
    assert_eq!(me["active_organization"], second_org, "{me}");
    let members = owner
        .get(&format!(
            "/api/organizations/{second_org}/memberships?page_size=-1"
        ))
        .json();
    assert!(
        members.to_string().contains("joiner@example.com"),
        "{members}"
    );
    let members = owner
        .get(&format!(
            "/api/organizations/{first_org}/memberships?page_size=-1"
        ))
        .json();
    assert!(!members.to_string().contains("joiner@example.com"));
}

/// Invite tokens are 256-bit HMACs of a per-organization salt drawn from the
/// OS generator; every reset gives a new one, never a repeat.
#[test]
fn invite_tokens_are_long_and_never_repeat() {
    let t = TestApp::start();
    let mut owner = Client::with_token(t.addr, OWNER_TOKEN);
    let mut seen = std::collections::HashSet::new();
    seen.insert(invite_of(&mut owner));
    for _ in 0..25 {
        let r = owner.send("POST", "/api/invite/reset-token", &[], None);
        let token = r.json()["token"].as_str().unwrap().to_owned();
        assert_eq!(token.len(), 43, "{token}");
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert!(seen.insert(token), "a reset repeated a token");
    }
}

/// The database file (and its WAL) holds none of the secrets a person or a
/// script uses: a dump alone lets nobody register or authenticate.
#[test]
fn a_database_dump_holds_no_usable_secret() {
    let t = TestApp::start();
    let mut owner = Client::with_token(t.addr, OWNER_TOKEN);
    let invite = invite_of(&mut owner);
    let pat = owner.json("POST", "/api/token/", &json!({})).json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let access = Client::new(t.addr)
        .json("POST", "/api/token/refresh/", &json!({"refresh": pat}))
        .json()["access"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut b = browser(&t);
    let r = b.form(
        "/user/login/",
        &[("email", OWNER_EMAIL), ("password", OWNER_PASSWORD)],
    );
    assert_eq!(r.status, 302);
    let sid = b.cookie("sessionid").unwrap();
    let reset = owner
        .send("POST", "/api/current-user/reset-token", &[], None)
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(t.data_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("sqlite3") {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(bytes.len() > 4096, "the database files were found");
    let text = String::from_utf8_lossy(&bytes);
    let pat_sig = pat.rsplit('.').next().unwrap().to_owned();
    let access_sig = access.rsplit('.').next().unwrap().to_owned();
    for (what, secret) in [
        ("the first-run API token", OWNER_TOKEN.to_owned()),
        ("the reset API token", reset),
        ("the invite token", invite),
        ("the session id", sid),
        ("the PAT's signature", pat_sig),
        ("the access token's signature", access_sig),
        ("the password", OWNER_PASSWORD.to_owned()),
    ] {
        assert!(!text.contains(&secret), "{what} is in the database file");
    }
}

/// Login failure is one answer, in one time, for an unknown email, a wrong
/// password, a deactivated user (with the right password), a re-cased email
/// and a malformed one.
#[test]
fn login_failures_look_alike_and_take_alike_time() {
    let t = TestApp::with(Options {
        owasp_hashing: true,
        throttle: Some(no_throttling()),
        ..Options::default()
    });
    t.add_user("known@example.com", Role::Member, Some("known-password-1"));
    t.add_user("off@example.com", Role::Member, Some("off-password-12"));
    t.block_on(t.services.set_active("off@example.com", false))
        .unwrap();
    let cases = [
        ("unknown email", "nobody@example.com", "known-password-1"),
        ("wrong password", "known@example.com", "wrong-password-1"),
        (
            "deactivated, right password",
            "off@example.com",
            "off-password-12",
        ),
        (
            "re-cased, wrong password",
            "KNOWN@Example.COM",
            "wrong-password-1",
        ),
        ("malformed email", "not-an-email", "known-password-1"),
    ];
    let before = t.snapshot();
    let mut c = browser(&t);
    let answer = |c: &mut Client, email: &str, password: &str| {
        let start = Instant::now();
        let r = c.form("/user/login/", &[("email", email), ("password", password)]);
        (start.elapsed(), r)
    };
    let mut shapes = Vec::new();
    for (what, email, password) in cases {
        let (_, r) = answer(&mut c, email, password);
        assert_eq!(r.status, 200, "{what}");
        assert!(r.cookie("sessionid").is_none(), "{what}");
        // The page echoes what was typed; apart from that, the same bytes.
        shapes.push((what, r.body.replace(email, "EMAIL")));
    }
    for (what, body) in &shapes[1..] {
        assert_eq!(body, &shapes[0].1, "{what} differs from {}", shapes[0].0);
    }
    // Timing: medians of interleaved rounds, each one argon2 verification.
    let rounds = 15;
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    for _ in 0..rounds {
        for (i, (_, email, password)) in cases.iter().enumerate() {
            times[i].push(answer(&mut c, email, password).0);
        }
    }
    let medians: Vec<Duration> = times
        .iter_mut()
        .map(|v| {
            v.sort();
            v[v.len() / 2]
        })
        .collect();
    let (min, max) = (
        *medians.iter().min().unwrap(),
        *medians.iter().max().unwrap(),
    );
    println!("login failure medians: {medians:?}");
    assert!(
        max.as_secs_f64() / min.as_secs_f64() < 1.6,
        "login failures take different times: {medians:?} ({cases:?})"
    );
    assert_eq!(t.snapshot(), before);
}

fn throttled_server(home: &std::path::Path, extra: &[(&str, &str)]) -> Server {
    let mut cmd = command("ls-server", home);
    cmd.env("LS_LOGIN_ATTEMPTS_PER_ACCOUNT", "5")
        .env("LS_LOGIN_ATTEMPTS_PER_CLIENT", "1000")
        .env("LS_THROTTLE_WINDOW_SECS", "900")
        .env("LS_THROTTLE_LOCKOUT_SECS", "900");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.arg("--data-dir").arg(home.join("data")).args([
        "start",
        "-p",
        "0",
        "--username",
        OWNER_EMAIL,
        "--password",
        OWNER_PASSWORD,
    ]);
    Server::start(cmd).unwrap()
}

fn admin(home: &std::path::Path, args: &[&str], stdin: Option<&str>) -> String {
    ls_integration::process::admin_ok(home, &home.join("data"), args, stdin)
}

fn login_via(addr: std::net::SocketAddr, email: &str, password: &str, xff: &str) -> Response {
    let mut c = Client::new(addr);
    c.headers.push(("X-Forwarded-For".into(), xff.into()));
    assert_eq!(c.get("/user/login/").status, 200);
    c.form("/user/login/", &[("email", email), ("password", password)])
}

/// The account lock engages within the configured number of attempts even
/// when every attempt comes from another (forwarded) address, holds for a
/// right password as for a wrong one, survives a restart, leaves other
/// accounts alone, and `ls-admin user unlock` clears it.
#[test]
fn the_account_lock_holds_against_rotating_forwarded_addresses() {
    let home = tempfile::tempdir().unwrap();
    // Behind a trusted proxy (loopback), so X-Forwarded-For is believed and
    // every attempt really counts as a new client.
    let server = throttled_server(home.path(), &[("LS_TRUSTED_PROXIES", "127.0.0.1")]);
    admin(
        home.path(),
        &[
            "user",
            "create",
            "--email",
            "victim@example.com",
            "--password-stdin",
        ],
        Some("victim-password-1\n"),
    );
    for i in 1..=5 {
        let r = login_via(
            server.addr,
            "victim@example.com",
            "wrong-password-1",
            &format!("198.51.100.{i}"),
        );
        assert_eq!(r.status, 200, "attempt {i}: {}", r.body);
        assert!(r.body.contains("don&#39;t match"), "attempt {i}");
    }
    let data = home.path().join("data");
    let before = ls_integration::snapshot::of_data_dir(&data);
    let right = login_via(
        server.addr,
        "victim@example.com",
        "victim-password-1",
        "198.51.100.6",
    );
    let wrong = login_via(
        server.addr,
        "victim@example.com",
        "wrong-password-1",
        "198.51.100.7",
    );
    assert_eq!((right.status, wrong.status), (429, 429));
    assert_eq!(
        ls_integration::snapshot::of_data_dir(&data),
        before,
        "a throttled login changed something (a session?)"
    );
    assert!(right.cookie("sessionid").is_none());
    let strip = |r: &Response| {
        // The form's CSRF token is per browser; everything else is the same.
        let marker = "name=\"csrfmiddlewaretoken\" value=\"";
        let start = r.body.find(marker).unwrap() + marker.len();
        let end = start + r.body[start..].find('"').unwrap();
        format!("{}CSRF{}", &r.body[..start], &r.body[end..])
    };
    assert_eq!(
        strip(&right),
        strip(&wrong),
        "the refusal betrays the password"
    );
    // Another account, from the same addresses: unaffected.
    let other = login_via(server.addr, OWNER_EMAIL, OWNER_PASSWORD, "198.51.100.6");
    assert_eq!(other.status, 302, "{}", other.body);
    let (code, _) = server.stop();
    assert_eq!(code, Some(0));

    // The lock is in the database: a restart (or another instance) keeps it.
    let server = throttled_server(home.path(), &[("LS_TRUSTED_PROXIES", "127.0.0.1")]);
    let r = login_via(
        server.addr,
        "victim@example.com",
        "victim-password-1",
        "203.0.113.1",
    );
    assert_eq!(r.status, 429);
    let out = admin(
        home.path(),
        &["user", "unlock", "--email", "victim@example.com"],
        None,
    );
    assert!(out.contains("unlocked"), "{out}");
    let r = login_via(
        server.addr,
        "victim@example.com",
        "victim-password-1",
        "203.0.113.1",
    );
    assert_eq!(r.status, 302, "{}", r.body);
    let out = admin(
        home.path(),
        &["user", "unlock", "--email", "victim@example.com"],
        None,
    );
    assert!(out.contains("was not locked"), "{out}");
    server.stop();
}

/// Without trusted proxies, X-Forwarded-For is the client's own word and is
/// ignored: the per-address limit counts the TCP peer however the header
/// rotates.
#[test]
fn forwarded_addresses_are_ignored_from_untrusted_peers() {
    let mut throttle = app::ThrottleConfig::default();
    throttle.login_per_client.max_events = 6;
    let t = TestApp::with(Options {
        throttle: Some(throttle),
        ..Options::default()
    });
    for i in 1..=6 {
        let r = login_via(
            t.addr,
            &format!("user{i}@example.com"),
            "wrong-password-1",
            &format!("198.51.100.{i}"),
        );
        assert_eq!(r.status, 200, "attempt {i}");
    }
    let r = login_via(t.addr, OWNER_EMAIL, OWNER_PASSWORD, "192.0.2.99");
    assert_eq!(r.status, 429, "{}", r.body);
    // The operator unlocks the address.
    assert!(
        t.block_on(
            t.services
                .unlock(OWNER_EMAIL, Some("127.0.0.1".parse().unwrap()))
        )
        .unwrap()
    );
    let r = login_via(t.addr, OWNER_EMAIL, OWNER_PASSWORD, "192.0.2.99");
    assert_eq!(r.status, 302);
}

/// Sign-up and token-reset floods are refused once over their limits, and
/// the refused requests create or change nothing.
#[test]
fn sign_up_and_token_reset_floods_are_refused() {
    let mut throttle = app::ThrottleConfig::default();
    throttle.signup_per_client.max_events = 3;
    throttle.token_reset_per_user.max_events = 3;
    let t = TestApp::with(Options {
        throttle: Some(throttle),
        ..Options::default()
    });
    // Sign-ups that make an account never count against the address (a
    // team behind one address onboards freely); the ones that fail do.
    for i in 1..=5 {
        let r = browser(&t).form(
            "/user/signup/",
            &[
                ("email", &format!("s{i}@example.com")),
                ("password", "signup-pass-12"),
            ],
        );
        assert_eq!(r.status, 302, "sign-up {i}: {}", r.body);
    }
    for i in 1..=3 {
        let r = browser(&t).form(
            "/user/signup/",
            &[
                ("email", &format!("s{i}@example.com")),
                ("password", "signup-pass-12"),
            ],
        );
        assert_eq!(r.status, 200, "a taken email {i}: {}", r.body);
    }
    let before = t.snapshot();
    let r = browser(&t).form(
        "/user/signup/",
        &[("email", "s9@example.com"), ("password", "signup-pass-12")],
    );
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("Too many sign-ups"));
    assert_eq!(t.snapshot(), before);

    let mut owner = Client::with_token(t.addr, OWNER_TOKEN);
    for i in 1..=3 {
        let r = owner.send("POST", "/api/current-user/reset-token", &[], None);
        assert_eq!(r.status, 201, "reset {i}");
        owner = Client::with_token(t.addr, r.json()["token"].as_str().unwrap());
    }
    let before = t.snapshot();
    let r = owner.send("POST", "/api/current-user/reset-token", &[], None);
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").is_some());
    assert_eq!(t.snapshot(), before);
    assert_eq!(owner.get("/api/current-user/whoami").status, 200);
    // The operator's reset is not limited.
    t.block_on(t.services.reset_token(t.owner_id)).unwrap();
}

fn session_login(t: &TestApp, persist: bool) -> (Client, Response) {
    let mut c = browser(t);
    let mut fields = vec![("email", OWNER_EMAIL), ("password", OWNER_PASSWORD)];
    if persist {
        fields.push(("persist_session", "on"));
    }
    let r = c.form("/user/login/", &fields);
    assert_eq!(r.status, 302, "{}", r.body);
    (c, r)
}

/// Sessions end when unused for the idle timeout, and at their absolute
/// lifetime however much they are used; "keep me logged in" decides only
/// whether the cookie outlives the browser.
#[test]
fn sessions_end_when_idle_or_old() {
    let t = TestApp::with(Options {
        session_secs: Some((5, 2)),
        ..Options::default()
    });
    let (_, r) = session_login(&t, true);
    let line = r.set_cookie_line("sessionid").unwrap().to_ascii_lowercase();
    assert!(line.contains("max-age=5"), "{line}");
    let (_, r) = session_login(&t, false);
    let line = r.set_cookie_line("sessionid").unwrap().to_ascii_lowercase();
    assert!(
        !line.contains("max-age") && !line.contains("expires"),
        "a browser-session cookie: {line}"
    );

    let (mut idle, _) = session_login(&t, true);
    let (mut busy, _) = session_login(&t, true);
    let start = Instant::now();
    assert_eq!(idle.get("/api/current-user/whoami").status, 200);
    // The busy session is used every 0.6 s: it outlives the idle timeout...
    while start.elapsed() < Duration::from_millis(4200) {
        assert_eq!(
            busy.get("/api/current-user/whoami").status,
            200,
            "used at {:?}",
            start.elapsed()
        );
        std::thread::sleep(Duration::from_millis(600));
    }
    // ...while the idle one has ended.
    assert_eq!(idle.get("/api/current-user/whoami").status, 401);
    // And the busy one ends at its absolute lifetime.
    std::thread::sleep(Duration::from_millis(5200).saturating_sub(start.elapsed()));
    assert_eq!(busy.get("/api/current-user/whoami").status, 401);
}

/// Every response: an enforced CSP that forbids framing, nosniff,
/// same-origin referrers (an invite token never leaks through Referer),
/// no-store on anything that may carry a secret; HSTS behind https.
#[test]
fn security_headers_on_every_response() {
    let https = TestApp::with(Options {
        public_url: Some("https://labels.example.com".into()),
        ..Options::default()
    });
    let plain = TestApp::start();
    let paths = [
        "/",
        "/user/login/",
        "/user/signup/",
        "/user/signup/?token=abc",
        "/api/version",
        "/api/current-user/whoami",
        "/api/invite",
        "/static/app.css",
        "/static/app.js",
        "/nothing-here",
    ];
    for (t, expect_hsts) in [(&https, true), (&plain, false)] {
        for path in paths {
            let r = request(
                t.addr,
                "GET",
                path,
                &[("Authorization", &format!("Token {OWNER_TOKEN}"))],
                None,
            );
            let csp = r.header("content-security-policy").unwrap_or_default();
            assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
            assert_eq!(
                r.header("x-content-type-options"),
                Some("nosniff"),
                "{path}"
            );
            assert_eq!(r.header("referrer-policy"), Some("same-origin"), "{path}");
            assert_eq!(
                r.header("strict-transport-security").is_some(),
                expect_hsts,
                "{path}"
            );
            if !path.starts_with("/static/") {
                assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
            }
        }
    }
    // The pages' CSP allows no inline script.
    let r = request(plain.addr, "GET", "/user/login/", &[], None);
    let csp = r.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
}

/// Oversized, malformed and hostile input: a 4xx naming what is wrong,
/// before any expensive work, never a 5xx, and nothing stored changes.
#[test]
fn bad_input_is_refused_before_any_work_and_changes_nothing() {
    let t = TestApp::with(Options {
        owasp_hashing: true,
        ..Options::default()
    });
    let before = t.snapshot();
    let json = |body: &[u8]| {
        request(
            t.addr,
            "POST",
            "/api/users",
            &[
                ("Authorization", &format!("Token {OWNER_TOKEN}")),
                ("Content-Type", "application/json"),
            ],
            Some(body),
        )
    };
    // A 1 MB password: refused from its length alone, before hashing.
    let big = "p".repeat(1 << 20);
    let start = Instant::now();
    let r = json(
        json!({"username": "big", "email": "big@example.com", "password": big})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(r.status, 413, "{}", r.body);
    let mut c = browser(&t);
    let r = c.form(
        "/user/login/",
        &[("email", OWNER_EMAIL), ("password", &big)],
    );
    assert_eq!(r.status, 413);
    assert!(start.elapsed() < Duration::from_secs(5));
    // A long but in-limit password is a validation error, naming the field.
    let r = json(
        json!({"username": "long", "email": "long@example.com", "password": "p".repeat(5000)})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(r.status, 400);
    assert!(
        r.json()["validation_errors"]["password"].is_array(),
        "{}",
        r.body
    );
    for (what, body) in [
        (
            "invalid UTF-8",
            b"{\"email\": \"\xff\xfe@example.com\"}".to_vec(),
        ),
        ("truncated JSON", b"{\"email\": ".to_vec()),
        ("an array", b"[1, 2, 3]".to_vec()),
        ("a string", b"\"hello\"".to_vec()),
        (
            "deep nesting",
            format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
        ),
        (
            "deep objects",
            format!("{}1{}", "{\"a\":".repeat(100), "}".repeat(100)).into_bytes(),
        ),
        (
            "a NUL in the email",
            br#"{"email": "a\u0000@example.com", "password": "nul-password-1"}"#.to_vec(),
        ),
        (
            "a NUL in the password",
            br#"{"email": "n@example.com", "password": "nul\u0000password"}"#.to_vec(),
        ),
        (
            "a NUL in a name",
            br#"{"email": "m@example.com", "first_name": "a\u0000b"}"#.to_vec(),
        ),
        ("a number for the email", br#"{"email": 5}"#.to_vec()),
        (
            "a privileged field",
            br#"{"email": "p@example.com", "is_superuser": true}"#.to_vec(),
        ),
    ] {
        let r = json(&body);
        assert_eq!(r.status, 400, "{what}: {}", r.body);
        assert!(r.json()["detail"].is_string(), "{what}");
        assert_eq!(t.snapshot(), before, "{what}");
    }
    // Wrong media type.
    let r = request(
        t.addr,
        "POST",
        "/api/users",
        &[
            ("Authorization", &format!("Token {OWNER_TOKEN}")),
            ("Content-Type", "text/plain"),
        ],
        Some(b"email=x"),
    );
    assert_eq!(r.status, 415);
    // Oversized headers and cookies: refused by the HTTP layer, not a 5xx.
    let huge = "a".repeat(200_000);
    for (k, v) in [
        ("Cookie", format!("sessionid={huge}")),
        ("X-Api-Key", huge.clone()),
        ("Authorization", format!("Token {huge}")),
    ] {
        let r = request(t.addr, "GET", "/api/current-user/whoami", &[(k, &v)], None);
        assert!(
            matches!(r.status, 400 | 401 | 413 | 431 | 0),
            "{k}: {} {}",
            r.status,
            r.body.chars().take(200).collect::<String>()
        );
    }
    // Forms with broken encodings and NULs.
    for body in [
        &b"email=%ff%fe&password=%00%00"[..],
        b"email=&password=",
        b"%%%%&&&==",
        b"\xff\xfe\xfd",
    ] {
        let r = request(
            t.addr,
            "POST",
            "/user/signup/",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some(body),
        );
        assert_no_5xx(&r, &String::from_utf8_lossy(body));
        let r = c.send(
            "POST",
            "/user/login/",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some(
                &[
                    b"csrfmiddlewaretoken=",
                    c.cookie("csrftoken").unwrap().as_bytes(),
                    b"&",
                    body,
                ]
                .concat(),
            ),
        );
        assert_no_5xx(&r, &String::from_utf8_lossy(body));
    }
    // Paths and queries that do not parse as what they name.
    for path in [
        "/api/users/abc",
        "/api/users/99999999999999999999999",
        "/api/organizations/-1/memberships?page=abc",
        "/api/organizations/1/memberships?page=0",
        "/api/organizations/1/memberships?page_size=%00",
        "/user/signup/?token=%ff",
        "/api/current-user/whoami?token=owner-token-0001",
    ] {
        let r = request(
            t.addr,
            "GET",
            path,
            &[("Authorization", &format!("Token {OWNER_TOKEN}"))],
            None,
        );
        assert_no_5xx(&r, path);
    }
    // A token in the query authenticates no one.
    let r = request(
        t.addr,
        "GET",
        &format!("/api/current-user/whoami?token={OWNER_TOKEN}"),
        &[],
        None,
    );
    assert_eq!(r.status, 401);
    assert_eq!(t.snapshot(), before);
}
