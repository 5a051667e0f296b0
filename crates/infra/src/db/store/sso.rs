//! [`SsoStore`]: identities linked to accounts, and single sign-on flows
//! stored by the digest of their state.

use accounts::SecretDigest;
use app::{IdentityRecord, NewIdentity, NewSsoFlow, SsoFlowRecord, SsoStore, StoreError};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use super::txn::Write;
use super::{R, SeaStore, backend, is_unique_violation};
use crate::db::entities::{sessions, sso_flows, sso_identities, users};

fn identity_record(m: sso_identities::Model) -> IdentityRecord {
    IdentityRecord {
        id: m.id,
        user_id: m.user_id,
        provider: m.provider,
        issuer: m.issuer,
        subject: m.subject,
        email: m.email,
        created_at: m.created_at,
        last_login_at: m.last_login_at,
    }
}

/// Two logins racing to link one identity: the unique index keeps one.
pub(super) fn linked_or_backend(e: DbErr) -> StoreError {
    // SQLite names the columns (`sso_identities.issuer, …`), PostgreSQL the
    // index (`idx_sso_identities_…`): both carry the table's name.
    if is_unique_violation(&e, "sso_identities") {
        StoreError::Conflict("identity already linked")
    } else {
        backend(e)
    }
}

/// Links an identity inside a write (the account's own, for a new one).
pub(super) async fn insert_identity(w: &Write, user_id: i64, i: NewIdentity) -> R<IdentityRecord> {
    let taken = sso_identities::Entity::find()
        .filter(sso_identities::Column::Issuer.eq(i.issuer.as_str()))
        .filter(sso_identities::Column::Subject.eq(i.subject.as_str()))
        .one(&**w)
        .await
        .map_err(backend)?;
    if taken.is_some() {
        return Err(StoreError::Conflict("identity already linked"));
    }
    sso_identities::ActiveModel {
        user_id: Set(user_id),
        provider: Set(i.provider),
        issuer: Set(i.issuer),
        subject: Set(i.subject),
        email: Set(i.email),
        created_at: Set(i.now),
        last_login_at: Set(Some(i.now)),
        ..Default::default()
    }
    .insert(&**w)
    .await
    .map(identity_record)
    .map_err(linked_or_backend)
}

impl SsoStore for SeaStore {
    async fn create_sso_flow(&self, flow: NewSsoFlow) -> R<()> {
        let w = self.independent_write().await?;
        let work = async {
            sso_flows::Entity::delete_many()
                .filter(sso_flows::Column::ExpiresAt.lte(flow.now))
                .exec(&*w)
                .await
                .map_err(backend)?;
            sso_flows::ActiveModel {
                state_digest: Set(flow.state_digest.to_hex()),
                provider: Set(flow.provider),
                invite_digest: Set(flow.invite_digest.map(|d| d.to_hex())),
                next: Set(flow.next),
                throttle_key: Set(flow.throttle_key),
                created_at: Set(flow.now),
                expires_at: Set(flow.expires_at),
            }
            .insert(&*w)
            .await
            .map_err(backend)?;
            Ok(())
        }
        .await;
        w.finish(work).await
    }

    async fn take_sso_flow(
        &self,
        state_digest: &SecretDigest,
        now: i64,
    ) -> R<Option<SsoFlowRecord>> {
        let key = state_digest.to_hex();
        let w = self.independent_write().await?;
        let work = async {
            let Some(row) = sso_flows::Entity::find_by_id(key.clone())
                .one(&*w)
                .await
                .map_err(backend)?
            else {
                return Ok(None);
            };
            // Of two takers, the second's delete finds no row (it waits for
            // the first's commit on PostgreSQL, then sees it gone).
            let deleted = sso_flows::Entity::delete_by_id(key.clone())
                .exec(&*w)
                .await
                .map_err(backend)?;
            if deleted.rows_affected != 1 || row.expires_at <= now {
                return Ok(None);
            }
            let invite_digest = match row.invite_digest.as_deref() {
                None => None,
                Some(h) => Some(
                    SecretDigest::from_hex(h)
                        .ok_or_else(|| StoreError::Corrupt("sso_flows.invite_digest".into()))?,
                ),
            };
            Ok(Some(SsoFlowRecord {
                provider: row.provider,
                invite_digest,
                next: row.next,
                throttle_key: row.throttle_key,
                expires_at: row.expires_at,
            }))
        }
        .await;
        w.finish(work).await
    }

    async fn identity(&self, issuer: &str, subject: &str) -> R<Option<IdentityRecord>> {
        Ok(sso_identities::Entity::find()
            .filter(sso_identities::Column::Issuer.eq(issuer))
            .filter(sso_identities::Column::Subject.eq(subject))
            .one(&self.db)
            .await
            .map_err(backend)?
            .map(identity_record))
    }

    async fn link_identity(&self, user_id: i64, identity: NewIdentity) -> R<IdentityRecord> {
        let w = self.independent_write().await?;
        let work = async {
            users::Entity::find_by_id(user_id)
                .one(&*w)
                .await
                .map_err(backend)?
                .ok_or(StoreError::NotFound("User"))?;
            sessions::Entity::delete_many()
                .filter(sessions::Column::UserId.eq(user_id))
                .exec(&*w)
                .await
                .map_err(backend)?;
            insert_identity(&w, user_id, identity).await
        }
        .await;
        w.finish_mapping(work, linked_or_backend).await
    }

    async fn touch_identity(&self, id: i64, now: i64) -> R<()> {
        let w = self.independent_write().await?;
        let work = sso_identities::Entity::update_many()
            .col_expr(
                sso_identities::Column::LastLoginAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(sso_identities::Column::Id.eq(id))
            .exec(&*w)
            .await
            .map(|_| ())
            .map_err(backend);
        w.finish(work).await
    }

    async fn identities_of(&self, user_id: i64) -> R<Vec<IdentityRecord>> {
        Ok(sso_identities::Entity::find()
            .filter(sso_identities::Column::UserId.eq(user_id))
            .order_by_asc(sso_identities::Column::Id)
            .all(&self.db)
            .await
            .map_err(backend)?
            .into_iter()
            .map(identity_record)
            .collect())
    }

    async fn unlink_identity(
        &self,
        user_id: i64,
        id: i64,
        keep_one_of: Option<&[String]>,
    ) -> R<bool> {
        // The serialised write: two unlinks of one user's last two
        // identities cannot both see the other one still there.
        let w = self.write().await?;
        let work = async {
            if let Some(names) = keep_one_of {
                let others = sso_identities::Entity::find()
                    .filter(sso_identities::Column::UserId.eq(user_id))
                    .filter(sso_identities::Column::Id.ne(id))
                    .filter(sso_identities::Column::Provider.is_in(names.iter().cloned()))
                    .count(&*w)
                    .await
                    .map_err(backend)?;
                if others == 0 {
                    return Ok(false);
                }
            }
            sso_identities::Entity::delete_many()
                .filter(sso_identities::Column::Id.eq(id))
                .filter(sso_identities::Column::UserId.eq(user_id))
                .exec(&*w)
                .await
                .map(|r| r.rows_affected == 1)
                .map_err(backend)
        }
        .await;
        w.finish(work).await
    }
}
