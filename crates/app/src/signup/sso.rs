//! Accounts made by single sign-on: asked of the policy as
//! `Channel::SingleSignOn`, with the invite the flow carried.

use accounts::{Email, SecretDigest, Username};
use orgs::Role;
use signup_policy::{Allow, Channel, Decision, Deny, Invite, Request};

use super::{AccountDraft, Admission};
use crate::error::AppError;
use crate::services::Services;
use crate::sso::VerifiedIdentity;
use crate::store::{InviteLookup, NewIdentity, Store, StoreError, UserRecord};

impl<S: Store> Services<S> {
    /// The digest of an invite presented when leaving for a provider, if
    /// the policy would let it in now.
    pub(crate) async fn sso_invite(&self, raw: &str) -> Result<SecretDigest, AppError> {
        match self.admit(Channel::SingleSignOn, Some(raw)).await? {
            Admission(Allow::JoinByInvite(_), Some(digest)) => Ok(digest),
            // A presented invite either admits by itself or is refused.
            _ => Err(AppError::SignupDenied(Deny::InviteInvalid)),
        }
    }

    /// Asks the policy with the invite the flow carried (by digest: the
    /// flow never stores the invite itself), looked up again now.
    async fn admit_sso(&self, invite: Option<SecretDigest>) -> Result<Admission, AppError> {
        let (lookup, digest) = match invite {
            None => (Invite::Absent, None),
            Some(d) => match self.store.find_invite(&d).await? {
                InviteLookup::Current(org) => (Invite::Valid(org), Some(d)),
                InviteLookup::Retired => (Invite::Stale, None),
                InviteLookup::Unknown => (Invite::Invalid, None),
            },
        };
        let request = Request {
            channel: Channel::SingleSignOn,
            invite: lookup,
        };
        match signup_policy::decide(self.config.signup_mode, request) {
            Decision::Allow(allow) => Ok(Admission(allow, digest)),
            Decision::Deny(deny) => {
                tracing::info!(reason = %deny, "single sign-on sign-up refused");
                Err(AppError::SignupDenied(deny))
            }
        }
    }

    /// A new account for an identity nobody here has, linked in the
    /// account's own transaction. No password: it logs in through the
    /// provider (a password can be set later).
    pub(crate) async fn sso_sign_up(
        &self,
        email: Email,
        identity: &VerifiedIdentity,
        link: NewIdentity,
        invite: Option<SecretDigest>,
    ) -> Result<UserRecord, AppError> {
        let admission = self.admit_sso(invite).await?;
        let (first_name, last_name) = split_name(identity.name.as_deref());
        let draft = AccountDraft {
            username: Username::from_email(&email),
            email,
            first_name,
            last_name,
            password: None,
            token: None,
            role: if identity.administrator == Some(true) {
                Role::Administrator
            } else {
                Role::Member
            },
            waive_domain_rules: false,
            invitation: None,
            created_by: None,
        };
        match self.create_account_linked(admission, draft, link).await {
            Ok((created, _token)) => Ok(created.user),
            // Two first logins of one new person racing: the second starts
            // again, and finds the account the first made.
            Err(AppError::Store(StoreError::Conflict(_)) | AppError::EmailTaken) => {
                Err(AppError::SsoRefused(crate::sso::SsoRefusal::Flow))
            }
            Err(e) => Err(e),
        }
    }
}

/// A display name as first and last name (Label Studio keeps the two),
/// each cut to its column's 150 characters.
fn split_name(name: Option<&str>) -> (String, String) {
    let clean: String = name
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let clean = clean.trim();
    let (first, last) = clean.split_once(' ').unwrap_or((clean, ""));
    let cut = |s: &str| s.trim().chars().take(150).collect::<String>();
    (cut(first), cut(last))
}

#[cfg(test)]
mod tests {
    use super::split_name;

    #[test]
    fn names_split_at_the_first_space_without_control_characters() {
        assert_eq!(
            split_name(Some("Ann Lee Smith")),
            ("Ann".into(), "Lee Smith".into())
        );
        assert_eq!(split_name(Some("Ann")), ("Ann".into(), String::new()));
        assert_eq!(split_name(None), (String::new(), String::new()));
        assert_eq!(
            split_name(Some(" Ann\u{7} Lee ")),
            ("Ann".into(), "Lee".into())
        );
        assert_eq!(split_name(Some(&"x".repeat(400))).0.chars().count(), 150);
    }
}
