//! [`TokenStore`]: the legacy API key (by digest, kept in memory between
//! commits on SQLite) and personal access tokens (by `jti`).

use accounts::SecretDigest;
use app::{CallerRecord, PersonalTokenRecord, StoreError, TokenStore};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    Set,
};

use super::rows::{caller_record, caller_select, personal_token_record};
use super::txn::Write;
use super::{R, SeaStore, backend};
use crate::db::entities::{api_tokens, personal_tokens, users};

async fn insert_personal_token(w: &Write, t: PersonalTokenRecord) -> R<()> {
    personal_tokens::ActiveModel {
        jti: Set(t.jti),
        user_id: Set(t.user_id),
        created_at: Set(t.created_at),
        expires_at: Set(t.expires_at),
        revoked_at: Set(t.revoked_at),
        ..Default::default()
    }
    .insert(&**w)
    .await
    .map_err(backend)?;
    Ok(())
}

/// Marks a live token revoked; `false` when there was none to revoke.
async fn revoke_in(w: &Write, jti: &str, now: i64) -> R<bool> {
    let res = personal_tokens::Entity::update_many()
        .col_expr(personal_tokens::Column::RevokedAt, Expr::value(now))
        .filter(personal_tokens::Column::Jti.eq(jti))
        .filter(personal_tokens::Column::RevokedAt.is_null())
        .filter(personal_tokens::Column::ExpiresAt.gt(now))
        .exec(&**w)
        .await
        .map_err(backend)?;
    Ok(res.rows_affected == 1)
}

impl SeaStore {
    /// [`TokenStore::caller_by_token`] from the database.
    async fn caller_by_token_uncached(&self, digest: &SecretDigest) -> R<Option<CallerRecord>> {
        let mut q = caller_select(
            api_tokens::Entity,
            Expr::col((Alias::new("t"), api_tokens::Column::UserId)),
        );
        q.expr_as(
            Expr::col((Alias::new("t"), api_tokens::Column::Digest)),
            Alias::new("t_digest"),
        )
        .and_where(Expr::col((Alias::new("t"), api_tokens::Column::Digest)).eq(digest.to_hex()));
        let Some(row) = self.query_one(&q).await? else {
            return Ok(None);
        };
        // The index lookup is on a keyed digest, which an attacker cannot
        // steer; the final comparison is constant-time all the same.
        let stored: String = row.try_get("", "t_digest").map_err(backend)?;
        if SecretDigest::from_hex(&stored).as_ref() != Some(digest) {
            return Ok(None);
        }
        caller_record(&row).map(Some)
    }
}

impl SeaStore {
    /// The version the `key_changes` triggers keep (SQLite).
    async fn key_version(&self) -> R<i64> {
        let mut q = Query::select();
        q.column(Alias::new("version"))
            .from(Alias::new("key_changes"))
            .and_where(Expr::col(Alias::new("id")).eq(1));
        let row = self
            .query_one(&q)
            .await?
            .ok_or_else(|| StoreError::Corrupt("key_changes has no row".into()))?;
        row.try_get_by_index(0).map_err(backend)
    }
}

impl TokenStore for SeaStore {
    async fn caller_by_token(&self, digest: &SecretDigest) -> R<Option<CallerRecord>> {
        let Some(cache) = &self.token_cache else {
            return self.caller_by_token_uncached(digest).await;
        };
        let Some(stamp) = cache.stamp() else {
            return self.caller_by_token_uncached(digest).await;
        };
        if let Some(caller) = cache.get(&stamp, digest) {
            return Ok(Some(caller));
        }
        // Something was committed since: if none of it was a key change,
        // the entries stay (read the version after the header).
        let version = self.key_version().await?;
        if cache.revalidate(stamp, version)
            && let Some(caller) = cache.get(&stamp, digest)
        {
            return Ok(Some(caller));
        }
        let found = self.caller_by_token_uncached(digest).await?;
        if let Some(caller) = &found {
            cache.put(stamp, version, digest, caller);
        }
        Ok(found)
    }

    async fn replace_token(&self, user_id: i64, digest: SecretDigest, now: i64) -> R<()> {
        let w = self.write().await?;
        let work = async {
            let known = users::Entity::find_by_id(user_id)
                .count(&*w)
                .await
                .map_err(backend)?;
            if known == 0 {
                return Err(StoreError::NotFound("User"));
            }
            api_tokens::Entity::delete_many()
                .filter(api_tokens::Column::UserId.eq(user_id))
                .exec(&*w)
                .await
                .map_err(backend)?;
            api_tokens::ActiveModel {
                user_id: Set(user_id),
                digest: Set(digest.to_hex()),
                created_at: Set(now),
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

    async fn create_personal_token(&self, token: PersonalTokenRecord, now: i64) -> R<()> {
        let w = self.write().await?;
        let work = async {
            let live = personal_tokens::Entity::find()
                .filter(personal_tokens::Column::UserId.eq(token.user_id))
                .filter(personal_tokens::Column::RevokedAt.is_null())
                .filter(personal_tokens::Column::ExpiresAt.gt(now))
                .count(&*w)
                .await
                .map_err(backend)?;
            if live > 0 {
                return Err(StoreError::Conflict("a live personal access token exists"));
            }
            insert_personal_token(&w, token).await
        }
        .await;
        w.finish(work).await
    }

    async fn personal_tokens(&self, user_id: i64, now: i64) -> R<Vec<PersonalTokenRecord>> {
        Ok(personal_tokens::Entity::find()
            .filter(personal_tokens::Column::UserId.eq(user_id))
            .filter(personal_tokens::Column::RevokedAt.is_null())
            .filter(personal_tokens::Column::ExpiresAt.gt(now))
            .order_by_asc(personal_tokens::Column::Id)
            .all(&self.db)
            .await
            .map_err(backend)?
            .into_iter()
            .map(personal_token_record)
            .collect())
    }

    async fn personal_token(&self, jti: &str) -> R<Option<PersonalTokenRecord>> {
        Ok(personal_tokens::Entity::find()
            .filter(personal_tokens::Column::Jti.eq(jti))
            .one(&self.db)
            .await
            .map_err(backend)?
            .map(personal_token_record))
    }

    async fn personal_token_by_legacy_digest(
        &self,
        digest: &SecretDigest,
    ) -> R<Option<PersonalTokenRecord>> {
        Ok(personal_tokens::Entity::find()
            .filter(personal_tokens::Column::LegacyDigest.eq(digest.to_hex()))
            .one(&self.db)
            .await
            .map_err(backend)?
            .map(personal_token_record))
    }

    async fn caller_by_personal_token(
        &self,
        jti: &str,
        user_id: i64,
        now: i64,
    ) -> R<Option<CallerRecord>> {
        let p = Alias::new("t");
        let mut q = caller_select(
            personal_tokens::Entity,
            Expr::col((p.clone(), personal_tokens::Column::UserId)),
        );
        q.and_where(Expr::col((p.clone(), personal_tokens::Column::Jti)).eq(jti))
            .and_where(Expr::col((p.clone(), personal_tokens::Column::UserId)).eq(user_id))
            .and_where(Expr::col((p.clone(), personal_tokens::Column::RevokedAt)).is_null())
            .and_where(Expr::col((p, personal_tokens::Column::ExpiresAt)).gt(now));
        match self.query_one(&q).await? {
            Some(row) => caller_record(&row).map(Some),
            None => Ok(None),
        }
    }

    async fn mark_personal_token_used(&self, jti: &str, now: i64, unless_after: i64) -> R<()> {
        // One statement, outside the write counter: when a token was last
        // used decides no authentication, so no cached answer goes stale.
        let _slot = self.writer_slot().await;
        personal_tokens::Entity::update_many()
            .col_expr(personal_tokens::Column::LastUsedAt, Expr::value(now))
            .filter(personal_tokens::Column::Jti.eq(jti))
            .filter(
                Condition::any()
                    .add(personal_tokens::Column::LastUsedAt.is_null())
                    .add(personal_tokens::Column::LastUsedAt.lt(unless_after)),
            )
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn revoke_personal_token(&self, jti: &str, now: i64) -> R<bool> {
        let w = self.write().await?;
        let work = revoke_in(&w, jti, now).await;
        w.finish_when(work).await
    }

    async fn rotate_personal_token(
        &self,
        old_jti: &str,
        new: PersonalTokenRecord,
        now: i64,
    ) -> R<bool> {
        let w = self.write().await?;
        match revoke_in(&w, old_jti, now).await {
            // Not live: nothing written, nothing committed.
            Ok(false) => {
                w.rollback().await;
                Ok(false)
            }
            Ok(true) => {
                let work = insert_personal_token(&w, new).await.map(|()| true);
                w.finish(work).await
            }
            Err(e) => w.finish(Err(e)).await,
        }
    }
}
