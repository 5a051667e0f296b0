//! The audit log (issue 17): account, organization, invitation, token and
//! throttle events, each written in the transaction of its change
//! (`store::AuditStore::audited`). The client address comes from the
//! request the event came from: the HTTP layer runs each request inside
//! [`with_client`], so no use-case has to carry it.
//!
//! Actions: `user.created`, `user.deleted`, `user.deactivated`,
//! `user.activated`, `password.changed`, `password.set_by_operator`,
//! `password.reset_link_made`, `password.reset`, `password.reset_requested`,
//! `member.role_changed`, `member.removed`,
//! `organization.ownership_transferred`, `invite_link.reset`,
//! `invitation.created`, `invitation.revoked`, `token.reset`,
//! `personal_token.created`, `personal_token.revoked`,
//! `personal_token.rotated`, `throttle.locked` (written by the store when a
//! limit locks a key).

use std::future::Future;
use std::net::IpAddr;

use crate::caller::Caller;
use crate::error::AppError;
use crate::services::Services;
use crate::store::{AuditEntry, AuditQuery, AuditRecord, Store, UserRecord};

tokio::task_local! {
    static CLIENT: Option<IpAddr>;
}

/// Runs `f` as the work of a request from `client`: audit entries it
/// writes record that address.
pub async fn with_client<F: Future>(client: Option<IpAddr>, f: F) -> F::Output {
    CLIENT.scope(client, f).await
}

fn client() -> Option<String> {
    CLIENT
        .try_with(|c| *c)
        .ok()
        .flatten()
        .map(|ip| ip.to_string())
}

/// Entries a page or API answer holds at most.
pub const AUDIT_PAGE_MAX: usize = 200;

/// Who did it (`None`: the operator through `ls-admin`, or the system).
pub(crate) fn entry(
    action: &'static str,
    actor: Option<&UserRecord>,
    target: Option<&UserRecord>,
    organization_id: Option<i64>,
    now: i64,
) -> AuditEntry {
    AuditEntry {
        action: action.into(),
        actor_id: actor.map(|u| u.id),
        actor: actor.map(|u| u.email.as_str().to_owned()),
        target_user_id: target.map(|u| u.id),
        target: target.map(|u| u.email.as_str().to_owned()),
        organization_id,
        client: client(),
        detail: None,
        at: now,
    }
}

impl AuditEntry {
    pub(crate) fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub(crate) fn target_text(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }
}

/// A filter and a position for the audit page and `GET /api/audit-log`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub person: Option<String>,
    pub before: Option<i64>,
    pub limit: usize,
}

impl<S: Store> Services<S> {
    pub(crate) fn audit_entry(
        &self,
        action: &'static str,
        actor: Option<&UserRecord>,
        target: Option<&UserRecord>,
        organization_id: Option<i64>,
    ) -> AuditEntry {
        entry(action, actor, target, organization_id, self.now_micros())
    }

    /// The organization a user's own events belong to: their active one,
    /// while they are a current member of it (a removed member's events are
    /// no longer that organization's business).
    pub(crate) async fn member_org(&self, user: &UserRecord) -> Option<i64> {
        let org = user.active_organization?;
        self.current_membership(user.id, org)
            .await
            .ok()
            .flatten()
            .map(|_| org)
    }

    /// [`Services::audit_entry`] about the account `target_id`, read now.
    pub(crate) async fn audit_entry_on(
        &self,
        action: &'static str,
        actor: Option<&UserRecord>,
        target_id: i64,
        organization_id: Option<i64>,
    ) -> Result<AuditEntry, AppError> {
        let target = self.store.user_by_id(target_id).await?;
        let organization_id = match (organization_id, &target) {
            (Some(o), _) => Some(o),
            (None, Some(t)) => self.member_org(t).await,
            (None, None) => None,
        };
        let mut e = self.audit_entry(action, actor, target.as_ref(), organization_id);
        e.target_user_id = Some(target_id);
        Ok(e)
    }

    /// A page of the caller's organization's entries, newest first: for
    /// its owner and administrators; the first organization's owner also
    /// sees the instance's own (throttle locks, reset mails asked for, the
    /// operator's changes to accounts).
    pub async fn audit_log(
        &self,
        caller: &Caller,
        filter: AuditFilter,
    ) -> Result<Vec<AuditRecord>, AppError> {
        let (org_id, role) = caller.active()?;
        if !role.is_manager() {
            return Err(AppError::Forbidden);
        }
        // The instance's own entries (throttle locks, reset mails asked for,
        // the operator's changes) name people of every organization: only
        // the owner of the first organization, the deployment's, reads them.
        let first = self.store.first_organization().await?.map(|o| o.id);
        let instance_wide = role == orgs::Role::Owner && first == Some(org_id);
        let clean = |s: Option<String>| {
            s.map(|v| v.trim().to_lowercase())
                .filter(|v| !v.is_empty() && v.len() <= 254)
        };
        Ok(self
            .store
            .audit_page(AuditQuery {
                organization_id: Some(org_id),
                instance_wide,
                action: clean(filter.action),
                person: clean(filter.person),
                before: filter.before,
                limit: filter.limit.clamp(1, AUDIT_PAGE_MAX),
            })
            .await?)
    }

    /// `ls-admin audit export`: entries after `after`, oldest first.
    pub async fn audit_export_chunk(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, AppError> {
        Ok(self.store.audit_after(after, limit).await?)
    }

    /// Deletes entries older than the retention (`audit_retention_days`;
    /// 0 keeps them all); how many went.
    pub async fn prune_audit_log(&self) -> Result<u64, AppError> {
        let days = self.config.audit_retention_days;
        if days <= 0 {
            return Ok(0);
        }
        let before = self
            .now_micros()
            .saturating_sub(days.saturating_mul(86_400_000_000));
        let n = self.store.prune_audit(before).await?;
        if n > 0 {
            tracing::info!(
                entries = n,
                days,
                "audit entries past their retention removed"
            );
        }
        Ok(n)
    }
}
