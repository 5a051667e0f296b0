//! The in-memory store's sessions, device cookies and throttle counters.

use accounts::SecretDigest;
use accounts::throttle::{Limit, Verdict};

use super::super::{NewSession, R, SessionStore, ThrottleStore, UserRecord};
use super::{MemoryStore, Session};

impl SessionStore for MemoryStore {
    async fn create_session(&self, session: NewSession) -> R<()> {
        let mut s = self.state();
        if let Some(old) = session.replaces {
            s.sessions.remove(&old);
        }
        if let Some(key) = session.forgets {
            s.throttle.remove(&key);
        }
        if let Some((key, now)) = session.refunds
            && let Some(c) = s.throttle.get_mut(&key)
        {
            *c = c.refund(now);
        }
        if let Some(device) = session.device {
            let (user, now) = (session.user_id, session.now);
            let order = s.id();
            s.devices.retain(|_, (u, exp, _)| *u != user || *exp > now);
            s.devices
                .insert(device.digest, (user, device.expires_at, order));
            let mut mine: Vec<(i64, SecretDigest)> = s
                .devices
                .iter()
                .filter(|(_, (u, _, _))| *u == user)
                .map(|(d, (_, _, o))| (*o, *d))
                .collect();
            mine.sort_by_key(|(o, _)| std::cmp::Reverse(*o));
            for (_, d) in mine.into_iter().skip(super::super::DEVICES_PER_USER) {
                s.devices.remove(&d);
            }
        }
        s.sessions.insert(
            session.digest,
            Session {
                user_id: session.user_id,
                expires_at: session.expires_at,
                last_seen_at: session.now,
            },
        );
        Ok(())
    }

    async fn session_user(
        &self,
        digest: &SecretDigest,
        now: i64,
        idle_cutoff: i64,
        touch_before: i64,
    ) -> R<Option<UserRecord>> {
        let mut s = self.state();
        let Some(session) = s
            .sessions
            .get_mut(digest)
            .filter(|x| x.expires_at > now && x.last_seen_at > idle_cutoff)
        else {
            return Ok(None);
        };
        if session.last_seen_at < touch_before {
            session.last_seen_at = now;
        }
        let user_id = session.user_id;
        Ok(s.users.get(&user_id).filter(|u| u.is_active).cloned())
    }

    async fn delete_session(&self, digest: &SecretDigest) -> R<()> {
        self.state().sessions.remove(digest);
        Ok(())
    }

    async fn device_user(&self, digest: &SecretDigest, now: i64) -> R<Option<i64>> {
        Ok(self
            .state()
            .devices
            .get(digest)
            .filter(|(_, exp, _)| *exp > now)
            .map(|(u, _, _)| *u))
    }

    async fn device_digests(&self, user_id: i64) -> R<Vec<SecretDigest>> {
        Ok(self
            .state()
            .devices
            .iter()
            .filter(|(_, (u, _, _))| *u == user_id)
            .map(|(d, _)| *d)
            .collect())
    }
}

impl ThrottleStore for MemoryStore {
    async fn throttle_admit(
        &self,
        keys: Vec<(String, Limit)>,
        now_secs: i64,
    ) -> R<Result<(), i64>> {
        let mut s = self.state();
        let mut next = Vec::with_capacity(keys.len());
        let mut locks = Vec::new();
        let mut refused: Option<i64> = None;
        for (key, limit) in keys {
            let counter = s.throttle.get(&key).copied().unwrap_or_default();
            match counter.admit(limit, now_secs) {
                Verdict::Locked { until } => {
                    refused = Some(refused.map_or(until, |u| u.max(until)))
                }
                Verdict::Locks(c) => {
                    refused = Some(refused.map_or(c.locked_until, |u| u.max(c.locked_until)));
                    locks.push((key, c));
                }
                Verdict::Admitted(c) => next.push((key, c)),
            }
        }
        if let Some(until) = refused {
            s.throttle.extend(locks);
            return Ok(Err(until));
        }
        s.throttle.extend(next);
        Ok(Ok(()))
    }

    async fn throttle_refund(&self, key: &str, now_secs: i64) -> R<()> {
        if let Some(c) = self.state().throttle.get_mut(key) {
            *c = c.refund(now_secs);
        }
        Ok(())
    }

    async fn throttle_clear(&self, key: &str) -> R<bool> {
        Ok(self.state().throttle.remove(key).is_some())
    }
}
