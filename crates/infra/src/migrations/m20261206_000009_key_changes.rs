//! A version of what API-token lookups read, kept by triggers (issue 20,
//! SQLite only): `key_changes.version` rises in the transaction of any
//! change to `users`, `api_tokens`, `memberships` or `organizations`,
//! whichever process makes it.
//!
//! The token cache (`db::cache::tokens`) keeps lookups while the WAL index
//! header reads the same, i.e. while nothing at all is committed; every
//! login commits (its session, its throttle counters), so a login storm
//! emptied the cache thousands of times a second. Now a moved header costs
//! one read of this version, and the entries stay when it has not moved.
//! PostgreSQL keeps no token cache, and a row every write would lock
//! would only serialize its writers: nothing is made there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// The tables a cached lookup reads.
const WATCHED: [&str; 4] = ["users", "api_tokens", "memberships", "organizations"];
const OPERATIONS: [&str; 3] = ["INSERT", "UPDATE", "DELETE"];

fn trigger_name(table: &str, op: &str) -> String {
    format!("key_changes_{table}_{}", op.to_ascii_lowercase())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on SQLite too (sea-orm-migration uses one only on
    /// PostgreSQL by default): a crash part-way leaves nothing half made,
    /// and no writer (`ls-admin`, another process) can add a membership
    /// between the backfill and the triggers.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        db.execute_unprepared(
            "CREATE TABLE key_changes (id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL)",
        )
        .await?;
        db.execute_unprepared("INSERT INTO key_changes (id, version) VALUES (1, 0)")
            .await?;
        for table in WATCHED {
            for op in OPERATIONS {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {} AFTER {op} ON {table} BEGIN \
                       UPDATE key_changes SET version = version + 1 WHERE id = 1; \
                     END",
                    trigger_name(table, op)
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        for table in WATCHED {
            for op in OPERATIONS {
                db.execute_unprepared(&format!(
                    "DROP TRIGGER IF EXISTS {}",
                    trigger_name(table, op)
                ))
                .await?;
            }
        }
        db.execute_unprepared("DROP TABLE IF EXISTS key_changes")
            .await?;
        Ok(())
    }
}
