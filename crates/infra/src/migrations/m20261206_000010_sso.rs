//! Single sign-on (issue 18): the identities from OpenID providers linked
//! to accounts, unique by issuer and subject (the OpenID rule for "the same
//! person") and one per account and issuer, gone with their account; and the login flows between leaving
//! for a provider and coming back, stored only by the digest of their
//! `state`, so that any instance can finish one, once. Expired flows go by
//! an indexed delete.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum SsoIdentities {
    Table,
    Id,
    UserId,
    Provider,
    Issuer,
    Subject,
    Email,
    CreatedAt,
    LastLoginAt,
}

#[derive(DeriveIden)]
enum SsoFlows {
    Table,
    StateDigest,
    Provider,
    InviteDigest,
    Next,
    ThrottleKey,
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
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SsoIdentities::Table)
                    .col(big_pk_auto(SsoIdentities::Id))
                    .col(big_integer(SsoIdentities::UserId))
                    .col(string(SsoIdentities::Provider))
                    .col(text(SsoIdentities::Issuer))
                    .col(text(SsoIdentities::Subject))
                    .col(text_null(SsoIdentities::Email))
                    .col(big_integer(SsoIdentities::CreatedAt))
                    .col(big_integer_null(SsoIdentities::LastLoginAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sso_identities_user")
                            .from(SsoIdentities::Table, SsoIdentities::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sso_identities_issuer_subject")
                    .table(SsoIdentities::Table)
                    .col(SsoIdentities::Issuer)
                    .col(SsoIdentities::Subject)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // One identity per account and issuer (two people at one provider
        // with one verified address cannot both link, even at once).
        manager
            .create_index(
                Index::create()
                    .name("idx_sso_identities_user_issuer")
                    .table(SsoIdentities::Table)
                    .col(SsoIdentities::UserId)
                    .col(SsoIdentities::Issuer)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SsoFlows::Table)
                    .col(string(SsoFlows::StateDigest).primary_key())
                    .col(string(SsoFlows::Provider))
                    .col(string_null(SsoFlows::InviteDigest))
                    .col(text_null(SsoFlows::Next))
                    .col(string_null(SsoFlows::ThrottleKey))
                    .col(big_integer(SsoFlows::CreatedAt))
                    .col(big_integer(SsoFlows::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sso_flows_expires_at")
                    .table(SsoFlows::Table)
                    .col(SsoFlows::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SsoFlows::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SsoIdentities::Table).to_owned())
            .await
    }
}
