//! "Forgot password?" through a real SMTP server on loopback (Python's
//! aiosmtpd): the mail arrives with a one-time link that works once; the
//! answer is the same, byte for byte apart from the CSRF value, and in the
//! same time, for known and unknown addresses; the outbox survives a
//! restart; without SMTP there is no such page.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::time::{Duration, Instant};

use ls_integration::http::Client;
use ls_integration::process::{Server, command};
use ls_integration::server::{Options, TestApp, no_throttling};
use ls_integration::smtp::{SmtpServer, link_in};
use orgs::Role;

const MEMBER: &str = "member@example.com";

fn with_smtp(smtp: &SmtpServer, throttled: bool) -> TestApp {
    TestApp::with(Options {
        throttle: (!throttled).then(no_throttling),
        smtp_url: Some(smtp.url()),
        ..Options::default()
    })
}

fn ask(c: &mut Client, email: &str) -> ls_integration::http::Response {
    if c.cookie("csrftoken").is_none() {
        assert_eq!(c.get("/user/forgot-password/").status, 200);
    }
    c.form("/user/forgot-password/", &[("email", email)])
}

fn path_of(link: &str) -> String {
    link[link.find("/user/").unwrap()..].to_owned()
}

#[test]
fn a_mailed_link_sets_a_new_password_once() {
    let smtp = SmtpServer::start();
    let t = with_smtp(&smtp, false);
    t.add_user(MEMBER, Role::Member, Some("member-password-1"));
    let mut c = Client::new(t.addr);
    let r = c.get("/user/login/");
    assert!(r.body.contains("Forgot password?"), "{}", r.body);
    let r = ask(&mut c, MEMBER);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("on its way"), "{}", r.body);

    let mails = smtp.wait_for(1);
    let mail = &mails[0];
    assert!(mail.contains(&format!("X-RcptTo: {MEMBER}")), "{mail}");
    assert!(mail.contains("Subject: Reset your password"), "{mail}");
    assert!(mail.contains("noreply@example.com"), "{mail}");
    let link = link_in(mail, "/user/reset-password/").unwrap();
    assert!(link.starts_with(&format!("http://{}", t.addr)), "{link}");
    // Delivered: the outbox is empty, and it never held the link.
    let snapshot = t.snapshot();
    assert!(
        !snapshot.iter().any(|l| l.contains("mail_outbox")),
        "{snapshot:?}"
    );
    let token = link.split("token=").nth(1).unwrap();
    assert!(!snapshot.iter().any(|l| l.contains(token)));

    let path = path_of(&link);
    let mut browser = Client::new(t.addr);
    browser.get(&path);
    let r = browser.form(&path, &[("password", "member-mailed-password")]);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = browser.form(&path, &[("password", "another-password-1")]);
    assert_eq!(r.status, 404, "used once: {}", r.body);
    let r = browser.form(
        "/user/login/",
        &[("email", MEMBER), ("password", "member-mailed-password")],
    );
    assert_eq!(r.status, 302);

    // An address with no account: the same answer, and no mail at all.
    let r = ask(&mut c, "nobody@example.com");
    assert_eq!(r.status, 200);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(smtp.mails().len(), 1, "no mail for an unknown address");
    assert!(!t.snapshot().iter().any(|l| l.contains("mail_outbox")));
}

#[test]
fn known_and_unknown_addresses_get_the_same_answer_in_the_same_time() {
    let smtp = SmtpServer::start();
    let t = with_smtp(&smtp, false);
    t.add_user(MEMBER, Role::Member, Some("member-password-1"));
    let masked = |r: &ls_integration::http::Response, c: &Client| {
        let csrf = c.cookie("csrftoken").unwrap();
        r.body.replace(&csrf, "CSRF")
    };
    let cases = [MEMBER, "nobody@example.com", "MEMBER@Example.com"];
    let mut shapes = Vec::new();
    for email in cases {
        let mut c = Client::new(t.addr);
        let r = ask(&mut c, email);
        assert_eq!(r.status, 200, "{email}");
        shapes.push(masked(&r, &c));
    }
    for (email, body) in cases.iter().zip(&shapes).skip(1) {
        assert_eq!(body, &shapes[0], "{email} is answered differently");
    }
    let rounds = 15;
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); 2];
    let mut c = Client::new(t.addr);
    ask(&mut c, "warm-up@example.com");
    for _ in 0..rounds {
        for (i, email) in [MEMBER, "nobody@example.com"].iter().enumerate() {
            let start = Instant::now();
            let r = ask(&mut c, email);
            times[i].push(start.elapsed());
            assert_eq!(r.status, 200);
        }
    }
    let medians: Vec<Duration> = times
        .iter_mut()
        .map(|v| {
            v.sort();
            v[v.len() / 2]
        })
        .collect();
    println!("forgot-password medians (known, unknown): {medians:?}");
    let (a, b) = (medians[0].as_secs_f64(), medians[1].as_secs_f64());
    assert!(a.max(b) / a.min(b) < 1.6, "{medians:?}");
}

#[test]
fn requests_are_throttled_per_account_and_a_bad_address_is_named() {
    let smtp = SmtpServer::start();
    let t = with_smtp(&smtp, true);
    let mut c = Client::new(t.addr);
    let r = ask(&mut c, "not an email");
    assert_eq!(r.status, 400);
    assert!(r.body.contains("email:"), "{}", r.body);
    for _ in 0..5 {
        assert_eq!(ask(&mut c, MEMBER).status, 200);
    }
    let r = ask(&mut c, MEMBER);
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").is_some());
    // Another address is still answered.
    assert_eq!(ask(&mut c, "other@example.com").status, 200);
}

#[test]
fn without_smtp_there_is_no_forgot_password() {
    let t = TestApp::start();
    let mut c = Client::new(t.addr);
    let r = c.get("/user/login/");
    assert!(!r.body.contains("Forgot password?"));
    assert_eq!(c.get("/user/forgot-password/").status, 404);
}

fn outbox(data: &std::path::Path) -> Vec<String> {
    ls_integration::snapshot::of_data_dir(data)
        .into_iter()
        .filter(|l| l.starts_with("mail_outbox"))
        .collect()
}

/// Every stored column of the outbox's rows, as one text a row.
fn outbox_rows(data: &std::path::Path) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sea_orm::ConnectionTrait as _;
        let store = infra::db::open_target(&infra::DatabaseTarget::Sqlite(
            data.join("ls-users.sqlite3"),
        ))
        .await
        .unwrap();
        let db = store.connection();
        db.query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT kind || ' ' || recipient || ' ' || COALESCE(reference, '') || ' ' || \
             COALESCE(last_error, '') AS row FROM mail_outbox",
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "row").unwrap())
        .collect()
    })
}

fn sqlite(data: &std::path::Path, statement: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sea_orm::ConnectionTrait as _;
        let store = infra::db::open_target(&infra::DatabaseTarget::Sqlite(
            data.join("ls-users.sqlite3"),
        ))
        .await
        .unwrap();
        store
            .connection()
            .execute_unprepared(statement)
            .await
            .unwrap();
    });
}

fn server(home: &std::path::Path, data: &std::path::Path, smtp_url: &str) -> Server {
    let mut cmd = command("ls-server", home);
    cmd.env("LS_SMTP_URL", smtp_url)
        .env("LS_SMTP_FROM", "noreply@example.com")
        .arg("--data-dir")
        .arg(data)
        .args([
            "start",
            "-p",
            "0",
            "--username",
            MEMBER,
            "--password",
            "member-password-1",
        ]);
    Server::start(cmd).unwrap()
}

#[test]
fn the_outbox_survives_a_restart_while_the_smtp_server_is_down() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let dead = format!("smtp://127.0.0.1:{}", ls_integration::oidc::free_port());
    let first = server(home.path(), &data, &dead);
    let mut c = Client::new(first.addr);
    assert_eq!(ask(&mut c, MEMBER).status, 200);
    // The attempt fails and is recorded for a later one.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let rows = outbox(&data);
        if rows.iter().any(|r| r.contains("attempts=Some(1)")) {
            // The row says why it waits, and holds no link: the link is
            // made when the mail goes out.
            let whole = outbox_rows(&data);
            assert_eq!(whole.len(), 1, "{whole:?}");
            assert!(
                whole[0].contains("SMTP"),
                "the failure is recorded: {whole:?}"
            );
            assert!(!whole[0].contains("reset-password"), "{whole:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no failed attempt recorded: {rows:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(first);
    // Its back-off is over (instead of waiting 30 s), and the SMTP server is up.
    sqlite(&data, "UPDATE mail_outbox SET due_at = 0");
    let smtp = SmtpServer::start();
    let second = server(home.path(), &data, &smtp.url());
    let mails = smtp.wait_for(1);
    let link = link_in(&mails[0], "/user/reset-password/").unwrap();
    let mut c = Client::new(second.addr);
    assert_eq!(c.get(&path_of(&link)).status, 200);
    assert!(outbox(&data).is_empty());
}
