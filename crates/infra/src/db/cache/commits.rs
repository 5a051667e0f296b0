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
//!
//! Three rules keep a stamp honest (SECURITY.md): the `-shm` file watched
//! is the one beside the path SQLite itself reports (`PRAGMA
//! database_list`, symlinks resolved as SQLite resolves them), not the
//! configured path; a stamp names the opening of the file it was read
//! from, so whenever the file is opened again (it was deleted and made
//! anew) every earlier stamp stops matching; and a header whose checksum
//! does not verify is no stamp at all.

use std::fs::File;
use std::os::unix::fs::{FileExt as _, MetadataExt as _};
use std::path::PathBuf;
use std::sync::Mutex;

/// One reading of the WAL index header, and which opening of the `-shm`
/// file it was read from.
pub(crate) type Stamp = (u64, [u8; HEADER_LEN]);

const HEADER_LEN: usize = 48;
/// `isInit`: the header was written by a connection that built the index.
const IS_INIT: usize = 12;
/// `aCksum`: the header's checksum over the bytes before it.
const CKSUM: usize = 40;

/// SQLite's checksum of the WAL index header (`walChecksumBytes`, in the
/// machine's byte order, as the wal-index is): two running sums over pairs
/// of 32-bit words.
fn header_checksum(h: &[u8]) -> (u32, u32) {
    let (mut s1, mut s2) = (0u32, 0u32);
    for pair in h[..CKSUM].chunks_exact(8) {
        let (a, b) = pair.split_at(4);
        let word = |w: &[u8]| u32::from_ne_bytes([w[0], w[1], w[2], w[3]]);
        s1 = s1.wrapping_add(word(a)).wrapping_add(s2);
        s2 = s2.wrapping_add(word(b)).wrapping_add(s1);
    }
    (s1, s2)
}

fn checksum_holds(h: &[u8]) -> bool {
    let stored = |at: usize| u32::from_ne_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
    header_checksum(h) == (stored(CKSUM), stored(CKSUM + 4))
}

#[derive(Debug)]
pub(crate) struct CommitWatch {
    shm: PathBuf,
    file: Mutex<Opened>,
}

/// The `-shm` file as last opened, and how many times it was opened.
#[derive(Debug, Default)]
struct Opened {
    file: Option<File>,
    opens: u64,
}

impl CommitWatch {
    /// The watch of the database at `db`.
    pub(crate) fn new(db: &std::path::Path) -> Self {
        let mut shm = db.as_os_str().to_owned();
        shm.push("-shm");
        Self {
            shm: PathBuf::from(shm),
            file: Mutex::default(),
        }
    }

    /// The `-shm` file watched.
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.shm
    }

    /// The header as it is now; `None` when it cannot be read for sure
    /// (no `-shm` file, a writer in the middle of updating it, an index not
    /// built yet).
    pub(crate) fn stamp(&self) -> Option<Stamp> {
        let mut opened = self.file.lock().ok()?;
        // The last connection to close deletes the file, and the next one
        // makes a new one: a file no longer linked is a stale copy. Every
        // new opening is a new stamp space: nothing read before matches.
        if opened
            .file
            .as_ref()
            .is_none_or(|f| f.metadata().map_or(true, |m| m.nlink() == 0))
        {
            opened.file = File::open(&self.shm).ok();
            opened.opens += 1;
        }
        let mut both = [0u8; 2 * HEADER_LEN];
        opened.file.as_ref()?.read_exact_at(&mut both, 0).ok()?;
        let (first, second) = both.split_at(HEADER_LEN);
        if first != second || first[IS_INIT] != 1 || !checksum_holds(first) {
            return None;
        }
        Some((opened.opens, first.try_into().ok()?))
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
        let (a, b) = header_checksum(&h);
        h[CKSUM..CKSUM + 4].copy_from_slice(&a.to_ne_bytes());
        h[CKSUM + 4..].copy_from_slice(&b.to_ne_bytes());
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
        let first = watch.stamp().unwrap();
        assert_eq!(first.1, header(1));
        // Rewritten in place (same file): the new header.
        let f = std::fs::OpenOptions::new().write(true).open(&shm).unwrap();
        f.write_all_at(&header(2), HEADER_LEN as u64).unwrap();
        assert_eq!(watch.stamp(), None, "copies differ: a writer in the middle");
        f.write_all_at(&header(2), 0).unwrap();
        assert_eq!(watch.stamp().unwrap(), (first.0, header(2)));
        // Deleted and made anew: the new file, not the stale one held open.
        std::fs::remove_file(&shm).unwrap();
        assert_eq!(watch.stamp(), None);
        write(&shm, &header(2), &header(2));
        let reopened = watch.stamp().unwrap();
        assert_eq!(reopened.1, header(2));
        assert_ne!(
            reopened,
            (first.0, header(2)),
            "the same header in a file opened anew is another stamp"
        );
        // Not initialised.
        let mut raw = [4; 48];
        write(&shm, &raw, &raw);
        assert_eq!(watch.stamp(), None);
        // Initialised, but the checksum does not hold.
        raw[IS_INIT] = 1;
        write(&shm, &raw, &raw);
        assert_eq!(watch.stamp(), None, "a header that fails its checksum");
    }
}
