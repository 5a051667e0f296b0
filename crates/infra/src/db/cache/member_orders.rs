//! Each organization's member order (user ids by username, then id), kept
//! per process with the `members_version` it was read at (migration 5's
//! triggers bump it with any change that could move a row, whoever makes it).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Organizations whose member order is kept in memory; past it, the cache starts over.
const MEMBER_ORDERS_KEPT: usize = 16;

#[derive(Debug, Clone)]
struct MemberOrder {
    version: i64,
    ids: Arc<Vec<i64>>,
}

#[derive(Debug, Default)]
pub(crate) struct MemberOrders {
    orders: Mutex<HashMap<i64, MemberOrder>>,
    /// Held while a member order is read from the database.
    reading: tokio::sync::Mutex<()>,
    /// How many member orders were read from the database.
    reads: AtomicU64,
}

impl MemberOrders {
    /// `org_id`'s order, when it was read at `version`.
    pub(crate) fn get(&self, org_id: i64, version: i64) -> Option<Arc<Vec<i64>>> {
        let orders = self.orders.lock().unwrap_or_else(|p| p.into_inner());
        orders
            .get(&org_id)
            .filter(|o| o.version == version)
            .map(|o| Arc::clone(&o.ids))
    }

    /// One reading at a time: the pages asked for together right after a
    /// change wait for it instead of each reading every member. Look again
    /// with [`MemberOrders::get`] once this returns.
    pub(crate) async fn reading(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.reading.lock().await
    }

    /// Keeps an order read from the database after `version` was read.
    pub(crate) fn put(&self, org_id: i64, version: i64, ids: Vec<i64>) -> Arc<Vec<i64>> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let ids = Arc::new(ids);
        let mut orders = self.orders.lock().unwrap_or_else(|p| p.into_inner());
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
        ids
    }

    /// Forgets `org_id`'s order, whatever its version.
    pub(crate) fn evict(&self, org_id: i64) {
        let mut orders = self.orders.lock().unwrap_or_else(|p| p.into_inner());
        orders.remove(&org_id);
    }

    /// How many orders were read from the database so far.
    pub(crate) fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_is_served_only_at_its_version() {
        let orders = MemberOrders::default();
        assert!(orders.get(1, 5).is_none());
        orders.put(1, 5, vec![3, 1, 2]);
        assert_eq!(orders.get(1, 5).as_deref(), Some(&vec![3, 1, 2]));
        assert!(orders.get(1, 6).is_none());
        assert_eq!(orders.reads(), 1);
        for org in 2..=MEMBER_ORDERS_KEPT as i64 + 1 {
            orders.put(org, 0, vec![]);
        }
        assert!(orders.get(1, 5).is_none(), "past the bound it starts over");
    }
}
