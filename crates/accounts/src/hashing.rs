use argon2::{Algorithm, Argon2, Params, Version};
use password_hash::{PasswordHasher as _, PasswordVerifier as _};

use crate::{AccountError, Password};

/// Length of the salt the caller draws from the operating system.
pub const SALT_LEN: usize = 16;

/// A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`). The parameters
/// live inside it, so the cost can rise without breaking old hashes.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHashString(String);

impl std::fmt::Debug for PasswordHashString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHashString(<redacted>)")
    }
}

impl PasswordHashString {
    /// Wrap a string read back from storage.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Argon2id with explicit parameters. Pure CPU work: callers run it off
/// their async runtime.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    params: Params,
}

impl Default for PasswordHasher {
    /// OWASP's recommendation: m = 19 MiB, t = 2, p = 1.
    fn default() -> Self {
        Self {
            params: Params::default(),
        }
    }
}

impl PasswordHasher {
    pub fn new(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Result<Self, AccountError> {
        let params = Params::new(m_cost_kib, t_cost, p_cost, None)
            .map_err(|_| AccountError::InvalidPolicy("invalid argon2 parameters"))?;
        Ok(Self { params })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    pub fn hash(
        &self,
        password: &Password,
        salt: &[u8; SALT_LEN],
    ) -> Result<PasswordHashString, AccountError> {
        self.argon2()
            .hash_password_with_salt(password.as_bytes(), salt)
            .map(|h| PasswordHashString(h.to_string()))
            .map_err(|_| AccountError::CorruptHash)
    }

    /// True when `password` matches. A malformed stored hash matches nothing.
    pub fn verify(&self, password: &Password, stored: &PasswordHashString) -> bool {
        // Argon2 compares the output in constant time.
        self.argon2()
            .verify_password(password.as_bytes(), stored.as_str())
            .is_ok()
    }

    /// Spend the same time as a real verification, for an account that does
    /// not exist, so that timing does not tell which emails are registered.
    pub fn dummy_verify(&self, password: &Password) {
        let _ = self.hash(password, &[0x5a; SALT_LEN]);
    }

    /// True when a stored hash was made with other parameters than ours.
    pub fn needs_rehash(&self, stored: &PasswordHashString) -> bool {
        let current = format!(
            "$argon2id$v=19$m={},t={},p={}$",
            self.params.m_cost(),
            self.params.t_cost(),
            self.params.p_cost()
        );
        !stored.as_str().starts_with(&current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PasswordPolicy;

    fn fast() -> PasswordHasher {
        PasswordHasher::new(256, 1, 1).unwrap()
    }

    #[test]
    fn hash_and_verify_round_trip() {
        let h = fast();
        let pw = PasswordPolicy::default()
            .check("a long passphrase", None)
            .unwrap();
        let other = PasswordPolicy::default()
            .check("another passphrase", None)
            .unwrap();
        let stored = h.hash(&pw, &[7; SALT_LEN]).unwrap();
        assert!(stored.as_str().starts_with("$argon2id$v=19$m=256,t=1,p=1$"));
        assert!(h.verify(&pw, &stored));
        assert!(!h.verify(&other, &stored));
        assert!(!h.verify(&pw, &PasswordHashString::from_stored("garbage".into())));
        assert!(!h.needs_rehash(&stored));
        assert!(PasswordHasher::default().needs_rehash(&stored));
        // The verifier reads the parameters from the PHC string itself.
        assert!(PasswordHasher::default().verify(&pw, &stored));
    }

    #[test]
    fn different_salts_give_different_hashes() {
        let h = fast();
        let pw = PasswordPolicy::default()
            .check("a long passphrase", None)
            .unwrap();
        assert_ne!(
            h.hash(&pw, &[1; SALT_LEN]).unwrap(),
            h.hash(&pw, &[2; SALT_LEN]).unwrap()
        );
    }

    #[test]
    fn default_is_owasp() {
        let stored = PasswordHasher::default()
            .hash(
                &PasswordPolicy::default()
                    .check("a long passphrase", None)
                    .unwrap(),
                &[3; SALT_LEN],
            )
            .unwrap();
        assert!(
            stored
                .as_str()
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
        );
        assert!(!format!("{stored:?}").contains("argon2id"));
    }
}
