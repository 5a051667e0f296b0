//! TLS to PostgreSQL: `sslmode` and `sslrootcert` in the database URL, as
//! libpq reads them, against a PostgreSQL of the test's own that accepts
//! TLS connections only (its certificate signed by a CA the test made).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;
use std::time::Duration;

use ls_integration::pg_tls::TlsPostgres;
use ls_integration::process::{Output, Server, command, owner_server_on, run, run_limited};

const SECRET: &str = "7a1f2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn server(home: &Path, url: &str) -> std::process::Command {
    let mut cmd = owner_server_on(home, url, SECRET);
    cmd.env("LS_DATABASE_CONNECT_TIMEOUT_SECS", "5");
    cmd
}

fn refused(home: &Path, url: &str) -> Output {
    let out = run_limited(server(home, url), Duration::from_secs(30));
    assert_ne!(out.code, Some(0), "{out:?}");
    assert!(out.code.is_some(), "the server started: {out:?}");
    out
}

fn path(p: &Path) -> String {
    p.display().to_string().replace(' ', "%20")
}

#[test]
fn sslmode_and_sslrootcert_are_honoured_and_a_bad_certificate_refused() {
    if let Err(why) = TlsPostgres::available() {
        // CI runs as root with Debian's PostgreSQL: there it always runs.
        assert!(
            std::env::var_os("CI").is_none(),
            "the TLS test cannot run in CI: {why}"
        );
        eprintln!("skipped: {why}");
        return;
    }
    let pg = TlsPostgres::start();
    let home = tempfile::tempdir().unwrap();
    let (ca, other) = (path(&pg.ca), path(&pg.other_ca));

    // verify-full: the chain and the name (127.0.0.1 and localhost are in it).
    for host in ["127.0.0.1", "localhost"] {
        let url = pg.url(host, &format!("sslmode=verify-full&sslrootcert={ca}"));
        let s = Server::start(server(home.path(), &url)).unwrap();
        let (status, _) = s.get(
            "/api/current-user/whoami",
            &[("Authorization", "Token owner-token-1")],
        );
        assert_eq!(status, 200);
        s.stop();
        // ls-admin over the same URL, and what the connection is.
        let mut doctor = command("ls-admin", home.path());
        doctor
            .env("LS_SECRET_KEY", SECRET)
            .arg("--database-url")
            .arg(&url)
            .arg("doctor");
        let out = run(doctor, None);
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(out.stdout.contains("TLSv1."), "{}", out.stdout);
    }
    // verify-ca is warned about: the system's roots count too (sqlx).
    let s = Server::start(server(
        home.path(),
        &pg.url("127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={ca}")),
    ))
    .unwrap();
    let (_, log) = s.stop();
    assert!(log.contains("verify-full"), "{log}");
    // require without a root certificate: encrypted, nothing verified (libpq's rule).
    let s = Server::start(server(home.path(), &pg.url("127.0.0.1", "sslmode=require"))).unwrap();
    s.stop();

    // Without TLS: this server refuses.
    let out = refused(home.path(), &pg.url("127.0.0.1", "sslmode=disable"));
    assert!(out.stderr.contains("no encryption"), "{}", out.stderr);
    // A certificate the given CA did not sign: refused in every verifying mode,
    // require with an sslrootcert included (libpq verifies it then; sqlx alone would not).
    for mode in ["verify-full", "verify-ca", "require"] {
        let out = refused(
            home.path(),
            &pg.url("127.0.0.1", &format!("sslmode={mode}&sslrootcert={other}")),
        );
        let said = out.stderr.to_lowercase();
        assert!(
            said.contains("certificate") || said.contains("unknownissuer") || said.contains("tls"),
            "{mode}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains(SECRET));
    }
    // Not a mode; a root certificate that is not there: the setting is named.
    let out = refused(home.path(), &pg.url("127.0.0.1", "sslmode=verify_full"));
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("database_url") && out.stderr.contains("sslmode"),
        "{}",
        out.stderr
    );
    let out = refused(
        home.path(),
        &pg.url(
            "127.0.0.1",
            "sslmode=verify-full&sslrootcert=/no/such/ca.crt",
        ),
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("/no/such/ca.crt"), "{}", out.stderr);
}
