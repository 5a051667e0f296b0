//! The deployment secret that keys every token digest and invite link.

use std::io::Write as _;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::InfraError;

pub(crate) const FILE: &str = "secret_key";

/// 64 hex characters are the key itself; any other string of at least 32
/// characters is hashed into one.
pub(crate) fn key_from_config(s: &str) -> Result<[u8; 32], String> {
    let s = s.trim();
    if let Some(bytes) = from_hex(s) {
        return Ok(bytes);
    }
    if s.chars().count() < 32 {
        return Err("use 64 hex characters or a string of at least 32 characters".into());
    }
    Ok(Sha256::digest(s.as_bytes()).into())
}

fn from_hex(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// What the database records of the secret (`deployment.key_check`): a
/// digest that tells keys apart and reveals nothing of them.
pub(crate) fn fingerprint(key: [u8; 32]) -> String {
    accounts::DigestKey::from_bytes(key)
        .digest("deployment-key-check", b"")
        .to_hex()
}

/// The configured key, or the one in `<data_dir>/secret_key`; `None` when
/// neither is there. Reads only.
pub fn load(configured: Option<&str>, data_dir: &Path) -> Result<Option<[u8; 32]>, InfraError> {
    if let Some(k) = configured {
        return key_from_config(k).map(Some).map_err(InfraError::SecretKey);
    }
    let path = data_dir.join(FILE);
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(&path) {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                "the deployment secret is readable by others (mode {mode:o}): chmod 600 it"
            );
        }
    }
    match std::fs::read_to_string(&path) {
        Ok(text) => from_hex(text.trim()).map(Some).ok_or_else(|| {
            InfraError::SecretKey(format!(
                "{} does not hold 64 hex characters",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(InfraError::Io { path, source: e }),
    }
}

/// The configured key, or the one in `<data_dir>/secret_key`, created
/// (mode 0600, from the OS generator) when there is none.
pub fn load_or_create(configured: Option<&str>, data_dir: &Path) -> Result<[u8; 32], InfraError> {
    match load(configured, data_dir)? {
        Some(key) => Ok(key),
        None => create(data_dir),
    }
}

/// A new key in `<data_dir>/secret_key` (mode 0600, from the OS
/// generator); another process's, when it made one first.
pub fn create(data_dir: &Path) -> Result<[u8; 32], InfraError> {
    crate::data_dir::ensure(data_dir)?;
    let mut key = [0u8; 32];
    getrandom::fill(&mut key)
        .map_err(|_| InfraError::SecretKey("the OS random generator failed".into()))?;
    install(data_dir, key)
}

/// `key` as `<data_dir>/secret_key` (mode 0600); another process's key
/// when one appeared first.
pub(crate) fn install(data_dir: &Path, key: [u8; 32]) -> Result<[u8; 32], InfraError> {
    let path = data_dir.join(FILE);
    let io = |source| InfraError::Io {
        path: path.clone(),
        source,
    };
    let hex = hex::encode(key);
    // Written complete under a private name, then linked into place: a
    // process racing us sees no file or a whole one, never a half-written one.
    let tmp = data_dir.join(format!(".{FILE}.{}.{}", std::process::id(), &hex[..8]));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let written = opts.open(&tmp).and_then(|mut f| {
        f.write_all(hex.as_bytes())?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(InfraError::SecretKey(format!(
            "cannot create {} (the data directory must be writable the first time): {e}",
            path.display()
        )));
    }
    let linked = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "created the deployment secret");
            Ok(key)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create(None, data_dir),
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_reused_with_0600() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create(None, dir.path()).unwrap();
        let b = load_or_create(None, dir.path()).unwrap();
        assert_eq!(a, b);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn configured_keys() {
        let hex = "ab".repeat(32);
        assert_eq!(key_from_config(&hex).unwrap(), [0xab; 32]);
        assert!(key_from_config("short").is_err());
        assert_eq!(
            key_from_config(&"x".repeat(40)).unwrap(),
            key_from_config(&"x".repeat(40)).unwrap()
        );
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "garbage").unwrap();
        assert!(load_or_create(None, dir.path()).is_err());
    }
}
