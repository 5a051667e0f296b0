//! `last_activity`: the time of a user's last authenticated request, as
//! Label Studio reports it. Written at most once a minute per user (never a
//! write per request): a request whose user record already shows activity
//! within the minute writes nothing, each process claims a user's minute in
//! memory before writing, and the write itself is conditional, so instances
//! sharing a database write it once between them.

use crate::services::Services;
use crate::store::{Store, UserRecord};

/// How often a user's `last_activity` is written at most.
pub const ACTIVITY_EVERY_SECS: i64 = 60;

impl<S: Store> Services<S> {
    /// Notes an authenticated request by `user` (see the module's rules).
    /// A failed write is logged and never fails the request.
    pub(crate) async fn seen(&self, user: &mut UserRecord) {
        let now = self.now_micros();
        let every = ACTIVITY_EVERY_SECS * 1_000_000;
        if user.last_activity.is_some_and(|t| now - t < every) {
            return;
        }
        if !self.activity.claim(user.id, now, every) {
            return;
        }
        match self.store.record_activity(user.id, now, now - every).await {
            Ok(true) => user.last_activity = Some(now),
            Ok(false) => {}
            Err(e) => tracing::warn!(user_id = user.id, error = %e, "last activity not recorded"),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::{OWNER, fixture};
    use crate::{Credential, ServicesConfig};

    #[tokio::test]
    async fn activity_moves_with_requests_at_most_once_a_minute() {
        let f = fixture(ServicesConfig::default());
        let owner = f.owner().await;
        let token = f.svc.reset_token(owner.user.id).await.unwrap();
        let who = || f.svc.token_caller(Credential::Legacy(token.expose()));
        let first = who().await.unwrap().user.last_activity.unwrap();
        for _ in 0..100 {
            assert_eq!(who().await.unwrap().user.last_activity, Some(first));
        }
        f.advance(30);
        assert_eq!(who().await.unwrap().user.last_activity, Some(first));
        f.advance(31);
        let later = who().await.unwrap().user.last_activity.unwrap();
        assert_eq!(later - first, 61_000_000);
        let stored = f.svc.find_user(OWNER).await.unwrap().last_activity;
        assert_eq!(stored, Some(later));
    }
}
