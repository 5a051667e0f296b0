//! Accounts: users, and the one write that creates an account.

use std::future::Future;

use accounts::{Email, PasswordHashString, SecretDigest, Username};
use invites::InviteState;
use orgs::{OrgTitle, Role};

use super::R;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub email: Email,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub is_active: bool,
    pub password_hash: Option<PasswordHashString>,
    pub active_organization: Option<i64>,
    pub date_joined: i64,
    pub last_activity: Option<i64>,
    pub allow_newsletters: bool,
    /// Validated JSON (`accounts::Hotkeys`), as stored.
    pub custom_hotkeys: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserWithRole {
    pub user: UserRecord,
    /// The role in the active organization, if the membership is current.
    pub role: Option<Role>,
}

/// Where a new account goes.
#[derive(Debug, Clone)]
pub enum AccountPlacement {
    /// Join this organization with this role; with `invite`, only while
    /// that digest is still the organization's current invite (checked in
    /// the account's transaction, so a Reset Link that lands while the
    /// password is being hashed still stops the sign-up).
    Join {
        organization_id: i64,
        role: Role,
        invite: Option<SecretDigest>,
    },
    /// Accept the invitation with this digest (one person's, by email):
    /// join its organization as `role`, the invitation used up in the
    /// account's transaction (`InviteRetired` when it is no longer pending
    /// and live: revoked, used or expired meanwhile).
    Invited {
        organization_id: i64,
        role: Role,
        invitation: SecretDigest,
    },
    /// Join the first organization as `role`; when none exists yet, create
    /// one with this title (the new user its owner). Decided inside the
    /// transaction, so two racing first sign-ups cannot make two.
    JoinFirstOrCreate {
        role: Role,
        title: OrgTitle,
        invite: InviteState,
        invite_digest: SecretDigest,
    },
}

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: Email,
    pub username: Username,
    pub first_name: String,
    pub last_name: String,
    pub password_hash: Option<PasswordHashString>,
    pub token_digest: SecretDigest,
    pub placement: AccountPlacement,
    /// An identity from an OpenID provider, linked in the account's transaction.
    pub identity: Option<super::NewIdentity>,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedAccount {
    pub user: UserRecord,
    pub organization_id: i64,
    pub role: Role,
    pub created_organization: bool,
}

/// Profile fields a PATCH may change; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChanges {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<Username>,
    pub phone: Option<String>,
    pub allow_newsletters: Option<bool>,
    pub active_organization: Option<i64>,
}

impl UserChanges {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

pub trait UserStore {
    /// User, membership (and organization, per placement) and API token, in
    /// one transaction. `EmailTaken` when the email is in use, even under a race.
    fn create_account(&self, new: NewAccount) -> impl Future<Output = R<CreatedAccount>> + Send;

    fn user_by_email(&self, email: &Email) -> impl Future<Output = R<Option<UserRecord>>> + Send;
    fn user_by_id(&self, id: i64) -> impl Future<Output = R<Option<UserRecord>>> + Send;
    /// Every user, by id, with their role in their active organization.
    fn list_users(&self) -> impl Future<Output = R<Vec<UserWithRole>>> + Send;
    fn user_count(&self) -> impl Future<Output = R<u64>> + Send;

    /// Sets the hash and ends every session of the user.
    fn set_password_hash(
        &self,
        user_id: i64,
        hash: PasswordHashString,
        now: i64,
    ) -> impl Future<Output = R<()>> + Send;
    /// Replaces the hash `old` by `new` (a stronger one of the same
    /// password), sessions untouched; `false` when the stored hash is no
    /// longer `old` (the password changed meanwhile).
    fn upgrade_password_hash(
        &self,
        user_id: i64,
        old: &PasswordHashString,
        new: PasswordHashString,
        now: i64,
    ) -> impl Future<Output = R<bool>> + Send;
    /// Deactivation also ends every session of the user.
    fn set_active(
        &self,
        user_id: i64,
        active: bool,
        now: i64,
    ) -> impl Future<Output = R<()>> + Send;
    /// Applies the changes in one statement; `NotFound` for an unknown user.
    fn update_user(
        &self,
        user_id: i64,
        changes: UserChanges,
        now: i64,
    ) -> impl Future<Output = R<UserRecord>> + Send;
    /// Stores validated hotkeys (`accounts::Hotkeys::to_stored`).
    fn set_hotkeys(
        &self,
        user_id: i64,
        stored: String,
        now: i64,
    ) -> impl Future<Output = R<UserRecord>> + Send;
    /// Deletes the account with its token, sessions and memberships.
    fn delete_user(&self, user_id: i64) -> impl Future<Output = R<()>> + Send;
    /// Records an authenticated request at `now`, unless one at or after
    /// `unless_after` is recorded already (so instances sharing the
    /// database write it once between them); `true` if it wrote.
    fn record_activity(
        &self,
        user_id: i64,
        now: i64,
        unless_after: i64,
    ) -> impl Future<Output = R<bool>> + Send;
}
