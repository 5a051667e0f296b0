//! Crash safety: SIGKILL the server at random moments while clients sign
//! up, reset tokens and reset the invite link; restart; everything that was
//! acknowledged (2xx) must still hold, nothing may be half-written, and
//! SQLite's integrity check must say ok.
//!
//! `LS_CRASH_CYCLES` sets the number of kill cycles per backend (5 by
//! default, as `.ci/run` runs it; docs/reliability.md records a long run).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ls_integration::http::{Client, request};
use ls_integration::process::{Server, command, without_throttling};
use sea_orm::{ConnectionTrait, Statement};

const OWNER_TOKEN: &str = "crash-owner-token-1";
const SECRET: &str = "5c1d0e8a8b7f4e2c9a6d3b1f0e9d8c7b6a5f4e3d2c1b0a998877665544332211";

#[derive(Default)]
struct Acked {
    emails: Vec<String>,
    tokens: Vec<(String, String)>,
    invites: Vec<String>,
}

fn cycles() -> usize {
    std::env::var("LS_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

fn start(home: &Path, db_url: Option<&str>) -> Server {
    let mut cmd = command("ls-server", home);
    // Sign-up and token-reset traffic from one address, by design.
    without_throttling(&mut cmd);
    cmd.env("LS_SECRET_KEY", SECRET)
        .arg("--data-dir")
        .arg(home.join("data"));
    if let Some(url) = db_url {
        cmd.arg("--database-url").arg(url);
    }
    cmd.args([
        "start",
        "-p",
        "0",
        "--username",
        "owner@example.com",
        "--password",
        "owner-password-1",
        "--user-token",
        OWNER_TOKEN,
    ]);
    Server::start(cmd).unwrap()
}

/// One client: sign up a fresh account, then reset its token once.
fn sign_up_and_reset(addr: std::net::SocketAddr, n: usize, acked: &Mutex<Acked>) -> bool {
    let email = format!("u{n}@example.com");
    let mut c = Client::new(addr);
    if c.get("/user/login/").status != 200 {
        return false;
    }
    let r = c.form(
        "/user/signup/",
        &[("email", &email), ("password", "crash-password-1")],
    );
    match r.status {
        302 => acked.lock().unwrap().emails.push(email.clone()),
        0 => return false,
        s => panic!("sign-up answered {s}: {}", r.body),
    }
    let csrf = c.cookie("csrftoken").unwrap_or_default();
    let r = c.send(
        "POST",
        "/api/current-user/reset-token",
        &[("X-CSRFToken", &csrf)],
        None,
    );
    match r.status {
        201 => acked
            .lock()
            .unwrap()
            .tokens
            .push((email, r.json()["token"].as_str().unwrap().to_owned())),
        0 => return false,
        s => panic!("token reset answered {s}: {}", r.body),
    }
    true
}

fn reset_invite(addr: std::net::SocketAddr, acked: &Mutex<Acked>) -> bool {
    let r = request(
        addr,
        "POST",
        "/api/invite/reset-token",
        &[("Authorization", &format!("Token {OWNER_TOKEN}"))],
        None,
    );
    match r.status {
        201 => {
            acked
                .lock()
                .unwrap()
                .invites
                .push(r.json()["token"].as_str().unwrap().to_owned());
            true
        }
        0 => false,
        s => panic!("invite reset answered {s}: {}", r.body),
    }
}

async fn count(conn: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// Everything acknowledged holds; nothing is half-written.
async fn check(home: &Path, db_url: Option<&str>, acked: &Acked, rt_cycle: usize) {
    let store = match db_url {
        Some(url) => infra::db::open(url).await.unwrap(),
        None => infra::db::open_target(&infra::DatabaseTarget::Sqlite(
            home.join("data/ls-users.sqlite3"),
        ))
        .await
        .unwrap(),
    };
    let conn = store.connection();
    if db_url.is_none() {
        let row = conn
            .query_one_raw(Statement::from_string(
                conn.get_database_backend(),
                "PRAGMA integrity_check".to_owned(),
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            row.try_get_by_index::<String>(0).unwrap(),
            "ok",
            "cycle {rt_cycle}"
        );
    }
    let no_hash = count(
        conn,
        "SELECT COUNT(*) FROM users WHERE password_hash IS NULL",
    )
    .await;
    let no_membership = count(conn, "SELECT COUNT(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id)").await;
    let no_token = count(conn, "SELECT COUNT(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM api_tokens t WHERE t.user_id = u.id)").await;
    let ownerless = count(
        conn,
        "SELECT COUNT(*) FROM organizations o WHERE (SELECT COUNT(*) FROM memberships m WHERE m.organization_id = o.id AND m.role = 'owner' AND m.removed_at IS NULL) <> 1",
    )
    .await;
    assert_eq!(
        (no_hash, no_membership, no_token, ownerless),
        (0, 0, 0, 0),
        "half-written entities after cycle {rt_cycle}"
    );
    assert_eq!(count(conn, "SELECT COUNT(*) FROM organizations").await, 1);
    let emails: HashSet<String> = {
        use app::UserStore as _;
        store
            .list_users()
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.user.email.as_str().to_owned())
            .collect()
    };
    for e in &acked.emails {
        assert!(
            emails.contains(e),
            "acknowledged sign-up {e} lost after cycle {rt_cycle}"
        );
    }
}

async fn crash_loop(db_url: Option<String>) -> (usize, usize) {
    let home = tempfile::tempdir().unwrap();
    let acked = Arc::new(Mutex::new(Acked::default()));
    let next = Arc::new(AtomicUsize::new(0));
    let total = cycles();
    for cycle in 0..total {
        let server = start(home.path(), db_url.as_deref());
        let addr = server.addr;
        // Everything acknowledged so far is in effect on the restarted server.
        {
            let a = acked.lock().unwrap();
            for (email, token) in &a.tokens {
                let r = request(
                    addr,
                    "GET",
                    "/api/current-user/whoami",
                    &[("Authorization", &format!("Token {token}"))],
                    None,
                );
                assert_eq!(
                    r.status, 200,
                    "acknowledged token of {email} lost before cycle {cycle}"
                );
            }
            // Every acknowledged invite reset happened: its link is known, current
            // or retired (a later reset may have committed before the kill).
            for token in a.invites.iter().rev().take(5) {
                let r = request(
                    addr,
                    "GET",
                    &format!("/user/signup/?token={token}"),
                    &[],
                    None,
                );
                let known = r.status == 200 || r.body.contains("no longer valid");
                assert!(
                    known,
                    "acknowledged invite link unknown before cycle {cycle}: {}",
                    r.status
                );
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..3)
            .map(|w| {
                let (acked, next, stop) =
                    (Arc::clone(&acked), Arc::clone(&next), Arc::clone(&stop));
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let ok = if w == 0 {
                            reset_invite(addr, &acked)
                        } else {
                            sign_up_and_reset(addr, next.fetch_add(1, Ordering::Relaxed), &acked)
                        };
                        if !ok {
                            break;
                        }
                    }
                })
            })
            .collect();
        // Kill at a random moment, mid-traffic.
        let mut r = [0u8; 2];
        time_noise(&mut r);
        std::thread::sleep(Duration::from_millis(
            150 + u64::from(u16::from_le_bytes(r) % 600),
        ));
        server.kill();
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.join().unwrap();
        }
        let snapshot = {
            let a = acked.lock().unwrap();
            Acked {
                emails: a.emails.clone(),
                tokens: a.tokens.clone(),
                invites: a.invites.clone(),
            }
        };
        check(home.path(), db_url.as_deref(), &snapshot, cycle).await;
    }
    let a = acked.lock().unwrap();
    (total, a.emails.len() + a.tokens.len() + a.invites.len())
}

fn time_noise(buf: &mut [u8]) {
    // The time's low bits are random enough to pick a kill moment.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (nanos >> (8 * i)) as u8;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_survives_sigkill() {
    let (cycles, acked) = crash_loop(None).await;
    println!("sqlite: {cycles} kill cycles, {acked} acknowledged writes, 0 lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_survives_sigkill() {
    let db = ls_integration::pg::PgDatabase::create("crash").await;
    let (cycles, acked) = crash_loop(Some(db.url.clone())).await;
    println!("postgres: {cycles} kill cycles, {acked} acknowledged writes, 0 lost");
    db.drop_database().await;
}
