use accounts::{Email, PasswordHashString, SecretDigest};
use app::{
    AccountPlacement, CallerContext, CreatedAccount, InviteLookup, MembershipRecord, NewAccount,
    NewSession, OrgRecord, PersonalTokenRecord, Store, StoreError, UserChanges, UserRecord,
    UserWithRole,
};
use invites::InviteState;
use orgs::OrgTitle;
use orgs::{Role, TokenSettings};
use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, JoinType, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr,
    EntityTrait, FromQueryResult, IdenStatic, Iterable, PaginatorTrait, QueryFilter, QueryOrder,
    QueryResult, Set, SqlErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
    TryGetError,
};

use super::commits::{CommitWatch, Stamp};
use super::entities::{
    api_tokens, deployment, memberships, organizations, personal_tokens, retired_invites, sessions,
    throttle, users,
};

/// [`Store`] on sea-orm, for SQLite and PostgreSQL alike.
#[derive(Debug, Clone)]
pub struct SeaStore {
    db: DatabaseConnection,
    /// SQLite has one writer at a time. Writers queue here, holding no pool
    /// connection, so a burst of writes (logins making sessions) cannot take
    /// every connection while it waits for the file lock and stall readers.
    /// `None` on PostgreSQL, whose row locks need no such queue.
    sqlite_writer: Option<Arc<tokio::sync::Mutex<()>>>,
    /// Each organization's member user ids in page order, with the
    /// `members_version` they were read at (see migration 5).
    member_orders: Arc<std::sync::Mutex<HashMap<i64, MemberOrder>>>,
    /// Held while a member order is read from the database.
    order_reads: Arc<tokio::sync::Mutex<()>>,
    /// How many member orders this store has read from the database.
    orders_read: Arc<std::sync::atomic::AtomicU64>,
    /// SQLite: API-token lookups kept while nothing at all is committed to
    /// the database (by this process or another), which the WAL index
    /// header tells without a query. `None` on PostgreSQL.
    token_cache: Option<Arc<TokenCache>>,
}

/// The callers found by token digest since the last commit anywhere.
#[derive(Debug)]
struct TokenCache {
    watch: CommitWatch,
    entries: std::sync::Mutex<TokenEntries>,
}

#[derive(Debug, Default)]
struct TokenEntries {
    /// The WAL index header every entry was read under.
    stamp: Option<Stamp>,
    callers: HashMap<SecretDigest, CallerContext>,
}

/// Past this many tokens without a commit in between, the cache starts over.
const TOKENS_KEPT: usize = 10_000;

impl TokenCache {
    fn get(&self, stamp: &Stamp, digest: &SecretDigest) -> Option<CallerContext> {
        let entries = self.entries.lock().ok()?;
        if entries.stamp.as_ref() != Some(stamp) {
            return None;
        }
        entries.callers.get(digest).cloned()
    }

    /// Keeps `caller`, read from the database after `stamp` was read: a
    /// commit in between changes the header, so the entry is never served
    /// under a header it is older than.
    fn put(&self, stamp: Stamp, digest: &SecretDigest, caller: &CallerContext) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.stamp != Some(stamp) || entries.callers.len() >= TOKENS_KEPT {
            entries.callers.clear();
            entries.stamp = Some(stamp);
        }
        entries.callers.insert(*digest, caller.clone());
    }
}

/// An organization's current members' user ids, ordered by username then id.
#[derive(Debug, Clone)]
struct MemberOrder {
    version: i64,
    ids: Arc<Vec<i64>>,
}

/// How often a membership page is read again when members change under it.
const MEMBER_PAGE_ATTEMPTS: usize = 4;

/// Organizations whose member order is kept in memory; past it, the cache starts over.
const MEMBER_ORDERS_KEPT: usize = 16;

/// This process's SQLite writer slot, held for as long as a write transaction.
type WriterSlot = Option<tokio::sync::OwnedMutexGuard<()>>;

type R<T> = Result<T, StoreError>;

fn backend(e: DbErr) -> StoreError {
    StoreError::Backend(Box::new(e))
}

fn is_unique_violation(e: &DbErr, column: &str) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(msg)) if msg.contains(column))
}

fn user_record(m: users::Model) -> R<UserRecord> {
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

fn personal_token_record(m: personal_tokens::Model) -> PersonalTokenRecord {
    PersonalTokenRecord {
        jti: m.jti,
        user_id: m.user_id,
        created_at: m.created_at,
        expires_at: m.expires_at,
        revoked_at: m.revoked_at,
    }
}

fn role(s: &str) -> R<Role> {
    Role::parse(s).map_err(|_| StoreError::Corrupt(format!("unknown role {s:?}")))
}

fn salt_hex(salt: &[u8; invites::SALT_LEN]) -> String {
    hex::encode(salt)
}

fn salt_from_hex(s: &str) -> R<[u8; invites::SALT_LEN]> {
    let mut out = [0u8; invites::SALT_LEN];
    hex::decode_to_slice(s, &mut out)
        .map_err(|_| StoreError::Corrupt("bad invite salt".into()))?;
    Ok(out)
}

fn org_record(m: organizations::Model) -> R<OrgRecord> {
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

fn membership_record(m: memberships::Model) -> R<MembershipRecord> {
    Ok(MembershipRecord {
        id: m.id,
        user_id: m.user_id,
        organization_id: m.organization_id,
        role: role(&m.role)?,
        created_at: m.created_at,
        removed_at: m.removed_at,
    })
}

fn generation_i64(state: &InviteState) -> R<i64> {
    i64::try_from(state.generation())
        .map_err(|_| StoreError::Corrupt("invite generation overflow".into()))
}

/// Adds every column of `table`'s entity as `prefix` + its name, for
/// `Model::from_query_result(row, prefix)`.
fn select_prefixed<C: sea_orm::ColumnTrait + Iterable + IdenStatic>(
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
fn current_members(org_id: i64) -> SelectStatement {
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
fn caller_select(from: impl sea_orm::sea_query::IntoTableRef, user: Expr) -> SelectStatement {
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
fn caller_context(row: &QueryResult) -> R<CallerContext> {
    let user = users::Model::from_query_result(row, "").map_err(backend)?;
    let membership = optional(memberships::Model::from_query_result_nullable(row, "m_"))?;
    let organization = optional(organizations::Model::from_query_result_nullable(row, "o_"))?;
    let owner_email: Option<String> = row.try_get("", "owner_email").map_err(backend)?;
    Ok(CallerContext {
        user: user_record(user)?,
        membership: membership.map(membership_record).transpose()?,
        organization: organization.map(org_record).transpose()?,
        owner_email,
    })
}

impl SeaStore {
    pub fn new(db: DatabaseConnection) -> Self {
        let sqlite = db.get_database_backend() == sea_orm::DbBackend::Sqlite;
        Self {
            db,
            sqlite_writer: sqlite.then(|| Arc::new(tokio::sync::Mutex::new(()))),
            member_orders: Arc::default(),
            order_reads: Arc::default(),
            orders_read: Arc::default(),
            token_cache: None,
        }
    }

    /// Keep token lookups in memory while the SQLite database at `path`
    /// sees no commit ([`CommitWatch`]).
    pub(crate) fn with_commit_watch(mut self, path: &std::path::Path) -> Self {
        self.token_cache = Some(Arc::new(TokenCache {
            watch: CommitWatch::new(path),
            entries: std::sync::Mutex::default(),
        }));
        self
    }

    async fn writer_slot(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.sqlite_writer {
            Some(m) => Some(Arc::clone(m).lock_owned().await),
            None => None,
        }
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// How many times this store has read an organization's member order
    /// from the database (the first page after a change does).
    pub fn member_orders_read(&self) -> u64 {
        self.orders_read.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn query_one(&self, q: &SelectStatement) -> R<Option<QueryResult>> {
        let stmt = self.db.get_database_backend().build(q);
        self.db.query_one_raw(stmt).await.map_err(backend)
    }

    /// [`Store::caller_by_token`] from the database.
    async fn caller_by_token_uncached(&self, digest: &SecretDigest) -> R<Option<CallerContext>> {
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
        caller_context(&row).map(Some)
    }

    /// `org_id`'s member order, from memory while its `members_version` is
    /// the one it was read at; `None` for an unknown organization.
    async fn member_order(&self, org_id: i64) -> R<Option<Arc<Vec<i64>>>> {
        let mut q = Query::select();
        q.column(organizations::Column::MembersVersion)
            .from(organizations::Entity)
            .and_where(Expr::col(organizations::Column::Id).eq(org_id));
        let Some(row) = self.query_one(&q).await? else {
            return Ok(None);
        };
        let version: i64 = row.try_get_by_index(0).map_err(backend)?;
        if let Some(order) = self.cached_order(org_id).filter(|o| o.version == version) {
            return Ok(Some(order.ids));
        }
        // One reading at a time: the pages asked for together right after a
        // change wait for it instead of each reading every member.
        let _reading = self.order_reads.lock().await;
        if let Some(order) = self.cached_order(org_id).filter(|o| o.version == version) {
            return Ok(Some(order.ids));
        }
        // Read after the version: a change in between makes the next
        // request read the order again, never serve an older one.
        let mut q = current_members(org_id);
        q.column((Alias::new("u"), users::Column::Username))
            .column((Alias::new("u"), users::Column::Id));
        let stmt = self.db.get_database_backend().build(&q);
        let mut members = self
            .db
            .query_all_raw(stmt)
            .await
            .map_err(backend)?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get_by_index::<String>(0)?,
                    row.try_get_by_index::<i64>(1)?,
                ))
            })
            .collect::<Result<Vec<(String, i64)>, DbErr>>()
            .map_err(backend)?;
        members.sort_unstable();
        self.orders_read
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ids = Arc::new(members.into_iter().map(|(_, id)| id).collect::<Vec<_>>());
        let mut orders = self.member_orders.lock().unwrap_or_else(|p| p.into_inner());
        if orders.len() >= MEMBER_ORDERS_KEPT && !orders.contains_key(&org_id) {
            orders.clear();
        }
        orders.insert(
            org_id,
            MemberOrder {
                version,
                ids: Arc::clone(&ids),
            },
        );
        Ok(Some(ids))
    }

    fn cached_order(&self, org_id: i64) -> Option<MemberOrder> {
        let orders = self.member_orders.lock().unwrap_or_else(|p| p.into_inner());
        orders.get(&org_id).cloned()
    }

    /// The current memberships in `org_id` of the users `ids`, with the users, in the order of `ids`;
    /// `None` when one of them is no longer a current member.
    async fn members_by_ids(
        &self,
        org_id: i64,
        ids: &[i64],
    ) -> R<Option<Vec<(MembershipRecord, UserRecord)>>> {
        let m = Alias::new("m");
        let mut q = current_members(org_id);
        q.column((Alias::new("u"), Asterisk));
        select_prefixed::<memberships::Column>(&mut q, &m, "m_");
        q.and_where(Expr::col((m, memberships::Column::UserId)).is_in(ids.iter().copied()));
        let stmt = self.db.get_database_backend().build(&q);
        let mut found: HashMap<i64, (memberships::Model, users::Model)> = HashMap::new();
        for row in self.db.query_all_raw(stmt).await.map_err(backend)? {
            let member = memberships::Model::from_query_result(&row, "m_").map_err(backend)?;
            let user = users::Model::from_query_result(&row, "").map_err(backend)?;
            found.insert(member.user_id, (member, user));
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            match found.remove(id) {
                Some((m, u)) => out.push((membership_record(m)?, user_record(u)?)),
                None => return Ok(None),
            }
        }
        Ok(Some(out))
    }

    /// Records the deployment secret's fingerprint on first use; afterwards
    /// answers whether `fingerprint` is the recorded one.
    pub async fn check_key(&self, fingerprint: &str) -> R<bool> {
        deployment::Entity::update_many()
            .col_expr(
                deployment::Column::KeyCheck,
                Expr::value(fingerprint.to_owned()),
            )
            .filter(deployment::Column::Id.eq(1))
            .filter(deployment::Column::KeyCheck.is_null())
            .exec(&self.db)
            .await
            .map_err(backend)?;
        let row = deployment::Entity::find_by_id(1)
            .one(&self.db)
            .await
            .map_err(backend)?;
        Ok(row.and_then(|r| r.key_check).as_deref() == Some(fingerprint))
    }

    /// This process's writer slot, then `BEGIN IMMEDIATE` on SQLite (a
    /// plain `BEGIN` on PostgreSQL).
    async fn immediate_txn(&self) -> R<(DatabaseTransaction, WriterSlot)> {
        let slot = self.writer_slot().await;
        let txn = self
            .db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
            .map_err(backend)?;
        Ok((txn, slot))
    }

    /// A write transaction. On SQLite it is `BEGIN IMMEDIATE`, so it takes
    /// the write lock (waiting up to the busy timeout) before reading: a
    /// deferred transaction that reads first fails at once with "database is
    /// locked" when another process wrote meanwhile. It then touches the
    /// deployment row, which on PostgreSQL serialises the writers that must
    /// not interleave.
    async fn write_txn(&self) -> R<(DatabaseTransaction, WriterSlot)> {
        let (txn, slot) = self.immediate_txn().await?;
        deployment::Entity::update_many()
            .col_expr(
                deployment::Column::WriteCounter,
                Expr::col(deployment::Column::WriteCounter).add(1),
            )
            .filter(deployment::Column::Id.eq(1))
            .exec(&txn)
            .await
            .map_err(backend)?;
        Ok((txn, slot))
    }

    async fn insert_personal_token(txn: &DatabaseTransaction, t: PersonalTokenRecord) -> R<()> {
        personal_tokens::ActiveModel {
            jti: Set(t.jti),
            user_id: Set(t.user_id),
            created_at: Set(t.created_at),
            expires_at: Set(t.expires_at),
            revoked_at: Set(t.revoked_at),
            ..Default::default()
        }
        .insert(txn)
        .await
        .map_err(backend)?;
        Ok(())
    }

    /// Marks a live token revoked; `false` when there was none to revoke.
    async fn revoke_in(txn: &DatabaseTransaction, jti: &str, now: i64) -> R<bool> {
        let res = personal_tokens::Entity::update_many()
            .col_expr(personal_tokens::Column::RevokedAt, Expr::value(now))
            .filter(personal_tokens::Column::Jti.eq(jti))
            .filter(personal_tokens::Column::RevokedAt.is_null())
            .filter(personal_tokens::Column::ExpiresAt.gt(now))
            .exec(txn)
            .await
            .map_err(backend)?;
        Ok(res.rows_affected == 1)
    }

    async fn end_sessions(conn: &impl ConnectionTrait, user_id: i64) -> R<()> {
        sessions::Entity::delete_many()
            .filter(sessions::Column::UserId.eq(user_id))
            .exec(conn)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn insert_org(
        txn: &DatabaseTransaction,
        title: &str,
        invite: &InviteState,
        digest: &SecretDigest,
        now: i64,
    ) -> R<organizations::Model> {
        organizations::ActiveModel {
            title: Set(title.to_owned()),
            contact_info: Set(None),
            created_by: Set(None),
            invite_generation: Set(generation_i64(invite)?),
            invite_salt: Set(salt_hex(invite.salt())),
            invite_digest: Set(digest.to_hex()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await
        .map_err(backend)
    }

    async fn create_account_in(
        &self,
        txn: &DatabaseTransaction,
        new: NewAccount,
    ) -> R<CreatedAccount> {
        let taken = users::Entity::find()
            .filter(users::Column::Email.eq(new.email.as_str()))
            .count(txn)
            .await
            .map_err(backend)?;
        if taken > 0 {
            return Err(StoreError::EmailTaken);
        }
        let (org, role, created_organization) = match &new.placement {
            AccountPlacement::Join {
                organization_id,
                role,
            } => {
                let org = organizations::Entity::find_by_id(*organization_id)
                    .one(txn)
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
                    .one(txn)
                    .await
                    .map_err(backend)?;
                match first {
                    Some(org) => (org, *role, false),
                    None => (
                        Self::insert_org(txn, title.as_str(), invite, invite_digest, new.now)
                            .await?,
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
        .insert(txn)
        .await
        .map_err(|e| {
            if is_unique_violation(&e, "email") {
                StoreError::EmailTaken
            } else {
                backend(e)
            }
        })?;
        if created_organization {
            organizations::Entity::update_many()
                .col_expr(organizations::Column::CreatedBy, Expr::value(user.id))
                .filter(organizations::Column::Id.eq(org.id))
                .exec(txn)
                .await
                .map_err(backend)?;
        }
        memberships::ActiveModel {
            user_id: Set(user.id),
            organization_id: Set(org.id),
            role: Set(role.as_str().to_owned()),
            created_at: Set(new.now),
            removed_at: Set(None),
            ..Default::default()
        }
        .insert(txn)
        .await
        .map_err(backend)?;
        api_tokens::ActiveModel {
            user_id: Set(user.id),
            digest: Set(new.token_digest.to_hex()),
            created_at: Set(new.now),
            ..Default::default()
        }
        .insert(txn)
        .await
        .map_err(backend)?;
        Ok(CreatedAccount {
            user: user_record(user)?,
            organization_id: org.id,
            role,
            created_organization,
        })
    }
}

impl Store for SeaStore {
    async fn create_account(&self, new: NewAccount) -> R<CreatedAccount> {
        let (txn, _slot) = self.write_txn().await?;
        match self.create_account_in(&txn, new).await {
            Ok(created) => {
                txn.commit().await.map_err(|e| {
                    if is_unique_violation(&e, "email") {
                        StoreError::EmailTaken
                    } else {
                        backend(e)
                    }
                })?;
                Ok(created)
            }
            Err(e) => {
                let _ = txn.rollback().await;
                Err(e)
            }
        }
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

    async fn caller_by_token(&self, digest: &SecretDigest) -> R<Option<CallerContext>> {
        let Some(cache) = &self.token_cache else {
            return self.caller_by_token_uncached(digest).await;
        };
        // Read before the database: see `TokenCache::put`.
        let Some(stamp) = cache.watch.stamp() else {
            return self.caller_by_token_uncached(digest).await;
        };
        if let Some(caller) = cache.get(&stamp, digest) {
            return Ok(Some(caller));
        }
        let found = self.caller_by_token_uncached(digest).await?;
        if let Some(caller) = &found {
            cache.put(stamp, digest, caller);
        }
        Ok(found)
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
        let (txn, _slot) = self.write_txn().await?;
        let res = users::Entity::update_many()
            .col_expr(
                users::Column::PasswordHash,
                Expr::value(hash.as_str().to_owned()),
            )
            .col_expr(users::Column::UpdatedAt, Expr::value(now))
            .filter(users::Column::Id.eq(user_id))
            .exec(&txn)
            .await
            .map_err(backend)?;
        if res.rows_affected == 0 {
            return Err(StoreError::NotFound("User"));
        }
        Self::end_sessions(&txn, user_id).await?;
        txn.commit().await.map_err(backend)
    }

    async fn set_active(&self, user_id: i64, active: bool, now: i64) -> R<()> {
        let (txn, _slot) = self.write_txn().await?;
        let res = users::Entity::update_many()
            .col_expr(users::Column::IsActive, Expr::value(active))
            .col_expr(users::Column::UpdatedAt, Expr::value(now))
            .filter(users::Column::Id.eq(user_id))
            .exec(&txn)
            .await
            .map_err(backend)?;
        if res.rows_affected == 0 {
            return Err(StoreError::NotFound("User"));
        }
        if !active {
            Self::end_sessions(&txn, user_id).await?;
        }
        txn.commit().await.map_err(backend)
    }

    async fn replace_token(&self, user_id: i64, digest: SecretDigest, now: i64) -> R<()> {
        let (txn, _slot) = self.write_txn().await?;
        if users::Entity::find_by_id(user_id)
            .count(&txn)
            .await
            .map_err(backend)?
            == 0
        {
            return Err(StoreError::NotFound("User"));
        }
        api_tokens::Entity::delete_many()
            .filter(api_tokens::Column::UserId.eq(user_id))
            .exec(&txn)
            .await
            .map_err(backend)?;
        api_tokens::ActiveModel {
            user_id: Set(user_id),
            digest: Set(digest.to_hex()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(backend)?;
        txn.commit().await.map_err(backend)
    }

    async fn organization(&self, id: i64) -> R<Option<OrgRecord>> {
        organizations::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(backend)?
            .map(org_record)
            .transpose()
    }

    async fn first_organization(&self) -> R<Option<OrgRecord>> {
        organizations::Entity::find()
            .order_by_asc(organizations::Column::Id)
            .one(&self.db)
            .await
            .map_err(backend)?
            .map(org_record)
            .transpose()
    }

    async fn membership(&self, user_id: i64, org_id: i64) -> R<Option<MembershipRecord>> {
        memberships::Entity::find()
            .filter(memberships::Column::UserId.eq(user_id))
            .filter(memberships::Column::OrganizationId.eq(org_id))
            .one(&self.db)
            .await
            .map_err(backend)?
            .map(membership_record)
            .transpose()
    }

    async fn find_invite(&self, digest: &SecretDigest) -> R<InviteLookup> {
        let hex = digest.to_hex();
        if let Some(org) = organizations::Entity::find()
            .filter(organizations::Column::InviteDigest.eq(hex.clone()))
            .one(&self.db)
            .await
            .map_err(backend)?
        {
            return Ok(InviteLookup::Current(org.id));
        }
        let retired = retired_invites::Entity::find()
            .filter(retired_invites::Column::Digest.eq(hex))
            .count(&self.db)
            .await
            .map_err(backend)?;
        Ok(if retired > 0 {
            InviteLookup::Retired
        } else {
            InviteLookup::Unknown
        })
    }

    async fn rotate_invite(
        &self,
        org_id: i64,
        new_state: InviteState,
        new_digest: SecretDigest,
        now: i64,
    ) -> R<OrgRecord> {
        let (txn, _slot) = self.write_txn().await?;
        let org = organizations::Entity::find_by_id(org_id)
            .one(&txn)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound("Organization"))?;
        retired_invites::ActiveModel {
            organization_id: Set(org_id),
            digest: Set(org.invite_digest.clone()),
            retired_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(backend)?;
        let mut active: organizations::ActiveModel = org.into();
        active.invite_generation = Set(generation_i64(&new_state)?);
        active.invite_salt = Set(salt_hex(new_state.salt()));
        active.invite_digest = Set(new_digest.to_hex());
        active.updated_at = Set(now);
        let updated = active.update(&txn).await.map_err(backend)?;
        txn.commit().await.map_err(backend)?;
        org_record(updated)
    }

    async fn org_members(&self, org_id: i64) -> R<Vec<(MembershipRecord, UserRecord)>> {
        let members = memberships::Entity::find()
            .filter(memberships::Column::OrganizationId.eq(org_id))
            .filter(memberships::Column::RemovedAt.is_null())
            .order_by_asc(memberships::Column::UserId)
            .all(&self.db)
            .await
            .map_err(backend)?;
        // A subquery, not a list of ids: a list is one bound variable per
        // member, and SQLite refuses more than 32766 of them.
        let mut users: std::collections::HashMap<i64, users::Model> = users::Entity::find()
            .filter(
                users::Column::Id.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(memberships::Column::UserId)
                        .from(memberships::Entity)
                        .and_where(memberships::Column::OrganizationId.eq(org_id))
                        .and_where(memberships::Column::RemovedAt.is_null())
                        .to_owned(),
                ),
            )
            .all(&self.db)
            .await
            .map_err(backend)?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        members
            .into_iter()
            .filter_map(|m| users.remove(&m.user_id).map(|u| (m, u)))
            .map(|(m, u)| Ok((membership_record(m)?, user_record(u)?)))
            .collect()
    }

    async fn member_page(
        &self,
        org_id: i64,
        offset: usize,
        limit: Option<usize>,
    ) -> R<(usize, Vec<(MembershipRecord, UserRecord)>)> {
        let Some(limit) = limit else {
            let mut all = self.org_members(org_id).await?;
            all.sort_by(|(_, a), (_, b)| a.username.cmp(&b.username).then(a.id.cmp(&b.id)));
            let count = all.len();
            return Ok((count, all.into_iter().skip(offset).collect()));
        };
        // A member removed (or renamed) between reading the order and the
        // rows shows as a missing row: read the order again.
        for _ in 0..MEMBER_PAGE_ATTEMPTS {
            let Some(order) = self.member_order(org_id).await? else {
                return Ok((0, Vec::new()));
            };
            let start = offset.min(order.len());
            let end = offset.saturating_add(limit).min(order.len());
            if let Some(rows) = self.members_by_ids(org_id, &order[start..end]).await? {
                return Ok((order.len(), rows));
            }
        }
        Err(StoreError::Conflict(
            "the member list changed while it was read",
        ))
    }

    async fn organizations_of(&self, user_id: i64) -> R<Vec<OrgRecord>> {
        let ids: Vec<i64> = memberships::Entity::find()
            .filter(memberships::Column::UserId.eq(user_id))
            .filter(memberships::Column::RemovedAt.is_null())
            .all(&self.db)
            .await
            .map_err(backend)?
            .into_iter()
            .map(|m| m.organization_id)
            .collect();
        organizations::Entity::find()
            .filter(organizations::Column::Id.is_in(ids))
            .order_by_asc(organizations::Column::Id)
            .all(&self.db)
            .await
            .map_err(backend)?
            .into_iter()
            .map(org_record)
            .collect()
    }

    async fn update_user(&self, user_id: i64, changes: UserChanges, now: i64) -> R<UserRecord> {
        let (txn, _slot) = self.write_txn().await?;
        let user = users::Entity::find_by_id(user_id)
            .one(&txn)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound("User"))?;
        let mut active: users::ActiveModel = user.into();
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
        active.updated_at = Set(now);
        let updated = active.update(&txn).await.map_err(backend)?;
        txn.commit().await.map_err(backend)?;
        user_record(updated)
    }

    async fn delete_user(&self, user_id: i64) -> R<()> {
        let (txn, _slot) = self.write_txn().await?;
        // Explicit, so the result does not depend on foreign-key enforcement.
        sessions::Entity::delete_many()
            .filter(sessions::Column::UserId.eq(user_id))
            .exec(&txn)
            .await
            .map_err(backend)?;
        api_tokens::Entity::delete_many()
            .filter(api_tokens::Column::UserId.eq(user_id))
            .exec(&txn)
            .await
            .map_err(backend)?;
        personal_tokens::Entity::delete_many()
            .filter(personal_tokens::Column::UserId.eq(user_id))
            .exec(&txn)
            .await
            .map_err(backend)?;
        memberships::Entity::delete_many()
            .filter(memberships::Column::UserId.eq(user_id))
            .exec(&txn)
            .await
            .map_err(backend)?;
        organizations::Entity::update_many()
            .col_expr(
                organizations::Column::CreatedBy,
                Expr::value(Option::<i64>::None),
            )
            .filter(organizations::Column::CreatedBy.eq(user_id))
            .exec(&txn)
            .await
            .map_err(backend)?;
        let res = users::Entity::delete_by_id(user_id)
            .exec(&txn)
            .await
            .map_err(backend)?;
        if res.rows_affected == 0 {
            return Err(StoreError::NotFound("User"));
        }
        txn.commit().await.map_err(backend)
    }

    async fn remove_membership(&self, user_id: i64, org_id: i64, now: i64) -> R<()> {
        let (txn, _slot) = self.write_txn().await?;
        let res = memberships::Entity::update_many()
            .col_expr(memberships::Column::RemovedAt, Expr::value(now))
            .filter(memberships::Column::UserId.eq(user_id))
            .filter(memberships::Column::OrganizationId.eq(org_id))
            .filter(memberships::Column::RemovedAt.is_null())
            .exec(&txn)
            .await
            .map_err(backend)?;
        if res.rows_affected == 0 {
            return Err(StoreError::NotFound("Member"));
        }
        txn.commit().await.map_err(backend)
    }

    async fn create_organization(
        &self,
        owner: i64,
        title: OrgTitle,
        invite: InviteState,
        invite_digest: SecretDigest,
        now: i64,
    ) -> R<OrgRecord> {
        let (txn, _slot) = self.write_txn().await?;
        let mut org = Self::insert_org(&txn, title.as_str(), &invite, &invite_digest, now).await?;
        let mut active: organizations::ActiveModel = org.clone().into();
        active.created_by = Set(Some(owner));
        org = active.update(&txn).await.map_err(backend)?;
        memberships::ActiveModel {
            user_id: Set(owner),
            organization_id: Set(org.id),
            role: Set(Role::Owner.as_str().to_owned()),
            created_at: Set(now),
            removed_at: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(backend)?;
        txn.commit().await.map_err(backend)?;
        org_record(org)
    }

    async fn set_role(&self, user_id: i64, org_id: i64, role: Role) -> R<()> {
        let (txn, _slot) = self.write_txn().await?;
        let res = memberships::Entity::update_many()
            .col_expr(memberships::Column::Role, Expr::value(role.as_str()))
            .filter(memberships::Column::UserId.eq(user_id))
            .filter(memberships::Column::OrganizationId.eq(org_id))
            .filter(memberships::Column::RemovedAt.is_null())
            .exec(&txn)
            .await
            .map_err(backend)?;
        if res.rows_affected == 0 {
            return Err(StoreError::NotFound("Member"));
        }
        txn.commit().await.map_err(backend)
    }

    async fn update_organization(
        &self,
        org_id: i64,
        title: Option<OrgTitle>,
        contact_info: Option<Option<Email>>,
        now: i64,
    ) -> R<OrgRecord> {
        let (txn, _slot) = self.write_txn().await?;
        let org = organizations::Entity::find_by_id(org_id)
            .one(&txn)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound("Organization"))?;
        let mut active: organizations::ActiveModel = org.into();
        if let Some(t) = title {
            active.title = Set(t.as_str().to_owned());
        }
        if let Some(c) = contact_info {
            active.contact_info = Set(c.map(|e| e.as_str().to_owned()));
        }
        active.updated_at = Set(now);
        let updated = active.update(&txn).await.map_err(backend)?;
        txn.commit().await.map_err(backend)?;
        org_record(updated)
    }

    async fn create_session(&self, session: NewSession) -> R<()> {
        // Independent of every other write: no need to serialise through
        // the deployment row as `write_txn` does.
        let (txn, _slot) = self.immediate_txn().await?;
        if let Some(old) = session.replaces {
            sessions::Entity::delete_many()
                .filter(sessions::Column::Digest.eq(old.to_hex()))
                .exec(&txn)
                .await
                .map_err(backend)?;
        }
        if let Some(key) = session.forgets {
            throttle::Entity::delete_many()
                .filter(throttle::Column::Key.eq(key))
                .exec(&txn)
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
        .insert(&txn)
        .await
        .map_err(backend)?;
        txn.commit().await.map_err(backend)
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
    async fn create_personal_token(&self, token: PersonalTokenRecord, now: i64) -> R<()> {
        let (txn, _slot) = self.write_txn().await?;
        let live = personal_tokens::Entity::find()
            .filter(personal_tokens::Column::UserId.eq(token.user_id))
            .filter(personal_tokens::Column::RevokedAt.is_null())
            .filter(personal_tokens::Column::ExpiresAt.gt(now))
            .count(&txn)
            .await
            .map_err(backend)?;
        if live > 0 {
            return Err(StoreError::Conflict("a live personal access token exists"));
        }
        Self::insert_personal_token(&txn, token).await?;
        txn.commit().await.map_err(backend)
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

    async fn caller_by_personal_token(
        &self,
        jti: &str,
        user_id: i64,
        now: i64,
    ) -> R<Option<CallerContext>> {
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
            Some(row) => caller_context(&row).map(Some),
            None => Ok(None),
        }
    }

    async fn revoke_personal_token(&self, jti: &str, now: i64) -> R<bool> {
        let (txn, _slot) = self.write_txn().await?;
        let revoked = Self::revoke_in(&txn, jti, now).await?;
        txn.commit().await.map_err(backend)?;
        Ok(revoked)
    }

    async fn rotate_personal_token(
        &self,
        old_jti: &str,
        new: PersonalTokenRecord,
        now: i64,
    ) -> R<bool> {
        let (txn, _slot) = self.write_txn().await?;
        if !Self::revoke_in(&txn, old_jti, now).await? {
            return Ok(false);
        }
        Self::insert_personal_token(&txn, new).await?;
        txn.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn set_token_settings(
        &self,
        org_id: i64,
        settings: TokenSettings,
        now: i64,
    ) -> R<OrgRecord> {
        let (txn, _slot) = self.write_txn().await?;
        let org = organizations::Entity::find_by_id(org_id)
            .one(&txn)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound("Organization"))?;
        let mut active: organizations::ActiveModel = org.into();
        active.api_tokens_enabled = Set(settings.api_tokens_enabled);
        active.legacy_api_tokens_enabled = Set(settings.legacy_api_tokens_enabled);
        active.api_token_ttl_days = Set(i32::try_from(settings.api_token_ttl_days)
            .map_err(|_| StoreError::Corrupt("token lifetime out of range".into()))?);
        active.updated_at = Set(now);
        let updated = active.update(&txn).await.map_err(backend)?;
        txn.commit().await.map_err(backend)?;
        org_record(updated)
    }

    async fn set_hotkeys(&self, user_id: i64, stored: String, now: i64) -> R<UserRecord> {
        let (txn, _slot) = self.write_txn().await?;
        let user = users::Entity::find_by_id(user_id)
            .one(&txn)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound("User"))?;
        let mut active: users::ActiveModel = user.into();
        active.custom_hotkeys = Set(stored);
        active.updated_at = Set(now);
        let updated = active.update(&txn).await.map_err(backend)?;
        txn.commit().await.map_err(backend)?;
        user_record(updated)
    }

    async fn throttle_admit(
        &self,
        keys: Vec<(String, accounts::throttle::Limit)>,
        now_secs: i64,
    ) -> R<Result<(), i64>> {
        use accounts::throttle::{Counter, Verdict};
        let (txn, _slot) = self.write_txn().await?;
        let mut writes = Vec::with_capacity(keys.len());
        let mut locked: Option<i64> = None;
        for (key, limit) in keys {
            let row = throttle::Entity::find()
                .filter(throttle::Column::Key.eq(key.as_str()))
                .one(&txn)
                .await
                .map_err(backend)?;
            let counter = row.as_ref().map_or(Counter::default(), |r| Counter {
                events: u32::try_from(r.events).unwrap_or(u32::MAX),
                window_start: r.window_start,
                locked_until: r.locked_until,
            });
            match counter.admit(limit, now_secs) {
                Verdict::Locked { until } => {
                    locked = Some(locked.map_or(until, |u| std::cmp::max(u, until)))
                }
                Verdict::Admitted(next) => writes.push((key, row, next)),
            }
        }
        if let Some(until) = locked {
            // Nothing counted: dropping the transaction rolls it back.
            return Ok(Err(until));
        }
        for (key, row, next) in writes {
            match row {
                Some(r) => {
                    let mut active: throttle::ActiveModel = r.into();
                    active.events = Set(i64::from(next.events));
                    active.window_start = Set(next.window_start);
                    active.locked_until = Set(next.locked_until);
                    active.update(&txn).await.map_err(backend)?;
                }
                None => {
                    throttle::ActiveModel {
                        key: Set(key),
                        events: Set(i64::from(next.events)),
                        window_start: Set(next.window_start),
                        locked_until: Set(next.locked_until),
                        ..Default::default()
                    }
                    .insert(&txn)
                    .await
                    .map_err(backend)?;
                }
            }
        }
        // Keys nobody has tried for a day, unlocked, are forgotten: the
        // table stays small whatever names an attacker tries.
        throttle::Entity::delete_many()
            .filter(throttle::Column::WindowStart.lt(now_secs - 86_400))
            .filter(throttle::Column::LockedUntil.lt(now_secs))
            .exec(&txn)
            .await
            .map_err(backend)?;
        txn.commit().await.map_err(backend)?;
        Ok(Ok(()))
    }

    async fn throttle_clear(&self, key: &str) -> R<bool> {
        let (txn, _slot) = self.write_txn().await?;
        let res = throttle::Entity::delete_many()
            .filter(throttle::Column::Key.eq(key))
            .exec(&txn)
            .await
            .map_err(backend)?;
        txn.commit().await.map_err(backend)?;
        Ok(res.rows_affected > 0)
    }
}
