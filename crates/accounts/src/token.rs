use crate::AccountError;

/// A user's API token. `Debug` never shows it; `expose` is for the single
/// moment it is handed to its owner.
#[derive(Clone, PartialEq, Eq)]
pub struct UserToken(String);

/// The documented minimum for a token given with `--user-token`.
pub const MIN_GIVEN_TOKEN_CHARS: usize = 5;
/// Long enough for any reasonable secret, short enough to be a header.
pub const MAX_GIVEN_TOKEN_CHARS: usize = 256;
/// Random bytes in a generated token: 160 bits, 40 hex characters, as Label Studio's.
pub const GENERATED_TOKEN_BYTES: usize = 20;

impl std::fmt::Debug for UserToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserToken(<redacted>)")
    }
}

impl UserToken {
    /// A token an administrator chose. Used verbatim; it has to fit in an
    /// `Authorization: Token <t>` header, so no spaces or control characters.
    pub fn parse_given(raw: &str) -> Result<Self, AccountError> {
        let count = raw.chars().count();
        if count < MIN_GIVEN_TOKEN_CHARS {
            return Err(AccountError::TokenTooShort {
                min: MIN_GIVEN_TOKEN_CHARS,
            });
        }
        if count > MAX_GIVEN_TOKEN_CHARS {
            return Err(AccountError::TokenTooLong {
                max: MAX_GIVEN_TOKEN_CHARS,
            });
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(AccountError::TokenCharacters);
        }
        Ok(Self(raw.to_owned()))
    }

    /// A fresh token from random bytes the caller drew from the OS.
    pub fn generate(random: [u8; GENERATED_TOKEN_BYTES]) -> Self {
        Self(hex::encode(random))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn given_tokens() {
        assert_eq!(
            UserToken::parse_given("abcd"),
            Err(AccountError::TokenTooShort { min: 5 })
        );
        assert_eq!(UserToken::parse_given("abcde").unwrap().expose(), "abcde");
        assert_eq!(
            UserToken::parse_given("ab cde"),
            Err(AccountError::TokenCharacters)
        );
        assert_eq!(
            UserToken::parse_given("abcdé"),
            Err(AccountError::TokenCharacters)
        );
        assert!(UserToken::parse_given(&"a".repeat(257)).is_err());
        let msg = AccountError::TokenTooShort { min: 5 }.to_string();
        assert!(!msg.contains("abcd"));
    }

    #[test]
    fn debug_is_redacted() {
        let t = UserToken::parse_given("supersecret").unwrap();
        assert!(!format!("{t:?}").contains("supersecret"));
    }

    proptest! {
        #[test]
        fn generated_tokens_are_40_lowercase_hex(bytes in any::<[u8; 20]>()) {
            let t = UserToken::generate(bytes);
            prop_assert_eq!(t.expose().len(), 40);
            prop_assert!(t.expose().chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
            prop_assert!(UserToken::parse_given(t.expose()).is_ok());
        }

        #[test]
        fn given_tokens_are_verbatim(raw in "[!-~]{5,256}") {
            let t = UserToken::parse_given(&raw).unwrap();
            prop_assert_eq!(t.expose(), raw.as_str());
        }

        #[test]
        fn short_tokens_refused(raw in "\\PC{0,4}") {
            prop_assert_eq!(UserToken::parse_given(&raw), Err(AccountError::TokenTooShort { min: 5 }));
        }
    }
}
