//! The use-cases both binaries run: bootstrap the first account, sign up,
//! create a user, log in, reset a token, manage users and the invite link.
//!
//! Architecture invariants:
//! - this is the only crate that combines the domain crates;
//! - storage is reached only through the [`Store`] trait (implemented in `infra`);
//! - password hashing runs on blocking threads with bounded concurrency,
//!   never on the async runtime;
//! - every path that creates an account goes through [`Services::create_account`],
//!   which asks `signup_policy::decide` first.
#![forbid(unsafe_code)]

mod directory;
mod error;
mod hashing;
mod ports;
mod random;
mod services;
pub mod time;
mod tokens;

pub use directory::{Caller, MemberPage, UserPatch};
pub use error::{AppError, Field};
pub use hashing::BlockingHasher;
pub use ports::{
    AccountPlacement, CallerContext, CreatedAccount, InviteLookup, MembershipRecord, NewAccount,
    NewSession, OrgRecord, PersonalTokenRecord, Store, StoreError, UserChanges, UserRecord,
    UserWithRole,
};
pub use random::{Clock, OsRandom, Random, SystemClock};
pub use services::{
    Actor, BootstrapOutcome, BootstrapRequest, CreateUserRequest, Services, ServicesConfig,
    SignupRequest, ThrottleConfig,
};
pub use tokens::{Credential, PersonalToken, TokenSettingsPatch};

/// Secrets in memory (and in configuration): `Debug` never shows them.
#[derive(Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl AsRef<str> for SecretString {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        Self(s)
    }
}
