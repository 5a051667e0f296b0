//! What a role may do here: the checks the use-cases make before they act,
//! and Label Studio's permission strings for `whoami`.

use orgs::{Action, Role};

use crate::error::AppError;
use crate::services::Services;
use crate::store::{MembershipRecord, Store, UserRecord};

/// Label Studio's permission strings, by the action they need.
const PERMISSION_NAMES: &[(Action, &[&str])] = &[
    (Action::ViewOrganization, &["organizations.view"]),
    (
        Action::ViewMembers,
        &["users.view", "organizations.members.view"],
    ),
    (Action::ViewInviteLink, &["organizations.invite"]),
    (Action::ResetInviteLink, &["organizations.reset_token"]),
    (Action::EditOrganization, &["organizations.change"]),
    (Action::CreateUser, &["users.create"]),
    (Action::ChangeRole, &["organizations.members.change"]),
    (Action::RemoveMember, &["organizations.members.delete"]),
    (Action::DeleteUser, &["users.delete"]),
];

impl<S: Store> Services<S> {
    /// What `role` may do here, in Label Studio's permission-string form.
    pub fn permissions(&self, role: Option<Role>) -> Vec<&'static str> {
        let Some(role) = role else { return Vec::new() };
        let p = &self.config.role_policy;
        let mut out = Vec::new();
        for (action, names) in PERMISSION_NAMES {
            if p.may(role, *action) {
                out.extend_from_slice(names);
            }
        }
        out
    }

    /// `Forbidden` unless `role` may do `action`.
    pub(crate) fn require(&self, role: Role, action: Action) -> Result<(), AppError> {
        if self.config.role_policy.may(role, action) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// The current (not removed) membership of `user_id` in `org_id`.
    pub(crate) async fn current_membership(
        &self,
        user_id: i64,
        org_id: i64,
    ) -> Result<Option<MembershipRecord>, AppError> {
        Ok(self
            .store
            .membership(user_id, org_id)
            .await?
            .filter(|m| m.removed_at.is_none()))
    }

    /// The caller's role in `org_id`; not a current member → not found.
    pub(crate) async fn role_in(&self, user_id: i64, org_id: i64) -> Result<Role, AppError> {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServicesConfig;
    use crate::testkit::fixture;

    #[test]
    fn permission_strings_follow_the_role() {
        let f = fixture(ServicesConfig::default());
        assert!(f.svc.permissions(None).is_empty());
        let member = f.svc.permissions(Some(Role::Member));
        assert_eq!(
            member,
            [
                "organizations.view",
                "users.view",
                "organizations.members.view",
                "organizations.invite"
            ]
        );
        let strict = fixture(ServicesConfig {
            role_policy: orgs::RolePolicy {
                members_see_invite_link: false,
            },
            ..ServicesConfig::default()
        });
        assert_eq!(strict.svc.permissions(Some(Role::Member)).len(), 3);
        let admin = f.svc.permissions(Some(Role::Administrator));
        assert_eq!(admin, f.svc.permissions(Some(Role::Owner)));
        assert_eq!(
            admin.len(),
            PERMISSION_NAMES.iter().map(|(_, n)| n.len()).sum::<usize>()
        );
    }
}
