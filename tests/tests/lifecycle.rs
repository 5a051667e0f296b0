//! The account lifecycle over real HTTP (issue 17): a password changed by
//! its owner, one-time reset links, and members managed from the
//! organization page; each refusal followed by a check that nothing stored
//! changed (`snapshot`, which now holds the reset links' rows too).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use ls_integration::http::{Client, Response};
use ls_integration::process::{Server, admin, admin_ok, owner_server};
use ls_integration::server::{OWNER_EMAIL, OWNER_PASSWORD, Options, TestApp, no_throttling};
use orgs::Role;
use sea_orm::ConnectionTrait as _;
use serde_json::json;

const MEMBER: &str = "member@example.com";
const MEMBER_PASSWORD: &str = "member-password-1";

/// (who, path, form fields, the status expected)
type Refusal<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, u16);

fn app() -> TestApp {
    TestApp::with(Options {
        throttle: Some(no_throttling()),
        ..Options::default()
    })
}

fn logged_in(t: &TestApp, email: &str, password: &str) -> Client {
    let mut c = Client::new(t.addr);
    assert_eq!(c.get("/user/login/").status, 200);
    let r = c.form("/user/login/", &[("email", email), ("password", password)]);
    assert_eq!(r.status, 302, "{email}: {}", r.body);
    c
}

fn signed_in(c: &mut Client) -> bool {
    c.get("/api/current-user/whoami").status == 200
}

/// The reset link an owner's page made: its path and query.
fn make_reset_link(owner: &mut Client, member_id: i64) -> String {
    let r = owner.form(
        &format!("/organization/members/{member_id}/reset-link"),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let url = value_of(&r, "reset-url");
    let at = url.find("/user/reset-password/").unwrap();
    url[at..].to_owned()
}

/// The `value` of the input with this id.
fn value_of(r: &Response, id: &str) -> String {
    let at = r.body.find(&format!("id=\"{id}\"")).unwrap();
    let rest = &r.body[at..];
    let v = &rest[rest.find("value=\"").unwrap() + 7..];
    v[..v.find('"').unwrap()].replace("&amp;", "&")
}

fn set_password(c: &mut Client, link: &str, password: &str) -> Response {
    if c.cookie("csrftoken").is_none() {
        c.get("/user/login/");
    }
    c.form(link, &[("password", password)])
}

fn sql(t: &TestApp, statement: &str) {
    let db = t.services.store().connection().clone();
    t.block_on(async { db.execute_unprepared(statement).await.unwrap() });
}

fn stored_reset_digest(t: &TestApp) -> String {
    let db = t.services.store().connection().clone();
    t.block_on(async {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT digest FROM password_resets",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<String>("", "digest").unwrap()
    })
}

#[test]
fn reset_links_guessed_replaced_reused_expired_or_read_from_a_dump_change_nothing() {
    let t = app();
    let (member_id, _) = t.add_user(MEMBER, Role::Member, Some(MEMBER_PASSWORD));
    let mut member = logged_in(&t, MEMBER, MEMBER_PASSWORD);
    let mut owner = logged_in(&t, OWNER_EMAIL, OWNER_PASSWORD);
    let first = make_reset_link(&mut owner, member_id);
    let token = first.split("token=").nth(1).unwrap().to_owned();
    assert_eq!(token.len(), 64, "256 bits, hex");

    let mut stranger = Client::new(t.addr);
    let before = t.snapshot();
    let refused = |c: &mut Client, link: &str, what: &str, before: &Vec<String>| {
        let r = c.get(link);
        assert_eq!(r.status, 404, "{what}: {}", r.body);
        assert!(r.body.contains("not valid"), "{what}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
        assert_eq!(r.header("referrer-policy"), Some("strict-origin"), "{what}");
        let r = set_password(c, link, "a-password-from-outside");
        assert_eq!(r.status, 404, "{what}: {}", r.body);
        assert_eq!(&t.snapshot(), before, "{what} changed nothing");
    };
    refused(
        &mut stranger,
        "/user/reset-password/?token=0123456789abcdef",
        "a guess",
        &before,
    );
    refused(&mut stranger, "/user/reset-password/", "no token", &before);
    refused(
        &mut stranger,
        &format!("{first}&token={token}"),
        "the token twice",
        &before,
    );
    let dumped = stored_reset_digest(&t);
    assert!(!dumped.contains(&token), "only a digest is stored");
    refused(
        &mut stranger,
        &format!("/user/reset-password/?token={dumped}"),
        "the stored digest from a dump",
        &before,
    );
    // Without the CSRF token, the right link does nothing either.
    let r = stranger.send(
        "POST",
        &first,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(b"password=a-password-from-outside"),
    );
    assert_eq!(r.status, 403);
    assert_eq!(t.snapshot(), before);

    // A newer link replaces (revokes) the first.
    let second = make_reset_link(&mut owner, member_id);
    let before = t.snapshot();
    let r = set_password(&mut stranger, &first, "a-password-from-outside");
    assert_eq!(r.status, 404, "the replaced link: {}", r.body);
    assert_eq!(t.snapshot(), before);

    // The policy applies, naming the field, and keeps the link.
    let r = set_password(&mut stranger, &second, "short");
    assert_eq!(r.status, 400);
    assert!(r.body.contains("password:"), "{}", r.body);
    assert_eq!(t.snapshot(), before);

    let r = stranger.get(&second);
    assert_eq!(r.status, 200);
    assert!(r.body.contains(MEMBER));
    let r = set_password(&mut stranger, &second, "member-new-password");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Password set"));
    assert!(
        !signed_in(&mut member),
        "setting the password ends every session"
    );
    logged_in(&t, MEMBER, "member-new-password");

    let before = t.snapshot();
    let r = set_password(&mut stranger, &second, "yet-another-password");
    assert_eq!(r.status, 404, "used once: {}", r.body);
    assert_eq!(t.snapshot(), before);

    // Expired.
    let third = make_reset_link(&mut owner, member_id);
    sql(&t, "UPDATE password_resets SET expires_at = 1");
    let before = t.snapshot();
    refused(&mut stranger, &third, "an expired link", &before);
    assert_eq!(t.snapshot(), before);

    // A password changed otherwise kills the link.
    let fourth = make_reset_link(&mut owner, member_id);
    t.block_on(
        t.services
            .set_password(MEMBER, &app::SecretString::new("operator-set-pw")),
    )
    .unwrap();
    assert_eq!(stranger.get(&fourth).status, 404);
}

#[test]
fn a_password_change_ends_every_other_session_and_token_but_keeps_this_one() {
    let t = app();
    let (_, api_token) = t.add_user(MEMBER, Role::Member, Some(MEMBER_PASSWORD));
    let mut here = logged_in(&t, MEMBER, MEMBER_PASSWORD);
    let mut there = logged_in(&t, MEMBER, MEMBER_PASSWORD);
    let mut api = Client::with_token(t.addr, &api_token);
    let pat = api.json("POST", "/api/token", &json!({}));
    assert_eq!(pat.status, 201, "{}", pat.body);
    let refresh = pat.json()["token"].as_str().unwrap().to_owned();

    let before = t.snapshot();
    for (fields, field) in [
        (
            [
                ("current_password", "wrong-password-1"),
                ("new_password", "member-new-password"),
            ],
            "current_password",
        ),
        (
            [
                ("current_password", MEMBER_PASSWORD),
                ("new_password", "short"),
            ],
            "new_password",
        ),
        (
            [
                ("current_password", MEMBER_PASSWORD),
                ("new_password", MEMBER),
            ],
            "new_password",
        ),
    ] {
        let r = here.form("/user/account/password", &fields);
        assert_eq!(r.status, 400, "{fields:?}");
        assert!(
            r.body.contains(&format!("{field}:")),
            "{fields:?}: {}",
            r.body
        );
        assert_eq!(t.snapshot(), before, "{fields:?} changed nothing");
    }
    let r = api.json(
        "POST",
        "/api/current-user/password",
        &json!({"current_password": "wrong-password-1", "new_password": "member-new-password"}),
    );
    assert_eq!(r.status, 400);
    assert!(
        r.json()["validation_errors"]["current_password"].is_array(),
        "{}",
        r.body
    );
    let r = api.json(
        "POST",
        "/api/current-user/password",
        &json!({"new_password": "x"}),
    );
    assert_eq!(r.status, 400);
    assert!(
        r.json()["validation_errors"]["current_password"].is_array(),
        "{}",
        r.body
    );
    assert_eq!(t.snapshot(), before);
    // Without the CSRF token the page changes nothing.
    let r = here.send(
        "POST",
        "/user/account/password",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(b"current_password=member-password-1&new_password=member-new-password"),
    );
    assert_eq!(r.status, 403);
    assert_eq!(t.snapshot(), before);

    let r = here.form(
        "/user/account/password",
        &[
            ("current_password", MEMBER_PASSWORD),
            ("new_password", "member-new-password"),
        ],
    );
    assert_eq!(r.status, 302, "{}", r.body);
    assert!(r.header("location").unwrap().ends_with("?saved=password"));
    assert!(signed_in(&mut here), "this browser stays");
    assert!(
        !signed_in(&mut there),
        "the other browser's session is gone"
    );
    let r = Client::new(t.addr).json("POST", "/api/token/refresh", &json!({"refresh": refresh}));
    assert_eq!(
        r.status, 401,
        "the personal access token is revoked: {}",
        r.body
    );
    assert_eq!(
        api.get("/api/current-user/whoami").status,
        200,
        "the API token stays"
    );

    // Through the API, asking for a new API token too.
    let r = api.json(
        "POST",
        "/api/current-user/password",
        &json!({"current_password": "member-new-password", "new_password": "member-third-password", "reset_api_token": true}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let new_token = r.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(
        api.get("/api/current-user/whoami").status,
        401,
        "the old API token is gone"
    );
    let mut api = Client::with_token(t.addr, &new_token);
    assert_eq!(api.get("/api/current-user/whoami").status, 200);
    assert!(
        !signed_in(&mut here),
        "a change made with a token keeps no session"
    );
    logged_in(&t, MEMBER, "member-third-password");
}

fn role_of(t: &TestApp, user_id: i64) -> Option<Role> {
    use app::OrgStore as _;
    let org = t
        .block_on(t.services.store().first_organization())
        .unwrap()
        .unwrap();
    t.block_on(t.services.store().membership(user_id, org.id))
        .unwrap()
        .filter(|m| m.removed_at.is_none())
        .map(|m| m.role)
}

#[test]
fn members_are_managed_from_the_page_by_those_with_the_right_only() {
    let t = app();
    let (admin_id, _) = t.add_user(
        "admin@example.com",
        Role::Administrator,
        Some("admin-password-1"),
    );
    let (admin2_id, _) = t.add_user(
        "admin2@example.com",
        Role::Administrator,
        Some("admin-password-2"),
    );
    let (member_id, _) = t.add_user(MEMBER, Role::Member, Some(MEMBER_PASSWORD));
    let mut owner = logged_in(&t, OWNER_EMAIL, OWNER_PASSWORD);
    let mut admin = logged_in(&t, "admin@example.com", "admin-password-1");
    let mut member = logged_in(&t, MEMBER, MEMBER_PASSWORD);

    // Each action is behind a confirmation dialog.
    let r = owner.get(&format!(
        "/organization/?member={member_id}&dialog=deactivate"
    ));
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("Deactivate member@example.com?"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains(&format!("/organization/members/{member_id}/deactivate"))
    );

    let before = t.snapshot();
    let refusals: Vec<Refusal<'_>> = vec![
        (
            "member",
            format!("/organization/members/{admin_id}/remove"),
            vec![],
            403,
        ),
        (
            "member",
            format!("/organization/members/{admin_id}/reset-link"),
            vec![],
            403,
        ),
        (
            "admin",
            format!("/organization/members/{admin2_id}/deactivate"),
            vec![],
            403,
        ),
        (
            "admin",
            format!("/organization/members/{admin2_id}/reset-link"),
            vec![],
            403,
        ),
        (
            "admin",
            format!("/organization/members/{member_id}/transfer"),
            vec![],
            403,
        ),
        (
            "admin",
            format!("/organization/members/{}/role", t.owner_id),
            vec![("role", "member")],
            403,
        ),
        (
            "owner",
            format!("/organization/members/{member_id}/role"),
            vec![("role", "owner")],
            400,
        ),
        (
            "owner",
            format!("/organization/members/{member_id}/role"),
            vec![("role", "boss")],
            400,
        ),
        (
            "owner",
            format!("/organization/members/{}/remove", t.owner_id),
            vec![],
            409,
        ),
        (
            "owner",
            "/organization/members/999999/remove".to_owned(),
            vec![],
            404,
        ),
        (
            "owner",
            format!("/organization/members/{member_id}/explode"),
            vec![],
            404,
        ),
    ];
    for (who, path, fields, status) in refusals {
        let c = match who {
            "member" => &mut member,
            "admin" => &mut admin,
            _ => &mut owner,
        };
        let r = c.form(&path, &fields);
        assert_eq!(r.status, status, "{path} {fields:?}: {}", r.body);
        assert_eq!(t.snapshot(), before, "{path} changed nothing");
    }
    let r = owner.send(
        "POST",
        &format!("/organization/members/{member_id}/remove"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(b""),
    );
    assert_eq!(r.status, 403, "no CSRF token");
    assert_eq!(t.snapshot(), before);

    let act = |c: &mut Client, path: String, fields: &[(&str, &str)]| {
        let r = c.form(&path, fields);
        assert_eq!(r.status, 302, "{path}: {}", r.body);
    };
    act(
        &mut admin,
        format!("/organization/members/{member_id}/role"),
        &[("role", "administrator")],
    );
    assert_eq!(role_of(&t, member_id), Some(Role::Administrator));
    // Back down: only the owner outranks an administrator.
    let r = admin.form(
        &format!("/organization/members/{member_id}/role"),
        &[("role", "member")],
    );
    assert_eq!(r.status, 403);
    act(
        &mut owner,
        format!("/organization/members/{member_id}/role"),
        &[("role", "member")],
    );
    act(
        &mut admin,
        format!("/organization/members/{member_id}/deactivate"),
        &[],
    );
    assert!(!signed_in(&mut member), "deactivation ends the sessions");
    let r = owner.get("/organization/");
    assert!(r.body.contains("deactivated"));
    act(
        &mut admin,
        format!("/organization/members/{member_id}/activate"),
        &[],
    );
    logged_in(&t, MEMBER, MEMBER_PASSWORD);
    act(
        &mut owner,
        format!("/organization/members/{admin2_id}/remove"),
        &[],
    );
    assert_eq!(role_of(&t, admin2_id), None);
    act(
        &mut owner,
        format!("/organization/members/{admin_id}/transfer"),
        &[],
    );
    assert_eq!(role_of(&t, admin_id), Some(Role::Owner));
    assert_eq!(role_of(&t, t.owner_id), Some(Role::Administrator));
    let r = admin.get("/api/current-user/whoami");
    assert!(r.body.contains("organizations.members.change"));
    // The former owner is an administrator now: no second transfer.
    let r = owner.form(&format!("/organization/members/{member_id}/transfer"), &[]);
    assert_eq!(r.status, 403);
    // Through the API, the documented PATCH: a member may not.
    let org = role_org(&t);
    let r = Client::with_token(t.addr, &t.add_user("x@example.com", Role::Member, None).1).json(
        "PATCH",
        &format!("/api/organizations/{org}/memberships/{member_id}"),
        &json!({"role": "administrator"}),
    );
    assert_eq!(r.status, 403);
}

fn role_org(t: &TestApp) -> i64 {
    use app::OrgStore as _;
    t.block_on(t.services.store().first_organization())
        .unwrap()
        .unwrap()
        .id
}

#[test]
fn ls_admin_makes_reset_links_sets_roles_and_deletes_users() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let server = Server::start(owner_server(home.path(), &data)).unwrap();
    let h = home.path();
    admin_ok(
        h,
        &data,
        &["user", "create", "--email", MEMBER, "--password-stdin"],
        Some("member-password-1\n"),
    );
    let link = admin_ok(h, &data, &["user", "reset-link", "--email", MEMBER], None);
    let link = link.trim();
    assert!(link.contains("/user/reset-password/?token="), "{link}");
    let path = &link[link.find("/user/").unwrap()..];
    let mut c = Client::new(server.addr);
    assert_eq!(c.get(path).status, 200);
    // A newer link replaces it.
    let newer = admin_ok(h, &data, &["user", "reset-link", "--email", MEMBER], None);
    assert_eq!(c.get(path).status, 404);
    let newer = newer.trim();
    let r = set_password(
        &mut c,
        &newer[newer.find("/user/").unwrap()..],
        "member-reset-password",
    );
    assert_eq!(r.status, 200, "{}", r.body);

    let out = admin(
        h,
        &data,
        &["user", "set-role", "--email", MEMBER, "--role", "boss"],
        None,
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("role"), "{out:?}");
    let out = admin(
        h,
        &data,
        &["user", "delete", "--email", "owner@example.com"],
        None,
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("transfer the ownership"), "{out:?}");
    admin_ok(
        h,
        &data,
        &["user", "set-role", "--email", MEMBER, "--role", "owner"],
        None,
    );
    let list = admin_ok(h, &data, &["user", "list", "--json"], None);
    let users: serde_json::Value = serde_json::from_str(&list).unwrap();
    let role = |email: &str| {
        users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["email"] == email)
            .unwrap()["role"]
            .clone()
    };
    assert_eq!(role(MEMBER), "owner");
    assert_eq!(role("owner@example.com"), "administrator");
    admin_ok(
        h,
        &data,
        &["user", "delete", "--email", "owner@example.com"],
        None,
    );
    let out = admin(
        h,
        &data,
        &["user", "delete", "--email", "owner@example.com"],
        None,
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    let (status, _) = ls_integration::process::http_get(
        server.addr,
        "/api/current-user/whoami",
        &[("Authorization", "Token owner-token-1")],
    );
    assert_eq!(status, 401, "the deleted account's token is gone");
}

#[test]
fn personal_access_tokens_on_the_account_page_ask_for_the_password_and_show_once() {
    let t = app();
    t.add_user(MEMBER, Role::Member, Some(MEMBER_PASSWORD));
    let mut page = logged_in(&t, MEMBER, MEMBER_PASSWORD);
    let before = t.snapshot();
    let r = page.form("/user/account/tokens", &[("password", "not-my-password")]);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("password: The password is not correct."),
        "{}",
        r.body
    );
    assert_eq!(t.snapshot(), before, "a wrong password makes no token");

    let r = page.form("/user/account/tokens", &[("password", MEMBER_PASSWORD)]);
    assert_eq!(r.status, 200, "{}", r.body);
    let token = value_of(&r, "new-pat");
    assert_eq!(token.split('.').count(), 3, "a signed JWT: {token}");
    let r = page.get("/user/account/");
    assert!(!r.body.contains(&token), "shown once");
    assert!(r.body.contains(">never<"), "not used yet: {}", r.body);

    let mut anyone = Client::new(t.addr);
    let r = anyone.json("POST", "/api/token/refresh", &json!({"refresh": token}));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = page.get("/user/account/");
    assert!(!r.body.contains(">never<"), "its last use is shown");

    // Revoked from the page: the token makes no access token any more.
    let jti = {
        let at = r.body.find("/user/account/tokens/").unwrap();
        let rest = &r.body[at + "/user/account/tokens/".len()..];
        rest[..rest.find('/').unwrap()].to_owned()
    };
    let mut stranger = logged_in(&t, OWNER_EMAIL, OWNER_PASSWORD);
    let r = stranger.form(&format!("/user/account/tokens/{jti}/revoke"), &[]);
    assert_eq!(r.status, 404, "someone else's token: {}", r.body);
    let r = page.form(&format!("/user/account/tokens/{jti}/revoke"), &[]);
    assert_eq!(r.status, 302);
    let r = anyone.json("POST", "/api/token/refresh", &json!({"refresh": token}));
    assert_eq!(r.status, 401, "{}", r.body);
}
