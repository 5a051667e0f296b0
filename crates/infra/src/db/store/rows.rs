//! Rows to records and back, and the joins several aggregates share.

use accounts::{Email, PasswordHashString};
use app::{CallerRecord, MembershipRecord, OrgRecord, PersonalTokenRecord, UserRecord};
use invites::InviteState;
use orgs::{Role, TokenSettings};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, JoinType, Query, SelectStatement};
use sea_orm::{FromQueryResult, IdenStatic, Iterable, QueryResult, TryGetError};

use super::{R, backend};
use crate::db::entities::{memberships, organizations, personal_tokens, users};
use app::StoreError;

pub(super) fn user_record(m: users::Model) -> R<UserRecord> {
    let email = Email::parse(&m.email)
        .map_err(|_| StoreError::Corrupt(format!("user {} has a bad email", m.id)))?;
    Ok(UserRecord {
        id: m.id,
        email,
        username: m.username,
        first_name: m.first_name,
        last_name: m.last_name,
        phone: m.phone,
        is_active: m.is_active,
        password_hash: m.password_hash.map(PasswordHashString::from_stored),
        active_organization: m.active_organization_id,
        date_joined: m.date_joined,
        last_activity: m.last_activity,
        allow_newsletters: m.allow_newsletters,
        custom_hotkeys: m.custom_hotkeys,
    })
}

pub(super) fn personal_token_record(m: personal_tokens::Model) -> PersonalTokenRecord {
    PersonalTokenRecord {
        jti: m.jti,
        user_id: m.user_id,
        created_at: m.created_at,
        expires_at: m.expires_at,
        revoked_at: m.revoked_at,
        last_used_at: m.last_used_at,
    }
}

pub(super) fn role(s: &str) -> R<Role> {
    Role::parse(s).map_err(|_| StoreError::Corrupt(format!("unknown role {s:?}")))
}

pub(super) fn salt_hex(salt: &[u8; invites::SALT_LEN]) -> String {
    hex::encode(salt)
}

fn salt_from_hex(s: &str) -> R<[u8; invites::SALT_LEN]> {
    let mut out = [0u8; invites::SALT_LEN];
    hex::decode_to_slice(s, &mut out).map_err(|_| StoreError::Corrupt("bad invite salt".into()))?;
    Ok(out)
}

pub(super) fn generation_i64(state: &InviteState) -> R<i64> {
    i64::try_from(state.generation())
        .map_err(|_| StoreError::Corrupt("invite generation overflow".into()))
}

pub(super) fn org_record(m: organizations::Model) -> R<OrgRecord> {
    let generation = u64::try_from(m.invite_generation)
        .map_err(|_| StoreError::Corrupt("negative invite generation".into()))?;
    Ok(OrgRecord {
        id: m.id,
        title: m.title,
        contact_info: m.contact_info,
        created_by: m.created_by,
        invite: InviteState::from_stored(generation, salt_from_hex(&m.invite_salt)?),
        tokens: TokenSettings {
            api_tokens_enabled: m.api_tokens_enabled,
            legacy_api_tokens_enabled: m.legacy_api_tokens_enabled,
            api_token_ttl_days: u32::try_from(m.api_token_ttl_days)
                .map_err(|_| StoreError::Corrupt("negative token lifetime".into()))?,
        },
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

pub(super) fn membership_record(m: memberships::Model) -> R<MembershipRecord> {
    Ok(MembershipRecord {
        id: m.id,
        user_id: m.user_id,
        organization_id: m.organization_id,
        role: role(&m.role)?,
        created_at: m.created_at,
        removed_at: m.removed_at,
    })
}

/// Adds every column of `table`'s entity as `prefix` + its name, for
/// `Model::from_query_result(row, prefix)`.
pub(super) fn select_prefixed<C: sea_orm::ColumnTrait + Iterable + IdenStatic>(
    q: &mut SelectStatement,
    table: &Alias,
    prefix: &str,
) {
    for c in C::iter() {
        q.expr_as(
            Expr::col((table.clone(), c)),
            Alias::new(format!("{prefix}{}", c.as_str())),
        );
    }
}

/// `FROM memberships m JOIN users u` for the current members of `org_id`;
/// the caller picks the columns.
pub(super) fn current_members(org_id: i64) -> SelectStatement {
    let (m, u) = (Alias::new("m"), Alias::new("u"));
    let mut q = Query::select();
    q.from_as(memberships::Entity, m.clone())
        .join_as(
            JoinType::InnerJoin,
            users::Entity,
            u.clone(),
            Expr::col((u, users::Column::Id))
                .eq(Expr::col((m.clone(), memberships::Column::UserId))),
        )
        .and_where(Expr::col((m.clone(), memberships::Column::OrganizationId)).eq(org_id))
        .and_where(Expr::col((m, memberships::Column::RemovedAt)).is_null());
    q
}

/// `SELECT` the caller's user (`u.*`), their membership in the active
/// organization (`m_…`), that organization (`o_…`) and its owner's email,
/// from the credential table `from` (aliased `t`) whose `user` column names
/// the user. The caller adds the credential's conditions.
pub(super) fn caller_select(
    from: impl sea_orm::sea_query::IntoTableRef,
    user: Expr,
) -> SelectStatement {
    let (t, u, m, o, ow) = (
        Alias::new("t"),
        Alias::new("u"),
        Alias::new("m"),
        Alias::new("o"),
        Alias::new("ow"),
    );
    let mut q = Query::select();
    q.column((u.clone(), Asterisk));
    select_prefixed::<memberships::Column>(&mut q, &m, "m_");
    select_prefixed::<organizations::Column>(&mut q, &o, "o_");
    q.expr_as(
        Expr::col((ow.clone(), users::Column::Email)),
        Alias::new("owner_email"),
    )
    .from_as(from, t)
    .join_as(
        JoinType::InnerJoin,
        users::Entity,
        u.clone(),
        Expr::col((u.clone(), users::Column::Id)).eq(user),
    )
    .join_as(
        JoinType::LeftJoin,
        memberships::Entity,
        m.clone(),
        Expr::col((m.clone(), memberships::Column::UserId))
            .eq(Expr::col((u.clone(), users::Column::Id)))
            .and(
                Expr::col((m, memberships::Column::OrganizationId))
                    .eq(Expr::col((u.clone(), users::Column::ActiveOrganizationId))),
            ),
    )
    .join_as(
        JoinType::LeftJoin,
        organizations::Entity,
        o.clone(),
        Expr::col((o.clone(), organizations::Column::Id))
            .eq(Expr::col((u, users::Column::ActiveOrganizationId))),
    )
    .join_as(
        JoinType::LeftJoin,
        users::Entity,
        ow.clone(),
        Expr::col((ow, users::Column::Id)).eq(Expr::col((o, organizations::Column::CreatedBy))),
    );
    q
}

/// A LEFT JOINed model: `None` when its columns are NULL.
fn optional<M>(r: Result<M, TryGetError>) -> R<Option<M>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(TryGetError::Null(_)) => Ok(None),
        Err(TryGetError::DbErr(e)) => Err(backend(e)),
    }
}

/// The row of a [`caller_select`].
pub(super) fn caller_record(row: &QueryResult) -> R<CallerRecord> {
    let user = users::Model::from_query_result(row, "").map_err(backend)?;
    let membership = optional(memberships::Model::from_query_result_nullable(row, "m_"))?;
    let organization = optional(organizations::Model::from_query_result_nullable(row, "o_"))?;
    let owner_email: Option<String> = row.try_get("", "owner_email").map_err(backend)?;
    Ok(CallerRecord {
        user: user_record(user)?,
        membership: membership.map(membership_record).transpose()?,
        organization: organization.map(org_record).transpose()?,
        owner_email,
    })
}
