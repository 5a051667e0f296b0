//! Server-side sessions: only the digest of the session id is stored.

use std::future::Future;

use accounts::SecretDigest;

use super::R;
use super::users::UserRecord;

/// A session to record, and what its start ends: the browser's previous
/// session, and the throttle counter a successful login forgets.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub digest: SecretDigest,
    pub user_id: i64,
    pub now: i64,
    pub expires_at: i64,
    pub replaces: Option<SecretDigest>,
    pub forgets: Option<String>,
}

pub trait SessionStore {
    /// One transaction with what the new session ends.
    fn create_session(&self, session: NewSession) -> impl Future<Output = R<()>> + Send;
    /// The user of a live session: not expired at `now`, last seen after
    /// `idle_cutoff`, user active. A session last seen before `touch_before`
    /// has its last-seen time moved to `now`.
    fn session_user(
        &self,
        digest: &SecretDigest,
        now: i64,
        idle_cutoff: i64,
        touch_before: i64,
    ) -> impl Future<Output = R<Option<UserRecord>>> + Send;
    fn delete_session(&self, digest: &SecretDigest) -> impl Future<Output = R<()>> + Send;
}
