//! Accounts: the validated values a user account is made of, and the pure
//! computations on them (password policy, password hashing with a salt that
//! the caller draws, token digests).
//!
//! Architecture invariant: this crate does no I/O. It reads no clock, no
//! random generator, no file and no database; time and random bytes are
//! parameters.
//!
//! # Example
//!
//! An email and a password checked by the policy, hashed with argon2id
//! (the salt comes from the caller's random generator), then verified:
//!
//! ```
//! use accounts::{Email, Password, PasswordHasher, PasswordPolicy, SALT_LEN};
//!
//! let email = Email::parse("ann@example.com").unwrap();
//! let policy = PasswordPolicy::default(); // 8 to 128 characters
//! assert!(policy.check("short", Some(&email)).is_err());
//! let password = policy.check("a long enough passphrase", Some(&email)).unwrap();
//!
//! // Cheap parameters for the example: `PasswordHasher::default()` is
//! // OWASP's argon2id (19 MiB, 2 passes).
//! let hasher = PasswordHasher::new(1024, 1, 1).unwrap();
//! let salt = [9u8; SALT_LEN]; // draw it from your RNG
//! let stored = hasher.hash(&password, &salt).unwrap();
//! assert!(stored.as_str().starts_with("$argon2id$"));
//! assert!(hasher.verify(&password, &stored));
//! let wrong = Password::for_login("another passphrase").unwrap();
//! assert!(!hasher.verify(&wrong, &stored));
//! ```
#![forbid(unsafe_code)]

mod email;
mod error;
mod hashing;
mod hotkeys;
pub mod legacy;
mod password;
pub mod pat;
mod secret;
pub mod sso;
pub mod throttle;
mod token;
mod username;

pub use email::Email;
pub use error::AccountError;
pub use hashing::{PasswordHashString, PasswordHasher, SALT_LEN, release_thread_memory};
pub use hotkeys::{
    HotkeyError, Hotkeys, MAX_HOTKEY_COMBO_CHARS, MAX_HOTKEY_NAME_CHARS, MAX_HOTKEYS,
};
pub use legacy::PasswordScheme;
pub use password::MAX_VERIFIABLE_CHARS;
pub use password::{Password, PasswordPolicy};
pub use secret::{DigestKey, SecretDigest};
pub use token::{GENERATED_TOKEN_BYTES, MAX_GIVEN_TOKEN_CHARS, MIN_GIVEN_TOKEN_CHARS, UserToken};
pub use username::MAX_USERNAME_CHARS;
pub use username::Username;
