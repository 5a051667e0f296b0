//! Side by side with Label Studio 1.23.2 (issue 20, target 6), an optional
//! phase: `LS_BENCH_LABEL_STUDIO=1`. It installs `label-studio==1.23.2`
//! from PyPI into a virtual environment kept in
//! `$XDG_CACHE_HOME/ls-users/label-studio-1.23.2` (or `~/.cache/…`; set
//! `LS_BENCH_LABEL_STUDIO_VENV` to use another), then measures the real
//! Label Studio and ls-server the same way, each on a database with the
//! same 10,000 members: whoami throughput, login latency, cold start on an
//! existing database, idle RSS, and the member lists.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sea_orm::sqlx::{self, Row as _};

use super::{median, ms, rss_kib, wait_for, wrk};

pub(crate) const MEMBERS: usize = 10_000;
const VERSION: &str = "1.23.2";
const EMAIL: &str = "owner@bench.example";
const PASSWORD: &str = "bench-password-1";
const TOKEN: &str = "bench-owner-token";

/// One system's figures.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Side {
    pub(crate) whoami_rps: f64,
    pub(crate) login_ms: f64,
    pub(crate) cold_start_ms: f64,
    pub(crate) idle_rss_mb: f64,
    pub(crate) page_ms: f64,
    pub(crate) users_ms: f64,
}

/// The virtual environment with Label Studio, made when missing.
fn venv() -> PathBuf {
    let dir = std::env::var_os("LS_BENCH_LABEL_STUDIO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"));
            cache
                .join("ls-users")
                .join(format!("label-studio-{VERSION}"))
        });
    if dir.join("bin/label-studio").exists() {
        return dir;
    }
    println!(
        "installing label-studio=={VERSION} into {} (once; several minutes)",
        dir.display()
    );
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&dir)
        .status()
        .unwrap()
        .success()
        && Command::new(dir.join("bin/pip"))
            .args(["install", "-q", &format!("label-studio=={VERSION}")])
            .status()
            .unwrap()
            .success();
    assert!(ok, "could not install label-studio=={VERSION}");
    dir
}

struct LabelStudio {
    child: Child,
    addr: SocketAddr,
}

impl LabelStudio {
    /// Starts it on `data`; the time until /health answers.
    fn start(venv: &Path, data: &Path, first: bool) -> (Self, Duration) {
        let port = super::free_port();
        let mut cmd = Command::new(venv.join("bin/label-studio"));
        cmd.args(["start", "--no-browser", "--internal-host", "127.0.0.1"])
            .args(["--port", &port.to_string()]);
        if first {
            cmd.args(["--username", EMAIL, "--password", PASSWORD])
                .args(["--user-token", TOKEN, "--enable-legacy-api-token"]);
        }
        cmd.env("LABEL_STUDIO_BASE_DATA_DIR", data)
            .env("SENTRY_DSN", "")
            .env("FRONTEND_SENTRY_DSN", "")
            .env("LATEST_VERSION_CHECK", "false")
            .env("COLLECT_ANALYTICS", "false")
            .env("DEBUG", "false")
            .env("LOG_LEVEL", "WARNING")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(data.join("ls.log")).unwrap());
        let t = Instant::now();
        let child = cmd.spawn().unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        wait_for(addr, "/health");
        (LabelStudio { child, addr }, t.elapsed())
    }
}

impl Drop for LabelStudio {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// MEMBERS more users in Label Studio's organization, copies of the
/// owner's row and membership with their own ids, emails and usernames,
/// whatever columns this version has.
async fn seed_label_studio(db: &Path) {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(db);
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    let columns = |table: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA table_info({table})")))
                .fetch_all(&pool)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<String, _>(1))
                .collect::<Vec<_>>()
        }
    };
    let n = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {MEMBERS}) "
    );
    let users = columns("htx_user").await;
    let picked: Vec<String> = users
        .iter()
        .map(|c| match c.as_str() {
            "id" => "1000 + n.i".to_owned(),
            "email" => "'user' || n.i || '@bench.example'".to_owned(),
            "username" => "'user' || n.i".to_owned(),
            other => format!("o.{other}"),
        })
        .collect();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "{n} INSERT INTO htx_user ({}) SELECT {} FROM n, htx_user o WHERE o.email = '{EMAIL}'",
        users.join(", "),
        picked.join(", ")
    )))
    .execute(&pool)
    .await
    .unwrap();
    let members = columns("organizations_organizationmember").await;
    let picked: Vec<String> = members
        .iter()
        .map(|c| match c.as_str() {
            "id" => "1000 + n.i".to_owned(),
            "user_id" => "1000 + n.i".to_owned(),
            other => format!("o.{other}"),
        })
        .collect();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "{n} INSERT INTO organizations_organizationmember ({}) SELECT {} FROM n, \
         organizations_organizationmember o JOIN htx_user u ON u.id = o.user_id WHERE u.email = '{EMAIL}'",
        members.join(", "),
        picked.join(", ")
    )))
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
}

/// Median of `n` sequential logins through the login page's form (with
/// the CSRF cookie and field the page gives).
fn login_ms(addr: SocketAddr, n: usize) -> f64 {
    let mut times = Vec::new();
    for _ in 0..n + 2 {
        let page = ls_integration::http::request(addr, "GET", "/user/login/", &[], None);
        let cookie = page
            .cookie("csrftoken")
            .unwrap_or_else(|| "benchcsrf".into());
        let field = page
            .body
            .split("name=\"csrfmiddlewaretoken\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or(&cookie)
            .to_owned();
        let body = format!(
            "csrfmiddlewaretoken={field}&email={}&password={PASSWORD}",
            EMAIL.replace('@', "%40")
        );
        let cookie_header = format!("csrftoken={cookie}");
        let referer = format!("http://{addr}/user/login/");
        let t = Instant::now();
        let r = ls_integration::http::request(
            addr,
            "POST",
            "/user/login/",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Cookie", &cookie_header),
                ("Referer", &referer),
            ],
            Some(body.as_bytes()),
        );
        let took = ms(t.elapsed());
        assert_eq!(
            r.status,
            302,
            "login at {addr}: {}",
            &r.body[..r.body.len().min(300)]
        );
        times.push(took);
    }
    // The first two warm up.
    median(times.split_off(2))
}

fn get_ms(addr: SocketAddr, path: &str) -> f64 {
    let auth = format!("Token {TOKEN}");
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let r = ls_integration::http::request(addr, "GET", path, &[("Authorization", &auth)], None);
        times.push(ms(t.elapsed()));
        assert_eq!(
            r.status,
            200,
            "{path} at {addr}: {}",
            &r.body[..r.body.len().min(300)]
        );
    }
    median(times)
}

fn measure(addr: SocketAddr, pid: u32, cold_start: Duration) -> Side {
    std::thread::sleep(Duration::from_secs(3));
    let idle_rss_mb = rss_kib(pid) as f64 / 1024.0;
    let auth = [("Authorization", format!("Token {TOKEN}"))];
    let whoami = wrk(addr, "/api/current-user/whoami", &auth, 16, 5, None);
    assert_eq!(whoami.bad, 0, "whoami errors at {addr}\n{}", whoami.text);
    Side {
        whoami_rps: whoami.rps,
        login_ms: login_ms(addr, 10),
        cold_start_ms: ms(cold_start),
        idle_rss_mb,
        page_ms: get_ms(
            addr,
            "/api/organizations/1/memberships?page=1&page_size=100",
        ),
        users_ms: get_ms(addr, "/api/users"),
    }
}

/// Label Studio's side.
pub(crate) fn label_studio() -> Side {
    let venv = venv();
    let data = tempfile::tempdir().unwrap();
    let (first, _) = LabelStudio::start(&venv, data.path(), true);
    drop(first);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(seed_label_studio(&data.path().join("label_studio.sqlite3")));
    let (ls, cold) = LabelStudio::start(&venv, data.path(), false);
    let side = measure(ls.addr, ls.child.id(), cold);
    drop(ls);
    side
}

/// Ours, on a database with the same members, the server started by the
/// caller (`start` gives the server's address, pid and cold start).
pub(crate) fn ours(addr: SocketAddr, pid: u32, cold_start: Duration) -> Side {
    measure(addr, pid, cold_start)
}
