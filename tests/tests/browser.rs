//! The pages in real headless Chromium (Debian's `chromium` and
//! `chromium-driver`), driven through WebDriver against the real
//! `ls-server` binary: what a person does in the seed's user guide.
//! Screenshots of each page land in `target/screenshots/`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

#[path = "support/chromium.rs"]
mod chromium;

use std::path::Path;

use chromium::{
    browser, chromedriver, clean_console, fill, page_text, shot, wait_copied, wait_path,
};
use fantoccini::{Client, Locator};
use ls_integration::process::{Server, command};
use serde_json::json;

async fn sign_up(c: &Client, base: &str, link: Option<&str>, email: &str, password: &str) {
    c.goto(
        link.map_or_else(|| format!("{base}/user/signup/"), str::to_owned)
            .as_str(),
    )
    .await
    .unwrap();
    clean_console(c).await;
    fill(c, "email", email).await;
    fill(c, "password", password).await;
    c.find(Locator::XPath(
        "//button[normalize-space()='Create Account']",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_path(c, "/organization/").await;
    clean_console(c).await;
}

async fn log_in(c: &Client, base: &str, email: &str, password: &str) {
    c.goto(&format!("{base}/user/login/")).await.unwrap();
    clean_console(c).await;
    fill(c, "email", email).await;
    fill(c, "password", password).await;
    c.find(Locator::XPath("//button[normalize-space()='Log in']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_path(c, "/organization/").await;
}

async fn open_menu_item(c: &Client, label: &str) {
    c.find(Locator::Css("details.menu > summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::XPath(&format!(
        "//details[contains(@class,'menu')]//*[normalize-space()='{label}']"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
}

async fn log_out(c: &Client) {
    // A person closes an open dialog first: its scrim covers the page.
    if let Ok(close) = c
        .find(Locator::XPath("//dialog//a[normalize-space()='Close']"))
        .await
    {
        close.click().await.unwrap();
        wait_path(c, "/organization/").await;
    }
    open_menu_item(c, "Log out").await;
    wait_path(c, "/user/login/").await;
}

async fn open_add_people(c: &Client) -> String {
    c.find(Locator::Id("add-people"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let field = c
        .wait()
        .for_element(Locator::Id("invite-link"))
        .await
        .unwrap();
    clean_console(c).await;
    let copy = c
        .find(Locator::XPath("//button[normalize-space()='Copy']"))
        .await
        .unwrap();
    copy.click().await.unwrap();
    wait_copied(&copy).await;
    field.prop("value").await.unwrap().unwrap()
}

fn server(home: &Path, env: &[(&str, &str)]) -> Server {
    let mut cmd = command("ls-server", home);
    cmd.arg("--data-dir")
        .arg(home.join("data"))
        .args(["start", "-p", "0"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Server::start(cmd).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_forms_through_the_pages() {
    let driver = chromedriver();
    let home = tempfile::tempdir().unwrap();
    let srv = server(home.path(), &[]);
    let base = format!("http://{}", srv.addr);
    let c = browser(&driver).await;

    // 1. A first visitor signs up and lands in the organization page as its owner.
    c.goto(&base).await.unwrap();
    wait_path(&c, "/user/login/").await;
    c.find(Locator::LinkText("Sign up"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_path(&c, "/user/signup/").await;
    shot(&c, "signup").await;
    sign_up(&c, &base, None, "founder@example.com", "founder-password-1").await;
    let text = page_text(&c).await;
    assert!(
        text.contains("founder@example.com") && text.contains("owner"),
        "{text}"
    );
    shot(&c, "organization").await;

    // 2. Organization → Add People, copy the link, log out.
    open_menu_item(&c, "Organization").await;
    wait_path(&c, "/organization/").await;
    let link = open_add_people(&c).await;
    assert!(
        link.starts_with(&format!("{base}/user/signup/?token=")),
        "{link}"
    );
    shot(&c, "organization-add-people").await;
    c.set_window_size(390, 844).await.unwrap();
    shot(&c, "organization-add-people-phone").await;
    c.set_window_size(1280, 900).await.unwrap();
    log_out(&c).await;
    shot(&c, "login").await;

    // 3. A second visitor opens the link, signs up, and appears in the owner's list.
    c.goto(&link).await.unwrap();
    assert!(page_text(&c).await.contains("You were invited"));
    sign_up(
        &c,
        &base,
        Some(&link),
        "second@example.com",
        "second-password-1",
    )
    .await;
    log_out(&c).await;
    log_in(&c, &base, "founder@example.com", "founder-password-1").await;
    let text = page_text(&c).await;
    assert!(
        text.contains("second@example.com") && text.contains("member"),
        "{text}"
    );

    // 4. The owner resets the link; the old one lets nobody in, the new one does.
    let old = open_add_people(&c).await;
    c.find(Locator::Id("reset-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let warning = page_text(&c).await;
    assert!(
        warning.contains("will no longer be able to register"),
        "{warning}"
    );
    clean_console(&c).await;
    c.find(Locator::Id("confirm-reset"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let field = c
        .wait()
        .for_element(Locator::Id("invite-link"))
        .await
        .unwrap();
    let new = field.prop("value").await.unwrap().unwrap();
    assert_ne!(new, old);
    assert!(page_text(&c).await.contains("the old one no longer works"));
    log_out(&c).await;
    c.goto(&old).await.unwrap();
    let text = page_text(&c).await;
    assert!(text.contains("no longer valid"), "{text}");
    assert!(
        c.find(Locator::Id("password")).await.is_err(),
        "no form for a stale link"
    );
    clean_console(&c).await;
    sign_up(
        &c,
        &base,
        Some(&new),
        "third@example.com",
        "third-password-1",
    )
    .await;
    log_out(&c).await;

    // 6. The account page shows a new token once, and it works against the API.
    log_in(&c, &base, "founder@example.com", "founder-password-1").await;
    open_menu_item(&c, "Account").await;
    wait_path(&c, "/user/account/").await;
    clean_console(&c).await;
    assert!(
        c.find(Locator::Id("api-token")).await.is_err(),
        "no token before a reset"
    );
    c.find(Locator::Id("reset-token"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let token = c
        .wait()
        .for_element(Locator::Id("api-token"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(token.len(), 40);
    clean_console(&c).await;
    shot(&c, "account").await;
    let (status, body) = srv.get(
        "/api/current-user/whoami",
        &[("Authorization", &format!("Token {token}"))],
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("founder@example.com"));
    c.goto(&format!("{base}/user/account/")).await.unwrap();
    assert!(
        c.find(Locator::Id("api-token")).await.is_err(),
        "shown once, never again"
    );

    c.close().await.unwrap();
    let (code, _) = srv.stop();
    assert_eq!(code, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restricted_sign_up_says_an_invite_is_needed() {
    let driver = chromedriver();
    let home = tempfile::tempdir().unwrap();
    let srv = server(
        home.path(),
        &[
            ("LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK", "true"),
            ("LABEL_STUDIO_USERNAME", "admin@example.com"),
            ("LABEL_STUDIO_PASSWORD", "admin-password-1"),
        ],
    );
    let base = format!("http://{}", srv.addr);
    let c = browser(&driver).await;

    // 5. Without a link, no form: the page says why; the login page offers no sign-up.
    c.goto(&format!("{base}/user/signup/")).await.unwrap();
    let text = page_text(&c).await;
    assert!(text.contains("needs an invite link"), "{text}");
    assert!(c.find(Locator::Id("email")).await.is_err());
    clean_console(&c).await;
    shot(&c, "signup-restricted").await;
    c.goto(&format!("{base}/user/login/")).await.unwrap();
    assert!(
        c.find(Locator::LinkText("Sign up")).await.is_err(),
        "no Sign up link when restricted"
    );
    clean_console(&c).await;
    // A forged form post is refused before anything is looked at.
    let (status, _) =
        ls_integration::process::http_get(srv.addr, "/user/signup/?token=forged", &[]);
    assert_eq!(status, 403);
    log_in(&c, &base, "admin@example.com", "admin-password-1").await;
    let link = open_add_people(&c).await;
    log_out(&c).await;
    sign_up(
        &c,
        &base,
        Some(&link),
        "invited@example.com",
        "invited-password-1",
    )
    .await;
    c.close().await.unwrap();
    srv.stop();
}

async fn press(c: &Client, key: fantoccini::key::Key) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let k: char = key.into();
    let actions = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: k })
        .then(KeyAction::Up { value: k });
    c.perform_actions(actions).await.unwrap();
}

async fn focused(c: &Client) -> String {
    let v = c
        .execute("var e = document.activeElement; return e ? (e.id || (e.textContent || '').trim()) : '';", vec![])
        .await
        .unwrap();
    v.as_str().unwrap_or_default().to_owned()
}

/// Press Tab until the focused element's id or text is `target`.
async fn tab_to(c: &Client, target: &str) {
    for _ in 0..25 {
        if focused(c).await == target {
            return;
        }
        press(c, fantoccini::key::Key::Tab).await;
    }
    panic!("Tab never reached {target:?} (at {:?})", focused(c).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_work_by_keyboard() {
    use fantoccini::key::Key;
    let driver = chromedriver();
    let home = tempfile::tempdir().unwrap();
    let srv = server(
        home.path(),
        &[
            ("LABEL_STUDIO_USERNAME", "keys@example.com"),
            ("LABEL_STUDIO_PASSWORD", "keyboard-password-1"),
        ],
    );
    let base = format!("http://{}", srv.addr);
    let c = browser(&driver).await;

    // Log in with the keyboard alone.
    c.goto(&format!("{base}/user/login/")).await.unwrap();
    tab_to(&c, "email").await;
    c.active_element()
        .await
        .unwrap()
        .send_keys("keys@example.com")
        .await
        .unwrap();
    press(&c, Key::Tab).await;
    assert_eq!(focused(&c).await, "password");
    c.active_element()
        .await
        .unwrap()
        .send_keys("keyboard-password-1")
        .await
        .unwrap();
    press(&c, Key::Enter).await;
    wait_path(&c, "/organization/").await;

    // Menu → Organization, then Add People → Copy.
    tab_to(&c, "Menu").await;
    press(&c, Key::Enter).await;
    let open = c
        .execute(
            "return document.querySelector('details.menu').open;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(open, json!(true), "Enter opens the menu");
    tab_to(&c, "Organization").await;
    press(&c, Key::Enter).await;
    wait_path(&c, "/organization/").await;
    tab_to(&c, "add-people").await;
    press(&c, Key::Enter).await;
    c.wait()
        .for_element(Locator::Id("invite-link"))
        .await
        .unwrap();
    tab_to(&c, "Copy").await;
    press(&c, Key::Enter).await;
    let copy = c
        .find(Locator::XPath("//button[@data-copy='invite-link']"))
        .await
        .unwrap();
    wait_copied(&copy).await;
    clean_console(&c).await;
    c.close().await.unwrap();
    srv.stop();
}
