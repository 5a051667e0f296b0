//! API credentials: the legacy key (one per user, stored as a digest) and
//! personal access tokens (stored by `jti`, never the token).

use std::future::Future;

use accounts::SecretDigest;

use super::R;
use super::orgs::{MembershipRecord, OrgRecord};
use super::users::UserRecord;

/// What storage reads, in one query, for a request authenticated by an API
/// credential: the user, their membership in their active organization
/// (current or removed), that organization, and the email of its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerRecord {
    pub user: UserRecord,
    pub membership: Option<MembershipRecord>,
    pub organization: Option<OrgRecord>,
    pub owner_email: Option<String>,
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
    /// When an access token was last made from it.
    pub last_used_at: Option<i64>,
}

impl PersonalTokenRecord {
    pub fn is_live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

pub trait TokenStore {
    /// The caller whose API token has `digest`.
    fn caller_by_token(
        &self,
        digest: &SecretDigest,
    ) -> impl Future<Output = R<Option<CallerRecord>>> + Send;
    /// Replaces the user's API token digest; the old token fails at once.
    fn replace_token(
        &self,
        user_id: i64,
        digest: SecretDigest,
        now: i64,
    ) -> impl Future<Output = R<()>> + Send;

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
    /// A personal access token imported from Label Studio, by the digest
    /// of the whole token (`Services::legacy_refresh_digest`).
    fn personal_token_by_legacy_digest(
        &self,
        digest: &SecretDigest,
    ) -> impl Future<Output = R<Option<PersonalTokenRecord>>> + Send;
    /// The caller whose live personal token `jti` is, when it is
    /// `user_id`'s ([`TokenStore::caller_by_token`]'s record): one query,
    /// made on every request authenticated by an access token.
    fn caller_by_personal_token(
        &self,
        jti: &str,
        user_id: i64,
        now: i64,
    ) -> impl Future<Output = R<Option<CallerRecord>>> + Send;
    /// Records that an access token was made from `jti` at `now`, unless
    /// one was recorded after `unless_after` (so refreshes write at most
    /// that often).
    fn mark_personal_token_used(
        &self,
        jti: &str,
        now: i64,
        unless_after: i64,
    ) -> impl Future<Output = R<()>> + Send;
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
}
