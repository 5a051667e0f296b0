//! [`SeaStore`]: the use-cases' storage traits on sea-orm, for SQLite and
//! PostgreSQL alike, one module per aggregate (`users`, `orgs`, `invites`,
//! `sessions`, `tokens`, `throttle`), with the row conversions in `rows`
//! and the write transaction in `txn`.

mod audit;
mod import;
mod invitations;
mod invites;
mod lifecycle;
mod mail;
mod member_scan;
mod orgs;
mod rows;
mod sessions;
mod sso;
mod throttle;
mod tokens;
mod txn;
mod users;

use std::sync::Arc;

use app::StoreError;
use sea_orm::sea_query::{Expr, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryResult,
    SqlErr,
};

use super::cache::TokenCache;
use super::entities::deployment;

/// The app's storage traits on sea-orm.
#[derive(Debug, Clone)]
pub struct SeaStore {
    db: DatabaseConnection,
    /// SQLite has one writer at a time. Writers queue here, holding no pool
    /// connection, so a burst of writes (logins making sessions) cannot take
    /// every connection while it waits for the file lock and stall readers.
    /// `None` on PostgreSQL, whose row locks need no such queue.
    sqlite_writer: Option<Arc<tokio::sync::Mutex<()>>>,
    /// SQLite: API-token lookups kept while nothing at all is committed to
    /// the database. `None` on PostgreSQL.
    token_cache: Option<Arc<TokenCache>>,
    /// When this process last cleaned the throttle table.
    throttle_housekeeping: Arc<throttle::Housekeeping>,
    /// Most throttle counter rows kept (`throttle_max_keys`).
    throttle_max_keys: u64,
    /// How many `last_activity` writes this process made (for tests).
    activity_writes: Arc<std::sync::atomic::AtomicU64>,
}

type R<T> = Result<T, StoreError>;

fn backend(e: DbErr) -> StoreError {
    StoreError::Backend(Box::new(e))
}

fn is_unique_violation(e: &DbErr, column: &str) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(msg)) if msg.contains(column))
}

/// A write that the email's unique index refused is `EmailTaken`.
fn email_taken_or_backend(e: DbErr) -> StoreError {
    if is_unique_violation(&e, "email") {
        StoreError::EmailTaken
    } else {
        backend(e)
    }
}

impl SeaStore {
    pub fn new(db: DatabaseConnection) -> Self {
        let sqlite = db.get_database_backend() == sea_orm::DbBackend::Sqlite;
        Self {
            db,
            sqlite_writer: sqlite.then(|| Arc::new(tokio::sync::Mutex::new(()))),
            token_cache: None,
            throttle_housekeeping: Arc::default(),
            throttle_max_keys: throttle::DEFAULT_MAX_KEYS,
            activity_writes: Arc::default(),
        }
    }

    /// Keep token lookups in memory while the SQLite database at `path`
    /// sees no commit ([`super::cache::commits`]).
    pub(crate) fn with_commit_watch(mut self, path: &std::path::Path) -> Self {
        self.token_cache = Some(Arc::new(TokenCache::new(path)));
        self
    }

    /// How many `last_activity` writes this store made.
    pub fn activity_writes(&self) -> u64 {
        self.activity_writes
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// SQLite: the WAL index file the token cache watches.
    pub fn watched_wal_index(&self) -> Option<&std::path::Path> {
        self.token_cache.as_ref().map(|c| c.watched())
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    async fn query_one(&self, q: &SelectStatement) -> R<Option<QueryResult>> {
        let stmt = self.db.get_database_backend().build(q);
        self.db.query_one_raw(stmt).await.map_err(backend)
    }

    /// The deployment secret's fingerprint the database recorded, if any.
    pub async fn recorded_key(&self) -> R<Option<String>> {
        Ok(deployment::Entity::find_by_id(1)
            .one(&self.db)
            .await
            .map_err(backend)?
            .and_then(|r| r.key_check))
    }

    /// Records the deployment secret's fingerprint on first use; afterwards
    /// answers whether `fingerprint` is the recorded one.
    pub async fn check_key(&self, fingerprint: &str) -> R<bool> {
        deployment::Entity::update_many()
            .col_expr(
                deployment::Column::KeyCheck,
                Expr::value(fingerprint.to_owned()),
            )
            .filter(deployment::Column::Id.eq(1))
            .filter(deployment::Column::KeyCheck.is_null())
            .exec(&self.db)
            .await
            .map_err(backend)?;
        let row = deployment::Entity::find_by_id(1)
            .one(&self.db)
            .await
            .map_err(backend)?;
        Ok(row.and_then(|r| r.key_check).as_deref() == Some(fingerprint))
    }
}
