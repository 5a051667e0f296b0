//! [`SessionStore`]: server-side sessions, stored by digest.

use accounts::SecretDigest;
use app::{NewSession, SessionStore, UserRecord, UserStore as _};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::{R, SeaStore, backend};
use crate::db::entities::{sessions, throttle};

impl SessionStore for SeaStore {
    async fn create_session(&self, session: NewSession) -> R<()> {
        // Independent of every other write: no need to serialise through
        // the deployment row as `write` does.
        let w = self.independent_write().await?;
        let work = async {
            if let Some(old) = session.replaces {
                sessions::Entity::delete_many()
                    .filter(sessions::Column::Digest.eq(old.to_hex()))
                    .exec(&*w)
                    .await
                    .map_err(backend)?;
            }
            if let Some(key) = session.forgets {
                throttle::Entity::delete_many()
                    .filter(throttle::Column::Key.eq(key))
                    .exec(&*w)
                    .await
                    .map_err(backend)?;
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
}
