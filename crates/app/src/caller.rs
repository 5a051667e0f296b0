//! Who is calling, as the use-cases see it: a signed-in user and their
//! standing in their active organization.

use orgs::Role;

use crate::error::AppError;
use crate::services::Services;
use crate::store::{Store, UserRecord};

/// A signed-in user with their standing in their active organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: UserRecord,
    /// The active organization and the role in it, when the membership is current.
    pub membership: Option<(i64, Role)>,
    /// The active organization's title and owner, when the authentication
    /// already read them ([`Services::org_meta`]'s answer).
    pub org_meta: Option<OrgMeta>,
}

impl Caller {
    /// The active organization and the role in it; a user whose membership
    /// was removed sees it as not found.
    pub fn active(&self) -> Result<(i64, Role), AppError> {
        self.membership.ok_or(AppError::NotFound("Organization"))
    }
}

/// What Label Studio shows of a user's active organization
/// (`active_organization_meta`): empty strings when unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgMeta {
    pub title: String,
    pub owner_email: String,
}

/// On whose behalf a use-case that both the operator and members run acts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Acting<'a> {
    /// The machine's operator, through `ls-admin` or the first-run flags:
    /// acts in the first organization.
    Operator,
    /// A signed-in user, in their active organization.
    Member(&'a Caller),
}

impl<S: Store> Services<S> {
    /// The caller a session's user is, with their standing.
    pub async fn caller(&self, user: UserRecord) -> Result<Caller, AppError> {
        let membership = match user.active_organization {
            Some(org) => self
                .store
                .membership(user.id, org)
                .await?
                .filter(|m| m.removed_at.is_none())
                .map(|m| (org, m.role)),
            None => None,
        };
        Ok(Caller {
            user,
            membership,
            org_meta: None,
        })
    }

    /// The title and owner email of an organization, empty when unknown.
    pub async fn org_meta(&self, org_id: Option<i64>) -> Result<OrgMeta, AppError> {
        let Some(org) = (match org_id {
            Some(id) => self.store.organization(id).await?,
            None => None,
        }) else {
            return Ok(OrgMeta::default());
        };
        let owner = match org.created_by {
            Some(id) => self
                .store
                .user_by_id(id)
                .await?
                .map(|u| u.email.as_str().to_owned()),
            None => None,
        };
        Ok(OrgMeta {
            title: org.title,
            owner_email: owner.unwrap_or_default(),
        })
    }
}
