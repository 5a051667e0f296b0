//! [`InvitationStore`]: invitations of one person, by digest only. Their
//! use is claimed inside the account's own transaction
//! ([`consume_invitation`]), by an UPDATE whose conditions (pending, live,
//! this digest) PostgreSQL's row lock and SQLite's single writer decide.

use accounts::SecretDigest;
use app::{InvitationRecord, InvitationStore, MailKind, NewInvitation, StoreError};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::mail::enqueue_in;
use super::rows::role;
use super::txn::Write;
use super::{R, SeaStore, backend};
use crate::db::entities::{invitations, organizations};

fn record(m: invitations::Model) -> R<InvitationRecord> {
    Ok(InvitationRecord {
        id: m.id,
        organization_id: m.organization_id,
        email: m.email,
        role: role(&m.role)?,
        created_by: m.created_by,
        created_at: m.created_at,
        expires_at: m.expires_at,
    })
}

/// Pending: neither accepted nor revoked.
fn pending() -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(invitations::Column::AcceptedAt.is_null())
        .add(invitations::Column::RevokedAt.is_null())
}

/// Uses the invitation up for the account `user_id` in the account's
/// write: `InviteRetired` unless it is pending, live at `now`, for this
/// organization.
pub(super) async fn consume_invitation(
    w: &Write,
    digest: &SecretDigest,
    organization_id: i64,
    user_id: i64,
    now: i64,
) -> R<()> {
    let used = invitations::Entity::update_many()
        .col_expr(invitations::Column::AcceptedAt, Expr::value(now))
        .col_expr(invitations::Column::AcceptedUserId, Expr::value(user_id))
        .filter(invitations::Column::Digest.eq(digest.to_hex()))
        .filter(invitations::Column::OrganizationId.eq(organization_id))
        .filter(invitations::Column::ExpiresAt.gt(now))
        .filter(pending())
        .exec(&**w)
        .await
        .map_err(backend)?
        .rows_affected;
    if used == 1 {
        Ok(())
    } else {
        Err(StoreError::InviteRetired)
    }
}

impl InvitationStore for SeaStore {
    async fn create_invitation(&self, new: NewInvitation) -> R<InvitationRecord> {
        let w = self.write().await?;
        let work = async {
            organizations::Entity::find_by_id(new.organization_id)
                .one(&*w)
                .await
                .map_err(backend)?
                .ok_or(StoreError::NotFound("Organization"))?;
            // One pending invitation per organization and address.
            invitations::Entity::update_many()
                .col_expr(invitations::Column::RevokedAt, Expr::value(new.now))
                .filter(invitations::Column::OrganizationId.eq(new.organization_id))
                .filter(invitations::Column::Email.eq(new.email.as_str()))
                .filter(pending())
                .exec(&*w)
                .await
                .map_err(backend)?;
            let m = invitations::ActiveModel {
                organization_id: Set(new.organization_id),
                email: Set(new.email.clone()),
                role: Set(new.role.as_str().to_owned()),
                digest: Set(new.digest.to_hex()),
                created_by: Set(new.created_by),
                created_at: Set(new.now),
                expires_at: Set(new.expires_at),
                accepted_at: Set(None),
                accepted_user_id: Set(None),
                revoked_at: Set(None),
                ..Default::default()
            }
            .insert(&*w)
            .await
            .map_err(backend)?;
            if new.mail {
                enqueue_in(&w, MailKind::Invitation, &new.email, Some(m.id), new.now).await?;
            }
            record(m)
        }
        .await;
        w.finish(work).await
    }

    async fn invitation_by_digest(
        &self,
        digest: &SecretDigest,
        now: i64,
    ) -> R<Option<InvitationRecord>> {
        invitations::Entity::find()
            .filter(invitations::Column::Digest.eq(digest.to_hex()))
            .filter(invitations::Column::ExpiresAt.gt(now))
            .filter(pending())
            .one(&self.db)
            .await
            .map_err(backend)?
            .map(record)
            .transpose()
    }

    async fn pending_invitations(
        &self,
        org_id: i64,
        now: i64,
        limit: usize,
    ) -> R<Vec<InvitationRecord>> {
        invitations::Entity::find()
            .filter(invitations::Column::OrganizationId.eq(org_id))
            .filter(invitations::Column::ExpiresAt.gt(now))
            .filter(pending())
            .order_by_desc(invitations::Column::Id)
            .limit(u64::try_from(limit).unwrap_or(u64::MAX))
            .all(&self.db)
            .await
            .map_err(backend)?
            .into_iter()
            .map(record)
            .collect()
    }

    async fn revoke_invitation(&self, org_id: i64, id: i64, now: i64) -> R<bool> {
        let w = self.write().await?;
        let work = invitations::Entity::update_many()
            .col_expr(invitations::Column::RevokedAt, Expr::value(now))
            .filter(invitations::Column::Id.eq(id))
            .filter(invitations::Column::OrganizationId.eq(org_id))
            .filter(pending())
            .exec(&*w)
            .await
            .map(|r| r.rows_affected == 1)
            .map_err(backend);
        w.finish_when(work).await
    }

    async fn reissue_invitation(
        &self,
        id: i64,
        digest: SecretDigest,
        now: i64,
    ) -> R<Option<InvitationRecord>> {
        let w = self.write().await?;
        let work = async {
            let changed = invitations::Entity::update_many()
                .col_expr(invitations::Column::Digest, Expr::value(digest.to_hex()))
                .filter(invitations::Column::Id.eq(id))
                .filter(invitations::Column::ExpiresAt.gt(now))
                .filter(pending())
                .exec(&*w)
                .await
                .map_err(backend)?
                .rows_affected;
            if changed == 0 {
                return Ok(None);
            }
            invitations::Entity::find_by_id(id)
                .one(&*w)
                .await
                .map_err(backend)?
                .map(record)
                .transpose()
        }
        .await;
        w.finish(work).await
    }
}
