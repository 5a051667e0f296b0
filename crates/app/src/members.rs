//! The organization's members as its members see them: listing and paging
//! them, one membership, changing a role, removing a member.

use orgs::{Action, Role};

use crate::caller::Caller;
use crate::error::AppError;
use crate::services::Services;
use crate::store::{
    MemberCursor, MemberScan as _, MembershipRecord, OrgStore, Store, StoreError, UserRecord,
};

/// A page of members.
#[derive(Debug, Clone)]
pub struct MemberPage {
    pub count: usize,
    pub members: Vec<(MembershipRecord, UserRecord)>,
}

/// Rows a member list reads from the store at a time: small enough that a
/// list of any length is written out in bounded memory, large enough that
/// the per-query cost is a small share.
pub const MEMBER_CHUNK: usize = 500;

/// The right to see an organization's members, checked once, with how many
/// there are: what [`Services::member_access`] and
/// [`Services::active_member_access`] give, and what a listing
/// ([`Services::open_members`]) or the organization's detail
/// ([`Services::organization`]) opens from without asking again.
#[derive(Debug, Clone, Copy)]
pub struct MemberAccess {
    organization_id: i64,
    role: Role,
    /// How many current members the organization had at the check.
    pub total: usize,
}

/// An organization's current members read in chunks inside one snapshot
/// (see [`OrgStore::member_scan`]): what [`Services::open_members`] returns
/// and [`Services::next_members`] and [`Services::next_member_ids`] go on with.
#[derive(Debug)]
pub struct MemberListing<T> {
    /// How many members the snapshot holds: as many as the chunks give.
    pub count: usize,
    scan: T,
    done: bool,
}

impl MemberAccess {
    pub fn organization_id(&self) -> i64 {
        self.organization_id
    }

    pub fn role(&self) -> Role {
        self.role
    }
}

/// The listing of a store `S`.
pub type ListingOf<S> = MemberListing<<S as OrgStore>::Scan>;

impl<S: Store> Services<S> {
    /// The right to see the members of the caller's active organization
    /// (`GET /api/users`).
    pub async fn active_member_access(&self, caller: &Caller) -> Result<MemberAccess, AppError> {
        let (organization_id, role) = caller.active()?;
        self.access(organization_id, role).await
    }

    /// The right of `user`, a member of `org_id`, to see its members.
    pub async fn member_access(
        &self,
        user: &UserRecord,
        org_id: i64,
    ) -> Result<MemberAccess, AppError> {
        let role = self.role_in(user.id, org_id).await?;
        self.access(org_id, role).await
    }

    async fn access(&self, organization_id: i64, role: Role) -> Result<MemberAccess, AppError> {
        self.require(role, Action::ViewMembers)?;
        let total = self
            .store
            .member_count(organization_id)
            .await?
            .ok_or(AppError::NotFound("Organization"))?;
        Ok(MemberAccess {
            organization_id,
            role,
            total,
        })
    }

    /// The members `access` lets one see, in chunks; by username then id
    /// when `by_username`, else by user id.
    pub async fn open_members(
        &self,
        access: &MemberAccess,
        by_username: bool,
    ) -> Result<ListingOf<S>, AppError> {
        let from = if by_username {
            MemberCursor::ByUsername(None)
        } else {
            MemberCursor::ById(None)
        };
        let (count, scan) = self
            .store
            .member_scan(access.organization_id, from)
            .await?
            .ok_or(AppError::NotFound("Organization"))?;
        Ok(MemberListing {
            count,
            scan,
            done: false,
        })
    }

    /// [`Services::member_access`], then [`Services::open_members`].
    pub async fn member_listing(
        &self,
        user: &UserRecord,
        org_id: i64,
        by_username: bool,
    ) -> Result<ListingOf<S>, AppError> {
        let access = self.member_access(user, org_id).await?;
        self.open_members(&access, by_username).await
    }

    /// The listing's next members with their users; `None` once all are read.
    pub async fn next_members(
        &self,
        listing: &mut ListingOf<S>,
    ) -> Result<Option<Vec<(MembershipRecord, UserRecord)>>, AppError> {
        if listing.done {
            return Ok(None);
        }
        let rows = listing.scan.next_members(MEMBER_CHUNK).await?;
        listing.done = rows.len() < MEMBER_CHUNK;
        Ok((!rows.is_empty()).then_some(rows))
    }

    /// The listing's next member user ids (ascending in a listing by id);
    /// `None` once all are read.
    pub async fn next_member_ids(
        &self,
        listing: &mut ListingOf<S>,
    ) -> Result<Option<Vec<i64>>, AppError> {
        if listing.done {
            return Ok(None);
        }
        let ids = listing.scan.next_ids(MEMBER_CHUNK).await?;
        listing.done = ids.len() < MEMBER_CHUNK;
        Ok((!ids.is_empty()).then_some(ids))
    }

    /// A member of the caller's active organization.
    pub async fn member(
        &self,
        caller: &Caller,
        user_id: i64,
    ) -> Result<(MembershipRecord, UserRecord), AppError> {
        let (organization_id, role) = caller.active()?;
        self.require(role, Action::ViewMembers)?;
        let member = self
            .current_membership(user_id, organization_id)
            .await?
            .ok_or(AppError::NotFound("User"))?;
        let user = self
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(AppError::NotFound("User"))?;
        Ok((member, user))
    }

    /// A page of current members, ordered by username then id (a list of
    /// them all is [`Services::member_listing`]).
    pub async fn membership_page(
        &self,
        user: &UserRecord,
        org_id: i64,
        page: usize,
        page_size: usize,
    ) -> Result<MemberPage, AppError> {
        let role = self.role_in(user.id, org_id).await?;
        self.require(role, Action::ViewMembers)?;
        if page == 0 || page_size == 0 {
            return Err(AppError::InvalidPage);
        }
        let start = page.saturating_sub(1).saturating_mul(page_size);
        let (count, members) = self.store.member_page(org_id, start, page_size).await?;
        if start >= count && !(page == 1 && count == 0) {
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

    /// Owner and administrators make a member an administrator or back,
    /// each only for someone below them (the owner for administrators:
    /// an administrator demoted by another could then be reset and taken
    /// over). Nobody changes their own role or the owner's; one owner.
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
        // Only over someone below: an administrator changes members, not
        // another administrator (who could then be reset and taken over).
        if member_id == user.id || !crate::lifecycle::outranks(actor_role, target.role) {
            return Err(AppError::Forbidden);
        }
        let audit = self
            .audit_entry_on("member.role_changed", Some(user), member_id, Some(org_id))
            .await?
            .detail(role.as_str());
        match self
            .store
            .audited(audit, self.store.set_role(member_id, org_id, role))
            .await
        {
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
        if !crate::lifecycle::outranks(role, target.role) {
            return Err(AppError::Forbidden);
        }
        let audit = self
            .audit_entry_on("member.removed", Some(user), member_id, Some(org_id))
            .await?;
        match self
            .store
            .audited(
                audit,
                self.store
                    .remove_membership(member_id, org_id, self.now_micros()),
            )
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
            f.svc.membership_page(&gone.user, org, 1, 20).await,
            Err(AppError::NotFound("Organization"))
        ));
        let page = f.svc.member_listing(&owner.user, org, true).await.unwrap();
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
        assert_eq!(names(page(1, 2).await.unwrap()), ["bob", "carl"]);
        assert_eq!(names(page(2, 2).await.unwrap()), ["dora", "eve"]);
        let last = page(3, 2).await.unwrap();
        assert_eq!(last.count, 5);
        assert_eq!(names(last), ["owner"]);
        assert!(matches!(page(4, 2).await, Err(AppError::InvalidPage)));
        assert!(matches!(page(0, 2).await, Err(AppError::InvalidPage)));
        assert!(matches!(page(1, 0).await, Err(AppError::InvalidPage)));
    }

    /// Every member once, in order, across chunks of any size, for each order.
    #[tokio::test]
    async fn listings_read_every_member_once_in_order() {
        let f = &fixture(ServicesConfig::default());
        let owner = f.owner().await;
        let org = owner.active().unwrap().0;
        // More than one chunk, with usernames out of id order.
        for n in 0..(MEMBER_CHUNK + 7) {
            let name = format!("u{:04}", (n * 7919) % 10_000);
            f.add(&format!("{name}@example.com"), Role::Member).await;
        }
        let mut by_name = f.svc.member_listing(&owner.user, org, true).await.unwrap();
        assert_eq!(by_name.count, MEMBER_CHUNK + 8);
        let mut names = Vec::new();
        while let Some(rows) = f.svc.next_members(&mut by_name).await.unwrap() {
            names.extend(rows.into_iter().map(|(_, u)| (u.username, u.id)));
        }
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted);
        assert_eq!(names.len(), MEMBER_CHUNK + 8);
        let mut by_id = f.svc.member_listing(&owner.user, org, false).await.unwrap();
        let mut ids = Vec::new();
        while let Some(chunk) = f.svc.next_member_ids(&mut by_id).await.unwrap() {
            ids.extend(chunk);
        }
        let mut expected: Vec<i64> = names.iter().map(|(_, id)| *id).collect();
        expected.sort();
        assert_eq!(ids, expected);
        let access = f.svc.active_member_access(&owner).await.unwrap();
        let mut users = f.svc.open_members(&access, false).await.unwrap();
        let mut listed = Vec::new();
        while let Some(rows) = f.svc.next_members(&mut users).await.unwrap() {
            listed.extend(rows.into_iter().map(|(m, u)| (m.user_id, u.id)));
        }
        assert!(listed.iter().all(|(m, u)| m == u));
        let listed: Vec<i64> = listed.into_iter().map(|(m, _)| m).collect();
        assert_eq!(listed, expected);
        let member = f.caller("u0000@example.com").await;
        assert!(f.svc.member_listing(&member.user, org, true).await.is_ok());
    }
}
