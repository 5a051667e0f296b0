//! Does a burst of logins stall token-authenticated requests?
//!
//! `cargo bench -p ls-integration --bench login_load`
//! (`LS_BENCH_HASH_CONCURRENCY=N` to try another number of concurrent hashes,
//! `LS_BENCH_FORMS_ONLY=1` for the control load: GET the login form only)
//!
//! The real server in-process (real argon2id parameters), one client timing
//! `GET /api/current-user/whoami` with a token, first alone (the baseline),
//! then while 64 clients log in as fast as they can. Reports p50/p99 of both
//! and their ratio: absolute times on a shared machine mean little, the
//! ratio in one run does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // a benchmark reports by printing

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ls_integration::http::{Client, request};
use ls_integration::server::{OWNER_TOKEN, Options, TestApp};
use orgs::Role;

const LOGIN_CLIENTS: usize = 64;
const PHASE: Duration = Duration::from_secs(4);
const MAX_SAMPLES: usize = 20_000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Time whoami requests for `PHASE` (at most `MAX_SAMPLES`).
fn sample(addr: std::net::SocketAddr) -> Vec<Duration> {
    let auth = format!("Token {OWNER_TOKEN}");
    let mut out = Vec::new();
    let end = Instant::now() + PHASE;
    while Instant::now() < end && out.len() < MAX_SAMPLES {
        let t = Instant::now();
        let r = request(
            addr,
            "GET",
            "/api/current-user/whoami",
            &[("Authorization", &auth)],
            None,
        );
        out.push(t.elapsed());
        assert_eq!(r.status, 200);
    }
    out.sort();
    out
}

fn report(name: &str, s: &[Duration]) -> (f64, f64) {
    let (p50, p99) = (percentile(s, 0.50), percentile(s, 0.99));
    println!(
        "{name:<28} n={:>6}  p50={:>8.3} ms  p99={:>8.3} ms",
        s.len(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    (p50.as_secs_f64(), p99.as_secs_f64())
}

fn main() {
    let hash_concurrency = std::env::var("LS_BENCH_HASH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok());
    // Throttling stays on (each login still writes its counters), with
    // limits no benchmark reaches.
    let mut throttle = app::ThrottleConfig::default();
    for l in [
        &mut throttle.login_per_account,
        &mut throttle.login_per_client,
    ] {
        l.max_events = u32::MAX;
    }
    let app = TestApp::with(Options {
        owasp_hashing: true,
        hash_concurrency,
        throttle: Some(throttle),
        ..Options::default()
    });
    match hash_concurrency {
        Some(n) => println!("hash concurrency: {n} (LS_BENCH_HASH_CONCURRENCY)"),
        None => println!(
            "hash concurrency: the number of CPUs ({})",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        ),
    }
    let emails: Vec<String> = (0..LOGIN_CLIENTS)
        .map(|i| format!("load{i}@example.com"))
        .collect();
    for e in &emails {
        app.add_user(e, Role::Member, Some("load-password-123"));
    }
    let addr = app.addr;
    // Warm up connections and caches.
    let _ = sample_n(addr, 200);

    let alone = sample(addr);

    // A control: the same 64 clients only fetching the login form (no
    // hashing, no writes), to tell request load from login cost.
    let forms_only = std::env::var("LS_BENCH_FORMS_ONLY").is_ok_and(|v| v == "1");
    let stop = Arc::new(AtomicBool::new(false));
    let logins = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = emails
        .into_iter()
        .map(|email| {
            let (stop, logins) = (Arc::clone(&stop), Arc::clone(&logins));
            std::thread::spawn(move || {
                let mut c = Client::new(addr);
                c.get("/user/login/");
                while !stop.load(Ordering::Relaxed) {
                    if forms_only {
                        assert_eq!(c.get("/user/login/").status, 200);
                    } else {
                        let r = c.form(
                            "/user/login/",
                            &[("email", &email), ("password", "load-password-123")],
                        );
                        assert_eq!(r.status, 302);
                    }
                    logins.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let before = logins.load(Ordering::Relaxed);
    let loaded = sample(addr);
    let login_rate =
        (logins.load(Ordering::Relaxed) - before) as f64 / started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }

    println!(
        "whoami latency, with and without {LOGIN_CLIENTS} concurrent logins (argon2id m=19456 KiB, t=2, p=1):"
    );
    let (a50, a99) = report("whoami alone", &alone);
    let (b50, b99) = report("whoami during logins", &loaded);
    let what = if forms_only {
        "login-form GETs"
    } else {
        "logins"
    };
    println!("{what} completed during the loaded phase: {login_rate:.1}/s");
    println!(
        "ratio loaded/alone: p50 x{:.2}, p99 x{:.2}",
        b50 / a50,
        b99 / a99
    );
}

fn sample_n(addr: std::net::SocketAddr, n: usize) -> usize {
    let auth = format!("Token {OWNER_TOKEN}");
    (0..n)
        .filter(|_| {
            request(
                addr,
                "GET",
                "/api/current-user/whoami",
                &[("Authorization", &auth)],
                None,
            )
            .status
                == 200
        })
        .count()
}
