//! [`AuditStore`]: the audit log. [`AuditStore::audited`] puts the entry
//! in a task-local slot for the duration of the work; the first write
//! transaction the work commits ([`super::txn::Write::finish`]) takes it and
//! inserts it before its commit, so an entry is stored exactly when its
//! change is. Pages are read newest first by id (keyset), through the
//! `(organization_id, id)` index.

use std::cell::RefCell;
use std::future::Future;

use app::{AuditEntry, AuditQuery, AuditRecord, AuditStore};
use sea_orm::sea_query::{Expr, ExprTrait as _, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::{R, SeaStore, backend};
use crate::db::entities::audit_log;

tokio::task_local! {
    static PENDING: RefCell<Option<AuditEntry>>;
}

/// The entry the running work is to write with its change, if any (taken:
/// one transaction writes it).
pub(super) fn take_pending() -> Option<AuditEntry> {
    PENDING.try_with(|p| p.borrow_mut().take()).ok().flatten()
}

/// Completes the pending entry with what only the transaction knows (a
/// new account's id and organization), where the entry left it open.
pub(super) fn complete_pending(user_id: i64, organization_id: i64) {
    let _ = PENDING.try_with(|p| {
        if let Some(e) = p.borrow_mut().as_mut() {
            e.target_user_id.get_or_insert(user_id);
            e.organization_id.get_or_insert(organization_id);
        }
    });
}

/// Inserts an entry through `conn` (the open transaction of its change).
pub(super) async fn insert(conn: &impl ConnectionTrait, e: AuditEntry) -> R<()> {
    audit_log::ActiveModel {
        at: Set(e.at),
        action: Set(e.action.into_owned()),
        actor_id: Set(e.actor_id),
        actor: Set(e.actor),
        target_user_id: Set(e.target_user_id),
        target: Set(e.target),
        organization_id: Set(e.organization_id),
        client: Set(e.client),
        detail: Set(e.detail),
        ..Default::default()
    }
    .insert(conn)
    .await
    .map(drop)
    .map_err(backend)
}

fn record(m: audit_log::Model) -> AuditRecord {
    AuditRecord {
        id: m.id,
        entry: AuditEntry {
            action: m.action.into(),
            actor_id: m.actor_id,
            actor: m.actor,
            target_user_id: m.target_user_id,
            target: m.target,
            organization_id: m.organization_id,
            client: m.client,
            detail: m.detail,
            at: m.at,
        },
    }
}

/// `%`, `_` and the escape itself, escaped for LIKE … ESCAPE '\'.
fn like_escaped(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl SeaStore {
    /// A page of one organization's entries (`None`: the instance's own).
    async fn audit_range(&self, q: &AuditQuery, org: Option<i64>) -> R<Vec<AuditRecord>> {
        let mut select = audit_log::Entity::find().filter(match org {
            Some(id) => audit_log::Column::OrganizationId.eq(id),
            None => audit_log::Column::OrganizationId.is_null(),
        });
        if let Some(before) = q.before {
            select = select.filter(audit_log::Column::Id.lt(before));
        }
        if let Some(action) = &q.action {
            select = if action.ends_with('.') {
                select.filter(
                    Expr::col(audit_log::Column::Action)
                        .like(LikeExpr::new(format!("{}%", like_escaped(action))).escape('\\')),
                )
            } else {
                select.filter(audit_log::Column::Action.eq(action.as_str()))
            };
        }
        if let Some(person) = &q.person {
            let pattern = format!("%{}%", like_escaped(person));
            let like = |c: audit_log::Column| {
                Expr::col(c).like(LikeExpr::new(pattern.clone()).escape('\\'))
            };
            select = select.filter(
                Condition::any()
                    .add(like(audit_log::Column::Actor))
                    .add(like(audit_log::Column::Target)),
            );
        }
        Ok(select
            .order_by_desc(audit_log::Column::Id)
            .limit(u64::try_from(q.limit).unwrap_or(u64::MAX))
            .all(&self.db)
            .await
            .map_err(backend)?
            .into_iter()
            .map(record)
            .collect())
    }
}

impl AuditStore for SeaStore {
    async fn audited<T: Send>(
        &self,
        entry: AuditEntry,
        work: impl Future<Output = R<T>> + Send,
    ) -> R<T> {
        PENDING.scope(RefCell::new(Some(entry)), work).await
    }

    async fn audit_page(&self, q: AuditQuery) -> R<Vec<AuditRecord>> {
        // One range read of the (organization_id, id) index per set of
        // entries shown (the organization's, the instance's own), merged:
        // an OR of the two would make SQLite scan the table.
        let mut sets: Vec<Option<i64>> = Vec::new();
        if let Some(id) = q.organization_id {
            sets.push(Some(id));
        }
        if q.instance_wide {
            sets.push(None);
        }
        let mut out: Vec<AuditRecord> = Vec::new();
        for org in sets {
            out.extend(self.audit_range(&q, org).await?);
        }
        out.sort_by_key(|r| std::cmp::Reverse(r.id));
        out.truncate(q.limit);
        Ok(out)
    }

    async fn audit_after(&self, after: i64, limit: usize) -> R<Vec<AuditRecord>> {
        Ok(audit_log::Entity::find()
            .filter(audit_log::Column::Id.gt(after))
            .order_by_asc(audit_log::Column::Id)
            .limit(u64::try_from(limit).unwrap_or(u64::MAX))
            .all(&self.db)
            .await
            .map_err(backend)?
            .into_iter()
            .map(record)
            .collect())
    }

    async fn prune_audit(&self, before: i64) -> R<u64> {
        let _slot = self.writer_slot().await;
        Ok(audit_log::Entity::delete_many()
            .filter(audit_log::Column::At.lt(before))
            .exec(&self.db)
            .await
            .map_err(backend)?
            .rows_affected)
    }
}
