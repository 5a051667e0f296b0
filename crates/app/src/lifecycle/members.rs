//! What an owner or administrator does to members beyond roles and
//! removal (`crate::members`): ownership moving to another member, and
//! deactivating or re-activating an account; and the operator's `ls-admin
//! user set-role` and `user delete`.

use orgs::{Action, Role};

use crate::error::AppError;
use crate::services::Services;
use crate::store::{Store, StoreError, UserRecord};

impl<S: Store> Services<S> {
    /// The owner makes another current, active member the owner, and
    /// becomes an administrator: one transaction, so the organization has
    /// one owner before and after, whatever races it.
    pub async fn transfer_ownership(
        &self,
        actor: &UserRecord,
        org_id: i64,
        to: i64,
    ) -> Result<(), AppError> {
        let role = self.role_in(actor.id, org_id).await?;
        if role != Role::Owner {
            return Err(AppError::Forbidden);
        }
        self.move_ownership(org_id, Some(actor), actor.id, to)
            .await?;
        tracing::info!(
            organization_id = org_id,
            from = actor.id,
            to,
            "ownership transferred"
        );
        Ok(())
    }

    async fn move_ownership(
        &self,
        org_id: i64,
        actor: Option<&UserRecord>,
        from: i64,
        to: i64,
    ) -> Result<(), AppError> {
        if from == to {
            return Err(AppError::Forbidden);
        }
        self.current_membership(to, org_id)
            .await?
            .ok_or(AppError::MemberNotFound)?;
        let target = self
            .store
            .user_by_id(to)
            .await?
            .ok_or(AppError::MemberNotFound)?;
        if !target.is_active {
            return Err(AppError::InactiveOwner);
        }
        let audit = self
            .audit_entry(
                "organization.ownership_transferred",
                actor,
                Some(&target),
                Some(org_id),
            )
            .detail(format!("from user {from}"));
        match self
            .store
            .audited(audit, self.store.transfer_ownership(org_id, from, to))
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict(_)) => Err(AppError::OwnershipMoved),
            Err(e) => Err(e.into()),
        }
    }

    /// An owner or administrator deactivates (or re-activates) a current
    /// member they outrank in every organization; deactivation ends the
    /// account's sessions.
    pub async fn set_member_active(
        &self,
        actor: &UserRecord,
        org_id: i64,
        member_id: i64,
        active: bool,
    ) -> Result<UserRecord, AppError> {
        let role = self.role_in(actor.id, org_id).await?;
        self.require(role, Action::RemoveMember)?;
        self.current_membership(member_id, org_id)
            .await?
            .ok_or(AppError::MemberNotFound)?;
        self.outranks_everywhere(actor.id, member_id).await?;
        let action = if active {
            "user.activated"
        } else {
            "user.deactivated"
        };
        let audit = self
            .audit_entry_on(action, Some(actor), member_id, Some(org_id))
            .await?;
        self.store
            .audited(
                audit,
                self.store.set_active(member_id, active, self.now_micros()),
            )
            .await?;
        tracing::info!(
            user_id = member_id,
            active,
            by = actor.id,
            "member activation changed"
        );
        self.store
            .user_by_id(member_id)
            .await?
            .ok_or(AppError::MemberNotFound)
    }

    /// `ls-admin user set-role`: a role in the first organization. `owner`
    /// moves ownership there (the former owner becomes an administrator);
    /// the owner's own role changes only that way.
    pub async fn operator_set_role(&self, email: &str, role: Role) -> Result<UserRecord, AppError> {
        let user = self.find_user(email).await?;
        let org = self
            .store
            .first_organization()
            .await?
            .ok_or(AppError::NoOrganization)?;
        let current = self
            .current_membership(user.id, org.id)
            .await?
            .ok_or(AppError::MemberNotFound)?;
        if current.role == role {
            return Ok(user);
        }
        if current.role == Role::Owner {
            return Err(AppError::LastOwner);
        }
        if role == Role::Owner {
            let owner = self
                .store
                .owner_of(org.id)
                .await?
                .ok_or(AppError::OwnershipMoved)?;
            self.move_ownership(org.id, None, owner, user.id).await?;
        } else {
            let audit = self
                .audit_entry("member.role_changed", None, Some(&user), Some(org.id))
                .detail(role.as_str());
            self.store
                .audited(audit, self.store.set_role(user.id, org.id, role))
                .await?;
        }
        tracing::info!(user_id = user.id, organization_id = org.id, %role, "role set by the operator");
        Ok(user)
    }

    /// `ls-admin user delete`: an account that owns no organization.
    pub async fn operator_delete_user(&self, email: &str) -> Result<UserRecord, AppError> {
        let user = self.find_user(email).await?;
        if !self.organizations_owned(user.id).await?.is_empty() {
            return Err(AppError::LastOwner);
        }
        let org = self.member_org(&user).await;
        let audit = self.audit_entry("user.deleted", None, Some(&user), org);
        self.store
            .audited(audit, self.store.delete_user(user.id))
            .await?;
        tracing::info!(user_id = user.id, "user deleted by the operator");
        Ok(user)
    }
}
