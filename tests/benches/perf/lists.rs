//! The whole lists at 100,000 members (issue 20): each answer's time beside
//! the bare SQL scan of the same rows in this process, the server's peak
//! RSS growth during one and during 16 at once, and whoami's p99 while the
//! 16 run.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::sqlx::{self, Row as _};

use super::{median, ms, rss_kib, wrk_latency};

/// The answers compared, each with the SQL that reads the same rows.
pub(crate) const LISTS: [(&str, &str, &str); 3] = [
    (
        "GET /api/users",
        "/api/users",
        "SELECT u.*, m.* FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.organization_id = 1 AND m.removed_at IS NULL ORDER BY m.user_id",
    ),
    (
        "GET /api/organizations/1 (member ids)",
        "/api/organizations/1",
        "SELECT user_id FROM memberships WHERE organization_id = 1 AND removed_at IS NULL \
         ORDER BY user_id",
    ),
    (
        "memberships page_size=-1",
        "/api/organizations/1/memberships?page_size=-1",
        "SELECT u.*, m.* FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.organization_id = 1 AND m.removed_at IS NULL ORDER BY m.sort_username, m.user_id",
    ),
];

pub(crate) struct ListFigures {
    /// Per list: (median answer ms, median bare scan ms, bytes).
    pub(crate) times: Vec<(f64, f64, usize)>,
    /// Peak RSS growth (MB) during one of each list, the largest.
    pub(crate) one_growth_mb: f64,
    /// Peak RSS growth (MB) during 16 page_size=-1 at once.
    pub(crate) sixteen_growth_mb: f64,
    pub(crate) sixteen_done: u64,
    pub(crate) sixteen_refused: u64,
    pub(crate) whoami_alone_p99: f64,
    pub(crate) whoami_during_p99: f64,
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Resets the peak RSS (`VmHWM`) to the current RSS, returning the latter.
fn reset_peak(pid: u32) -> u64 {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
    rss_kib(pid)
}

fn peak_growth_mb(pid: u32, before: u64) -> f64 {
    status_kib(pid, "VmHWM:").saturating_sub(before) as f64 / 1024.0
}

fn fetch(addr: SocketAddr, path: &str, token: &str) -> (u16, usize) {
    let auth = format!("Token {token}");
    let r = ls_integration::http::request(addr, "GET", path, &[("Authorization", &auth)], None);
    (r.status, r.body.len())
}

/// Reads every row of `sql`, touching each column, as a client library
/// would: the baseline's time in ms.
async fn bare_scan(pool: &sqlx::SqlitePool, sql: &'static str) -> f64 {
    use futures_util::TryStreamExt as _;
    let t = Instant::now();
    let mut rows = sqlx::query(sql).fetch(pool);
    let mut n = 0usize;
    while let Some(row) = rows.try_next().await.unwrap() {
        for i in 0..row.len() {
            let v: sqlx::sqlite::SqliteValueRef<'_> = sqlx::Row::try_get_raw(&row, i).unwrap();
            std::hint::black_box(&v);
        }
        n += 1;
    }
    std::hint::black_box(n);
    ms(t.elapsed())
}

pub(crate) fn measure(
    pid: u32,
    addr: SocketAddr,
    database: &Path,
    owner_token: &str,
    whoami_auth: &[(&str, String)],
) -> ListFigures {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pool = rt.block_on(async {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(database)
            .read_only(true);
        sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap()
    });
    // The peak growth of one: each list once, from a settled server.
    std::thread::sleep(Duration::from_secs(1));
    let mut one_growth_mb: f64 = 0.0;
    for (name, path, _) in LISTS {
        let before = reset_peak(pid);
        let (status, _) = fetch(addr, path, owner_token);
        assert_eq!(status, 200, "{name}");
        one_growth_mb = one_growth_mb.max(peak_growth_mb(pid, before));
    }
    let mut times = Vec::new();
    for (name, path, sql) in LISTS {
        let mut answer = Vec::new();
        let mut scan = Vec::new();
        let mut bytes = 0;
        for _ in 0..3 {
            scan.push(rt.block_on(bare_scan(&pool, sql)));
            let t = Instant::now();
            let (status, len) = fetch(addr, path, owner_token);
            answer.push(ms(t.elapsed()));
            assert_eq!(status, 200, "{name}");
            bytes = len;
        }
        times.push((median(answer), median(scan), bytes));
    }
    rt.block_on(pool.close());

    // 16 clients asking for the longest list again and again while whoami
    // is measured; the peak growth over the whole phase.
    let whoami_alone_p99 = wrk_latency(addr, "/api/current-user/whoami", whoami_auth, 4, 6).p99_ms;
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let before = reset_peak(pid);
    let clients: Vec<_> = (0..16)
        .map(|_| {
            let (stop, done, refused) = (stop.clone(), done.clone(), refused.clone());
            let token = owner_token.to_owned();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match fetch(addr, LISTS[2].1, &token).0 {
                        200 => done.fetch_add(1, Ordering::Relaxed),
                        503 => refused.fetch_add(1, Ordering::Relaxed),
                        other => panic!("a list under load answered {other}"),
                    };
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let whoami_during_p99 = wrk_latency(addr, "/api/current-user/whoami", whoami_auth, 4, 6).p99_ms;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let sixteen_growth_mb = peak_growth_mb(pid, before);
    ListFigures {
        times,
        one_growth_mb,
        sixteen_growth_mb,
        sixteen_done: done.load(Ordering::Relaxed),
        sixteen_refused: refused.load(Ordering::Relaxed),
        whoami_alone_p99,
        whoami_during_p99,
    }
}
