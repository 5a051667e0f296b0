//! Throttle counters, shared by every instance on the database.

use std::future::Future;

use accounts::throttle::Limit;

use super::R;

pub trait ThrottleStore {
    /// Counts one attempt against every key at once, in one transaction
    /// (shared by all instances): `Err(until)` and nothing counted when any
    /// key is locked (`until` in seconds, the latest of them).
    fn throttle_admit(
        &self,
        keys: Vec<(String, Limit)>,
        now_secs: i64,
    ) -> impl Future<Output = R<Result<(), i64>>> + Send;
    /// Takes back one attempt counted against `key` that succeeded
    /// (`Counter::refund`): per-address limits count failures only.
    fn throttle_refund(&self, key: &str, now_secs: i64) -> impl Future<Output = R<()>> + Send;
    /// Forgets a key (a successful login, `ls-admin user unlock`); `true` if it was there.
    fn throttle_clear(&self, key: &str) -> impl Future<Output = R<bool>> + Send;
}
