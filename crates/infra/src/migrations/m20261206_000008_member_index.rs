//! Member lists read through an index, not an order kept in memory (issue
//! 20): each membership carries its user's username as `sort_username`, and
//! partial indexes on the current memberships give both page orders, by
//! username then id and by id. `organizations.member_count` holds the
//! number of current members. Triggers keep both in the transaction of any
//! change, whichever process makes it: a member added, removed or deleted
//! (a deleted account's memberships too), or a username changed.
//!
//! These replace the `members_version` triggers of `m20261201_000005`,
//! whose whole-list re-read after any change cost 200–800 ms at 100,000
//! members; the column stays (a released migration is never edited) and is
//! no longer written.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

const SQLITE_UP: &[&str] = &[
    "DROP TRIGGER IF EXISTS members_version_insert",
    "DROP TRIGGER IF EXISTS members_version_delete",
    "DROP TRIGGER IF EXISTS members_version_update",
    "DROP TRIGGER IF EXISTS members_version_username",
    "ALTER TABLE memberships ADD COLUMN sort_username TEXT",
    "ALTER TABLE organizations ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0",
    "UPDATE memberships SET sort_username = (SELECT username FROM users WHERE users.id = memberships.user_id)",
    "UPDATE organizations SET member_count = (SELECT COUNT(*) FROM memberships m \
       WHERE m.organization_id = organizations.id AND m.removed_at IS NULL)",
    "CREATE INDEX idx_memberships_order ON memberships (organization_id, sort_username, user_id) \
       WHERE removed_at IS NULL",
    "CREATE INDEX idx_memberships_ids ON memberships (organization_id, user_id) \
       WHERE removed_at IS NULL",
    // A writer may set the username itself; any other gets it here.
    "CREATE TRIGGER members_insert AFTER INSERT ON memberships BEGIN \
       UPDATE memberships SET sort_username = (SELECT username FROM users WHERE id = NEW.user_id) \
         WHERE id = NEW.id AND NEW.sort_username IS NULL; \
       UPDATE organizations SET member_count = member_count + 1 \
         WHERE id = NEW.organization_id AND NEW.removed_at IS NULL; \
     END",
    "CREATE TRIGGER members_delete AFTER DELETE ON memberships WHEN OLD.removed_at IS NULL BEGIN \
       UPDATE organizations SET member_count = member_count - 1 WHERE id = OLD.organization_id; \
     END",
    "CREATE TRIGGER members_update AFTER UPDATE OF user_id, organization_id, removed_at \
       ON memberships BEGIN \
       UPDATE organizations SET member_count = member_count - 1 \
         WHERE id = OLD.organization_id AND OLD.removed_at IS NULL; \
       UPDATE organizations SET member_count = member_count + 1 \
         WHERE id = NEW.organization_id AND NEW.removed_at IS NULL; \
       UPDATE memberships SET sort_username = (SELECT username FROM users WHERE id = NEW.user_id) \
         WHERE id = NEW.id AND OLD.user_id IS NOT NEW.user_id; \
     END",
    "CREATE TRIGGER members_username AFTER UPDATE OF username ON users \
       WHEN OLD.username IS NOT NEW.username BEGIN \
       UPDATE memberships SET sort_username = NEW.username WHERE user_id = NEW.id; \
     END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS members_insert",
    "DROP TRIGGER IF EXISTS members_delete",
    "DROP TRIGGER IF EXISTS members_update",
    "DROP TRIGGER IF EXISTS members_username",
    "DROP INDEX IF EXISTS idx_memberships_order",
    "DROP INDEX IF EXISTS idx_memberships_ids",
    "ALTER TABLE memberships DROP COLUMN sort_username",
    "ALTER TABLE organizations DROP COLUMN member_count",
];

const POSTGRES_UP: &[&str] = &[
    "DROP TRIGGER IF EXISTS members_version_username ON users",
    "DROP FUNCTION IF EXISTS members_version_username()",
    "DROP TRIGGER IF EXISTS members_version_membership ON memberships",
    "DROP FUNCTION IF EXISTS members_version_membership()",
    // "C": the byte order, as SQLite's BINARY and the in-memory store sort.
    "ALTER TABLE memberships ADD COLUMN sort_username TEXT COLLATE \"C\"",
    "ALTER TABLE organizations ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0",
    "UPDATE memberships SET sort_username = users.username FROM users WHERE users.id = memberships.user_id",
    "UPDATE organizations SET member_count = (SELECT COUNT(*) FROM memberships m \
       WHERE m.organization_id = organizations.id AND m.removed_at IS NULL)",
    "CREATE INDEX idx_memberships_order ON memberships (organization_id, sort_username, user_id) \
       WHERE removed_at IS NULL",
    "CREATE INDEX idx_memberships_ids ON memberships (organization_id, user_id) \
       WHERE removed_at IS NULL",
    "CREATE FUNCTION members_sort_username() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN \
       IF NEW.sort_username IS NULL OR TG_OP = 'UPDATE' THEN \
         SELECT username INTO NEW.sort_username FROM users WHERE id = NEW.user_id; \
       END IF; \
       RETURN NEW; \
     END $$",
    "CREATE TRIGGER members_sort_username BEFORE INSERT OR UPDATE OF user_id ON memberships \
       FOR EACH ROW EXECUTE FUNCTION members_sort_username()",
    "CREATE FUNCTION members_count() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN \
       IF TG_OP <> 'INSERT' AND OLD.removed_at IS NULL THEN \
         UPDATE organizations SET member_count = member_count - 1 WHERE id = OLD.organization_id; \
       END IF; \
       IF TG_OP <> 'DELETE' AND NEW.removed_at IS NULL THEN \
         UPDATE organizations SET member_count = member_count + 1 WHERE id = NEW.organization_id; \
       END IF; \
       RETURN NULL; \
     END $$",
    "CREATE TRIGGER members_count AFTER INSERT OR DELETE OR UPDATE OF organization_id, removed_at \
       ON memberships FOR EACH ROW EXECUTE FUNCTION members_count()",
    "CREATE FUNCTION members_username() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN \
       UPDATE memberships SET sort_username = NEW.username WHERE user_id = NEW.id; \
       RETURN NULL; \
     END $$",
    "CREATE TRIGGER members_username AFTER UPDATE OF username ON users \
       FOR EACH ROW WHEN (OLD.username IS DISTINCT FROM NEW.username) \
       EXECUTE FUNCTION members_username()",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS members_username ON users",
    "DROP FUNCTION IF EXISTS members_username()",
    "DROP TRIGGER IF EXISTS members_count ON memberships",
    "DROP FUNCTION IF EXISTS members_count()",
    "DROP TRIGGER IF EXISTS members_sort_username ON memberships",
    "DROP FUNCTION IF EXISTS members_sort_username()",
    "DROP INDEX IF EXISTS idx_memberships_order",
    "DROP INDEX IF EXISTS idx_memberships_ids",
    "ALTER TABLE memberships DROP COLUMN sort_username",
    "ALTER TABLE organizations DROP COLUMN member_count",
];

async fn run(manager: &SchemaManager<'_>, sqlite: &[&str], postgres: &[&str]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let statements = match db.get_database_backend() {
        DbBackend::Sqlite => sqlite,
        DbBackend::Postgres => postgres,
        other => {
            return Err(DbErr::Migration(format!("no member index for {other:?}")));
        }
    };
    for sql in statements {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
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
        run(manager, SQLITE_UP, POSTGRES_UP).await
    }

    /// Back to the `members_version` triggers of the migration before.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, SQLITE_DOWN, POSTGRES_DOWN).await?;
        let db = manager.get_connection();
        let restore = match db.get_database_backend() {
            DbBackend::Sqlite => super::m20261201_000005_member_order::SQLITE_UP,
            _ => super::m20261201_000005_member_order::POSTGRES_UP,
        };
        for sql in restore {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
