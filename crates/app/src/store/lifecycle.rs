//! The account lifecycle's writes (issue 17): a password changed by its
//! owner, one-time reset links, and ownership moving between members.

use std::future::Future;

use accounts::{PasswordHashString, SecretDigest};

use super::R;

/// A new password and what it ends, written in one transaction: every
/// session but `keep_session`, every device cookie but `keep_device`, every
/// live personal access token, the user's reset link; with `new_token`,
/// the API token is replaced too.
#[derive(Debug, Clone)]
pub struct PasswordChange {
    pub user_id: i64,
    pub hash: PasswordHashString,
    /// The session the change was made in (it stays).
    pub keep_session: Option<SecretDigest>,
    /// That browser's device cookie (it stays).
    pub keep_device: Option<SecretDigest>,
    /// The digest of a new API token, when the user asked for one.
    pub new_token: Option<SecretDigest>,
    pub now: i64,
}

/// A one-time password reset link, stored by the digest of its token only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetLinkRecord {
    pub user_id: i64,
    /// Who made it (an owner or administrator); `None` for `ls-admin`.
    pub created_by: Option<i64>,
    /// Microseconds since the epoch.
    pub created_at: i64,
    pub expires_at: i64,
}

pub trait LifecycleStore {
    /// The password change, in one transaction (see [`PasswordChange`]);
    /// `NotFound` for an unknown user.
    fn change_password(&self, change: PasswordChange) -> impl Future<Output = R<()>> + Send;
    /// Records the user's reset link, replacing any older one (a newer link
    /// kills the older). `NotFound` for an unknown user.
    fn create_reset_link(
        &self,
        digest: SecretDigest,
        link: ResetLinkRecord,
    ) -> impl Future<Output = R<()>> + Send;
    /// The link with this digest while it is live at `now`.
    fn reset_link(
        &self,
        digest: &SecretDigest,
        now: i64,
    ) -> impl Future<Output = R<Option<ResetLinkRecord>>> + Send;
    /// Uses the link: in one transaction, only while it is live at `now`
    /// and still `user_id`'s, deletes it and applies `change` (which keeps
    /// nothing). `false`, with nothing written, when it is not.
    fn use_reset_link(
        &self,
        digest: &SecretDigest,
        change: PasswordChange,
    ) -> impl Future<Output = R<bool>> + Send;
    /// Makes `to` the owner of `org_id` and `from` an administrator, in one
    /// transaction, only while `from` is its current owner and `to` a
    /// current member: `Conflict` otherwise.
    fn transfer_ownership(
        &self,
        org_id: i64,
        from: i64,
        to: i64,
    ) -> impl Future<Output = R<()>> + Send;
    /// The current owner of `org_id`, if it has one.
    fn owner_of(&self, org_id: i64) -> impl Future<Output = R<Option<i64>>> + Send;
}
