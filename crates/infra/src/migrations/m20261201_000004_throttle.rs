//! Brute-force throttling counters, shared by every instance on the database.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Throttle {
    Table,
    Id,
    Key,
    Events,
    WindowStart,
    LockedUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Throttle::Table)
                    .col(big_pk_auto(Throttle::Id))
                    .col(string_uniq(Throttle::Key))
                    .col(big_integer(Throttle::Events))
                    .col(big_integer(Throttle::WindowStart))
                    .col(big_integer(Throttle::LockedUntil))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Throttle::Table).to_owned())
            .await
    }
}
