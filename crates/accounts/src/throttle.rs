//! Brute-force throttling as a pure state machine. A [`Counter`] counts
//! events (failed logins, sign-ups, token resets) for one key (an account,
//! a client address, a device) within a window: `max_events` attempts in a
//! window are admitted, and the attempt after them is refused and locks
//! the key for the lockout period. Storage keeps counters; time (seconds)
//! is a parameter.
//!
//! Attempts are counted *before* the expensive or risky work they guard
//! (see [`Counter::admit`]), so parallel requests cannot slip past the limit,
//! and a correct password on a locked key is refused like a wrong one. An
//! attempt that turns out to succeed can be taken back
//! ([`Counter::refund`]), so that a limit counts failures only: since the
//! lock starts with the attempt *after* the limit, a success that is taken
//! back never locks anyone out.

/// How many events a key may have in a window, and how long it is then locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max_events: u32,
    pub window_secs: i64,
    pub lockout_secs: i64,
}

impl Limit {
    /// `max_events` of 0 means no limit.
    pub fn is_off(&self) -> bool {
        self.max_events == 0
    }
}

/// One key's state, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counter {
    pub events: u32,
    pub window_start: i64,
    /// Locked while `now < locked_until`.
    pub locked_until: i64,
}

/// What [`Counter::admit`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead; the attempt has been counted.
    Admitted(Counter),
    /// Refused until `until`; the counter is unchanged (a lockout is never
    /// extended by further attempts, so it ends when it said it would).
    Locked { until: i64 },
    /// Refused: the limit was reached, and this attempt starts the lock.
    /// The counter (the lock) is to be stored.
    Locks(Counter),
}

impl Counter {
    pub fn is_locked(&self, now: i64) -> bool {
        now < self.locked_until
    }

    /// Whether the window this counter counts in has passed at `now`.
    pub fn is_stale(&self, limit: Limit, now: i64) -> bool {
        !self.is_locked(now) && now.saturating_sub(self.window_start) >= limit.window_secs
    }

    /// Takes back one counted attempt that turned out to succeed, so that
    /// a limit counts failures only. A lock stays as it is.
    pub fn refund(self, now: i64) -> Counter {
        if self.is_locked(now) {
            return self;
        }
        Counter {
            events: self.events.saturating_sub(1),
            ..self
        }
    }

    /// Counts one attempt at `now`, or refuses it if the key is locked or
    /// has had `max_events` attempts in this window (that refusal starts
    /// the lock): exactly `max_events` attempts per window get through.
    pub fn admit(self, limit: Limit, now: i64) -> Verdict {
        if limit.is_off() {
            return Verdict::Admitted(self);
        }
        if self.is_locked(now) {
            return Verdict::Locked {
                until: self.locked_until,
            };
        }
        let fresh = self.events == 0 || now.saturating_sub(self.window_start) >= limit.window_secs;
        if !fresh && self.events >= limit.max_events {
            return Verdict::Locks(Counter {
                events: 0,
                window_start: now,
                locked_until: now.saturating_add(limit.lockout_secs),
            });
        }
        let (events, window_start) = if fresh {
            (1, now)
        } else {
            (self.events.saturating_add(1), self.window_start)
        };
        Verdict::Admitted(Counter {
            events,
            window_start,
            locked_until: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const L: Limit = Limit {
        max_events: 5,
        window_secs: 900,
        lockout_secs: 600,
    };

    #[test]
    fn a_refund_takes_back_a_success_and_never_a_lock() {
        let mut c = Counter::default();
        for t in 0..4 {
            let Verdict::Admitted(next) = c.admit(L, t) else {
                panic!("locked early")
            };
            c = next.refund(t);
        }
        assert_eq!(c.events, 0, "successes leave nothing counted");
        for t in 10..15 {
            let Verdict::Admitted(next) = c.admit(L, t) else {
                panic!("locked early")
            };
            c = next;
        }
        // A success at the limit, taken back, locks nothing.
        let Verdict::Locks(locked) = c.admit(L, 15) else {
            panic!("the sixth attempt in a row is refused")
        };
        assert!(locked.is_locked(16));
        assert_eq!(locked.refund(16), locked, "a lock is not refunded");
        let Verdict::Admitted(at_limit) = c.refund(15).admit(L, 15) else {
            panic!("four failures and a success leave room")
        };
        assert!(!at_limit.is_locked(15));
        assert_eq!(Counter::default().refund(0), Counter::default());
    }

    fn run(mut c: Counter, times: &[i64]) -> (Counter, Vec<bool>) {
        let mut admitted = Vec::new();
        for &t in times {
            match c.admit(L, t) {
                Verdict::Admitted(next) => {
                    c = next;
                    admitted.push(true);
                }
                Verdict::Locks(next) => {
                    c = next;
                    admitted.push(false);
                }
                Verdict::Locked { .. } => admitted.push(false),
            }
        }
        (c, admitted)
    }

    #[test]
    fn the_limit_admits_exactly_max_events_then_locks() {
        let (c, admitted) = run(Counter::default(), &[0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(admitted, [true, true, true, true, true, false, false]);
        // The sixth attempt (t = 5) started the lock.
        assert!(c.is_locked(599 + 5));
        assert!(!c.is_locked(5 + 600));
        // After the lockout, a fresh window.
        let (_, admitted) = run(c, &[605, 606]);
        assert_eq!(admitted, [true, true]);
    }

    #[test]
    fn a_window_that_passed_starts_again() {
        let (c, _) = run(Counter::default(), &[0, 1, 2, 3]);
        let (_, admitted) = run(c, &[900, 901, 902, 903, 904]);
        assert_eq!(admitted, [true; 5]);
    }

    #[test]
    fn attempts_during_a_lockout_do_not_extend_it() {
        let (c, _) = run(Counter::default(), &[0, 0, 0, 0, 0, 0]);
        let until = c.locked_until;
        assert_eq!(until, 600);
        let (after, admitted) = run(c, &[10, 100, 500]);
        assert_eq!(admitted, [false; 3]);
        assert_eq!(after.locked_until, until);
    }

    #[test]
    fn an_off_limit_never_locks() {
        let off = Limit { max_events: 0, ..L };
        let c = Counter::default();
        for t in 0..100 {
            assert_eq!(c.admit(off, t), Verdict::Admitted(c));
        }
    }

    proptest! {
        /// However attempts are spaced, a span shorter than the window
        /// admits fewer than twice the limit (windows are fixed: a burst at
        /// the end of one and the start of the next is the worst case), and
        /// the attempt after `max_events` in a row within one window is refused.
        #[test]
        fn never_more_than_twice_the_limit_in_any_window(gaps in proptest::collection::vec(0i64..400, 1..60)) {
            let mut t = 0;
            let times: Vec<i64> = gaps.iter().map(|g| { t += g; t }).collect();
            let (_, admitted) = run(Counter::default(), &times);
            let ok: Vec<i64> = times.iter().zip(&admitted).filter(|(_, a)| **a).map(|(t, _)| *t).collect();
            for (i, start) in ok.iter().enumerate() {
                let within = ok[i..].iter().take_while(|x| **x - start < L.window_secs).count();
                prop_assert!(within < 2 * L.max_events as usize, "{within} admitted within a window from {start}: {ok:?}");
            }
        }

        /// Within one window, with successes taken back: an attempt is
        /// refused exactly when `max_events` failures came before it.
        #[test]
        fn only_failures_count_when_successes_are_refunded(outcomes in proptest::collection::vec(any::<bool>(), 1..40)) {
            let mut c = Counter::default();
            let mut failures = 0u32;
            for (i, ok) in outcomes.iter().enumerate() {
                let t = i as i64;
                match c.admit(L, t) {
                    Verdict::Admitted(next) => {
                        prop_assert!(failures < L.max_events, "admitted after {failures} failures");
                        c = if *ok { next.refund(t) } else { failures += 1; next };
                    }
                    Verdict::Locks(_) | Verdict::Locked { .. } => {
                        prop_assert!(failures >= L.max_events, "refused after {failures} failures");
                        break;
                    }
                }
            }
        }

        #[test]
        fn admit_never_panics(events in any::<u32>(), start in any::<i64>(), locked in any::<i64>(), now in any::<i64>()) {
            let _ = Counter { events, window_start: start, locked_until: locked }.admit(L, now);
        }
    }
}
