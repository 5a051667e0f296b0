//! [`SeaMemberScan`]: an organization's current members read in keyset
//! chunks through the order indexes (`m20261206_000008`), all inside one
//! read transaction on one connection. Every chunk sees the database as the
//! first did, so the count given first is the number of rows that follow
//! and a member renamed or removed meanwhile appears once or not at all;
//! and one connection (its page cache, its worker thread) serves the whole
//! list, not every connection of the pool in turn.

use app::{MemberCursor, MemberScan, MembershipRecord, StoreError, UserRecord};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    FromQueryResult, IsolationLevel, TransactionTrait,
};

use super::rows::{current_members, membership_record, select_prefixed, user_record};
use super::{R, backend};
use crate::db::entities::{memberships, organizations, users};

/// The rows of a `current_members` select of `u.*` and `m_…`, in its order.
pub(super) async fn member_rows(
    conn: &impl ConnectionTrait,
    q: &SelectStatement,
) -> R<Vec<(MembershipRecord, UserRecord)>> {
    let stmt = conn.get_database_backend().build(q);
    conn.query_all_raw(stmt)
        .await
        .map_err(backend)?
        .iter()
        .map(|row| {
            let member = memberships::Model::from_query_result(row, "m_").map_err(backend)?;
            let user = users::Model::from_query_result(row, "").map_err(backend)?;
            Ok((membership_record(member)?, user_record(user)?))
        })
        .collect()
}

/// A read-only view of one moment: SQLite's deferred transaction reads one
/// snapshot from its first read on; PostgreSQL's REPEATABLE READ, read only.
/// Rolled back when dropped.
pub(super) async fn snapshot(db: &DatabaseConnection) -> R<DatabaseTransaction> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            db.begin_with_config(
                Some(IsolationLevel::RepeatableRead),
                Some(AccessMode::ReadOnly),
            )
            .await
        }
        _ => db.begin().await,
    }
    .map_err(backend)
}

/// `org_id`'s current member count (kept by triggers); `None` for an
/// unknown organization.
pub(super) async fn member_count(conn: &impl ConnectionTrait, org_id: i64) -> R<Option<usize>> {
    let mut q = Query::select();
    q.column(organizations::Column::MemberCount)
        .from(organizations::Entity)
        .and_where(Expr::col(organizations::Column::Id).eq(org_id));
    let stmt = conn.get_database_backend().build(&q);
    let Some(row) = conn.query_one_raw(stmt).await.map_err(backend)? else {
        return Ok(None);
    };
    let count: i64 = row.try_get_by_index(0).map_err(backend)?;
    usize::try_from(count)
        .map(Some)
        .map_err(|_| StoreError::Corrupt("negative member count".into()))
}

/// See the module's documentation.
#[derive(Debug)]
pub struct SeaMemberScan {
    txn: DatabaseTransaction,
    org_id: i64,
    cursor: MemberCursor,
}

impl SeaMemberScan {
    /// Opens the snapshot and reads the count in it; `None` for an
    /// unknown organization.
    pub(super) async fn begin(
        db: &DatabaseConnection,
        org_id: i64,
        from: MemberCursor,
    ) -> R<Option<(usize, Self)>> {
        let txn = snapshot(db).await?;
        let Some(count) = member_count(&txn, org_id).await? else {
            return Ok(None);
        };
        Ok(Some((
            count,
            Self {
                txn,
                org_id,
                cursor: from,
            },
        )))
    }
}

impl MemberScan for SeaMemberScan {
    async fn next_members(&mut self, limit: usize) -> R<Vec<(MembershipRecord, UserRecord)>> {
        let m = Alias::new("m");
        let mut q = current_members(self.org_id);
        q.column((Alias::new("u"), Asterisk));
        select_prefixed::<memberships::Column>(&mut q, &m, "m_");
        let (name, id) = (
            (m.clone(), memberships::Column::SortUsername),
            (m, memberships::Column::UserId),
        );
        match &self.cursor {
            MemberCursor::ByUsername(at) => {
                if let Some((username, user_id)) = at {
                    q.and_where(
                        Expr::tuple([Expr::col(name.clone()), Expr::col(id.clone())]).gt(
                            Expr::tuple([Expr::val(username.as_str()), Expr::val(*user_id)]),
                        ),
                    );
                }
                q.order_by(name, Order::Asc);
            }
            MemberCursor::ById(at) => {
                if let Some(user_id) = at {
                    q.and_where(Expr::col(id.clone()).gt(*user_id));
                }
            }
        }
        q.order_by(id, Order::Asc).limit(limit as u64);
        let rows = member_rows(&self.txn, &q).await?;
        if let Some((_, last)) = rows.last() {
            self.cursor.advance(last);
        }
        Ok(rows)
    }

    async fn next_ids(&mut self, limit: usize) -> R<Vec<i64>> {
        let after = match &self.cursor {
            MemberCursor::ById(after) => *after,
            MemberCursor::ByUsername(_) => {
                return Err(StoreError::Corrupt(
                    "member ids asked of a scan by username".into(),
                ));
            }
        };
        let mut q = Query::select();
        q.column(memberships::Column::UserId)
            .from(memberships::Entity)
            .and_where(Expr::col(memberships::Column::OrganizationId).eq(self.org_id))
            .and_where(Expr::col(memberships::Column::RemovedAt).is_null());
        if let Some(id) = after {
            q.and_where(Expr::col(memberships::Column::UserId).gt(id));
        }
        q.order_by(memberships::Column::UserId, Order::Asc)
            .limit(limit as u64);
        let stmt = self.txn.get_database_backend().build(&q);
        let ids = self
            .txn
            .query_all_raw(stmt)
            .await
            .map_err(backend)?
            .iter()
            .map(|row| row.try_get_by_index::<i64>(0).map_err(backend))
            .collect::<R<Vec<i64>>>()?;
        if let Some(last) = ids.last() {
            self.cursor = MemberCursor::ById(Some(*last));
        }
        Ok(ids)
    }
}
