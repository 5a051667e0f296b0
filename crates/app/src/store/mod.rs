//! What the use-cases need from storage, one trait per aggregate, with
//! [`Store`] as their sum. `infra` implements them with sea-orm on SQLite
//! and PostgreSQL. Every method that writes more than one row is one
//! transaction in the implementation.

mod audit;
mod invitations;
mod invites;
mod lifecycle;
mod mail;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
mod orgs;
mod sessions;
mod sso;
mod throttle;
mod tokens;
mod users;

use thiserror::Error;

pub use audit::{AuditEntry, AuditQuery, AuditRecord, AuditStore};
pub use invitations::{InvitationRecord, InvitationStore, NewInvitation};
pub use invites::{InviteLookup, InviteStore};
pub use lifecycle::{LifecycleStore, PasswordChange, ResetLinkRecord};
pub use mail::{MailKind, MailStore, OutboxRecord};
pub use orgs::{
    MemberCursor, MemberScan, MembershipRecord, OrgRecord, OrgStore, TokenSettingsChange,
};
pub use sessions::{DEVICES_PER_USER, NewDevice, NewSession, SessionStore};
pub use sso::{IdentityRecord, NewIdentity, NewSsoFlow, SsoFlowRecord, SsoStore};
pub use throttle::ThrottleStore;
pub use tokens::{CallerRecord, PersonalTokenRecord, TokenStore};
pub use users::{
    AccountPlacement, CreatedAccount, NewAccount, UserChanges, UserRecord, UserStore, UserWithRole,
};

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A user with this (lower-cased) email exists.
    #[error("User with this email already exists")]
    EmailTaken,
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The write would break a rule that holds under races (one live
    /// personal access token per user, say).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The invite an account was to join by was reset meanwhile.
    #[error("the invite link was reset")]
    InviteRetired,
    /// The stored data breaks an invariant (a bad role string, say).
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// The database could not do it; the cause is for the log only.
    #[error("storage failure: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub(crate) type R<T> = Result<T, StoreError>;

/// Storage, as the use-cases see it: every aggregate's trait.
pub trait Store:
    UserStore
    + OrgStore
    + InviteStore
    + SessionStore
    + TokenStore
    + ThrottleStore
    + SsoStore
    + LifecycleStore
    + MailStore
    + InvitationStore
    + AuditStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: UserStore
        + OrgStore
        + InviteStore
        + SessionStore
        + TokenStore
        + ThrottleStore
        + SsoStore
        + LifecycleStore
        + MailStore
        + InvitationStore
        + AuditStore
        + Send
        + Sync
        + 'static
{
}
