//! Failed API-token authentications per client address, in this
//! process's memory (issue 14): a short legacy key must not fall to an
//! online search at whoami's speed.

use std::collections::HashMap;
use std::net::IpAddr;
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
    /// By client network (`throttle::client_net`): no allocation per request.
    counts: Mutex<HashMap<IpAddr, Counter>>,
}

impl TokenFailures {
    /// `Err(until)` while `client` is locked.
    pub(crate) fn check(&self, client: IpAddr, now: i64) -> Result<(), i64> {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        match counts.get(&client) {
            Some(c) if c.is_locked(now) => Err(c.locked_until),
            _ => Ok(()),
        }
    }

    /// Counts one failure; `Err(until)` when it reaches the limit.
    pub(crate) fn fail(&self, client: IpAddr, limit: Limit, now: i64) -> Result<(), i64> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() >= TOKEN_FAILURE_CLIENTS && !counts.contains_key(&client) {
            counts.retain(|_, c| !c.is_stale(limit, now));
            if counts.len() >= TOKEN_FAILURE_CLIENTS {
                // Still full: the unlocked half with the fewest failures
                // goes, so a guesser near its limit is the last forgotten.
                let mut events: Vec<u32> = counts
                    .values()
                    .filter(|c| !c.is_locked(now))
                    .map(|c| c.events)
                    .collect();
                if !events.is_empty() {
                    let mid = events.len() / 2;
                    let (_, median, _) = events.select_nth_unstable(mid);
                    let median = *median;
                    counts.retain(|_, c| c.is_locked(now) || c.events > median);
                }
            }
        }
        let counter = counts.entry(client).or_default();
        // The failure is counted after the fact: the one that reaches the
        // limit is the last one looked up, and it locks the address.
        match counter.admit(limit, now) {
            Verdict::Admitted(next) if next.events < limit.max_events => {
                *counter = next;
                Ok(())
            }
            Verdict::Admitted(_) | Verdict::Locks(_) => {
                *counter = Counter {
                    events: 0,
                    window_start: now,
                    locked_until: now.saturating_add(limit.lockout_secs),
                };
                Err(counter.locked_until)
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
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        assert_eq!(t.fail(ip("192.0.2.1"), limit, 0), Ok(()));
        assert_eq!(t.fail(ip("192.0.2.1"), limit, 1), Ok(()));
        assert_eq!(t.fail(ip("192.0.2.1"), limit, 2), Err(62));
        assert_eq!(t.check(ip("192.0.2.1"), 3), Err(62));
        assert_eq!(t.check(ip("192.0.2.2"), 3), Ok(()));
        assert_eq!(t.check(ip("192.0.2.1"), 62), Ok(()));
        // A guesser two failures in, then a flood of addresses with one each.
        assert_eq!(t.fail(ip("198.51.100.1"), limit, 10_000), Ok(()));
        assert_eq!(t.fail(ip("198.51.100.1"), limit, 10_000), Ok(()));
        for i in 0..TOKEN_FAILURE_CLIENTS + 10 {
            let n = u32::try_from(i).unwrap();
            let _ = t.fail(
                IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n)),
                limit,
                10_000,
            );
        }
        assert!(t.len() <= TOKEN_FAILURE_CLIENTS);
        assert!(
            t.fail(ip("198.51.100.1"), limit, 10_000).is_err(),
            "the guesser's count was forgotten"
        );
    }
}
