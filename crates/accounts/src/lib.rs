//! Accounts: the validated values a user account is made of, and the pure
//! computations on them (password policy, password hashing with a salt that
//! the caller draws, token digests).
//!
//! Architecture invariant: this crate does no I/O. It reads no clock, no
//! random generator, no file and no database; time and random bytes are
//! parameters.
#![forbid(unsafe_code)]

mod email;
mod error;
mod hashing;
mod hotkeys;
pub mod legacy;
mod password;
pub mod pat;
mod secret;
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
