//! Single sign-on in real headless Chromium, through the real OpenID
//! provider's own login page (npm `oidc-provider` on loopback): a person
//! clicks "Log in with …", types their name at the provider, and comes back
//! signed in, or is told why not. Screenshots land in `target/screenshots/`
//! (`sso-*.png`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

#[path = "support/chromium.rs"]
mod chromium;

use std::time::{Duration, Instant};

use chromium::{browser, chromedriver, clean_console, page_text, shot, wait_path};
use fantoccini::{Client, Locator};
use ls_integration::oidc::{Provider, free_port, provider_config, real_provider};
use ls_integration::server::{OWNER_EMAIL, OWNER_TOKEN, Options, TestApp};
use orgs::Role;

const BUTTON: &str = "Test ID (local)";

fn setup(opts: Options) -> (TestApp, Provider) {
    let port = free_port();
    let app = TestApp::with(Options {
        oidc: vec![provider_config(
            "local",
            &format!("http://127.0.0.1:{port}"),
        )],
        ..opts
    });
    let provider = real_provider(
        port,
        &[format!("http://{}/user/sso/local/callback", app.addr)],
    );
    (app, provider)
}

/// Waits until the browser is on `host:port` of `base`.
async fn wait_on(c: &Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let url = c.current_url().await.unwrap();
        if url.as_str().starts_with(base) {
            return;
        }
        assert!(Instant::now() < deadline, "expected {base}, at {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// From one of our pages: the "… with Test ID" button, then the provider's
/// own login form as `login`, then back to us.
async fn through_provider(
    c: &Client,
    app: &TestApp,
    provider: &Provider,
    button: &str,
    login: &str,
    name: &str,
) {
    clean_console(c).await;
    c.find(Locator::XPath(&format!(
        "//button[normalize-space()='{button} {BUTTON}']"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_on(c, &provider.issuer).await;
    let field = c
        .wait()
        .for_element(Locator::Css("input[name=login]"))
        .await
        .unwrap();
    shot(c, &format!("sso-{name}-provider-login")).await;
    field.send_keys(login).await.unwrap();
    c.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys("any password")
        .await
        .unwrap();
    c.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_on(c, &format!("http://{}", app.addr)).await;
}

/// (Awaited on the test's runtime: the app's own would not nest in it.)
async fn role_of(app: &TestApp, email: &str) -> Option<Role> {
    use app::OrgStore as _;
    let user = app.services.find_user(email).await.ok()?;
    let org = user.active_organization?;
    Some(
        app.services
            .store()
            .membership(user.id, org)
            .await
            .unwrap()?
            .role,
    )
}

async fn snapshot(app: &TestApp) -> Vec<String> {
    ls_integration::snapshot::take(app.services.store().connection()).await
}

#[test]
fn open_mode_links_by_verified_email_makes_accounts_and_maps_groups() {
    let (app, provider) = setup(Options::default());
    let base = format!("http://{}", app.addr);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let driver = chromedriver();

        // The owner, by their verified email: linked to the existing account.
        let c = browser(&driver).await;
        c.goto(&format!("{base}/user/login/")).await.unwrap();
        shot(&c, "sso-login-page").await;
        through_provider(&c, &app, &provider, "Log in with", "owner", "owner").await;
        wait_path(&c, "/organization/").await;
        clean_console(&c).await;
        c.goto(&format!("{base}/user/account/")).await.unwrap();
        let text = page_text(&c).await;
        assert!(
            text.contains("Linked identities") && text.contains(BUTTON),
            "{text}"
        );
        assert!(text.contains(OWNER_EMAIL));
        c.execute("document.querySelector('table').scrollIntoView()", vec![])
            .await
            .unwrap();
        shot(&c, "sso-owner-linked").await;
        // Logging out ends our session, then the provider's (RP-initiated
        // logout), which sends the browser back to our login page.
        c.find(Locator::Css("details.menu > summary"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.find(Locator::XPath("//button[normalize-space()='Log out']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_on(&c, &format!("{base}/user/login/")).await;
        clean_console(&c).await;
        shot(&c, "sso-logged-out-at-provider").await;
        c.goto(&format!("{base}/user/account/")).await.unwrap();
        wait_path(&c, "/user/login/").await;
        // The provider forgot this browser too: its login page asks again.
        c.find(Locator::XPath(&format!(
            "//button[normalize-space()='Log in with {BUTTON}']"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
        wait_on(&c, &provider.issuer).await;
        c.wait()
            .for_element(Locator::Css("input[name=login]"))
            .await
            .unwrap();
        c.close().await.unwrap();

        // A stranger in open mode: a new account, a member.
        let c = browser(&driver).await;
        c.goto(&format!("{base}/user/login/")).await.unwrap();
        through_provider(&c, &app, &provider, "Log in with", "erin", "new-account").await;
        wait_path(&c, "/organization/").await;
        shot(&c, "sso-new-account").await;
        assert_eq!(role_of(&app, "erin@example.com").await, Some(Role::Member));
        c.close().await.unwrap();

        // In the administrators' group: an administrator.
        let c = browser(&driver).await;
        c.goto(&format!("{base}/user/login/")).await.unwrap();
        through_provider(&c, &app, &provider, "Log in with", "dave", "admin-group").await;
        wait_path(&c, "/organization/").await;
        assert_eq!(
            role_of(&app, "dave@example.com").await,
            Some(Role::Administrator)
        );
        c.close().await.unwrap();

        // An unverified email that is the owner's: never linked.
        let before = snapshot(&app).await;
        let c = browser(&driver).await;
        c.goto(&format!("{base}/user/login/")).await.unwrap();
        through_provider(&c, &app, &provider, "Log in with", "mallory", "unverified").await;
        // The refusal is the login page, answered at the callback.
        wait_path(&c, "/user/sso/local/callback").await;
        clean_console(&c).await;
        let text = page_text(&c).await;
        assert!(text.contains("has not verified the email"), "{text}");
        assert!(
            c.find(Locator::XPath(&format!(
                "//button[normalize-space()='Log in with {BUTTON}']"
            )))
            .await
            .is_ok()
        );
        shot(&c, "sso-unverified-refused").await;
        assert_eq!(snapshot(&app).await, before);
        c.close().await.unwrap();
    });
}

#[test]
fn invite_only_needs_the_invite_and_the_invite_keeps_its_rules() {
    let (app, provider) = setup(Options {
        invite_only: true,
        ..Options::default()
    });
    let base = format!("http://{}", app.addr);
    let mut api = ls_integration::http::Client::with_token(app.addr, OWNER_TOKEN);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let driver = chromedriver();

        // A stranger without an invite: refused, nothing stored.
        let before = snapshot(&app).await;
        let c = browser(&driver).await;
        c.goto(&format!("{base}/user/login/")).await.unwrap();
        through_provider(&c, &app, &provider, "Log in with", "carol", "stranger").await;
        wait_path(&c, "/user/sso/local/callback").await;
        clean_console(&c).await;
        let text = page_text(&c).await;
        assert!(text.contains("needs an invite link"), "{text}");
        shot(&c, "sso-invite-only-refused").await;
        assert_eq!(snapshot(&app).await, before);

        // With the invite link: its sign-up page offers "Sign up with"; the
        // provider remembers carol, so she comes straight back, admitted.
        let path = api.get("/api/invite").json()["invite_url"]
            .as_str()
            .unwrap()
            .to_owned();
        let link = format!("{base}{path}");
        c.goto(&link).await.unwrap();
        clean_console(&c).await;
        shot(&c, "sso-invite-signup-page").await;
        c.find(Locator::XPath(&format!(
            "//button[normalize-space()='Sign up with {BUTTON}']"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
        wait_path(&c, "/organization/").await;
        clean_console(&c).await;
        shot(&c, "sso-invited-signed-in").await;
        assert_eq!(role_of(&app, "carol@example.com").await, Some(Role::Member));
        c.close().await.unwrap();

        // The link is reset: the old one admits nobody, through SSO either
        // (its sign-up page says so and offers no button).
        let r = api.send("POST", "/api/invite/reset-token", &[], None);
        assert_eq!(r.status, 201, "{}", r.body);
        let c = browser(&driver).await;
        c.goto(&link).await.unwrap();
        let text = page_text(&c).await;
        assert!(text.contains("no longer valid"), "{text}");
        assert!(
            c.find(Locator::XPath(&format!(
                "//button[normalize-space()='Sign up with {BUTTON}']"
            )))
            .await
            .is_err()
        );
        shot(&c, "sso-stale-invite").await;
        c.close().await.unwrap();
        assert_eq!(role_of(&app, "frank@example.com").await, None);
    });
}
