//! Whose `last_activity` this process wrote, and when (see `activity`).

use std::collections::HashMap;
use std::sync::Mutex;

/// Users whose minute this process has claimed; past it, old claims go.
const CLAIMS_KEPT: usize = 100_000;

/// When this process last wrote each user's activity (microseconds).
#[derive(Debug, Default)]
pub(crate) struct Activity {
    written: Mutex<HashMap<i64, i64>>,
}

impl Activity {
    /// Whether this request writes `user_id`'s activity: not if this
    /// process wrote it within the interval.
    pub(crate) fn claim(&self, user_id: i64, now: i64, every: i64) -> bool {
        let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        if written.get(&user_id).is_some_and(|t| now - t < every) {
            return false;
        }
        if written.len() >= CLAIMS_KEPT {
            written.retain(|_, t| now - *t < every);
        }
        written.insert(user_id, now);
        true
    }
}
