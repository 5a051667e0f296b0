//! Migrations, the deployment secret, and how SQLite files are opened.

use super::*;

pub(super) async fn migrations_are_rerunnable(db: Db) {
    let svc = services(&db, Mode::Open).await;
    svc.sign_up(signup("keep@example.com", "keep-password-1", None))
        .await
        .unwrap();
    drop(svc);
    // Opening again applies nothing new and keeps the data.
    let svc = services(&db, Mode::Open).await;
    assert!(svc.find_user("keep@example.com").await.is_ok());
    db.drop_pg().await;
}

pub(super) async fn concurrent_first_opens_migrate_once(db: Db) {
    // Several processes (or instances) starting at once on an empty database.
    let target = match &db.pg_name {
        Some(_) => None,
        None => Some(std::path::PathBuf::from(
            db.url.trim_start_matches("sqlite://"),
        )),
    };
    let opens = (0..4).map(|_| {
        let (url, target) = (db.url.clone(), target.clone());
        tokio::spawn(async move {
            match target {
                Some(path) => infra::db::open_target(&infra::DatabaseTarget::Sqlite(path)).await,
                None => infra::db::open(&url).await,
            }
        })
    });
    for o in opens.collect::<Vec<_>>() {
        o.await.unwrap().unwrap();
    }
    let svc = services(&db, Mode::Open).await;
    svc.sign_up(signup("once@example.com", "once-password-1", None))
        .await
        .unwrap();
    db.drop_pg().await;
}

pub(super) async fn a_newer_schema_is_refused(db: Db) {
    let svc = services(&db, Mode::Open).await;
    let conn = svc.store().connection();
    conn.execute_unprepared(
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m2099_0101_000001_future', 0)",
    )
    .await
    .unwrap();
    drop(svc);
    let err = infra::db::open(&db.url).await.unwrap_err().to_string();
    assert!(err.contains("newer than this ls-users"), "{err}");
    db.drop_pg().await;
}

/// Another deployment secret on the same database is refused, with a message
/// that names the setting; the right one is let in.
#[tokio::test]
async fn another_deployment_secret_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let settings = |key: &str| {
        let common = infra::CommonArgs {
            data_dir: Some(dir.path().to_owned()),
            ..Default::default()
        };
        let mut s = infra::config::load_common(&common).unwrap();
        s.secret_key = Some(SecretString::new(key));
        s
    };
    let a = "a".repeat(64);
    infra::services(&settings(&a)).await.unwrap();
    let err = infra::services(&settings(&"b".repeat(64)))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("LS_SECRET_KEY"), "{err}");
    infra::services(&settings(&a)).await.unwrap();
}

/// A new SQLite file opens every time: the pool opens its first connections
/// together, and two of them switching a new file to WAL at once made one
/// fail with "database is locked" (about one start in sixty).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_sqlite_files_open_every_time() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..100 {
        let path = dir.path().join(format!("fresh-{i}.sqlite3"));
        let store = infra::db::open_target(&infra::DatabaseTarget::Sqlite(path))
            .await
            .unwrap_or_else(|e| panic!("open {i}: {e}"));
        store.connection().clone().close().await.unwrap();
    }
}

/// The SQLite settings that let `ls-admin` write while the server runs, and
/// keep every acknowledged commit.
#[tokio::test]
async fn sqlite_is_opened_in_wal_with_full_sync_foreign_keys_and_busy_timeout() {
    let db = Db::sqlite();
    let svc = services(&db, Mode::Open).await;
    let conn = svc.store().connection();
    let pragma = |name: &'static str| async move {
        let row = conn
            .query_one_raw(Statement::from_string(
                conn.get_database_backend(),
                format!("PRAGMA {name}"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<String>(0)
            .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
            .unwrap()
    };
    assert_eq!(pragma("journal_mode").await, "wal");
    assert_eq!(pragma("synchronous").await, "2", "FULL");
    assert_eq!(pragma("foreign_keys").await, "1");
    let timeout: i64 = pragma("busy_timeout").await.parse().unwrap();
    assert!(timeout >= 5000, "{timeout}");
}

/// A data directory may have any name: the SQLite path is never parsed as a URL.
#[tokio::test]
async fn sqlite_paths_with_url_characters_open_where_they_say() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join("my data?mode=ro#1")
        .join("ls-users.sqlite3");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let store = infra::db::open_target(&infra::DatabaseTarget::Sqlite(path.clone()))
        .await
        .unwrap();
    assert_eq!(store.user_count().await.unwrap(), 0);
    assert!(path.exists(), "{}", path.display());
}

/// The pool settings the token cache's safety rests on (ARCHITECTURE.md):
/// at least one connection open for the process's life, so no other process
/// can be the last to close the database and delete the WAL index the
/// cache watches. Another process opening and closing leaves it in place.
#[tokio::test]
async fn the_pool_keeps_the_wal_index_alive() {
    let db = Db::sqlite();
    let a = infra::db::open(&db.url).await.unwrap();
    let options = a.connection().get_sqlite_connection_pool().options();
    assert!(options.get_min_connections() >= 1);
    assert_eq!(options.get_idle_timeout(), None);
    assert_eq!(options.get_max_lifetime(), None);
    let shm = a.watched_wal_index().unwrap().to_owned();
    assert!(shm.exists(), "{}", shm.display());
    let b = infra::db::open(&db.url).await.unwrap();
    assert_eq!(b.user_count().await.unwrap(), 0);
    b.connection().clone().close().await.unwrap();
    assert!(
        shm.exists(),
        "another process's close deleted the WAL index"
    );
    assert_eq!(a.user_count().await.unwrap(), 0);
}

/// Through a symlinked database file, SQLite keeps its WAL index beside
/// the target: that is the one watched, whatever lies beside the link, and
/// a token reset made through the target's path is seen at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlinked_database_is_watched_where_sqlite_keeps_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let (real, link) = (dir.path().join("real"), dir.path().join("link"));
    std::fs::create_dir_all(&real).unwrap();
    std::fs::create_dir_all(&link).unwrap();
    let target = real.join("ls.sqlite3");
    let through = link.join("ls.sqlite3");
    // The database exists first, then the link to it.
    drop(
        infra::db::open(&format!("sqlite://{}", target.display()))
            .await
            .unwrap(),
    );
    std::os::unix::fs::symlink(&target, &through).unwrap();
    let linked = Db {
        url: format!("sqlite://{}", through.display()),
        _dir: None,
        pg_name: None,
    };
    let direct = Db {
        url: format!("sqlite://{}", target.display()),
        _dir: None,
        pg_name: None,
    };
    let svc = services(&linked, Mode::Open).await;
    let watched = svc.store().watched_wal_index().unwrap().to_owned();
    assert_eq!(
        std::fs::canonicalize(&watched).unwrap(),
        std::fs::canonicalize(real.join("ls.sqlite3-shm")).unwrap()
    );
    let (a, token) = svc
        .sign_up(signup("t@example.com", "token-password-1", None))
        .await
        .unwrap();
    // A stale index beside the link: a copy of the real one, frozen (a
    // valid header that no commit will ever change).
    std::fs::copy(real.join("ls.sqlite3-shm"), link.join("ls.sqlite3-shm")).unwrap();
    for _ in 0..3 {
        assert_eq!(
            svc.authenticate_token(token.expose())
                .await
                .unwrap()
                .unwrap()
                .id,
            a.user.id
        );
    }
    // Another process, through the real path, resets the token.
    let other = services(&direct, Mode::Open).await;
    other.reset_token(a.user.id).await.unwrap();
    assert!(
        svc.authenticate_token(token.expose())
            .await
            .unwrap()
            .is_none(),
        "a revoked key was served from memory"
    );
}
