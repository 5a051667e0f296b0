//! `ls-admin doctor`: what the database says about itself, read without
//! writing and without migrating, so that it also reports on a database
//! too damaged to open for use.

use std::path::Path;

use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::sqlx::{ConnectOptions as _, Connection as _, Row as _};

use super::{MIN_SQLITE, filesystem_type};
use crate::{DatabaseTarget, InfraError};

/// What the inspection found: `(name, value)` rows, and whether SQLite's
/// `integrity_check` said `ok` (`None` on PostgreSQL, which has none).
#[derive(Debug, Default)]
pub struct Inspection {
    pub rows: Vec<(&'static str, String)>,
    pub intact: Option<bool>,
}

/// Reads the configured database's state; never writes, never migrates.
pub async fn inspect(target: &DatabaseTarget) -> Result<Inspection, InfraError> {
    match target {
        DatabaseTarget::Sqlite(path) => inspect_sqlite(path).await,
        DatabaseTarget::Postgres(url) => inspect_postgres(url.expose()).await,
    }
}

async fn inspect_sqlite(path: &Path) -> Result<Inspection, InfraError> {
    if !crate::deployment::sqlite_database_present(path) {
        let dir = path.parent().unwrap_or(Path::new("."));
        return Err(crate::deployment::no_deployment(path, dir));
    }
    let fail = |e: sea_orm::sqlx::Error| InfraError::Database(format!("{}: {e}", path.display()));
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .disable_statement_logging()
        .connect()
        .await
        .map_err(fail)?;
    let mut out = Inspection::default();
    out.rows.push(("backend", "sqlite".into()));
    out.rows.push((
        "sqlite_version",
        sqlite_scalar(&mut conn, "SELECT sqlite_version()").await,
    ));
    out.rows.push((
        "sqlite_minimum",
        format!("{}.{}.{}", MIN_SQLITE.0, MIN_SQLITE.1, MIN_SQLITE.2),
    ));
    out.rows.push((
        "filesystem",
        filesystem_type(path).unwrap_or_else(|| "unknown".into()),
    ));
    out.rows.push((
        "journal_mode",
        sqlite_scalar(&mut conn, "PRAGMA journal_mode").await,
    ));
    // The whole check: every page, index and constraint.
    let check = match sea_orm::sqlx::query("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
    {
        Ok(rows) => rows
            .iter()
            .filter_map(|r| r.try_get::<String, _>(0).ok())
            .collect::<Vec<_>>(),
        Err(e) => vec![e.to_string()],
    };
    out.intact = Some(check == ["ok"]);
    out.rows.push(("integrity_check", check.join("; ")));
    out.rows.push((
        "migrations",
        sqlite_scalar(
            &mut conn,
            "SELECT group_concat(version, ', ') FROM (SELECT version FROM seaql_migrations ORDER BY version)",
        )
        .await,
    ));
    out.rows.push((
        "users",
        sqlite_scalar(&mut conn, "SELECT COUNT(*) FROM users").await,
    ));
    let _ = conn.close().await;
    Ok(out)
}

async fn inspect_postgres(url: &str) -> Result<Inspection, InfraError> {
    let mut conn = sea_orm::sqlx::PgConnection::connect(url)
        .await
        .map_err(|e| InfraError::Database(super::redact_sqlx(url, &e)))?;
    let mut out = Inspection::default();
    out.rows.push(("backend", "postgres".into()));
    out.rows.push((
        "server_version",
        pg_scalar(&mut conn, "SHOW server_version").await,
    ));
    out.rows.push((
        "tls",
        pg_scalar(
            &mut conn,
            "SELECT CASE WHEN ssl THEN version || ' ' || cipher ELSE 'off' END \
             FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        )
        .await,
    ));
    out.rows.push((
        "migrations",
        pg_scalar(
            &mut conn,
            "SELECT string_agg(version, ', ' ORDER BY version) FROM seaql_migrations",
        )
        .await,
    ));
    out.rows.push((
        "users",
        pg_scalar(&mut conn, "SELECT COUNT(*)::text FROM users").await,
    ));
    let _ = conn.close().await;
    Ok(out)
}

/// The first column of the first row as text; the error's text if the query fails.
async fn sqlite_scalar(conn: &mut sea_orm::sqlx::SqliteConnection, sql: &'static str) -> String {
    match sea_orm::sqlx::query(sql).fetch_optional(conn).await {
        Ok(Some(row)) => row
            .try_get::<String, _>(0)
            .or_else(|_| row.try_get::<i64, _>(0).map(|n| n.to_string()))
            .unwrap_or_default(),
        Ok(None) => String::new(),
        Err(e) => e.to_string(),
    }
}

/// [`sqlite_scalar`] on PostgreSQL.
async fn pg_scalar(conn: &mut sea_orm::sqlx::PgConnection, sql: &'static str) -> String {
    match sea_orm::sqlx::query(sql).fetch_optional(conn).await {
        Ok(Some(row)) => row.try_get::<String, _>(0).unwrap_or_default(),
        Ok(None) => String::new(),
        Err(e) => e.to_string(),
    }
}
