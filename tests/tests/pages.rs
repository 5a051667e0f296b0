//! The pages over HTTP: what the browser tests cannot easily forge.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use ls_integration::http::{Client, form_encode};
use ls_integration::server::{OWNER_EMAIL, OWNER_PASSWORD, OWNER_TOKEN, Options, TestApp};
use orgs::Role;
use serde_json::json;

fn invite(t: &TestApp) -> String {
    Client::with_token(t.addr, OWNER_TOKEN)
        .get("/api/invite")
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn browser(t: &TestApp) -> Client {
    let mut c = Client::new(t.addr);
    assert_eq!(c.get("/user/login/").status, 200);
    c
}

#[test]
fn restricted_sign_up_refuses_every_shape_of_missing_or_bad_invite() {
    let t = TestApp::with(Options {
        invite_only: true,
        ..Options::default()
    });
    let token = invite(&t);
    let mut c = browser(&t);
    let r = c.get("/user/signup/");
    assert_eq!(r.status, 403);
    assert!(r.body.contains("needs an invite link") && !r.body.contains("name=\"password\""));
    let login = c.get("/user/login/");
    assert!(
        !login.body.contains("Sign up"),
        "no sign-up link when restricted"
    );

    let before = t.user_count();
    let fields = [("email", "x@example.com"), ("password", "x-good-password")];
    let upper = token.to_uppercase();
    let bad_queries = [
        String::new(),
        "?token=".into(),
        format!("?token={token}&token={token}"),
        format!("?token[]={token}"),
        format!("?token=%20{token}"),
        format!("?token={token}%20"),
        format!("?token={upper}"),
        "?token=guess".into(),
    ];
    for q in &bad_queries {
        let r = c.form(&format!("/user/signup/{q}"), &fields);
        assert_eq!(r.status, 403, "{q}: {}", r.body);
        // Refused before validation: an invalid email changes nothing.
        let r = c.form(
            &format!("/user/signup/{q}"),
            &[("email", "not-an-email"), ("password", "x")],
        );
        assert_eq!(r.status, 403, "{q}");
    }
    // The token in the body instead of the query does not count.
    let r = c.form(
        "/user/signup/",
        &[
            ("email", "x@example.com"),
            ("password", "x-good-password"),
            ("token", &token),
        ],
    );
    assert_eq!(r.status, 403);
    assert_eq!(t.user_count(), before, "nothing was created");

    // The real link, exactly as given, lets one in, to that organization, as a member.
    let r = c.form(
        &format!("/user/signup/?token={token}&next=/user/account/"),
        &fields,
    );
    assert_eq!(
        (r.status, r.header("location")),
        (302, Some("/user/account/")),
        "{}",
        r.body
    );
    assert!(c.cookie("sessionid").is_some());
    let me = c.get("/api/current-user/whoami").json();
    assert_eq!(me["email"], "x@example.com");
    assert_eq!(me["username"], "x");
    assert!(
        !me["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("users.create")),
        "a member"
    );
    // Logged in: the sign-up page sends you on.
    assert_eq!(c.get("/user/signup/").status, 302);
}

#[test]
fn sign_up_form_errors_keep_the_email_and_never_echo_the_password() {
    let t = TestApp::start();
    let mut c = browser(&t);
    // The form's action carries the invite token and next on, as Label Studio's does.
    let token = invite(&t);
    let page = c.get(&format!("/user/signup/?token={token}&next=/x"));
    assert_eq!(page.status, 200, "{}", page.body);
    let carried = [
        format!("action=\"/user/signup/?token={token}&#38;next=/x\""),
        format!("action=\"/user/signup/?token={token}&amp;next=/x\""),
    ];
    assert!(
        carried.iter().any(|a| page.body.contains(a.as_str())),
        "{}",
        page.body
    );
    let r = c.form(
        "/user/signup/",
        &[("email", "Not An Email"), ("password", "Secret-Pass-123")],
    );
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("Enter a valid email address.")
            && r.body.contains("value=\"Not An Email\""),
        "{}",
        r.body
    );
    assert!(!r.body.contains("Secret-Pass-123"));
    let r = c.form(
        "/user/signup/",
        &[("email", "p@example.com"), ("password", "short")],
    );
    assert!(
        r.body
            .contains("Please enter a password 8\u{2013}128 characters in length."),
        "{}",
        r.body
    );
    let r = c.form(
        "/user/signup/",
        &[("email", OWNER_EMAIL), ("password", "another-password-1")],
    );
    assert!(
        r.body.contains("User with this email already exists"),
        "{}",
        r.body
    );
    // Without the CSRF token: refused.
    let body = form_encode(&[("email", "q@example.com"), ("password", "q-good-password")]);
    let r = c.send(
        "POST",
        "/user/signup/",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", ""),
        ],
        Some(body.as_bytes()),
    );
    assert_eq!(r.status, 403);
    assert_eq!(t.user_count(), 1);
    // A stale link says so.
    let old = invite(&t);
    Client::with_token(t.addr, OWNER_TOKEN).send("POST", "/api/invite/reset-token", &[], None);
    let r = c.get(&format!("/user/signup/?token={old}"));
    assert_eq!(r.status, 403);
    assert!(r.body.contains("no longer valid"), "{}", r.body);
}

#[test]
fn pages_need_a_session_escape_what_users_typed_and_carry_security_headers() {
    let t = TestApp::start();
    t.add_user("mem@example.com", Role::Member, Some("member-password-1"));
    let mut anon = Client::new(t.addr);
    let r = anon.get("/");
    assert_eq!(
        (r.status, r.header("location")),
        (302, Some("/user/login/"))
    );
    let r = anon.get("/organization/");
    assert_eq!(
        (r.status, r.header("location")),
        (302, Some("/user/login/?next=%2Forganization%2F"))
    );
    assert_eq!(anon.get("/user/account/").status, 302);

    // A title with markup is shown as text.
    let id = Client::with_token(t.addr, OWNER_TOKEN)
        .get("/api/organizations")
        .json()[0]["id"]
        .as_i64()
        .unwrap();
    let r = Client::with_token(t.addr, OWNER_TOKEN).json(
        "PATCH",
        &format!("/api/organizations/{id}"),
        &json!({"title": "<script>alert(1)</script>"}),
    );
    assert_eq!(r.status, 200);

    let mut owner = browser(&t);
    let r = owner.form(
        "/user/login/",
        &[("email", OWNER_EMAIL), ("password", OWNER_PASSWORD)],
    );
    assert_eq!(r.status, 302);
    assert_eq!(owner.get("/").header("location"), Some("/organization/"));
    let page = owner.get("/organization/?dialog=add-people");
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "escaped: {}",
        page.body
    );
    assert!(!page.body.contains("<script>alert"));
    assert!(page.body.contains("id=\"reset-link\""));
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'")
            && csp.contains("frame-ancestors 'none'")
            && !csp.contains("unsafe-inline")
    );
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    assert!(
        page.body
            .contains(&format!("http://{}/user/signup/?token=", t.addr)),
        "a full URL from the public URL"
    );

    // A member sees the link but not Reset Link, and cannot post it.
    let mut member = browser(&t);
    member.form(
        "/user/login/",
        &[
            ("email", "mem@example.com"),
            ("password", "member-password-1"),
        ],
    );
    let page = member.get("/organization/?dialog=add-people");
    assert!(page.body.contains("id=\"invite-link\"") && !page.body.contains("id=\"reset-link\""));
    let before = invite(&t);
    assert_eq!(member.form("/organization/reset-link/", &[]).status, 403);
    assert_eq!(invite(&t), before);
    // The owner's reset goes through the confirmation form.
    let r = owner.form("/organization/reset-link/", &[]);
    assert_eq!(
        (r.status, r.header("location")),
        (302, Some("/organization/?dialog=add-people&reset=1"))
    );
    assert_ne!(invite(&t), before);

    // Static files.
    let css = anon.get("/static/app.css");
    assert_eq!(
        (css.status, css.header("content-type")),
        (200, Some("text/css; charset=utf-8"))
    );
    assert_eq!(
        anon.get("/static/app.js").header("content-type"),
        Some("text/javascript; charset=utf-8")
    );

    // Profile edits from the account page.
    let r = owner.form(
        "/user/account/",
        &[
            ("first_name", "Olga"),
            ("last_name", "<b>Owner</b>"),
            ("phone", ""),
        ],
    );
    assert_eq!(
        (r.status, r.header("location")),
        (302, Some("/user/account/?saved=1"))
    );
    let page = owner.get("/user/account/?saved=1");
    assert!(
        page.body.contains("Saved.")
            && (page.body.contains("value=\"&lt;b&gt;Owner&lt;/b&gt;\"")
                || page.body.contains("value=\"&#60;b&#62;Owner&#60;/b&#62;\"")),
        "{}",
        page.body
    );
}
