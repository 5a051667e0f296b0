//! Every endpoint of the HTTP contract over real HTTP, success and error
//! paths, against the real server on port 0 with a fresh database.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use ls_integration::http::{Client, request};
use ls_integration::server::{OWNER_EMAIL, OWNER_PASSWORD, OWNER_TOKEN, Options, TestApp};
use orgs::Role;
use serde_json::{Value, json};

fn assert_envelope(v: &Value, status: u16) {
    assert_eq!(v["status_code"], status, "{v}");
    assert_eq!(v["id"].as_str().unwrap().len(), 36, "{v}");
    assert!(
        v["version"].is_string() && v["detail"].is_string() && v["exc_info"].is_null(),
        "{v}"
    );
}

#[test]
fn health_version_unknown_routes_and_methods() {
    let t = TestApp::start();
    for path in ["/health", "/health/"] {
        let r = request(t.addr, "GET", path, &[], None);
        assert_eq!((r.status, r.body.as_str()), (200, r#"{"status":"UP"}"#));
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    let r = request(t.addr, "GET", "/api/version/", &[], None);
    assert_eq!(r.status, 200);
    assert!(r.json()["release"].is_string());
    let r = request(
        t.addr,
        "GET",
        "/api/nope/nothing",
        &[("Authorization", &format!("Token {OWNER_TOKEN}"))],
        None,
    );
    assert_eq!(r.status, 404);
    assert_envelope(&r.json(), 404);
    let mut owner = Client::with_token(t.addr, OWNER_TOKEN);
    let r = owner.get("/api/current-user/reset-token");
    assert_eq!(r.status, 405);
    assert_envelope(&r.json(), 405);
    assert_eq!(r.json()["detail"], "Method \"GET\" not allowed.");
    let r = owner.json(
        "PUT",
        &format!("/api/users/{}", t.owner_id),
        &json!({"first_name": "x"}),
    );
    assert_eq!(r.status, 405);
    // Headers every answer carries.
    let r = owner.get("/api/current-user/whoami");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("referrer-policy"), Some("same-origin"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

#[test]
fn authentication_headers_and_their_messages() {
    let t = TestApp::start();
    let r = request(t.addr, "GET", "/api/current-user/whoami", &[], None);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Token"));
    assert_eq!(
        r.json()["detail"],
        "Authentication credentials were not provided."
    );
    assert_envelope(&r.json(), 401);
    let cases: &[(&str, &str, &str)] = &[
        (
            "Authorization",
            "Token",
            "Invalid token header. No credentials provided.",
        ),
        (
            "Authorization",
            "Token a b",
            "Invalid token header. Token string should not contain spaces.",
        ),
        ("Authorization", "Token wrong-token", "Invalid token."),
        ("X-Api-Key", "wrong-token", "Invalid token."),
    ];
    for (name, value, message) in cases {
        let r = request(
            t.addr,
            "GET",
            "/api/current-user/whoami",
            &[(name, value)],
            None,
        );
        assert_eq!(
            (r.status, r.json()["detail"].as_str().unwrap()),
            (401, *message),
            "{name}: {value}"
        );
    }
    for (name, value) in [
        ("Authorization", format!("Token {OWNER_TOKEN}")),
        ("Authorization", format!("tOkEn {OWNER_TOKEN}")),
        ("X-Api-Key", OWNER_TOKEN.to_owned()),
    ] {
        let r = request(
            t.addr,
            "GET",
            "/api/current-user/whoami",
            &[(name, &value)],
            None,
        );
        assert_eq!(r.status, 200, "{name}: {value}");
    }
    // Never from the query string.
    let r = request(
        t.addr,
        "GET",
        &format!("/api/current-user/whoami?token={OWNER_TOKEN}"),
        &[],
        None,
    );
    assert_eq!(r.status, 401);
    // An inactive user's token.
    let (_, token) = t.add_user("gone@example.com", Role::Member, None);
    t.block_on(t.services.set_active("gone@example.com", false))
        .unwrap();
    let r = request(
        t.addr,
        "GET",
        "/api/current-user/whoami",
        &[("Authorization", &format!("Token {token}"))],
        None,
    );
    assert_eq!(
        (r.status, r.json()["detail"].as_str().unwrap()),
        (401, "User inactive or deleted.")
    );
}

#[test]
fn whoami_shape_and_permissions() {
    let t = TestApp::start();
    let (_, member_token) = t.add_user("mem@example.com", Role::Member, None);
    let me = Client::with_token(t.addr, OWNER_TOKEN)
        .get("/api/current-user/whoami/")
        .json();
    let keys: Vec<&str> = me.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "id",
            "first_name",
            "last_name",
            "username",
            "email",
            "last_activity",
            "custom_hotkeys",
            "avatar",
            "initials",
            "phone",
            "active_organization",
            "active_organization_meta",
            "allow_newsletters",
            "date_joined",
            "permissions"
        ]
    );
    assert_eq!(me["email"], OWNER_EMAIL);
    assert_eq!(me["initials"], "ow");
    assert_eq!(me["custom_hotkeys"], json!({}));
    assert_eq!(
        me["active_organization_meta"],
        json!({"title": "Label Studio", "email": OWNER_EMAIL})
    );
    let joined = me["date_joined"].as_str().unwrap();
    assert!(joined.ends_with('Z') && joined.len() == 27, "{joined}");
    let perms: Vec<&str> = me["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        perms.contains(&"users.create") && perms.contains(&"organizations.reset_token"),
        "{perms:?}"
    );
    let member = Client::with_token(t.addr, &member_token)
        .get("/api/current-user/whoami")
        .json();
    let perms: Vec<&str> = member["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        perms.contains(&"organizations.view") && perms.contains(&"organizations.invite"),
        "{perms:?}"
    );
    assert!(
        !perms.contains(&"users.create") && !perms.contains(&"organizations.reset_token"),
        "{perms:?}"
    );
}

#[test]
fn the_token_is_shown_only_to_its_own_request_and_reset_replaces_it() {
    let t = TestApp::start();
    let mut owner = Client::with_token(t.addr, OWNER_TOKEN);
    let r = owner.get("/api/current-user/token");
    assert_eq!(
        (r.status, r.json()["token"].as_str().unwrap()),
        (200, OWNER_TOKEN)
    );
    let r = owner.send("POST", "/api/current-user/reset-token/", &[], None);
    assert_eq!(r.status, 201);
    let new = r.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(new.len(), 40);
    assert_eq!(
        owner.get("/api/current-user/whoami").status,
        401,
        "the old token fails at once"
    );
    let mut fresh = Client::with_token(t.addr, &new);
    assert_eq!(fresh.get("/api/current-user/whoami").status, 200);
    // Through a session, the token cannot be shown.
    let mut browser = logged_in(&t, OWNER_EMAIL, OWNER_PASSWORD);
    let r = browser.get("/api/current-user/token");
    assert_eq!(r.status, 404);
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("reset the token"),
        "{}",
        r.body
    );
}

fn logged_in(t: &TestApp, email: &str, password: &str) -> Client {
    let mut c = Client::new(t.addr);
    let r = c.get("/user/login/");
    assert_eq!(r.status, 200);
    let r = c.form("/user/login/", &[("email", email), ("password", password)]);
    assert_eq!(r.status, 302, "{}", r.body);
    assert!(c.cookie("sessionid").is_some());
    c
}

#[test]
fn users_create_list_get() {
    let t = TestApp::start();
    let (_, member_token) = t.add_user("mem@example.com", Role::Member, None);
    let mut owner = Client::with_token(t.addr, OWNER_TOKEN);
    let mut member = Client::with_token(t.addr, &member_token);

    // Members may not create users, and learn nothing about the input.
    let before = t.user_count();
    let r = member.json(
        "POST",
        "/api/users/",
        &json!({"username": "x", "email": "new@example.com"}),
    );
    assert_eq!(r.status, 403);
    assert_eq!(t.user_count(), before);

    let r = owner.json("POST", "/api/users", &json!({"email": "new@example.com"}));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["validation_errors"]["username"][0],
        "This field is required."
    );
    let r = owner.json("POST", "/api/users", &json!({"username": "n"}));
    assert_eq!(
        r.json()["validation_errors"]["email"][0],
        "This field is required."
    );
    let r = owner.json(
        "POST",
        "/api/users",
        &json!({"username": "n", "email": "not-an-email"}),
    );
    assert_eq!(
        (
            r.status,
            r.json()["validation_errors"]["email"][0].as_str().unwrap()
        ),
        (400, "Enter a valid email address.")
    );
    let r = owner.json(
        "POST",
        "/api/users",
        &json!({"username": "n", "email": "MEM@example.com"}),
    );
    assert_eq!(
        r.json()["validation_errors"]["email"][0],
        "User with this email already exists"
    );
    let r = owner.json(
        "POST",
        "/api/users",
        &json!({"username": "n", "email": "n@example.com", "password": "short"}),
    );
    assert_eq!(
        r.json()["validation_errors"]["password"][0],
        "Please enter a password 8\u{2013}128 characters in length."
    );
    let r = owner.json(
        "POST",
        "/api/users",
        &json!({"username": "n", "email": "n@example.com", "is_superuser": true}),
    );
    assert_eq!(r.status, 400);
    assert!(r.json()["validation_errors"]["is_superuser"].is_array());
    assert_eq!(t.user_count(), before);

    let r = owner.json(
        "POST",
        "/api/users/",
        &json!({"username": "newbie", "email": "New@Example.com", "first_name": "New", "last_name": "Bie", "password": "a-long-new-password"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let created = r.json();
    assert_eq!(
        (
            created["email"].as_str(),
            created["username"].as_str(),
            created["initials"].as_str()
        ),
        (Some("new@example.com"), Some("newbie"), Some("NB"))
    );
    // Unlike Label Studio's, an API-created user with a password can log in.
    logged_in(&t, "new@example.com", "a-long-new-password");

    let list = owner.get("/api/users").json();
    let emails: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        [OWNER_EMAIL, "mem@example.com", "new@example.com"],
        "by id"
    );
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        member.get(&format!("/api/users/{id}/")).json()["email"],
        "new@example.com"
    );
    assert_eq!(member.get("/api/users/99999").status, 404);
    let r = member.get("/api/users/not-a-number");
    assert_eq!(r.status, 404);
    assert_envelope(&r.json(), 404);
}

#[test]
fn users_patch_rules_save_all_or_nothing() {
    let t = TestApp::start();
    let (member_id, member_token) = t.add_user("mem@example.com", Role::Member, None);
    let (other_id, _) = t.add_user("other@example.com", Role::Member, None);
    let mut owner = Client::with_token(t.addr, OWNER_TOKEN);
    let mut member = Client::with_token(t.addr, &member_token);

    let r = member.json(
        "PATCH",
        &format!("/api/users/{member_id}"),
        &json!({"first_name": "Mia", "phone": "+1 555"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (
            r.json()["first_name"].as_str(),
            r.json()["initials"].as_str()
        ),
        (Some("Mia"), Some("M"))
    );

    // email is read-only: 405, and the rest of that body is not saved either.
    let r = member.json(
        "PATCH",
        &format!("/api/users/{member_id}"),
        &json!({"first_name": "Changed", "email": "x@example.com"}),
    );
    assert_eq!(
        (r.status, r.json()["detail"].as_str().unwrap()),
        (405, "Cannot update read-only field: email")
    );
    let r = member.json(
        "PATCH",
        &format!("/api/users/{member_id}"),
        &json!({"first_name": "Changed", "is_superuser": true, "date_joined": "x"}),
    );
    assert_eq!(r.status, 400);
    let v = r.json();
    assert!(
        v["validation_errors"]["is_superuser"].is_array()
            && v["validation_errors"]["date_joined"].is_array(),
        "{v}"
    );
    let r = member.json(
        "PATCH",
        &format!("/api/users/{member_id}"),
        &json!({"first_name": "Changed", "active_organization": 4242}),
    );
    assert!(
        r.json()["validation_errors"]["active_organization"].is_array(),
        "{}",
        r.body
    );
    let r = member.json(
        "PATCH",
        &format!("/api/users/{member_id}"),
        &json!({"first_name": 7}),
    );
    assert!(
        r.json()["validation_errors"]["first_name"].is_array(),
        "{}",
        r.body
    );
    assert_eq!(
        member.get(&format!("/api/users/{member_id}")).json()["first_name"],
        "Mia",
        "nothing saved"
    );

    // Members edit only themselves; managers edit members.
    let r = member.json(
        "PATCH",
        &format!("/api/users/{other_id}"),
        &json!({"first_name": "Hacked"}),
    );
    assert_eq!(r.status, 403);
    let r = owner.json(
        "PATCH",
        &format!("/api/users/{other_id}/"),
        &json!({"last_name": "Olsen", "username": "olsen"}),
    );
    assert_eq!(
        (r.status, r.json()["username"].as_str()),
        (200, Some("olsen"))
    );
    let r = owner.json(
        "PATCH",
        &format!("/api/users/{other_id}/"),
        &json!({"username": "two words"}),
    );
    assert!(r.json()["validation_errors"]["username"].is_array());
    assert_eq!(
        owner
            .json("PATCH", "/api/users/99999", &json!({"first_name": "x"}))
            .status,
        404
    );
    // The current-user endpoint patches oneself.
    let r = member.json("PATCH", "/api/current-user", &json!({"last_name": "Self"}));
    assert_eq!(
        (r.status, r.json()["last_name"].as_str()),
        (200, Some("Self"))
    );
    assert_eq!(member.get("/api/current-user").json()["last_name"], "Self");
}

#[test]
fn users_delete_rules() {
    let t = TestApp::start();
    let (member_id, member_token) = t.add_user("mem@example.com", Role::Member, None);
    let (admin_id, admin_token) = t.add_user("adm@example.com", Role::Administrator, None);
    let mut member = Client::with_token(t.addr, &member_token);
    let mut admin = Client::with_token(t.addr, &admin_token);
    let r = member.send("DELETE", &format!("/api/users/{admin_id}"), &[], None);
    assert_eq!(
        (r.status, r.json()["detail"].as_str().unwrap()),
        (403, "Only the organization owner can delete users")
    );
    let r = admin.send("DELETE", &format!("/api/users/{}", t.owner_id), &[], None);
    assert_eq!(
        (r.status, r.json()["detail"].as_str().unwrap()),
        (403, "The organization owner cannot be deleted")
    );
    let r = admin.send("DELETE", &format!("/api/users/{member_id}/"), &[], None);
    assert_eq!(r.status, 204);
    assert_eq!(admin.get(&format!("/api/users/{member_id}")).status, 404);
    assert_eq!(
        member.get("/api/current-user/whoami").status,
        401,
        "the deleted user's token is gone"
    );
    assert_eq!(
        admin.send("DELETE", "/api/users/99999", &[], None).status,
        404
    );
}

#[test]
fn organizations_list_get_patch() {
    let t = TestApp::start();
    let (_, member_token) = t.add_user("mem@example.com", Role::Member, None);
    let mut owner = Client::with_token(t.addr, OWNER_TOKEN);
    let mut member = Client::with_token(t.addr, &member_token);
    let list = owner.get("/api/organizations/").json();
    let org = &list[0];
    let keys: Vec<&str> = org
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["id", "title", "contact_info", "created_at"]);
    let id = org["id"].as_i64().unwrap();

    let detail = member.get(&format!("/api/organizations/{id}")).json();
    let keys: Vec<&str> = detail
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "title",
            "token",
            "created_at",
            "updated_at",
            "contact_info",
            "created_by",
            "users"
        ]
    );
    assert_eq!(detail["token"].as_str().unwrap().len(), 43);
    assert_eq!(detail["created_by"], t.owner_id);
    assert_eq!(detail["users"].as_array().unwrap().len(), 2);
    assert_eq!(owner.get("/api/organizations/4242").status, 404);

    let r = member.json(
        "PATCH",
        &format!("/api/organizations/{id}"),
        &json!({"title": "Mine now"}),
    );
    assert_eq!(r.status, 403);
    let r = owner.json(
        "PATCH",
        &format!("/api/organizations/{id}/"),
        &json!({"title": "Acme Labels", "contact_info": "Ops@Acme.example"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (
            r.json()["title"].as_str(),
            r.json()["contact_info"].as_str()
        ),
        (Some("Acme Labels"), Some("ops@acme.example"))
    );
    let r = owner.json(
        "PATCH",
        &format!("/api/organizations/{id}"),
        &json!({"contact_info": "not an email"}),
    );
    assert!(
        r.json()["validation_errors"]["contact_info"].is_array(),
        "{}",
        r.body
    );
    let r = owner.json(
        "PATCH",
        &format!("/api/organizations/{id}"),
        &json!({"title": "Other", "token": "x", "created_by": 5}),
    );
    let v = r.json();
    assert!(
        v["validation_errors"]["token"].is_array()
            && v["validation_errors"]["created_by"].is_array(),
        "{v}"
    );
    let r = owner.json(
        "PATCH",
        &format!("/api/organizations/{id}"),
        &json!({"contact_info": null}),
    );
    assert!(r.json()["contact_info"].is_null());
    assert_eq!(
        owner.get(&format!("/api/organizations/{id}")).json()["title"],
        "Acme Labels",
        "refused bodies saved nothing"
    );
    // The members' view of the title follows.
    assert_eq!(
        member.get("/api/current-user/whoami").json()["active_organization_meta"]["title"],
        "Acme Labels"
    );

    let r = owner.json("POST", "/api/organizations", &json!({"title": "Second"}));
    assert_eq!(
        (r.status, r.json()["detail"].as_str().unwrap()),
        (
            403,
            "Creating organizations over the API is disabled on this instance"
        )
    );
}

#[test]
fn invite_token_visibility_can_be_limited_to_managers() {
    let t = TestApp::with(Options {
        members_see_invite_link: Some(false),
        ..Options::default()
    });
    let (_, member_token) = t.add_user("mem@example.com", Role::Member, None);
    let mut member = Client::with_token(t.addr, &member_token);
    let id = member.get("/api/organizations").json()[0]["id"]
        .as_i64()
        .unwrap();
    assert!(member.get(&format!("/api/organizations/{id}")).json()["token"].is_null());
    assert_eq!(member.get("/api/invite").status, 403);
    assert_eq!(
        Client::with_token(t.addr, OWNER_TOKEN)
            .get("/api/invite")
            .status,
        200
    );
}

#[test]
fn memberships_paginate_show_and_soft_remove() {
    let t = TestApp::with(Options {
        public_url: Some("https://labels.example.com/ls".into()),
        ..Options::default()
    });
    let (member_id, member_token) = t.add_user("zed@example.com", Role::Member, None);
    let (_, admin_token) = t.add_user("amy@example.com", Role::Administrator, None);
    t.add_user("bob@example.com", Role::Member, None);
    let mut owner = Client::with_token(t.addr, OWNER_TOKEN);
    let mut member = Client::with_token(t.addr, &member_token);
    let id = owner.get("/api/organizations").json()[0]["id"]
        .as_i64()
        .unwrap();

    let page1 = owner
        .get(&format!(
            "/api/organizations/{id}/memberships?page=1&page_size=2"
        ))
        .json();
    assert_eq!(page1["count"], 4);
    let names: Vec<&str> = page1["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["amy", "bob"], "ordered by username");
    assert_eq!(
        page1["next"],
        format!(
            "https://labels.example.com/ls/api/organizations/{id}/memberships?page=2&page_size=2"
        )
    );
    assert!(page1["previous"].is_null());
    let item = &page1["results"][0];
    assert_eq!(item["organization"], id);
    assert!(
        item["created_projects"].is_null() && item["user"]["contributed_to_projects"].is_null()
    );
    let page2 = owner
        .get(&format!(
            "/api/organizations/{id}/memberships/?page=2&page_size=2"
        ))
        .json();
    assert!(page2["next"].is_null());
    assert_eq!(
        page2["previous"],
        format!(
            "https://labels.example.com/ls/api/organizations/{id}/memberships?page=1&page_size=2"
        )
    );
    let r = owner.get(&format!(
        "/api/organizations/{id}/memberships?page=3&page_size=2"
    ));
    assert_eq!(
        (r.status, r.json()["detail"].as_str().unwrap()),
        (404, "Invalid page.")
    );
    assert_eq!(
        owner
            .get(&format!("/api/organizations/{id}/memberships?page=abc"))
            .status,
        404
    );
    let all = owner
        .get(&format!("/api/organizations/{id}/memberships?page_size=-1"))
        .json();
    assert_eq!(all["results"].as_array().unwrap().len(), 4);
    assert_eq!(owner.get("/api/organizations/4242/memberships").status, 404);

    let detail = member
        .get(&format!("/api/organizations/{id}/memberships/{member_id}/"))
        .json();
    assert_eq!(
        (detail["user"].as_i64(), detail["organization"].as_i64()),
        (Some(member_id), Some(id))
    );
    assert_eq!(detail["annotations_count"], 0);

    // Roles: managers promote and demote; nobody touches the owner or themselves.
    let path = format!("/api/organizations/{id}/memberships/{member_id}");
    assert_eq!(
        member
            .json("PATCH", &path, &json!({"role": "administrator"}))
            .status,
        403,
        "members may not"
    );
    let r = owner.json("PATCH", &path, &json!({"role": "administrator"}));
    assert_eq!(
        (r.status, r.json()["role"].as_str()),
        (200, Some("administrator")),
        "{}",
        r.body
    );
    assert!(
        member.get("/api/current-user/whoami").json()["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("users.create"))
    );
    let r = owner.json("PATCH", &path, &json!({"role": "owner"}));
    assert!(
        r.json()["validation_errors"]["role"].is_array(),
        "one owner: {}",
        r.body
    );
    assert!(
        owner.json("PATCH", &path, &json!({"role": "root"})).json()["validation_errors"]["role"]
            .is_array()
    );
    assert!(owner.json("PATCH", &path, &json!({})).json()["validation_errors"]["role"].is_array());
    let owner_path = format!("/api/organizations/{id}/memberships/{}", t.owner_id);
    assert_eq!(
        member
            .json("PATCH", &owner_path, &json!({"role": "member"}))
            .status,
        403,
        "not the owner's role"
    );
    assert_eq!(
        owner
            .json("PATCH", &owner_path, &json!({"role": "member"}))
            .status,
        403,
        "not one's own role"
    );
    assert_eq!(
        owner
            .json("PATCH", &path, &json!({"role": "member"}))
            .json()["role"],
        "member"
    );

    // Removal rules.
    let r = member.send(
        "DELETE",
        &format!("/api/organizations/{id}/memberships/{member_id}"),
        &[],
        None,
    );
    assert_eq!(
        (r.status, r.json()["detail"].as_str().unwrap()),
        (405, "User cannot soft delete self")
    );
    let r = member.send(
        "DELETE",
        &format!("/api/organizations/{id}/memberships/{}", t.owner_id),
        &[],
        None,
    );
    assert_eq!(r.status, 403);
    let mut admin = Client::with_token(t.addr, &admin_token);
    assert_eq!(
        admin
            .send(
                "DELETE",
                &format!("/api/organizations/{id}/memberships/{}", t.owner_id),
                &[],
                None
            )
            .status,
        403
    );
    let r = admin.send(
        "DELETE",
        &format!("/api/organizations/{id}/memberships/{member_id}/"),
        &[],
        None,
    );
    assert_eq!(r.status, 204);
    let r = admin.send(
        "DELETE",
        &format!("/api/organizations/{id}/memberships/{member_id}"),
        &[],
        None,
    );
    assert_eq!(
        (r.status, r.json()["detail"].as_str().unwrap()),
        (404, "Member not found")
    );

    // From that request on: not listed, and the organization is gone for them.
    let emails: Vec<String> = owner
        .get("/api/users")
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect();
    assert!(!emails.contains(&"zed@example.com".to_owned()));
    assert_eq!(
        owner
            .get(&format!("/api/organizations/{id}/memberships"))
            .json()["count"],
        3
    );
    assert_eq!(member.get(&format!("/api/organizations/{id}")).status, 404);
    assert_eq!(
        member
            .get(&format!("/api/organizations/{id}/memberships"))
            .status,
        404
    );
    assert_eq!(member.get("/api/invite").status, 404);
    assert_eq!(member.get("/api/users").status, 404);
    assert!(
        member
            .get("/api/organizations")
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        owner.get(&format!("/api/users/{member_id}")).status,
        404,
        "no longer one of ours"
    );
    assert_eq!(
        owner
            .json("PATCH", &path, &json!({"role": "administrator"}))
            .status,
        404
    );
    // The account itself still exists.
    assert_eq!(member.get("/api/current-user/whoami").status, 200);
}

#[test]
fn invite_link_and_reset() {
    let t = TestApp::with(Options {
        public_url: Some("https://labels.example.com/ls/".into()),
        invite_only: true,
        ..Options::default()
    });
    let (_, member_token) = t.add_user("mem@example.com", Role::Member, None);
    let mut owner = Client::with_token(t.addr, OWNER_TOKEN);
    let mut member = Client::with_token(t.addr, &member_token);
    let link = member.get("/api/invite").json();
    let token = link["token"].as_str().unwrap().to_owned();
    assert_eq!(
        link["invite_url"],
        format!("/ls/user/signup/?token={token}")
    );
    assert!(token.len() >= 22);
    assert_eq!(
        member
            .send("POST", "/api/invite/reset-token", &[], None)
            .status,
        403
    );
    assert_eq!(owner.get("/api/invite/reset-token").status, 405);
    let r = owner.send("POST", "/api/invite/reset-token/", &[], None);
    assert_eq!(r.status, 201);
    let new = r.json()["token"].as_str().unwrap().to_owned();
    assert_ne!(new, token);
    assert_eq!(member.get("/api/invite/").json()["token"], new.as_str());
    // The old link registers no one.
    let stale = t.block_on(t.services.sign_up(app::SignupRequest {
        email: "late@example.com".into(),
        password: app::SecretString::new("late-password-1"),
        invite: Some(app::SecretString::new(&token)),
        client: None,
    }));
    assert!(
        matches!(stale, Err(app::AppError::SignupDenied(_))),
        "{stale:?}"
    );
}

#[test]
fn sessions_csrf_login_rotation_and_logout() {
    let t = TestApp::start();
    let mut browser = Client::new(t.addr);
    let form = browser.get("/user/login/");
    assert_eq!(form.status, 200);
    let csp = form.header("content-security-policy").unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(browser.cookie("csrftoken").is_some());

    // A login without the CSRF token is refused.
    let body =
        ls_integration::http::form_encode(&[("email", OWNER_EMAIL), ("password", OWNER_PASSWORD)]);
    let r = browser.send(
        "POST",
        "/user/login/",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(body.as_bytes()),
    );
    assert_eq!(r.status, 403);
    // Wrong password: one generic message, the email kept, the password never echoed.
    let r = browser.form(
        "/user/login/",
        &[
            ("email", "Owner@Example.com"),
            ("password", "wrong-password-9"),
        ],
    );
    assert_eq!(r.status, 200);
    assert!(
        r.body
            .contains("The email and password you entered don&#39;t match.")
            && r.body.contains("Owner@Example.com")
    );
    assert!(!r.body.contains("wrong-password-9"));
    let r = browser.form(
        "/user/login/?next=//evil.example/",
        &[("email", "OWNER@example.com"), ("password", OWNER_PASSWORD)],
    );
    assert_eq!((r.status, r.header("location")), (302, Some("/")));
    let line = r.set_cookie_line("sessionid").unwrap().to_owned();
    assert!(
        line.contains("HttpOnly") && line.contains("SameSite=Lax"),
        "{line}"
    );
    let first_sid = browser.cookie("sessionid").unwrap();
    assert_eq!(browser.get("/api/current-user/whoami").status, 200);

    // Unsafe API calls under a cookie need the CSRF header and our Origin.
    assert_eq!(
        browser
            .send("POST", "/api/current-user/reset-token", &[], None)
            .status,
        403
    );
    let csrf = browser.cookie("csrftoken").unwrap();
    let r = browser.send(
        "POST",
        "/api/current-user/reset-token",
        &[("X-CSRFToken", &csrf), ("Origin", "http://evil.example")],
        None,
    );
    assert_eq!(r.status, 403);
    let origin = format!("http://{}", t.addr);
    let r = browser.send(
        "POST",
        "/api/current-user/reset-token",
        &[("X-CSRFToken", &csrf), ("Origin", &origin)],
        None,
    );
    assert_eq!(r.status, 201, "{}", r.body);

    // A second login rotates the session id; the old one stops working.
    let r = browser.form(
        "/user/login/?next=/organization/",
        &[("email", OWNER_EMAIL), ("password", OWNER_PASSWORD)],
    );
    assert_eq!(r.header("location"), Some("/organization/"));
    let second_sid = browser.cookie("sessionid").unwrap();
    assert_ne!(first_sid, second_sid);
    let old = request(
        t.addr,
        "GET",
        "/api/current-user/whoami",
        &[("Cookie", &format!("sessionid={first_sid}"))],
        None,
    );
    assert_eq!(old.status, 401);

    // GET /logout only asks; POST ends the session on the server.
    assert_eq!(browser.get("/logout").status, 200);
    assert_eq!(browser.get("/api/current-user/whoami").status, 200);
    let r = browser.form("/logout/", &[]);
    assert_eq!(r.status, 302);
    let gone = request(
        t.addr,
        "GET",
        "/api/current-user/whoami",
        &[("Cookie", &format!("sessionid={second_sid}"))],
        None,
    );
    assert_eq!(gone.status, 401);

    // A password change ends every session.
    let mut b2 = logged_in(&t, OWNER_EMAIL, OWNER_PASSWORD);
    t.block_on(
        t.services
            .set_password(OWNER_EMAIL, &app::SecretString::new("changed-password-2")),
    )
    .unwrap();
    assert_eq!(b2.get("/api/current-user/whoami").status, 401);
}

#[test]
fn bad_bodies_get_clear_errors_never_a_500() {
    let t = TestApp::start();
    let addr = t.addr;
    let auth = format!("Token {OWNER_TOKEN}");
    let post = |ct: &str, body: &[u8]| {
        request(
            addr,
            "POST",
            "/api/users",
            &[("Authorization", &auth), ("Content-Type", ct)],
            Some(body),
        )
    };
    let r = post("application/json", b"{not json");
    assert_eq!(r.status, 400);
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("JSON parse error")
    );
    assert_eq!(post("application/json", b"[1, 2]").status, 400);
    assert_eq!(post("application/json", b"\"string\"").status, 400);
    assert_eq!(post("application/json", &[0xff, 0xfe, b'{']).status, 400);
    assert_eq!(post("text/plain", b"{\"a\": 1}").status, 415);
    let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
    assert_eq!(
        post("application/json", format!("{{\"a\": {deep}}}").as_bytes()).status,
        400
    );
    // A megabyte password is refused before parsing or hashing.
    let huge = format!(
        "{{\"username\": \"h\", \"email\": \"h@example.com\", \"password\": \"{}\"}}",
        "p".repeat(1 << 20)
    );
    let r = post("application/json", huge.as_bytes());
    assert_eq!(r.status, 413);
    assert_envelope(&r.json(), 413);
    // Within the limit, an over-long password is a field error.
    let long = json!({"username": "h", "email": "h@example.com", "password": "p".repeat(200)});
    let r = post("application/json", &serde_json::to_vec(&long).unwrap());
    assert!(
        r.json()["validation_errors"]["password"].is_array(),
        "{}",
        r.body
    );
    assert_eq!(t.user_count(), 1, "nothing was created");
}

#[test]
fn cookies_are_secure_behind_an_https_public_url() {
    let t = TestApp::with(Options {
        public_url: Some("https://labels.example.com/ls".into()),
        ..Options::default()
    });
    let mut c = Client::new(t.addr);
    let r = c.get("/user/login/");
    let csrf_line = r.set_cookie_line("csrftoken").unwrap();
    assert!(
        csrf_line.contains("Secure") && csrf_line.contains("Path=/ls/"),
        "{csrf_line}"
    );
    let r = c.form(
        "/user/login/",
        &[("email", OWNER_EMAIL), ("password", OWNER_PASSWORD)],
    );
    assert_eq!(r.header("location"), Some("/ls/"));
    let line = r.set_cookie_line("sessionid").unwrap();
    assert!(
        line.contains("Secure") && line.contains("HttpOnly"),
        "{line}"
    );
    // The same-origin check uses the public URL, never the Host header.
    let csrf = c.cookie("csrftoken").unwrap();
    let here = format!("http://{}", t.addr);
    assert_eq!(
        c.send(
            "POST",
            "/api/invite/reset-token",
            &[("X-CSRFToken", &csrf), ("Origin", &here)],
            None
        )
        .status,
        403
    );
    let r = c.send(
        "POST",
        "/api/invite/reset-token",
        &[
            ("X-CSRFToken", &csrf),
            ("Origin", "https://labels.example.com"),
        ],
        None,
    );
    assert_eq!(r.status, 201, "{}", r.body);
}

#[test]
fn slow_clients_are_cut_off_and_http2_is_spoken() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let http = ls_http::HttpConfig {
        header_read_timeout: Duration::from_secs(1),
        ..ls_http::HttpConfig::default()
    };
    let t = TestApp::with(Options {
        http: Some(http),
        ..Options::default()
    });
    // Headers that never finish: the connection is closed after the header-read timeout.
    let mut s = std::net::TcpStream::connect(t.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "closed after {waited:?}"
    );
    // HTTP/2 with prior knowledge: the connection preface is accepted and answered with SETTINGS.
    let mut h2 = std::net::TcpStream::connect(t.addr).unwrap();
    h2.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .unwrap();
    let mut frame = [0u8; 9];
    h2.read_exact(&mut frame).unwrap();
    assert_eq!(frame[3], 0x04, "a SETTINGS frame");
}

#[test]
fn a_second_organization_is_invisible_to_everyone_outside_it() {
    let t = TestApp::with(Options {
        organization_creation: true,
        ..Options::default()
    });
    let (member_id, member_token) = t.add_user("mem@example.com", Role::Member, None);
    let mut owner = Client::with_token(t.addr, OWNER_TOKEN);
    let mut member = Client::with_token(t.addr, &member_token);
    let first = owner.get("/api/organizations").json()[0]["id"]
        .as_i64()
        .unwrap();

    assert!(
        member.json("POST", "/api/organizations", &json!({})).json()["validation_errors"]["title"]
            .is_array()
    );
    let r = member.json(
        "POST",
        "/api/organizations/",
        &json!({"title": "Member's own"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let second = r.json()["id"].as_i64().unwrap();
    let theirs = member.get("/api/organizations").json();
    assert_eq!(theirs.as_array().unwrap().len(), 2, "{theirs}");
    assert_eq!(
        member.get(&format!("/api/organizations/{second}")).json()["created_by"],
        member_id
    );

    // Outsiders (even the first organization's owner) get 404s, never a hint.
    assert_eq!(
        owner.get(&format!("/api/organizations/{second}")).status,
        404
    );
    assert_eq!(
        owner
            .json(
                "PATCH",
                &format!("/api/organizations/{second}"),
                &json!({"title": "mine"})
            )
            .status,
        404
    );
    assert_eq!(
        owner
            .get(&format!("/api/organizations/{second}/memberships"))
            .status,
        404
    );
    assert_eq!(
        owner
            .get(&format!(
                "/api/organizations/{second}/memberships/{member_id}"
            ))
            .status,
        404
    );
    assert_eq!(
        owner
            .send(
                "DELETE",
                &format!("/api/organizations/{second}/memberships/{member_id}"),
                &[],
                None
            )
            .status,
        404
    );
    // Switching the active organization to one you are not in is refused.
    let r = owner.json(
        "PATCH",
        &format!("/api/users/{}", t.owner_id),
        &json!({"active_organization": second}),
    );
    assert!(
        r.json()["validation_errors"]["active_organization"].is_array(),
        "{}",
        r.body
    );
    // The member may switch; then their users list is the new organization's.
    let r = member.json(
        "PATCH",
        &format!("/api/users/{member_id}"),
        &json!({"active_organization": second}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let users = member.get("/api/users").json();
    assert_eq!(users.as_array().unwrap().len(), 1);
    assert_eq!(
        owner.get(&format!("/api/users/{member_id}")).status,
        200,
        "still a member of the first"
    );
    assert!(
        owner.get(&format!("/api/organizations/{first}")).json()["users"]
            .as_array()
            .unwrap()
            .contains(&json!(member_id))
    );
    // Off by default.
    let t2 = TestApp::start();
    let r = Client::with_token(t2.addr, OWNER_TOKEN).json(
        "POST",
        "/api/organizations",
        &json!({"title": "x"}),
    );
    assert_eq!(r.status, 403);
}
