//! [`ImportStore`]: what an import from Label Studio writes, each batch in
//! one of the storage layer's write transactions (so the member-order
//! triggers run and a running server's caches see the commit).

use std::collections::HashMap;

use accounts::SecretDigest;
use app::StoreError;
use app::import::{ImportStore, ImportedOrganization, ImportedUser};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};

use super::rows::{generation_i64, salt_hex};
use super::txn::Write;
use super::{R, SeaStore, backend, email_taken_or_backend};
use crate::db::entities::{
    api_tokens, memberships, organizations, personal_tokens, retired_invites, users,
};

fn user_row(u: &ImportedUser) -> users::ActiveModel {
    let mut row = users::ActiveModel {
        email: Set(u.email.as_str().to_owned()),
        username: Set(u.username.clone()),
        first_name: Set(u.first_name.clone()),
        last_name: Set(u.last_name.clone()),
        phone: Set(u.phone.clone()),
        password_hash: Set(u.password_hash.as_ref().map(|h| h.as_str().to_owned())),
        is_active: Set(u.is_active),
        active_organization_id: Set(u.active_organization),
        allow_newsletters: Set(u.allow_newsletters),
        custom_hotkeys: Set(u.custom_hotkeys.clone()),
        date_joined: Set(u.date_joined),
        last_activity: Set(u.last_activity),
        updated_at: Set(u.date_joined),
        ..Default::default()
    };
    if let Some(id) = u.id {
        row.id = Set(id);
    }
    row
}

/// The rows that hang off one user, with its id.
fn dependents(
    id: i64,
    u: &ImportedUser,
    members: &mut Vec<memberships::ActiveModel>,
    tokens: &mut Vec<api_tokens::ActiveModel>,
    pats: &mut Vec<personal_tokens::ActiveModel>,
) {
    for m in &u.memberships {
        members.push(memberships::ActiveModel {
            user_id: Set(id),
            organization_id: Set(m.organization_id),
            role: Set(m.role.as_str().to_owned()),
            created_at: Set(m.created_at),
            removed_at: Set(m.removed_at),
            ..Default::default()
        });
    }
    if let Some((digest, created)) = &u.api_token {
        tokens.push(api_tokens::ActiveModel {
            user_id: Set(id),
            digest: Set(digest.to_hex()),
            created_at: Set(*created),
            ..Default::default()
        });
    }
    for t in &u.personal_tokens {
        pats.push(personal_tokens::ActiveModel {
            jti: Set(t.jti.clone()),
            user_id: Set(id),
            created_at: Set(t.created_at),
            expires_at: Set(t.expires_at),
            revoked_at: Set(t.revoked_at),
            legacy_digest: Set(Some(t.legacy_digest.to_hex())),
            ..Default::default()
        });
    }
}

/// Rows per multi-row INSERT: well under SQLite's 32,766 bound parameters.
const ROWS_PER_INSERT: usize = 1000;

/// Multi-row INSERTs of `rows`. With `keep_existing`, a row that is
/// already here (a token a `--merge` re-run meets again, its person's email
/// changed here since) is left as it is instead of failing the batch.
async fn insert_all<A>(w: &Write, rows: Vec<A>, keep_existing: bool) -> R<()>
where
    A: ActiveModelTrait + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        let insert = <A::Entity as EntityTrait>::insert_many(chunk);
        let done = if keep_existing {
            insert
                .on_conflict_do_nothing()
                .exec_without_returning(&**w)
                .await
                .map(drop)
        } else {
            insert.exec_without_returning(&**w).await.map(drop)
        };
        done.map_err(email_taken_or_backend)?;
    }
    Ok(())
}

/// Sets a table's id sequence to at least `at_least` (and the ids it holds).
async fn reserve(w: &Write, table: &str, at_least: i64) -> R<()> {
    let sql = match w.get_database_backend() {
        // Never backwards: a target may have used ids beyond the source's.
        DbBackend::Postgres => format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
             GREATEST($1, (SELECT COALESCE(MAX(id), 0) FROM {table}), \
             COALESCE(pg_sequence_last_value(pg_get_serial_sequence('{table}', 'id')::regclass), 0), 1))"
        ),
        _ => {
            // SQLite's AUTOINCREMENT counter; its row exists once a row was.
            let exists = format!(
                "INSERT INTO sqlite_sequence (name, seq) SELECT '{table}', 0 \
                 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = '{table}')"
            );
            w.execute_unprepared(&exists).await.map_err(backend)?;
            format!("UPDATE sqlite_sequence SET seq = MAX(seq, ?1) WHERE name = '{table}'")
        }
    };
    let stmt = Statement::from_sql_and_values(w.get_database_backend(), sql, [at_least.into()]);
    w.query_all_raw(stmt).await.map_err(backend)?;
    Ok(())
}

impl ImportStore for SeaStore {
    async fn census(&self) -> R<(u64, u64)> {
        let users = users::Entity::find()
            .count(&self.db)
            .await
            .map_err(backend)?;
        let orgs = organizations::Entity::find()
            .count(&self.db)
            .await
            .map_err(backend)?;
        Ok((users, orgs))
    }

    async fn users_after(&self, after: i64, limit: usize) -> R<Vec<(i64, String)>> {
        users::Entity::find()
            .select_only()
            .column(users::Column::Id)
            .column(users::Column::Email)
            .filter(users::Column::Id.gt(after))
            .order_by_asc(users::Column::Id)
            .limit(u64::try_from(limit).unwrap_or(u64::MAX))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(backend)
    }

    async fn organization_ids(&self) -> R<Vec<i64>> {
        organizations::Entity::find()
            .select_only()
            .column(organizations::Column::Id)
            .order_by_asc(organizations::Column::Id)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(backend)
    }

    async fn ids_by_email(&self, emails: &[String]) -> R<HashMap<String, i64>> {
        if emails.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(i64, String)> = users::Entity::find()
            .select_only()
            .column(users::Column::Id)
            .column(users::Column::Email)
            .filter(users::Column::Email.is_in(emails.iter().cloned()))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().map(|(id, email)| (email, id)).collect())
    }

    async fn reserve_ids(&self, users: i64, organizations: i64) -> R<()> {
        let w = self.write().await?;
        let work = async {
            reserve(&w, "users", users).await?;
            reserve(&w, "organizations", organizations).await
        }
        .await;
        w.finish(work).await
    }

    async fn insert_organization(&self, org: ImportedOrganization) -> R<i64> {
        let w = self.write().await?;
        let work = async {
            let mut row = organizations::ActiveModel {
                title: Set(org.title),
                contact_info: Set(org.contact_info),
                created_by: Set(org.created_by),
                invite_generation: Set(generation_i64(&org.invite)?),
                invite_salt: Set(salt_hex(org.invite.salt())),
                invite_digest: Set(org.invite_digest.to_hex()),
                legacy_invite_digest: Set(org.legacy_invite_digest.map(|d| d.to_hex())),
                created_at: Set(org.created_at),
                updated_at: Set(org.updated_at),
                api_tokens_enabled: Set(org.tokens.api_tokens_enabled),
                legacy_api_tokens_enabled: Set(org.tokens.legacy_api_tokens_enabled),
                api_token_ttl_days: Set(i32::try_from(org.tokens.api_token_ttl_days)
                    .map_err(|_| StoreError::Corrupt("token lifetime".into()))?),
                members_version: Set(0),
                ..Default::default()
            };
            if let Some(id) = org.id {
                row.id = Set(id);
            }
            Ok(row.insert(&*w).await.map_err(backend)?.id)
        }
        .await;
        w.finish(work).await
    }

    async fn adopt_legacy_invite(&self, organization_id: i64, digest: SecretDigest) -> R<bool> {
        let w = self.write().await?;
        let work = async {
            let hex = digest.to_hex();
            // A link reset since an earlier run stays dead.
            let retired = retired_invites::Entity::find()
                .filter(retired_invites::Column::Digest.eq(hex.clone()))
                .count(&*w)
                .await
                .map_err(backend)?;
            if retired > 0 {
                return Ok(false);
            }
            organizations::Entity::update_many()
                .col_expr(
                    organizations::Column::LegacyInviteDigest,
                    Expr::value(hex.clone()),
                )
                .filter(organizations::Column::Id.eq(organization_id))
                .filter(organizations::Column::LegacyInviteDigest.is_null())
                .exec(&*w)
                .await
                .map_err(backend)?;
            let now = organizations::Entity::find_by_id(organization_id)
                .one(&*w)
                .await
                .map_err(backend)?
                .ok_or(StoreError::NotFound("Organization"))?;
            Ok(now.legacy_invite_digest.as_deref() == Some(hex.as_str()))
        }
        .await;
        w.finish(work).await
    }

    async fn insert_users(&self, batch: Vec<ImportedUser>) -> R<Vec<i64>> {
        let w = self.write().await?;
        let work = async {
            let (mut members, mut tokens, mut pats) = (Vec::new(), Vec::new(), Vec::new());
            let mut ids = Vec::with_capacity(batch.len());
            if let Some(kept) = batch.iter().map(|u| u.id).collect::<Option<Vec<i64>>>() {
                // Ids kept: one multi-row INSERT per table.
                insert_all(&w, batch.iter().map(user_row).collect(), false).await?;
                ids = kept;
            } else {
                for u in &batch {
                    let res = users::Entity::insert(user_row(u))
                        .exec(&*w)
                        .await
                        .map_err(email_taken_or_backend)?;
                    ids.push(res.last_insert_id);
                }
            }
            for (u, &id) in batch.iter().zip(&ids) {
                dependents(id, u, &mut members, &mut tokens, &mut pats);
            }
            insert_all(&w, members, true).await?;
            insert_all(&w, tokens, true).await?;
            insert_all(&w, pats, true).await?;
            Ok(ids)
        }
        .await;
        w.finish_mapping(work, email_taken_or_backend).await
    }
}
