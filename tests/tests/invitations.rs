//! Invitations of one person (issue 17) over real HTTP: honoured in
//! invite-only mode, for the invited address only, once; a guessed,
//! dumped, reused, replaced, revoked or expired token is refused with
//! nothing stored changed; with SMTP the invitation is mailed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use ls_integration::http::{Client, Response};
use ls_integration::server::{OWNER_EMAIL, OWNER_PASSWORD, Options, TestApp, no_throttling};
use ls_integration::smtp::{SmtpServer, link_in};
use orgs::Role;
use sea_orm::ConnectionTrait as _;

fn app(smtp: Option<&SmtpServer>) -> TestApp {
    TestApp::with(Options {
        invite_only: true,
        throttle: Some(no_throttling()),
        smtp_url: smtp.map(SmtpServer::url),
        ..Options::default()
    })
}

fn logged_in(t: &TestApp, email: &str, password: &str) -> Client {
    let mut c = Client::new(t.addr);
    c.get("/user/login/");
    let r = c.form("/user/login/", &[("email", email), ("password", password)]);
    assert_eq!(r.status, 302, "{}", r.body);
    c
}

fn value_of(r: &Response, id: &str) -> String {
    let at = r
        .body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}: {}", r.body));
    let rest = &r.body[at..];
    let v = &rest[rest.find("value=\"").unwrap() + 7..];
    v[..v.find('"').unwrap()].replace("&amp;", "&")
}

/// Invites `email` from the owner's page: the link's path and query.
fn invite(owner: &mut Client, email: &str, role: &str) -> String {
    let r = owner.form(
        "/organization/invitations",
        &[("email", email), ("role", role)],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let url = value_of(&r, "invitation-link");
    url[url.find("/user/invitation/").unwrap()..].to_owned()
}

fn accept(c: &mut Client, link: &str, email: &str) -> Response {
    if c.cookie("csrftoken").is_none() {
        c.get("/user/login/");
    }
    c.form(link, &[("email", email), ("password", "a-long-password-1")])
}

fn sql(t: &TestApp, statement: &str) {
    let db = t.services.store().connection().clone();
    t.block_on(async { db.execute_unprepared(statement).await.unwrap() });
}

fn stored_digests(t: &TestApp) -> Vec<String> {
    let db = t.services.store().connection().clone();
    t.block_on(async {
        db.query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT digest FROM invitations",
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "digest").unwrap())
        .collect()
    })
}

fn role_of(t: &TestApp, email: &str) -> Option<Role> {
    use app::OrgStore as _;
    let user = t.block_on(t.services.find_user(email)).ok()?;
    let org = user.active_organization?;
    t.block_on(t.services.store().membership(user.id, org))
        .unwrap()
        .map(|m| m.role)
}

#[test]
fn an_invitation_admits_its_address_once_and_nothing_else_changes_anything() {
    let t = app(None);
    let mut owner = logged_in(&t, OWNER_EMAIL, OWNER_PASSWORD);
    let link = invite(&mut owner, "new@example.com", "administrator");
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let r = owner.get("/organization/?dialog=add-people");
    assert!(r.body.contains("Pending invitations") && r.body.contains("new@example.com"));

    let mut stranger = Client::new(t.addr);
    let before = t.snapshot();
    let refused = |c: &mut Client, link: &str, email: &str, status: u16, what: &str| {
        let r = accept(c, link, email);
        assert_eq!(r.status, status, "{what}: {}", r.body);
        assert!(r.cookie("sessionid").is_none(), "{what}");
        assert_eq!(t.snapshot(), before, "{what} changed nothing");
    };
    refused(
        &mut stranger,
        "/user/invitation/?token=00ff00ff",
        "new@example.com",
        404,
        "a guess",
    );
    for dumped in stored_digests(&t) {
        assert_ne!(dumped, token, "only a digest is stored");
        let link = format!("/user/invitation/?token={dumped}");
        refused(
            &mut stranger,
            &link,
            "new@example.com",
            404,
            "a digest from a dump",
        );
    }
    refused(
        &mut stranger,
        &format!("{link}&token={token}"),
        "new@example.com",
        404,
        "the token twice",
    );
    refused(
        &mut stranger,
        &link,
        "other@example.com",
        400,
        "another address",
    );
    let r = accept(&mut stranger, &link, "other@example.com");
    assert!(r.body.contains("for another email address"), "{}", r.body);
    // Invite-only mode still closes the plain sign-up page.
    let r = stranger.form(
        "/user/signup/",
        &[
            ("email", "new@example.com"),
            ("password", "a-long-password-1"),
        ],
    );
    assert_eq!(r.status, 403);
    assert_eq!(t.snapshot(), before);
    let r = stranger.send(
        "POST",
        &link,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(b"email=new%40example.com&password=a-long-password-1"),
    );
    assert_eq!(r.status, 403, "no CSRF token");
    assert_eq!(t.snapshot(), before);

    let r = stranger.get(&link);
    assert_eq!(r.status, 200);
    let r = accept(&mut stranger, &link, "NEW@example.com");
    assert_eq!(r.status, 302, "the invited address, any case: {}", r.body);
    assert!(r.cookie("sessionid").is_some());
    assert_eq!(role_of(&t, "new@example.com"), Some(Role::Administrator));

    let before = t.snapshot();
    let mut again = Client::new(t.addr);
    let r = accept(&mut again, &link, "new@example.com");
    assert_eq!(r.status, 404, "used once: {}", r.body);
    let r = accept(&mut again, &link, "third@example.com");
    assert_eq!(r.status, 404);
    assert_eq!(t.snapshot(), before);
}

#[test]
fn revoked_replaced_and_expired_invitations_are_refused() {
    let t = app(None);
    let mut owner = logged_in(&t, OWNER_EMAIL, OWNER_PASSWORD);
    let mut c = Client::new(t.addr);

    let revoked = invite(&mut owner, "x@example.com", "member");
    let r = owner.get("/organization/?dialog=add-people");
    let at = r.body.find("id=\"revoke-invitation-").unwrap();
    let rest = &r.body[at + "id=\"revoke-invitation-".len()..];
    let id = &rest[..rest.find('"').unwrap()];
    let r = owner.form(&format!("/organization/invitations/{id}/revoke"), &[]);
    assert_eq!(r.status, 302);
    let before = t.snapshot();
    assert_eq!(
        accept(&mut c, &revoked, "x@example.com").status,
        404,
        "revoked"
    );
    assert_eq!(t.snapshot(), before);

    let first = invite(&mut owner, "y@example.com", "member");
    let second = invite(&mut owner, "y@example.com", "member");
    let before = t.snapshot();
    assert_eq!(
        accept(&mut c, &first, "y@example.com").status,
        404,
        "replaced"
    );
    assert_eq!(t.snapshot(), before);

    let expired = invite(&mut owner, "z@example.com", "member");
    sql(
        &t,
        "UPDATE invitations SET expires_at = 1 WHERE email = 'z@example.com'",
    );
    let before = t.snapshot();
    assert_eq!(c.get(&expired).status, 404);
    assert_eq!(
        accept(&mut c, &expired, "z@example.com").status,
        404,
        "expired"
    );
    assert_eq!(t.snapshot(), before);

    let r = accept(&mut c, &second, "y@example.com");
    assert_eq!(r.status, 302, "{}", r.body);

    // Who may invite, and whom.
    t.add_user(
        "member@example.com",
        Role::Member,
        Some("member-password-1"),
    );
    let mut member = logged_in(&t, "member@example.com", "member-password-1");
    let before = t.snapshot();
    let r = member.form(
        "/organization/invitations",
        &[("email", "q@example.com"), ("role", "member")],
    );
    assert_eq!(r.status, 403);
    let r = owner.form(
        "/organization/invitations",
        &[("email", "member@example.com"), ("role", "member")],
    );
    assert!(
        r.body
            .contains("email: User with this email already exists"),
        "{}",
        r.body
    );
    let r = owner.form(
        "/organization/invitations",
        &[("email", "q@example.com"), ("role", "owner")],
    );
    assert!(r.body.contains("role:"), "{}", r.body);
    let r = owner.form(
        "/organization/invitations",
        &[("email", "not-an-email"), ("role", "member")],
    );
    assert!(r.body.contains("email:"), "{}", r.body);
    assert_eq!(t.snapshot(), before);
}

#[test]
fn with_smtp_the_invitation_is_mailed_and_its_link_works() {
    let smtp = SmtpServer::start();
    let t = app(Some(&smtp));
    let mut owner = logged_in(&t, OWNER_EMAIL, OWNER_PASSWORD);
    let r = owner.form(
        "/organization/invitations",
        &[("email", "mailed@example.com"), ("role", "member")],
    );
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("Invitation mailed to mailed@example.com"),
        "{}",
        r.body
    );
    assert!(
        !r.body.contains("invitation-link"),
        "no link shown when it is mailed"
    );
    let mails = smtp.wait_for(1);
    assert!(
        mails[0].contains("X-RcptTo: mailed@example.com"),
        "{}",
        mails[0]
    );
    assert!(
        mails[0].contains("Subject: You are invited to Label Studio"),
        "{}",
        mails[0]
    );
    let link = link_in(&mails[0], "/user/invitation/").unwrap();
    let path = &link[link.find("/user/").unwrap()..];
    let mut c = Client::new(t.addr);
    assert_eq!(accept(&mut c, path, "mailed@example.com").status, 302);
    assert_eq!(role_of(&t, "mailed@example.com"), Some(Role::Member));
}
