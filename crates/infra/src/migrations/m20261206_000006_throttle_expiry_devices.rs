//! Throttle counters get the time they may be forgotten (`expires_at`,
//! indexed, so the clean-up is an indexed delete, not a scan), and device
//! cookies (issue 14): a browser that logged in to an account keeps its own
//! failure count, so a lock an attacker causes does not shut the owner out.
//! Stored only as a keyed digest, per user, expiring.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Throttle {
    Table,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum DeviceCookies {
    Table,
    Id,
    Digest,
    UserId,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Existing rows: kept for a day after their window started, as the
        // clean-up before this migration did.
        manager
            .alter_table(
                Table::alter()
                    .table(Throttle::Table)
                    .add_column(big_integer(Throttle::ExpiresAt).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE throttle SET expires_at = \
                 CASE WHEN locked_until > window_start + 86400 THEN locked_until \
                 ELSE window_start + 86400 END",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_throttle_expires_at")
                    .table(Throttle::Table)
                    .col(Throttle::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DeviceCookies::Table)
                    .col(big_pk_auto(DeviceCookies::Id))
                    .col(string_uniq(DeviceCookies::Digest))
                    .col(big_integer(DeviceCookies::UserId))
                    .col(big_integer(DeviceCookies::CreatedAt))
                    .col(big_integer(DeviceCookies::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_device_cookies_user")
                            .from(DeviceCookies::Table, DeviceCookies::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_device_cookies_user")
                    .table(DeviceCookies::Table)
                    .col(DeviceCookies::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DeviceCookies::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_throttle_expires_at")
                    .table(Throttle::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Throttle::Table)
                    .drop_column(Throttle::ExpiresAt)
                    .to_owned(),
            )
            .await
    }
}
