//! Server-side sessions: only the digest of the session id is stored.

use std::future::Future;

use accounts::SecretDigest;

use super::R;
use super::users::UserRecord;

/// A session to record, and what its start ends: the browser's previous
/// session, the throttle counter a successful login forgets (the
/// account's), and the one it takes its attempt back from (the address's).
#[derive(Debug, Clone)]
pub struct NewSession {
    pub digest: SecretDigest,
    pub user_id: i64,
    pub now: i64,
    pub expires_at: i64,
    pub replaces: Option<SecretDigest>,
    pub forgets: Option<String>,
    /// With the time in seconds, for `Counter::refund`.
    pub refunds: Option<(String, i64)>,
    /// A device cookie to give the browser, bound to the user.
    pub device: Option<NewDevice>,
}

/// A device cookie, stored by digest (issue 14; OWASP's device cookies).
#[derive(Debug, Clone)]
pub struct NewDevice {
    pub digest: SecretDigest,
    /// Microseconds since the epoch.
    pub expires_at: i64,
}

/// Devices one user keeps at most; the oldest beyond it are forgotten.
pub const DEVICES_PER_USER: usize = 20;

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
    /// The user a device cookie is bound to, while it has not expired at
    /// `now` (microseconds).
    fn device_user(
        &self,
        digest: &SecretDigest,
        now: i64,
    ) -> impl Future<Output = R<Option<i64>>> + Send;
    /// The digests of every device cookie of the user (for the throttle
    /// keys `ls-admin user unlock` clears).
    fn device_digests(&self, user_id: i64) -> impl Future<Output = R<Vec<SecretDigest>>> + Send;
}
