//! Moving from Label Studio (`ls-admin import label-studio`): its people,
//! organizations, memberships, API tokens, invite link and personal access
//! tokens, read from its database ([`LegacySource`], in `infra`) and
//! written through the storage layer's transactions ([`ImportStore`]), so a
//! server already running on the target serves them at once.
//!
//! Hashes and tokens are carried, never recomputed: passwords keep Django's
//! hash (upgraded at the first login), API tokens and the invite token are
//! stored as our keyed digests, and personal access tokens as the digest of
//! the whole token, which needs Label Studio's `SECRET_KEY` once, here.
//!
//! The import is idempotent: people already in the target (by id when ids
//! are kept, by email with `--merge`) are left exactly as they are, so a
//! second run, or a run after an interrupted one, adds only what is missing.

mod plan;
mod run;

use std::collections::HashMap;
use std::future::Future;

use accounts::{Email, PasswordHashString, SecretDigest};
use invites::InviteState;
use orgs::{Role, TokenSettings};
use serde::Serialize;
use thiserror::Error;

use crate::SecretString;
use crate::store::StoreError;

pub use plan::secret_key_from_env_file;

/// Users read and written per transaction: with the release build, 100,010
/// users took 3.6–3.8 s at 5,000 where 1,000 took 4.6–5.4 s (BENCHMARKS.md).
pub const BATCH: usize = 5000;

/// An organization as Label Studio stored it. Times in microseconds.
#[derive(Debug, Clone)]
pub struct LegacyOrganization {
    pub id: i64,
    pub title: String,
    pub contact_info: Option<String>,
    pub created_by: Option<i64>,
    /// `organization.token`: its invite link's token.
    pub invite_token: Option<SecretString>,
    pub created_at: i64,
    pub updated_at: i64,
    /// `jwt_auth_jwtsettings`, when it has a row.
    pub tokens: Option<TokenSettings>,
}

#[derive(Debug, Clone)]
pub struct LegacyMembership {
    pub organization_id: i64,
    pub created_at: i64,
    /// `deleted_at`: removed from the organization.
    pub removed_at: Option<i64>,
}

/// A personal access token: Label Studio keeps `header.payload` (the
/// signature stripped) in `token_blacklist_outstandingtoken`.
#[derive(Debug, Clone)]
pub struct LegacyPersonalToken {
    pub jti: String,
    pub token: SecretString,
    pub created_at: i64,
    pub expires_at: i64,
    pub blacklisted_at: Option<i64>,
}

/// A person as Label Studio stored them, with what hangs off them.
#[derive(Debug, Clone)]
pub struct LegacyUser {
    pub id: i64,
    pub email: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    /// Django's password field, as stored.
    pub password: SecretString,
    pub is_active: bool,
    pub date_joined: i64,
    pub last_activity: Option<i64>,
    pub allow_newsletters: bool,
    /// JSON, or `None` (SQL NULL).
    pub custom_hotkeys: Option<String>,
    pub active_organization: Option<i64>,
    pub memberships: Vec<LegacyMembership>,
    /// `authtoken_token.key` (plain text there) and when it was made.
    pub api_token: Option<(SecretString, i64)>,
    pub personal_tokens: Vec<LegacyPersonalToken>,
}

/// Errors of reading the source, as the source's driver told them.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SourceError {
    #[error("cannot read Label Studio's database: {0}")]
    Read(String),
    #[error("this is not a Label Studio database: {0}")]
    NotLabelStudio(String),
}

/// Label Studio's database, read in keyset order.
pub trait LegacySource {
    fn organizations(
        &self,
    ) -> impl Future<Output = Result<Vec<LegacyOrganization>, SourceError>> + Send;
    fn user_count(&self) -> impl Future<Output = Result<u64, SourceError>> + Send;
    /// The highest user id (0 when there is none).
    fn max_user_id(&self) -> impl Future<Output = Result<i64, SourceError>> + Send;
    /// Up to `limit` users with ids above `after`, by id.
    fn users_after(
        &self,
        after: i64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<LegacyUser>, SourceError>> + Send;
    /// The stored email of each of these user ids that exists.
    fn emails_of(
        &self,
        ids: &[i64],
    ) -> impl Future<Output = Result<HashMap<i64, String>, SourceError>> + Send;
}

/// An organization as the import writes it.
#[derive(Debug, Clone)]
pub struct ImportedOrganization {
    /// Label Studio's id (kept), or `None` for a new one.
    pub id: Option<i64>,
    pub title: String,
    pub contact_info: Option<String>,
    pub created_by: Option<i64>,
    pub invite: InviteState,
    pub invite_digest: SecretDigest,
    pub legacy_invite_digest: Option<SecretDigest>,
    pub tokens: TokenSettings,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct ImportedMembership {
    pub organization_id: i64,
    pub role: Role,
    pub created_at: i64,
    pub removed_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct ImportedPersonalToken {
    pub jti: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub legacy_digest: SecretDigest,
}

/// A person as the import writes them.
#[derive(Debug, Clone)]
pub struct ImportedUser {
    /// Label Studio's id (kept), or `None` for a new one (`--merge`).
    pub id: Option<i64>,
    pub email: Email,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub password_hash: Option<PasswordHashString>,
    pub is_active: bool,
    pub date_joined: i64,
    pub last_activity: Option<i64>,
    pub allow_newsletters: bool,
    pub custom_hotkeys: String,
    pub active_organization: Option<i64>,
    pub memberships: Vec<ImportedMembership>,
    pub api_token: Option<(SecretDigest, i64)>,
    pub personal_tokens: Vec<ImportedPersonalToken>,
}

/// What the import needs from the target beyond [`crate::Store`].
pub trait ImportStore {
    /// How many users and organizations the target holds.
    fn census(&self) -> impl Future<Output = Result<(u64, u64), StoreError>> + Send;
    /// Up to `limit` of the target's users (id, email) with ids above `after`.
    fn users_after(
        &self,
        after: i64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(i64, String)>, StoreError>> + Send;
    /// The target's organization ids, ascending.
    fn organization_ids(&self) -> impl Future<Output = Result<Vec<i64>, StoreError>> + Send;
    /// Which of these emails the target holds, with their user ids.
    fn ids_by_email(
        &self,
        emails: &[String],
    ) -> impl Future<Output = Result<HashMap<String, i64>, StoreError>> + Send;
    /// New accounts will get ids above `users` and organizations above
    /// `organizations` (so a sign-up while ids are kept takes none of them).
    fn reserve_ids(
        &self,
        users: i64,
        organizations: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Writes the organization in one transaction; its id.
    fn insert_organization(
        &self,
        org: ImportedOrganization,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;
    /// Sets an organization's Label Studio invite digest where it has none;
    /// `false` when it has another.
    fn adopt_legacy_invite(
        &self,
        organization_id: i64,
        digest: SecretDigest,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Writes the users with their memberships and tokens in one
    /// transaction; the id each got, in order.
    fn insert_users(
        &self,
        users: Vec<ImportedUser>,
    ) -> impl Future<Output = Result<Vec<i64>, StoreError>> + Send;
}

/// How the import runs.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Print what would happen; change nothing.
    pub dry_run: bool,
    /// Into a target that holds other people: match by email, new ids.
    pub merge: bool,
    /// Label Studio's `SECRET_KEY`, to carry personal access tokens over.
    pub secret_key: Option<SecretString>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PasswordCounts {
    pub pbkdf2_sha256: u64,
    pub argon2: u64,
    pub none: u64,
    pub unsupported: u64,
}

/// A row not carried over, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub kind: &'static str,
    pub source_id: String,
    pub reason: String,
}

/// What an import did (or, dry, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub dry_run: bool,
    /// `keep-ids` or `merge`.
    pub mode: &'static str,
    pub source_users: u64,
    pub users_imported: u64,
    /// Already in the target (an earlier run, or matched by email): left as they are.
    pub users_already_present: u64,
    pub organizations_imported: u64,
    pub organizations_already_present: u64,
    pub memberships_imported: u64,
    pub removed_memberships_imported: u64,
    pub api_tokens_imported: u64,
    pub personal_tokens_imported: u64,
    /// Revoked (blacklisted) in Label Studio: imported as revoked.
    pub personal_tokens_revoked: u64,
    /// Whose personal access token must be made again (no `SECRET_KEY`).
    pub personal_tokens_to_recreate: Vec<String>,
    /// Whether Label Studio's invite link keeps working.
    pub invite_link_carried: bool,
    pub passwords: PasswordCounts,
    /// `--merge`: Label Studio's user id and the id here, where they differ.
    pub id_mapping: Vec<(i64, i64)>,
    pub skipped: Vec<Skipped>,
}

/// Why an import stopped.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ImportError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    App(#[from] crate::AppError),
    #[error(
        "the target database already holds {0}, which is not from this Label Studio database: \
         import into an empty deployment to keep ids, or pass --merge to match people by email"
    )]
    TargetNotEmpty(String),
}

impl From<StoreError> for ImportError {
    fn from(e: StoreError) -> Self {
        Self::App(crate::AppError::Store(e))
    }
}

/// Progress of a long import: users done of the total.
pub trait Progress: Send + Sync {
    fn users(&self, done: u64, total: u64);
}

impl<F: Fn(u64, u64) + Send + Sync> Progress for F {
    fn users(&self, done: u64, total: u64) {
        self(done, total);
    }
}
