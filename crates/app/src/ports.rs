//! What the use-cases need from storage. `infra` implements it with sea-orm
//! on SQLite and PostgreSQL. Every method that writes more than one row is
//! one transaction in the implementation.

use std::future::Future;

use accounts::{Email, PasswordHashString, SecretDigest, Username};
use invites::InviteState;
use orgs::{OrgTitle, Role, TokenSettings};
use thiserror::Error;

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
    /// The stored data breaks an invariant (a bad role string, say).
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// The database could not do it; the cause is for the log only.
    #[error("storage failure: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

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

/// What a request authenticated by an API credential needs, read in one
/// query: the user, their membership in their active organization (current
/// or removed), that organization, and the email of its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerContext {
    pub user: UserRecord,
    pub membership: Option<MembershipRecord>,
    pub organization: Option<OrgRecord>,
    pub owner_email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgRecord {
    pub id: i64,
    pub title: String,
    pub contact_info: Option<String>,
    pub created_by: Option<i64>,
    pub invite: InviteState,
    pub tokens: TokenSettings,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A personal access token (JWT refresh token) as stored: its `jti`, never
/// the token. Times in microseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalTokenRecord {
    pub jti: String,
    pub user_id: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

impl PersonalTokenRecord {
    pub fn is_live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRecord {
    pub id: i64,
    pub user_id: i64,
    pub organization_id: i64,
    pub role: Role,
    pub created_at: i64,
    pub removed_at: Option<i64>,
}

/// Where a new account goes.
#[derive(Debug, Clone)]
pub enum AccountPlacement {
    /// Join this organization with this role.
    Join { organization_id: i64, role: Role },
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
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedAccount {
    pub user: UserRecord,
    pub organization_id: i64,
    pub role: Role,
    pub created_organization: bool,
}

/// A session to record, and what its start ends: the browser's previous
/// session, and the throttle counter a successful login forgets.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub digest: SecretDigest,
    pub user_id: i64,
    pub now: i64,
    pub expires_at: i64,
    pub replaces: Option<SecretDigest>,
    pub forgets: Option<String>,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteLookup {
    Current(i64),
    Retired,
    Unknown,
}

type R<T> = Result<T, StoreError>;

/// Storage, as the use-cases see it.
pub trait Store: Send + Sync + 'static {
    /// User, membership (and organization, per placement) and API token, in
    /// one transaction. `EmailTaken` when the email is in use, even under a race.
    fn create_account(&self, new: NewAccount) -> impl Future<Output = R<CreatedAccount>> + Send;

    fn user_by_email(&self, email: &Email) -> impl Future<Output = R<Option<UserRecord>>> + Send;
    fn user_by_id(&self, id: i64) -> impl Future<Output = R<Option<UserRecord>>> + Send;
    /// The caller whose API token has `digest`, with their organization context.
    fn caller_by_token(
        &self,
        digest: &SecretDigest,
    ) -> impl Future<Output = R<Option<CallerContext>>> + Send;
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
    /// Deactivation also ends every session of the user.
    fn set_active(
        &self,
        user_id: i64,
        active: bool,
        now: i64,
    ) -> impl Future<Output = R<()>> + Send;
    /// Replaces the user's API token digest; the old token fails at once.
    fn replace_token(
        &self,
        user_id: i64,
        digest: SecretDigest,
        now: i64,
    ) -> impl Future<Output = R<()>> + Send;

    fn organization(&self, id: i64) -> impl Future<Output = R<Option<OrgRecord>>> + Send;
    fn first_organization(&self) -> impl Future<Output = R<Option<OrgRecord>>> + Send;
    fn membership(
        &self,
        user_id: i64,
        org_id: i64,
    ) -> impl Future<Output = R<Option<MembershipRecord>>> + Send;
    fn find_invite(&self, digest: &SecretDigest) -> impl Future<Output = R<InviteLookup>> + Send;
    /// Moves the organization's invite to `new_state`; the old digest is
    /// retired in the same transaction.
    fn rotate_invite(
        &self,
        org_id: i64,
        new_state: InviteState,
        new_digest: SecretDigest,
        now: i64,
    ) -> impl Future<Output = R<OrgRecord>> + Send;

    /// The current members of an organization with their users, by user id.
    fn org_members(
        &self,
        org_id: i64,
    ) -> impl Future<Output = R<Vec<(MembershipRecord, UserRecord)>>> + Send;
    /// The current members of an organization ordered by username then
    /// user id: how many there are, and the rows from `offset` on, at most
    /// `limit` of them (`None`: all).
    fn member_page(
        &self,
        org_id: i64,
        offset: usize,
        limit: Option<usize>,
    ) -> impl Future<Output = R<(usize, Vec<(MembershipRecord, UserRecord)>)>> + Send;
    /// Organizations the user is a current member of, by id.
    fn organizations_of(&self, user_id: i64) -> impl Future<Output = R<Vec<OrgRecord>>> + Send;
    /// Applies the changes in one statement; `NotFound` for an unknown user.
    fn update_user(
        &self,
        user_id: i64,
        changes: UserChanges,
        now: i64,
    ) -> impl Future<Output = R<UserRecord>> + Send;
    /// Deletes the account with its token, sessions and memberships.
    fn delete_user(&self, user_id: i64) -> impl Future<Output = R<()>> + Send;
    /// Soft removal: the membership row stays, marked removed. `NotFound`
    /// when there is no current membership.
    fn remove_membership(
        &self,
        user_id: i64,
        org_id: i64,
        now: i64,
    ) -> impl Future<Output = R<()>> + Send;
    /// A new organization with `owner` as its owner, in one transaction.
    fn create_organization(
        &self,
        owner: i64,
        title: OrgTitle,
        invite: InviteState,
        invite_digest: SecretDigest,
        now: i64,
    ) -> impl Future<Output = R<OrgRecord>> + Send;
    /// Changes a current member's role; `NotFound` when there is no current membership.
    fn set_role(&self, user_id: i64, org_id: i64, role: Role)
    -> impl Future<Output = R<()>> + Send;
    fn update_organization(
        &self,
        org_id: i64,
        title: Option<OrgTitle>,
        contact_info: Option<Option<Email>>,
        now: i64,
    ) -> impl Future<Output = R<OrgRecord>> + Send;

    /// Server-side sessions: only the digest of the session id is stored.
    /// One transaction with what the new session ends.
    fn create_session(&self, session: NewSession) -> impl Future<Output = R<()>> + Send;
    /// The user of a live session: not expired at `now`, last seen after
    /// `idle_cutoff`, user active. A session last seen before `touch_before`
    /// has its last-seen time moved to `now`.
    fn session_user(
        &self,
        digest: &SecretDigest,
        now: i64,
        idle_cutoff: i64,
        touch_before: i64,
    ) -> impl Future<Output = R<Option<UserRecord>>> + Send;
    fn delete_session(&self, digest: &SecretDigest) -> impl Future<Output = R<()>> + Send;

    /// Records a new personal access token; `Conflict` when the user already
    /// has a live one (decided inside the transaction, so two racing
    /// requests cannot both succeed).
    fn create_personal_token(
        &self,
        token: PersonalTokenRecord,
        now: i64,
    ) -> impl Future<Output = R<()>> + Send;
    /// The user's live personal access tokens, oldest first.
    fn personal_tokens(
        &self,
        user_id: i64,
        now: i64,
    ) -> impl Future<Output = R<Vec<PersonalTokenRecord>>> + Send;
    fn personal_token(
        &self,
        jti: &str,
    ) -> impl Future<Output = R<Option<PersonalTokenRecord>>> + Send;
    /// The caller whose live personal token `jti` is, when it is
    /// `user_id`'s, with their organization context ([`Store::caller_by_token`]):
    /// one query, made on every request authenticated by an access token.
    fn caller_by_personal_token(
        &self,
        jti: &str,
        user_id: i64,
        now: i64,
    ) -> impl Future<Output = R<Option<CallerContext>>> + Send;
    /// Revokes a live token; `false` when it was not live (already revoked, expired, unknown).
    fn revoke_personal_token(&self, jti: &str, now: i64) -> impl Future<Output = R<bool>> + Send;
    /// Revokes `old_jti` and records `new` in one transaction; `false` (and
    /// nothing written) when `old_jti` was not live.
    fn rotate_personal_token(
        &self,
        old_jti: &str,
        new: PersonalTokenRecord,
        now: i64,
    ) -> impl Future<Output = R<bool>> + Send;
    fn set_token_settings(
        &self,
        org_id: i64,
        settings: TokenSettings,
        now: i64,
    ) -> impl Future<Output = R<OrgRecord>> + Send;
    /// Counts one attempt against every key at once, in one transaction
    /// (shared by all instances): `Err(until)` and nothing counted when any
    /// key is locked (`until` in seconds, the latest of them).
    fn throttle_admit(
        &self,
        keys: Vec<(String, accounts::throttle::Limit)>,
        now_secs: i64,
    ) -> impl Future<Output = R<Result<(), i64>>> + Send;
    /// Forgets a key (a successful login, `ls-admin user unlock`); `true` if it was there.
    fn throttle_clear(&self, key: &str) -> impl Future<Output = R<bool>> + Send;

    /// Stores validated hotkeys (`accounts::Hotkeys::to_stored`).
    fn set_hotkeys(
        &self,
        user_id: i64,
        stored: String,
        now: i64,
    ) -> impl Future<Output = R<UserRecord>> + Send;
}
