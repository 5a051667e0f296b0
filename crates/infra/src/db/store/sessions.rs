//! [`SessionStore`]: server-side sessions, stored by digest.

use accounts::SecretDigest;
use app::{DEVICES_PER_USER, NewDevice, NewSession, SessionStore, UserRecord, UserStore as _};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::txn::Write;
use super::{R, SeaStore, backend};
use crate::db::entities::{device_cookies, sessions, throttle};

/// Records a device cookie, forgetting the user's expired ones and the
/// oldest beyond [`DEVICES_PER_USER`].
async fn add_device(w: &Write, user_id: i64, device: NewDevice, now: i64) -> R<()> {
    device_cookies::Entity::delete_many()
        .filter(device_cookies::Column::UserId.eq(user_id))
        .filter(device_cookies::Column::ExpiresAt.lte(now))
        .exec(&**w)
        .await
        .map_err(backend)?;
    device_cookies::ActiveModel {
        digest: Set(device.digest.to_hex()),
        user_id: Set(user_id),
        created_at: Set(now),
        expires_at: Set(device.expires_at),
        ..Default::default()
    }
    .insert(&**w)
    .await
    .map_err(backend)?;
    let older: Vec<i64> = device_cookies::Entity::find()
        .select_only()
        .column(device_cookies::Column::Id)
        .filter(device_cookies::Column::UserId.eq(user_id))
        .order_by_desc(device_cookies::Column::Id)
        .offset(DEVICES_PER_USER as u64)
        // SQLite takes no OFFSET without a LIMIT.
        .limit(1_000_000)
        .into_tuple()
        .all(&**w)
        .await
        .map_err(backend)?;
    if !older.is_empty() {
        device_cookies::Entity::delete_many()
            .filter(device_cookies::Column::Id.is_in(older))
            .exec(&**w)
            .await
            .map_err(backend)?;
    }
    Ok(())
}

impl SessionStore for SeaStore {
    async fn create_session(&self, session: NewSession) -> R<()> {
        // Independent of the deployment row, which would serialise every
        // login's second transaction: the throttle counters it forgets or
        // refunds are row-locked by throttle_admit (FOR UPDATE), so on
        // PostgreSQL the two wait for each other on those rows alone.
        let w = self.independent_write().await?;
        let work = async {
            if let Some(old) = session.replaces {
                sessions::Entity::delete_many()
                    .filter(sessions::Column::Digest.eq(old.to_hex()))
                    .exec(&*w)
                    .await
                    .map_err(backend)?;
            }
            // The counters in key order, as throttle_admit locks them.
            let mut counters: Vec<(&str, Option<i64>)> = Vec::new();
            if let Some(key) = &session.forgets {
                counters.push((key, None));
            }
            if let Some((key, now_secs)) = &session.refunds {
                counters.push((key, Some(*now_secs)));
            }
            counters.sort_by(|a, b| a.0.cmp(b.0));
            for (key, refund_at) in counters {
                match refund_at {
                    None => {
                        throttle::Entity::delete_many()
                            .filter(throttle::Column::Key.eq(key))
                            .exec(&*w)
                            .await
                            .map_err(backend)?;
                    }
                    Some(now_secs) => super::throttle::refund(&w, key, now_secs).await?,
                }
            }
            if let Some(device) = session.device {
                add_device(&w, session.user_id, device, session.now).await?;
            }
            sessions::ActiveModel {
                digest: Set(session.digest.to_hex()),
                user_id: Set(session.user_id),
                created_at: Set(session.now),
                expires_at: Set(session.expires_at),
                last_seen_at: Set(session.now),
                ..Default::default()
            }
            .insert(&*w)
            .await
            .map_err(backend)?;
            Ok(())
        }
        .await;
        w.finish(work).await
    }

    async fn session_user(
        &self,
        digest: &SecretDigest,
        now: i64,
        idle_cutoff: i64,
        touch_before: i64,
    ) -> R<Option<UserRecord>> {
        let Some(session) = sessions::Entity::find()
            .filter(sessions::Column::Digest.eq(digest.to_hex()))
            .filter(sessions::Column::ExpiresAt.gt(now))
            .filter(sessions::Column::LastSeenAt.gt(idle_cutoff))
            .one(&self.db)
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        if session.last_seen_at < touch_before {
            let _slot = self.writer_slot().await;
            sessions::Entity::update_many()
                .col_expr(sessions::Column::LastSeenAt, Expr::value(now))
                .filter(sessions::Column::Id.eq(session.id))
                .exec(&self.db)
                .await
                .map_err(backend)?;
        }
        Ok(self
            .user_by_id(session.user_id)
            .await?
            .filter(|u| u.is_active))
    }

    async fn delete_session(&self, digest: &SecretDigest) -> R<()> {
        let _slot = self.writer_slot().await;
        sessions::Entity::delete_many()
            .filter(sessions::Column::Digest.eq(digest.to_hex()))
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn device_user(&self, digest: &SecretDigest, now: i64) -> R<Option<i64>> {
        Ok(device_cookies::Entity::find()
            .filter(device_cookies::Column::Digest.eq(digest.to_hex()))
            .filter(device_cookies::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await
            .map_err(backend)?
            .map(|d| d.user_id))
    }

    async fn device_digests(&self, user_id: i64) -> R<Vec<SecretDigest>> {
        let rows = device_cookies::Entity::find()
            .filter(device_cookies::Column::UserId.eq(user_id))
            .all(&self.db)
            .await
            .map_err(backend)?;
        Ok(rows
            .iter()
            .filter_map(|d| SecretDigest::from_hex(&d.digest))
            .collect())
    }
}
