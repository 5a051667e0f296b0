//! Password hashes made elsewhere and carried over as they are: Django's
//! (Label Studio's) `pbkdf2_sha256$<iterations>$<salt>$<hash>` and
//! `argon2$<PHC string>`, both made from the password as typed. They verify at login (in constant time) and are
//! replaced by argon2id with our parameters at the first successful one:
//! an import copies hashes, it never recomputes one.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use password_hash::phc::PasswordHash;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use thiserror::Error;

use crate::password::Password;

/// Django's prefix for PBKDF2-HMAC-SHA256 hashes.
pub const PBKDF2_SHA256: &str = "pbkdf2_sha256";
/// Most PBKDF2 iterations a carried-over hash may ask for (Django 5.2 uses
/// 1,000,000): a hash is data from another system, and a login must not
/// cost minutes because it says so.
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// Most argon2 memory (KiB) a carried-over hash may ask for (Django's
/// default is 100 MiB): the same reason.
pub const MAX_ARGON2_MEMORY_KIB: u32 = 256 * 1024;
/// Most argon2 passes and lanes a carried-over hash may ask for (Django's
/// defaults are 2 and 8).
pub const MAX_ARGON2_TIME: u32 = 10;
pub const MAX_ARGON2_LANES: u32 = 16;

/// How a stored password is hashed, as `ls-admin user list` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordScheme {
    Argon2id,
    /// Our own argon2i or argon2d (not made by this program).
    Argon2Other,
    /// Django's `argon2$…`, carried over.
    DjangoArgon2,
    Pbkdf2Sha256,
    /// No usable password.
    None,
    /// Nothing this program can verify.
    Unknown,
}

impl PasswordScheme {
    /// The scheme of a stored hash's text.
    pub fn of_text(s: &str) -> Self {
        if s.starts_with("$argon2id$") {
            Self::Argon2id
        } else if s.starts_with("$argon2i$") || s.starts_with("$argon2d$") {
            Self::Argon2Other
        } else if s.starts_with("pbkdf2_sha256$") {
            Self::Pbkdf2Sha256
        } else if s.starts_with("argon2$") {
            Self::DjangoArgon2
        } else {
            Self::Unknown
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Argon2id => "argon2id",
            Self::Argon2Other => "argon2-other",
            Self::DjangoArgon2 => "argon2",
            Self::Pbkdf2Sha256 => PBKDF2_SHA256,
            Self::None => "none",
            Self::Unknown => "unknown",
        }
    }
}

/// Why a carried-over hash was not taken.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LegacyHashError {
    #[error("password hashes of the {0:?} scheme cannot be verified here")]
    Unsupported(String),
    #[error("the password hash is malformed: {0}")]
    Malformed(&'static str),
}

/// Whether a Django password field can be kept as it is: `false` for an
/// empty or unusable (`!…`) one, `true` for a well-formed `pbkdf2_sha256`
/// or `argon2` hash within bounds (`PasswordHashString::from_django`
/// keeps it).
pub fn check_django_hash(field: &str) -> Result<bool, LegacyHashError> {
    if field.is_empty() || field.starts_with('!') {
        return Ok(false);
    }
    if let Some(rest) = field.strip_prefix("pbkdf2_sha256$") {
        parse_pbkdf2(rest)?;
        return Ok(true);
    }
    if let Some(phc) = field.strip_prefix("argon2$") {
        let phc = format!("${phc}");
        let parsed =
            PasswordHash::new(&phc).map_err(|_| LegacyHashError::Malformed("not a PHC string"))?;
        if !matches!(
            parsed.algorithm.as_str(),
            "argon2id" | "argon2i" | "argon2d"
        ) {
            return Err(LegacyHashError::Malformed("unknown argon2 variant"));
        }
        let params = argon2::Params::try_from(&parsed)
            .map_err(|_| LegacyHashError::Malformed("bad argon2 parameters"))?;
        if params.m_cost() > MAX_ARGON2_MEMORY_KIB {
            return Err(LegacyHashError::Malformed("argon2 memory above 256 MiB"));
        }
        if params.t_cost() > MAX_ARGON2_TIME || params.p_cost() > MAX_ARGON2_LANES {
            return Err(LegacyHashError::Malformed(
                "argon2 above 10 passes or 16 lanes",
            ));
        }
        if parsed.salt.is_none() || parsed.hash.is_none() {
            return Err(LegacyHashError::Malformed(
                "argon2 hash without salt or output",
            ));
        }
        return Ok(true);
    }
    let scheme = field.split('$').next().unwrap_or_default();
    Err(LegacyHashError::Unsupported(
        scheme.chars().take(32).collect(),
    ))
}

/// `<iterations>$<salt>$<base64 hash>` of a `pbkdf2_sha256` hash.
fn parse_pbkdf2(rest: &str) -> Result<(u32, &str, [u8; 32]), LegacyHashError> {
    let mut parts = rest.split('$');
    let (Some(iterations), Some(salt), Some(hash), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(LegacyHashError::Malformed("expected 4 fields"));
    };
    let iterations: u32 = iterations
        .parse()
        .map_err(|_| LegacyHashError::Malformed("iterations are not a number"))?;
    if iterations == 0 || iterations > MAX_PBKDF2_ITERATIONS {
        return Err(LegacyHashError::Malformed("iterations out of range"));
    }
    if salt.is_empty() {
        return Err(LegacyHashError::Malformed("empty salt"));
    }
    let decoded = STANDARD
        .decode(hash)
        .map_err(|_| LegacyHashError::Malformed("hash is not base64"))?;
    let hash: [u8; 32] = decoded
        .try_into()
        .map_err(|_| LegacyHashError::Malformed("hash is not 32 bytes"))?;
    Ok((iterations, salt, hash))
}

/// Django's `PBKDF2PasswordHasher.verify`: the password as typed (Django
/// does not normalise; one computation, never two, so an attacker cannot
/// double the cost). Constant time in the comparison; a malformed hash
/// matches nothing.
pub(crate) fn verify_pbkdf2_sha256(password: &Password, stored: &str) -> bool {
    let Some(rest) = stored.strip_prefix("pbkdf2_sha256$") else {
        return false;
    };
    let Ok((iterations, salt, expected)) = parse_pbkdf2(rest) else {
        return false;
    };
    let typed = password.typed_bytes().unwrap_or(password.as_bytes());
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(typed, salt.as_bytes(), iterations, &mut out);
    bool::from(out.ct_eq(&expected))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PasswordHashString, PasswordHasher};

    fn import_django_hash(field: &str) -> Result<Option<PasswordHashString>, LegacyHashError> {
        PasswordHashString::from_django(field)
    }
    use proptest::prelude::*;

    /// A hash in the format Label Studio writes (Django's
    /// `PBKDF2PasswordHasher.encode`), with few iterations so the test is
    /// quick; the fixtures' real ones (1,000,000) are the integration tests'.
    fn django(password: &str, iterations: u32, salt: &str) -> String {
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt.as_bytes(), iterations, &mut out);
        format!("pbkdf2_sha256${iterations}${salt}${}", STANDARD.encode(out))
    }

    /// RFC 7914 §11's PBKDF2-HMAC-SHA256 vector ("passwd", "salt", c = 1):
    /// the primitive is the standard one.
    #[test]
    fn pbkdf2_matches_the_rfc_vector() {
        let mut out = [0u8; 64];
        pbkdf2::pbkdf2_hmac::<Sha256>(b"passwd", b"salt", 1, &mut out);
        assert_eq!(hex::encode(&out[..16]), "55ac046e56e3089fec1691c22544b605");
    }

    /// A hash as Label Studio 1.23.2 stored it (the SQLite fixture's owner).
    #[test]
    fn a_label_studio_hash_verifies() {
        let hash = import_django_hash(
            "pbkdf2_sha256$1000000$cWMRB0JmAJp45rfRHQUghJ$AN90AklNHUATqULaL83PqcAIwRQoUv3Q5eImxpB3Fcg=",
        )
        .unwrap()
        .unwrap();
        let h = PasswordHasher::new(256, 1, 1).unwrap();
        assert!(h.verify(&Password::for_login("Own-tijcizrwwwev").unwrap(), &hash));
        assert!(!h.verify(&Password::for_login("own-tijcizrwwwev").unwrap(), &hash));
    }

    #[test]
    fn django_hashes_verify_with_the_typed_password() {
        let stored = django("ünï-irqcoqvsoe", 1000, "QPsxlVM6edJEgNK04mA4aS");
        let hash = import_django_hash(&stored).unwrap().unwrap();
        assert_eq!(hash.as_str(), stored, "kept as it is");
        assert_eq!(
            PasswordScheme::of(Some(&hash)),
            PasswordScheme::Pbkdf2Sha256
        );
        let h = PasswordHasher::new(256, 1, 1).unwrap();
        let ok = Password::for_login("ünï-irqcoqvsoe").unwrap();
        assert!(h.verify(&ok, &hash));
        assert!(h.needs_rehash(&hash));
        for wrong in ["ÜNÏ-irqcoqvsoe", "ünï-irqcoqvso", "", "ünï-irqcoqvsoe "] {
            let pw = Password::for_login(wrong).unwrap();
            assert!(!h.verify(&pw, &hash), "{wrong:?}");
        }
        // Decomposed input (u + combining diaeresis) is what Django hashed
        // when that is what was typed; NFKC would compose it: the typed
        // bytes are what is checked.
        let decomposed = "u\u{308}-decomposed-1";
        let stored = django(decomposed, 1000, "salt");
        let hash = import_django_hash(&stored).unwrap().unwrap();
        assert!(h.verify(&Password::for_login(decomposed).unwrap(), &hash));
    }

    #[test]
    fn unusable_and_unsupported_fields() {
        assert_eq!(import_django_hash(""), Ok(None));
        assert_eq!(import_django_hash("!Xk3…unusable"), Ok(None));
        assert_eq!(
            import_django_hash("bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuv"),
            Err(LegacyHashError::Unsupported("bcrypt_sha256".into()))
        );
        assert_eq!(
            import_django_hash("md5$salt$abc"),
            Err(LegacyHashError::Unsupported("md5".into()))
        );
        for bad in [
            "pbkdf2_sha256$0$salt$AAAA",
            "pbkdf2_sha256$99999999999$salt$AAAA",
            "pbkdf2_sha256$1000$$AN90AklNHUATqULaL83PqcAIwRQoUv3Q5eImxpB3Fcg=",
            "pbkdf2_sha256$1000$salt$not-base64!",
            "pbkdf2_sha256$1000$salt$AAAA",
            "pbkdf2_sha256$1000$salt",
            "argon2$argon2id$v=19$m=999999999,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "argon2$argon2id$v=19$m=1024,t=4000000,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "argon2$argon2id$v=19$m=1024,t=2,p=64$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "argon2$nonsense",
        ] {
            assert!(
                matches!(import_django_hash(bad), Err(LegacyHashError::Malformed(_))),
                "{bad}"
            );
        }
        assert_eq!(PasswordScheme::of(None).as_str(), "none");
    }

    #[test]
    fn django_argon2_hashes_verify_with_the_typed_password() {
        use password_hash::PasswordHasher as _;
        let h = PasswordHasher::new(256, 1, 1).unwrap();
        // Django hashed the typed bytes: here a decomposed ü, which NFKC
        // would compose.
        let typed = "u\u{308}-Secret pjoiridfee";
        let params = argon2::Params::new(256, 1, 1, None).unwrap();
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let made = argon
            .hash_password_with_salt(typed.as_bytes(), &[3; crate::SALT_LEN])
            .unwrap()
            .to_string();
        // Django writes argon2-cffi's PHC string behind "argon2".
        let field = format!("argon2{made}");
        let imported = import_django_hash(&field).unwrap().unwrap();
        assert_eq!(imported.as_str(), field, "kept as it is");
        assert_eq!(
            PasswordScheme::of(Some(&imported)),
            PasswordScheme::DjangoArgon2
        );
        assert!(h.needs_rehash(&imported));
        assert!(h.verify(&Password::for_login(typed).unwrap(), &imported));
        assert!(!h.verify(
            &Password::for_login("\u{fc}-Secret pjoiridfee").unwrap(),
            &imported
        ));
    }

    proptest! {
        #[test]
        fn import_never_panics(field in "\\PC{0,120}") {
            let _ = import_django_hash(&field);
        }

        #[test]
        fn a_django_hash_verifies_its_password_only(pw in "[ -~]{1,24}", other in "[ -~]{1,24}", salt in "[A-Za-z0-9]{1,22}") {
            prop_assume!(pw != other);
            let h = PasswordHasher::new(256, 1, 1).unwrap();
            let hash = import_django_hash(&django(&pw, 2, &salt)).unwrap().unwrap();
            prop_assert!(h.verify(&Password::for_login(&pw).unwrap(), &hash));
            prop_assert!(!h.verify(&Password::for_login(&other).unwrap(), &hash));
        }
    }
}
