//! Failed API-token authentications per client address, in this
//! process's memory (issue 14): a short legacy key must not fall to an
//! online search at whoami's speed.

use std::collections::HashMap;
use std::sync::Mutex;

use accounts::throttle::{Counter, Limit, Verdict};

/// Most client addresses whose failed token authentications one process
/// keeps in memory; past it, counters whose window has passed go first,
/// then every unlocked one.
const TOKEN_FAILURE_CLIENTS: usize = 100_000;

/// Failed API-token authentications per client address, in this process's
/// memory: they need no durability (a restart forgets them, and a guesser
/// gains one window). A locked address is refused before its token is
/// looked at, so guessing stops there and costs no database work.
#[derive(Debug, Default)]
pub(crate) struct TokenFailures {
    counts: Mutex<HashMap<String, Counter>>,
}

impl TokenFailures {
    /// `Err(until)` while `client` is locked.
    pub(crate) fn check(&self, client: &str, now: i64) -> Result<(), i64> {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        match counts.get(client) {
            Some(c) if c.is_locked(now) => Err(c.locked_until),
            _ => Ok(()),
        }
    }

    /// Counts one failure; `Err(until)` when it reaches the limit.
    pub(crate) fn fail(&self, client: &str, limit: Limit, now: i64) -> Result<(), i64> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() >= TOKEN_FAILURE_CLIENTS && !counts.contains_key(client) {
            counts.retain(|_, c| !c.is_stale(limit, now));
            if counts.len() >= TOKEN_FAILURE_CLIENTS {
                counts.retain(|_, c| c.is_locked(now));
            }
        }
        let counter = counts.entry(client.to_owned()).or_default();
        // The failure is counted after the fact: the attempt at the limit
        // is the last one looked up, and it locks the address.
        match counter.admit(limit, now) {
            Verdict::Admitted(next) => {
                *counter = next;
                match counter.admit(limit, now) {
                    Verdict::Locks(_) => {
                        let locked = Counter {
                            events: 0,
                            window_start: now,
                            locked_until: now.saturating_add(limit.lockout_secs),
                        };
                        *counter = locked;
                        Err(locked.locked_until)
                    }
                    _ => Ok(()),
                }
            }
            Verdict::Locks(next) => {
                *counter = next;
                Err(next.locked_until)
            }
            Verdict::Locked { until } => Err(until),
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.counts.lock().map(|c| c.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_failures_lock_the_address_at_the_limit_and_stay_bounded() {
        let limit = Limit {
            max_events: 3,
            window_secs: 900,
            lockout_secs: 60,
        };
        let t = TokenFailures::default();
        assert_eq!(t.fail("a", limit, 0), Ok(()));
        assert_eq!(t.fail("a", limit, 1), Ok(()));
        assert_eq!(t.fail("a", limit, 2), Err(62));
        assert_eq!(t.check("a", 3), Err(62));
        assert_eq!(t.check("b", 3), Ok(()));
        assert_eq!(t.check("a", 62), Ok(()));
        for i in 0..TOKEN_FAILURE_CLIENTS + 10 {
            let _ = t.fail(&format!("c{i}"), limit, 10_000);
        }
        assert!(t.len() <= TOKEN_FAILURE_CLIENTS);
    }
}
