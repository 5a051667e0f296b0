//! Moving from Label Studio (issue 16): both databases made by the real
//! Label Studio 1.23.2 are imported with `ls-admin import label-studio`
//! into a deployment whose `ls-server` is already running, and everything
//! is then checked over HTTP against that server, as people and scripts
//! would use it the next morning.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;

use ls_integration::http::Client;
use ls_integration::label_studio::{
    add_synthetic_people, contains, manifest, restore_postgres, sqlite_data_dir,
};
use ls_integration::pg::PgDatabase;
use ls_integration::process::{Server, admin, admin_ok, command};
use ls_integration::snapshot;
use serde_json::{Value, json};

/// `ls-server` on an empty deployment: no first-run account.
fn empty_server(home: &Path, data: &Path, database_url: Option<&str>) -> Server {
    let mut cmd = command("ls-server", home);
    cmd.arg("--data-dir").arg(data);
    if let Some(url) = database_url {
        cmd.args(["--database-url", url]);
    }
    cmd.args(["start", "-p", "0"]);
    Server::start(cmd).unwrap()
}

/// `ls-admin import label-studio --from SOURCE --json` against the target.
fn import(home: &Path, data: &Path, url: Option<&str>, source: &str, extra: &[&str]) -> Value {
    let mut args = Vec::new();
    if let Some(url) = url {
        args.extend(["--database-url", url]);
    }
    args.extend(["import", "label-studio", "--from", source, "--json"]);
    args.extend(extra);
    let out = admin_ok(home, data, &args, None);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn users(m: &Value) -> &Vec<Value> {
    m["users"].as_array().unwrap()
}

/// A browser logging in on the login page: the session's whoami, or the status.
fn page_login(addr: std::net::SocketAddr, email: &str, password: &str) -> Result<Value, u16> {
    let mut b = Client::new(addr);
    b.get("/user/login/");
    let r = b.form("/user/login/", &[("email", email), ("password", password)]);
    if r.status != 302 {
        return Err(r.status);
    }
    let me = b.get("/api/current-user/whoami");
    assert_eq!(me.status, 200, "{}", me.body);
    Ok(me.json())
}

/// Everything a person, a script and an owner see after the import.
fn check_over_http(server: &Server, home: &Path, data: &Path, url: Option<&str>, m: &Value) {
    let addr = server.addr;
    for u in users(m) {
        let id = u["id"].as_i64().unwrap();
        let email = u["email"].as_str().unwrap();
        let active = u["active"].as_bool().unwrap();
        // The API token, as scripts use it.
        if let Some(token) = u["token"].as_str() {
            let r = Client::with_token(addr, token).get("/api/current-user/whoami");
            if active {
                assert_eq!(r.status, 200, "{email}: {}", r.body);
                let me = r.json();
                assert_eq!(me["id"], json!(id), "{email}");
                assert_eq!(me["email"], u["stored_email"]);
                for field in ["first_name", "last_name", "phone"] {
                    let want = u.get(field).cloned().unwrap_or(json!(""));
                    assert_eq!(me[field], want, "{email}: {field}");
                }
                if u["custom_hotkeys_set"] == json!(true) {
                    assert_eq!(me["custom_hotkeys"], u["custom_hotkeys"], "{email}");
                }
            } else {
                assert_eq!(r.status, 401, "an inactive person's token: {}", r.body);
            }
        }
        let Some(password) = u["password"].as_str() else {
            // No password in Label Studio: none here either.
            assert_eq!(page_login(addr, email, "any-password-1"), Err(200));
            continue;
        };
        if !active {
            assert_eq!(page_login(addr, email, password), Err(200), "{email}");
            continue;
        }
        let wrong = format!("{password}x");
        assert_eq!(page_login(addr, email, &wrong), Err(200), "{email}");
        // As typed (mixed-case email, non-ASCII password): first the
        // carried Django hash, then the argon2id it became.
        for round in ["pbkdf2", "argon2id"] {
            let me = page_login(addr, email, password)
                .unwrap_or_else(|s| panic!("{email} ({round}): {s}"));
            assert_eq!(me["id"], json!(id));
        }
    }
    // Schemes: argon2id for those who logged in, the carried hash for the
    // inactive one, none for the one without a password.
    let mut args = Vec::new();
    if let Some(url) = url {
        args.extend(["--database-url", url]);
    }
    args.extend(["user", "list", "--json"]);
    let list: Value = serde_json::from_str(&admin_ok(home, data, &args, None)).unwrap();
    for u in users(m) {
        let row = list
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == u["id"])
            .unwrap();
        let want = match (u["password"].is_null(), u["active"].as_bool().unwrap()) {
            (true, _) => "none",
            (false, true) => "argon2id",
            (false, false) => "pbkdf2_sha256",
        };
        assert_eq!(row["password_scheme"], json!(want), "{}", u["email"]);
    }
    // The owner's view: removed members are not members.
    let owner_token = users(m)[0]["token"].as_str().unwrap();
    let mut owner = Client::with_token(addr, owner_token);
    let page = owner
        .get("/api/organizations/1/memberships?page_size=-1")
        .json();
    let listed: Vec<i64> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["user"]["id"].as_i64().unwrap())
        .collect();
    for u in users(m) {
        let id = u["id"].as_i64().unwrap();
        assert_eq!(
            listed.contains(&id),
            !u["removed"].as_bool().unwrap(),
            "member {id} in {listed:?}"
        );
    }
    // The personal access token, refreshed as the SDK does.
    let pat = m["personal_access_token"]["refresh_token"]
        .as_str()
        .unwrap();
    let r = Client::new(addr).json("POST", "/api/token/refresh", &json!({"refresh": pat}));
    assert_eq!(r.status, 200, "{}", r.body);
    let access = r.json()["access"].as_str().unwrap().to_owned();
    let mut bearer = Client::new(addr);
    let me = bearer.send(
        "GET",
        "/api/current-user/whoami",
        &[("Authorization", &format!("Bearer {access}"))],
        None,
    );
    assert_eq!(me.status, 200, "{}", me.body);
    let pat_owner = users(m)
        .iter()
        .find(|u| u["email"] == m["personal_access_token"]["user"])
        .unwrap();
    assert_eq!(me.json()["id"], pat_owner["id"]);
    // Revoked here by its owner: its access token and itself stop at once.
    let mut holder = Client::with_token(addr, pat_owner["token"].as_str().unwrap());
    let r = holder.json("POST", "/api/token/blacklist/", &json!({"refresh": pat}));
    assert_eq!(r.status, 204, "{}", r.body);
    let me = bearer.send(
        "GET",
        "/api/current-user/whoami",
        &[("Authorization", &format!("Bearer {access}"))],
        None,
    );
    assert_eq!(me.status, 401, "{}", me.body);
    let r = Client::new(addr).json("POST", "/api/token/refresh", &json!({"refresh": pat}));
    assert_eq!(r.status, 401, "{}", r.body);
    // The old invite link admits a newcomer, until Reset Link.
    let invite = m["organization"]["invite_token"].as_str().unwrap();
    let signup = format!("/user/signup/?token={invite}");
    let mut newcomer = Client::new(addr);
    newcomer.get(&signup);
    let r = newcomer.form(
        &signup,
        &[
            ("email", "newcomer@example.com"),
            ("password", "newcomer-pass-1"),
        ],
    );
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(
        owner
            .json("POST", "/api/invite/reset-token", &json!({}))
            .status,
        201
    );
    let mut late = Client::new(addr);
    late.get(&signup);
    let r = late.form(
        &signup,
        &[("email", "late@example.com"), ("password", "late-pass-123")],
    );
    assert_ne!(r.status, 302, "the old link after Reset Link: {}", r.body);
    assert!(page_login(addr, "late@example.com", "late-pass-123").is_err());
}

#[test]
fn the_sqlite_fixture_moves_over_with_everything() {
    let home = tempfile::tempdir().unwrap();
    let (ls, data) = (home.path().join("label-studio"), home.path().join("data"));
    let source = sqlite_data_dir(&ls);
    let m = manifest("sqlite");
    let server = empty_server(home.path(), &data, None);
    let source = source.to_str().unwrap();
    // A dry run first: it reports and changes nothing.
    let dry = import(home.path(), &data, None, source, &["--dry-run"]);
    assert_eq!(dry["users_imported"], json!(users(&m).len()));
    assert_eq!(
        admin_ok(home.path(), &data, &["user", "list", "--json"], None).trim(),
        "[]"
    );
    let report = import(home.path(), &data, None, source, &[]);
    assert_eq!(report["users_imported"], json!(users(&m).len()), "{report}");
    assert_eq!(report["personal_tokens_imported"], json!(1), "{report}");
    assert_eq!(report["invite_link_carried"], json!(true));
    assert_eq!(report["removed_memberships_imported"], json!(1));
    // A second run adds and changes nothing.
    let before = snapshot::of_data_dir(&data);
    let again = import(home.path(), &data, None, source, &[]);
    assert_eq!(again["users_imported"], json!(0));
    assert_eq!(again["users_already_present"], json!(users(&m).len()));
    assert_eq!(snapshot::of_data_dir(&data), before);
    // No token of Label Studio's is stored in clear: the database and its WAL.
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains(".sqlite3") {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(bytes.len() > 10_000);
    let mut secrets: Vec<String> = users(&m)
        .iter()
        .filter_map(|u| u["token"].as_str().map(str::to_owned))
        .collect();
    secrets.push(
        m["organization"]["invite_token"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let pat = m["personal_access_token"]["refresh_token"]
        .as_str()
        .unwrap();
    secrets.push(pat.to_owned());
    secrets.push(pat.rsplit('.').next().unwrap().to_owned());
    for s in &secrets {
        assert!(!contains(&bytes, s), "{s} is stored in clear");
    }
    check_over_http(&server, home.path(), &data, None, &m);
    server.stop();
}

#[test]
fn the_postgres_fixture_moves_over_with_everything() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ls = rt.block_on(PgDatabase::create("ls_source"));
    let target = rt.block_on(PgDatabase::create("ls_target"));
    restore_postgres(&ls.url);
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let m = manifest("postgres");
    let key_file = home.path().join("ls-secret");
    std::fs::write(&key_file, m["label_studio_secret_key"].as_str().unwrap()).unwrap();
    // A dry run into the empty database creates nothing there.
    let dry = import(
        home.path(),
        &data,
        Some(&target.url),
        &ls.url,
        &["--dry-run"],
    );
    assert_eq!(dry["users_imported"], json!(users(&m).len()), "{dry}");
    let tables = rt.block_on(async {
        use sea_orm::ConnectionTrait as _;
        let db = sea_orm::Database::connect(&target.url).await.unwrap();
        let rows = db
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
            ))
            .await
            .unwrap();
        rows.len()
    });
    assert_eq!(tables, 0, "the dry run wrote to the target");
    let server = empty_server(home.path(), &data, Some(&target.url));
    let report = import(
        home.path(),
        &data,
        Some(&target.url),
        &ls.url,
        &["--label-studio-secret-key-file", key_file.to_str().unwrap()],
    );
    assert_eq!(report["users_imported"], json!(users(&m).len()), "{report}");
    assert_eq!(report["personal_tokens_imported"], json!(1), "{report}");
    let again = import(home.path(), &data, Some(&target.url), &ls.url, &[]);
    assert_eq!(again["users_imported"], json!(0), "{again}");
    check_over_http(&server, home.path(), &data, Some(&target.url), &m);
    server.stop();
    rt.block_on(ls.drop_database());
    rt.block_on(target.drop_database());
}

/// Into a deployment that has its own people, ids are kept only with
/// nobody else there: refused, then `--merge` matches by email.
#[test]
fn a_target_with_other_people_needs_merge() {
    let home = tempfile::tempdir().unwrap();
    let (ls, data) = (home.path().join("label-studio"), home.path().join("data"));
    let source = sqlite_data_dir(&ls);
    let source = source.to_str().unwrap();
    admin_ok(
        home.path(),
        &data,
        &[
            "user",
            "create",
            "--email",
            "fbrqhn.0@labels.example.com",
            "--password-stdin",
        ],
        Some("our-own-password-1\n"),
    );
    let refused = admin(
        home.path(),
        &data,
        &["import", "label-studio", "--from", source],
        None,
    );
    assert_eq!(refused.code, Some(2), "{refused:?}");
    assert!(refused.stderr.contains("--merge"), "{}", refused.stderr);
    let report = import(home.path(), &data, None, source, &["--merge"]);
    let m = manifest("sqlite");
    assert_eq!(report["users_already_present"], json!(1), "{report}");
    assert_eq!(report["users_imported"], json!(users(&m).len() - 1));
    let again = import(home.path(), &data, None, source, &["--merge"]);
    assert_eq!(again["users_imported"], json!(0), "{again}");
    let server = empty_server(home.path(), &data, None);
    // Label Studio's invite link joined the organization here; after a
    // Reset Link, another --merge run does not bring it back.
    let invite = m["organization"]["invite_token"].as_str().unwrap();
    let signup = format!("/user/signup/?token={invite}");
    let join = |email: &str| {
        let mut b = Client::new(server.addr);
        b.get(&signup);
        b.form(
            &signup,
            &[("email", email), ("password", "joining-pass-12")],
        )
        .status
    };
    assert_eq!(join("first.joiner@example.com"), 302);
    admin_ok(home.path(), &data, &["invite", "reset"], None);
    assert_ne!(join("second.joiner@example.com"), 302);
    let third = import(home.path(), &data, None, source, &["--merge"]);
    assert_eq!(third["invite_link_carried"], json!(false), "{third}");
    assert_ne!(join("third.joiner@example.com"), 302);
    // The person already here keeps their own password.
    assert!(
        page_login(
            server.addr,
            "fbrqhn.0@labels.example.com",
            "our-own-password-1"
        )
        .is_ok()
    );
    let owner = &users(&m)[0];
    let me = page_login(
        server.addr,
        owner["email"].as_str().unwrap(),
        owner["password"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(me["email"], owner["stored_email"]);
    server.stop();
}

/// SIGKILL at random points of an import, then a run to the end: the same
/// rows as one clean import (same deployment secret, so the same digests).
#[test]
fn an_import_killed_at_any_point_then_rerun_equals_a_clean_one() {
    let home = tempfile::tempdir().unwrap();
    let ls = sqlite_data_dir(&home.path().join("label-studio"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(add_synthetic_people(
        &ls.join("label_studio.sqlite3"),
        30_000,
    ));
    let source = ls.to_str().unwrap();
    let secret = "0123456789abcdef".repeat(4);
    let run = |data: &Path| {
        let mut cmd = command("ls-admin", home.path());
        cmd.env("LS_SECRET_KEY", &secret)
            .arg("--data-dir")
            .arg(data)
            .args(["import", "label-studio", "--from", source, "--json"]);
        cmd
    };
    let (killed, clean) = (home.path().join("killed"), home.path().join("clean"));
    let mut kills = 0;
    let mut ended = Vec::new();
    for delay_ms in [150, 400, 700, 1000, 1300, 1700] {
        let mut child = run(&killed)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            kills += 1;
            let _ = child.kill();
        }
        let out = child.wait_with_output().unwrap();
        if out.status.success() || out.status.code().is_some() {
            // It ended by itself: say how, for the assertion below.
            ended.push(format!(
                "{delay_ms} ms: {:?} {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(
        kills >= 3,
        "the import ended before most kills ({kills}):\n{}",
        ended.join("\n")
    );
    let last = run(&killed).output().unwrap();
    assert!(
        last.status.success(),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );
    let clean_run = run(&clean).output().unwrap();
    assert!(clean_run.status.success());
    let report: Value = serde_json::from_slice(&clean_run.stdout).unwrap();
    assert_eq!(report["users_imported"], json!(30_010));
    // The organization's own invite salt is drawn at random per import.
    let rows = |data: &Path| -> Vec<String> {
        snapshot::of_data_dir(data)
            .into_iter()
            .filter(|l| !l.starts_with("organizations"))
            .collect()
    };
    let (a, b) = (rows(&killed), rows(&clean));
    assert_eq!(a.len(), b.len());
    assert!(
        a == b,
        "the killed-and-rerun import differs from a clean one"
    );
}

/// Label Studio compares emails with their case; here an email is one
/// account: the second of two that differ only in case is reported (and
/// again, unchanged, by a second run). And a personal access token revoked
/// in Label Studio stays dead.
#[test]
fn people_whose_emails_differ_only_in_case_are_reported() {
    let home = tempfile::tempdir().unwrap();
    let ls = sqlite_data_dir(&home.path().join("label-studio"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(add_synthetic_people(
        &ls.join("label_studio.sqlite3"),
        6_000,
    ));
    rt.block_on(async {
        use sea_orm::ConnectionTrait as _;
        let url = format!("sqlite://{}", ls.join("label_studio.sqlite3").display());
        let db = sea_orm::Database::connect(&url).await.unwrap();
        // The personal access token, revoked in Label Studio.
        db.execute_unprepared(
            "INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id) \
             VALUES ('2026-12-02 00:00:00', 1)",
        )
        .await
        .unwrap();
        for (id, email) in [
            (20_000, "Owner.NLTXH@fixture.test"),
            (20_001, "PERSON1001@synthetic.example.com"),
        ] {
            db.execute_unprepared(&format!(
                "INSERT INTO htx_user (id, password, is_superuser, username, email, first_name, \
                 last_name, is_staff, is_active, date_joined, last_activity, activity_at, phone, \
                 avatar) VALUES ({id}, '', 0, 'dup{id}', '{email}', '', '', 0, 1, \
                 '2026-12-01 00:00:00', '2026-12-01 00:00:00', '2026-12-01 00:00:00', '', '')"
            ))
            .await
            .unwrap();
        }
    });
    let data = home.path().join("data");
    // A dry run into a deployment that does not exist yet creates nothing.
    let dry = import(
        home.path(),
        &data,
        None,
        ls.to_str().unwrap(),
        &["--dry-run"],
    );
    assert_eq!(dry["users_imported"], json!(6_010), "{dry}");
    assert!(!data.exists(), "the dry run made {}", data.display());
    let report = import(home.path(), &data, None, ls.to_str().unwrap(), &[]);
    assert_eq!(report["users_imported"], json!(6_010), "{report}");
    let skipped: Vec<&str> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == json!("user"))
        .map(|s| s["source_id"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["20000", "20001"], "{report}");
    assert_eq!(report["personal_tokens_imported"], json!(1), "{report}");
    assert_eq!(report["personal_tokens_revoked"], json!(1), "{report}");
    let again = import(home.path(), &data, None, ls.to_str().unwrap(), &[]);
    assert_eq!(again["users_imported"], json!(0), "{again}");
    assert_eq!(again["users_already_present"], json!(6_010), "{again}");
    // Revoked in Label Studio: dead here too.
    let server = empty_server(home.path(), &data, None);
    let pat = manifest("sqlite")["personal_access_token"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = Client::new(server.addr).json("POST", "/api/token/refresh", &json!({"refresh": pat}));
    assert_eq!(r.status, 401, "{}", r.body);
    server.stop();
}
