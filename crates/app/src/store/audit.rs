//! The audit log (issue 17): who did what, to whom, when, from which
//! address; never a secret. An entry is written in the same transaction as
//! the change it records: [`AuditStore::audited`] hands the entry to the
//! store for the write transaction the work commits.

use std::future::Future;

use super::R;

/// One event, as the use-case describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// `password.changed`, `member.role_changed`… (see `crate::audit`).
    pub action: std::borrow::Cow<'static, str>,
    pub actor_id: Option<i64>,
    /// The actor's email then (the account may be deleted later).
    pub actor: Option<String>,
    pub target_user_id: Option<i64>,
    /// Whom or what it was done to: an email, a throttle key…
    pub target: Option<String>,
    pub organization_id: Option<i64>,
    /// The client address, when the event came from a request.
    pub client: Option<String>,
    /// A short detail: the new role, say. Never a secret.
    pub detail: Option<String>,
    /// Microseconds since the epoch.
    pub at: i64,
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub entry: AuditEntry,
}

impl AuditRecord {
    /// The entry as the API and `ls-admin audit export` give it.
    pub fn to_json(&self) -> serde_json::Value {
        let e = &self.entry;
        serde_json::json!({
            "id": self.id,
            "at": crate::time::iso8601(e.at),
            "action": e.action,
            "actor_id": e.actor_id,
            "actor": e.actor,
            "target_user_id": e.target_user_id,
            "target": e.target,
            "organization_id": e.organization_id,
            "client": e.client,
            "detail": e.detail,
        })
    }
}

/// Which entries a page shows: newest first, before `before` (keyset).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Entries of this organization; with `instance_wide`, also those of none.
    pub organization_id: Option<i64>,
    pub instance_wide: bool,
    /// An action, or a prefix of one ending in `.` (`password.`).
    pub action: Option<String>,
    /// An email (or part of one) of the actor or the target.
    pub person: Option<String>,
    /// Only entries with a smaller id.
    pub before: Option<i64>,
    pub limit: usize,
}

pub trait AuditStore {
    /// Runs `work`; the first write transaction it commits also writes
    /// `entry`, so the change and its entry are stored together or not at
    /// all. Work that writes nothing records nothing.
    fn audited<T: Send>(
        &self,
        entry: AuditEntry,
        work: impl Future<Output = R<T>> + Send,
    ) -> impl Future<Output = R<T>> + Send;
    /// A page of entries, newest first.
    fn audit_page(&self, q: AuditQuery) -> impl Future<Output = R<Vec<AuditRecord>>> + Send;
    /// Entries with an id above `after`, oldest first (an export).
    fn audit_after(
        &self,
        after: i64,
        limit: usize,
    ) -> impl Future<Output = R<Vec<AuditRecord>>> + Send;
    /// Deletes entries older than `before`; how many.
    fn prune_audit(&self, before: i64) -> impl Future<Output = R<u64>> + Send;
}
