//! Whether a data directory holds a deployment, and what may be created:
//! checked before anything is written, so that a mistyped `--data-dir`
//! or a lost database file never turns into a new, empty deployment.

use std::path::Path;

use crate::{DatabaseTarget, InfraError, Settings};

/// What opening may do when there is no deployment yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// An existing deployment only: nothing is created (ls-admin's commands).
    Existing,
    /// Create one when the data directory is new (ls-server, `ls-admin user
    /// create`); refused where an earlier deployment left traces but its
    /// database is missing or empty.
    Create,
    /// Create one even over such traces (`ls-server start --init`).
    Init,
}

/// Whether `path` is an SQLite database with something in it.
pub fn sqlite_database_present(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() > 0)
}

/// What an earlier deployment leaves in its data directory besides the
/// database: the secret, the lock file, SQLite's WAL and shared memory, and
/// an emptied database file.
fn traces(db: &Path, data_dir: &Path) -> Vec<String> {
    let with = |suffix: &str| {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        std::path::PathBuf::from(p)
    };
    let mut found = Vec::new();
    for path in [
        data_dir.join(crate::secret::FILE),
        with(".migrate-lock"),
        with("-wal"),
        with("-shm"),
    ] {
        if path.exists() {
            found.push(path.display().to_string());
        }
    }
    if db.exists() {
        found.push(format!("{} (empty)", db.display()));
    }
    found
}

/// There is no SQLite deployment at `db` (in `dir`): what to check.
pub(crate) fn no_deployment(db: &Path, dir: &Path) -> InfraError {
    InfraError::NoDeployment(format!(
        "no deployment in {}: the database {} is missing{}; check --data-dir \
         (LS_DATA_DIR, LABEL_STUDIO_BASE_DATA_DIR) or --database-url. Nothing was \
         created; `ls-admin user create` or `ls-server start` makes a new deployment",
        dir.display(),
        db.display(),
        if db.exists() { " or empty" } else { "" },
    ))
}

/// Waits while another process holds the migration lock beside `db` (it
/// is creating or migrating the database); returns at once when there is
/// no lock file. Opens the lock file without creating or changing it.
fn wait_for_a_migration(db: &Path) {
    let mut lock = db.as_os_str().to_owned();
    lock.push(".migrate-lock");
    if let Ok(file) = std::fs::OpenOptions::new().write(true).open(lock) {
        let _ = file.lock();
    }
}

/// Refuses, before any write, what `open` may not do with this configuration.
pub(crate) fn check(settings: &Settings, open: Open) -> Result<(), InfraError> {
    match &settings.database {
        DatabaseTarget::Sqlite(db) => {
            if sqlite_database_present(db) || open == Open::Init {
                return Ok(());
            }
            // Another process (ls-server and `ls-admin user create` started
            // together) may be creating the deployment right now: its lock
            // file and a new database file look like traces. Wait for its
            // lock, then look again.
            if open == Open::Create {
                wait_for_a_migration(db);
                if sqlite_database_present(db) {
                    return Ok(());
                }
            }
            let dir = db.parent().unwrap_or(&settings.data_dir);
            let left = traces(db, &settings.data_dir);
            match open {
                Open::Existing => Err(no_deployment(db, dir)),
                _ if left.is_empty() => Ok(()),
                _ => Err(InfraError::NoDeployment(format!(
                    "{} holds an earlier deployment ({}) but its database {} is missing or \
                     empty: restore the database from a backup, or start a new, empty deployment \
                     there on purpose with `ls-server start --init`",
                    dir.display(),
                    left.join(", "),
                    db.display(),
                ))),
            }
        }
        DatabaseTarget::Postgres(_) => {
            if settings.secret_key.is_none() && !settings.data_dir_explicit {
                let implicit = settings.data_dir.join(crate::secret::FILE);
                if implicit.exists() {
                    // A deployment set up before this rule: keep it working.
                    tracing::warn!(
                        path = %implicit.display(),
                        "the PostgreSQL deployment's secret is taken from the default data \
                         directory: name it with --data-dir, or set LS_SECRET_KEY"
                    );
                    return Ok(());
                }
                return Err(InfraError::SecretKey(
                    "a PostgreSQL deployment keeps its secret where you say: set LS_SECRET_KEY \
                     (the same on every instance that shares the database), or name the \
                     directory that holds its secret_key with --data-dir"
                        .into(),
                ));
            }
            Ok(())
        }
    }
}
