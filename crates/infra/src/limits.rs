//! The process's file-descriptor limit: raised to the hard limit at start
//! (a server holds one descriptor a connection), and what it leaves for
//! connections.

/// Descriptors kept for everything but connections: the database pool
/// (SQLite's files, PostgreSQL's sockets), the listener, the logs.
pub const RESERVED_DESCRIPTORS: u64 = 64;

/// The soft `RLIMIT_NOFILE` before and after raising it to the hard one,
/// and the hard one; `None` where the platform does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Descriptors {
    pub before: Option<u64>,
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

/// Raises the soft descriptor limit to the hard one.
pub fn raise_descriptor_limit() -> Descriptors {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let before = getrlimit(Resource::Nofile);
        let mut after = before;
        if before.maximum.is_some() && before.current != before.maximum {
            after.current = before.maximum;
            if setrlimit(Resource::Nofile, after).is_err() {
                after = getrlimit(Resource::Nofile);
            }
        }
        Descriptors {
            before: before.current,
            soft: after.current,
            hard: after.maximum,
        }
    }
    #[cfg(not(target_os = "linux"))]
    Descriptors {
        before: None,
        soft: None,
        hard: None,
    }
}

/// The connections a server may keep open: `configured`, and no more than
/// the soft descriptor limit less [`RESERVED_DESCRIPTORS`] (at least 16).
pub fn connection_cap(configured: usize, soft: Option<u64>) -> usize {
    match soft {
        Some(soft) => {
            let room =
                usize::try_from(soft.saturating_sub(RESERVED_DESCRIPTORS)).unwrap_or(usize::MAX);
            configured.min(room).max(16)
        }
        None => configured,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_stays_below_the_descriptor_limit() {
        assert_eq!(connection_cap(10_000, Some(1024)), 960);
        assert_eq!(connection_cap(100, Some(1_048_576)), 100);
        assert_eq!(connection_cap(10_000, Some(40)), 16);
        assert_eq!(connection_cap(500, None), 500);
    }

    #[test]
    fn raising_never_lowers_the_limit() {
        let d = raise_descriptor_limit();
        if let (Some(before), Some(soft)) = (d.before, d.soft) {
            assert!(soft >= before);
        }
    }
}
