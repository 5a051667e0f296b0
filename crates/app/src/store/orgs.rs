//! Organizations and their memberships.

use std::future::Future;

use accounts::{Email, SecretDigest};
use invites::InviteState;
use orgs::{OrgTitle, Role, TokenSettings};

use super::R;
use super::users::UserRecord;

/// Where a member list read in chunks goes on from: the order, and the
/// last row read (`None`: from the start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberCursor {
    /// By username, then user id.
    ByUsername(Option<(String, i64)>),
    /// By user id.
    ById(Option<i64>),
}

impl MemberCursor {
    /// The cursor after `user`, in this order.
    pub fn advance(&mut self, user: &UserRecord) {
        match self {
            Self::ByUsername(at) => *at = Some((user.username.clone(), user.id)),
            Self::ById(at) => *at = Some(user.id),
        }
    }

    /// Whether the cursor comes before `user` in its order.
    pub fn precedes(&self, user: &UserRecord) -> bool {
        match self {
            Self::ByUsername(None) | Self::ById(None) => true,
            Self::ByUsername(Some((name, id))) => {
                (user.username.as_str(), user.id) > (name.as_str(), *id)
            }
            Self::ById(Some(id)) => user.id > *id,
        }
    }
}

/// An organization's current members read in chunks inside one snapshot
/// (a read transaction on the database): see [`OrgStore::member_scan`].
pub trait MemberScan: Send + 'static {
    /// The next at most `limit` members with their users, in the scan's
    /// order; fewer (or none) at the end.
    fn next_members(
        &mut self,
        limit: usize,
    ) -> impl Future<Output = R<Vec<(MembershipRecord, UserRecord)>>> + Send;
    /// The next at most `limit` members' user ids (a scan by id).
    fn next_ids(&mut self, limit: usize) -> impl Future<Output = R<Vec<i64>>> + Send;
}

/// Validated token settings to change; `None` leaves one as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenSettingsChange {
    pub api_tokens_enabled: Option<bool>,
    pub legacy_api_tokens_enabled: Option<bool>,
    pub api_token_ttl_days: Option<u32>,
}

impl TokenSettingsChange {
    /// The settings after the change.
    pub fn apply(self, mut to: TokenSettings) -> TokenSettings {
        if let Some(b) = self.api_tokens_enabled {
            to.api_tokens_enabled = b;
        }
        if let Some(b) = self.legacy_api_tokens_enabled {
            to.legacy_api_tokens_enabled = b;
        }
        if let Some(d) = self.api_token_ttl_days {
            to.api_token_ttl_days = d;
        }
        to
    }
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRecord {
    pub id: i64,
    pub user_id: i64,
    pub organization_id: i64,
    pub role: Role,
    pub created_at: i64,
    pub removed_at: Option<i64>,
}

pub trait OrgStore {
    /// What [`OrgStore::member_scan`] returns.
    type Scan: MemberScan;

    fn organization(&self, id: i64) -> impl Future<Output = R<Option<OrgRecord>>> + Send;
    fn first_organization(&self) -> impl Future<Output = R<Option<OrgRecord>>> + Send;
    /// Organizations the user is a current member of, by id.
    fn organizations_of(&self, user_id: i64) -> impl Future<Output = R<Vec<OrgRecord>>> + Send;
    /// A new organization with `owner` as its owner, in one transaction.
    fn create_organization(
        &self,
        owner: i64,
        title: OrgTitle,
        invite: InviteState,
        invite_digest: SecretDigest,
        now: i64,
    ) -> impl Future<Output = R<OrgRecord>> + Send;
    fn update_organization(
        &self,
        org_id: i64,
        title: Option<OrgTitle>,
        contact_info: Option<Option<Email>>,
        now: i64,
    ) -> impl Future<Output = R<OrgRecord>> + Send;
    /// Applies the change to the settings as read inside the write
    /// transaction, so two changes of different settings both hold.
    fn set_token_settings(
        &self,
        org_id: i64,
        change: TokenSettingsChange,
        now: i64,
    ) -> impl Future<Output = R<OrgRecord>> + Send;

    /// The membership of `user_id` in `org_id`, current or removed.
    fn membership(
        &self,
        user_id: i64,
        org_id: i64,
    ) -> impl Future<Output = R<Option<MembershipRecord>>> + Send;
    /// How many current members `org_id` has; `None` for an unknown organization.
    fn member_count(&self, org_id: i64) -> impl Future<Output = R<Option<usize>>> + Send;
    /// The current members of an organization ordered by username then
    /// user id: how many there are, and at most `limit` rows from `offset` on.
    fn member_page(
        &self,
        org_id: i64,
        offset: usize,
        limit: usize,
    ) -> impl Future<Output = R<(usize, Vec<(MembershipRecord, UserRecord)>)>> + Send;
    /// A read of `org_id`'s current members in chunks, from `from` in its
    /// order, in one snapshot: every chunk sees the database as the first
    /// did, and the count is the snapshot's. `None` for an unknown organization.
    fn member_scan(
        &self,
        org_id: i64,
        from: MemberCursor,
    ) -> impl Future<Output = R<Option<(usize, Self::Scan)>>> + Send;
    /// Changes a current member's role; `NotFound` when there is no current membership.
    fn set_role(&self, user_id: i64, org_id: i64, role: Role)
    -> impl Future<Output = R<()>> + Send;
    /// Soft removal: the membership row stays, marked removed. `NotFound`
    /// when there is no current membership.
    fn remove_membership(
        &self,
        user_id: i64,
        org_id: i64,
        now: i64,
    ) -> impl Future<Output = R<()>> + Send;
}
