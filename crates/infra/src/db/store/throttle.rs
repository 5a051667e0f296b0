//! [`ThrottleStore`]: the throttle counters, one row a key.
//!
//! A key that is locked is refused after one read, with no write
//! transaction: a flood of attempts at a locked key costs reads only. Each
//! row records when it may be forgotten (`expires_at`: its window over and
//! its lock ended); forgetting it then changes no verdict. Expired rows are
//! removed by an indexed delete at most once every [`CLEAN_EVERY_SECS`] or
//! [`CLEAN_EVERY_INSERTS`] new keys in a process, and the table is capped
//! at `max_keys` rows: past the cap unlocked counters go, client addresses
//! before accounts, the fewest attempts and then the oldest first, so a
//! flood of distinct addresses cannot grow the table without bound.

use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

use accounts::throttle::{Counter, Limit, Verdict};
use app::ThrottleStore;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::txn::Write;
use super::{R, SeaStore, backend};
use crate::db::entities::throttle;

/// Expired counters are removed at most this often by one process...
const CLEAN_EVERY_SECS: i64 = 60;
/// ...or after this many keys it added, whichever comes first.
const CLEAN_EVERY_INSERTS: u32 = 64;
/// The default cap on counter rows (`throttle_max_keys`).
pub(super) const DEFAULT_MAX_KEYS: u64 = 100_000;

/// When this process last cleaned the table, and the keys it added since.
#[derive(Debug, Default)]
pub(crate) struct Housekeeping {
    last_clean: AtomicI64,
    inserts: AtomicU32,
}

impl Housekeeping {
    /// Whether a clean-up is due; claims it when it is.
    fn due(&self, now: i64, inserted: u32) -> bool {
        let n = self.inserts.fetch_add(inserted, Ordering::Relaxed) + inserted;
        let last = self.last_clean.load(Ordering::Relaxed);
        if n < CLEAN_EVERY_INSERTS && now.saturating_sub(last) < CLEAN_EVERY_SECS {
            return false;
        }
        self.inserts.store(0, Ordering::Relaxed);
        self.last_clean.store(now, Ordering::Relaxed);
        true
    }
}

fn counter_of(r: &throttle::Model) -> Counter {
    Counter {
        events: u32::try_from(r.events).unwrap_or(u32::MAX),
        window_start: r.window_start,
        locked_until: r.locked_until,
    }
}

/// When a counter may be forgotten without changing any verdict.
fn expiry(c: &Counter, limit: Limit) -> i64 {
    std::cmp::max(
        c.window_start.saturating_add(limit.window_secs),
        c.locked_until,
    )
}

/// The rows of `keys`; with `lock`, locked for this transaction (`FOR
/// UPDATE` on PostgreSQL; SQLite's write transaction holds the whole file).
async fn rows<C: ConnectionTrait>(
    db: &C,
    keys: &[(String, Limit)],
    lock: bool,
) -> R<Vec<throttle::Model>> {
    let q = throttle::Entity::find()
        .filter(throttle::Column::Key.is_in(keys.iter().map(|(k, _)| k.as_str())));
    // Locked in key order, the order every other writer of these rows
    // touches them in (sessions.rs), so two transactions never deadlock.
    let q = if lock {
        q.order_by_asc(throttle::Column::Key).lock_exclusive()
    } else {
        q
    };
    q.all(db).await.map_err(backend)
}

/// The latest lock among `rows` still in force at `now`.
fn locked(rows: &[throttle::Model], now: i64) -> Option<i64> {
    rows.iter()
        .map(counter_of)
        .filter(|c| c.is_locked(now))
        .map(|c| c.locked_until)
        .max()
}

/// Counts the attempt against every key: `Err(until)` when one is locked,
/// or reaches its limit now (then only the new locks are written).
async fn count(w: &Write, keys: Vec<(String, Limit)>, now_secs: i64) -> R<(Result<(), i64>, u32)> {
    // Locked: a login's session transaction, which forgets or refunds a
    // counter without the deployment row, waits for this one or is seen
    // by it; never a read-modify-write over a row changed meanwhile.
    let found = rows(&**w, &keys, true).await?;
    let mut writes = Vec::with_capacity(keys.len());
    let mut locks = Vec::new();
    let mut refused: Option<i64> = None;
    for (key, limit) in keys {
        let row = found.iter().find(|r| r.key == key).cloned();
        let counter = row.as_ref().map_or(Counter::default(), counter_of);
        match counter.admit(limit, now_secs) {
            Verdict::Locked { until } => {
                refused = Some(refused.map_or(until, |u| std::cmp::max(u, until)))
            }
            Verdict::Locks(next) => {
                let until = next.locked_until;
                refused = Some(refused.map_or(until, |u| std::cmp::max(u, until)));
                locks.push((key, row, next, limit));
            }
            Verdict::Admitted(next) => writes.push((key, row, next, limit)),
        }
    }
    let locking = refused.is_some();
    let writes = if locking { locks } else { writes };
    let mut inserted = 0;
    for (key, _, next, _) in writes.iter().filter(|_| locking) {
        // A key locks now: the audit log says which, and until when.
        super::audit::insert(
            &**w,
            app::AuditEntry {
                action: "throttle.locked".into(),
                actor_id: None,
                actor: None,
                target_user_id: None,
                target: Some(key.clone()),
                organization_id: None,
                client: None,
                detail: Some(format!(
                    "locked until {}",
                    app::time::iso8601(next.locked_until.saturating_mul(1_000_000))
                )),
                at: now_secs.saturating_mul(1_000_000),
            },
        )
        .await?;
    }
    for (key, row, next, limit) in writes {
        let expires_at = expiry(&next, limit);
        match row {
            Some(r) => {
                let mut active: throttle::ActiveModel = r.into();
                active.events = Set(i64::from(next.events));
                active.window_start = Set(next.window_start);
                active.locked_until = Set(next.locked_until);
                active.expires_at = Set(expires_at);
                active.update(&**w).await.map_err(backend)?;
            }
            None => {
                inserted += 1;
                throttle::ActiveModel {
                    key: Set(key),
                    events: Set(i64::from(next.events)),
                    window_start: Set(next.window_start),
                    locked_until: Set(next.locked_until),
                    expires_at: Set(expires_at),
                    ..Default::default()
                }
                .insert(&**w)
                .await
                .map_err(backend)?;
            }
        }
    }
    Ok((refused.map_or(Ok(()), Err), inserted))
}

/// Removes expired counters (an indexed delete), then, past `max_keys`
/// rows, unlocked ones: client addresses before accounts, the fewest
/// attempts and then the oldest first.
async fn clean(w: &Write, now_secs: i64, max_keys: u64) -> R<()> {
    throttle::Entity::delete_many()
        .filter(throttle::Column::ExpiresAt.lt(now_secs))
        .exec(&**w)
        .await
        .map_err(backend)?;
    let total = throttle::Entity::find()
        .count(&**w)
        .await
        .map_err(backend)?;
    let mut excess = total.saturating_sub(max_keys);
    for addresses in [true, false] {
        if excess == 0 {
            break;
        }
        let filter = |q: sea_orm::Select<throttle::Entity>| {
            let q = q.filter(throttle::Column::LockedUntil.lte(now_secs));
            if addresses {
                q.filter(throttle::Column::Key.like("%:client:%"))
            } else {
                q
            }
        };
        let ids: Vec<i64> = filter(throttle::Entity::find())
            .select_only()
            .column(throttle::Column::Id)
            // The fewest attempts first: a flood of one-attempt keys goes
            // before a guessed account's count does.
            .order_by_asc(throttle::Column::Events)
            .order_by_asc(throttle::Column::ExpiresAt)
            .limit(excess)
            .into_tuple()
            .all(&**w)
            .await
            .map_err(backend)?;
        if ids.is_empty() {
            continue;
        }
        let gone = throttle::Entity::delete_many()
            .filter(throttle::Column::Id.is_in(ids))
            .exec(&**w)
            .await
            .map_err(backend)?
            .rows_affected;
        excess = excess.saturating_sub(gone);
        tracing::warn!(
            removed = gone,
            max_keys,
            "throttle table over its cap: counters forgotten"
        );
    }
    Ok(())
}

/// [`ThrottleStore::throttle_refund`] in the open transaction: one
/// statement, so two refunds at once both count (`Counter::refund`'s rule:
/// nothing below zero, a lock left as it is).
pub(super) async fn refund(w: &Write, key: &str, now_secs: i64) -> R<()> {
    throttle::Entity::update_many()
        .col_expr(
            throttle::Column::Events,
            Expr::col(throttle::Column::Events).sub(1),
        )
        .filter(throttle::Column::Key.eq(key))
        .filter(throttle::Column::Events.gt(0))
        .filter(throttle::Column::LockedUntil.lte(now_secs))
        .exec(&**w)
        .await
        .map_err(backend)?;
    Ok(())
}

impl SeaStore {
    /// At most this many counter rows are kept (`throttle_max_keys`).
    pub fn with_throttle_cap(mut self, max_keys: u64) -> Self {
        self.throttle_max_keys = std::cmp::max(max_keys, 1);
        self
    }

    /// How many counter rows there are now (for tests and `doctor`).
    pub async fn throttle_rows(&self) -> R<u64> {
        throttle::Entity::find()
            .count(&self.db)
            .await
            .map_err(backend)
    }
}

impl ThrottleStore for SeaStore {
    async fn throttle_admit(
        &self,
        keys: Vec<(String, Limit)>,
        now_secs: i64,
    ) -> R<Result<(), i64>> {
        // A locked key is refused on one read: no writer slot, no commit.
        if let Some(until) = locked(&rows(&self.db, &keys, false).await?, now_secs) {
            return Ok(Err(until));
        }
        let w = self.write().await?;
        let work = async {
            let (verdict, inserted) = count(&w, keys, now_secs).await?;
            if self.throttle_housekeeping.due(now_secs, inserted) {
                clean(&w, now_secs, self.throttle_max_keys).await?;
            }
            Ok(verdict)
        }
        .await;
        w.finish(work).await
    }

    async fn throttle_refund(&self, key: &str, now_secs: i64) -> R<()> {
        let w = self.write().await?;
        let work = refund(&w, key, now_secs).await;
        w.finish(work).await
    }

    async fn throttle_clear(&self, key: &str) -> R<bool> {
        let w = self.write().await?;
        let work = throttle::Entity::delete_many()
            .filter(throttle::Column::Key.eq(key))
            .exec(&*w)
            .await
            .map(|res| res.rows_affected > 0)
            .map_err(backend);
        w.finish(work).await
    }
}
