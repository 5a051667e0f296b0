//! The audit log at 100,000 entries (issue 17): the release `ls-server`
//! on SQLite, the entries written by SQL, then every page read in turn by
//! keyset through `GET /api/audit-log` (100 a page) and the owner's
//! `/organization/audit/` page (50 a page), each request timed; beside
//! `GET /api/current-user/whoami` timed the same way in the same run (the
//! baseline: one authenticated request that reads one row). Also a filtered
//! walk (`action=member.`, a tenth of the entries). Run by `tests/bench.sh`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is a failure report

use std::time::{Duration, Instant};

use ls_integration::http::{Client, request};
use ls_integration::process::{Server, owner_server};
use sea_orm::{ConnectionTrait, Database};

const ENTRIES: i64 = 100_000;
const TOKEN: &str = "owner-token-1";

async fn seed(data: &std::path::Path) {
    let url = format!("sqlite://{}", data.join("ls-users.sqlite3").display());
    let db = Database::connect(&url).await.unwrap();
    let start = Instant::now();
    let actions = [
        "member.role_changed",
        "password.changed",
        "user.created",
        "personal_token.created",
        "invitation.created",
        "token.reset",
        "user.deactivated",
        "user.activated",
        "password.reset_link_made",
        "invite_link.reset",
    ];
    for chunk in 0..ENTRIES / 1000 {
        let mut sql = String::from(
            "INSERT INTO audit_log (at, action, actor_id, actor, target_user_id, target, \
             organization_id, client, detail) VALUES ",
        );
        for i in 0..1000 {
            let n = chunk * 1000 + i;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "({}, '{}', 1, 'owner@example.com', {}, 'person{}@example.com', 1, '10.0.{}.{}', NULL)",
                1_796_000_000_000_000 + n * 1000,
                actions[usize::try_from(n).unwrap() % actions.len()],
                n + 2,
                n,
                (n / 256) % 256,
                n % 256
            ));
        }
        db.execute_unprepared(&sql).await.unwrap();
    }
    println!(
        "seeded {ENTRIES} audit entries in {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

fn percentile(times: &mut [Duration], p: f64) -> f64 {
    times.sort();
    let i = ((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1;
    times[i].as_secs_f64() * 1000.0
}

fn report(name: &str, times: &mut [Duration], baseline_p99: Option<f64>) -> f64 {
    let (p50, p99, max) = (
        percentile(times, 0.50),
        percentile(times, 0.99),
        percentile(times, 1.0),
    );
    let ratio = baseline_p99.map_or(String::new(), |b| {
        format!("  p99/whoami p99 {:.2}", p99 / b)
    });
    println!(
        "{name:<40} {:>6} requests  p50 {p50:>6.2} ms  p99 {p99:>6.2} ms  max {max:>6.2} ms{ratio}",
        times.len()
    );
    p99
}

/// Walks `first` and each `next` to the end: each request's time, and how
/// many entries came back in all.
fn walk_api(addr: std::net::SocketAddr, first: &str) -> (Vec<Duration>, usize) {
    let mut times = Vec::new();
    let mut seen = 0;
    let mut path = first.to_owned();
    loop {
        let start = Instant::now();
        let r = request(
            addr,
            "GET",
            &path,
            &[("Authorization", &format!("Token {TOKEN}"))],
            None,
        );
        times.push(start.elapsed());
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        seen += v["results"].as_array().unwrap().len();
        match v["next"].as_str() {
            Some(next) => path = next[next.find("/api/").unwrap()..].to_owned(),
            None => return (times, seen),
        }
    }
}

fn main() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let server = Server::start(owner_server(home.path(), &data)).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(seed(&data));
    let addr = server.addr;

    // Warm up (connections, caches) before anything is timed.
    walk_api(addr, "/api/audit-log?limit=200");

    let mut whoami = Vec::new();
    for _ in 0..1000 {
        let start = Instant::now();
        let r = request(
            addr,
            "GET",
            "/api/current-user/whoami",
            &[("Authorization", &format!("Token {TOKEN}"))],
            None,
        );
        whoami.push(start.elapsed());
        assert_eq!(r.status, 200);
    }
    println!(
        "\naudit log, {ENTRIES} entries, SQLite, release ls-server, one client, sequential requests"
    );
    let base = report("GET /api/current-user/whoami (baseline)", &mut whoami, None);

    let (mut api, seen) = walk_api(addr, "/api/audit-log?limit=100");
    assert!(seen as i64 >= ENTRIES, "the walk saw {seen}");
    let api_p99 = report("GET /api/audit-log, 100 a page, all", &mut api, Some(base));

    let (mut filtered, seen) = walk_api(addr, "/api/audit-log?limit=100&action=member.");
    assert!(seen as i64 >= ENTRIES / 10);
    report(
        "GET /api/audit-log?action=member.",
        &mut filtered,
        Some(base),
    );

    // The page, signed in as the owner.
    let mut page = Client::new(addr);
    page.get("/user/login/");
    let r = page.form(
        "/user/login/",
        &[
            ("email", "owner@example.com"),
            ("password", "owner-password-1"),
        ],
    );
    assert_eq!(r.status, 302);
    let mut times = Vec::new();
    let mut path = "/organization/audit/".to_owned();
    let mut pages = 0;
    loop {
        let start = Instant::now();
        let r = page.get(&path);
        times.push(start.elapsed());
        assert_eq!(r.status, 200);
        pages += 1;
        let Some(at) = r.body.find("id=\"older\"") else {
            break;
        };
        let head = &r.body[..at];
        let href = &head[head.rfind("href=\"").unwrap() + 6..];
        path = href[..href.find('"').unwrap()].replace("&amp;", "&");
    }
    assert!(pages as i64 >= ENTRIES / 50);
    let page_p99 = report(
        "/organization/audit/, 50 a page, all",
        &mut times,
        Some(base),
    );
    println!(
        "\np99 under 10 ms: API {} ({api_p99:.2} ms), page {} ({page_p99:.2} ms)",
        if api_p99 < 10.0 { "yes" } else { "NO" },
        if page_p99 < 10.0 { "yes" } else { "NO" },
    );
    drop(server);
}
