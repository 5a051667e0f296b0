//! The performance benchmark (issue "Performance: a benchmark that compares
//! us with the physical limits"). Run it with `./tests/bench.sh`, which
//! builds the release binaries and installs `wrk` when missing.
//!
//! Every figure is printed beside a baseline measured in the same run, as a
//! ratio: a bare hyper hello-world server under the same `wrk` load (started
//! from this very executable with `--hello`), the argon2id bound (cores /
//! one hash), whoami alone. Rates are medians of several rounds.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is a failure report

use std::io::{BufRead, BufReader, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ls_integration::process::{Server, command};

#[path = "perf/label_studio.rs"]
mod label_studio;
#[path = "perf/lists.rs"]
mod lists;
#[path = "perf/pg_hello.rs"]
mod pg_hello;

const SECRET: &str = "5f4dcc3b5aa765d61d8327deb882cf995f4dcc3b5aa765d61d8327deb882cf99";
const USERS: usize = 100_000;
const OWNER: &str = "owner@bench.example";
const OWNER_TOKEN: &str = "bench-owner-token";
const PASSWORD: &str = "bench-password-1";
const ROUNDS: usize = 3;
/// whoami alone and during a login storm, in turns.
const STORM_ROUNDS: usize = 5;
/// Long enough for every hashing thread to give back argon2's memory
/// (app::hashing::IDLE_RELEASE a thread, one after the other).
const IDLE_SETTLE: Duration = Duration::from_secs(6);
const SECS: u64 = 5;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--hello") {
        return hello();
    }
    if let Some(i) = args.iter().position(|a| a == "--pg-hello") {
        return pg_hello::serve(&args[i + 1], USERS);
    }
    if args.iter().any(|a| a == "--list") {
        return;
    }
    if args.iter().any(|a| a == "--argon2") {
        // The hash figures alone (the first line of a full run).
        let (kept, fresh) = (argon2_median(), argon2_fresh_median());
        println!(
            "argon2id: {:.2} ms a hash with its memory kept, {:.2} ms with it allocated again (ratio {:.3})",
            ms(kept),
            ms(fresh),
            fresh.as_secs_f64() / kept.as_secs_f64()
        );
        return;
    }
    assert!(
        Command::new("wrk").arg("--version").output().is_ok(),
        "wrk is needed: apt-get install wrk (tests/bench.sh does)"
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut table = Table::default();
    println!(
        "machine: {cores} cores; {} users; wrk rounds: {ROUNDS} x {SECS} s",
        USERS
    );

    // Baselines: the hello-world server, and one argon2id hash.
    let hello = Hello::start();
    let hello_idle_rss = rss_kib(hello.child.id());
    let hello_rps = median_rate(hello.addr, "/", &[], 32);
    let hello_loaded_rss = rss_kib(hello.child.id());
    let hello_start = median_duration(5, || {
        let h = Hello::start();
        let t = h.started;
        drop(h);
        t
    });
    drop(hello);
    let hash = argon2_median();
    let fresh = argon2_fresh_median();
    let bound = cores as f64 / hash.as_secs_f64();
    println!(
        "hello world: {hello_rps:.0} req/s; argon2id: {:.2} ms a hash ({:.2} ms with its memory allocated again), bound {bound:.1} logins/s",
        ms(hash),
        ms(fresh)
    );

    // SQLite with 100,000 users.
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    bootstrap(home.path(), None);
    seed(
        block(infra::db::open_target(&infra::DatabaseTarget::Sqlite(
            data.join("ls-users.sqlite3"),
        )))
        .unwrap(),
        "",
    );

    let existing = median_duration(5, || {
        let s = LsServer::start(home.path(), None);
        let t = s.started;
        s.stop();
        t
    });
    let empty = median_duration(5, || {
        let fresh = tempfile::tempdir().unwrap();
        let s = LsServer::start(fresh.path(), None);
        let t = s.started;
        s.stop();
        t
    });
    let server = LsServer::start(home.path(), None);
    let idle_rss = rss_kib(server.pid());
    let token = format!("bench-token-{:06}", USERS / 2);
    let auth = [("Authorization", format!("Token {token}"))];
    let whoami_profile = profile(server.pid(), "whoami");
    let cpu = Cpu::now(server.pid());
    let (whoami, whoami_requests) =
        median_rate_counted(server.addr, "/api/current-user/whoami", &auth, 32);
    let (whoami_cpu, whoami_busy, _) = cpu.since(server.pid());
    finish_profile(whoami_profile);
    let login_profile = profile(server.pid(), "login");
    let cpu = Cpu::now(server.pid());
    let logins = login_load(server.addr, 10);
    let (login_cpu, login_busy, login_share) = cpu.since(server.pid());
    let login = logins.rps;
    finish_profile(login_profile);
    println!(
        "whoami, SQLite: server CPU {:.1} us a request; machine busy {:.0}% (wrk shares the cores)",
        whoami_cpu * 1e6 / whoami_requests.max(1) as f64,
        whoami_busy * 100.0
    );
    println!(
        "login, SQLite: server CPU {:.1} ms a login (one hash {:.1} ms); machine busy {:.0}%, the server {:.0}% of it all",
        login_cpu * 1e3 / logins.requests.max(1) as f64,
        ms(hash),
        login_busy * 100.0,
        login_share * 100.0
    );
    // whoami's p99 alone and during a login storm, in turns, ROUNDS times:
    // the medians (one p99 alone swings by several times between runs).
    let (mut alone, mut during, mut storm_rates) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..STORM_ROUNDS {
        alone.push(wrk_latency(server.addr, "/api/current-user/whoami", &auth, 4, 6).p99_ms);
        let storm_addr = server.addr;
        let storm = std::thread::spawn(move || login_rate(storm_addr, 10));
        std::thread::sleep(Duration::from_secs(1));
        let storm_profile = if round == 0 {
            profile(server.pid(), "storm")
        } else {
            None
        };
        during.push(wrk_latency(server.addr, "/api/current-user/whoami", &auth, 4, 6).p99_ms);
        finish_profile(storm_profile);
        storm_rates.push(storm.join().unwrap());
    }
    println!("whoami p99 (ms), alone: {alone:.2?}; during the storms: {during:.2?}");
    let storm_ratios: Vec<f64> = alone.iter().zip(&during).map(|(a, d)| d / a).collect();
    let (alone, during, storm_rate) = (median(alone), median(during), median(storm_rates));
    // The hashing threads give their memory back once the queue is idle.
    std::thread::sleep(IDLE_SETTLE);
    let storm_idle_rss = rss_kib(server.pid());
    // whoami's p99 from one address alone and during a flood of wrong API
    // tokens from another (past its failure limit, refused from memory).
    let (mut calm, mut flooded, mut flood_rates) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        calm.push(wrk_latency(server.addr, "/api/current-user/whoami", &auth, 4, 6).p99_ms);
        let flood_addr = server.addr;
        let flood = std::thread::spawn(move || token_flood(flood_addr, 8));
        std::thread::sleep(Duration::from_secs(1));
        flooded.push(wrk_latency(server.addr, "/api/current-user/whoami", &auth, 4, 6).p99_ms);
        flood_rates.push(flood.join().unwrap());
    }
    println!("whoami p99 (ms), calm: {calm:.2?}; during the token floods: {flooded:.2?}");
    let (calm, flooded, flood_rate) = (median(calm), median(flooded), median(flood_rates));
    let owner_auth = [("Authorization", format!("Token {OWNER_TOKEN}"))];
    let last_page = (USERS + 1).div_ceil(100);
    // The first page since the start reads the organization's member order
    // (as the first page after any change to the members does).
    let rebuild_started = Instant::now();
    let probe = ls_integration::http::request(
        server.addr,
        "GET",
        "/api/organizations/1/memberships?page=1&page_size=100",
        &[("Authorization", &format!("Token {OWNER_TOKEN}"))],
        None,
    );
    assert_eq!(
        probe.status,
        200,
        "the memberships page: {}\n{}",
        probe.body,
        std::fs::read_to_string(home.path().join("server.log")).unwrap_or_default()
    );
    let rebuild = rebuild_started.elapsed();
    let pages_profile = profile(server.pid(), "memberships-page");
    let first = sequential_p99(
        server.addr,
        "/api/organizations/1/memberships?page=1&page_size=100",
        &owner_auth,
    );
    let last = sequential_p99(
        server.addr,
        &format!("/api/organizations/1/memberships?page={last_page}&page_size=100"),
        &owner_auth,
    );
    finish_profile(pages_profile);
    // A member added through the API, then the first page: five times.
    let mut after_change = Vec::new();
    for n in 0..5 {
        let body = format!(r#"{{"email": "new{n}@bench.example", "username": "aaa-new{n}"}}"#);
        let r = ls_integration::http::request(
            server.addr,
            "POST",
            "/api/users",
            &[
                ("Authorization", &format!("Token {OWNER_TOKEN}")),
                ("Content-Type", "application/json"),
            ],
            Some(body.as_bytes()),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let t = Instant::now();
        let r = ls_integration::http::request(
            server.addr,
            "GET",
            "/api/organizations/1/memberships?page=1&page_size=100",
            &[("Authorization", &format!("Token {OWNER_TOKEN}"))],
            None,
        );
        assert_eq!(r.status, 200);
        assert!(
            r.body.contains(&format!("aaa-new{n}")),
            "the new member is on page 1"
        );
        after_change.push(ms(t.elapsed()));
    }
    println!("memberships page 1 after a change (ms): {after_change:.2?}");
    let lists_profile = profile(server.pid(), "lists");
    let lists = lists::measure(
        server.pid(),
        server.addr,
        &data.join("ls-users.sqlite3"),
        OWNER_TOKEN,
        &auth,
    );
    finish_profile(lists_profile);
    println!(
        "16 lists at once: {} answered, {} refused (503) while whoami was measured",
        lists.sixteen_done, lists.sixteen_refused
    );
    std::thread::sleep(IDLE_SETTLE);
    let loaded_rss = rss_kib(server.pid());
    server.stop();

    table.row(
        "whoami (token), SQLite, 100k users",
        format!("{whoami:.0} req/s"),
        format!("hello world {hello_rps:.0} req/s"),
        whoami / hello_rps,
        ">= 0.5",
        whoami / hello_rps >= 0.5,
    );
    table.row(
        "login, SQLite",
        format!("{login:.1} logins/s"),
        format!("argon2 bound {bound:.1}/s"),
        login / bound,
        ">= 0.85",
        login / bound >= 0.85,
    );
    table.row(
        &format!("whoami p99 during a login storm (median of {STORM_ROUNDS} pairs)"),
        format!("{:.2} ms ({storm_rate:.1} logins/s)", during),
        format!("alone {:.2} ms", alone),
        during / alone,
        "<= 2",
        during / alone <= 2.0,
    );
    let worst_storm = storm_ratios.iter().copied().fold(0.0, f64::max);
    table.row(
        "  the same, the worst pair",
        format!("ratios {storm_ratios:.2?}"),
        "-".into(),
        worst_storm,
        "<= 2",
        worst_storm <= 2.0,
    );
    table.row(
        "argon2id hash after its memory was given back (first login after idle)",
        format!("{:.2} ms", ms(fresh)),
        format!("memory kept {:.2} ms", ms(hash)),
        fresh.as_secs_f64() / hash.as_secs_f64(),
        "-",
        true,
    );
    table.row(
        "RSS idle after the login storms",
        format!("{:.1} MB", storm_idle_rss as f64 / 1024.0),
        format!("idle before them {:.1} MB", idle_rss as f64 / 1024.0),
        storm_idle_rss as f64 / idle_rss as f64,
        "<= 30 MB",
        storm_idle_rss as f64 / 1024.0 <= 30.0,
    );
    table.row(
        "whoami p99 during a wrong-token flood (another address)",
        format!("{flooded:.2} ms ({flood_rate:.0} wrong tokens/s)"),
        format!("alone {calm:.2} ms"),
        flooded / calm,
        "<= 3",
        flooded / calm <= 3.0,
    );
    table.row(
        "memberships page 1 (100 of 100k), p99",
        format!("{first:.2} ms"),
        format!("whoami alone p99 {:.2} ms", alone),
        first / alone,
        "<= 5 ms",
        first <= 5.0,
    );
    table.row(
        &format!("memberships page {last_page} (last), p99"),
        format!("{last:.2} ms"),
        format!("page 1 p99 {first:.2} ms"),
        last / first,
        "<= 5 ms",
        last <= 5.0,
    );
    table.row(
        "memberships page 1, the first since the start",
        format!("{:.2} ms", ms(rebuild)),
        format!("page 1 p99 {first:.2} ms"),
        ms(rebuild) / first,
        "<= 20 ms",
        ms(rebuild) <= 20.0,
    );
    let change_median = median(after_change.clone());
    let change_worst = after_change.iter().copied().fold(0.0, f64::max);
    table.row(
        "memberships page 1 after a change (median of 5; worst)",
        format!("{change_median:.2} ms; {change_worst:.2} ms"),
        format!("page 1 p99 {first:.2} ms"),
        change_median / first,
        "<= 20 ms",
        change_worst <= 20.0,
    );
    for ((name, _, _), (answer, scan, bytes)) in lists::LISTS.iter().zip(&lists.times) {
        table.row(
            &format!("{name}, 100k members ({:.1} MB)", *bytes as f64 / 1e6),
            format!("{answer:.0} ms"),
            format!("bare SQL scan {scan:.0} ms"),
            answer / scan,
            "<= 2",
            answer / scan <= 2.0,
        );
    }
    table.row(
        "RSS growth during one whole list (the largest of the three)",
        format!("{:.1} MB", lists.one_growth_mb),
        "-".into(),
        lists.one_growth_mb,
        "<= 16 MB",
        lists.one_growth_mb <= 16.0,
    );
    table.row(
        "RSS growth during 16 page_size=-1 at once",
        format!("{:.1} MB", lists.sixteen_growth_mb),
        "-".into(),
        lists.sixteen_growth_mb,
        "<= 64 MB",
        lists.sixteen_growth_mb <= 64.0,
    );
    table.row(
        "whoami p99 during 16 page_size=-1 at once",
        format!("{:.2} ms", lists.whoami_during_p99),
        format!("alone {:.2} ms", lists.whoami_alone_p99),
        lists.whoami_during_p99 / lists.whoami_alone_p99,
        "<= 3",
        lists.whoami_during_p99 / lists.whoami_alone_p99 <= 3.0,
    );
    table.row(
        "cold start, existing database (100k users)",
        format!("{:.1} ms", ms(existing)),
        format!("hello world {:.1} ms", ms(hello_start)),
        existing.as_secs_f64() / hello_start.as_secs_f64(),
        "<= 100 ms",
        ms(existing) <= 100.0,
    );
    table.row(
        "cold start, empty database",
        format!("{:.1} ms", ms(empty)),
        format!("hello world {:.1} ms", ms(hello_start)),
        empty.as_secs_f64() / hello_start.as_secs_f64(),
        "-",
        true,
    );
    table.row(
        "RSS idle, 100k-member database",
        format!("{:.1} MB", idle_rss as f64 / 1024.0),
        format!("hello world {:.1} MB", hello_idle_rss as f64 / 1024.0),
        idle_rss as f64 / hello_idle_rss as f64,
        "<= 30 MB",
        idle_rss as f64 / 1024.0 <= 30.0,
    );
    table.row(
        "RSS idle after all the load above",
        format!("{:.1} MB", loaded_rss as f64 / 1024.0),
        format!("hello world {:.1} MB", hello_loaded_rss as f64 / 1024.0),
        loaded_rss as f64 / hello_loaded_rss as f64,
        "<= 64 MB",
        loaded_rss as f64 / 1024.0 <= 64.0,
    );

    // PostgreSQL: the same whoami and login figures.
    let pg = block(ls_integration::pg::PgDatabase::create("bench"));
    let pg_home = tempfile::tempdir().unwrap();
    bootstrap(pg_home.path(), Some(&pg.url));
    seed(block(infra::db::open(&pg.url)).unwrap(), " on PostgreSQL");
    let pg_baseline = {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--pg-hello", &pg.url])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr: SocketAddr = line.trim().parse().unwrap();
        wait_for(addr, "/");
        let rate = median_rate(addr, "/", &[], 32);
        let _ = child.kill();
        let _ = child.wait();
        rate
    };
    println!(
        "PostgreSQL baseline (hyper + one SELECT by primary key through sqlx): {pg_baseline:.0} req/s"
    );
    let server = LsServer::start(pg_home.path(), Some(&pg.url));
    let pg_whoami_profile = profile(server.pid(), "whoami-postgres");
    let pg_whoami = median_rate(server.addr, "/api/current-user/whoami", &auth, 32);
    finish_profile(pg_whoami_profile);
    let cpu = Cpu::now(server.pid());
    let pg_logins = login_load(server.addr, 10);
    let (pg_login_cpu, pg_login_busy, _) = cpu.since(server.pid());
    let pg_login = pg_logins.rps;
    println!(
        "login, PostgreSQL: server CPU {:.1} ms a login; machine busy {:.0}%",
        pg_login_cpu * 1e3 / pg_logins.requests.max(1) as f64,
        pg_login_busy * 100.0
    );
    server.stop();
    block(pg.drop_database());
    table.row(
        "whoami (token), PostgreSQL, 100k users",
        format!("{pg_whoami:.0} req/s"),
        format!("hyper + sqlx SELECT {pg_baseline:.0} req/s"),
        pg_whoami / pg_baseline,
        ">= 0.7",
        pg_whoami / pg_baseline >= 0.7,
    );
    table.row(
        "login, PostgreSQL",
        format!("{pg_login:.1} logins/s"),
        format!("argon2 bound {bound:.1}/s"),
        pg_login / bound,
        ">= 0.85",
        pg_login / bound >= 0.85,
    );
    if std::env::var_os("LS_BENCH_LABEL_STUDIO").is_some_and(|v| v == "1") {
        side_by_side(&mut table);
    } else {
        println!("(Label Studio side by side: skipped; LS_BENCH_LABEL_STUDIO=1 runs it)");
    }
    table.print();
}

/// Label Studio 1.23.2 and ls-server, each with 10,000 members.
fn side_by_side(table: &mut Table) {
    let theirs = label_studio::label_studio();
    let home = tempfile::tempdir().unwrap();
    bootstrap(home.path(), None);
    let started = Instant::now();
    block(ls_integration::seed::members(
        block(infra::db::open_target(&infra::DatabaseTarget::Sqlite(
            home.path().join("data/ls-users.sqlite3"),
        )))
        .unwrap()
        .connection(),
        label_studio::MEMBERS,
        OWNER,
        SECRET,
    ));
    println!(
        "seeded {} users for the side by side in {:.1} s",
        label_studio::MEMBERS,
        started.elapsed().as_secs_f64()
    );
    let server = LsServer::start(home.path(), None);
    let ours = label_studio::ours(server.addr, server.pid(), server.started);
    server.stop();
    println!("Label Studio 1.23.2: {theirs:?}\nls-server: {ours:?}");
    let n = label_studio::MEMBERS;
    for (what, value, baseline, ratio) in [
        (
            "vs Label Studio: whoami throughput".to_owned(),
            format!("{:.0} req/s", ours.whoami_rps),
            format!("Label Studio {:.0} req/s", theirs.whoami_rps),
            ours.whoami_rps / theirs.whoami_rps,
        ),
        (
            "vs Label Studio: login latency (median)".to_owned(),
            format!("{:.1} ms", ours.login_ms),
            format!("Label Studio {:.1} ms", theirs.login_ms),
            ours.login_ms / theirs.login_ms,
        ),
        (
            "vs Label Studio: cold start, existing database".to_owned(),
            format!("{:.1} ms", ours.cold_start_ms),
            format!("Label Studio {:.0} ms", theirs.cold_start_ms),
            ours.cold_start_ms / theirs.cold_start_ms,
        ),
        (
            "vs Label Studio: idle RSS".to_owned(),
            format!("{:.1} MB", ours.idle_rss_mb),
            format!("Label Studio {:.1} MB", theirs.idle_rss_mb),
            ours.idle_rss_mb / theirs.idle_rss_mb,
        ),
        (
            format!("vs Label Studio: memberships page 1 of {n} members"),
            format!("{:.1} ms", ours.page_ms),
            format!("Label Studio {:.1} ms", theirs.page_ms),
            ours.page_ms / theirs.page_ms,
        ),
        (
            format!("vs Label Studio: GET /api/users, {n} members"),
            format!("{:.1} ms", ours.users_ms),
            format!("Label Studio {:.1} ms", theirs.users_ms),
            ours.users_ms / theirs.users_ms,
        ),
    ] {
        table.row(&what, value, baseline, ratio, "-", true);
    }
}

// ---- what is measured ----

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One runtime for the whole run: a PostgreSQL pool dies with the runtime
/// that opened it.
fn block<F: std::future::Future>(f: F) -> F::Output {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
    .block_on(f)
}

/// USERS members into the owner's organization of `db`, timed; `on` names the database in the line.
fn seed(db: infra::SeaStore, on: &str) {
    let started = Instant::now();
    block(ls_integration::seed::members(
        db.connection(),
        USERS,
        OWNER,
        SECRET,
    ));
    println!(
        "seeded {USERS} users{on} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn median_duration(n: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut v: Vec<Duration> = (0..n).map(|_| f()).collect();
    v.sort();
    v[n / 2]
}

fn argon2_median() -> Duration {
    let h = accounts::PasswordHasher::default();
    let pw = accounts::Password::for_login(PASSWORD).unwrap();
    median_duration(21, || {
        let t = Instant::now();
        h.hash(&pw, &[7; accounts::SALT_LEN]).unwrap();
        t.elapsed()
    })
}

/// One hash right after its thread gave argon2's memory back, as the first
/// login after an idle period (app::hashing releases it after 2 s): median
/// of 21, in this process (the memory mapped fresh and faulted in again).
fn argon2_fresh_median() -> Duration {
    let h = accounts::PasswordHasher::default();
    let pw = accounts::Password::for_login(PASSWORD).unwrap();
    median_duration(21, || {
        accounts::release_thread_memory();
        let t = Instant::now();
        h.hash(&pw, &[7; accounts::SALT_LEN]).unwrap();
        t.elapsed()
    })
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[derive(Debug, Default)]
struct Wrk {
    rps: f64,
    requests: u64,
    p99_ms: f64,
    bad: u64,
    text: String,
}

fn parse_latency(s: &str) -> f64 {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len()));
    let n: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => f64::NAN,
    }
}

fn wrk(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, String)],
    connections: usize,
    secs: u64,
    script: Option<&Path>,
) -> Wrk {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t1",
        &format!("-c{connections}"),
        &format!("-d{secs}s"),
        "--latency",
    ]);
    for (k, v) in headers {
        cmd.arg("-H").arg(format!("{k}: {v}"));
    }
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    cmd.arg(format!("http://{addr}{path}"));
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut w = Wrk {
        text: text.clone(),
        ..Wrk::default()
    };
    for line in text.lines() {
        let t = line.trim();
        if let Some((n, _)) = t.split_once(" requests in ") {
            w.requests = n.trim().parse().unwrap_or(0);
        } else if let Some(v) = t.strip_prefix("Requests/sec:") {
            w.rps = v.trim().parse().unwrap_or(0.0);
        } else if let Some(v) = t.strip_prefix("99%") {
            w.p99_ms = parse_latency(v);
        } else if let Some(v) = t.strip_prefix("Non-2xx or 3xx responses:") {
            w.bad = v.trim().parse().unwrap_or(0);
        } else if t.starts_with("Socket errors") {
            w.bad += 1;
        }
    }
    assert!(
        w.rps > 0.0,
        "wrk measured nothing:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    w
}

fn median_rate(addr: SocketAddr, path: &str, headers: &[(&str, String)], c: usize) -> f64 {
    median_rate_counted(addr, path, headers, c).0
}

/// The median rate of the rounds, and how many requests they made in all.
fn median_rate_counted(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, String)],
    c: usize,
) -> (f64, u64) {
    let mut total = 0;
    let mut v: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let w = wrk(addr, path, headers, c, SECS, None);
            assert_eq!(w.bad, 0, "{path}: error responses under load");
            total += w.requests;
            w.rps
        })
        .collect();
    v.sort_by(f64::total_cmp);
    (v[ROUNDS / 2], total)
}

/// CPU time: of one process (user + system), and of the whole machine
/// (busy and all), in clock ticks, from /proc.
#[derive(Debug, Clone, Copy)]
struct Cpu {
    process: u64,
    busy: u64,
    all: u64,
}

/// Linux's `USER_HZ`, the unit of /proc's CPU times.
const TICKS_PER_SEC: f64 = 100.0;

impl Cpu {
    fn now(pid: u32) -> Self {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the command name (which may hold spaces): utime and stime are 14th and 15th.
        let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<u64> = after
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(0))
            .collect();
        let process = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
        let machine = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let cpu: Vec<u64> = machine
            .lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .skip(1)
            .map(|v| v.parse().unwrap_or(0))
            .collect();
        let all: u64 = cpu.iter().take(8).sum();
        let idle = cpu.get(3).copied().unwrap_or(0) + cpu.get(4).copied().unwrap_or(0);
        Self {
            process,
            busy: all - idle,
            all,
        }
    }

    /// Since `self`: the process's CPU seconds, the machine's busy share,
    /// and the process's share of all the machine's CPU time.
    fn since(self, pid: u32) -> (f64, f64, f64) {
        let now = Self::now(pid);
        let all = (now.all - self.all).max(1) as f64;
        let process = (now.process - self.process) as f64;
        (
            process / TICKS_PER_SEC,
            (now.busy - self.busy) as f64 / all,
            process / all,
        )
    }
}

fn wrk_latency(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, String)],
    c: usize,
    secs: u64,
) -> Wrk {
    let w = wrk(addr, path, headers, c, secs, None);
    assert_eq!(w.bad, 0, "{path}: error responses\n{}", w.text);
    w
}

/// Logins as the seeded users (all with PASSWORD), spread over them.
fn login_rate(addr: SocketAddr, secs: u64) -> f64 {
    login_load(addr, secs).rps
}

fn login_load(addr: SocketAddr, secs: u64) -> Wrk {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("login.lua");
    std::fs::write(
        &script,
        format!(
            r#"
counter = 0
request = function()
  counter = counter + 1
  local i = (counter * 7919) % {USERS}
  local body = "csrfmiddlewaretoken=benchcsrf&email=user" .. i .. "%40bench.example&password={PASSWORD}"
  return wrk.format("POST", "/user/login/", {{["Content-Type"] = "application/x-www-form-urlencoded", ["Cookie"] = "csrftoken=benchcsrf"}}, body)
end
"#
        ),
    )
    .unwrap();
    // Enough connections to keep every core hashing.
    let w = wrk(addr, "/user/login/", &[], 16, secs, Some(&script));
    assert_eq!(w.bad, 0, "failed logins under load");
    w
}

/// Wrong API tokens, a new one each request, from 198.51.100.7 (the server
/// trusts loopback as its proxy): the rate the server answers them at.
fn token_flood(addr: SocketAddr, secs: u64) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("flood.lua");
    std::fs::write(
        &script,
        r#"
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/api/current-user/whoami", {["Authorization"] = "Token wrong" .. counter, ["X-Forwarded-For"] = "198.51.100.7"})
end
"#,
    )
    .unwrap();
    wrk(
        addr,
        "/api/current-user/whoami",
        &[],
        16,
        secs,
        Some(&script),
    )
    .rps
}

/// The 99th percentile of 200 requests made one after another, after 20
/// not counted (the profiler, when on, starts just before them).
fn sequential_p99(addr: SocketAddr, path: &str, headers: &[(&str, String)]) -> f64 {
    let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for _ in 0..20 {
        let r = ls_integration::http::request(addr, "GET", path, &h, None);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
    }
    let mut v: Vec<f64> = (0..200)
        .map(|_| {
            let t = Instant::now();
            let r = ls_integration::http::request(addr, "GET", path, &h, None);
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            ms(t.elapsed())
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[(v.len() * 99).div_ceil(100) - 1]
}

/// With LS_BENCH_PERF set: `perf record` of the server while a phase runs,
/// its report in target/bench-profiles/<name>.txt.
fn profile(pid: u32, name: &str) -> Option<(Child, PathBuf, u32)> {
    std::env::var_os("LS_BENCH_PERF")?;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-profiles");
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join(format!("{name}.data"));
    // System-wide: `-p` would follow only the threads that exist when it
    // attaches, and the blocking pool's hashing threads start on demand.
    // The report keeps the server's samples (`--pid`).
    let child = Command::new("perf")
        .args(["record", "-a", "-F", "499", "-g", "-o"])
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    // perf takes a moment to start (it reads every process's maps): let it
    // settle before the phase it is to watch.
    std::thread::sleep(Duration::from_millis(1500));
    Some((child, data, pid))
}

fn finish_profile(p: Option<(Child, PathBuf, u32)>) {
    let Some((child, data, pid)) = p else { return };
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let mut child = child;
    let _ = child.wait();
    let pid = pid.to_string();
    // Where the server's own samples are (self time), then which calls
    // they sit under (inclusive time), relative to the server's samples.
    let mut text = Vec::new();
    for (mode, limit) in [("--no-children", "1"), ("--children", "3")] {
        let report = Command::new("perf")
            .args([
                "report",
                "--stdio",
                mode,
                "--percent-limit",
                limit,
                "-g",
                "none",
                "--sort",
                "comm,dso,symbol",
                "--pid",
                &pid,
                "--percentage",
                "relative",
                "-i",
            ])
            .arg(&data)
            .output();
        if let Ok(out) = report {
            text.extend_from_slice(format!("### perf report {mode}\n").as_bytes());
            text.extend_from_slice(&out.stdout);
        }
    }
    std::fs::write(data.with_extension("txt"), text).unwrap();
}

// ---- the servers ----

/// A bare hyper hello-world, in a process of its own like ls-server.
fn hello() {
    use hyper::service::service_fn;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap());
        std::io::stdout().flush().unwrap();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let svc = service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(
                        http_body_util::Full::new(hyper::body::Bytes::from_static(b"hello")),
                    ))
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
}

struct Hello {
    child: Child,
    addr: SocketAddr,
    /// From spawn until it answered a request.
    started: Duration,
}

impl Hello {
    fn start() -> Self {
        let t = Instant::now();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .arg("--hello")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr: SocketAddr = line.trim().parse().unwrap();
        wait_for(addr, "/");
        Hello {
            child,
            addr,
            started: t.elapsed(),
        }
    }
}

impl Drop for Hello {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls until `path` answers 200.
fn wait_for(addr: SocketAddr, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(mut s) = TcpStream::connect(addr) {
            let _ = write!(
                s,
                "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            );
            let mut line = String::new();
            if BufReader::new(&s).read_line(&mut line).is_ok() && line.contains(" 200 ") {
                return;
            }
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    panic!("{addr}{path} never answered");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn server_command(home: &Path, db_url: Option<&str>) -> Command {
    let mut cmd = command("ls-server", home);
    cmd.env("LS_SECRET_KEY", SECRET)
        .env("LS_LOG", "warn")
        // Throttling stays on (every login writes its counters), with limits
        // the benchmark never reaches.
        .env("LS_LOGIN_ATTEMPTS_PER_ACCOUNT", "1000000000")
        .env("LS_LOGIN_ATTEMPTS_PER_CLIENT", "1000000000")
        // The token flood comes from a forwarded address.
        .env("LS_TRUSTED_PROXIES", "127.0.0.1")
        .arg("--data-dir")
        .arg(home.join("data"));
    if let Some(url) = db_url {
        cmd.arg("--database-url").arg(url);
    }
    // A control: how many hashes run at once (default: one a core).
    if let Ok(n) = std::env::var("LS_BENCH_HASH_CONCURRENCY") {
        cmd.env("LS_HASH_CONCURRENCY", n);
    }
    cmd
}

/// The first run: the owner with a known token and password.
fn bootstrap(home: &Path, db_url: Option<&str>) {
    let mut cmd = server_command(home, db_url);
    cmd.env("LS_LOG", "info").args([
        "start",
        "-p",
        "0",
        "--username",
        OWNER,
        "--password",
        PASSWORD,
        "--user-token",
        OWNER_TOKEN,
    ]);
    let s = Server::start(cmd).unwrap();
    let (code, log) = s.stop();
    assert_eq!(code, Some(0), "{log}");
}

struct LsServer {
    child: Child,
    addr: SocketAddr,
    started: Duration,
}

impl LsServer {
    fn start(home: &Path, db_url: Option<&str>) -> Self {
        let port = free_port();
        let mut cmd = server_command(home, db_url);
        let log = std::fs::File::create(home.join("server.log")).unwrap();
        cmd.args(["start", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let t = Instant::now();
        let child = cmd.spawn().unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        wait_for(addr, "/health");
        LsServer {
            child,
            addr,
            started: t.elapsed(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(self) {
        // Drop does it.
    }
}

impl Drop for LsServer {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

// ---- the table ----

#[derive(Default)]
struct Table {
    rows: Vec<[String; 6]>,
}

impl Table {
    fn row(
        &mut self,
        what: &str,
        value: String,
        baseline: String,
        ratio: f64,
        target: &str,
        met: bool,
    ) {
        self.rows.push([
            what.to_owned(),
            value,
            baseline,
            format!("{ratio:.3}"),
            target.to_owned(),
            if target == "-" {
                "-".into()
            } else if met {
                "met".into()
            } else {
                "MISSED".into()
            },
        ]);
    }

    fn print(&self) {
        println!();
        println!("| measure | value | baseline (same run) | ratio | target | |");
        println!("|---|---|---|---|---|---|");
        for r in &self.rows {
            println!(
                "| {} | {} | {} | {} | {} | {} |",
                r[0], r[1], r[2], r[3], r[4], r[5]
            );
        }
    }
}
