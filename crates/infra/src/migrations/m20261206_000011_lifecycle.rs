//! The account lifecycle (issue 17): one-time password reset links, one
//! per user at most (a newer one replaces the older), stored only by the
//! keyed digest of their token, gone with their user; and when a personal
//! access token was last used (to make an access token), for the account
//! page; and the mail outbox (what to send to whom, never a secret: the
//! secret a mail carries is made when it is sent), claimed by a lease so
//! one instance sends each row; and invitations of one person by email
//! (by digest only; one pending per organization and address); and the
//! audit log, read newest first by id (keyset), per organization.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum PasswordResets {
    Table,
    Digest,
    UserId,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    Id,
    Kind,
    Recipient,
    Reference,
    Attempts,
    DueAt,
    LastError,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    OrganizationId,
    Email,
    Role,
    Digest,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    AcceptedAt,
    AcceptedUserId,
    RevokedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    Action,
    ActorId,
    Actor,
    TargetUserId,
    Target,
    OrganizationId,
    Client,
    Detail,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PersonalTokens {
    Table,
    LastUsedAt,
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
                    .table(PasswordResets::Table)
                    .col(string(PasswordResets::Digest).primary_key())
                    .col(big_integer(PasswordResets::UserId).unique_key())
                    .col(big_integer_null(PasswordResets::CreatedBy))
                    .col(big_integer(PasswordResets::CreatedAt))
                    .col(big_integer(PasswordResets::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_password_resets_user")
                            .from(PasswordResets::Table, PasswordResets::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_password_resets_created_by")
                            .from(PasswordResets::Table, PasswordResets::CreatedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MailOutbox::Table)
                    .col(big_pk_auto(MailOutbox::Id))
                    .col(string(MailOutbox::Kind))
                    .col(text(MailOutbox::Recipient))
                    .col(big_integer_null(MailOutbox::Reference))
                    .col(big_integer(MailOutbox::Attempts).default(0))
                    .col(big_integer(MailOutbox::DueAt))
                    .col(text_null(MailOutbox::LastError))
                    .col(big_integer(MailOutbox::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_mail_outbox_due_at")
                    .table(MailOutbox::Table)
                    .col(MailOutbox::DueAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Invitations::Table)
                    .col(big_pk_auto(Invitations::Id))
                    .col(big_integer(Invitations::OrganizationId))
                    .col(text(Invitations::Email))
                    .col(string(Invitations::Role))
                    .col(string(Invitations::Digest).unique_key())
                    .col(big_integer_null(Invitations::CreatedBy))
                    .col(big_integer(Invitations::CreatedAt))
                    .col(big_integer(Invitations::ExpiresAt))
                    .col(big_integer_null(Invitations::AcceptedAt))
                    .col(big_integer_null(Invitations::AcceptedUserId))
                    .col(big_integer_null(Invitations::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitations_organization")
                            .from(Invitations::Table, Invitations::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitations_created_by")
                            .from(Invitations::Table, Invitations::CreatedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitations_accepted_user")
                            .from(Invitations::Table, Invitations::AcceptedUserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_invitations_org_email")
                    .table(Invitations::Table)
                    .col(Invitations::OrganizationId)
                    .col(Invitations::Email)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(big_pk_auto(AuditLog::Id))
                    .col(big_integer(AuditLog::At))
                    .col(string(AuditLog::Action))
                    .col(big_integer_null(AuditLog::ActorId))
                    .col(text_null(AuditLog::Actor))
                    .col(big_integer_null(AuditLog::TargetUserId))
                    .col(text_null(AuditLog::Target))
                    .col(big_integer_null(AuditLog::OrganizationId))
                    .col(string_null(AuditLog::Client))
                    .col(text_null(AuditLog::Detail))
                    .to_owned(),
            )
            .await?;
        // Each organization's page, newest first; the instance's own
        // entries (no organization) the same way; retention by time.
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_org_id")
                    .table(AuditLog::Table)
                    .col(AuditLog::OrganizationId)
                    .col(AuditLog::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_at")
                    .table(AuditLog::Table)
                    .col(AuditLog::At)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(PersonalTokens::Table)
                    .add_column(big_integer_null(PersonalTokens::LastUsedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Invitations::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(MailOutbox::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(PersonalTokens::Table)
                    .drop_column(PersonalTokens::LastUsedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(PasswordResets::Table).to_owned())
            .await
    }
}
