//! What an import from Label Studio carries that our own rows do not make
//! (issue 16), each only as a keyed digest: an organization's Label Studio
//! invite token, accepted beside our own link until the first Reset Link,
//! and a personal access token signed with Label Studio's `SECRET_KEY`,
//! recognised by the digest of the whole token.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    LegacyInviteDigest,
}

#[derive(DeriveIden)]
enum PersonalTokens {
    Table,
    LegacyDigest,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .add_column(string_null(Organizations::LegacyInviteDigest))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_organizations_legacy_invite")
                    .table(Organizations::Table)
                    .col(Organizations::LegacyInviteDigest)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(PersonalTokens::Table)
                    .add_column(string_null(PersonalTokens::LegacyDigest))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_personal_tokens_legacy_digest")
                    .table(PersonalTokens::Table)
                    .col(PersonalTokens::LegacyDigest)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (index, table) in [
            ("idx_personal_tokens_legacy_digest", "personal_tokens"),
            ("idx_organizations_legacy_invite", "organizations"),
        ] {
            manager
                .drop_index(
                    Index::drop()
                        .name(index)
                        .table(Alias::new(table))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(PersonalTokens::Table)
                    .drop_column(PersonalTokens::LegacyDigest)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .drop_column(Organizations::LegacyInviteDigest)
                    .to_owned(),
            )
            .await
    }
}
