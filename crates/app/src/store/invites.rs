//! The organizations' invite links: found by digest, rotated.

use std::future::Future;

use accounts::SecretDigest;
use invites::InviteState;

use super::R;
use super::orgs::OrgRecord;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteLookup {
    Current(i64),
    Retired,
    Unknown,
}

pub trait InviteStore {
    fn find_invite(&self, digest: &SecretDigest) -> impl Future<Output = R<InviteLookup>> + Send;
    /// Moves the organization's invite to `new_state`; the old digest is
    /// retired in the same transaction.
    fn rotate_invite(
        &self,
        org_id: i64,
        new_state: InviteState,
        new_digest: SecretDigest,
        now: i64,
    ) -> impl Future<Output = R<OrgRecord>> + Send;
}
