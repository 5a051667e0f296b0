//! The in-memory store's password changes, reset links and ownership moves.

use accounts::SecretDigest;
use orgs::Role;

use super::super::{LifecycleStore, PasswordChange, R, ResetLinkRecord, StoreError};
use super::{MemoryStore, State};

impl State {
    pub(super) fn enqueue(
        &mut self,
        kind: super::super::MailKind,
        recipient: &str,
        reference: Option<i64>,
        now: i64,
    ) {
        let id = self.id();
        self.outbox.push((
            super::super::OutboxRecord {
                id,
                kind,
                recipient: recipient.to_owned(),
                reference,
                attempts: 0,
                created_at: now,
            },
            now,
        ));
    }

    fn apply(&mut self, c: PasswordChange) -> R<()> {
        let user_id = c.user_id;
        self.user_mut(user_id)?.password_hash = Some(c.hash);
        let keep = c.keep_session;
        self.sessions
            .retain(|d, s| s.user_id != user_id || Some(*d) == keep);
        let keep = c.keep_device;
        self.devices
            .retain(|d, (u, _, _)| *u != user_id || Some(*d) == keep);
        for t in &mut self.personal_tokens {
            if t.user_id == user_id && t.is_live(c.now) {
                t.revoked_at = Some(c.now);
            }
        }
        self.reset_links.retain(|_, l| l.user_id != user_id);
        if let Some(d) = c.new_token {
            self.api_tokens.insert(user_id, d);
        }
        Ok(())
    }
}

impl LifecycleStore for MemoryStore {
    async fn change_password(&self, change: PasswordChange) -> R<()> {
        self.state().apply(change)
    }

    async fn create_reset_link(&self, digest: SecretDigest, link: ResetLinkRecord) -> R<()> {
        let mut s = self.state();
        s.user_mut(link.user_id)?;
        s.reset_links.retain(|_, l| l.user_id != link.user_id);
        s.reset_links.insert(digest, link);
        Ok(())
    }

    async fn reset_link(&self, digest: &SecretDigest, now: i64) -> R<Option<ResetLinkRecord>> {
        Ok(self
            .state()
            .reset_links
            .get(digest)
            .filter(|l| l.expires_at > now)
            .cloned())
    }

    async fn use_reset_link(&self, digest: &SecretDigest, change: PasswordChange) -> R<bool> {
        let mut s = self.state();
        let live = s
            .reset_links
            .get(digest)
            .is_some_and(|l| l.expires_at > change.now && l.user_id == change.user_id);
        if !live {
            return Ok(false);
        }
        s.reset_links.remove(digest);
        s.apply(change)?;
        Ok(true)
    }

    async fn transfer_ownership(&self, org_id: i64, from: i64, to: i64) -> R<()> {
        let mut s = self.state();
        let owner = s.current(from, org_id).map(|m| m.role);
        let member = s.current(to, org_id).map(|m| m.role);
        if owner != Some(Role::Owner) || member.is_none() || from == to {
            return Err(StoreError::Conflict("ownership moved meanwhile"));
        }
        if let Some(m) = s.current(from, org_id) {
            m.role = Role::Administrator;
        }
        if let Some(m) = s.current(to, org_id) {
            m.role = Role::Owner;
        }
        s.org_mut(org_id)?.created_by = Some(to);
        Ok(())
    }

    async fn owner_of(&self, org_id: i64) -> R<Option<i64>> {
        Ok(self
            .state()
            .memberships
            .iter()
            .find(|m| {
                m.organization_id == org_id && m.removed_at.is_none() && m.role == Role::Owner
            })
            .map(|m| m.user_id))
    }
}

impl super::super::MailStore for MemoryStore {
    async fn enqueue_mail(
        &self,
        kind: super::super::MailKind,
        recipient: &str,
        reference: Option<i64>,
        now: i64,
    ) -> R<()> {
        self.state().enqueue(kind, recipient, reference, now);
        Ok(())
    }

    async fn claim_mail(
        &self,
        now: i64,
        lease_until: i64,
    ) -> R<Option<super::super::OutboxRecord>> {
        let mut s = self.state();
        let Some((row, due)) = s.outbox.iter_mut().find(|(_, due)| *due <= now) else {
            return Ok(None);
        };
        row.attempts += 1;
        *due = lease_until;
        Ok(Some(row.clone()))
    }

    async fn finish_mail(&self, id: i64) -> R<()> {
        self.state().outbox.retain(|(r, _)| r.id != id);
        Ok(())
    }

    async fn retry_mail(&self, id: i64, next_at: i64, _error: &str) -> R<()> {
        if let Some((_, due)) = self.state().outbox.iter_mut().find(|(r, _)| r.id == id) {
            *due = next_at;
        }
        Ok(())
    }
}
