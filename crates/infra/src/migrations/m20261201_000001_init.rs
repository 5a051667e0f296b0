use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Title,
    ContactInfo,
    CreatedBy,
    InviteGeneration,
    InviteSalt,
    InviteDigest,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    Username,
    FirstName,
    LastName,
    Phone,
    PasswordHash,
    IsActive,
    ActiveOrganizationId,
    AllowNewsletters,
    CustomHotkeys,
    DateJoined,
    LastActivity,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
    UserId,
    OrganizationId,
    Role,
    CreatedAt,
    RemovedAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    Digest,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    Digest,
    UserId,
    CreatedAt,
    ExpiresAt,
    LastSeenAt,
}

#[derive(DeriveIden)]
enum RetiredInvites {
    Table,
    Id,
    OrganizationId,
    Digest,
    RetiredAt,
}

#[derive(DeriveIden)]
enum Deployment {
    Table,
    Id,
    WriteCounter,
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(on_delete)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Deployment::Table)
                    .col(integer(Deployment::Id).primary_key())
                    .col(big_integer(Deployment::WriteCounter).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(Deployment::Table)
                    .columns([Deployment::Id, Deployment::WriteCounter])
                    .values_panic([1.into(), 0.into()])
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Organizations::Table)
                    .col(big_pk_auto(Organizations::Id))
                    .col(string(Organizations::Title))
                    .col(string_null(Organizations::ContactInfo))
                    .col(big_integer_null(Organizations::CreatedBy))
                    .col(big_integer(Organizations::InviteGeneration))
                    .col(string(Organizations::InviteSalt))
                    .col(string_uniq(Organizations::InviteDigest))
                    .col(big_integer(Organizations::CreatedAt))
                    .col(big_integer(Organizations::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(big_pk_auto(Users::Id))
                    .col(string_uniq(Users::Email))
                    .col(string(Users::Username))
                    .col(string(Users::FirstName).default(""))
                    .col(string(Users::LastName).default(""))
                    .col(string(Users::Phone).default(""))
                    .col(text_null(Users::PasswordHash))
                    .col(boolean(Users::IsActive).default(true))
                    .col(big_integer_null(Users::ActiveOrganizationId))
                    .col(boolean(Users::AllowNewsletters).default(false))
                    .col(text(Users::CustomHotkeys).default("{}"))
                    .col(big_integer(Users::DateJoined))
                    .col(big_integer_null(Users::LastActivity))
                    .col(big_integer(Users::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_users_active_org",
                        (Users::Table, Users::ActiveOrganizationId),
                        (Organizations::Table, Organizations::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .col(big_pk_auto(Memberships::Id))
                    .col(big_integer(Memberships::UserId))
                    .col(big_integer(Memberships::OrganizationId))
                    .col(string(Memberships::Role))
                    .col(big_integer(Memberships::CreatedAt))
                    .col(big_integer_null(Memberships::RemovedAt))
                    .foreign_key(&mut fk(
                        "fk_memberships_user",
                        (Memberships::Table, Memberships::UserId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_memberships_org",
                        (Memberships::Table, Memberships::OrganizationId),
                        (Organizations::Table, Organizations::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_memberships_user_org")
                    .table(Memberships::Table)
                    .col(Memberships::UserId)
                    .col(Memberships::OrganizationId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_memberships_org")
                    .table(Memberships::Table)
                    .col(Memberships::OrganizationId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(big_pk_auto(ApiTokens::Id))
                    .col(big_integer_uniq(ApiTokens::UserId))
                    .col(string_uniq(ApiTokens::Digest))
                    .col(big_integer(ApiTokens::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_api_tokens_user",
                        (ApiTokens::Table, ApiTokens::UserId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(big_pk_auto(Sessions::Id))
                    .col(string_uniq(Sessions::Digest))
                    .col(big_integer(Sessions::UserId))
                    .col(big_integer(Sessions::CreatedAt))
                    .col(big_integer(Sessions::ExpiresAt))
                    .col(big_integer(Sessions::LastSeenAt))
                    .foreign_key(&mut fk(
                        "fk_sessions_user",
                        (Sessions::Table, Sessions::UserId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sessions_user")
                    .table(Sessions::Table)
                    .col(Sessions::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RetiredInvites::Table)
                    .col(big_pk_auto(RetiredInvites::Id))
                    .col(big_integer(RetiredInvites::OrganizationId))
                    .col(string_uniq(RetiredInvites::Digest))
                    .col(big_integer(RetiredInvites::RetiredAt))
                    .foreign_key(&mut fk(
                        "fk_retired_invites_org",
                        (RetiredInvites::Table, RetiredInvites::OrganizationId),
                        (Organizations::Table, Organizations::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RetiredInvites::Table.into_iden(),
            Sessions::Table.into_iden(),
            ApiTokens::Table.into_iden(),
            Memberships::Table.into_iden(),
            Users::Table.into_iden(),
            Organizations::Table.into_iden(),
            Deployment::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
