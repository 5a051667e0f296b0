//! schemathesis (PyPI) against the live server, authenticated, on SQLite
//! and on PostgreSQL: every operation of `/api/schema` with generated
//! requests, under all of schemathesis's default checks (no 5xx, answers
//! that match the schema, documented status codes, content types and
//! headers, schema-valid input accepted, schema-violating input refused,
//! authentication enforced). `tests/schemathesis.toml` names the few
//! answers only the stored state explains, and the two operations that
//! would end the run's own credential.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;
use std::process::Command;

use ls_integration::process::{Server, owner_server, owner_server_on, without_throttling};

const SCHEMATHESIS: &str = "schemathesis==4.32.5";

fn schemathesis(bin: &Path, server: &Server, work: &Path) {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemathesis.toml");
    let out = Command::new(bin.join("st"))
        .current_dir(work)
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("http://{}/api/schema", server.addr)])
        .args(["-H", "Authorization: Token owner-token-1"])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--workers", "1", "--no-color"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("passed"), "{stdout}");
    assert!(!stdout.contains("Unresolvable"), "{stdout}");
}

#[test]
fn schemathesis_finds_nothing_on_sqlite_or_postgresql() {
    let home = tempfile::tempdir().unwrap();
    let bin = ls_integration::python::venv(home.path(), &[SCHEMATHESIS]);

    let mut cmd = owner_server(home.path(), &home.path().join("data"));
    without_throttling(&mut cmd).env("LS_TOKEN_FAILURES_PER_CLIENT", "0");
    let server = Server::start(cmd).unwrap();
    schemathesis(&bin, &server, home.path());
    server.stop();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let pg = rt.block_on(ls_integration::pg::PgDatabase::create("schemathesis"));
    let mut cmd = owner_server_on(
        home.path(),
        &pg.url,
        "0c1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
    );
    cmd.env("LS_TOKEN_FAILURES_PER_CLIENT", "0");
    without_throttling(&mut cmd);
    let server = Server::start(cmd).unwrap();
    schemathesis(&bin, &server, home.path());
    server.stop();
    rt.block_on(pg.drop_database());
}

/// The document itself: OpenAPI 3.1, every API route in it, public.
#[test]
fn the_schema_covers_every_api_route() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(owner_server(home.path(), &home.path().join("data"))).unwrap();
    let resp = ls_integration::http::request(server.addr, "GET", "/api/schema/", &[], None);
    assert_eq!(resp.status, 200);
    let doc = resp.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let routes = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/http/src/api/mod.rs"),
    )
    .unwrap();
    // Every route registered with `both(r, "…"` but the schema's own.
    let mut seen = 0;
    for piece in routes.split("both(").skip(1) {
        let rest = piece.trim_start().strip_prefix("r,").unwrap().trim_start();
        let path = rest.strip_prefix('"').unwrap().split('"').next().unwrap();
        if path != "/api/schema" {
            assert!(paths.contains_key(path), "{path} is not in the schema");
            seen += 1;
        }
    }
    assert_eq!(seen, paths.len(), "routes and schema paths differ");
    // The docs page, from the same document, linked from the account page.
    let docs = ls_integration::http::request(server.addr, "GET", "/docs/api", &[], None);
    assert_eq!(docs.status, 200);
    assert!(
        docs.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let csp = docs.header("content-security-policy").unwrap();
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    for path in paths.keys() {
        assert!(
            docs.body.contains(path.as_str()),
            "{path} is not on /docs/api"
        );
    }
    assert!(docs.body.contains("/api/schema"));
    let mut browser = ls_integration::http::Client::new(server.addr);
    browser.get("/user/login/");
    let r = browser.form(
        "/user/login/",
        &[
            ("email", "owner@example.com"),
            ("password", "owner-password-1"),
        ],
    );
    assert_eq!(r.status, 302);
    let account = browser.get("/user/account/");
    assert!(account.body.contains("/docs/api\""), "{}", account.body);
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for status in ["400", "401", "404", "429", "503"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path}: no {status}"
                );
            }
        }
    }
    server.stop();
}
