//! `ls-admin backup` / `ls-admin restore` (SQLite) and the `pg_dump` /
//! `pg_restore` procedure the README gives for PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ls_integration::http::Client;
use ls_integration::process::{
    Server, admin, admin_ok, command, owner_server, owner_server_on, without_throttling,
};
use sea_orm::ConnectionTrait as _;
use serde_json::json;

fn server(home: &Path, data: &Path) -> Server {
    let mut cmd = owner_server(home, data);
    without_throttling(&mut cmd);
    Server::start(cmd).unwrap()
}

fn emails(addr: std::net::SocketAddr) -> BTreeSet<String> {
    let resp = Client::with_token(addr, "owner-token-1").get("/api/users");
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

/// Writers create people through the API the whole time; the backup is
/// taken in the middle. Restored into a fresh directory, every creation
/// acknowledged before the backup began is there, and the owner's token
/// works (the deployment secret came along).
#[test]
fn a_backup_taken_under_load_restores_every_acknowledged_write() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let live = server(home.path(), &data);
    let addr = live.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (stop, acked) = (Arc::clone(&stop), Arc::clone(&acked));
            thread::spawn(move || {
                let mut client = Client::with_token(addr, "owner-token-1");
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let email = format!("w{w}-{n}@example.com");
                    let resp = client.json(
                        "POST",
                        "/api/users",
                        &json!({"username": format!("w{w}-{n}"), "email": email}),
                    );
                    assert_eq!(resp.status, 201, "{}", resp.body);
                    acked.lock().unwrap().push((email, Instant::now()));
                    n += 1;
                }
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(1500));
    let file = home.path().join("backups/one.lsbackup");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let began = Instant::now();
    let out = admin_ok(
        home.path(),
        &data,
        &["backup", "--to", file.to_str().unwrap()],
        None,
    );
    let ended = Instant::now();
    assert!(out.contains("the deployment secret is in it"), "{out}");
    thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let before: Vec<&String> = acked
        .iter()
        .filter(|(_, at)| *at < began)
        .map(|(e, _)| e)
        .collect();
    let after = acked.iter().filter(|(_, at)| *at > ended).count();
    assert!(
        before.len() >= 10,
        "only {} writes before the backup",
        before.len()
    );
    assert!(after > 0, "no write after the backup");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the backup holds the secret: private");
    }

    // Refused while the server runs on the directory; nothing changed.
    let out = admin(
        home.path(),
        &data,
        &["restore", "--from", file.to_str().unwrap()],
        None,
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("is using"), "{}", out.stderr);
    let live_emails = emails(addr);
    assert_eq!(
        live_emails.len(),
        acked.len() + 1,
        "the live data is untouched"
    );

    // Into a fresh directory.
    let fresh = home.path().join("fresh");
    let out = admin_ok(
        home.path(),
        &fresh,
        &["restore", "--from", file.to_str().unwrap()],
        None,
    );
    assert!(out.contains("secret_key"), "{out}");
    let restored = server(home.path(), &fresh);
    let got = emails(restored.addr);
    for email in &before {
        assert!(
            got.contains(*email),
            "{email} was acknowledged before the backup and is missing"
        );
    }
    assert!(
        got.len() < live_emails.len(),
        "the writes after the backup are not in it"
    );
    assert!(got.is_subset(&live_emails));
    restored.stop();

    // Over the original once its server stopped: the old database is kept aside.
    live.stop();
    let out = admin_ok(
        home.path(),
        &data,
        &["restore", "--from", file.to_str().unwrap()],
        None,
    );
    assert!(out.contains("before-restore"), "{out}");
    let aside = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| {
            n.starts_with("ls-users.sqlite3.before-restore-")
                && !n.ends_with("-wal")
                && !n.ends_with("-shm")
        })
        .unwrap();
    let again = server(home.path(), &data);
    assert_eq!(emails(again.addr), got);
    again.stop();
    // The set-aside database still holds everything that was acknowledged.
    let moved = home.path().join("moved");
    std::fs::create_dir_all(&moved).unwrap();
    std::fs::rename(data.join(&aside), moved.join("ls-users.sqlite3")).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::rename(
            data.join(format!("{aside}{suffix}")),
            moved.join(format!("ls-users.sqlite3{suffix}")),
        );
    }
    std::fs::copy(data.join("secret_key"), moved.join("secret_key")).unwrap();
    let old = server(home.path(), &moved);
    assert_eq!(emails(old.addr), live_emails);
    old.stop();
}

fn sqlite(path: &Path) -> (tokio::runtime::Runtime, sea_orm::DatabaseConnection) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = rt
        .block_on(sea_orm::Database::connect(format!(
            "sqlite://{}?mode=rw",
            path.display()
        )))
        .unwrap();
    (rt, db)
}

#[test]
fn restores_that_cannot_be_right_are_refused_and_change_nothing() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let live = server(home.path(), &data);
    live.stop();
    let file = home.path().join("b1");
    let f = file.to_str().unwrap();
    admin_ok(home.path(), &data, &["backup", "--to", f], None);
    // A backup never overwrites a file.
    let out = admin(home.path(), &data, &["backup", "--to", f], None);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("exists already"), "{}", out.stderr);

    let snapshot = ls_integration::snapshot::of_data_dir(&data);
    let refused = |from: &Path, dir: &Path, says: &str| {
        let out = admin(
            home.path(),
            dir,
            &["restore", "--from", from.to_str().unwrap()],
            None,
        );
        assert_eq!(out.code, Some(2), "{out:?}");
        assert!(out.stderr.contains(says), "wanted {says:?}: {}", out.stderr);
        assert!(out.stderr.contains("nothing was changed"), "{}", out.stderr);
    };
    // Not a backup at all.
    let junk = home.path().join("junk");
    std::fs::write(&junk, b"not a database at all, just bytes".repeat(100)).unwrap();
    refused(&junk, &data, "not an ls-users backup");
    // From a newer ls-users.
    let newer = home.path().join("newer");
    std::fs::copy(&file, &newer).unwrap();
    {
        let (rt, db) = sqlite(&newer);
        rt.block_on(db.execute_unprepared(
            "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20991231_000001_future', 0)",
        ))
        .unwrap();
    }
    refused(&newer, &data, "newer ls-users");
    // Another deployment's backup over this one (another secret).
    let other_home = tempfile::tempdir().unwrap();
    let other_data = other_home.path().join("data");
    server(other_home.path(), &other_data).stop();
    let other = home.path().join("other");
    admin_ok(
        other_home.path(),
        &other_data,
        &["backup", "--to", other.to_str().unwrap()],
        None,
    );
    refused(&other, &data, "another secret");
    // Without its secret, into an empty directory with none configured.
    let bare = home.path().join("bare");
    admin_ok(
        home.path(),
        &data,
        &["backup", "--to", bare.to_str().unwrap(), "--without-secret"],
        None,
    );
    let empty = home.path().join("empty");
    refused(&bare, &empty, "holds no deployment secret");
    assert_eq!(ls_integration::snapshot::of_data_dir(&data), snapshot);
    // ...and accepted when the secret is given.
    let key = std::fs::read_to_string(data.join("secret_key")).unwrap();
    let mut cmd = command("ls-admin", home.path());
    cmd.env("LS_SECRET_KEY", key.trim())
        .arg("--data-dir")
        .arg(&empty)
        .args(["restore", "--from", bare.to_str().unwrap()]);
    let out = ls_integration::process::run(cmd, None);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(ls_integration::snapshot::of_data_dir(&empty), snapshot);
}

const SECRET: &str = "5e1f2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn pg_server(home: &Path, url: &str) -> Server {
    let mut cmd = owner_server_on(home, url, SECRET);
    without_throttling(&mut cmd);
    Server::start(cmd).unwrap()
}

/// The README's PostgreSQL procedure, as written there: `pg_dump -Fc`,
/// then `pg_restore --no-owner` into an empty database.
#[test]
fn postgres_backs_up_with_pg_dump_and_restores_with_pg_restore() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let source = rt.block_on(ls_integration::pg::PgDatabase::create("dump_src"));
    let target = rt.block_on(ls_integration::pg::PgDatabase::create("dump_dst"));
    let home = tempfile::tempdir().unwrap();
    let live = pg_server(home.path(), &source.url);
    let mut client = Client::with_token(live.addr, "owner-token-1");
    for i in 0..25 {
        let resp = client.json(
            "POST",
            "/api/users",
            &json!({"username": format!("p{i}"), "email": format!("p{i}@example.com")}),
        );
        assert_eq!(resp.status, 201);
    }
    let want = emails(live.addr);

    // ls-admin backup says what to use instead.
    let mut cmd = command("ls-admin", home.path());
    cmd.env("LS_SECRET_KEY", SECRET)
        .arg("--database-url")
        .arg(&source.url)
        .args(["backup", "--to", home.path().join("x").to_str().unwrap()]);
    let out = ls_integration::process::run(cmd, None);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("pg_dump"), "{}", out.stderr);

    // Taken while the server serves.
    let dump = home.path().join("ls-users.dump");
    let status = std::process::Command::new("pg_dump")
        .args(["--format=custom", "--file"])
        .arg(&dump)
        .arg(&source.url)
        .status()
        .unwrap();
    assert!(status.success());
    live.stop();
    let status = std::process::Command::new("pg_restore")
        .args(["--no-owner", "--exit-on-error", "--dbname"])
        .arg(&target.url)
        .arg(&dump)
        .status()
        .unwrap();
    assert!(status.success());
    let restored = pg_server(home.path(), &target.url);
    assert_eq!(emails(restored.addr), want);
    restored.stop();
    rt.block_on(source.drop_database());
    rt.block_on(target.drop_database());
}

/// While a restore holds the directory, a server does not start on it and
/// `ls-admin` does not open it (they never wait: they say so).
#[test]
fn nothing_opens_the_database_while_a_restore_holds_the_directory() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    server(home.path(), &data).stop();
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(data.join("ls-server.lock"))
        .unwrap();
    lock.lock().unwrap(); // what `ls-admin restore` takes
    let out = ls_integration::process::run_limited(
        owner_server(home.path(), &data),
        std::time::Duration::from_secs(30),
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("restore is bringing a backup"),
        "{}",
        out.stderr
    );
    let out = admin(home.path(), &data, &["user", "list"], None);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("restore is bringing a backup"),
        "{}",
        out.stderr
    );
    lock.unlock().unwrap();
    admin_ok(home.path(), &data, &["user", "list"], None);

    // A directory without a deployment gets no lock file from ls-admin
    // (nor anything else): a mistyped --data-dir stays as it was.
    let other = home.path().join("not-a-deployment");
    std::fs::create_dir(&other).unwrap();
    let out = admin(home.path(), &other, &["user", "list"], None);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert_eq!(std::fs::read_dir(&other).unwrap().count(), 0);
}
