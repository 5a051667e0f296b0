//! [`ThrottleStore`]: the throttle counters, one row a key.

use accounts::throttle::{Counter, Limit, Verdict};
use app::ThrottleStore;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::txn::Write;
use super::{R, SeaStore, backend};
use crate::db::entities::throttle;

/// A key nobody has tried for this long, unlocked, is forgotten.
const FORGOTTEN_AFTER_SECS: i64 = 86_400;

/// Counts the attempt against every key: `Err(until)` when one is locked,
/// and then nothing is to be written.
async fn count(w: &Write, keys: Vec<(String, Limit)>, now_secs: i64) -> R<Result<(), i64>> {
    let mut writes = Vec::with_capacity(keys.len());
    let mut locked: Option<i64> = None;
    for (key, limit) in keys {
        let row = throttle::Entity::find()
            .filter(throttle::Column::Key.eq(key.as_str()))
            .one(&**w)
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
        return Ok(Err(until));
    }
    for (key, row, next) in writes {
        match row {
            Some(r) => {
                let mut active: throttle::ActiveModel = r.into();
                active.events = Set(i64::from(next.events));
                active.window_start = Set(next.window_start);
                active.locked_until = Set(next.locked_until);
                active.update(&**w).await.map_err(backend)?;
            }
            None => {
                throttle::ActiveModel {
                    key: Set(key),
                    events: Set(i64::from(next.events)),
                    window_start: Set(next.window_start),
                    locked_until: Set(next.locked_until),
                    ..Default::default()
                }
                .insert(&**w)
                .await
                .map_err(backend)?;
            }
        }
    }
    // The table stays small whatever names an attacker tries.
    throttle::Entity::delete_many()
        .filter(throttle::Column::WindowStart.lt(now_secs - FORGOTTEN_AFTER_SECS))
        .filter(throttle::Column::LockedUntil.lt(now_secs))
        .exec(&**w)
        .await
        .map_err(backend)?;
    Ok(Ok(()))
}

impl ThrottleStore for SeaStore {
    async fn throttle_admit(
        &self,
        keys: Vec<(String, Limit)>,
        now_secs: i64,
    ) -> R<Result<(), i64>> {
        let w = self.write().await?;
        match count(&w, keys, now_secs).await {
            // Locked: nothing counted, nothing committed.
            Ok(Err(until)) => {
                w.rollback().await;
                Ok(Err(until))
            }
            work => w.finish(work).await,
        }
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
