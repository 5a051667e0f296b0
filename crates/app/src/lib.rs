//! The use-cases both binaries run, one module per family over one
//! [`Services`]: sign-up and account creation (`signup`), logging in and
//! sessions (`login`), throttling (`throttle`), the invite link
//! (`invites`), API keys (`tokens`) and personal access tokens
//! (`personal_tokens`), accounts (`users`), members (`members`) and
//! organizations (`organizations`). Storage is one trait per aggregate
//! (`store`), with [`Store`] their sum.
//!
//! Architecture invariants:
//! - this is the only crate that combines the domain crates;
//! - storage is reached only through the `store` traits (implemented in `infra`);
//! - password hashing runs on threads of its own with bounded concurrency,
//!   never on the async runtime;
//! - every path that creates an account goes through one private
//!   `create_account`, which needs the admission that only asking
//!   `signup_policy::decide` gives.
#![forbid(unsafe_code)]

mod activity;
mod activity_claims;
pub mod audit;
mod caller;
mod config;
mod devices;
mod error;
mod hashing;
pub mod identity_providers;
pub mod import;
mod invites;
mod lifecycle;
mod login;
pub mod mail;
mod mailer;
mod members;
mod organizations;
mod permissions;
mod personal_tokens;
mod random;
mod services;
mod signup;
pub mod sso;
pub mod store;
#[cfg(test)]
mod testkit;
mod throttle;
pub mod time;
mod token_failures;
mod tokens;
mod users;

pub use activity::ACTIVITY_EVERY_SECS;
pub use caller::{Caller, OrgMeta};
pub use config::{ServicesConfig, ThrottleConfig};
pub use devices::DEVICE_LIFETIME_SECS;
pub use error::{AppError, Field, Unauthenticated};
pub use hashing::BlockingHasher;
pub use lifecycle::{PasswordChangeRequest, RESET_PATH, ResetLink};
pub use login::LoggedIn;
pub use members::{ListingOf, MEMBER_CHUNK, MemberAccess, MemberListing, MemberPage};
pub use personal_tokens::{PersonalToken, TokenSettingsPatch};
pub use random::{Clock, OsRandom, Random, SystemClock};
pub use services::Services;
pub use signup::{
    BootstrapOutcome, BootstrapRequest, CreateUserRequest, INVITATION_PATH, NewlyInvited,
    SignupRequest,
};
pub use sso::{SsoCallback, SsoLogin, SsoRefusal, SsoStart};
pub use store::{
    AccountPlacement, AuditEntry, AuditQuery, AuditRecord, AuditStore, CallerRecord,
    CreatedAccount, DEVICES_PER_USER, IdentityRecord, InvitationRecord, InvitationStore,
    InviteLookup, InviteStore, LifecycleStore, MailKind, MailStore, MemberCursor, MemberScan,
    MembershipRecord, NewAccount, NewDevice, NewIdentity, NewInvitation, NewSession, NewSsoFlow,
    OrgRecord, OrgStore, OutboxRecord, PasswordChange, PersonalTokenRecord, ResetLinkRecord,
    SessionStore, SsoFlowRecord, SsoStore, Store, StoreError, ThrottleStore, TokenSettingsChange,
    TokenStore, UserChanges, UserRecord, UserStore, UserWithRole,
};
pub use tokens::Credential;
pub use users::UserPatch;

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
