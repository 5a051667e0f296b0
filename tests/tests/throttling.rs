//! Issue 14 over HTTP: device cookies against an account lock, a flood of
//! wrong API tokens, and `last_activity`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ls_integration::http::{Client, Response};
use ls_integration::process::{Server, admin_ok, command};
use ls_integration::server::{Options, TestApp};

const OWNER: &str = "owner@example.com";
const PASSWORD: &str = "owner-password-1";
const LOCKOUT_SECS: u64 = 20;

/// `ls-server start` on a free port in `home/<data>` with the first-run
/// owner, `env` set and `extra` start arguments.
fn start(home: &std::path::Path, data: &str, env: &[(&str, &str)], extra: &[&str]) -> Server {
    let mut cmd = command("ls-server", home);
    cmd.envs(env.iter().copied());
    cmd.arg("--data-dir").arg(home.join(data)).args([
        "start",
        "-p",
        "0",
        "--username",
        OWNER,
        "--password",
        PASSWORD,
    ]);
    cmd.args(extra);
    Server::start(cmd).unwrap()
}

fn server(home: &std::path::Path) -> Server {
    let lockout = LOCKOUT_SECS.to_string();
    let env = [
        ("LS_TRUSTED_PROXIES", "127.0.0.1"),
        ("LS_THROTTLE_LOCKOUT_SECS", lockout.as_str()),
    ];
    start(home, "data", &env, &[])
}

/// A browser from `xff`, holding `device` as its device cookie if given.
fn browser(addr: SocketAddr, xff: &str, device: Option<&str>) -> Client {
    let mut c = Client::new(addr);
    c.headers.push(("X-Forwarded-For".into(), xff.into()));
    if let Some(d) = device {
        c.cookies.push(("ls_device".into(), d.into()));
    }
    assert_eq!(c.get("/user/login/").status, 200);
    c
}

fn log_in(c: &mut Client, email: &str, password: &str) -> Response {
    c.form("/user/login/", &[("email", email), ("password", password)])
}

/// The page without its per-browser CSRF token.
fn strip(r: &Response) -> String {
    let marker = "name=\"csrfmiddlewaretoken\" value=\"";
    let start = r.body.find(marker).unwrap() + marker.len();
    let end = start + r.body[start..].find('"').unwrap();
    format!("{}CSRF{}", &r.body[..start], &r.body[end..])
}

/// OWASP's device cookies: an attacker rotating trusted forwarded
/// addresses locks the account for unknown browsers only.
#[test]
fn a_device_cookie_keeps_the_owner_in_while_the_account_is_locked() {
    let home = tempfile::tempdir().unwrap();
    let s = server(home.path());
    let addr = s.addr;
    admin_ok(
        home.path(),
        &home.path().join("data"),
        &[
            "user",
            "create",
            "--email",
            "other@example.com",
            "--password-stdin",
        ],
        Some("other-password-1\n"),
    );
    // The owner logs in once from their browser: it gets a device cookie.
    let mut owners = browser(addr, "192.0.2.10", None);
    let r = log_in(&mut owners, OWNER, PASSWORD);
    assert_eq!(r.status, 302, "{}", r.body);
    let device = r.cookie("ls_device").expect("a device cookie");
    let line = r.set_cookie_line("ls_device").unwrap().to_ascii_lowercase();
    assert!(
        line.contains("httponly") && line.contains("max-age"),
        "{line}"
    );
    // The attacker: ten wrong passwords, each from another address.
    let locked_at = Instant::now();
    for i in 0..10 {
        let r = log_in(
            &mut browser(addr, &format!("198.51.100.{i}"), None),
            OWNER,
            "a-wrong-guess",
        );
        assert_eq!(r.status, 200, "attempt {i}: {}", r.body);
    }
    // A fresh browser: the right password is refused exactly like a wrong one.
    let right = log_in(&mut browser(addr, "203.0.113.1", None), OWNER, PASSWORD);
    let wrong = log_in(
        &mut browser(addr, "203.0.113.2", None),
        OWNER,
        "nope-nope-1",
    );
    assert_eq!((right.status, wrong.status), (429, 429));
    assert_eq!(
        strip(&right),
        strip(&wrong),
        "the refusal betrays the password"
    );
    assert!(right.cookie("sessionid").is_none());
    // The owner's browser, with its device cookie: in at once.
    let mut again = browser(addr, "192.0.2.10", Some(&device));
    let r = log_in(&mut again, OWNER, PASSWORD);
    assert_eq!(r.status, 302, "{}", r.body);
    assert!(r.cookie("sessionid").is_some());
    assert!(
        r.cookie("ls_device").is_none(),
        "a known device keeps its cookie"
    );
    // A stolen device cookie without the password gets nothing.
    for _ in 0..3 {
        let r = log_in(
            &mut browser(addr, "198.51.100.99", Some(&device)),
            OWNER,
            "a-wrong-guess",
        );
        assert_eq!(r.status, 200);
        assert!(r.cookie("sessionid").is_none());
    }
    // It does nothing for another account: lock that one, and the owner's
    // device cookie does not get past its lock.
    for i in 0..10 {
        let _ = log_in(
            &mut browser(addr, &format!("198.51.100.{}", 100 + i), None),
            "other@example.com",
            "a-wrong-guess",
        );
    }
    let r = log_in(
        &mut browser(addr, "192.0.2.10", Some(&device)),
        "other@example.com",
        "other-password-1",
    );
    assert_eq!(r.status, 429, "{}", r.body);
    // After a password change the old device cookie no longer bypasses.
    admin_ok(
        home.path(),
        &home.path().join("data"),
        &["user", "set-password", "--email", OWNER, "--password-stdin"],
        Some("owner-password-2\n"),
    );
    let r = log_in(
        &mut browser(addr, "192.0.2.10", Some(&device)),
        OWNER,
        "owner-password-2",
    );
    assert_eq!(r.status, 429, "{}", r.body);
    // When the lock ends, a fresh browser gets in again.
    let ends = locked_at + Duration::from_secs(LOCKOUT_SECS + 2);
    std::thread::sleep(ends.saturating_duration_since(Instant::now()));
    let r = log_in(
        &mut browser(addr, "203.0.113.3", None),
        OWNER,
        "owner-password-2",
    );
    assert_eq!(r.status, 302, "{}", r.body);
    s.stop();
}

/// A flood of 10,000 wrong API tokens from one address: after the
/// configured number of failures (1,000) the address is refused with 429
/// before its token is looked up, nothing is written to the database for
/// any of them, and a client at another address keeps using its token.
#[test]
fn a_flood_of_wrong_tokens_ends_in_refusals_and_writes_nothing() {
    let t = TestApp::with(Options {
        http: Some(ls_http::HttpConfig {
            trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
            ..ls_http::HttpConfig::default()
        }),
        ..Options::default()
    });
    // One connection of our own, held across the flood: its data_version
    // changes when any other connection commits.
    let watcher = t
        .block_on(sea_orm::Database::connect(
            sea_orm::ConnectOptions::new(format!(
                "sqlite://{}?mode=ro",
                t.data_dir().join("test.sqlite3").display()
            ))
            .max_connections(1)
            .min_connections(1)
            .to_owned(),
        ))
        .unwrap();
    let data_version = || {
        t.block_on(async {
            use sea_orm::ConnectionTrait as _;
            let c = &watcher;
            let row = c
                .query_one_raw(sea_orm::Statement::from_string(
                    c.get_database_backend(),
                    "PRAGMA data_version".to_owned(),
                ))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<i64>(0).unwrap()
        })
    };
    let shm = std::fs::read(t.data_dir().join("test.sqlite3-shm")).unwrap();
    let before = (data_version(), shm[..48].to_vec());
    let mut flood = Client::new(t.addr);
    flood
        .headers
        .push(("X-Forwarded-For".into(), "198.51.100.7".into()));
    let (mut unauthorized, mut throttled) = (0, 0);
    for i in 0..10_000 {
        flood.headers.retain(|(k, _)| k != "Authorization");
        flood
            .headers
            .push(("Authorization".into(), format!("Token guess{i:05}")));
        match flood.get("/api/current-user/whoami").status {
            401 => unauthorized += 1,
            429 => throttled += 1,
            other => panic!("attempt {i}: {other}"),
        }
    }
    assert_eq!((unauthorized, throttled), (1000, 9000));
    let shm = std::fs::read(t.data_dir().join("test.sqlite3-shm")).unwrap();
    assert_eq!(
        (data_version(), shm[..48].to_vec()),
        before,
        "the flood wrote to the database"
    );
    // The flooding address is refused even with a right token; others are not.
    flood.headers.retain(|(k, _)| k != "Authorization");
    flood.headers.push((
        "Authorization".into(),
        format!("Token {}", ls_integration::server::OWNER_TOKEN),
    ));
    let r = flood.get("/api/current-user/whoami");
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    let mut other = Client::with_token(t.addr, ls_integration::server::OWNER_TOKEN);
    other
        .headers
        .push(("X-Forwarded-For".into(), "203.0.113.50".into()));
    assert_eq!(other.get("/api/current-user/whoami").status, 200);
    // The measure sees a commit: that request wrote last_activity.
    assert_ne!(data_version(), before.0, "data_version missed a commit");
}

/// `last_activity` is the last authenticated request, written once a
/// minute at most: a burst of 1,000 whoami requests writes it once, and a
/// request a minute later moves it forward.
#[test]
fn last_activity_follows_requests_and_is_written_once_a_minute() {
    let t = TestApp::start();
    let mut c = Client::with_token(t.addr, ls_integration::server::OWNER_TOKEN);
    let joined = c.get("/api/current-user/whoami").json()["date_joined"]
        .as_str()
        .unwrap()
        .to_owned();
    let writes = t.services.store().activity_writes();
    let mut seen = Vec::new();
    for _ in 0..1000 {
        let r = c.get("/api/current-user/whoami");
        assert_eq!(r.status, 200);
        seen.push(r.json()["last_activity"].as_str().unwrap().to_owned());
    }
    assert!(
        t.services.store().activity_writes() - writes <= 1,
        "the burst wrote last_activity {} times",
        t.services.store().activity_writes() - writes
    );
    let first = seen[0].clone();
    assert_ne!(first, joined, "last_activity repeats date_joined");
    assert!(seen.iter().all(|s| *s == first));
    std::thread::sleep(Duration::from_secs(61));
    let later = c.get("/api/current-user/whoami").json()["last_activity"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(later > first, "{later} is not after {first}");
}

/// A first-run token shorter than 20 characters is accepted (Label
/// Studio's minimum is 5) and warned about; a generated one is not.
#[test]
fn a_short_first_run_token_is_warned_about() {
    let home = tempfile::tempdir().unwrap();
    let (_, log) = start(home.path(), "short", &[], &["--user-token", "abcde"]).stop();
    assert!(log.contains("shorter than 20 characters"), "{log}");
    assert!(!log.contains("abcde"), "the token was logged");
    let (_, log) = start(home.path(), "generated", &[], &[]).stop();
    assert!(!log.contains("shorter than 20 characters"), "{log}");
}

/// Behind a reverse proxy on the same host that is not in trusted_proxies,
/// every client is 127.0.0.1: the server says so, once.
#[test]
fn forwarded_for_from_an_untrusted_loopback_peer_is_warned_once() {
    let home = tempfile::tempdir().unwrap();
    let run = |trusted: Option<&str>| {
        let env: Vec<(&str, &str)> = trusted
            .map(|t| ("LS_TRUSTED_PROXIES", t))
            .into_iter()
            .collect();
        let s = start(home.path(), "data", &env, &[]);
        for _ in 0..3 {
            let mut c = Client::new(s.addr);
            c.headers
                .push(("X-Forwarded-For".into(), "198.51.100.4".into()));
            assert_eq!(c.get("/user/login/").status, 200);
            let r = log_in(&mut c, OWNER, "a-wrong-guess");
            assert_eq!(r.status, 200);
        }
        s.stop().1
    };
    let log = run(None);
    assert_eq!(log.matches("is not in trusted_proxies").count(), 1, "{log}");
    let log = run(Some("127.0.0.1"));
    assert!(!log.contains("is not in trusted_proxies"), "{log}");
}
