//! The data directory: where the SQLite database and the deployment secret live.

use std::path::{Path, PathBuf};

/// The SQLite file inside a data directory.
pub fn sqlite_path(data_dir: &Path) -> PathBuf {
    data_dir.join("ls-users.sqlite3")
}

/// `dir` as a data directory: not a file (nor below one).
pub fn check(dir: &Path) -> Result<(), crate::InfraError> {
    for ancestor in dir.ancestors() {
        if ancestor.exists() && !ancestor.is_dir() {
            return Err(crate::InfraError::NotADirectory(ancestor.to_owned()));
        }
    }
    Ok(())
}

/// Create the data directory (0700) if needed. One that others may read or
/// enter loses those rights, and the log says so; the owner's own rights
/// are left as they are (a directory made read-only stays read-only).
pub fn ensure(dir: &Path) -> Result<(), crate::InfraError> {
    check(dir)?;
    let io = |source| crate::InfraError::Io {
        path: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir).map_err(io)?.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            let tightened = mode & 0o700;
            match std::fs::set_permissions(dir, std::fs::Permissions::from_mode(tightened)) {
                Ok(()) => tracing::warn!(
                    dir = %dir.display(),
                    "the data directory was open to others (mode {mode:o}): it is {tightened:o} now"
                ),
                Err(e) => tracing::warn!(
                    dir = %dir.display(),
                    error = %e,
                    "the data directory is open to others (mode {mode:o}) and could not be tightened"
                ),
            }
        }
    }
    Ok(())
}
