//! The organization's invite link: a token derived from the deployment key,
//! the organization's current generation and a salt drawn at each reset,
//! never stored in clear (storage keeps the state and a keyed digest).
//! Resetting the link moves to the next generation with a fresh salt, after
//! which the old token matches nothing.
//!
//! Architecture invariant: no I/O; the key and random salt are parameters.
//!
//! # Example
//!
//! ```
//! use invites::{InviteState, InviteToken, SALT_LEN};
//!
//! let key = [7u8; 32]; // the deployment's secret
//! let state = InviteState::initial([1u8; SALT_LEN]); // salt from your RNG
//! let link = state.token(&key);
//! assert!(link.signup_path().starts_with("/user/signup/?token="));
//!
//! // What a visitor presents is parsed, then compared (in constant time)
//! // with the current token.
//! let presented = InviteToken::parse_presented(link.expose()).unwrap();
//! assert!(presented == state.token(&key));
//! assert!(InviteToken::parse_presented("not a token").is_err());
//!
//! // Reset Link: the next generation with a fresh salt; the old link
//! // matches nothing any more. Store `generation()` and `salt()`.
//! let reset = state.rotated([2u8; SALT_LEN]);
//! assert_eq!(reset.generation(), 2);
//! assert!(presented != reset.token(&key));
//! ```
#![forbid(unsafe_code)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum InviteError {
    #[error("The invite token is malformed.")]
    Malformed,
}

/// Random bytes drawn at each reset.
pub const SALT_LEN: usize = 16;
/// 256-bit HMAC output in unpadded base64url.
pub const TOKEN_CHARS: usize = 43;
/// Label Studio's `organization.token` column is `varchar(256)`.
pub const MAX_LEGACY_CHARS: usize = 256;

/// Where an organization's invite link stands. Only this is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteState {
    generation: u64,
    salt: [u8; SALT_LEN],
}

impl InviteState {
    pub fn initial(salt: [u8; SALT_LEN]) -> Self {
        Self {
            generation: 1,
            salt,
        }
    }

    pub fn from_stored(generation: u64, salt: [u8; SALT_LEN]) -> Self {
        Self { generation, salt }
    }

    /// The state after **Reset Link**.
    pub fn rotated(&self, new_salt: [u8; SALT_LEN]) -> Self {
        Self {
            generation: self.generation.saturating_add(1),
            salt: new_salt,
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn salt(&self) -> &[u8; SALT_LEN] {
        &self.salt
    }

    /// The token in this state. The 128-bit salt, drawn anew for every
    /// organization and every reset, makes it unique to its organization.
    pub fn token(&self, key: &[u8; 32]) -> InviteToken {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"ls-users invite\0");
        mac.update(&self.generation.to_be_bytes());
        mac.update(&self.salt);
        InviteToken(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }
}

/// An invite token. `Debug` never shows it.
#[derive(Clone, Eq)]
pub struct InviteToken(String);

impl PartialEq for InviteToken {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl std::fmt::Debug for InviteToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InviteToken(<redacted>)")
    }
}

impl InviteToken {
    /// A token presented in a link. Taken exactly as given: no trimming, no
    /// case folding; anything but 43 base64url characters is malformed.
    pub fn parse_presented(raw: &str) -> Result<Self, InviteError> {
        Self::base64url(raw, TOKEN_CHARS..=TOKEN_CHARS)
    }

    /// `raw` as it is, when it is base64url characters in number within `len`.
    fn base64url(raw: &str, len: std::ops::RangeInclusive<usize>) -> Result<Self, InviteError> {
        let url_safe = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        if len.contains(&raw.len()) && raw.bytes().all(url_safe) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InviteError::Malformed)
        }
    }

    /// A token Label Studio made (its `organization.token`, carried over by
    /// the import): 8 to 256 base64url characters, exactly as given.
    pub fn parse_legacy(raw: &str) -> Result<Self, InviteError> {
        Self::base64url(raw, 8..=MAX_LEGACY_CHARS)
    }

    /// Ours, or else one carried over from Label Studio.
    pub fn parse_any(raw: &str) -> Result<Self, InviteError> {
        Self::parse_presented(raw).or_else(|_| Self::parse_legacy(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The sign-up path of the link, relative to the public URL.
    pub fn signup_path(&self) -> String {
        format!("/user/signup/?token={}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: [u8; 32] = [9; 32];

    #[test]
    fn token_shape_and_path() {
        let t = InviteState::initial([1; SALT_LEN]).token(&KEY);
        assert_eq!(t.expose().len(), TOKEN_CHARS);
        assert_eq!(InviteToken::parse_presented(t.expose()), Ok(t.clone()));
        assert_eq!(
            t.signup_path(),
            format!("/user/signup/?token={}", t.expose())
        );
        assert!(!format!("{t:?}").contains(t.expose()));
    }

    #[test]
    fn presented_tokens_are_exact() {
        let t = InviteState::initial([1; SALT_LEN]).token(&KEY);
        let s = t.expose();
        assert!(InviteToken::parse_presented(&format!(" {s}")).is_err());
        assert!(InviteToken::parse_presented(&format!("{s} ")).is_err());
        assert!(InviteToken::parse_presented("").is_err());
        assert!(InviteToken::parse_presented(&s[..42]).is_err());
        let flipped: String = s
            .chars()
            .map(|c| {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        if flipped != s {
            assert_ne!(InviteToken::parse_presented(&flipped).unwrap(), t);
        }
    }

    proptest! {
        #[test]
        fn rotation_always_changes_the_token(s1 in any::<[u8; 16]>(), s2 in any::<[u8; 16]>()) {
            let a = InviteState::initial(s1);
            let b = a.rotated(s2);
            prop_assert_eq!(b.generation(), a.generation() + 1);
            // Even with the same salt drawn again, the generation moves on.
            prop_assert_ne!(a.token(&KEY), b.token(&KEY));
            prop_assert_ne!(a.token(&KEY), a.rotated(s1).token(&KEY));
        }

        #[test]
        fn tokens_differ_between_salts_and_keys(s1 in any::<[u8; 16]>(), s2 in any::<[u8; 16]>()) {
            prop_assume!(s1 != s2);
            let a = InviteState::initial(s1);
            prop_assert_ne!(a.token(&KEY), InviteState::initial(s2).token(&KEY));
            prop_assert_ne!(a.token(&KEY), a.token(&[8; 32]));
        }

        #[test]
        fn derivation_is_deterministic(g in 1u64..1000, salt in any::<[u8; 16]>()) {
            let st = InviteState::from_stored(g, salt);
            prop_assert_eq!(st.token(&KEY), st.clone().token(&KEY));
        }

        #[test]
        fn parse_never_panics(raw in "\\PC{0,60}") {
            let _ = InviteToken::parse_presented(&raw);
            let _ = InviteToken::parse_any(&raw);
        }

        #[test]
        fn legacy_tokens_are_taken_exactly(raw in "[A-Za-z0-9_-]{8,256}") {
            let parsed = InviteToken::parse_any(&raw).unwrap();
            prop_assert_eq!(parsed.expose(), raw.as_str());
            let spaced = format!(" {raw}");
            prop_assert!(InviteToken::parse_any(&spaced).is_err());
            let dotted = format!("{raw}.");
            prop_assert!(InviteToken::parse_any(&dotted).is_err());
        }
    }
}
