//! Whether anything was committed to an SQLite database since a moment,
//! without a query: the header of its WAL index.
//!
//! In WAL mode every connection, in every process, shares the WAL index in
//! the `-shm` file beside the database. Its first 96 bytes are two copies of
//! a 48-byte header (<https://www.sqlite.org/walformat.html>) that every
//! commit rewrites (it holds the last valid frame, the frame checksums and
//! the WAL salts, which a WAL restart changes), before the commit returns:
//! a header that reads the same means nothing was committed in between. A
//! writer updates the second copy, then the first; a read that finds the
//! two copies different caught it in the middle and proves nothing.
//!
//! This is what lets the store keep token lookups in memory and still see a
//! token reset or a deactivation made by another process (`ls-admin`) on the
//! very next request: see [`crate::db::SeaStore`] and [`super::tokens`]. Anything this cannot
//! read for sure answers `None`, and the caller asks the database.

use std::fs::File;
use std::os::unix::fs::{FileExt as _, MetadataExt as _};
use std::path::PathBuf;
use std::sync::Mutex;

/// One reading of the WAL index header.
pub(crate) type Stamp = [u8; HEADER_LEN];

const HEADER_LEN: usize = 48;
/// `isInit`: the header was written by a connection that built the index.
const IS_INIT: usize = 12;

#[derive(Debug)]
pub(crate) struct CommitWatch {
    shm: PathBuf,
    file: Mutex<Option<File>>,
}

impl CommitWatch {
    /// The watch of the database at `db`.
    pub(crate) fn new(db: &std::path::Path) -> Self {
        let mut shm = db.as_os_str().to_owned();
        shm.push("-shm");
        Self {
            shm: PathBuf::from(shm),
            file: Mutex::new(None),
        }
    }

    /// The header as it is now; `None` when it cannot be read for sure
    /// (no `-shm` file, a writer in the middle of updating it, an index not
    /// built yet).
    pub(crate) fn stamp(&self) -> Option<Stamp> {
        let mut file = self.file.lock().ok()?;
        // The last connection to close deletes the file, and the next one
        // makes a new one: a file no longer linked is a stale copy.
        if file
            .as_ref()
            .is_none_or(|f| f.metadata().map_or(true, |m| m.nlink() == 0))
        {
            *file = File::open(&self.shm).ok();
        }
        let mut both = [0u8; 2 * HEADER_LEN];
        file.as_ref()?.read_exact_at(&mut both, 0).ok()?;
        let (first, second) = both.split_at(HEADER_LEN);
        if first != second || first[IS_INIT] != 1 {
            return None;
        }
        first.try_into().ok()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn write(path: &std::path::Path, first: &[u8; 48], second: &[u8; 48]) {
        let mut bytes = first.to_vec();
        bytes.extend_from_slice(second);
        bytes.extend_from_slice(&[0; 40]);
        std::fs::write(path, bytes).unwrap();
    }

    fn header(fill: u8) -> [u8; 48] {
        let mut h = [fill; 48];
        h[IS_INIT] = 1;
        h
    }

    #[test]
    fn reads_agreeing_copies_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.sqlite3");
        let shm = dir.path().join("x.sqlite3-shm");
        let watch = CommitWatch::new(&db);
        assert_eq!(watch.stamp(), None, "no -shm file");
        write(&shm, &header(1), &header(1));
        assert_eq!(watch.stamp(), Some(header(1)));
        // Rewritten in place (same file): the new header.
        let f = std::fs::OpenOptions::new().write(true).open(&shm).unwrap();
        f.write_all_at(&header(2), HEADER_LEN as u64).unwrap();
        assert_eq!(watch.stamp(), None, "copies differ: a writer in the middle");
        f.write_all_at(&header(2), 0).unwrap();
        assert_eq!(watch.stamp(), Some(header(2)));
        // Deleted and made anew: the new file, not the stale one held open.
        std::fs::remove_file(&shm).unwrap();
        assert_eq!(watch.stamp(), None);
        write(&shm, &header(3), &header(3));
        assert_eq!(watch.stamp(), Some(header(3)));
        // Not initialised.
        write(&shm, &[4; 48], &[4; 48]);
        assert_eq!(watch.stamp(), None);
    }
}
