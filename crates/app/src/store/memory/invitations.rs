//! The in-memory store's invitations of one person.

use accounts::SecretDigest;

use super::super::{InvitationRecord, InvitationStore, MailKind, NewInvitation, R, StoreError};
use super::MemoryStore;

/// An invitation as kept: its record, digest, and whether it is still
/// pending (neither accepted nor revoked).
#[derive(Debug, Clone)]
pub(super) struct Kept {
    pub(super) record: InvitationRecord,
    pub(super) digest: SecretDigest,
    pub(super) pending: bool,
}

impl InvitationStore for MemoryStore {
    async fn create_invitation(&self, new: NewInvitation) -> R<InvitationRecord> {
        let mut s = self.state();
        s.org_mut(new.organization_id)?;
        for k in &mut s.invitations {
            if k.record.organization_id == new.organization_id && k.record.email == new.email {
                k.pending = false;
            }
        }
        let record = InvitationRecord {
            id: s.id(),
            organization_id: new.organization_id,
            email: new.email,
            role: new.role,
            created_by: new.created_by,
            created_at: new.now,
            expires_at: new.expires_at,
        };
        if new.mail {
            s.enqueue(
                MailKind::Invitation,
                &record.email,
                Some(record.id),
                new.now,
            );
        }
        s.invitations.push(Kept {
            record: record.clone(),
            digest: new.digest,
            pending: true,
        });
        Ok(record)
    }

    async fn invitation_by_digest(
        &self,
        digest: &SecretDigest,
        now: i64,
    ) -> R<Option<InvitationRecord>> {
        Ok(self
            .state()
            .invitations
            .iter()
            .find(|k| k.pending && k.digest == *digest && k.record.expires_at > now)
            .map(|k| k.record.clone()))
    }

    async fn pending_invitations(
        &self,
        org_id: i64,
        now: i64,
        limit: usize,
    ) -> R<Vec<InvitationRecord>> {
        Ok(self
            .state()
            .invitations
            .iter()
            .rev()
            .filter(|k| {
                k.pending && k.record.organization_id == org_id && k.record.expires_at > now
            })
            .take(limit)
            .map(|k| k.record.clone())
            .collect())
    }

    async fn revoke_invitation(&self, org_id: i64, id: i64, _now: i64) -> R<bool> {
        let mut s = self.state();
        match s
            .invitations
            .iter_mut()
            .find(|k| k.pending && k.record.id == id && k.record.organization_id == org_id)
        {
            Some(k) => {
                k.pending = false;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn reissue_invitation(
        &self,
        id: i64,
        digest: SecretDigest,
        now: i64,
    ) -> R<Option<InvitationRecord>> {
        let mut s = self.state();
        Ok(s.invitations
            .iter_mut()
            .find(|k| k.pending && k.record.id == id && k.record.expires_at > now)
            .map(|k| {
                k.digest = digest;
                k.record.clone()
            }))
    }
}

/// Accepting, inside an account's creation: `InviteRetired` unless pending and live.
pub(super) fn consume(invitations: &mut [Kept], digest: &SecretDigest, now: i64) -> R<()> {
    match invitations
        .iter_mut()
        .find(|k| k.pending && k.digest == *digest && k.record.expires_at > now)
    {
        Some(k) => {
            k.pending = false;
            Ok(())
        }
        None => Err(StoreError::InviteRetired),
    }
}
