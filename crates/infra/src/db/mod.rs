//! Opening the database (SQLite or PostgreSQL), running the migrations, and
//! the [`app::Store`] implementation.

pub(crate) mod entities;
mod store;

use std::path::Path;
use std::time::Duration;

use sea_orm::sqlx::ConnectOptions as _;
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend, SqlxSqliteConnector};
use sea_orm_migration::MigratorTrait;

pub use store::SeaStore;

use crate::InfraError;
use crate::migrations::Migrator;

/// How long a writer waits for another process's lock (ls-admin while the
/// server runs) before giving up.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The SQLite file inside a data directory.
pub fn sqlite_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("ls-users.sqlite3")
}

/// Open the configured database and bring the schema up to date.
pub async fn open_target(target: &crate::DatabaseTarget) -> Result<SeaStore, InfraError> {
    match target {
        crate::DatabaseTarget::Sqlite(path) => {
            let db = open_sqlite(path).await?;
            migrate(&db).await?;
            Ok(SeaStore::new(db))
        }
        crate::DatabaseTarget::Postgres(url) => open(url.expose()).await,
    }
}

/// Open `url` (`sqlite://PATH[?…]` or `postgres://…`) and bring the schema up to date.
pub async fn open(url: &str) -> Result<SeaStore, InfraError> {
    let db = if let Some(path) = url.strip_prefix("sqlite://") {
        open_sqlite(Path::new(path.split('?').next().unwrap_or(path))).await?
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.sqlx_logging(false)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(30))
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
    migrate(&db).await?;
    Ok(SeaStore::new(db))
}

/// SQLite at `path`, given as a file name (not parsed as a URL, so any
/// directory name works). WAL lets readers and one writer work at once
/// across processes; FULL makes every acknowledged commit survive a power cut.
async fn open_sqlite(path: &Path) -> Result<DatabaseConnection, InfraError> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        // Statements carry digests and hashes: keep them out of the logs.
        .disable_statement_logging();
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options)
        .await
        .map_err(|e| InfraError::Database(format!("{}: {e}", path.display())))?;
    Ok(SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
}

/// Apply every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), InfraError> {
    Migrator::up(db, None)
        .await
        .map_err(|e| InfraError::Migration(e.to_string()))
}

/// A connection error, without the URL's password.
fn redact(url: &str, err: sea_orm::DbErr) -> String {
    let text = err.to_string();
    match url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
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
