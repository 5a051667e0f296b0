//! Single sign-on: the identities linked to accounts (issuer + subject) and
//! the login flows between leaving for a provider and coming back. A flow
//! is stored by the digest of its `state` only, so that the callback may
//! land on any instance, once; its PKCE verifier and nonce are derived from
//! the state with the deployment key, never stored.

use std::future::Future;

use accounts::SecretDigest;

use super::R;

/// A login flow that left for a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSsoFlow {
    pub state_digest: SecretDigest,
    pub provider: String,
    /// The digest of the invite the flow carries (from the invite link's
    /// sign-up page), checked again when the account is made.
    pub invite_digest: Option<SecretDigest>,
    /// Where to go after logging in (a local path, already made safe).
    pub next: Option<String>,
    /// The throttle key the start counted against (its client address), to
    /// take back when the flow finishes, wherever the callback comes from.
    pub throttle_key: Option<String>,
    pub now: i64,
    pub expires_at: i64,
}

/// A flow taken back at the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoFlowRecord {
    pub provider: String,
    pub invite_digest: Option<SecretDigest>,
    pub next: Option<String>,
    pub throttle_key: Option<String>,
    pub expires_at: i64,
}

/// An identity to link to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIdentity {
    pub provider: String,
    pub issuer: String,
    pub subject: String,
    /// The provider's email claim when linked (shown on the account page).
    pub email: Option<String>,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRecord {
    pub id: i64,
    pub user_id: i64,
    pub provider: String,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
}

pub trait SsoStore {
    /// Records a flow; flows expired at `flow.now` go in the same write.
    fn create_sso_flow(&self, flow: NewSsoFlow) -> impl Future<Output = R<()>> + Send;
    /// Takes a flow back, once: it is deleted whatever it holds, and
    /// returned only if it had not expired at `now`. Of two racing takers,
    /// one gets it.
    fn take_sso_flow(
        &self,
        state_digest: &SecretDigest,
        now: i64,
    ) -> impl Future<Output = R<Option<SsoFlowRecord>>> + Send;
    /// The identity linked to this issuer and subject.
    fn identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> impl Future<Output = R<Option<IdentityRecord>>> + Send;
    /// Links an identity to an existing user and ends every session the
    /// user had (a new way in: whoever was inside before must log in
    /// again), in one transaction. `Conflict` if the issuer and subject are
    /// linked already, `NotFound` if the user is gone.
    fn link_identity(
        &self,
        user_id: i64,
        identity: NewIdentity,
    ) -> impl Future<Output = R<IdentityRecord>> + Send;
    /// A login through this identity.
    fn touch_identity(&self, id: i64, now: i64) -> impl Future<Output = R<()>> + Send;
    fn identities_of(&self, user_id: i64) -> impl Future<Output = R<Vec<IdentityRecord>>> + Send;
    /// Unlinks one of the user's identities; false if it is not theirs, or
    /// if `keep_one_of` names providers and no other identity of the user
    /// is of one of them (decided in the write, so two racing unlinks cannot
    /// both go).
    fn unlink_identity(
        &self,
        user_id: i64,
        id: i64,
        keep_one_of: Option<&[String]>,
    ) -> impl Future<Output = R<bool>> + Send;
}
