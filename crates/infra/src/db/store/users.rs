//! [`UserStore`]: users, and the one write that creates an account.

use accounts::{Email, PasswordHashString};
use app::{
    AccountPlacement, CreatedAccount, NewAccount, StoreError, UserChanges, UserRecord, UserStore,
    UserWithRole,
};
use orgs::Role;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};

use super::orgs::{insert_membership, insert_org};
use super::rows::{role, user_record};
use super::txn::Write;
use super::{R, SeaStore, backend, email_taken_or_backend};
use crate::db::entities::{
    api_tokens, memberships, organizations, personal_tokens, sessions, users,
};

pub(super) async fn end_sessions(conn: &impl ConnectionTrait, user_id: i64) -> R<()> {
    sessions::Entity::delete_many()
        .filter(sessions::Column::UserId.eq(user_id))
        .exec(conn)
        .await
        .map_err(backend)?;
    Ok(())
}

/// Ends every session of the user but `keep` (the one a password change
/// was made in).
pub(super) async fn end_sessions_but(
    conn: &impl ConnectionTrait,
    user_id: i64,
    keep: Option<&accounts::SecretDigest>,
) -> R<()> {
    let mut q = sessions::Entity::delete_many().filter(sessions::Column::UserId.eq(user_id));
    if let Some(keep) = keep {
        q = q.filter(sessions::Column::Digest.ne(keep.to_hex()));
    }
    q.exec(conn).await.map_err(backend)?;
    Ok(())
}

/// Sets one column of a user (and `updated_at`), in the open transaction;
/// `NotFound` for an unknown user.
pub(super) async fn set_user_column(
    w: &Write,
    user_id: i64,
    column: users::Column,
    value: sea_orm::Value,
    now: i64,
) -> R<()> {
    let res = users::Entity::update_many()
        .col_expr(column, Expr::value(value))
        .col_expr(users::Column::UpdatedAt, Expr::value(now))
        .filter(users::Column::Id.eq(user_id))
        .exec(&**w)
        .await
        .map_err(backend)?;
    if res.rows_affected == 0 {
        return Err(StoreError::NotFound("User"));
    }
    Ok(())
}

impl SeaStore {
    /// Reads a user, lets `edit` change it, and saves it with `updated_at`,
    /// in one transaction; `NotFound` for an unknown user.
    async fn edit_user(
        &self,
        user_id: i64,
        now: i64,
        edit: impl FnOnce(&mut users::ActiveModel) + Send,
    ) -> R<UserRecord> {
        let w = self.write().await?;
        let work = async {
            let user = users::Entity::find_by_id(user_id)
                .one(&*w)
                .await
                .map_err(backend)?
                .ok_or(StoreError::NotFound("User"))?;
            let mut active: users::ActiveModel = user.into();
            edit(&mut active);
            active.updated_at = Set(now);
            active.update(&*w).await.map_err(backend)
        }
        .await;
        user_record(w.finish(work).await?)
    }

    async fn create_account_in(w: &Write, new: NewAccount) -> R<CreatedAccount> {
        let taken = users::Entity::find()
            .filter(users::Column::Email.eq(new.email.as_str()))
            .count(&**w)
            .await
            .map_err(backend)?;
        if taken > 0 {
            return Err(StoreError::EmailTaken);
        }
        let (org, role, created_organization) = match &new.placement {
            AccountPlacement::Join {
                organization_id,
                role,
                invite,
            } => {
                let org = organizations::Entity::find_by_id(*organization_id)
                    .one(&**w)
                    .await
                    .map_err(backend)?
                    .ok_or(StoreError::NotFound("Organization"))?;
                // Read inside the write transaction, which every invite
                // rotation also takes: a reset before this point is seen.
                if let Some(d) = invite
                    && org.invite_digest != d.to_hex()
                    && org.legacy_invite_digest != Some(d.to_hex())
                {
                    return Err(StoreError::InviteRetired);
                }
                (org, *role, false)
            }
            AccountPlacement::Invited {
                organization_id,
                role,
                ..
            } => {
                let org = organizations::Entity::find_by_id(*organization_id)
                    .one(&**w)
                    .await
                    .map_err(backend)?
                    .ok_or(StoreError::NotFound("Organization"))?;
                (org, *role, false)
            }
            AccountPlacement::JoinFirstOrCreate {
                role,
                title,
                invite,
                invite_digest,
            } => {
                let first = organizations::Entity::find()
                    .order_by_asc(organizations::Column::Id)
                    .one(&**w)
                    .await
                    .map_err(backend)?;
                match first {
                    Some(org) => (org, *role, false),
                    None => (
                        insert_org(w, title.as_str(), invite, invite_digest, new.now).await?,
                        Role::Owner,
                        true,
                    ),
                }
            }
        };
        let user = users::ActiveModel {
            email: Set(new.email.as_str().to_owned()),
            username: Set(new.username.as_str().to_owned()),
            first_name: Set(new.first_name.clone()),
            last_name: Set(new.last_name.clone()),
            phone: Set(String::new()),
            password_hash: Set(new.password_hash.as_ref().map(|h| h.as_str().to_owned())),
            is_active: Set(true),
            active_organization_id: Set(Some(org.id)),
            allow_newsletters: Set(false),
            custom_hotkeys: Set("{}".to_owned()),
            date_joined: Set(new.now),
            last_activity: Set(None),
            updated_at: Set(new.now),
            ..Default::default()
        }
        .insert(&**w)
        .await
        .map_err(email_taken_or_backend)?;
        if created_organization {
            organizations::Entity::update_many()
                .col_expr(organizations::Column::CreatedBy, Expr::value(user.id))
                .filter(organizations::Column::Id.eq(org.id))
                .exec(&**w)
                .await
                .map_err(backend)?;
        }
        insert_membership(w, user.id, org.id, role, new.now).await?;
        super::audit::complete_pending(user.id, org.id);
        if let AccountPlacement::Invited { invitation, .. } = &new.placement {
            super::invitations::consume_invitation(w, invitation, org.id, user.id, new.now).await?;
        }
        api_tokens::ActiveModel {
            user_id: Set(user.id),
            digest: Set(new.token_digest.to_hex()),
            created_at: Set(new.now),
            ..Default::default()
        }
        .insert(&**w)
        .await
        .map_err(backend)?;
        if let Some(identity) = new.identity {
            super::sso::insert_identity(w, user.id, identity).await?;
        }
        Ok(CreatedAccount {
            user: user_record(user)?,
            organization_id: org.id,
            role,
            created_organization,
        })
    }
}

impl UserStore for SeaStore {
    async fn create_account(&self, new: NewAccount) -> R<CreatedAccount> {
        let w = self.write().await?;
        let work = Self::create_account_in(&w, new).await;
        // Two racing sign-ups for one email: the unique index refuses one
        // at its insert or, on PostgreSQL, at its commit.
        w.finish_mapping(work, email_taken_or_backend).await
    }

    async fn user_by_email(&self, email: &Email) -> R<Option<UserRecord>> {
        users::Entity::find()
            .filter(users::Column::Email.eq(email.as_str()))
            .one(&self.db)
            .await
            .map_err(backend)?
            .map(user_record)
            .transpose()
    }

    async fn user_by_id(&self, id: i64) -> R<Option<UserRecord>> {
        users::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(backend)?
            .map(user_record)
            .transpose()
    }

    async fn list_users(&self) -> R<Vec<UserWithRole>> {
        let users = users::Entity::find()
            .order_by_asc(users::Column::Id)
            .all(&self.db)
            .await
            .map_err(backend)?;
        let members = memberships::Entity::find()
            .filter(memberships::Column::RemovedAt.is_null())
            .all(&self.db)
            .await
            .map_err(backend)?;
        let roles: std::collections::HashMap<(i64, i64), String> = members
            .into_iter()
            .map(|m| ((m.user_id, m.organization_id), m.role))
            .collect();
        users
            .into_iter()
            .map(|u| {
                let role = u
                    .active_organization_id
                    .and_then(|org| roles.get(&(u.id, org)))
                    .map(|r| role(r))
                    .transpose()?;
                Ok(UserWithRole {
                    user: user_record(u)?,
                    role,
                })
            })
            .collect()
    }

    async fn user_count(&self) -> R<u64> {
        users::Entity::find().count(&self.db).await.map_err(backend)
    }

    async fn set_password_hash(&self, user_id: i64, hash: PasswordHashString, now: i64) -> R<()> {
        let w = self.write().await?;
        let work = async {
            let hash = sea_orm::Value::from(hash.as_str().to_owned());
            set_user_column(&w, user_id, users::Column::PasswordHash, hash, now).await?;
            // A new password revokes the account's device cookies too.
            crate::db::entities::device_cookies::Entity::delete_many()
                .filter(crate::db::entities::device_cookies::Column::UserId.eq(user_id))
                .exec(&*w)
                .await
                .map_err(backend)?;
            // A new password kills the reset link (issue 17).
            crate::db::entities::password_resets::Entity::delete_many()
                .filter(crate::db::entities::password_resets::Column::UserId.eq(user_id))
                .exec(&*w)
                .await
                .map_err(backend)?;
            end_sessions(&*w, user_id).await
        }
        .await;
        w.finish(work).await
    }

    async fn upgrade_password_hash(
        &self,
        user_id: i64,
        old: &PasswordHashString,
        new: PasswordHashString,
        now: i64,
    ) -> R<bool> {
        // One statement: it changes the row only while it holds `old`.
        let _slot = self.writer_slot().await;
        let res = users::Entity::update_many()
            .col_expr(users::Column::PasswordHash, Expr::value(new.as_str()))
            .col_expr(users::Column::UpdatedAt, Expr::value(now))
            .filter(users::Column::Id.eq(user_id))
            .filter(users::Column::PasswordHash.eq(old.as_str()))
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(res.rows_affected > 0)
    }

    async fn set_active(&self, user_id: i64, active: bool, now: i64) -> R<()> {
        let w = self.write().await?;
        let work = async {
            set_user_column(&w, user_id, users::Column::IsActive, active.into(), now).await?;
            if !active {
                end_sessions(&*w, user_id).await?;
            }
            Ok(())
        }
        .await;
        w.finish(work).await
    }

    async fn update_user(&self, user_id: i64, changes: UserChanges, now: i64) -> R<UserRecord> {
        self.edit_user(user_id, now, |active| {
            if let Some(v) = changes.first_name {
                active.first_name = Set(v);
            }
            if let Some(v) = changes.last_name {
                active.last_name = Set(v);
            }
            if let Some(v) = changes.username {
                active.username = Set(v.as_str().to_owned());
            }
            if let Some(v) = changes.phone {
                active.phone = Set(v);
            }
            if let Some(v) = changes.allow_newsletters {
                active.allow_newsletters = Set(v);
            }
            if let Some(v) = changes.active_organization {
                active.active_organization_id = Set(Some(v));
            }
        })
        .await
    }

    async fn set_hotkeys(&self, user_id: i64, stored: String, now: i64) -> R<UserRecord> {
        self.edit_user(user_id, now, |active| active.custom_hotkeys = Set(stored))
            .await
    }

    async fn record_activity(&self, user_id: i64, now: i64, unless_after: i64) -> R<bool> {
        // One statement, no transaction around it: nothing else depends on
        // it, and a lost one is made up by the next request.
        let _slot = self.writer_slot().await;
        let res = users::Entity::update_many()
            .col_expr(users::Column::LastActivity, Expr::value(now))
            .filter(users::Column::Id.eq(user_id))
            .filter(
                sea_orm::Condition::any()
                    .add(users::Column::LastActivity.is_null())
                    .add(users::Column::LastActivity.lt(unless_after)),
            )
            .exec(&self.db)
            .await
            .map_err(backend)?;
        let wrote = res.rows_affected > 0;
        if wrote {
            self.activity_writes
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(wrote)
    }

    async fn delete_user(&self, user_id: i64) -> R<()> {
        let w = self.write().await?;
        let work = async {
            // Explicit, so the result does not depend on foreign-key enforcement.
            end_sessions(&*w, user_id).await?;
            api_tokens::Entity::delete_many()
                .filter(api_tokens::Column::UserId.eq(user_id))
                .exec(&*w)
                .await
                .map_err(backend)?;
            personal_tokens::Entity::delete_many()
                .filter(personal_tokens::Column::UserId.eq(user_id))
                .exec(&*w)
                .await
                .map_err(backend)?;
            memberships::Entity::delete_many()
                .filter(memberships::Column::UserId.eq(user_id))
                .exec(&*w)
                .await
                .map_err(backend)?;
            organizations::Entity::update_many()
                .col_expr(
                    organizations::Column::CreatedBy,
                    Expr::value(Option::<i64>::None),
                )
                .filter(organizations::Column::CreatedBy.eq(user_id))
                .exec(&*w)
                .await
                .map_err(backend)?;
            let res = users::Entity::delete_by_id(user_id)
                .exec(&*w)
                .await
                .map_err(backend)?;
            if res.rows_affected == 0 {
                return Err(StoreError::NotFound("User"));
            }
            Ok(())
        }
        .await;
        w.finish(work).await
    }
}
