//! `/metrics` scraped from the real server and read by a real Prometheus
//! text-format parser (the official Python client's, from PyPI).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use ls_integration::http::{Client, request};
use ls_integration::process::{Server, owner_server, without_throttling};
use serde_json::Value;

const TOKEN: &str = "scrape-token-0123456789";

/// Samples as the parser read them: `(name, labels, value)`.
fn parse(bin: &Path, text: &str) -> Vec<(String, Value, f64)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("metrics/parse_metrics.py");
    let mut child = Command::new(bin.join("python"))
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the parser refused the metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["name"].as_str().unwrap().to_owned(),
                v["labels"].clone(),
                v["value"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn value(samples: &[(String, Value, f64)], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .filter(|(n, l, _)| n == name && labels.iter().all(|(k, v)| l[*k] == *v))
        .map(|(_, _, v)| *v)
        .reduce(|a, b| a + b)
}

fn scrape(addr: SocketAddr, auth: Option<&str>) -> ls_integration::http::Response {
    let header;
    let mut headers = vec![];
    if let Some(a) = auth {
        header = a.to_owned();
        headers.push(("Authorization", header.as_str()));
    }
    request(addr, "GET", "/metrics", &headers, None)
}

#[test]
fn metrics_are_scraped_and_parse_with_prometheus_own_parser() {
    let home = tempfile::tempdir().unwrap();
    let bin = ls_integration::python::venv(home.path(), &["prometheus-client==0.26.0"]);
    let mut cmd = owner_server(home.path(), &home.path().join("data"));
    without_throttling(&mut cmd)
        .env("LS_METRICS_LISTEN", "127.0.0.1:0")
        .env("LS_METRICS_TOKEN", TOKEN);
    let server = Server::start(cmd).unwrap();
    let metrics_addr: SocketAddr = server
        .log()
        .lines()
        .find_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("metrics_address="))
        })
        .expect("the metrics listener's address is logged")
        .parse()
        .unwrap();

    // Traffic: token requests, a 404, a failed then a good login.
    let mut api = Client::with_token(server.addr, "owner-token-1");
    for _ in 0..5 {
        assert_eq!(api.get("/api/current-user/whoami").status, 200);
    }
    assert_eq!(api.get("/api/users/999999").status, 404);
    assert_eq!(api.get("/api/nothing-here").status, 404);
    let mut browser = Client::new(server.addr);
    browser.get("/user/login/");
    let r = browser.form(
        "/user/login/",
        &[
            ("email", "owner@example.com"),
            ("password", "wrong-password-1"),
        ],
    );
    assert_eq!(r.status, 200);
    let r = browser.form(
        "/user/login/",
        &[
            ("email", "owner@example.com"),
            ("password", "owner-password-1"),
        ],
    );
    assert_eq!(r.status, 302);

    // Who may read them: the bearer token, on both listeners.
    for addr in [server.addr, metrics_addr] {
        assert_eq!(scrape(addr, None).status, 401);
        assert_eq!(
            scrape(addr, Some("Bearer not-the-token-at-all")).status,
            401
        );
        assert_eq!(scrape(addr, Some(&format!("Token {TOKEN}"))).status, 401);
        let ok = scrape(addr, Some(&format!("Bearer {TOKEN}")));
        assert_eq!(ok.status, 200);
        assert!(ok.header("content-type").unwrap().starts_with("text/plain"));
    }
    // The metrics listener serves nothing else.
    assert_eq!(
        request(
            metrics_addr,
            "GET",
            "/api/current-user/whoami",
            &[("Authorization", "Token owner-token-1")],
            None
        )
        .status,
        404
    );

    let text = scrape(metrics_addr, Some(&format!("Bearer {TOKEN}"))).body;
    let samples = parse(&bin, &text);
    let whoami = [
        ("route", "/api/current-user/whoami"),
        ("method", "GET"),
        ("status", "200"),
    ];
    assert_eq!(
        value(&samples, "http_requests_total", &whoami),
        Some(5.0),
        "{text}"
    );
    assert_eq!(
        value(
            &samples,
            "http_requests_total",
            &[("route", "/api/users/{id}"), ("status", "404")]
        ),
        Some(1.0)
    );
    // Unknown paths are one series, whatever the path.
    assert!(value(&samples, "http_requests_total", &[("route", "unmatched")]).unwrap() >= 1.0);
    assert!(!text.contains("nothing-here"), "paths never become labels");
    assert_eq!(
        value(
            &samples,
            "http_request_duration_seconds_count",
            &[("route", "/api/current-user/whoami")]
        ),
        Some(5.0)
    );
    assert_eq!(
        value(&samples, "ls_logins_total", &[("result", "failed")]),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, "ls_logins_total", &[("result", "ok")]),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, "ls_signups_total", &[("channel", "first_run")]),
        Some(1.0)
    );
    assert!(value(&samples, "ls_db_pool_connections", &[]).unwrap() >= 1.0);
    assert!(value(&samples, "ls_db_pool_idle", &[]).is_some());
    assert_eq!(value(&samples, "ls_hash_queue_depth", &[]), Some(0.0));
    // Two login hashes and the first-run account's.
    assert!(value(&samples, "ls_hash_wait_seconds_count", &[]).unwrap() >= 3.0);
    assert!(value(&samples, "ls_sqlite_begin_seconds_count", &[]).unwrap() >= 1.0);
    assert!(value(&samples, "ls_sqlite_writer_wait_seconds_count", &[]).unwrap() >= 1.0);
    // The token never shows.
    assert!(!text.contains(TOKEN));
    let (_, log) = server.stop();
    assert!(!log.contains(TOKEN), "the scrape token is in the log");
}

#[test]
fn without_a_metrics_setting_there_is_no_metrics_endpoint() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(owner_server(home.path(), &home.path().join("data"))).unwrap();
    assert_eq!(scrape(server.addr, None).status, 404);
    assert_eq!(
        scrape(server.addr, Some(&format!("Bearer {TOKEN}"))).status,
        404
    );
    server.stop();
}

#[test]
fn a_short_metrics_token_is_refused_at_start() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = owner_server(home.path(), &home.path().join("data"));
    cmd.env("LS_METRICS_TOKEN", "short");
    let out = Server::start(cmd).unwrap_err();
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("metrics_token"), "{}", out.stderr);
    assert!(!out.stderr.contains("short\""), "{}", out.stderr);
}

/// `X-Request-Id` is taken from a trusted proxy only (and only a sane
/// one), generated otherwise; either way the response echoes it and the
/// log line of the request carries it.
#[test]
fn request_ids_are_taken_from_trusted_proxies_only_and_echoed() {
    let run = |trusted: Option<&str>| {
        let home = tempfile::tempdir().unwrap();
        let mut cmd = owner_server(home.path(), &home.path().join("data"));
        if let Some(t) = trusted {
            cmd.env("LS_TRUSTED_PROXIES", t);
        }
        let server = Server::start(cmd).unwrap();
        let ask = |id: &str| {
            request(server.addr, "GET", "/health", &[("X-Request-Id", id)], None)
                .header("x-request-id")
                .unwrap()
                .to_owned()
        };
        let answers = (ask("edge-req-42"), ask("bad id with spaces"));
        let (_, log) = server.stop();
        (answers, log)
    };
    let ((kept, replaced), log) = run(Some("127.0.0.1"));
    assert_eq!(kept, "edge-req-42");
    assert_ne!(replaced, "bad id with spaces");
    assert_eq!(replaced.len(), 32);
    assert!(log.contains("request_id=edge-req-42"), "{log}");
    assert!(log.contains(&format!("request_id={replaced}")), "{log}");
    let ((ignored, _), _) = run(None);
    assert_ne!(
        ignored, "edge-req-42",
        "an untrusted client's id is not taken"
    );
    assert_eq!(ignored.len(), 32);
}
