//! Organizations: the ones a user belongs to, one in detail, editing its
//! title and contact, and creating one (when the instance allows it).

use accounts::Email;
use orgs::{Action, OrgTitle};

use crate::error::{AppError, Field};
use crate::members::{ListingOf, MemberAccess};
use crate::services::Services;
use crate::store::{OrgRecord, Store, UserRecord};

impl<S: Store> Services<S> {
    /// Organizations the user currently belongs to.
    pub async fn organizations(&self, user: &UserRecord) -> Result<Vec<OrgRecord>, AppError> {
        Ok(self.store.organizations_of(user.id).await?)
    }

    /// An organization, for a member `access` was checked for: the record,
    /// its members by user id (read them with [`Services::next_member_ids`]),
    /// and whether the caller may see the invite token.
    pub async fn organization(
        &self,
        access: &MemberAccess,
    ) -> Result<(OrgRecord, ListingOf<S>, bool), AppError> {
        let org = self
            .store
            .organization(access.organization_id())
            .await?
            .ok_or(AppError::NotFound("Organization"))?;
        let members = self.open_members(access, false).await?;
        Ok((
            org,
            members,
            self.config
                .role_policy
                .may(access.role(), Action::ViewInviteLink),
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
            .store
            .update_organization(org_id, title, contact, self.now_micros())
            .await?)
    }

    /// A new organization owned by `user`, when the instance allows it. The
    /// user's active organization does not change.
    pub async fn create_organization(
        &self,
        user: &UserRecord,
        title: &str,
    ) -> Result<OrgRecord, AppError> {
        if !self.config.organization_creation_over_api {
            return Err(AppError::OrgCreationDisabled);
        }
        let title = OrgTitle::parse(title).map_err(|source| AppError::InvalidOrg {
            field: Field::Title,
            source,
        })?;
        let (invite, digest) = self.fresh_invite()?;
        let org = self
            .store
            .create_organization(user.id, title, invite, digest, self.now_micros())
            .await?;
        tracing::info!(
            organization_id = org.id,
            by = user.id,
            "organization created"
        );
        Ok(org)
    }
}

#[cfg(test)]
mod tests {
    use orgs::Role;

    use super::*;
    use crate::ServicesConfig;
    use crate::testkit::fixture;

    #[tokio::test]
    async fn creation_over_the_api_is_off_unless_the_instance_allows_it() {
        let f = fixture(ServicesConfig::default());
        let owner = f.owner().await;
        assert!(matches!(
            f.svc.create_organization(&owner.user, "Second").await,
            Err(AppError::OrgCreationDisabled)
        ));
        let f = fixture(ServicesConfig {
            organization_creation_over_api: true,
            ..ServicesConfig::default()
        });
        let owner = f.owner().await;
        assert!(matches!(
            f.svc.create_organization(&owner.user, " ").await,
            Err(AppError::InvalidOrg {
                field: Field::Title,
                ..
            })
        ));
        let second = f
            .svc
            .create_organization(&owner.user, "Second")
            .await
            .unwrap();
        let mine: Vec<_> = f
            .svc
            .organizations(&owner.user)
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.title)
            .collect();
        assert_eq!(mine, ["Label Studio", "Second"]);
        let access = f.svc.member_access(&owner.user, second.id).await.unwrap();
        let (_, mut members, sees_token) = f.svc.organization(&access).await.unwrap();
        let ids = f.svc.next_member_ids(&mut members).await.unwrap();
        assert_eq!((ids, sees_token), (Some(vec![owner.user.id]), true));
        assert_eq!(f.svc.next_member_ids(&mut members).await.unwrap(), None);
        // The active organization stays the first one.
        assert_eq!(
            f.caller(owner.user.email.as_str()).await.membership,
            owner.membership
        );
    }

    #[tokio::test]
    async fn edits_are_the_managers_and_checked_whole() {
        let f = fixture(ServicesConfig::default());
        let owner = f.owner().await;
        let org = owner.active().unwrap().0;
        let member = f.add("m@example.com", Role::Member).await;
        assert!(matches!(
            f.svc
                .update_organization(&member.user, org, Some("X".into()), None)
                .await,
            Err(AppError::Forbidden)
        ));
        assert!(matches!(
            f.svc
                .update_organization(&owner.user, org + 100, Some("X".into()), None)
                .await,
            Err(AppError::NotFound("Organization"))
        ));
        let Err(AppError::Validation(errors)) = f
            .svc
            .update_organization(
                &owner.user,
                org,
                Some(String::new()),
                Some(Some("nope".into())),
            )
            .await
        else {
            panic!("expected a validation error");
        };
        assert_eq!(
            errors.iter().map(|(f, _)| *f).collect::<Vec<_>>(),
            ["title", "contact_info"]
        );
        let saved = f
            .svc
            .update_organization(
                &owner.user,
                org,
                Some("Acme".into()),
                Some(Some("Ops@Acme.io".into())),
            )
            .await
            .unwrap();
        assert_eq!(
            (saved.title.as_str(), saved.contact_info.as_deref()),
            ("Acme", Some("ops@acme.io"))
        );
        // Label Studio shows every member the invite token.
        let access = f.svc.member_access(&member.user, org).await.unwrap();
        let (_, _, member_sees_token) = f.svc.organization(&access).await.unwrap();
        assert!(member_sees_token);
    }
}
