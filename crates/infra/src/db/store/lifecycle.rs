//! [`LifecycleStore`]: a password changed by its owner or through a reset
//! link, the reset links themselves (by digest only), and ownership moving.
//! Each is one write transaction; the conditions that must hold under races
//! are part of the statements (`WHERE … AND expires_at > now`, `AND role =
//! 'owner'`), so PostgreSQL's row locks decide between racing requests as
//! SQLite's single writer does.

use accounts::SecretDigest;
use app::{LifecycleStore, PasswordChange, ResetLinkRecord, StoreError};
use orgs::Role;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::txn::Write;
use super::users::{end_sessions_but, set_user_column};
use super::{R, SeaStore, backend, is_unique_violation};
use crate::db::entities::{
    api_tokens, device_cookies, memberships, organizations, password_resets, personal_tokens, users,
};

/// The change, inside an open write.
async fn apply(w: &Write, c: PasswordChange) -> R<()> {
    let user_id = c.user_id;
    let hash = sea_orm::Value::from(c.hash.as_str().to_owned());
    set_user_column(w, user_id, users::Column::PasswordHash, hash, c.now).await?;
    end_sessions_but(&**w, user_id, c.keep_session.as_ref()).await?;
    let mut devices =
        device_cookies::Entity::delete_many().filter(device_cookies::Column::UserId.eq(user_id));
    if let Some(keep) = &c.keep_device {
        devices = devices.filter(device_cookies::Column::Digest.ne(keep.to_hex()));
    }
    devices.exec(&**w).await.map_err(backend)?;
    personal_tokens::Entity::update_many()
        .col_expr(personal_tokens::Column::RevokedAt, Expr::value(c.now))
        .filter(personal_tokens::Column::UserId.eq(user_id))
        .filter(personal_tokens::Column::RevokedAt.is_null())
        .exec(&**w)
        .await
        .map_err(backend)?;
    password_resets::Entity::delete_many()
        .filter(password_resets::Column::UserId.eq(user_id))
        .exec(&**w)
        .await
        .map_err(backend)?;
    if let Some(digest) = c.new_token {
        api_tokens::Entity::delete_many()
            .filter(api_tokens::Column::UserId.eq(user_id))
            .exec(&**w)
            .await
            .map_err(backend)?;
        api_tokens::ActiveModel {
            user_id: Set(user_id),
            digest: Set(digest.to_hex()),
            created_at: Set(c.now),
            ..Default::default()
        }
        .insert(&**w)
        .await
        .map_err(backend)?;
    }
    Ok(())
}

/// Sets `role` on a current membership only while its role is `was`; the
/// number of rows changed (0 or 1).
async fn swap_role(w: &Write, org_id: i64, user_id: i64, was: Option<Role>, role: Role) -> R<u64> {
    let mut q = memberships::Entity::update_many()
        .col_expr(memberships::Column::Role, Expr::value(role.as_str()))
        .filter(memberships::Column::UserId.eq(user_id))
        .filter(memberships::Column::OrganizationId.eq(org_id))
        .filter(memberships::Column::RemovedAt.is_null());
    q = match was {
        Some(r) => q.filter(memberships::Column::Role.eq(r.as_str())),
        None => q.filter(memberships::Column::Role.ne(Role::Owner.as_str())),
    };
    Ok(q.exec(&**w).await.map_err(backend)?.rows_affected)
}

impl LifecycleStore for SeaStore {
    async fn change_password(&self, change: PasswordChange) -> R<()> {
        let w = self.write().await?;
        let work = apply(&w, change).await;
        w.finish(work).await
    }

    async fn create_reset_link(&self, digest: SecretDigest, link: ResetLinkRecord) -> R<()> {
        let w = self.write().await?;
        let work = async {
            let known = users::Entity::find_by_id(link.user_id)
                .one(&*w)
                .await
                .map_err(backend)?;
            if known.is_none() {
                return Err(StoreError::NotFound("User"));
            }
            password_resets::Entity::delete_many()
                .filter(password_resets::Column::UserId.eq(link.user_id))
                .exec(&*w)
                .await
                .map_err(backend)?;
            password_resets::ActiveModel {
                digest: Set(digest.to_hex()),
                user_id: Set(link.user_id),
                created_by: Set(link.created_by),
                created_at: Set(link.created_at),
                expires_at: Set(link.expires_at),
            }
            .insert(&*w)
            .await
            .map_err(|e| {
                // Two links made for one user at the same moment on
                // PostgreSQL: the unique index keeps one.
                if is_unique_violation(&e, "password_resets") {
                    StoreError::Conflict("a reset link was made meanwhile")
                } else {
                    backend(e)
                }
            })?;
            Ok(())
        }
        .await;
        w.finish(work).await
    }

    async fn reset_link(&self, digest: &SecretDigest, now: i64) -> R<Option<ResetLinkRecord>> {
        let row = password_resets::Entity::find_by_id(digest.to_hex())
            .filter(password_resets::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await
            .map_err(backend)?;
        Ok(row.map(|m| ResetLinkRecord {
            user_id: m.user_id,
            created_by: m.created_by,
            created_at: m.created_at,
            expires_at: m.expires_at,
        }))
    }

    async fn use_reset_link(&self, digest: &SecretDigest, change: PasswordChange) -> R<bool> {
        let w = self.write().await?;
        let work = async {
            // The delete is the claim: of two uses at once, one deletes the row.
            let taken = password_resets::Entity::delete_many()
                .filter(password_resets::Column::Digest.eq(digest.to_hex()))
                .filter(password_resets::Column::UserId.eq(change.user_id))
                .filter(password_resets::Column::ExpiresAt.gt(change.now))
                .exec(&*w)
                .await
                .map_err(backend)?
                .rows_affected;
            if taken == 0 {
                return Ok(false);
            }
            apply(&w, change).await?;
            Ok(true)
        }
        .await;
        w.finish_when(work).await
    }

    async fn transfer_ownership(&self, org_id: i64, from: i64, to: i64) -> R<()> {
        if from == to {
            return Err(StoreError::Conflict("ownership moved meanwhile"));
        }
        let w = self.write().await?;
        let work = async {
            let moved = StoreError::Conflict("ownership moved meanwhile");
            if swap_role(&w, org_id, from, Some(Role::Owner), Role::Administrator).await? != 1 {
                return Err(moved);
            }
            if swap_role(&w, org_id, to, None, Role::Owner).await? != 1 {
                return Err(moved);
            }
            organizations::Entity::update_many()
                .col_expr(organizations::Column::CreatedBy, Expr::value(to))
                .filter(organizations::Column::Id.eq(org_id))
                .exec(&*w)
                .await
                .map_err(backend)?;
            Ok(())
        }
        .await;
        w.finish(work).await
    }

    async fn owner_of(&self, org_id: i64) -> R<Option<i64>> {
        let row = memberships::Entity::find()
            .filter(memberships::Column::OrganizationId.eq(org_id))
            .filter(memberships::Column::RemovedAt.is_null())
            .filter(memberships::Column::Role.eq(Role::Owner.as_str()))
            .one(&self.db)
            .await
            .map_err(backend)?;
        Ok(row.map(|m| m.user_id))
    }
}
