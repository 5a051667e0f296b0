//! A per-organization version of the member list's order, kept by triggers.
//!
//! The membership pages are ordered by username then id, and a page number
//! needs the rank of its first row, which no index gives without walking
//! every row before it. The store keeps each organization's order in memory
//! and checks `members_version` on every page: the triggers bump it in the
//! same transaction as any change that could move a row (a member added,
//! removed or deleted, a member's username changed), whichever process or
//! instance makes it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    MembersVersion,
}

pub(super) const SQLITE_UP: &[&str] = &[
    "CREATE TRIGGER members_version_insert AFTER INSERT ON memberships BEGIN \
       UPDATE organizations SET members_version = members_version + 1 WHERE id = NEW.organization_id; \
     END",
    "CREATE TRIGGER members_version_delete AFTER DELETE ON memberships BEGIN \
       UPDATE organizations SET members_version = members_version + 1 WHERE id = OLD.organization_id; \
     END",
    "CREATE TRIGGER members_version_update AFTER UPDATE OF user_id, organization_id, removed_at \
       ON memberships BEGIN \
       UPDATE organizations SET members_version = members_version + 1 \
         WHERE id IN (OLD.organization_id, NEW.organization_id); \
     END",
    "CREATE TRIGGER members_version_username AFTER UPDATE OF username ON users \
       WHEN OLD.username IS NOT NEW.username BEGIN \
       UPDATE organizations SET members_version = members_version + 1 \
         WHERE id IN (SELECT organization_id FROM memberships WHERE user_id = NEW.id); \
     END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS members_version_insert",
    "DROP TRIGGER IF EXISTS members_version_delete",
    "DROP TRIGGER IF EXISTS members_version_update",
    "DROP TRIGGER IF EXISTS members_version_username",
];

pub(super) const POSTGRES_UP: &[&str] = &[
    "CREATE FUNCTION members_version_membership() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN \
       IF TG_OP <> 'INSERT' THEN \
         UPDATE organizations SET members_version = members_version + 1 WHERE id = OLD.organization_id; \
       END IF; \
       IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.organization_id <> OLD.organization_id) THEN \
         UPDATE organizations SET members_version = members_version + 1 WHERE id = NEW.organization_id; \
       END IF; \
       RETURN NULL; \
     END $$",
    "CREATE TRIGGER members_version_membership \
       AFTER INSERT OR DELETE OR UPDATE OF user_id, organization_id, removed_at ON memberships \
       FOR EACH ROW EXECUTE FUNCTION members_version_membership()",
    "CREATE FUNCTION members_version_username() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN \
       UPDATE organizations SET members_version = members_version + 1 \
         WHERE id IN (SELECT organization_id FROM memberships WHERE user_id = NEW.id); \
       RETURN NULL; \
     END $$",
    "CREATE TRIGGER members_version_username AFTER UPDATE OF username ON users \
       FOR EACH ROW WHEN (OLD.username IS DISTINCT FROM NEW.username) \
       EXECUTE FUNCTION members_version_username()",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS members_version_username ON users",
    "DROP FUNCTION IF EXISTS members_version_username()",
    "DROP TRIGGER IF EXISTS members_version_membership ON memberships",
    "DROP FUNCTION IF EXISTS members_version_membership()",
];

async fn run(manager: &SchemaManager<'_>, sqlite: &[&str], postgres: &[&str]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let statements = match db.get_database_backend() {
        DbBackend::Sqlite => sqlite,
        DbBackend::Postgres => postgres,
        other => {
            return Err(DbErr::Migration(format!(
                "no member-order triggers for {other:?}"
            )));
        }
    };
    for sql in statements {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .add_column(big_integer(Organizations::MembersVersion).default(0))
                    .to_owned(),
            )
            .await?;
        run(manager, SQLITE_UP, POSTGRES_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, SQLITE_DOWN, POSTGRES_DOWN).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .drop_column(Organizations::MembersVersion)
                    .to_owned(),
            )
            .await
    }
}
