//! The organization's invite link: shown to those allowed to see it, and
//! **Reset Link**, after which the old link registers no one.

use invites::InviteToken;
use orgs::Action;

use crate::caller::{Acting, Caller};
use crate::error::AppError;
use crate::services::Services;
use crate::store::{OrgRecord, Store};

impl<S: Store> Services<S> {
    /// The organization `acting` works in, when it may do `action` there.
    async fn acting_organization(
        &self,
        acting: Acting<'_>,
        action: Action,
    ) -> Result<OrgRecord, AppError> {
        match acting {
            Acting::Operator => self
                .store
                .first_organization()
                .await?
                .ok_or(AppError::NoOrganization),
            Acting::Member(caller) => {
                let (organization_id, role) = caller.active()?;
                self.require(role, action)?;
                self.store
                    .organization(organization_id)
                    .await?
                    .ok_or(AppError::NotFound("Organization"))
            }
        }
    }

    /// The current invite link of the caller's organization.
    pub async fn invite_link(&self, caller: &Caller) -> Result<(OrgRecord, InviteToken), AppError> {
        self.invite_link_as(Acting::Member(caller)).await
    }

    /// The current invite link of the first organization (`ls-admin invite show`).
    pub async fn operator_invite_link(&self) -> Result<(OrgRecord, InviteToken), AppError> {
        self.invite_link_as(Acting::Operator).await
    }

    async fn invite_link_as(
        &self,
        acting: Acting<'_>,
    ) -> Result<(OrgRecord, InviteToken), AppError> {
        let org = self
            .acting_organization(acting, Action::ViewInviteLink)
            .await?;
        let token = self.invite_token_of(&org);
        Ok((org, token))
    }

    /// The current invite token of an organization (for those allowed to see it).
    pub fn invite_token_of(&self, org: &OrgRecord) -> InviteToken {
        org.invite.token(self.key.as_bytes())
    }

    /// **Reset Link** in the caller's organization.
    pub async fn reset_invite(
        &self,
        caller: &Caller,
    ) -> Result<(OrgRecord, InviteToken), AppError> {
        self.reset_invite_as(Acting::Member(caller)).await
    }

    /// **Reset Link** in the first organization (`ls-admin invite reset`).
    pub async fn operator_reset_invite(&self) -> Result<(OrgRecord, InviteToken), AppError> {
        self.reset_invite_as(Acting::Operator).await
    }

    /// The old link registers no one from now on.
    async fn reset_invite_as(
        &self,
        acting: Acting<'_>,
    ) -> Result<(OrgRecord, InviteToken), AppError> {
        let org = self
            .acting_organization(acting, Action::ResetInviteLink)
            .await?;
        let salt = self.random::<{ invites::SALT_LEN }>()?;
        let actor = match acting {
            Acting::Member(caller) => Some(&caller.user),
            Acting::Operator => None,
        };
        let audit = self.audit_entry("invite_link.reset", actor, None, Some(org.id));
        let org = self
            .store
            .audited(
                audit,
                self.store.rotate_invite(
                    org.id,
                    |current| {
                        let state = current.rotated(salt);
                        let digest = self.invite_digest(&state.token(self.key.as_bytes()));
                        (state, digest)
                    },
                    self.now_micros(),
                ),
            )
            .await?;
        let token = org.invite.token(self.key.as_bytes());
        tracing::info!(
            organization_id = org.id,
            generation = org.invite.generation(),
            "invite link reset"
        );
        Ok((org, token))
    }
}

#[cfg(test)]
mod tests {
    use orgs::{Role, RolePolicy};

    use super::*;
    use crate::ServicesConfig;
    use crate::testkit::fixture;

    #[tokio::test]
    async fn who_sees_and_resets_the_link() {
        let f = fixture(ServicesConfig::default());
        assert!(matches!(
            f.svc.operator_invite_link().await,
            Err(AppError::NoOrganization)
        ));
        let owner = f.owner().await;
        let member = f.add("m@example.com", Role::Member).await;
        assert!(matches!(
            f.svc.reset_invite(&member).await,
            Err(AppError::Forbidden)
        ));
        let (before, shown) = f.svc.invite_link(&owner).await.unwrap();
        assert_eq!(f.svc.operator_invite_link().await.unwrap().1, shown);
        let (org, reset) = f.svc.operator_reset_invite().await.unwrap();
        assert_ne!(reset, shown);
        assert_eq!(org.invite.generation(), before.invite.generation() + 1);
        assert_eq!(f.svc.invite_link(&owner).await.unwrap().1, reset);
        assert_eq!(f.svc.invite_token_of(&org), reset);
    }

    #[tokio::test]
    async fn members_see_the_link_unless_the_instance_hides_it() {
        let f = fixture(ServicesConfig::default());
        f.owner().await;
        let member = f.add("m@example.com", Role::Member).await;
        assert!(f.svc.invite_link(&member).await.is_ok());
        let f = fixture(ServicesConfig {
            role_policy: RolePolicy {
                members_see_invite_link: false,
            },
            ..ServicesConfig::default()
        });
        f.owner().await;
        let member = f.add("m@example.com", Role::Member).await;
        assert!(matches!(
            f.svc.invite_link(&member).await,
            Err(AppError::Forbidden)
        ));
    }
}
