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
    /// Moves the organization's invite on: `rotate` gets the state as read
    /// inside the write transaction and gives the next one with its digest
    /// (so two resets at once make two generations, never one twice); the
    /// old digest is retired in the same transaction.
    fn rotate_invite(
        &self,
        org_id: i64,
        rotate: impl FnOnce(&InviteState) -> (InviteState, SecretDigest) + Send,
        now: i64,
    ) -> impl Future<Output = R<OrgRecord>> + Send;
}
