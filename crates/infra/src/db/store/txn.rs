//! The one way a write transaction is opened and ended.

use std::ops::Deref;
use std::sync::Arc;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};

use super::{R, SeaStore, backend};
use crate::db::entities::deployment;

/// This process's SQLite writer slot, held for as long as a write transaction.
pub(super) type WriterSlot = Option<tokio::sync::OwnedMutexGuard<()>>;

/// A write transaction, holding the writer slot. Ended by [`Write::finish`]
/// (commit on success, roll back on failure) or [`Write::rollback`]; one
/// dropped unfinished rolls back too.
#[derive(Debug)]
pub(super) struct Write {
    txn: DatabaseTransaction,
    _slot: WriterSlot,
}

impl Deref for Write {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

impl Write {
    /// Commits when `work` succeeded, rolls back when it failed.
    pub(super) async fn finish<T>(self, work: R<T>) -> R<T> {
        self.finish_mapping(work, backend).await
    }

    /// [`Write::finish`], with a failed commit told by `commit_error`.
    pub(super) async fn finish_mapping<T>(
        self,
        work: R<T>,
        commit_error: fn(sea_orm::DbErr) -> app::StoreError,
    ) -> R<T> {
        match work {
            Ok(value) => {
                // The audit entry of the work this write belongs to, if
                // any: stored with the change or not at all.
                if let Some(entry) = super::audit::take_pending()
                    && let Err(e) = super::audit::insert(&self.txn, entry).await
                {
                    self.rollback().await;
                    return Err(e);
                }
                self.txn.commit().await.map_err(commit_error)?;
                Ok(value)
            }
            Err(e) => {
                self.rollback().await;
                Err(e)
            }
        }
    }

    /// Commits when `work` is `Ok(true)`; on `Ok(false)` (nothing was
    /// changed) rolls back, so no audit entry is written for it.
    pub(super) async fn finish_when(self, work: R<bool>) -> R<bool> {
        match work {
            Ok(false) => {
                self.rollback().await;
                Ok(false)
            }
            other => self.finish(other).await,
        }
    }

    /// Ends the transaction having written nothing.
    pub(super) async fn rollback(self) {
        let _ = self.txn.rollback().await;
    }
}

impl SeaStore {
    /// This process's writer slot (SQLite), to hold for one write.
    pub(super) async fn writer_slot(&self) -> WriterSlot {
        match &self.sqlite_writer {
            Some(m) => Some(Arc::clone(m).lock_owned().await),
            None => None,
        }
    }

    /// This process's writer slot, then `BEGIN IMMEDIATE` on SQLite (a
    /// plain `BEGIN` on PostgreSQL), for a write independent of every other
    /// (a new session).
    pub(super) async fn independent_write(&self) -> R<Write> {
        let asked = std::time::Instant::now();
        let slot = self.writer_slot().await;
        let began = std::time::Instant::now();
        let txn = self
            .db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
            .map_err(backend)?;
        if slot.is_some() {
            // This process's writers queue on the slot; other processes'
            // (ls-admin, another server) make BEGIN IMMEDIATE wait in
            // SQLite's busy handler, whose first sleep is 1 ms.
            let busy = began.elapsed();
            metrics::histogram!("ls_sqlite_writer_wait_seconds")
                .record((began - asked).as_secs_f64());
            metrics::histogram!("ls_sqlite_begin_seconds").record(busy.as_secs_f64());
            if busy >= std::time::Duration::from_millis(1) {
                metrics::counter!("ls_sqlite_busy_waits_total").increment(1);
            }
        }
        Ok(Write { txn, _slot: slot })
    }

    /// A write transaction. On SQLite it is `BEGIN IMMEDIATE`, so it takes
    /// the write lock (waiting up to the busy timeout) before reading: a
    /// deferred transaction that reads first fails at once with "database is
    /// locked" when another process wrote meanwhile. It then touches the
    /// deployment row, which on PostgreSQL serialises the writers that must
    /// not interleave (the first organization, invite rotation).
    pub(super) async fn write(&self) -> R<Write> {
        let w = self.independent_write().await?;
        let touched = deployment::Entity::update_many()
            .col_expr(
                deployment::Column::WriteCounter,
                Expr::col(deployment::Column::WriteCounter).add(1),
            )
            .filter(deployment::Column::Id.eq(1))
            .exec(&*w)
            .await
            .map_err(backend);
        match touched {
            Ok(_) => Ok(w),
            Err(e) => {
                w.rollback().await;
                Err(e)
            }
        }
    }
}
