//! Opening the database (SQLite or PostgreSQL), running the migrations, and
//! the [`app::Store`] implementation.

mod cache;
pub(crate) mod entities;
mod inspect;
mod store;

use std::path::{Path, PathBuf};
use std::time::Duration;

use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::sqlx::{ConnectOptions as _, Connection as _};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend, SqlxSqliteConnector};
use sea_orm_migration::MigratorTrait;

pub use inspect::{Inspection, inspect};
pub use store::SeaStore;

use crate::InfraError;
use crate::migrations::Migrator;

/// How long a writer waits for another process's lock (ls-admin while the
/// server runs) before giving up.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub use crate::data_dir::sqlite_path;

/// Open the configured database and bring the schema up to date.
pub async fn open_target(target: &crate::DatabaseTarget) -> Result<SeaStore, InfraError> {
    open_target_as(target, crate::Open::Create).await
}

/// [`open_target`]; with [`crate::Open::Existing`] a PostgreSQL database
/// without the schema is refused instead of migrated (SQLite's file is
/// checked before: see [`crate::deployment`]).
pub async fn open_target_as(
    target: &crate::DatabaseTarget,
    open: crate::Open,
) -> Result<SeaStore, InfraError> {
    open_target_with(target, open, DEFAULT_CONNECT_TIMEOUT).await
}

/// How long a PostgreSQL connection may take unless configured.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// [`open_target_as`], giving up on PostgreSQL after `connect_timeout`.
pub async fn open_target_with(
    target: &crate::DatabaseTarget,
    open: crate::Open,
    connect_timeout: Duration,
) -> Result<SeaStore, InfraError> {
    match target {
        crate::DatabaseTarget::Sqlite(path) => open_sqlite_migrated(path).await,
        crate::DatabaseTarget::Postgres(url) => {
            open_url(url.expose(), open != crate::Open::Existing, connect_timeout).await
        }
    }
}

/// Open `url` (`sqlite://PATH[?…]` or `postgres://…`) and bring the schema up to date.
pub async fn open(url: &str) -> Result<SeaStore, InfraError> {
    open_url(url, true, DEFAULT_CONNECT_TIMEOUT).await
}

/// `host:port/database` of a PostgreSQL URL, without the credentials.
fn pg_where(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    // The query first: it may carry a password (`?password=a@b`).
    let rest = rest.split('?').next().unwrap_or(rest);
    rest.rsplit_once('@').map_or(rest, |(_, r)| r).to_owned()
}

/// One connection first, within `timeout`, so that what goes wrong is said
/// plainly (the pool would only say that it timed out).
async fn probe_postgres(url: &str, timeout: Duration) -> Result<(), InfraError> {
    use sea_orm::sqlx::Connection as _;
    let at = pg_where(url);
    tracing::info!(at = %at, "connecting to PostgreSQL");
    let attempt = tokio::time::timeout(timeout, sea_orm::sqlx::PgConnection::connect(url)).await;
    let err = match attempt {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            return Ok(());
        }
        Ok(Err(e)) => e,
        Err(_) => {
            return Err(InfraError::Database(format!(
                "cannot reach PostgreSQL at {at} within {} s: check that it runs and accepts \
                 connections from here, and --database-url (database_connect_timeout_secs sets \
                 how long to try)",
                timeout.as_secs()
            )));
        }
    };
    let missing_db = err
        .as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| c == "3D000");
    if missing_db {
        let name = at.rsplit_once('/').map_or("", |(_, n)| n);
        return Err(InfraError::Database(format!(
            "the PostgreSQL database \"{name}\" does not exist at {at}: create it \
             (createdb {name}) or fix --database-url"
        )));
    }
    Err(InfraError::Database(format!(
        "cannot connect to PostgreSQL at {at}: {}",
        redact_sqlx(url, &err)
    )))
}

async fn open_url(
    url: &str,
    create: bool,
    connect_timeout: Duration,
) -> Result<SeaStore, InfraError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return open_sqlite_migrated(Path::new(path.split('?').next().unwrap_or(path))).await;
    }
    let db = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        probe_postgres(url, connect_timeout).await?;
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.sqlx_logging(false)
            .connect_timeout(connect_timeout)
            .acquire_timeout(connect_timeout.max(Duration::from_secs(5)))
            .max_connections(16)
            .min_connections(1);
        Database::connect(opts)
            .await
            .map_err(|e| InfraError::Database(redact(url, e)))?
    } else {
        return Err(InfraError::Config(crate::ConfigError::Invalid {
            key: "database_url".into(),
            message: "use a sqlite:// or postgres:// URL".into(),
        }));
    };
    if !create && !has_schema(&db).await? {
        return Err(InfraError::NoDeployment(
            "no deployment in this PostgreSQL database: it has no ls-users schema; check --database-url. Nothing was created; `ls-admin user create` or `ls-server start` makes a new deployment"
                .into(),
        ));
    }
    migrate(&db).await?;
    Ok(SeaStore::new(db))
}

/// Whether the migrations have run on this PostgreSQL database.
async fn has_schema(db: &DatabaseConnection) -> Result<bool, InfraError> {
    let found = scalar(
        db,
        "SELECT COUNT(*)::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_name = 'seaql_migrations'",
    )
    .await?;
    Ok(found != "0")
}

/// Open SQLite and migrate it while holding an exclusive lock on a file
/// beside the database, so that processes starting together (the server
/// and `ls-admin`, say) neither race the migrations nor meet SQLite's
/// "database is locked" while one of them switches a new file to WAL.
async fn open_sqlite_migrated(path: &Path) -> Result<SeaStore, InfraError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".migrate-lock");
    let lock = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?;
        f.lock()?;
        Ok(f)
    })
    .await
    .map_err(|e| InfraError::Database(e.to_string()))?
    .map_err(|e| {
        InfraError::Database(format!("cannot lock {} for opening: {e}", path.display()))
    })?;
    let db = open_sqlite(path).await?;
    let migrated = migrate(&db).await;
    drop(lock);
    migrated?;
    // Watch the WAL index SQLite really uses: beside the file it opened
    // (through any symlink), not beside the path we were given, where a
    // stale `-shm` would freeze the stamp and serve revoked keys.
    let opened = sqlite_main_file(&db).await?;
    Ok(SeaStore::new(db).with_commit_watch(opened.as_deref().unwrap_or(path)))
}

/// The main database file as SQLite reports it (`PRAGMA database_list`).
pub async fn sqlite_main_file(db: &DatabaseConnection) -> Result<Option<PathBuf>, InfraError> {
    use sea_orm::ConnectionTrait as _;
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "PRAGMA database_list".to_owned(),
        ))
        .await
        .map_err(|e| InfraError::Database(e.to_string()))?;
    for row in rows {
        let name: String = row.try_get("", "name").unwrap_or_default();
        let file: String = row.try_get("", "file").unwrap_or_default();
        if name == "main" && !file.is_empty() {
            return Ok(Some(PathBuf::from(file)));
        }
    }
    Ok(None)
}

/// The oldest SQLite we run on: earlier versions have the WAL-reset bug
/// that two processes writing one database (server and `ls-admin`) can hit.
pub const MIN_SQLITE: (u32, u32, u32) = (3, 51, 3);

fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let mut parts = v.trim().split('.').map(|p| p.parse::<u32>().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

/// Filesystems on which SQLite's WAL (shared memory between processes) is not safe.
const NETWORK_FILESYSTEMS: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "9p",
    "fuse.sshfs",
    "afs",
    "ceph",
    "glusterfs",
    "fuse.glusterfs",
    "lustre",
];

/// The type of the filesystem that holds `path` (Linux: from
/// /proc/self/mountinfo, the longest mount point that contains it).
pub fn filesystem_type(path: &Path) -> Option<String> {
    let dir = path.parent().unwrap_or(path);
    let dir = std::fs::canonicalize(dir).ok()?;
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let mount_point = left.split(' ').nth(4)?;
            let fs = right.split(' ').next()?;
            dir.starts_with(mount_point)
                .then(|| (mount_point.len(), fs.to_owned()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, fs)| fs)
}

/// SQLite at `path`, given as a file name (not parsed as a URL, so any
/// directory name works). WAL lets readers and one writer work at once
/// across processes; FULL makes every acknowledged commit survive a power cut.
async fn open_sqlite(path: &Path) -> Result<DatabaseConnection, InfraError> {
    if let Some(fs) = filesystem_type(path).filter(|fs| NETWORK_FILESYSTEMS.contains(&fs.as_str()))
    {
        return Err(InfraError::Database(format!(
            "{} is on a {fs} filesystem: SQLite's WAL needs a local one (use a local data directory, or PostgreSQL)",
            path.display()
        )));
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        // Statements carry digests and hashes: keep them out of the logs.
        .disable_statement_logging();
    // A new file's switch to WAL needs the exclusive lock, and the pool
    // opens its first connections at once (the one it hands out and the
    // one min_connections keeps): two connections that both hold a shared
    // lock and both want the exclusive one get "database is locked" at
    // once, not after the busy timeout (seen: 1 start in 60 on an empty
    // data directory). One connection makes the switch alone first.
    let first = options
        .connect()
        .await
        .map_err(|e| InfraError::Database(format!("{}: {e}", path.display())))?;
    first
        .close()
        .await
        .map_err(|e| InfraError::Database(format!("{}: {e}", path.display())))?;
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .min_connections(1)
        // A local file does not go stale: pinging the connection's worker
        // thread before every query only adds a thread hand-off.
        .test_before_acquire(false)
        // Connections stay open for the process's life: while one is open,
        // no other process can be the last to close the database, which
        // deletes the WAL index the token cache watches (`commits`).
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options)
        .await
        .map_err(|e| InfraError::Database(format!("{}: {e}", path.display())))?;
    let db = SqlxSqliteConnector::from_sqlx_sqlite_pool(pool);
    let version = sqlite_version(&db).await?;
    match parse_version(&version) {
        Some(v) if v >= MIN_SQLITE => Ok(db),
        _ => Err(InfraError::Database(format!(
            "SQLite {version} is too old: ls-users needs {}.{}.{} or later",
            MIN_SQLITE.0, MIN_SQLITE.1, MIN_SQLITE.2
        ))),
    }
}

/// The linked SQLite's version.
pub async fn sqlite_version(db: &DatabaseConnection) -> Result<String, InfraError> {
    scalar(db, "SELECT sqlite_version()").await
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> Result<String, InfraError> {
    use sea_orm::ConnectionTrait as _;
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .map_err(|e| InfraError::Database(e.to_string()))?
        .ok_or_else(|| InfraError::Database(format!("{sql}: no row")))?;
    row.try_get_by_index::<String>(0)
        .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
        .map_err(|e| InfraError::Database(e.to_string()))
}

/// What `ls-admin doctor` prints: the settings that keep the data safe, as
/// the database reports them.
pub async fn diagnostics(
    store: &SeaStore,
    sqlite_path: Option<&Path>,
) -> Result<Vec<(&'static str, String)>, InfraError> {
    let db = store.connection();
    let mut out = vec![("backend", backend_name(db).to_owned())];
    if db.get_database_backend() == DbBackend::Sqlite {
        out.push(("sqlite_version", sqlite_version(db).await?));
        out.push((
            "sqlite_minimum",
            format!("{}.{}.{}", MIN_SQLITE.0, MIN_SQLITE.1, MIN_SQLITE.2),
        ));
        if let Some(path) = sqlite_path {
            out.push((
                "filesystem",
                filesystem_type(path).unwrap_or_else(|| "unknown".into()),
            ));
        }
        for pragma in [
            "journal_mode",
            "synchronous",
            "foreign_keys",
            "busy_timeout",
        ] {
            let value = scalar(db, &format!("PRAGMA {pragma}")).await?;
            let shown = match (pragma, value.as_str()) {
                ("synchronous", "2") => "2 (FULL)".to_owned(),
                ("busy_timeout", ms) => format!("{ms} ms"),
                _ => value,
            };
            out.push((pragma, shown));
        }
    } else {
        out.push(("server_version", scalar(db, "SHOW server_version").await?));
    }
    let applied = Migrator::get_applied_migrations(db)
        .await
        .map_err(|e| InfraError::Migration(e.to_string()))?;
    out.push((
        "migrations",
        applied
            .iter()
            .map(|m| m.name().to_owned())
            .collect::<Vec<_>>()
            .join(", "),
    ));
    Ok(out)
}

/// Apply every pending migration, once even when several instances start
/// at the same moment (PostgreSQL: an advisory lock; SQLite: the caller
/// holds the open lock). A database migrated by a newer ls-users is refused
/// with a message that says so.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), InfraError> {
    use sea_orm::{ConnectionTrait as _, TransactionTrait as _};
    let fail = |e: sea_orm::DbErr| {
        let text = e.to_string();
        if text.contains("is missing") {
            InfraError::Migration(format!(
                "the database's schema is newer than this ls-users knows ({text}): run the newer ls-users, or restore a backup"
            ))
        } else {
            InfraError::Migration(text)
        }
    };
    match db.get_database_backend() {
        DbBackend::Postgres => {
            // Held until this transaction ends; the migrations run on other pool connections.
            let guard = db.begin().await.map_err(fail)?;
            guard
                .execute_unprepared("SELECT pg_advisory_xact_lock(7423001)")
                .await
                .map_err(fail)?;
            let result = Migrator::up(db, None).await.map_err(fail);
            guard.commit().await.map_err(fail)?;
            result
        }
        _ => Migrator::up(db, None).await.map_err(fail),
    }
}

/// A connection error, without the URL's password.
fn redact(url: &str, err: sea_orm::DbErr) -> String {
    redact_text(url, err.to_string())
}

/// [`redact`], for sqlx's errors.
fn redact_sqlx(url: &str, err: &sea_orm::sqlx::Error) -> String {
    redact_text(url, err.to_string())
}

/// The error text without the URL's password.
fn redact_text(url: &str, text: String) -> String {
    match url
        .split_once("://")
        .map(|(_, rest)| rest.split('?').next().unwrap_or(rest))
        .and_then(|rest| rest.rsplit_once('@'))
    {
        Some((userinfo, _)) if userinfo.contains(':') => {
            let password = userinfo.split_once(':').map_or("", |(_, p)| p);
            if password.is_empty() {
                text
            } else {
                text.replace(password, "***")
            }
        }
        _ => text,
    }
}

/// Which database a connection talks to.
pub fn backend_name(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        DbBackend::Sqlite => "sqlite",
        DbBackend::Postgres => "postgres",
        _ => "other",
    }
}

/// The pool's connections now: `(open, idle)`, for metrics.
pub fn pool_usage(db: &DatabaseConnection) -> (u32, usize) {
    match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => {
            let p = db.get_sqlite_connection_pool();
            (p.size(), p.num_idle())
        }
        sea_orm::DbBackend::Postgres => {
            let p = db.get_postgres_connection_pool();
            (p.size(), p.num_idle())
        }
        _ => (0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_their_passwords() {
        assert_eq!(pg_where("postgres://u:p@db:5432/ls"), "db:5432/ls");
        assert_eq!(pg_where("postgres://u:p@ss@db/ls?sslmode=require"), "db/ls");
        assert_eq!(pg_where("postgres:///ls?host=/run/pg&password=a@b"), "/ls");
        let text = redact_text("postgres://u:p@ss@db/ls", "auth for p@ss failed".into());
        assert_eq!(text, "auth for *** failed");
    }

    #[test]
    fn the_temporary_directory_is_on_a_local_filesystem() {
        let dir = tempfile::tempdir().unwrap();
        let fs = filesystem_type(&dir.path().join("x.sqlite3"));
        if std::path::Path::new("/proc/self/mountinfo").exists() {
            let fs = fs.unwrap();
            assert!(!NETWORK_FILESYSTEMS.contains(&fs.as_str()), "{fs}");
        }
    }

    #[test]
    fn versions_compare() {
        assert!(parse_version("3.51.3").unwrap() >= MIN_SQLITE);
        assert!(parse_version("3.52").unwrap() >= MIN_SQLITE);
        assert!(parse_version("3.45.1").unwrap() < MIN_SQLITE);
        assert!(parse_version("x").is_none());
    }
}
