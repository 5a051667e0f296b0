use std::cell::RefCell;

use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};
use password_hash::phc::{Output, ParamsString, PasswordHash, Salt};

use crate::{AccountError, Password};

thread_local! {
    /// Argon2's working memory (m KiB), kept by each thread between hashes.
    /// A fresh 19 MiB for every login was allocated, zeroed and faulted in
    /// page by page: about a tenth of a login's CPU (issue 7's profile).
    /// Reuse changes nothing in the result: the first pass writes every
    /// block before any is read.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Argon2 of `password` and `salt` into `out`, in this thread's memory.
fn compute(
    argon2: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> bool {
    MEMORY.with(|memory| {
        let Ok(mut memory) = memory.try_borrow_mut() else {
            return false;
        };
        let blocks = params.block_count();
        if memory.len() != blocks {
            *memory = vec![Block::new(); blocks];
        }
        argon2
            .hash_password_into_with_memory(password, salt, out, &mut memory[..])
            .is_ok()
    })
}

/// Gives back this thread's argon2 working memory (the next hash on it
/// allocates it again): for a hashing thread that has gone idle, so that a
/// server that hashed once does not keep m KiB a thread for its life.
/// Whether there was any to give back.
pub fn release_thread_memory() -> bool {
    MEMORY.with(|memory| match memory.try_borrow_mut() {
        Ok(mut memory) if !memory.is_empty() => {
            *memory = Vec::new();
            true
        }
        _ => false,
    })
}

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

    /// A Django (Label Studio) password field as it is kept here: `None`
    /// for an empty or unusable one, the same text for a hash this program
    /// verifies ([`crate::legacy`]).
    pub fn from_django(field: &str) -> Result<Option<Self>, crate::legacy::LegacyHashError> {
        Ok(crate::legacy::check_django_hash(field)?.then(|| Self(field.to_owned())))
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
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        if !compute(
            &self.argon2(),
            &self.params,
            password.as_bytes(),
            salt,
            &mut out,
        ) {
            return Err(AccountError::CorruptHash);
        }
        let phc = PasswordHash {
            algorithm: ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(|_| AccountError::CorruptHash)?,
            salt: Some(Salt::new(salt).map_err(|_| AccountError::CorruptHash)?),
            hash: Some(Output::new(&out).map_err(|_| AccountError::CorruptHash)?),
        };
        Ok(PasswordHashString(phc.to_string()))
    }

    /// True when `password` matches. A malformed stored hash matches nothing.
    /// The parameters, salt and algorithm come from the stored PHC string.
    pub fn verify(&self, password: &Password, stored: &PasswordHashString) -> bool {
        let stored = stored.as_str();
        if stored.starts_with("pbkdf2_sha256$") {
            return crate::legacy::verify_pbkdf2_sha256(password, stored);
        }
        // Django's argon2, carried over as it is: made from the password as
        // typed (Django does not normalise).
        if let Some(phc) = stored.strip_prefix("argon2$") {
            let typed = password.typed_bytes().unwrap_or(password.as_bytes());
            return verify_phc(&format!("${phc}"), typed);
        }
        verify_phc(stored, password.as_bytes())
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

impl crate::legacy::PasswordScheme {
    /// How a stored password is hashed (`None`: no usable password).
    pub fn of(stored: Option<&PasswordHashString>) -> Self {
        stored.map_or(Self::None, |h| Self::of_text(h.as_str()))
    }
}

/// Argon2 of `password` against a PHC string, in constant time; a
/// malformed string matches nothing. Its parameters come from the string.
fn verify_phc(stored: &str, password: &[u8]) -> bool {
    let Ok(phc) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        Algorithm::try_from(phc.algorithm.as_str()),
        Version::try_from(phc.version.unwrap_or(Version::V0x13.into())),
        Params::try_from(&phc),
    ) else {
        return false;
    };
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let Some(out) = buffer.get_mut(..expected.len()) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params.clone());
    if !compute(&argon2, &params, password, salt, out) {
        return false;
    }
    // `Output` compares in constant time.
    Output::new(out).is_ok_and(|computed| &computed == expected)
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

    /// The reused memory gives what argon2's own allocating path gives, for
    /// hashes one after another of several sizes in one thread; and a hash
    /// made by the upstream path verifies here.
    #[test]
    fn reused_memory_gives_the_upstream_result() {
        use password_hash::PasswordHasher as _;
        let pw = PasswordPolicy::default()
            .check("a long passphrase", None)
            .unwrap();
        for (m, t) in [(256, 1), (512, 2), (256, 3), (1024, 1)] {
            let ours = PasswordHasher::new(m, t, 1).unwrap();
            for salt in [[1u8; SALT_LEN], [2; SALT_LEN]] {
                let upstream = ours
                    .argon2()
                    .hash_password_with_salt(pw.as_bytes(), &salt)
                    .unwrap()
                    .to_string();
                assert_eq!(ours.hash(&pw, &salt).unwrap().as_str(), upstream);
                let stored = PasswordHashString::from_stored(upstream);
                assert!(ours.verify(&pw, &stored));
                assert!(PasswordHasher::default().verify(&pw, &stored));
            }
        }
    }

    #[test]
    fn tampered_hashes_match_nothing() {
        let h = fast();
        let pw = PasswordPolicy::default()
            .check("a long passphrase", None)
            .unwrap();
        let stored = h.hash(&pw, &[9; SALT_LEN]).unwrap();
        let text = stored.as_str();
        let (head, tail) = text.rsplit_once('$').unwrap();
        let mut flipped: Vec<u8> = tail.bytes().collect();
        flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
        let flipped = format!("{head}${}", String::from_utf8(flipped).unwrap());
        for bad in [
            flipped,
            text.replace("argon2id", "argon2i"),
            text.replace("m=256", "m=512"),
            head.to_owned(),
            text.replace("v=19", "v=1"),
        ] {
            assert!(
                !h.verify(&pw, &PasswordHashString::from_stored(bad.clone())),
                "{bad}"
            );
        }
    }

    #[test]
    fn released_memory_is_allocated_again_with_the_same_results() {
        let h = fast();
        let password = PasswordPolicy::default()
            .check("correct horse battery", None)
            .unwrap();
        let salt = [7u8; SALT_LEN];
        let first = h.hash(&password, &salt).unwrap();
        assert!(release_thread_memory());
        assert!(!release_thread_memory(), "nothing left to give back");
        assert_eq!(h.hash(&password, &salt).unwrap(), first);
        assert!(h.verify(&password, &first));
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
