//! The in-memory store's audit log.

use std::future::Future;

use super::super::{AuditEntry, AuditQuery, AuditRecord, AuditStore, R};
use super::MemoryStore;

fn matches(q: &AuditQuery, r: &AuditRecord) -> bool {
    let e = &r.entry;
    let org = match (q.organization_id, e.organization_id) {
        (Some(want), Some(got)) => want == got,
        (_, None) => q.instance_wide,
        (None, Some(_)) => true,
    };
    let action = q.action.as_deref().is_none_or(|a| {
        if a.ends_with('.') {
            e.action.starts_with(a)
        } else {
            e.action == a
        }
    });
    let person = q.person.as_deref().is_none_or(|p| {
        [&e.actor, &e.target]
            .iter()
            .any(|v| v.as_deref().is_some_and(|v| v.contains(p)))
    });
    org && action && person && q.before.is_none_or(|b| r.id < b)
}

impl AuditStore for MemoryStore {
    async fn audited<T: Send>(
        &self,
        entry: AuditEntry,
        work: impl Future<Output = R<T>> + Send,
    ) -> R<T> {
        let value = work.await?;
        let mut s = self.state();
        let id = s.id();
        s.audit.push(AuditRecord { id, entry });
        Ok(value)
    }

    async fn audit_page(&self, q: AuditQuery) -> R<Vec<AuditRecord>> {
        Ok(self
            .state()
            .audit
            .iter()
            .rev()
            .filter(|r| matches(&q, r))
            .take(q.limit)
            .cloned()
            .collect())
    }

    async fn audit_after(&self, after: i64, limit: usize) -> R<Vec<AuditRecord>> {
        Ok(self
            .state()
            .audit
            .iter()
            .filter(|r| r.id > after)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn prune_audit(&self, before: i64) -> R<u64> {
        let mut s = self.state();
        let n = s.audit.len();
        s.audit.retain(|r| r.entry.at >= before);
        Ok((n - s.audit.len()) as u64)
    }
}
