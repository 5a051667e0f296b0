use std::collections::HashSet;
use std::sync::OnceLock;

use unicode_normalization::UnicodeNormalization;

use crate::{AccountError, Email};

/// A password as it will be hashed: NFKC-normalised, so that the same
/// characters typed on different keyboards give the same hash. `Debug`
/// never shows it. One offered at login also keeps what was typed when
/// normalisation changed it: a hash carried over from Label Studio (Django
/// does not normalise) was made from the typed bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String, Option<String>);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Longest password ever fed to the hasher, whatever the policy says, so that
/// a login with a megabyte "password" costs nothing.
pub const MAX_VERIFIABLE_CHARS: usize = 1024;

impl Password {
    /// A password offered at login, checked against a stored hash. The policy
    /// is not applied (it may have changed since the password was set), only
    /// the hard length cap. `None` means "cannot match anything".
    pub fn for_login(raw: &str) -> Option<Self> {
        if raw.chars().count() > MAX_VERIFIABLE_CHARS || raw.contains('\0') {
            return None;
        }
        let normalised: String = raw.nfkc().collect();
        let typed = (normalised != raw).then(|| raw.to_owned());
        (normalised.chars().count() <= MAX_VERIFIABLE_CHARS).then_some(Self(normalised, typed))
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// What was typed, when normalisation changed it (login only).
    pub(crate) fn typed_bytes(&self) -> Option<&[u8]> {
        self.1.as_deref().map(str::as_bytes)
    }

    /// Length in characters, after normalisation.
    pub fn char_count(&self) -> usize {
        self.0.chars().count()
    }
}

/// NIST SP 800-63B style rules: a length range counted in characters after
/// NFKC normalisation, no composition rules, and a refusal of the most common
/// passwords and of the user's own email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_chars: usize,
    max_chars: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_chars: 8,
            max_chars: 128,
        }
    }
}

impl PasswordPolicy {
    pub fn new(min_chars: usize, max_chars: usize) -> Result<Self, AccountError> {
        if min_chars == 0 {
            return Err(AccountError::InvalidPolicy(
                "the minimum length must be at least 1",
            ));
        }
        if min_chars > max_chars {
            return Err(AccountError::InvalidPolicy(
                "the minimum length is above the maximum",
            ));
        }
        if max_chars > MAX_VERIFIABLE_CHARS {
            return Err(AccountError::InvalidPolicy(
                "the maximum length may be at most 1024",
            ));
        }
        Ok(Self {
            min_chars,
            max_chars,
        })
    }

    pub fn min_chars(&self) -> usize {
        self.min_chars
    }

    pub fn max_chars(&self) -> usize {
        self.max_chars
    }

    /// Check a new password for the account with this email.
    pub fn check(&self, raw: &str, email: Option<&Email>) -> Result<Password, AccountError> {
        let length_error = AccountError::PasswordLength {
            min: self.min_chars,
            max: self.max_chars,
        };
        // Refuse absurd input before normalising it (NFKC can grow a string).
        if raw.chars().count() > self.max_chars.saturating_mul(4) {
            return Err(length_error);
        }
        if raw.contains('\0') {
            return Err(AccountError::PasswordHasNul);
        }
        // One rule on every path (first run, sign-up, API, ls-admin): a tab
        // or a line break in a new password is a paste gone wrong, and a
        // password read from a line could never contain one.
        if raw.chars().any(char::is_control) {
            return Err(AccountError::PasswordHasControl);
        }
        let normalised: String = raw.nfkc().collect();
        let count = normalised.chars().count();
        if count < self.min_chars || count > self.max_chars {
            return Err(length_error);
        }
        let folded = normalised.trim().to_lowercase();
        if let Some(email) = email
            && (folded == email.as_str() || folded == email.local_part())
        {
            return Err(AccountError::PasswordSimilarToEmail);
        }
        if common_passwords().contains(folded.as_str()) {
            return Err(AccountError::PasswordTooCommon);
        }
        Ok(Password(normalised, None))
    }
}

/// Django's list of 20,000 common passwords (BSD licence, see
/// `data/LICENSE.django`), compared lower-cased as Django does.
static COMMON: &str = include_str!("../data/common-passwords.txt");

fn common_passwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        COMMON
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy() -> PasswordPolicy {
        PasswordPolicy::default()
    }

    #[test]
    fn length_bounds_in_characters() {
        let p = policy();
        assert_eq!(
            p.check("short1!", None),
            Err(AccountError::PasswordLength { min: 8, max: 128 })
        );
        assert!(p.check("ok-längre", None).is_ok());
        // Eight characters, many more bytes.
        assert!(p.check("ßßßßßßßß", None).is_ok());
        assert!(p.check(&"x7".repeat(64), None).is_ok());
        assert!(
            p.check(&"x7".repeat(64).replacen('x', "xy", 1), None)
                .is_err()
        );
        assert_eq!(
            AccountError::PasswordLength { min: 8, max: 128 }.to_string(),
            "Please enter a password 8\u{2013}128 characters in length."
        );
    }

    #[test]
    fn nfkc_is_applied_before_counting_and_hashing() {
        // U+FB01 LATIN SMALL LIGATURE FI normalises to "fi": seven ligatures are 14 characters.
        let p = policy();
        let pw = p.check(&"\u{FB01}".repeat(7), None).unwrap();
        assert_eq!(pw.char_count(), 14);
        let login = Password::for_login(&"\u{FB01}".repeat(7)).unwrap();
        assert_eq!(login.as_bytes(), pw.as_bytes());
        assert_eq!(login.typed_bytes(), Some("\u{FB01}".repeat(7).as_bytes()));
        assert_eq!(Password::for_login("plain").unwrap().typed_bytes(), None);
    }

    #[test]
    fn refuses_common_passwords_case_insensitively() {
        assert_eq!(
            policy().check("password", None),
            Err(AccountError::PasswordTooCommon)
        );
        assert_eq!(
            policy().check("PassWord1", None),
            Err(AccountError::PasswordTooCommon)
        );
        assert_eq!(
            policy().check("123456789", None),
            Err(AccountError::PasswordTooCommon)
        );
        assert!(policy().check("correct horse battery staple", None).is_ok());
    }

    #[test]
    fn refuses_own_email_and_local_part() {
        let e = Email::parse("marguerite.d@example.com").unwrap();
        assert_eq!(
            policy().check("Marguerite.D@example.com", Some(&e)),
            Err(AccountError::PasswordSimilarToEmail)
        );
        assert_eq!(
            policy().check("marguerite.d", Some(&e)),
            Err(AccountError::PasswordSimilarToEmail)
        );
        assert!(policy().check("marguerite.d-rose-garden", Some(&e)).is_ok());
    }

    #[test]
    fn configurable_policy() {
        let p = PasswordPolicy::new(12, 20).unwrap();
        assert_eq!(
            p.check("elevenchars", None),
            Err(AccountError::PasswordLength { min: 12, max: 20 })
        );
        assert!(PasswordPolicy::new(0, 10).is_err());
        assert!(PasswordPolicy::new(10, 9).is_err());
        assert!(PasswordPolicy::new(8, 2000).is_err());
    }

    #[test]
    fn control_characters_are_refused_in_new_passwords_only() {
        for raw in [
            "tab\there-123",
            "line\nbreak-123",
            "esc\u{1b}ape-1234",
            "del\u{7f}ete-1234",
        ] {
            assert_eq!(
                policy().check(raw, None),
                Err(AccountError::PasswordHasControl),
                "{raw:?}"
            );
        }
        assert!(policy().check("spaces are fine 12", None).is_ok());
        assert!(Password::for_login("an old\tone").is_some());
    }

    #[test]
    fn nul_refused_and_debug_redacted() {
        assert_eq!(
            policy().check("abc\0defghij", None),
            Err(AccountError::PasswordHasNul)
        );
        let pw = policy().check("unguessable-42", None).unwrap();
        assert!(!format!("{pw:?}").contains("unguessable"));
        assert!(Password::for_login(&"a".repeat(2000)).is_none());
    }

    proptest! {
        #[test]
        fn accepted_passwords_respect_the_length(raw in "\\PC{0,140}", min in 1usize..20, extra in 0usize..120) {
            let p = PasswordPolicy::new(min, min + extra).unwrap();
            if let Ok(pw) = p.check(&raw, None) {
                prop_assert!(pw.char_count() >= min && pw.char_count() <= min + extra);
            }
        }

        #[test]
        fn check_never_panics(raw in any::<String>()) {
            let _ = policy().check(&raw, None);
            let _ = Password::for_login(&raw);
        }
    }
}
