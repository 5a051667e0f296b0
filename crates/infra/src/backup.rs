//! `ls-admin backup` and `ls-admin restore` for the embedded SQLite
//! database. A backup is one SQLite file: a consistent copy of the live
//! database (`VACUUM INTO`, a read transaction, so the server goes on
//! serving), plus a small `ls_users_backup` table with its format, when it
//! was made, its schema and, unless left out, the deployment secret
//! without which its tokens, sessions and invite links mean nothing.
//! PostgreSQL deployments use `pg_dump` / `pg_restore` (README).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sea_orm::sqlx::{ConnectOptions as _, Connection as _, Row as _};
use sea_orm_migration::MigratorTrait as _;

use crate::{DatabaseTarget, InfraError, Settings, secret};

/// The table a backup carries its facts in (removed on restore).
const META: &str = "ls_users_backup";
const FORMAT: &str = "1";

/// What a backup wrote.
#[derive(Debug)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub users: i64,
    /// The newest migration in the copy.
    pub schema: String,
    /// Whether the deployment secret went in (not when it comes from
    /// `LS_SECRET_KEY`, nor when left out on purpose).
    pub secret_included: bool,
}

/// What a restore did.
#[derive(Debug)]
pub struct RestoreReport {
    pub database: PathBuf,
    pub users: i64,
    pub schema: String,
    pub made_at: Option<String>,
    /// Where the database that was there went (with its `-wal`), if any.
    pub previous: Option<PathBuf>,
    /// Whether the backup's secret became the data directory's `secret_key`.
    pub secret_written: bool,
}

fn sqlite_only(settings: &Settings) -> Result<&Path, InfraError> {
    match &settings.database {
        DatabaseTarget::Sqlite(path) => Ok(path),
        DatabaseTarget::Postgres(_) => Err(InfraError::Backup(
            "the database is PostgreSQL: back it up with pg_dump and bring it back with \
             pg_restore (README, \"Backups\"); ls-admin backup and restore are for the embedded \
             SQLite database"
                .into(),
        )),
    }
}

fn fail(path: &Path) -> impl Fn(sea_orm::sqlx::Error) -> InfraError + '_ {
    move |e| InfraError::Backup(format!("{}: {e}", path.display()))
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> InfraError + '_ {
    move |source| InfraError::Io {
        path: path.to_owned(),
        source,
    }
}

async fn connect(path: &Path, read_only: bool) -> Result<SqliteConnection, InfraError> {
    SqliteConnectOptions::new()
        .filename(path)
        .read_only(read_only)
        .busy_timeout(crate::db::SQLITE_BUSY_TIMEOUT)
        .disable_statement_logging()
        .connect()
        .await
        .map_err(fail(path))
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

fn sync_dir(dir: &Path) {
    // Makes the rename durable; not every filesystem allows it.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// The shared lock of the data directory that holds `settings`' SQLite
/// database, taken before the database is opened by a server or an
/// `ls-admin` command; `None` on PostgreSQL. With `create` false, nothing
/// is written where there is no database yet (a mistyped `--data-dir`
/// stays untouched): `None` then too. Refused while a restore runs.
pub fn hold_data_dir(
    settings: &Settings,
    create: bool,
) -> Result<Option<crate::data_dir::ServerLock>, InfraError> {
    let DatabaseTarget::Sqlite(db) = &settings.database else {
        return Ok(None);
    };
    let dir = db.parent().unwrap_or(&settings.data_dir);
    if create {
        crate::data_dir::ensure(dir)?;
    } else if !crate::deployment::sqlite_database_present(db) {
        return Ok(None);
    }
    crate::data_dir::share(dir)
}

/// A consistent copy of the live database into the new file `to`, made
/// while the server serves. `include_secret` puts the data directory's
/// deployment secret in it too. Never overwrites a file.
pub async fn backup(
    settings: &Settings,
    to: &Path,
    include_secret: bool,
) -> Result<BackupReport, InfraError> {
    let db = sqlite_only(settings)?;
    let _shared = hold_data_dir(settings, false)?;
    if !crate::deployment::sqlite_database_present(db) {
        return Err(crate::deployment::no_deployment(db, &settings.data_dir));
    }
    if to.exists() {
        return Err(InfraError::Backup(format!(
            "{} exists already: name a new file (a backup never overwrites one)",
            to.display()
        )));
    }
    let parent = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(InfraError::Backup(format!(
            "{} is not a directory: create it first",
            parent.display()
        )));
    }
    let name = to
        .file_name()
        .ok_or_else(|| InfraError::Backup(format!("{} names no file", to.display())))?;
    let tmp = parent.join(format!(
        ".{}.partial-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let key = if include_secret && settings.secret_key.is_none() {
        secret::load(None, &settings.data_dir)?
    } else {
        None
    };
    // Empty and private from the start: VACUUM INTO fills an empty file.
    create_private(&tmp).map_err(io(&tmp))?;
    let made = copy_into(db, &tmp, key).await;
    let (users, schema) = match made {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    // Linked into place: a file that appeared meanwhile is not replaced.
    // Where the filesystem has no hard links, renamed (checked just before).
    let linked = match std::fs::hard_link(&tmp, to) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists && !to.exists() => {
            std::fs::rename(&tmp, to)
        }
        other => other,
    };
    let _ = std::fs::remove_file(&tmp);
    linked.map_err(io(to))?;
    sync_dir(parent);
    let bytes = std::fs::metadata(to).map_err(io(to))?.len();
    Ok(BackupReport {
        path: to.to_owned(),
        bytes,
        users,
        schema,
        secret_included: key.is_some(),
    })
}

/// `src` copied into the empty file `tmp` by SQLite (`VACUUM INTO`: one
/// read transaction, WAL included, so the copy is the database as of one
/// commit); a connection to the copy.
async fn vacuum_into(
    src: &Path,
    read_only: bool,
    tmp: &Path,
) -> Result<SqliteConnection, InfraError> {
    let tmp_str = tmp
        .to_str()
        .ok_or_else(|| InfraError::Backup(format!("{}: the path is not UTF-8", tmp.display())))?;
    let mut from = connect(src, read_only).await?;
    sea_orm::sqlx::query("VACUUM INTO ?1")
        .bind(tmp_str)
        .execute(&mut from)
        .await
        .map_err(fail(src))?;
    let _ = from.close().await;
    connect(tmp, false).await
}

/// The first column of `sql`'s one row.
async fn scalar<T>(
    conn: &mut SqliteConnection,
    path: &Path,
    sql: &'static str,
) -> Result<T, InfraError>
where
    T: for<'r> sea_orm::sqlx::Decode<'r, sea_orm::sqlx::Sqlite>
        + sea_orm::sqlx::Type<sea_orm::sqlx::Sqlite>,
{
    sea_orm::sqlx::query(sql)
        .fetch_one(conn)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(fail(path))
}

/// The first column of every row of `sql`, as text.
async fn strings(
    conn: &mut SqliteConnection,
    path: &Path,
    sql: &'static str,
) -> Result<Vec<String>, InfraError> {
    Ok(sea_orm::sqlx::query(sql)
        .fetch_all(conn)
        .await
        .map_err(fail(path))?
        .iter()
        .filter_map(|r| r.try_get(0).ok())
        .collect())
}

async fn copy_into(
    db: &Path,
    tmp: &Path,
    key: Option<[u8; 32]>,
) -> Result<(i64, String), InfraError> {
    let mut out = vacuum_into(db, false, tmp).await?;
    let f = fail(tmp);
    // One file, no -wal beside it.
    sea_orm::sqlx::query("PRAGMA journal_mode = DELETE")
        .execute(&mut out)
        .await
        .map_err(&f)?;
    let schema: String = scalar(&mut out, tmp, "SELECT max(version) FROM seaql_migrations").await?;
    let users: i64 = scalar(&mut out, tmp, "SELECT count(*) FROM users").await?;
    sea_orm::sqlx::query(sea_orm::sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {META} (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)"
    )))
    .execute(&mut out)
    .await
    .map_err(&f)?;
    let mut facts = vec![
        ("format", FORMAT.to_owned()),
        ("made_at", app::time::iso8601(now_micros())),
        ("schema", schema.clone()),
        ("ls_users_version", env!("CARGO_PKG_VERSION").to_owned()),
    ];
    if let Some(key) = key {
        facts.push(("secret_key", hex::encode(key)));
    }
    for (k, v) in facts {
        sea_orm::sqlx::query(sea_orm::sqlx::AssertSqlSafe(format!(
            "INSERT INTO {META} (key, value) VALUES (?1, ?2)"
        )))
        .bind(k)
        .bind(v)
        .execute(&mut out)
        .await
        .map_err(&f)?;
    }
    let _ = out.close().await;
    std::fs::File::open(tmp)
        .and_then(|file| file.sync_all())
        .map_err(io(tmp))?;
    Ok((users, schema))
}

/// What a backup file says of itself, checked before anything is changed.
#[derive(Debug)]
struct Examined {
    users: i64,
    schema: String,
    facts: BTreeMap<String, String>,
    key_check: Option<String>,
}

async fn examine(from: &Path) -> Result<Examined, InfraError> {
    let not_ours = || {
        InfraError::Backup(format!(
            "{} is not an ls-users backup (no ls-users tables in it); nothing was changed",
            from.display()
        ))
    };
    let mut src = connect(from, true).await.map_err(|_| not_ours())?;
    let f = fail(from);
    let check: String = scalar(&mut src, from, "PRAGMA quick_check")
        .await
        .map_err(|_| not_ours())?;
    if check != "ok" {
        return Err(InfraError::Backup(format!(
            "{} is damaged ({check}); nothing was changed",
            from.display()
        )));
    }
    let tables = strings(
        &mut src,
        from,
        "SELECT name FROM sqlite_schema WHERE type = 'table'",
    )
    .await?;
    let has = |t: &str| tables.iter().any(|n| n == t);
    if !(has("seaql_migrations") && has("users") && has("deployment")) {
        return Err(not_ours());
    }
    let versions = strings(&mut src, from, "SELECT version FROM seaql_migrations").await?;
    let known: Vec<String> = crate::migrations::Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    if let Some(unknown) = versions.iter().find(|v| !known.contains(v)) {
        return Err(InfraError::Backup(format!(
            "{} was made by a newer ls-users (its schema has {unknown}, unknown to this one): \
             restore it with that version; nothing was changed",
            from.display()
        )));
    }
    let schema = versions.iter().max().cloned().ok_or_else(not_ours)?;
    let mut facts = BTreeMap::new();
    if has(META) {
        for row in sea_orm::sqlx::query(sea_orm::sqlx::AssertSqlSafe(format!(
            "SELECT key, value FROM {META}"
        )))
        .fetch_all(&mut src)
        .await
        .map_err(&f)?
        {
            facts.insert(row.try_get(0).map_err(&f)?, row.try_get(1).map_err(&f)?);
        }
        if facts.get("format").map(String::as_str) != Some(FORMAT) {
            return Err(InfraError::Backup(format!(
                "{} is a backup in a format this ls-users does not know; nothing was changed",
                from.display()
            )));
        }
    }
    let key_check: Option<String> =
        sea_orm::sqlx::query("SELECT key_check FROM deployment WHERE id = 1")
            .fetch_optional(&mut src)
            .await
            .map_err(&f)?
            .and_then(|r| r.try_get(0).ok());
    let users: i64 = scalar(&mut src, from, "SELECT count(*) FROM users").await?;
    let _ = src.close().await;
    Ok(Examined {
        users,
        schema,
        facts,
        key_check,
    })
}

/// Bring the backup `from` back as the configured data directory's
/// database. Refused, with nothing changed, while a server runs on the
/// directory, when the file is not an intact ls-users backup, when its
/// schema is newer than this binary's, or when its deployment secret is
/// not the one the directory (or `LS_SECRET_KEY`) has. The database that
/// was there is kept beside it (`…before-restore-<time>-<pid>`).
pub async fn restore(settings: &Settings, from: &Path) -> Result<RestoreReport, InfraError> {
    let db = sqlite_only(settings)?;
    if !from.is_file() {
        return Err(InfraError::Backup(format!(
            "{} is not a file; nothing was changed",
            from.display()
        )));
    }
    let examined = examine(from).await?;
    let dir = db.parent().unwrap_or(&settings.data_dir).to_owned();
    let configured = settings.secret_key.as_ref().map(app::SecretString::expose);
    let present = secret::load(configured, &settings.data_dir)?;
    let carried = match examined.facts.get("secret_key") {
        Some(hex) => Some(secret::key_from_config(hex).map_err(|_| {
            InfraError::Backup(format!(
                "{}: its deployment secret is malformed; nothing was changed",
                from.display()
            ))
        })?),
        None => None,
    };
    let key = present.or(carried).ok_or_else(|| {
        InfraError::Backup(format!(
            "{} holds no deployment secret and none is configured: put the deployment's \
             secret_key in {} (or set LS_SECRET_KEY) and run this again; nothing was changed",
            from.display(),
            settings.data_dir.display()
        ))
    })?;
    if let Some(recorded) = &examined.key_check
        && *recorded != secret::fingerprint(key)
    {
        return Err(InfraError::Backup(format!(
            "{} belongs to a deployment with another secret than {}: restore it into an empty \
             data directory (or give that deployment's LS_SECRET_KEY); nothing was changed",
            from.display(),
            if configured.is_some() {
                "LS_SECRET_KEY".to_owned()
            } else {
                format!("{}'s secret_key", settings.data_dir.display())
            }
        )));
    }
    // Every check passed: only now is anything written.
    crate::data_dir::ensure(&dir)?;
    let Some(_lock) = crate::data_dir::try_exclusive_lock(&dir)? else {
        return Err(InfraError::Backup(format!(
            "an ls-server (or another ls-admin) is using {}: stop every server on it before \
             restoring; nothing was changed",
            dir.display()
        )));
    };
    // A private copy, made ready beside the database, then renamed in.
    let tmp = dir.join(format!(".ls-users.restore-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let prepared = prepare(from, &tmp).await;
    if let Err(e) = prepared {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let secret_written = present.is_none();
    if secret_written {
        let installed = secret::install(&settings.data_dir, key);
        if !matches!(installed, Ok(k) if k == key) {
            // The prepared copy holds the password hashes: never left behind.
            let _ = std::fs::remove_file(&tmp);
            return Err(match installed {
                Err(e) => e,
                Ok(_) => InfraError::Backup(format!(
                    "another deployment secret appeared in {} meanwhile; nothing was changed",
                    settings.data_dir.display()
                )),
            });
        }
    }
    // What was there goes aside under a name of its own, the WAL and shared
    // memory with it (SQLite finds them by name), even without a database
    // beside them: a stale WAL next to the new file would be replayed into it.
    let stamp = format!(".before-restore-{}-{}", now_micros(), std::process::id());
    let aside = with_suffix(db, &stamp);
    let mut previous = None;
    let swapped = (|| {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let from = with_suffix(db, suffix);
            if from.exists() {
                std::fs::rename(&from, with_suffix(&aside, suffix))?;
                if suffix.is_empty() {
                    previous = Some(aside.clone());
                }
            }
        }
        std::fs::rename(&tmp, db)
    })();
    if let Err(e) = swapped {
        let _ = std::fs::remove_file(&tmp);
        return Err(InfraError::Backup(format!(
            "the restore stopped while swapping the files ({e}): what was in {} is kept as {}*; \
             run it again once the cause is fixed",
            dir.display(),
            aside.display()
        )));
    }
    sync_dir(&dir);
    Ok(RestoreReport {
        database: db.to_owned(),
        users: examined.users,
        schema: examined.schema,
        made_at: examined.facts.get("made_at").cloned(),
        previous,
        secret_written,
    })
}

async fn prepare(from: &Path, tmp: &Path) -> Result<(), InfraError> {
    // Through SQLite, not a byte copy: a source with commits still in its
    // WAL (a set-aside database, say) comes whole.
    create_private(tmp).map_err(io(tmp))?;
    let mut conn = vacuum_into(from, true, tmp).await?;
    let f = fail(tmp);
    // The carried secret leaves no trace in free pages.
    sea_orm::sqlx::query("PRAGMA secure_delete = ON")
        .execute(&mut conn)
        .await
        .map_err(&f)?;
    sea_orm::sqlx::query(sea_orm::sqlx::AssertSqlSafe(format!(
        "DROP TABLE IF EXISTS {META}"
    )))
    .execute(&mut conn)
    .await
    .map_err(&f)?;
    sea_orm::sqlx::query("PRAGMA journal_mode = WAL")
        .execute(&mut conn)
        .await
        .map_err(&f)?;
    // Everything in the main file before it is renamed into place.
    sea_orm::sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await
        .map_err(&f)?;
    let _ = conn.close().await;
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(tmp, suffix));
    }
    std::fs::File::open(tmp)
        .and_then(|file| file.sync_all())
        .map_err(io(tmp))?;
    Ok(())
}
