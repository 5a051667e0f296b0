//! API-token lookups kept while nothing at all is committed to the SQLite
//! database (by this process or another), which the WAL index header tells
//! without a query.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use accounts::SecretDigest;
use app::CallerRecord;

use super::commits::{CommitWatch, Stamp};

/// Past this many tokens without a commit in between, the cache starts over.
const TOKENS_KEPT: usize = 10_000;

/// The callers found by token digest since the last commit anywhere.
#[derive(Debug)]
pub(crate) struct TokenCache {
    watch: CommitWatch,
    entries: Mutex<TokenEntries>,
}

#[derive(Debug, Default)]
struct TokenEntries {
    /// The WAL index header every entry was read under.
    stamp: Option<Stamp>,
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

    /// Keeps `caller`, read from the database after `stamp` was read: a
    /// commit in between changes the header, so the entry is never served
    /// under a header it is older than.
    pub(crate) fn put(&self, stamp: Stamp, digest: &SecretDigest, caller: &CallerRecord) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.stamp != Some(stamp) || entries.callers.len() >= TOKENS_KEPT {
            entries.callers.clear();
            entries.stamp = Some(stamp);
        }
        entries.callers.insert(*digest, caller.clone());
    }
}
