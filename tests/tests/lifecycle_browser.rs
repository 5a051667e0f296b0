//! The account lifecycle in real headless Chromium (issue 17): a password
//! changed on the account page ends the other browser's session; a reset
//! link an owner makes on the organization page works once (a second use
//! and an expired link are refused); and the owner changes a role, removes,
//! deactivates and hands the ownership over from the organization page,
//! each after its confirmation. Screenshots land in `target/screenshots/`
//! (`lifecycle-*.png`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

#[path = "support/chromium.rs"]
mod chromium;

use chromium::{browser, chromedriver, clean_console, fill, shot, wait_path};
use fantoccini::{Client, Locator};
use ls_integration::server::{OWNER_EMAIL, OWNER_PASSWORD, Options, TestApp, no_throttling};
use orgs::Role;
use sea_orm::ConnectionTrait as _;

const MEMBER: &str = "member@example.com";
const MEMBER_PASSWORD: &str = "member-password-1";

fn app() -> TestApp {
    TestApp::with(Options {
        throttle: Some(no_throttling()),
        ..Options::default()
    })
}

async fn log_in(c: &Client, base: &str, email: &str, password: &str) {
    c.goto(&format!("{base}/user/login/")).await.unwrap();
    fill(c, "email", email).await;
    fill(c, "password", password).await;
    click(c, "//button[normalize-space()='Log in']").await;
    wait_path(c, "/organization/").await;
    clean_console(c).await;
}

async fn click(c: &Client, xpath: &str) {
    c.find(Locator::XPath(xpath))
        .await
        .unwrap_or_else(|e| panic!("{xpath}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn click_id(c: &Client, id: &str) {
    c.wait()
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
        .click()
        .await
        .unwrap();
}

/// From the organization page: **Manage** on `member`, the action, its
/// confirmation (with `shot` taken of it), and back on the page.
async fn manage(c: &Client, member: i64, action: &str, shot_name: &str) {
    click_id(c, &format!("manage-{member}")).await;
    click_id(c, &format!("action-{action}")).await;
    c.wait()
        .for_element(Locator::Id("confirm-action"))
        .await
        .unwrap();
    clean_console(c).await;
    shot(c, shot_name).await;
    click_id(c, "confirm-action").await;
}

/// The page's text once it holds `needle` (a form's answer may come on
/// the same path, so the path alone does not tell it arrived).
async fn wait_text(c: &Client, needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Ok(main) = c.find(Locator::Css("main")).await
            && let Ok(text) = main.text().await
            && text.contains(needle)
        {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {needle:?} on the page"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn role_of(app: &TestApp, user_id: i64) -> Option<Role> {
    use app::OrgStore as _;
    let org = app.services.store().first_organization().await.unwrap()?;
    app.services
        .store()
        .membership(user_id, org.id)
        .await
        .unwrap()
        .filter(|m| m.removed_at.is_none())
        .map(|m| m.role)
}

#[test]
fn a_password_change_ends_the_other_browser_and_a_reset_link_works_once() {
    let app = app();
    let base = format!("http://{}", app.addr);
    let (member_id, _) = app.add_user(MEMBER, Role::Member, Some(MEMBER_PASSWORD));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let driver = chromedriver();
        let here = browser(&driver).await;
        let there = browser(&driver).await;
        log_in(&here, &base, MEMBER, MEMBER_PASSWORD).await;
        log_in(&there, &base, MEMBER, MEMBER_PASSWORD).await;

        here.goto(&format!("{base}/user/account/")).await.unwrap();
        fill(&here, "current_password", "not-my-password").await;
        fill(&here, "new_password", "member-new-password").await;
        click_id(&here, "change-password").await;
        wait_text(&here, "current_password: The password is not correct.").await;
        shot(&here, "lifecycle-password-wrong-current").await;
        fill(&here, "current_password", MEMBER_PASSWORD).await;
        fill(&here, "new_password", "member-new-password").await;
        click_id(&here, "change-password").await;
        wait_path(&here, "/user/account/").await;
        wait_text(&here, "Password changed.").await;
        clean_console(&here).await;
        shot(&here, "lifecycle-password-changed").await;

        // The other browser's session is gone; this one stays.
        there.goto(&format!("{base}/organization/")).await.unwrap();
        wait_path(&there, "/user/login/").await;
        shot(&there, "lifecycle-other-browser-logged-out").await;
        here.goto(&format!("{base}/organization/")).await.unwrap();
        wait_path(&here, "/organization/").await;

        // A personal access token: the password asked again, shown once,
        // listed with its last use, revoked.
        here.goto(&format!("{base}/user/account/")).await.unwrap();
        fill(&here, "pat-password", "member-new-password").await;
        click_id(&here, "create-pat").await;
        wait_text(&here, "It is shown this once").await;
        clean_console(&here).await;
        here.execute(
            "document.getElementById('new-pat').scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
        shot(&here, "lifecycle-pat-created").await;
        here.goto(&format!("{base}/user/account/")).await.unwrap();
        wait_text(&here, "never").await;
        click_id(&here, "revoke-1").await;
        wait_path(&here, "/user/account/").await;
        wait_text(&here, "Create token").await;

        // The owner makes a reset link on the organization page.
        let owner = browser(&driver).await;
        log_in(&owner, &base, OWNER_EMAIL, OWNER_PASSWORD).await;
        manage(
            &owner,
            member_id,
            "reset-link",
            "lifecycle-reset-link-confirm",
        )
        .await;
        let field = owner
            .wait()
            .for_element(Locator::Id("reset-url"))
            .await
            .unwrap();
        let link = field.prop("value").await.unwrap().unwrap();
        clean_console(&owner).await;
        shot(&owner, "lifecycle-reset-link-made").await;

        // Used once, in a browser that is nobody's.
        let anyone = browser(&driver).await;
        anyone.goto(&link).await.unwrap();
        let text = wait_text(&anyone, "Set a new password").await;
        assert!(text.contains(MEMBER), "{text}");
        clean_console(&anyone).await;
        shot(&anyone, "lifecycle-reset-form").await;
        fill(&anyone, "password", "member-reset-password").await;
        click(&anyone, "//button[normalize-space()='Set password']").await;
        wait_text(&anyone, "Your new password is set").await;
        shot(&anyone, "lifecycle-reset-done").await;
        here.goto(&format!("{base}/organization/")).await.unwrap();
        wait_path(&here, "/user/login/").await;
        anyone.goto(&link).await.unwrap();
        wait_text(&anyone, "not valid").await;
        shot(&anyone, "lifecycle-reset-second-use").await;

        // Expired.
        owner.goto(&format!("{base}/organization/")).await.unwrap();
        manage(
            &owner,
            member_id,
            "reset-link",
            "lifecycle-reset-link-confirm-2",
        )
        .await;
        let link = owner
            .wait()
            .for_element(Locator::Id("reset-url"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .unwrap();
        let db = app.services.store().connection().clone();
        db.execute_unprepared("UPDATE password_resets SET expires_at = 1")
            .await
            .unwrap();
        anyone.goto(&link).await.unwrap();
        wait_text(&anyone, "not valid").await;
        shot(&anyone, "lifecycle-reset-expired").await;

        log_in(&anyone, &base, MEMBER, "member-reset-password").await;
        for c in [here, there, owner, anyone] {
            c.close().await.unwrap();
        }
    });
}

#[test]
fn the_owner_manages_members_from_the_organization_page() {
    let app = app();
    let base = format!("http://{}", app.addr);
    let (admin_id, _) = app.add_user(
        "admin@example.com",
        Role::Administrator,
        Some("admin-password-1"),
    );
    let (member_id, _) = app.add_user(MEMBER, Role::Member, Some(MEMBER_PASSWORD));
    let (leaver_id, _) = app.add_user(
        "leaver@example.com",
        Role::Member,
        Some("leaver-password-1"),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let driver = chromedriver();
        let owner = browser(&driver).await;
        log_in(&owner, &base, OWNER_EMAIL, OWNER_PASSWORD).await;
        shot(&owner, "lifecycle-organization").await;

        // A role change: the confirmation has the role to choose.
        click_id(&owner, &format!("manage-{member_id}")).await;
        shot(&owner, "lifecycle-manage-dialog").await;
        click_id(&owner, "action-role").await;
        owner
            .wait()
            .for_element(Locator::Css("select#role option[value=administrator]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        shot(&owner, "lifecycle-role-confirm").await;
        click_id(&owner, "confirm-action").await;
        wait_path(&owner, "/organization/").await;
        wait_text(&owner, "The role was changed.").await;
        assert_eq!(role_of(&app, member_id).await, Some(Role::Administrator));

        // A cancelled confirmation does nothing.
        click_id(&owner, &format!("manage-{leaver_id}")).await;
        click_id(&owner, "action-remove").await;
        click(&owner, "//dialog//a[normalize-space()='Cancel']").await;
        assert_eq!(role_of(&app, leaver_id).await, Some(Role::Member));

        // A removal.
        owner.goto(&format!("{base}/organization/")).await.unwrap();
        manage(&owner, leaver_id, "remove", "lifecycle-remove-confirm").await;
        wait_path(&owner, "/organization/").await;
        let text = wait_text(&owner, "removed from the organization").await;
        assert!(!text.contains("leaver@example.com"), "{text}");
        assert_eq!(role_of(&app, leaver_id).await, None);

        // A deactivation: that person's browser is logged out.
        let member = browser(&driver).await;
        log_in(&member, &base, MEMBER, MEMBER_PASSWORD).await;
        manage(
            &owner,
            member_id,
            "deactivate",
            "lifecycle-deactivate-confirm",
        )
        .await;
        wait_path(&owner, "/organization/").await;
        wait_text(&owner, "The account was deactivated").await;
        shot(&owner, "lifecycle-deactivated").await;
        member.goto(&format!("{base}/organization/")).await.unwrap();
        wait_path(&member, "/user/login/").await;
        assert!(!app.services.find_user(MEMBER).await.unwrap().is_active);

        // The ownership handed over: the former owner is an administrator.
        manage(&owner, admin_id, "transfer", "lifecycle-transfer-confirm").await;
        wait_path(&owner, "/organization/").await;
        wait_text(&owner, "The ownership was transferred").await;
        shot(&owner, "lifecycle-transferred").await;
        assert_eq!(role_of(&app, admin_id).await, Some(Role::Owner));
        assert_eq!(role_of(&app, app.owner_id).await, Some(Role::Administrator));
        // The new owner's row has no Manage for the former owner's role.
        click_id(&owner, &format!("manage-{admin_id}")).await;
        wait_text(&owner, "changes only by a transfer").await;
        for c in [owner, member] {
            c.close().await.unwrap();
        }
    });
}

#[test]
fn forgot_password_end_to_end_through_a_real_smtp_server() {
    let smtp = ls_integration::smtp::SmtpServer::start();
    let app = TestApp::with(Options {
        throttle: Some(no_throttling()),
        smtp_url: Some(smtp.url()),
        ..Options::default()
    });
    let base = format!("http://{}", app.addr);
    app.add_user(MEMBER, Role::Member, Some(MEMBER_PASSWORD));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let driver = chromedriver();
        let c = browser(&driver).await;
        c.goto(&format!("{base}/user/login/")).await.unwrap();
        click_id(&c, "forgot-password").await;
        wait_path(&c, "/user/forgot-password/").await;
        clean_console(&c).await;
        shot(&c, "lifecycle-forgot-form").await;
        fill(&c, "email", MEMBER).await;
        click(&c, "//button[normalize-space()='Send the link']").await;
        wait_text(&c, "on its way").await;
        shot(&c, "lifecycle-forgot-sent").await;

        // The test reads the mail the SMTP server received, and follows it.
        let mails = tokio::task::block_in_place(|| smtp.wait_for(1));
        let link = ls_integration::smtp::link_in(&mails[0], "/user/reset-password/").unwrap();
        c.goto(&link).await.unwrap();
        wait_text(&c, "Set a new password").await;
        clean_console(&c).await;
        fill(&c, "password", "member-mailed-password").await;
        click(&c, "//button[normalize-space()='Set password']").await;
        wait_text(&c, "Your new password is set").await;
        shot(&c, "lifecycle-forgot-done").await;
        c.goto(&link).await.unwrap();
        wait_text(&c, "not valid").await;
        log_in(&c, &base, MEMBER, "member-mailed-password").await;
        c.close().await.unwrap();
    });
}

#[test]
fn a_one_person_invitation_is_accepted_once_and_refused_for_another_address() {
    let app = TestApp::with(Options {
        invite_only: true,
        throttle: Some(no_throttling()),
        ..Options::default()
    });
    let base = format!("http://{}", app.addr);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let driver = chromedriver();
        let owner = browser(&driver).await;
        log_in(&owner, &base, OWNER_EMAIL, OWNER_PASSWORD).await;
        click_id(&owner, "add-people").await;
        fill(&owner, "invite-email", "grace@example.com").await;
        owner
            .find(Locator::Css(
                "select#invite-role option[value=administrator]",
            ))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        click_id(&owner, "invite-one").await;
        let link = owner
            .wait()
            .for_element(Locator::Id("invitation-link"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .unwrap();
        owner
            .wait()
            .for_element(Locator::Css("table.invitations"))
            .await
            .unwrap();
        clean_console(&owner).await;
        shot(&owner, "lifecycle-invitation-made").await;

        let guest = browser(&driver).await;
        guest.goto(&link).await.unwrap();
        wait_text(&guest, "You are invited as administrator").await;
        clean_console(&guest).await;
        fill(&guest, "email", "mallory@example.com").await;
        fill(&guest, "password", "grace-password-1").await;
        click(&guest, "//button[normalize-space()='Create Account']").await;
        wait_text(&guest, "for another email address").await;
        shot(&guest, "lifecycle-invitation-other-address").await;
        assert!(app.services.find_user("mallory@example.com").await.is_err());
        fill(&guest, "email", "grace@example.com").await;
        fill(&guest, "password", "grace-password-1").await;
        click(&guest, "//button[normalize-space()='Create Account']").await;
        wait_path(&guest, "/organization/").await;
        clean_console(&guest).await;
        shot(&guest, "lifecycle-invitation-accepted").await;
        let grace = app.services.find_user("grace@example.com").await.unwrap();
        assert_eq!(role_of(&app, grace.id).await, Some(Role::Administrator));

        let late = browser(&driver).await;
        late.goto(&link).await.unwrap();
        wait_text(&late, "not valid").await;
        shot(&late, "lifecycle-invitation-used").await;
        for c in [owner, guest, late] {
            c.close().await.unwrap();
        }
    });
}
