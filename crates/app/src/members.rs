//! The organization's members as its members see them: listing and paging
//! them, one membership, changing a role, removing a member.

use orgs::{Action, Role};

use crate::caller::Caller;
use crate::error::AppError;
use crate::services::Services;
use crate::store::{MembershipRecord, Store, StoreError, UserRecord};

/// A page of members.
#[derive(Debug, Clone)]
pub struct MemberPage {
    pub count: usize,
    pub members: Vec<(MembershipRecord, UserRecord)>,
}

impl<S: Store> Services<S> {
    /// Current members of the caller's active organization, by user id.
    pub async fn members(
        &self,
        caller: &Caller,
    ) -> Result<Vec<(MembershipRecord, UserRecord)>, AppError> {
        let (organization_id, role) = caller.active()?;
        self.require(role, Action::ViewMembers)?;
        Ok(self.store.org_members(organization_id).await?)
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
        let (count, members) = self.store.member_page(org_id, start, page_size).await?;
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
            .store
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
        match self.store.set_role(member_id, org_id, role).await {
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
            .store
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServicesConfig;
    use crate::testkit::fixture;

    #[tokio::test]
    async fn role_changes_follow_the_rules() {
        let f = &fixture(ServicesConfig::default());
        let owner = f.owner().await;
        let org = owner.active().unwrap().0;
        let admin = f.add("a@example.com", Role::Administrator).await;
        let member = f.add("m@example.com", Role::Member).await;
        let change = |by: &Caller, who: &Caller, role| {
            let (by, who) = (by.user.clone(), who.user.id);
            async move { f.svc.change_role(&by, org, who, role).await }
        };
        let promoted = change(&admin, &member, Role::Administrator).await.unwrap();
        assert_eq!(promoted.role, Role::Administrator);
        let member = f.caller("m@example.com").await;
        assert!(matches!(
            change(&admin, &admin, Role::Member).await,
            Err(AppError::Forbidden)
        ));
        assert!(matches!(
            change(&admin, &owner, Role::Member).await,
            Err(AppError::Forbidden)
        ));
        assert!(matches!(
            change(&admin, &member, Role::Owner).await,
            Err(AppError::OneOwner)
        ));
        change(&owner, &member, Role::Member).await.unwrap();
        let member = f.caller("m@example.com").await;
        assert!(matches!(
            change(&member, &admin, Role::Member).await,
            Err(AppError::Forbidden)
        ));
        assert!(matches!(
            f.svc.change_role(&owner.user, org, 999, Role::Member).await,
            Err(AppError::MemberNotFound)
        ));
    }

    #[tokio::test]
    async fn a_removed_member_loses_the_organization_at_once() {
        let f = &fixture(ServicesConfig::default());
        let owner = f.owner().await;
        let org = owner.active().unwrap().0;
        let admin = f.add("a@example.com", Role::Administrator).await;
        let member = f.add("m@example.com", Role::Member).await;
        let remove = |by: &Caller, who: i64| {
            let by = by.user.clone();
            async move { f.svc.remove_member(&by, org, who).await }
        };
        assert!(matches!(
            remove(&admin, admin.user.id).await,
            Err(AppError::CannotRemoveSelf)
        ));
        assert!(matches!(
            remove(&member, admin.user.id).await,
            Err(AppError::Forbidden)
        ));
        assert!(matches!(
            remove(&admin, owner.user.id).await,
            Err(AppError::Forbidden)
        ));
        remove(&admin, member.user.id).await.unwrap();
        assert!(matches!(
            remove(&admin, member.user.id).await,
            Err(AppError::MemberNotFound)
        ));
        let gone = f.caller("m@example.com").await;
        assert_eq!(gone.membership, None);
        assert!(matches!(
            f.svc.membership_page(&gone.user, org, 1, Some(20)).await,
            Err(AppError::NotFound("Organization"))
        ));
        let page = f
            .svc
            .membership_page(&owner.user, org, 1, None)
            .await
            .unwrap();
        assert_eq!(page.count, 2);
    }

    #[tokio::test]
    async fn pages_are_ordered_by_username_and_bounded() {
        let f = &fixture(ServicesConfig::default());
        let owner = f.owner().await;
        let org = owner.active().unwrap().0;
        for name in ["dora", "bob", "eve", "carl"] {
            f.add(&format!("{name}@example.com"), Role::Member).await;
        }
        let page = |n, size| {
            let user = owner.user.clone();
            async move { f.svc.membership_page(&user, org, n, size).await }
        };
        let names = |p: MemberPage| {
            p.members
                .into_iter()
                .map(|(_, u)| u.username)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(page(1, Some(2)).await.unwrap()), ["bob", "carl"]);
        assert_eq!(names(page(2, Some(2)).await.unwrap()), ["dora", "eve"]);
        let last = page(3, Some(2)).await.unwrap();
        assert_eq!(last.count, 5);
        assert_eq!(names(last), ["owner"]);
        assert!(matches!(page(4, Some(2)).await, Err(AppError::InvalidPage)));
        assert!(matches!(page(0, Some(2)).await, Err(AppError::InvalidPage)));
        assert_eq!(names(page(1, None).await.unwrap()).len(), 5);
    }
}
