//! The organization as its members see it over the API: listing, viewing
//! and editing users and memberships, with the role rules applied.

use accounts::{Email, Username};
use orgs::{Action, OrgTitle, Role};

use crate::{
    Actor, AppError, MembershipRecord, OrgRecord, Services, Store, StoreError, UserChanges,
    UserRecord,
};

/// Longest first name, last name or phone number (Label Studio's columns).
const MAX_PROFILE_CHARS: usize = 256;

/// A signed-in user with their standing in their active organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: UserRecord,
    /// The active organization and the role in it, when the membership is current.
    pub membership: Option<(i64, Role)>,
    /// The active organization's title and owner email, when the
    /// authentication already read them ([`Services::org_meta`]'s answer).
    pub org_meta: Option<(String, String)>,
}

impl Caller {
    /// Acting in the active organization; a user whose membership was
    /// removed sees it as not found.
    pub fn actor(&self) -> Result<Actor, AppError> {
        let (organization_id, role) = self.active()?;
        Ok(Actor::Member {
            user_id: self.user.id,
            organization_id,
            role,
        })
    }

    /// The active organization and the role in it.
    pub fn active(&self) -> Result<(i64, Role), AppError> {
        self.membership.ok_or(AppError::NotFound("Organization"))
    }
}

/// A PATCH to a user, as received.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub phone: Option<String>,
    pub allow_newsletters: Option<bool>,
    pub active_organization: Option<i64>,
}

/// A page of members.
#[derive(Debug, Clone)]
pub struct MemberPage {
    pub count: usize,
    pub members: Vec<(MembershipRecord, UserRecord)>,
}

fn profile_field(
    name: &'static str,
    value: Option<String>,
    errors: &mut Vec<(&'static str, String)>,
) -> Option<String> {
    let v = value?;
    if v.chars().count() > MAX_PROFILE_CHARS || v.chars().any(char::is_control) {
        errors.push((name, format!("Ensure this field has no more than {MAX_PROFILE_CHARS} characters and no control characters.")));
        return None;
    }
    Some(v)
}

impl<S: Store> Services<S> {
    pub async fn caller(&self, user: UserRecord) -> Result<Caller, AppError> {
        let membership = match user.active_organization {
            Some(org) => self
                .store()
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

    /// The current (not removed) membership of `user_id` in `org_id`.
    async fn current_membership(
        &self,
        user_id: i64,
        org_id: i64,
    ) -> Result<Option<MembershipRecord>, AppError> {
        Ok(self
            .store()
            .membership(user_id, org_id)
            .await?
            .filter(|m| m.removed_at.is_none()))
    }

    /// The caller's role in `org_id`; not a current member → not found.
    async fn role_in(&self, user_id: i64, org_id: i64) -> Result<Role, AppError> {
        self.current_membership(user_id, org_id)
            .await?
            .map(|m| m.role)
            .ok_or(AppError::NotFound("Organization"))
    }

    /// Not a current member of `org_id`: not found; may not do `action`: forbidden.
    pub async fn require_in(
        &self,
        user: &UserRecord,
        org_id: i64,
        action: Action,
    ) -> Result<(), AppError> {
        let role = self.role_in(user.id, org_id).await?;
        self.require(role, action)
    }

    fn require(&self, role: Role, action: Action) -> Result<(), AppError> {
        if self.config().role_policy.may(role, action) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Current members of the caller's active organization, by user id.
    pub async fn members(
        &self,
        caller: &Caller,
    ) -> Result<Vec<(MembershipRecord, UserRecord)>, AppError> {
        let (organization_id, role) = caller.active()?;
        self.require(role, Action::ViewMembers)?;
        Ok(self.store().org_members(organization_id).await?)
    }

    /// A member of the caller's active organization.
    pub async fn member(
        &self,
        caller: &Caller,
        user_id: i64,
    ) -> Result<(MembershipRecord, UserRecord), AppError> {
        self.members(caller)
            .await?
            .into_iter()
            .find(|(_, u)| u.id == user_id)
            .ok_or(AppError::NotFound("User"))
    }

    /// Users edit themselves; owner and administrators edit members. The
    /// whole patch is validated before anything is saved.
    pub async fn update_user(
        &self,
        caller: &Caller,
        user_id: i64,
        patch: UserPatch,
    ) -> Result<UserRecord, AppError> {
        let target = if user_id == caller.user.id {
            caller.user.clone()
        } else {
            let (_, target) = self.member(caller, user_id).await?;
            let (_, role) = caller.active()?;
            if !role.is_manager() {
                return Err(AppError::Forbidden);
            }
            target
        };
        let mut errors = Vec::new();
        let username = match patch.username.as_deref().map(Username::parse) {
            Some(Ok(u)) => Some(u),
            Some(Err(e)) => {
                errors.push(("username", e.to_string()));
                None
            }
            None => None,
        };
        let changes = UserChanges {
            first_name: profile_field("first_name", patch.first_name, &mut errors),
            last_name: profile_field("last_name", patch.last_name, &mut errors),
            phone: profile_field("phone", patch.phone, &mut errors),
            username,
            allow_newsletters: patch.allow_newsletters,
            active_organization: patch.active_organization,
        };
        if let Some(org) = changes.active_organization {
            let member = self
                .store()
                .membership(target.id, org)
                .await?
                .is_some_and(|m| m.removed_at.is_none());
            if !member {
                errors.push((
                    "active_organization",
                    "The user is not a member of this organization.".into(),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        if changes.is_empty() {
            return Ok(target);
        }
        Ok(self
            .store()
            .update_user(target.id, changes, self.now_micros())
            .await?)
    }

    /// Deletes a member's account. The owner cannot be deleted; only the
    /// owner or an administrator of this organization deletes.
    pub async fn delete_user(&self, caller: &Caller, user_id: i64) -> Result<(), AppError> {
        let (membership, target) = self.member(caller, user_id).await?;
        let (_, role) = caller.active()?;
        if membership.role == Role::Owner {
            return Err(AppError::OwnerUndeletable);
        }
        if !self.config().role_policy.may(role, Action::DeleteUser) {
            return Err(AppError::OnlyOwnerDeletes);
        }
        self.store().delete_user(target.id).await?;
        tracing::info!(user_id = target.id, by = caller.user.id, "user deleted");
        Ok(())
    }

    /// Organizations the user currently belongs to.
    pub async fn organizations(&self, user: &UserRecord) -> Result<Vec<OrgRecord>, AppError> {
        Ok(self.store().organizations_of(user.id).await?)
    }

    /// An organization, for its members: the record, its member ids, and
    /// whether the caller may see the invite token.
    pub async fn organization(
        &self,
        user: &UserRecord,
        org_id: i64,
    ) -> Result<(OrgRecord, Vec<i64>, bool), AppError> {
        let role = self.role_in(user.id, org_id).await?;
        let org = self
            .store()
            .organization(org_id)
            .await?
            .ok_or(AppError::NotFound("Organization"))?;
        let ids = self
            .store()
            .org_members(org_id)
            .await?
            .into_iter()
            .map(|(m, _)| m.user_id)
            .collect();
        Ok((
            org,
            ids,
            self.config().role_policy.may(role, Action::ViewInviteLink),
        ))
    }

    /// Title and contact email, by the owner or an administrator.
    pub async fn update_organization(
        &self,
        user: &UserRecord,
        org_id: i64,
        title: Option<String>,
        contact_info: Option<Option<String>>,
    ) -> Result<OrgRecord, AppError> {
        let role = self.role_in(user.id, org_id).await?;
        self.require(role, Action::EditOrganization)?;
        let mut errors = Vec::new();
        let title = match title.as_deref().map(OrgTitle::parse) {
            Some(Ok(t)) => Some(t),
            Some(Err(e)) => {
                errors.push(("title", e.to_string()));
                None
            }
            None => None,
        };
        let contact = match contact_info {
            None => None,
            Some(None) => Some(None),
            Some(Some(s)) if s.trim().is_empty() => Some(None),
            Some(Some(s)) => match Email::parse(&s) {
                Ok(e) => Some(Some(e)),
                Err(e) => {
                    errors.push(("contact_info", e.to_string()));
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(self
            .store()
            .update_organization(org_id, title, contact, self.now_micros())
            .await?)
    }

    /// A page of current members, ordered by username then id. `page_size`
    /// `None` means all.
    pub async fn membership_page(
        &self,
        user: &UserRecord,
        org_id: i64,
        page: usize,
        page_size: Option<usize>,
    ) -> Result<MemberPage, AppError> {
        let role = self.role_in(user.id, org_id).await?;
        self.require(role, Action::ViewMembers)?;
        if page == 0 {
            return Err(AppError::InvalidPage);
        }
        let start = match page_size {
            None => 0,
            Some(size) => page.saturating_sub(1).saturating_mul(size),
        };
        let (count, members) = self.store().member_page(org_id, start, page_size).await?;
        if page_size.is_some() && start >= count && !(page == 1 && count == 0) {
            return Err(AppError::InvalidPage);
        }
        Ok(MemberPage { count, members })
    }

    pub async fn membership(
        &self,
        user: &UserRecord,
        org_id: i64,
        member_id: i64,
    ) -> Result<(MembershipRecord, UserRecord), AppError> {
        let role = self.role_in(user.id, org_id).await?;
        self.require(role, Action::ViewMembers)?;
        let member = self
            .current_membership(member_id, org_id)
            .await?
            .ok_or(AppError::MemberNotFound)?;
        let user = self
            .store()
            .user_by_id(member_id)
            .await?
            .ok_or(AppError::MemberNotFound)?;
        Ok((member, user))
    }

    /// Owner and administrators make a member an administrator or back.
    /// Nobody changes their own role or the owner's, and there is one owner.
    pub async fn change_role(
        &self,
        user: &UserRecord,
        org_id: i64,
        member_id: i64,
        role: Role,
    ) -> Result<MembershipRecord, AppError> {
        let actor_role = self.role_in(user.id, org_id).await?;
        self.require(actor_role, Action::ChangeRole)?;
        if role == Role::Owner {
            return Err(AppError::OneOwner);
        }
        let target = self
            .current_membership(member_id, org_id)
            .await?
            .ok_or(AppError::MemberNotFound)?;
        if member_id == user.id || target.role == Role::Owner {
            return Err(AppError::Forbidden);
        }
        match self.store().set_role(member_id, org_id, role).await {
            Ok(()) => {}
            Err(StoreError::NotFound(_)) => return Err(AppError::MemberNotFound),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(user_id = member_id, organization_id = org_id, %role, by = user.id, "role changed");
        Ok(MembershipRecord { role, ..target })
    }

    /// Soft removal: the row stays for history; the user keeps their account
    /// but loses the organization at once.
    pub async fn remove_member(
        &self,
        user: &UserRecord,
        org_id: i64,
        member_id: i64,
    ) -> Result<(), AppError> {
        let role = self.role_in(user.id, org_id).await?;
        if member_id == user.id {
            return Err(AppError::CannotRemoveSelf);
        }
        self.require(role, Action::RemoveMember)?;
        let target = self
            .current_membership(member_id, org_id)
            .await?
            .ok_or(AppError::MemberNotFound)?;
        if target.role == Role::Owner {
            return Err(AppError::Forbidden);
        }
        match self
            .store()
            .remove_membership(member_id, org_id, self.now_micros())
            .await
        {
            Ok(()) => {}
            Err(StoreError::NotFound(_)) => return Err(AppError::MemberNotFound),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(
            user_id = member_id,
            organization_id = org_id,
            by = user.id,
            "member removed"
        );
        Ok(())
    }
}

impl<S: Store> Services<S> {
    /// `(title, owner email)` of an organization, empty strings when unknown:
    /// what Label Studio shows as `active_organization_meta`.
    pub async fn org_meta(&self, org_id: Option<i64>) -> Result<(String, String), AppError> {
        let Some(org) = (match org_id {
            Some(id) => self.store().organization(id).await?,
            None => None,
        }) else {
            return Ok((String::new(), String::new()));
        };
        let owner = match org.created_by {
            Some(id) => self
                .store()
                .user_by_id(id)
                .await?
                .map(|u| u.email.as_str().to_owned()),
            None => None,
        };
        Ok((org.title, owner.unwrap_or_default()))
    }
}
