//! A fingerprint of the deployment secret, so that an instance started with
//! another secret (a forgotten `LS_SECRET_KEY`, a lost `secret_key` file)
//! refuses to start instead of silently failing every token.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Deployment {
    Table,
    KeyCheck,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Deployment::Table)
                    .add_column(string_null(Deployment::KeyCheck))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Deployment::Table)
                    .drop_column(Deployment::KeyCheck)
                    .to_owned(),
            )
            .await
    }
}
