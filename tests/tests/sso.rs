//! Single sign-on against real OpenID providers on loopback (see
//! `ls_integration::oidc`): the npm `oidc-provider` for the flows, and a
//! hostile provider for the ID tokens that must be refused. Each refusal
//! stores nothing: the stored-rows snapshot before the flow began equals
//! the one after the refused callback (the flow itself is gone by then).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use ls_integration::http::{Client, Response};
use ls_integration::oidc::{
    Provider, continue_url, free_port, hostile_provider, log_in_at_provider, provider_config,
    real_provider, split_url,
};
use ls_integration::server::{OWNER_EMAIL, Options, TestApp};
use orgs::Role;
use serde_json::json;

/// Our server with the provider `name` at `issuer` (the provider itself is
/// started after, once our redirect URI is known).
fn server(name: &str, issuer: &str, opts: Options) -> TestApp {
    TestApp::with(Options {
        oidc: vec![provider_config(name, issuer)],
        ..opts
    })
}

fn callback_uri(app: &TestApp, name: &str) -> String {
    format!("http://{}/user/sso/{name}/callback", app.addr)
}

/// A server and the real provider, with our client registered there.
fn with_real_provider(opts: Options) -> (TestApp, Provider) {
    let port = free_port();
    let app = server("local", &format!("http://127.0.0.1:{port}"), opts);
    let provider = real_provider(port, &[callback_uri(&app, "local")]);
    (app, provider)
}

/// The login page's "Log in with" button: a POST with the CSRF token.
fn press_button(browser: &mut Client, query: &str) -> Response {
    if browser.cookie("csrftoken").is_none() {
        browser.get("/user/login/");
    }
    browser.form(&format!("/user/sso/local/login{query}"), &[])
}

/// Leaves our server for the provider: the browser's client for us and the
/// authorization URL.
fn begin(app: &TestApp, query: &str) -> (Client, String) {
    let mut browser = Client::new(app.addr);
    let r = press_button(&mut browser, query);
    let url = continue_url(&r);
    assert!(browser.cookie("ls_sso_state").is_some());
    (browser, url)
}

/// Delivers the provider's redirect back to our server.
fn deliver(browser: &mut Client, callback_url: &str) -> Response {
    let (addr, path) = split_url(callback_url);
    assert_eq!(
        addr, browser.addr,
        "the provider sent the browser elsewhere: {callback_url}"
    );
    browser.get(&path)
}

/// The whole login as `login` at the real provider.
fn sso_login(app: &TestApp, provider: &Provider, login: &str, query: &str) -> (Client, Response) {
    let (mut browser, url) = begin(app, query);
    let mut at_provider = Client::new(provider.addr());
    let back = log_in_at_provider(&mut at_provider, &url, login);
    let r = deliver(&mut browser, &back);
    (browser, r)
}

fn whoami(browser: &mut Client) -> serde_json::Value {
    let r = browser.get("/api/current-user/whoami");
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn role_of(app: &TestApp, email: &str) -> Role {
    use app::OrgStore as _;
    let user = app.block_on(app.services.find_user(email)).unwrap();
    let org = user.active_organization.unwrap();
    app.block_on(app.services.store().membership(user.id, org))
        .unwrap()
        .unwrap()
        .role
}

#[test]
fn the_real_provider_links_by_verified_email_and_makes_new_accounts_in_open_mode() {
    let (app, provider) = with_real_provider(Options::default());

    // The owner's verified email links the existing account, and the link
    // ends the sessions the account had (a password login's here).
    let mut by_password = Client::new(app.addr);
    by_password.get("/user/login/");
    let r = by_password.form(
        "/user/login/",
        &[
            ("email", OWNER_EMAIL),
            ("password", ls_integration::server::OWNER_PASSWORD),
        ],
    );
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(by_password.get("/api/current-user/whoami").status, 200);
    let (mut owner, r) = sso_login(&app, &provider, "owner", "?next=/user/account/");
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(r.header("location"), Some("/user/account/"));
    assert!(owner.cookie("sessionid").is_some());
    assert!(
        owner.cookie("ls_sso_state").is_none(),
        "the flow's cookie goes"
    );
    assert_eq!(whoami(&mut owner)["email"], OWNER_EMAIL);
    assert_eq!(
        by_password.get("/api/current-user/whoami").status,
        401,
        "ended by the link"
    );
    let page = owner.get("/user/account/");
    assert!(page.body.contains("Linked identities") && page.body.contains("Test ID (local)"));

    // A stranger gets a new account (open mode), a member.
    let users = app.user_count();
    let (mut erin, r) = sso_login(&app, &provider, "erin", "");
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(whoami(&mut erin)["email"], "erin@example.com");
    assert_eq!(app.user_count(), users + 1);
    assert_eq!(role_of(&app, "erin@example.com"), Role::Member);

    // The groups claim maps to administrator.
    let (_, r) = sso_login(&app, &provider, "dave", "");
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(role_of(&app, "dave@example.com"), Role::Administrator);

    // An unverified email never reaches the existing account.
    let before = app.snapshot();
    let (mallory, r) = sso_login(&app, &provider, "mallory", "");
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("has not verified the email"), "{}", r.body);
    assert!(mallory.cookie("sessionid").is_none());
    assert_eq!(app.snapshot(), before);
    // Another identity at the same provider with the owner's (verified)
    // email does not take over the account already linked to the first.
    let (owner2, r) = sso_login(&app, &provider, "owner2", "");
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("linked to another identity"), "{}", r.body);
    assert!(owner2.cookie("sessionid").is_none());
    assert_eq!(app.snapshot(), before);
    // Nor does it make a new account (one waiting for its real owner's
    // verified login to be linked into).
    let (gina, r) = sso_login(&app, &provider, "gina", "");
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("has not verified your email address"),
        "{}",
        r.body
    );
    assert!(gina.cookie("sessionid").is_none());
    assert_eq!(app.snapshot(), before);

    // Logging out ends our session and goes to the provider's logout.
    let csrf = owner.cookie("csrftoken").unwrap();
    let r = owner.form("/logout/", &[("csrfmiddlewaretoken", &csrf)]);
    let to = continue_url(&r);
    assert!(
        to.starts_with(&format!("{}/session/end?", provider.issuer))
            && to.contains("client_id=ls-users"),
        "{to}"
    );
    assert_eq!(owner.get("/api/current-user/whoami").status, 401);
}

#[test]
fn invite_only_refuses_a_stranger_and_admits_one_with_the_link_once_it_is_current() {
    let (app, provider) = with_real_provider(Options {
        invite_only: true,
        ..Options::default()
    });
    let before = app.snapshot();
    let (carol, r) = sso_login(&app, &provider, "carol", "");
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("needs an invite link"), "{}", r.body);
    assert!(carol.cookie("sessionid").is_none());
    assert_eq!(
        app.snapshot(),
        before,
        "nothing stored for a refused stranger"
    );

    // The owner's invite link, through its sign-up page's "Sign up with".
    let mut owner = Client::with_token(app.addr, ls_integration::server::OWNER_TOKEN);
    let link = owner.get("/api/invite").json();
    let token = link["token"].as_str().unwrap().to_owned();
    let signup = Client::new(app.addr).get(&format!("/user/signup/?token={token}"));
    assert!(
        signup
            .body
            .contains(&format!("/user/sso/local/login?token={token}")),
        "{}",
        signup.body
    );
    let (mut carol, r) = sso_login(&app, &provider, "carol", &format!("?token={token}"));
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(whoami(&mut carol)["email"], "carol@example.com");

    // After Reset Link the old link lets nobody else in, by this path either.
    let r = owner.send("POST", "/api/invite/reset-token", &[], None);
    assert_eq!(r.status, 201, "{}", r.body);
    let mut frank = Client::new(app.addr);
    let r = press_button(&mut frank, &format!("?token={token}"));
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(frank.cookie("ls_sso_state").is_none());
    assert_eq!(app.user_count(), 2);
}

#[test]
fn a_deactivated_account_cannot_come_back_through_its_provider() {
    let (app, provider) = with_real_provider(Options::default());
    let (_, r) = sso_login(&app, &provider, "erin", "");
    assert_eq!(r.status, 302, "{}", r.body);
    app.block_on(app.services.set_active("erin@example.com", false))
        .unwrap();
    let before = app.snapshot();
    let (erin, r) = sso_login(&app, &provider, "erin", "");
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(erin.cookie("sessionid").is_none());
    assert_eq!(app.snapshot(), before);
}

/// Why a callback was refused, as the page says it.
#[derive(Debug, Clone, Copy)]
enum Refused {
    /// Our flow: none for this state, another browser's, used or expired.
    Flow,
    /// The provider's answer: the code refused, or the ID token failed a check.
    Provider,
}

/// One refused callback: the page says why, nothing stored, no session.
fn assert_refused(
    app: &TestApp,
    browser: &mut Client,
    r: &Response,
    before: &[String],
    kind: Refused,
    why: &str,
) {
    assert_eq!(r.status, 400, "{why}: {}", r.body);
    let text = match kind {
        Refused::Flow => "expired or was already used",
        Refused::Provider => "did not confirm who you are",
    };
    assert!(
        r.body.contains(text),
        "{why}: expected {kind:?}: {}",
        r.body
    );
    assert!(browser.cookie("sessionid").is_none(), "{why}");
    assert_eq!(app.snapshot(), before, "{why}: something was stored");
}

/// The first linked identity's id, from the account page's Unlink form.
fn identity_id(account_page: &Response) -> String {
    let after = account_page.body.split("/user/account/identities/").nth(1);
    after.unwrap().split('/').next().unwrap().to_owned()
}

fn param(url: &str, name: &str) -> String {
    url.split(&format!("{name}="))
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn callbacks_with_a_wrong_replayed_expired_or_foreign_state_are_refused() {
    let (app, provider) = with_real_provider(Options::default());
    app.add_user("erin@example.com", Role::Member, None);

    let (mut browser, url) = begin(&app, "");
    let secret = browser.cookie("ls_sso_state").unwrap();
    let before = app.snapshot();
    let mut at_provider = Client::new(provider.addr());
    let back = log_in_at_provider(&mut at_provider, &url, "erin");
    let state = param(&back, "state");
    assert_ne!(state, secret, "the state is not the browser's secret");
    // A made-up state.
    let r = deliver(&mut browser, &back.replace("state=", "state=0"));
    assert_refused(
        &app,
        &mut browser,
        &r,
        &before,
        Refused::Flow,
        "a made-up state",
    );
    // The callback in another browser: without our cookie, or with the
    // state as the cookie (all that someone who saw the redirect has).
    let mut other = Client::new(app.addr);
    let r = deliver(&mut other, &back);
    assert_refused(
        &app,
        &mut other,
        &r,
        &before,
        Refused::Flow,
        "another browser",
    );
    other.cookies.push(("ls_sso_state".into(), state.clone()));
    let r = deliver(&mut other, &back);
    assert_refused(
        &app,
        &mut other,
        &r,
        &before,
        Refused::Flow,
        "an intercepted redirect",
    );
    // The flow is still there for its own browser, whose cookie those
    // refusals left alone.
    assert_eq!(browser.cookie("ls_sso_state"), Some(secret.clone()));
    let r = deliver(&mut browser, &back);
    assert_eq!(r.status, 302, "the flow's own browser: {}", r.body);

    // Replayed, even with the right cookie: the flow was taken.
    let after = app.snapshot();
    let mut replay = Client::new(app.addr);
    replay.cookies.push(("ls_sso_state".into(), secret));
    let r = deliver(&mut replay, &back);
    assert_refused(
        &app,
        &mut replay,
        &r,
        &after,
        Refused::Flow,
        "a replayed callback",
    );

    // Expired: the flow's time runs out at the provider.
    let before = app.snapshot();
    let (mut late, url) = begin(&app, "");
    let back = log_in_at_provider(&mut at_provider, &url, "erin");
    let db = app.services.store().connection().clone();
    app.block_on(async {
        use sea_orm::ConnectionTrait as _;
        db.execute_unprepared("UPDATE sso_flows SET expires_at = 1")
            .await
            .unwrap();
    });
    let r = deliver(&mut late, &back);
    assert_refused(
        &app,
        &mut late,
        &r,
        &before,
        Refused::Flow,
        "an expired state",
    );

    // The provider named on the way back (RFC 9207 `iss`) is another one.
    let (mut mixed, url) = begin(&app, "");
    let back = log_in_at_provider(&mut at_provider, &url, "erin");
    let iss = param(&back, "iss");
    let r = deliver(&mut mixed, &back.replace(&iss, "http%3A%2F%2Fevil.example"));
    assert_refused(
        &app,
        &mut mixed,
        &r,
        &before,
        Refused::Provider,
        "another issuer's callback",
    );
}

#[test]
fn an_authorization_code_is_good_once() {
    let (app, provider) = with_real_provider(Options::default());
    let (mut first, url) = begin(&app, "");
    let mut at_provider = Client::new(provider.addr());
    let back = log_in_at_provider(&mut at_provider, &url, "erin");
    assert_eq!(deliver(&mut first, &back).status, 302);
    let code = param(&back, "code");

    // A new flow, finished with the used code: the provider refuses it.
    let before = app.snapshot();
    let (mut second, url) = begin(&app, "");
    let fresh = log_in_at_provider(&mut at_provider, &url, "erin");
    let fresh_code = param(&fresh, "code");
    let replayed = fresh.replace(&fresh_code, &code);
    let r = deliver(&mut second, &replayed);
    assert_refused(
        &app,
        &mut second,
        &r,
        &before,
        Refused::Provider,
        "a used authorization code",
    );
}

#[test]
fn id_tokens_that_fail_a_check_are_refused_with_nothing_stored() {
    let port = free_port();
    let app = server(
        "local",
        &format!("http://127.0.0.1:{port}"),
        Options::default(),
    );
    let hostile = hostile_provider(port, &callback_uri(&app, "local"));
    let stranger = json!({"sub": "h-1", "email": "stranger@example.com", "email_verified": true});
    for flaw in [
        "other-key",
        "alg-none",
        "audience",
        "expired",
        "issuer",
        "nonce",
    ] {
        hostile.set_flaw(flaw, stranger.clone());
        let before = app.snapshot();
        let (mut browser, url) = begin(&app, "");
        // The hostile provider sends the browser straight back.
        let (addr, path) = split_url(&url);
        let back = Client::new(addr).get(&path);
        let r = deliver(&mut browser, back.header("location").unwrap());
        assert_refused(&app, &mut browser, &r, &before, Refused::Provider, flaw);
    }
    // The same provider, honest: the account is made (the checks above
    // refused the flaws, not the provider).
    hostile.set_flaw("none", stranger);
    let (mut browser, url) = begin(&app, "");
    let (addr, path) = split_url(&url);
    let back = Client::new(addr).get(&path);
    let r = deliver(&mut browser, back.header("location").unwrap());
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(whoami(&mut browser)["email"], "stranger@example.com");
}

#[test]
fn with_password_login_off_only_the_providers_let_anyone_in() {
    let (app, provider) = with_real_provider(Options {
        password_login: Some(false),
        ..Options::default()
    });
    let mut browser = Client::new(app.addr);
    let page = browser.get("/user/login/");
    assert!(!page.body.contains("name=\"password\""), "{}", page.body);
    assert!(page.body.contains("Log in with Test ID (local)"));
    let r = browser.form(
        "/user/login/",
        &[
            ("email", OWNER_EMAIL),
            ("password", ls_integration::server::OWNER_PASSWORD),
        ],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("turned off"), "{}", r.body);
    assert!(browser.cookie("sessionid").is_none());
    let users = app.user_count();
    let r = browser.form(
        "/user/signup/",
        &[
            ("email", "pat@example.com"),
            ("password", "a-long-password-1"),
        ],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(app.user_count(), users);

    // An SSO-only account cannot unlink its only way in.
    let (mut erin, r) = sso_login(&app, &provider, "erin", "");
    assert_eq!(r.status, 302, "{}", r.body);
    let page = erin.get("/user/account/");
    let id = identity_id(&page);
    let csrf = erin.cookie("csrftoken").unwrap();
    let before = app.snapshot();
    let r = erin.form(
        &format!("/user/account/identities/{id}/unlink"),
        &[("csrfmiddlewaretoken", &csrf)],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("only way to log in"), "{}", r.body);
    assert_eq!(app.snapshot(), before);
}

#[test]
fn an_account_with_a_password_can_unlink_its_identity_and_only_its_own() {
    let (app, provider) = with_real_provider(Options::default());
    let (mut owner, r) = sso_login(&app, &provider, "owner", "");
    assert_eq!(r.status, 302, "{}", r.body);
    let (mut erin, _) = sso_login(&app, &provider, "erin", "");
    let page = owner.get("/user/account/");
    let id = identity_id(&page);
    let path = format!("/user/account/identities/{id}/unlink");

    // Not erin's to unlink, and not without the CSRF token.
    let csrf = erin.cookie("csrftoken").unwrap();
    let r = erin.form(&path, &[("csrfmiddlewaretoken", &csrf)]);
    assert_eq!(r.status, 404, "{}", r.body);
    let r = owner.send(
        "POST",
        &path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(b""),
    );
    assert_eq!(r.status, 403, "{}", r.body);

    let csrf = owner.cookie("csrftoken").unwrap();
    let r = owner.form(&path, &[("csrfmiddlewaretoken", &csrf)]);
    assert_eq!(r.status, 302, "{}", r.body);
    assert!(
        !owner
            .get("/user/account/")
            .body
            .contains("Linked identities")
    );
    // Logging in through the provider again links it again (verified email).
    let (_, r) = sso_login(&app, &provider, "owner", "");
    assert_eq!(r.status, 302, "{}", r.body);
}

#[test]
fn flows_left_unfinished_are_counted_against_the_address_and_finished_ones_are_not() {
    let limit = accounts::throttle::Limit {
        max_events: 3,
        window_secs: 900,
        lockout_secs: 900,
    };
    let (app, provider) = with_real_provider(Options {
        throttle: Some(app::ThrottleConfig {
            login_per_client: limit,
            ..app::ThrottleConfig::default()
        }),
        ..Options::default()
    });
    // Two left at the provider, one finished (its count taken back).
    begin(&app, "");
    begin(&app, "");
    let (_, r) = sso_login(&app, &provider, "erin", "");
    assert_eq!(r.status, 302, "{}", r.body);
    // The third unfinished one is the last the address may start.
    begin(&app, "");
    let before = app.snapshot();
    let mut browser = Client::new(app.addr);
    let r = press_button(&mut browser, "");
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").is_some());
    assert!(r.body.contains("Too many sign-ins"), "{}", r.body);
    assert!(browser.cookie("ls_sso_state").is_none());
    assert_eq!(app.snapshot(), before, "no flow stored");
}
