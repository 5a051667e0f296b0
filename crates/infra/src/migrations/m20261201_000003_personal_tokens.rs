//! Personal access tokens (JWT refresh tokens, kept by `jti` only: the
//! signature is never stored) and each organization's token settings.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum PersonalTokens {
    Table,
    Id,
    Jti,
    UserId,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    ApiTokensEnabled,
    LegacyApiTokensEnabled,
    ApiTokenTtlDays,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PersonalTokens::Table)
                    .col(big_pk_auto(PersonalTokens::Id))
                    .col(string_uniq(PersonalTokens::Jti))
                    .col(big_integer(PersonalTokens::UserId))
                    .col(big_integer(PersonalTokens::CreatedAt))
                    .col(big_integer(PersonalTokens::ExpiresAt))
                    .col(big_integer_null(PersonalTokens::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_personal_tokens_user")
                            .from(PersonalTokens::Table, PersonalTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_personal_tokens_user")
                    .table(PersonalTokens::Table)
                    .col(PersonalTokens::UserId)
                    .to_owned(),
            )
            .await?;
        // One column a statement: SQLite alters one thing at a time.
        for col in [
            boolean(Organizations::ApiTokensEnabled)
                .default(true)
                .to_owned(),
            boolean(Organizations::LegacyApiTokensEnabled)
                .default(true)
                .to_owned(),
            integer(Organizations::ApiTokenTtlDays)
                .default(200)
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Organizations::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            Organizations::ApiTokensEnabled,
            Organizations::LegacyApiTokensEnabled,
            Organizations::ApiTokenTtlDays,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Organizations::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(PersonalTokens::Table).to_owned())
            .await
    }
}
