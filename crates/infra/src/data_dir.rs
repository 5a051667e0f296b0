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

/// The file every `ls-server` and `ls-admin` using the directory holds a
/// shared lock on, so that `ls-admin restore` can tell that it is in use.
pub fn server_lock_path(dir: &Path) -> PathBuf {
    dir.join("ls-server.lock")
}

/// Held while a server (or an `ls-admin` command) uses the data
/// directory: a shared lock (several may share it), released when the
/// process ends, even by a crash.
#[derive(Debug)]
pub struct ServerLock(#[allow(dead_code)] std::fs::File);

/// The shared lock of `dir` (which exists); `Err` naming the restore
/// while `ls-admin restore` holds it exclusively (never waited for).
/// `None` where the lock file cannot be made (a directory nothing may be
/// written in, where no restore can happen either): opening the database
/// then says what is wrong.
pub fn share(dir: &Path) -> Result<Option<ServerLock>, crate::InfraError> {
    let path = server_lock_path(dir);
    let file = match open_lock(&path) {
        Ok(f) => f,
        Err(crate::InfraError::Io { source, .. })
            if matches!(
                source.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(Some(ServerLock(file))),
        Err(std::fs::TryLockError::WouldBlock) => Err(crate::InfraError::Backup(format!(
            "ls-admin restore is bringing a backup into {}: wait until it has finished",
            dir.display()
        ))),
        Err(std::fs::TryLockError::Error(source)) => Err(crate::InfraError::Io { path, source }),
    }
}

/// The exclusive lock, when no server holds the shared one; `None` while
/// one does.
pub fn try_exclusive_lock(dir: &Path) -> Result<Option<ServerLock>, crate::InfraError> {
    let path = server_lock_path(dir);
    let file = open_lock(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(ServerLock(file))),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(source)) => Err(crate::InfraError::Io { path, source }),
    }
}

/// The lock file, opened for reading (a lock needs no more): one made by
/// another user (`ls-admin` run as root, say) still serves the server's
/// user. It holds nothing, so it is readable by others (0644) in a
/// directory that is not.
fn open_lock(path: &Path) -> Result<std::fs::File, crate::InfraError> {
    let io = |source| crate::InfraError::Io {
        path: path.to_owned(),
        source,
    };
    match std::fs::File::open(path) {
        Ok(f) => return Ok(f),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
        Err(_) => {}
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o644);
    }
    opts.open(path).map_err(io)
}
