//! The edges a hostile newcomer finds (issue 15), over the real binaries:
//! each test fails without its fix.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::time::Duration;

use ls_integration::process::{Output, command, run_limited};

/// Long enough for a refusal; a server that starts instead is killed.
fn refused(cmd: std::process::Command) -> Output {
    run_limited(cmd, Duration::from_secs(15))
}

/// `ls-server --data-dir DATA start -p 0` and `ls-admin --data-dir DATA user list`.
fn both(home: &std::path::Path, data: &std::path::Path) -> [std::process::Command; 2] {
    let mut server = command("ls-server", home);
    server
        .arg("--data-dir")
        .arg(data)
        .args(["start", "-p", "0"]);
    let mut admin = command("ls-admin", home);
    admin.arg("--data-dir").arg(data).args(["user", "list"]);
    [server, admin]
}

/// A misspelt key in the config file, a variable in our prefix that is no
/// setting, and a log filter that is no filter stop both binaries with exit
/// code 2 and a message naming the key, where it came from, and the key that
/// was meant.
#[test]
fn misspelt_settings_stop_start_up_and_name_what_was_meant() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let file = home.path().join("ls.toml");
    type Case<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a [&'a str]);
    let cases: [Case; 5] = [
        (
            "prot = 18417\n",
            None,
            &["prot", "ls.toml", "did you mean `port`?"],
        ),
        (
            "body_limt = 10\n",
            None,
            &["body_limt", "did you mean `body_limit`?"],
        ),
        (
            "",
            Some(("LS_PROT", "18417")),
            &["LS_PROT", "did you mean `LS_PORT`?"],
        ),
        (
            "log = \"nonsense[[[\"\n",
            None,
            &["log", "not a log filter"],
        ),
        (
            "",
            Some(("LS_LOG", "=[[[")),
            &["LS_LOG", "not a log filter"],
        ),
    ];
    for (toml, var, expected) in cases {
        std::fs::write(&file, toml).unwrap();
        for mut cmd in both(home.path(), &data) {
            cmd.arg("--config").arg(&file);
            if let Some((k, v)) = var {
                cmd.env(k, v);
            }
            let out = refused(cmd);
            assert_eq!(out.code, Some(2), "{toml}{var:?}: {}", out.stderr);
            for e in expected {
                assert!(
                    out.stderr.contains(e),
                    "{toml}{var:?}: {e:?} not in {}",
                    out.stderr
                );
            }
        }
    }
    // A variable in our prefix that is no near miss is a warning, not a
    // refusal; GNU ls's colours and Kubernetes' service links are left alone.
    std::fs::write(&file, "").unwrap();
    let [_, mut admin] = both(home.path(), &data);
    admin
        .arg("--config")
        .arg(&file)
        .env("LS_COLORS", "di=34")
        .env("LS_USERS_SERVICE_HOST", "10.0.0.1")
        .env("LS_USERS_PORT_8080_TCP_ADDR", "10.0.0.1")
        .env("LS_NO_SUCH", "1");
    let out = refused(admin);
    assert!(!out.stderr.contains("LS_COLORS"), "{}", out.stderr);
    assert!(!out.stderr.contains("LS_USERS"), "{}", out.stderr);
    assert!(
        out.stderr.contains("WARN")
            && out.stderr.contains("LS_NO_SUCH")
            && out.stderr.contains("ignored"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("no deployment in"),
        "not refused for it: {}",
        out.stderr
    );
}

/// An empty `--user-token` is refused as a short one is, before anything is
/// written; an empty `LABEL_STUDIO_USER_TOKEN` is no token (as in Label
/// Studio, and as compose files and charts set it), so one is generated.
#[test]
fn an_empty_first_run_token_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let first_run = [
        "--username",
        "admin@example.com",
        "--password",
        "long-enough-pass-1",
    ];
    let [mut server, _] = both(home.path(), &data);
    server.args(first_run).args(["--user-token", ""]);
    let out = refused(server);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("token"), "{}", out.stderr);
    assert!(!data.exists(), "the refusal wrote {}", data.display());
    let [mut server, _] = both(home.path(), &data);
    server.args(first_run).env("LABEL_STUDIO_USER_TOKEN", "");
    let server = ls_integration::process::Server::start(server).unwrap();
    let (_, log) = server.stop();
    assert!(log.contains("an API token was generated"), "{log}");
}

/// A deployment in `data` with its owner, made by a start that is then stopped.
fn deployment(home: &std::path::Path, data: &std::path::Path) {
    let server =
        ls_integration::process::Server::start(ls_integration::process::owner_server(home, data))
            .unwrap();
    let (code, log) = server.stop();
    assert_eq!(code, Some(0), "{log}");
}

fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Point 3: the offline commands never create a deployment on a mistyped
/// --data-dir (exit 2, a message naming the directory, nothing written);
/// the one that creates the first account does, and says so.
#[test]
fn ls_admin_on_a_mistyped_data_dir_creates_nothing() {
    let home = tempfile::tempdir().unwrap();
    let typo = home.path().join("dtaa");
    let commands: &[&[&str]] = &[
        &["user", "list"],
        &["user", "deactivate", "--email", "a@example.com"],
        &["user", "unlock", "--email", "a@example.com"],
        &["token", "reset", "--email", "a@example.com"],
        &["invite", "show"],
        &["invite", "reset"],
        &["doctor"],
    ];
    for args in commands {
        let out = ls_integration::process::admin(home.path(), &typo, args, None);
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("no deployment in") && out.stderr.contains("dtaa"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(!typo.exists(), "{args:?} created {}", typo.display());
        assert!(
            entries(home.path()).iter().all(|e| e != ".local"),
            "{:?}",
            entries(home.path())
        );
    }
    let out = ls_integration::process::admin(
        home.path(),
        &typo,
        &[
            "user",
            "create",
            "--email",
            "a@example.com",
            "--no-password",
        ],
        None,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("created a new deployment in"),
        "{}",
        out.stderr
    );
    let listed = ls_integration::process::admin(home.path(), &typo, &["user", "list"], None);
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    assert!(listed.stdout.contains("a@example.com"), "{}", listed.stdout);
}

/// Point 2: a database emptied or deleted beside an earlier deployment's
/// secret is refused (exit 2, naming what is left and `--init`) and left as
/// it is; `--init` starts the new deployment on purpose.
#[test]
fn an_emptied_database_is_not_a_new_deployment() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    deployment(home.path(), &data);
    let db = data.join("ls-users.sqlite3");
    for emptied in [true, false] {
        if emptied {
            std::fs::write(&db, b"").unwrap();
        } else {
            std::fs::remove_file(&db).unwrap();
        }
        let before = entries(&data);
        let [server, _] = both(home.path(), &data);
        let out = refused(server);
        assert_eq!(out.code, Some(2), "{}", out.stderr);
        for e in ["earlier deployment", "secret_key", "--init"] {
            assert!(out.stderr.contains(e), "{e:?} not in {}", out.stderr);
        }
        assert_eq!(entries(&data), before, "the refusal wrote something");
        if emptied {
            assert_eq!(std::fs::metadata(&db).unwrap().len(), 0);
        }
    }
    let [mut server, _] = both(home.path(), &data);
    server.arg("--init");
    let server = ls_integration::process::Server::start(server).unwrap();
    assert_eq!(server.get("/health", &[]).0, 200);
    let (code, log) = server.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(std::fs::metadata(&db).unwrap().len() > 0);
}

/// Point 5: a start that fails writes nothing first. A port already taken
/// stops it before the first-run account (or the deployment) is made; a
/// missing secret_key is not replaced when the database knows another; a
/// PostgreSQL URL without a secret or a data directory writes no secret to
/// an implicit home directory.
#[test]
fn a_start_that_fails_has_written_nothing() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let mut server = command("ls-server", home.path());
    server.arg("--data-dir").arg(&data).args([
        "start",
        "-p",
        &port,
        "--username",
        "owner@example.com",
        "--password",
        "owner-password-1",
    ]);
    let out = refused(server);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("cannot listen"), "{}", out.stderr);
    assert!(!data.exists(), "{:?}", entries(&data));
    drop(taken);

    deployment(home.path(), &data);
    std::fs::remove_file(data.join("secret_key")).unwrap();
    let [server, _] = both(home.path(), &data);
    let out = refused(server);
    assert_ne!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("secret_key"), "{}", out.stderr);
    assert!(
        !data.join("secret_key").exists(),
        "a new secret was written"
    );

    let mut pg = command("ls-server", home.path());
    pg.args([
        "--database-url",
        "postgres://nobody@127.0.0.1:1/none",
        "start",
        "-p",
        "0",
    ]);
    let out = refused(pg);
    assert_ne!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("LS_SECRET_KEY"), "{}", out.stderr);
    assert!(
        !home.path().join(".local").exists(),
        "{:?}",
        entries(home.path())
    );
}

/// Point 6: first-run flags naming another account on an existing
/// deployment add it as an administrator, and the log says so (WARN).
#[test]
fn a_first_run_account_that_is_not_the_first_is_a_warning() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    deployment(home.path(), &data);
    let [mut server, _] = both(home.path(), &data);
    server.args([
        "--username",
        "other@example.com",
        "--password",
        "other-password-2",
    ]);
    let server = ls_integration::process::Server::start(server).unwrap();
    let (_, log) = server.stop();
    assert!(
        log.contains("WARN") && log.contains("not the first account"),
        "{log}"
    );
    let listed =
        ls_integration::process::admin_ok(home.path(), &data, &["user", "list", "--json"], None);
    let users: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let other = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "other@example.com")
        .unwrap();
    assert_eq!(other["role"], "administrator", "{other}");
}

/// `ls-server --data-dir DATA start -p 0` under `sh -c 'ulimit …'`, with the
/// clean environment of [`command`] and `env` added.
fn limited_server(
    home: &std::path::Path,
    ulimit: &str,
    env: &[(&str, &str)],
) -> ls_integration::process::Server {
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit {ulimit} && exec \"$0\" \"$@\""))
        .arg(ls_integration::process::bin("ls-server"))
        .arg("--data-dir")
        .arg(home.join("data"))
        .args(["start", "-p", "0"]);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("LS_") || k == "DATABASE_URL" || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", home).env_remove("XDG_DATA_HOME");
    for (k, v) in env {
        cmd.env(k, v);
    }
    ls_integration::process::Server::start(cmd).unwrap()
}

/// Point 1: more silent connections than the server has descriptors for
/// (half of them after one byte) never keep `/health` from answering, and
/// each is closed by the server within the header timeout (plus 2 s).
#[test]
fn silent_sockets_cannot_starve_the_server() {
    use std::io::Read as _;
    use std::time::Instant;
    let home = tempfile::tempdir().unwrap();
    let server = limited_server(
        home.path(),
        "-n 128",
        &[("LS_HEADER_READ_TIMEOUT_SECS", "2")],
    );
    let log = server.log();
    assert!(
        log.contains("file descriptor limit") && log.contains("soft=Some(128)"),
        "{log}"
    );
    let opened = Instant::now();
    // Every other one sends one byte (the start of an HTTP/2 preface) and
    // then nothing: as silent as the rest.
    let mut silent: Vec<std::net::TcpStream> = (0..200)
        .map(|i| {
            use std::io::Write as _;
            let mut s = std::net::TcpStream::connect(server.addr).unwrap();
            if i % 2 == 0 {
                s.write_all(b"P").unwrap();
            }
            s
        })
        .collect();
    while opened.elapsed() < Duration::from_secs(4) {
        let asked = Instant::now();
        let (status, _) = server.get("/health", &[]);
        assert_eq!(
            status,
            200,
            "after {:?}: {}",
            opened.elapsed(),
            server.log()
        );
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "{:?}",
            asked.elapsed()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for (i, s) in silent.iter_mut().enumerate() {
        let left = (opened + Duration::from_secs(4)).saturating_duration_since(Instant::now());
        s.set_read_timeout(Some(left.max(Duration::from_millis(10))))
            .unwrap();
        let mut b = [0u8; 256];
        match s.read(&mut b) {
            Ok(0) => {}
            Ok(_) => assert!(
                std::str::from_utf8(&b)
                    .unwrap_or("")
                    .starts_with("HTTP/1.1 503")
            ),
            Err(e) => assert!(
                matches!(e.kind(), std::io::ErrorKind::ConnectionReset),
                "socket {i} still open after {:?}: {e}",
                opened.elapsed()
            ),
        }
    }
    let (code, log) = server.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(!log.contains("Too many open files"), "{log}");
}

/// Point 1: the soft descriptor limit is raised to the hard one at start.
#[test]
fn the_descriptor_limit_is_raised_and_logged() {
    let home = tempfile::tempdir().unwrap();
    let server = limited_server(home.path(), "-Sn 256", &[]);
    let log = server.log();
    server.stop();
    assert!(log.contains("soft_before=Some(256)"), "{log}");
    assert!(!log.contains("soft=Some(256)"), "not raised: {log}");
}

/// One raw HTTP/1 exchange: the status line and the whole answer.
fn raw(addr: std::net::SocketAddr, request: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Point 8: the HTTP edges. HTTP/1.1 without `Host` is 400; JSON with a
/// repeated key, or blanks declared as JSON, is 400; OPTIONS says what a route
/// allows (200 with `Allow`); the login page's 429 has `Retry-After`; what
/// hyper answers itself (an unparseable request) is a bare 400 with no
/// body; two requests on one HTTP/2 prior-knowledge connection both succeed
/// (curl 7.88's failure there is curl's: curl/curl#10634, fixed in 8.0).
#[test]
fn the_http_edges_answer_as_the_rfcs_and_label_studio_do() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = ls_integration::process::owner_server(home.path(), &home.path().join("data"));
    cmd.env("LS_LOGIN_ATTEMPTS_PER_ACCOUNT", "1");
    let server = ls_integration::process::Server::start(cmd).unwrap();
    let addr = server.addr;

    let no_host = raw(addr, "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(no_host.starts_with("HTTP/1.1 400"), "{no_host}");
    assert!(no_host.contains("Host header"), "{no_host}");
    let host = raw(
        addr,
        "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(host.starts_with("HTTP/1.1 200"), "{host}");
    let old = raw(addr, "GET /health HTTP/1.0\r\n\r\n");
    assert!(
        old.starts_with("HTTP/1.1 200") || old.starts_with("HTTP/1.0 200"),
        "{old}"
    );

    let patch = |body: &str| {
        raw(
            addr,
            &format!(
                "PATCH /api/current-user HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                 Authorization: Token owner-token-1\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                body.len()
            ),
        )
    };
    let twice = patch(r#"{"first_name": "a", "first_name": "b"}"#);
    assert!(
        twice.starts_with("HTTP/1.1 400") && twice.contains("repeated"),
        "{twice}"
    );
    // No body is {} as in DRF; blanks declared as JSON are not JSON.
    assert!(patch("").starts_with("HTTP/1.1 200"));
    let blanks = patch("  ");
    assert!(
        blanks.starts_with("HTTP/1.1 400") && blanks.contains("blanks"),
        "{blanks}"
    );
    assert!(patch(r#"{"first_name": "a"}"#).starts_with("HTTP/1.1 200"));

    let options = raw(
        addr,
        "OPTIONS /api/users/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(options.starts_with("HTTP/1.1 200"), "{options}");
    let allow = options
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("allow:"))
        .unwrap_or_default()
        .to_owned();
    for m in ["GET", "POST", "OPTIONS"] {
        assert!(allow.contains(m), "{allow}");
    }
    let unknown = raw(
        addr,
        "OPTIONS /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(unknown.starts_with("HTTP/1.1 404"), "{unknown}");

    let mut browser = ls_integration::http::Client::new(addr);
    browser.get("/user/login/");
    for expected in [200, 429] {
        let r = browser.form(
            "/user/login/",
            &[
                ("email", "owner@example.com"),
                ("password", "wrong-password-1"),
            ],
        );
        assert_eq!(r.status, expected, "{}", r.body);
        if expected == 429 {
            let retry = r.header("retry-after").unwrap_or_default();
            assert!(retry.parse::<u64>().is_ok_and(|s| s > 0), "{retry:?}");
        }
    }

    let garbage = raw(addr, "NOT A REQUEST\r\n\r\n");
    assert!(garbage.starts_with("HTTP/1.1 400"), "{garbage}");
    let (head, body) = garbage.split_once("\r\n\r\n").unwrap_or((&garbage, ""));
    assert!(body.is_empty(), "hyper's own 400 has no body: {body}");
    assert!(
        !head.to_ascii_lowercase().contains("content-type"),
        "{head}"
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    let statuses = rt.block_on(async {
        let io = hyper_util::rt::TokioIo::new(tokio::net::TcpStream::connect(addr).await.unwrap());
        let (mut send, conn) =
            hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), io)
                .await
                .unwrap();
        tokio::spawn(conn);
        let mut statuses = Vec::new();
        for _ in 0..2 {
            let req = hyper::Request::get(format!("http://{addr}/health"))
                .body(http_body_util::Empty::<hyper::body::Bytes>::new())
                .unwrap();
            statuses.push(send.send_request(req).await.unwrap().status().as_u16());
        }
        statuses
    });
    assert_eq!(statuses, [200, 200]);
    server.stop();
}

/// Point 9: one password rule on every path: control characters (a tab, a
/// line break, an escape) are refused in a new password by the first run,
/// `ls-admin`, the API and the sign-up page alike.
#[test]
fn control_characters_are_refused_in_new_passwords_on_every_path() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let [mut first, _] = both(home.path(), &data);
    first.args([
        "--username",
        "owner@example.com",
        "--password",
        "tab\there-12345",
    ]);
    let out = refused(first);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("control characters"), "{}", out.stderr);

    deployment(home.path(), &data);
    let out = ls_integration::process::admin(
        home.path(),
        &data,
        &[
            "user",
            "set-password",
            "--email",
            "owner@example.com",
            "--password-stdin",
        ],
        Some("esc\u{1b}ape-12345\n"),
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("control characters"), "{}", out.stderr);

    let server = ls_integration::process::Server::start(ls_integration::process::owner_server(
        home.path(),
        &data,
    ))
    .unwrap();
    let mut api = ls_integration::http::Client::with_token(server.addr, "owner-token-1");
    let r = api.json(
        "POST",
        "/api/users/",
        &serde_json::json!({"email": "m@example.com", "username": "m", "password": "line\nbreak-123"}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("control characters"), "{}", r.body);
    let mut browser = ls_integration::http::Client::new(server.addr);
    browser.get("/user/signup/");
    let r = browser.form(
        "/user/signup/",
        &[
            ("email", "s@example.com"),
            ("password", "del\u{7f}ete-12345"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("control characters"), "{}", r.body);
    server.stop();
}

/// Point 9: deactivating an organization's owner says that the organization
/// is left without an active owner (Label Studio's tools and ours let an
/// operator do it; the owner can be activated again).
#[test]
fn deactivating_the_owner_warns_that_the_organization_has_none() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    deployment(home.path(), &data);
    let out = ls_integration::process::admin(
        home.path(),
        &data,
        &["user", "deactivate", "--email", "owner@example.com"],
        None,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("warning") && out.stderr.contains("no active owner"),
        "{}",
        out.stderr
    );
}

/// Point 9: `ls-admin doctor` reads a damaged database without migrating
/// or writing it, runs `integrity_check`, reports, and exits 1.
#[test]
fn doctor_reports_a_damaged_database_without_touching_it() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    deployment(home.path(), &data);
    let healthy = ls_integration::process::admin(home.path(), &data, &["doctor"], None);
    assert_eq!(healthy.code, Some(0), "{}", healthy.stderr);
    assert!(
        healthy.stdout.contains("integrity_check  ok"),
        "{}",
        healthy.stdout
    );
    let db = data.join("ls-users.sqlite3");
    let mut bytes = std::fs::read(&db).unwrap();
    assert!(bytes.len() > 5 * 4096, "{}", bytes.len());
    bytes[3 * 4096..4 * 4096].fill(0xff);
    std::fs::write(&db, &bytes).unwrap();
    let out = ls_integration::process::admin(home.path(), &data, &["doctor"], None);
    assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("integrity_check"), "{}", out.stdout);
    assert!(
        !out.stdout.contains("integrity_check  ok"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("damaged"), "{}", out.stderr);
    assert_eq!(
        std::fs::read(&db).unwrap(),
        bytes,
        "doctor changed the file"
    );
}

/// Point 7: messages that say what to do, for a data directory that is a
/// file, an unreachable PostgreSQL (given up on within its timeout), a
/// missing PostgreSQL database, a data directory open to others (tightened,
/// and said), and a deployment secret readable by others (said).
#[test]
fn messages_say_what_to_do() {
    use std::os::unix::fs::PermissionsExt as _;
    use std::time::Instant;
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    for cmd in both(home.path(), &file) {
        let out = refused(cmd);
        assert_eq!(out.code, Some(2), "{}", out.stderr);
        assert!(out.stderr.contains("is not a directory"), "{}", out.stderr);
        assert!(out.stderr.contains("--data-dir"), "{}", out.stderr);
    }

    let secret = "ab".repeat(32);
    let pg = |url: &str| {
        let mut cmd = command("ls-admin", home.path());
        cmd.env("LS_SECRET_KEY", &secret)
            .env("LS_DATABASE_CONNECT_TIMEOUT_SECS", "2")
            .args(["--database-url", url, "user", "list"]);
        cmd
    };
    let started = Instant::now();
    // A port nothing listens on, behind an address that drops packets would
    // be slower still: the probe gives up within the timeout either way.
    let out = refused(pg("postgres://nobody@127.0.0.1:1/ls"));
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("127.0.0.1:1/ls"), "{}", out.stderr);
    assert!(!out.stderr.contains("pool timed out"), "{}", out.stderr);
    let admin_url = std::env::var("LS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(b, _)| b);
    let out = refused(pg(&format!("{base}/no_such_database_here")));
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("does not exist")
            && out.stderr.contains("createdb no_such_database_here"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("at line"), "{}", out.stderr);

    let data = home.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = ls_integration::process::admin(
        home.path(),
        &data,
        &[
            "user",
            "create",
            "--email",
            "a@example.com",
            "--no-password",
        ],
        None,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("open to others"), "{}", out.stderr);
    let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    // A directory made read-only stays read-only: only others' rights go.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o555)).unwrap();
    let out = ls_integration::process::admin(home.path(), &data, &["user", "list"], None);
    assert!(out.stderr.contains("open to others"), "{}", out.stderr);
    let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o500);
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    let key = data.join("secret_key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = ls_integration::process::admin(home.path(), &data, &["user", "list"], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("readable by others"), "{}", out.stderr);

    // A data directory nothing may be written in (immutable: even root is
    // refused): the message names the database it could not create, not a
    // temporary file.
    let sealed = home.path().join("sealed");
    std::fs::create_dir(&sealed).unwrap();
    std::fs::set_permissions(&sealed, std::fs::Permissions::from_mode(0o700)).unwrap();
    let chattr = |flag: &str| {
        std::process::Command::new("chattr")
            .arg(flag)
            .arg(&sealed)
            .status()
            .is_ok_and(|s| s.success())
    };
    if chattr("+i") {
        let out = ls_integration::process::admin(
            home.path(),
            &sealed,
            &[
                "user",
                "create",
                "--email",
                "b@example.com",
                "--no-password",
            ],
            None,
        );
        chattr("-i");
        assert_ne!(out.code, Some(0), "{}", out.stderr);
        assert!(out.stderr.contains("ls-users.sqlite3"), "{}", out.stderr);
        assert!(!out.stderr.contains(".secret_key."), "{}", out.stderr);
    } else {
        eprintln!("chattr +i is not available here: the sealed-directory case was not run");
    }
}
