//! API-token lookups kept while nothing they read changes in the SQLite
//! database (by this process or another): while the WAL index header reads
//! the same, nothing at all was committed, which it tells without a query;
//! when it moved, the version the triggers of `key_changes` keep tells, in
//! one read, whether the commits touched what a lookup reads (a login's
//! session and throttle counters do not).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use accounts::SecretDigest;
use app::CallerRecord;

use super::commits::{CommitWatch, Stamp};

/// Past this many tokens without a commit in between, the cache starts over.
const TOKENS_KEPT: usize = 10_000;

/// The callers found by token digest since the last change to what they read.
#[derive(Debug)]
pub(crate) struct TokenCache {
    watch: CommitWatch,
    entries: Mutex<TokenEntries>,
}

#[derive(Debug, Default)]
struct TokenEntries {
    /// A WAL index header read while `version` was the key version: no
    /// commit since means the version has not moved either.
    stamp: Option<Stamp>,
    /// The key version every entry was read at (or after).
    version: Option<i64>,
    callers: HashMap<SecretDigest, CallerRecord>,
}

impl TokenCache {
    /// The cache of the SQLite database at `path`.
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            watch: CommitWatch::new(path),
            entries: Mutex::default(),
        }
    }

    /// The `-shm` file whose header the cache watches.
    pub(crate) fn watched(&self) -> &Path {
        self.watch.path()
    }

    /// The WAL index header now; read it *before* the database, so that an
    /// entry is never served under a header it is older than.
    pub(crate) fn stamp(&self) -> Option<Stamp> {
        self.watch.stamp()
    }

    pub(crate) fn get(&self, stamp: &Stamp, digest: &SecretDigest) -> Option<CallerRecord> {
        let entries = self.entries.lock().ok()?;
        if entries.stamp.as_ref() != Some(stamp) {
            return None;
        }
        entries.callers.get(digest).cloned()
    }

    /// The header moved to `stamp`, and the key version read *after* it is
    /// `version`: when that is the entries' version, the commits in
    /// between touched nothing they read, and they stay, under `stamp`.
    /// Whether they did.
    pub(crate) fn revalidate(&self, stamp: Stamp, version: i64) -> bool {
        let Ok(mut entries) = self.entries.lock() else {
            return false;
        };
        if entries.version != Some(version) {
            // Gone for good: a version that came back to theirs later (a
            // database restored under a running server) must not revive them.
            entries.callers.clear();
            entries.version = None;
            entries.stamp = None;
            return false;
        }
        entries.stamp = Some(stamp);
        true
    }

    /// Keeps `caller`, read from the database after the key version
    /// `version` was read, itself read after `stamp`: a change in between
    /// moves the version, so the entry is never served under a version it
    /// is older than. An entry read at an older version than the kept ones
    /// is not kept; a newer one starts the entries over.
    pub(crate) fn put(
        &self,
        stamp: Stamp,
        version: i64,
        digest: &SecretDigest,
        caller: &CallerRecord,
    ) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        match entries.version {
            Some(kept) if version < kept => return,
            Some(kept) if version == kept && entries.callers.len() < TOKENS_KEPT => {}
            _ => {
                entries.callers.clear();
                entries.version = Some(version);
            }
        }
        entries.stamp = Some(stamp);
        entries.callers.insert(*digest, caller.clone());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn caller(id: i64) -> CallerRecord {
        CallerRecord {
            user: app::UserRecord {
                id,
                email: accounts::Email::parse("someone@example.com").unwrap(),
                username: "someone".into(),
                first_name: String::new(),
                last_name: String::new(),
                phone: String::new(),
                is_active: true,
                password_hash: None,
                active_organization: None,
                date_joined: 0,
                last_activity: None,
                allow_newsletters: false,
                custom_hotkeys: "{}".into(),
            },
            membership: None,
            organization: None,
            owner_email: None,
        }
    }

    #[test]
    fn entries_stay_while_the_version_stays_and_go_when_it_moves() {
        let cache = TokenCache::new(Path::new("/nonexistent/db.sqlite3"));
        let (s1, s2, s3) = ((1, [1u8; 48]), (1, [2u8; 48]), (1, [3u8; 48]));
        let digest = SecretDigest::from_hex(&"07".repeat(32)).unwrap();
        cache.put(s1, 5, &digest, &caller(1));
        assert_eq!(cache.get(&s1, &digest).map(|c| c.user.id), Some(1));
        // Another commit: not served under the new header until revalidated.
        assert!(cache.get(&s2, &digest).is_none());
        assert!(cache.revalidate(s2, 5));
        assert_eq!(cache.get(&s2, &digest).map(|c| c.user.id), Some(1));
        // A key change: the version moved, nothing is served, and nothing
        // comes back if the version reads 5 again (a restored database).
        assert!(!cache.revalidate(s3, 6));
        assert!(cache.get(&s3, &digest).is_none());
        assert!(!cache.revalidate(s3, 5));
        assert!(cache.get(&s3, &digest).is_none());
        // A lookup read at the older version is not kept over newer ones.
        cache.put(s3, 6, &digest, &caller(2));
        cache.put(s2, 5, &digest, &caller(1));
        assert_eq!(cache.get(&s3, &digest).map(|c| c.user.id), Some(2));
    }
}
