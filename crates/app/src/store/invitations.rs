//! Invitations of one person by email (issue 17): for one address, with a
//! role, used once, live until they expire, revocable; stored by the
//! keyed digest of their token only.

use std::future::Future;

use accounts::SecretDigest;
use orgs::Role;

use super::R;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationRecord {
    pub id: i64,
    pub organization_id: i64,
    /// The invited address, in its normal (lower-case) form.
    pub email: String,
    pub role: Role,
    pub created_by: Option<i64>,
    /// Microseconds since the epoch.
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub organization_id: i64,
    pub email: String,
    pub role: Role,
    pub digest: SecretDigest,
    pub created_by: Option<i64>,
    pub now: i64,
    pub expires_at: i64,
    /// Queue its mail in the same transaction (SMTP is configured).
    pub mail: bool,
}

pub trait InvitationStore {
    /// Records the invitation, revoking any pending one for the same
    /// organization and address, and with `mail` queues its mail; one
    /// transaction.
    fn create_invitation(
        &self,
        new: NewInvitation,
    ) -> impl Future<Output = R<InvitationRecord>> + Send;
    /// The pending invitation with this digest, live at `now`.
    fn invitation_by_digest(
        &self,
        digest: &SecretDigest,
        now: i64,
    ) -> impl Future<Output = R<Option<InvitationRecord>>> + Send;
    /// An organization's pending invitations live at `now`, newest first
    /// (at most `limit`).
    fn pending_invitations(
        &self,
        org_id: i64,
        now: i64,
        limit: usize,
    ) -> impl Future<Output = R<Vec<InvitationRecord>>> + Send;
    /// Revokes a pending invitation of `org_id`; `false` when there was none.
    fn revoke_invitation(
        &self,
        org_id: i64,
        id: i64,
        now: i64,
    ) -> impl Future<Output = R<bool>> + Send;
    /// Gives a pending, live invitation a new token digest (its mail is
    /// being sent: the token is made then); `None` when it is no longer
    /// pending.
    fn reissue_invitation(
        &self,
        id: i64,
        digest: SecretDigest,
        now: i64,
    ) -> impl Future<Output = R<Option<InvitationRecord>>> + Send;
}
