//! Accounts as the operator manages them (`ls-admin user …`), and as their
//! owners edit them: find, list, set a password, (de)activate, edit the
//! profile and hotkeys.

use accounts::{Email, HotkeyError, Hotkeys, SALT_LEN, Username};
use orgs::Role;

use crate::SecretString;
use crate::caller::Caller;
use crate::error::{AppError, Field};
use crate::services::Services;
use crate::store::{Store, UserChanges, UserRecord, UserWithRole};

/// Longest first name, last name or phone number (Label Studio's columns).
const MAX_PROFILE_CHARS: usize = 256;

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
    pub async fn find_user(&self, email: &str) -> Result<UserRecord, AppError> {
        let email = Email::parse(email).map_err(AppError::invalid(Field::Email))?;
        self.store
            .user_by_email(&email)
            .await?
            .ok_or(AppError::NotFound("User"))
    }

    pub async fn list_users(&self) -> Result<Vec<UserWithRole>, AppError> {
        Ok(self.store.list_users().await?)
    }

    /// Sets a new password (policy-checked) and ends the user's sessions.
    pub async fn set_password(
        &self,
        email: &str,
        password: &SecretString,
    ) -> Result<UserRecord, AppError> {
        let user = self.find_user(email).await?;
        let password = self
            .config
            .password_policy
            .check(password.expose(), Some(&user.email))
            .map_err(AppError::invalid(Field::Password))?;
        let hash = self
            .hasher
            .hash(password, self.random::<SALT_LEN>()?)
            .await?;
        let org = self.member_org(&user).await;
        let audit = self.audit_entry("password.set_by_operator", None, Some(&user), org);
        self.store
            .audited(
                audit,
                self.store
                    .set_password_hash(user.id, hash, self.now_micros()),
            )
            .await?;
        tracing::info!(user_id = user.id, "password changed");
        Ok(user)
    }

    /// The organizations `user_id` owns (so that deactivating them can say
    /// what is left without an active owner).
    pub async fn organizations_owned(&self, user_id: i64) -> Result<Vec<i64>, AppError> {
        let mut owned = Vec::new();
        for org in self.store.organizations_of(user_id).await? {
            let role = self
                .current_membership(user_id, org.id)
                .await?
                .map(|m| m.role);
            if role == Some(Role::Owner) {
                owned.push(org.id);
            }
        }
        Ok(owned)
    }

    /// Deactivation also ends the user's sessions.
    pub async fn set_active(&self, email: &str, active: bool) -> Result<UserRecord, AppError> {
        let user = self.find_user(email).await?;
        let action = if active {
            "user.activated"
        } else {
            "user.deactivated"
        };
        let org = self.member_org(&user).await;
        let audit = self.audit_entry(action, None, Some(&user), org);
        self.store
            .audited(
                audit,
                self.store.set_active(user.id, active, self.now_micros()),
            )
            .await?;
        tracing::info!(user_id = user.id, active, "user activation changed");
        Ok(user)
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
            // Nobody edits an owner's account but its owner, and a manager
            // here edits only an account they manage everywhere it is.
            self.may_act_on_account(
                caller,
                target.id,
                Role::is_manager,
                AppError::Forbidden,
                AppError::Forbidden,
            )
            .await?;
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
                .store
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
            .store
            .update_user(target.id, changes, self.now_micros())
            .await?)
    }

    /// Whether the caller, acting on another user's account (editing or
    /// deleting it), may do so everywhere that account is: an account that
    /// owns an organization is refused (`owner`), and so is one that is a
    /// member of an organization where the caller's role may not (`may`
    /// false: `denied`). An account is one across organizations, so a right in
    /// one is no right over it in another.
    async fn may_act_on_account(
        &self,
        caller: &Caller,
        target_id: i64,
        may: impl Fn(Role) -> bool,
        owner: AppError,
        denied: AppError,
    ) -> Result<(), AppError> {
        for org in self.store.organizations_of(target_id).await? {
            let Some(theirs) = self.current_membership(target_id, org.id).await? else {
                continue;
            };
            if theirs.role == Role::Owner {
                return Err(owner);
            }
            let mine = self.current_membership(caller.user.id, org.id).await?;
            if !mine.is_some_and(|m| may(m.role)) {
                return Err(denied);
            }
        }
        Ok(())
    }

    /// Deletes an account of this organization: a current member, or one
    /// who was removed from it (Label Studio's user list includes removed
    /// members, so the owner keeps the last word on them). The owner of any
    /// organization cannot be deleted; only the owner or an administrator
    /// deletes, and only an account whose every organization lets them.
    pub async fn delete_user(&self, caller: &Caller, user_id: i64) -> Result<(), AppError> {
        let (org_id, role) = caller.active()?;
        self.require(role, orgs::Action::ViewMembers)?;
        let membership = self
            .store
            .membership(user_id, org_id)
            .await?
            .ok_or(AppError::NotFound("User"))?;
        let target = self
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(AppError::NotFound("User"))?;
        if membership.removed_at.is_none() && membership.role == Role::Owner {
            return Err(AppError::OwnerUndeletable);
        }
        if !self.config.role_policy.may(role, orgs::Action::DeleteUser) {
            return Err(AppError::OnlyOwnerDeletes);
        }
        self.may_act_on_account(
            caller,
            target.id,
            |r| self.config.role_policy.may(r, orgs::Action::DeleteUser),
            AppError::OwnerUndeletable,
            AppError::OnlyOwnerDeletes,
        )
        .await?;
        let audit = self.audit_entry(
            "user.deleted",
            Some(&caller.user),
            Some(&target),
            Some(org_id),
        );
        self.store
            .audited(audit, self.store.delete_user(target.id))
            .await?;
        tracing::info!(user_id = target.id, by = caller.user.id, "user deleted");
        Ok(())
    }

    /// Validates and stores the caller's hotkeys.
    pub async fn set_hotkeys(
        &self,
        caller: &Caller,
        value: &serde_json::Value,
    ) -> Result<Hotkeys, AppError> {
        let hotkeys = Hotkeys::parse(value).map_err(|e: HotkeyError| {
            AppError::Validation(vec![("custom_hotkeys", e.to_string())])
        })?;
        self.store
            .set_hotkeys(caller.user.id, hotkeys.to_stored(), self.now_micros())
            .await?;
        Ok(hotkeys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServicesConfig;
    use crate::testkit::{OWNER, fixture, secret};

    #[tokio::test]
    async fn a_patch_is_checked_whole_and_a_refused_one_saves_nothing() {
        let f = fixture(ServicesConfig::default());
        let owner = f.owner().await;
        let patch = UserPatch {
            first_name: Some("Ann".into()),
            username: Some("has space".into()),
            phone: Some("x".repeat(MAX_PROFILE_CHARS + 1)),
            active_organization: Some(999),
            ..UserPatch::default()
        };
        let Err(AppError::Validation(errors)) =
            f.svc.update_user(&owner, owner.user.id, patch).await
        else {
            panic!("expected a validation error");
        };
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["username", "phone", "active_organization"]);
        assert_eq!(f.svc.find_user(OWNER).await.unwrap().first_name, "");
        let saved = f
            .svc
            .update_user(
                &owner,
                owner.user.id,
                UserPatch {
                    first_name: Some("Ann".into()),
                    ..UserPatch::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(saved.first_name, "Ann");
    }

    #[tokio::test]
    async fn members_edit_themselves_and_managers_edit_members() {
        let f = fixture(ServicesConfig::default());
        let owner = f.owner().await;
        let member = f.add("m@example.com", Role::Member).await;
        let name = |n: &str| UserPatch {
            last_name: Some(n.into()),
            ..UserPatch::default()
        };
        assert!(matches!(
            f.svc.update_user(&member, owner.user.id, name("X")).await,
            Err(AppError::Forbidden)
        ));
        assert!(
            f.svc
                .update_user(&member, member.user.id, name("Me"))
                .await
                .is_ok()
        );
        let edited = f
            .svc
            .update_user(&owner, member.user.id, name("Lee"))
            .await
            .unwrap();
        assert_eq!(edited.last_name, "Lee");
        assert!(matches!(
            f.svc.update_user(&owner, 999, name("X")).await,
            Err(AppError::NotFound("User"))
        ));
    }

    #[tokio::test]
    async fn the_owner_is_never_deleted_and_members_delete_no_one() {
        let f = fixture(ServicesConfig::default());
        let owner = f.owner().await;
        let admin = f.add("a@example.com", Role::Administrator).await;
        let member = f.add("m@example.com", Role::Member).await;
        let key = f.svc.reset_token(member.user.id).await.unwrap();
        assert!(matches!(
            f.svc.delete_user(&admin, owner.user.id).await,
            Err(AppError::OwnerUndeletable)
        ));
        assert!(matches!(
            f.svc.delete_user(&member, admin.user.id).await,
            Err(AppError::OnlyOwnerDeletes)
        ));
        f.svc.delete_user(&admin, member.user.id).await.unwrap();
        assert!(
            f.svc
                .authenticate_token(key.expose())
                .await
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            f.svc.find_user("m@example.com").await,
            Err(AppError::NotFound("User"))
        ));
    }

    #[tokio::test]
    async fn a_removed_member_is_deleted_by_the_owner_who_removed_them() {
        let f = fixture(ServicesConfig::default());
        let owner = f.owner().await;
        let member = f.add("gone@example.com", Role::Member).await;
        let (org, _) = owner.active().unwrap();
        f.svc
            .remove_member(&owner.user, org, member.user.id)
            .await
            .unwrap();
        // Still an account of this organization's past: the owner deletes it.
        f.svc.delete_user(&owner, member.user.id).await.unwrap();
        assert!(f.svc.find_user("gone@example.com").await.is_err());
        // A user who never belonged here is not found.
        assert!(matches!(
            f.svc.delete_user(&owner, 9_999).await,
            Err(AppError::NotFound("User"))
        ));
    }

    #[tokio::test]
    async fn an_account_is_managed_only_where_every_organization_allows() {
        let f = fixture(ServicesConfig {
            organization_creation_over_api: true,
            ..ServicesConfig::default()
        });
        let _owner = f.owner().await;
        let admin = f.add("a@example.com", Role::Administrator).await;
        let other = f.add("o@example.com", Role::Member).await;
        // `other` creates (and owns) an organization of their own.
        f.svc
            .create_organization(&other.user, "Elsewhere")
            .await
            .unwrap();
        let other = f.caller("o@example.com").await;
        assert!(matches!(
            f.svc.delete_user(&admin, other.user.id).await,
            Err(AppError::OwnerUndeletable)
        ));
        let rename = UserPatch {
            first_name: Some("Renamed".into()),
            ..UserPatch::default()
        };
        assert!(matches!(
            f.svc
                .update_user(&admin, other.user.id, rename.clone())
                .await,
            Err(AppError::Forbidden)
        ));
        // Their own account, they edit.
        f.svc
            .update_user(&other, other.user.id, rename)
            .await
            .unwrap();
        assert!(f.svc.find_user("o@example.com").await.is_ok());
    }

    #[tokio::test]
    async fn a_new_password_meets_the_policy() {
        let f = fixture(ServicesConfig::default());
        f.owner().await;
        for weak in ["short", OWNER, "password123"] {
            assert!(
                matches!(
                    f.svc.set_password(OWNER, &secret(weak)).await,
                    Err(AppError::Invalid {
                        field: Field::Password,
                        ..
                    })
                ),
                "{weak}"
            );
        }
        assert!(matches!(
            f.svc
                .set_password("nobody@example.com", &secret("long-enough-99"))
                .await,
            Err(AppError::NotFound("User"))
        ));
    }

    #[tokio::test]
    async fn hotkeys_are_validated_before_they_are_stored() {
        let f = fixture(ServicesConfig::default());
        let owner = f.owner().await;
        let bad = serde_json::json!({"annotation:submit": 5});
        assert!(matches!(
            f.svc.set_hotkeys(&owner, &bad).await,
            Err(AppError::Validation(v)) if v[0].0 == "custom_hotkeys"
        ));
        let good = serde_json::json!({"annotation:submit": {"key": "ctrl+enter", "active": true}});
        f.svc.set_hotkeys(&owner, &good).await.unwrap();
        let stored = f.svc.find_user(OWNER).await.unwrap().custom_hotkeys;
        assert_eq!(Hotkeys::from_stored(&stored).to_value(), good);
    }
}

#[cfg(test)]
mod owner_tests {
    use super::*;
    use crate::ServicesConfig;
    use crate::testkit::{OWNER, fixture};

    #[tokio::test]
    async fn the_organizations_a_user_owns_are_known() {
        let f = fixture(ServicesConfig::default());
        let owner = f.owner().await;
        let admin = f.add("a@example.com", Role::Administrator).await;
        assert_eq!(
            f.svc.organizations_owned(owner.user.id).await.unwrap(),
            [owner.active().unwrap().0]
        );
        assert!(
            f.svc
                .organizations_owned(admin.user.id)
                .await
                .unwrap()
                .is_empty()
        );
        f.svc.set_active(OWNER, false).await.unwrap();
    }
}
