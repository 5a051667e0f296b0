//! The data directory: where the SQLite database and the deployment secret live.

use std::path::{Path, PathBuf};

/// The SQLite file inside a data directory.
pub fn sqlite_path(data_dir: &Path) -> PathBuf {
    data_dir.join("ls-users.sqlite3")
}

/// Create the data directory (0700) if needed.
pub fn ensure(dir: &Path) -> Result<(), crate::InfraError> {
    let io = |source| crate::InfraError::Io {
        path: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(dir).map_err(io)?;
        if meta.permissions().mode() & 0o077 != 0 {
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
    }
    Ok(())
}
