//! Invitations of one person by email (issue 17), beside the
//! organization's reusable link: an owner or administrator invites an
//! address with a role; the invitation works once, for that address only,
//! until it expires (`invitation_ttl_secs`, 7 days by default), and can be
//! revoked. It is asked of the policy as a valid invite of its
//! organization, so invite-only mode honours it as it does the link; the
//! email-domain rules hold as on every path. Stored by the keyed digest of
//! its token only; with SMTP its mail is queued in the same transaction and
//! the token made when the mail is sent (`crate::mail`), without SMTP the
//! token is shown to the inviter once.

use accounts::{Email, SecretDigest, UserToken, Username};
use orgs::{Action, Role};
use signup_policy::{Allow, Channel, Decision, Invite, Request};

use super::{AccountDraft, Admission};
use crate::SecretString;
use crate::error::{AppError, Field};
use crate::services::Services;
use crate::store::{CreatedAccount, InvitationRecord, NewInvitation, Store, UserRecord};

/// Where an invitation leads (its token in the query string).
pub const INVITATION_PATH: &str = "/user/invitation/";
/// Digest purpose: an invitation's token authenticates as nothing else.
const PURPOSE: &str = "invitation";
const TOKEN_BYTES: usize = 32;
/// Pending invitations an organization page lists at most.
const PENDING_LISTED: usize = 200;

/// An invitation just made: its token when the inviter is to pass the link
/// on (no SMTP), shown this once.
#[derive(Debug)]
pub struct NewlyInvited {
    pub record: InvitationRecord,
    pub token: Option<SecretString>,
}

impl NewlyInvited {
    /// The link's path and query, when there is a token to show.
    pub fn path(&self) -> Option<String> {
        self.token
            .as_ref()
            .map(|t| format!("{INVITATION_PATH}?token={}", t.expose()))
    }
}

impl<S: Store> Services<S> {
    fn invitation_digest(&self, token: &str) -> SecretDigest {
        self.key.digest(PURPOSE, token.as_bytes())
    }

    pub(crate) fn new_invitation_token(&self) -> Result<(String, SecretDigest), AppError> {
        let token = hex::encode(self.random::<TOKEN_BYTES>()?);
        let digest = self.invitation_digest(&token);
        Ok((token, digest))
    }

    /// An owner or administrator of `org_id` invites `email` as `role`
    /// (administrator or member). Refused: another role, an address that is
    /// not an email or outside the domain rules, one that has an account.
    pub async fn invite_person(
        &self,
        actor: &UserRecord,
        org_id: i64,
        email: &str,
        role: Role,
    ) -> Result<NewlyInvited, AppError> {
        let actor_role = self.role_in(actor.id, org_id).await?;
        self.require(actor_role, Action::CreateUser)?;
        if role == Role::Owner {
            return Err(AppError::OneOwner);
        }
        let email = Email::parse(email).map_err(AppError::invalid(Field::Email))?;
        self.config
            .signup_domains
            .check(email.domain())
            .map_err(AppError::EmailDomain)?;
        if self.store.user_by_email(&email).await?.is_some() {
            return Err(AppError::EmailTaken);
        }
        let (token, digest) = self.new_invitation_token()?;
        let now = self.now_micros();
        let mail = self.mail_enabled();
        let audit = self
            .audit_entry("invitation.created", Some(actor), None, Some(org_id))
            .target_text(email.as_str())
            .detail(role.as_str());
        let create = self.store.create_invitation(NewInvitation {
            organization_id: org_id,
            email: email.as_str().to_owned(),
            role,
            digest,
            created_by: Some(actor.id),
            now,
            expires_at: now
                .saturating_add(self.config.invitation_ttl_secs.saturating_mul(1_000_000)),
            mail,
        });
        let record = self.store.audited(audit, create).await?;
        tracing::info!(
            invitation_id = record.id,
            organization_id = org_id,
            %role,
            by = actor.id,
            mailed = mail,
            "person invited"
        );
        Ok(NewlyInvited {
            record,
            // Mailed: the token is made when the mail goes out.
            token: (!mail).then(|| SecretString::new(token)),
        })
    }

    /// The organization's pending invitations, for its owner and administrators.
    pub async fn pending_invitations(
        &self,
        actor: &UserRecord,
        org_id: i64,
    ) -> Result<Vec<InvitationRecord>, AppError> {
        let role = self.role_in(actor.id, org_id).await?;
        self.require(role, Action::CreateUser)?;
        Ok(self
            .store
            .pending_invitations(org_id, self.now_micros(), PENDING_LISTED)
            .await?)
    }

    pub async fn revoke_invitation(
        &self,
        actor: &UserRecord,
        org_id: i64,
        id: i64,
    ) -> Result<(), AppError> {
        let role = self.role_in(actor.id, org_id).await?;
        self.require(role, Action::CreateUser)?;
        let audit = self
            .audit_entry("invitation.revoked", Some(actor), None, Some(org_id))
            .detail(format!("invitation {id}"));
        if !self
            .store
            .audited(
                audit,
                self.store.revoke_invitation(org_id, id, self.now_micros()),
            )
            .await?
        {
            return Err(AppError::NotFound("Invitation"));
        }
        tracing::info!(invitation_id = id, by = actor.id, "invitation revoked");
        Ok(())
    }

    /// The pending invitation a token is for; `InvitationInvalid` for any
    /// other (unknown, used, revoked, replaced, expired).
    pub async fn invitation(&self, token: &str) -> Result<InvitationRecord, AppError> {
        self.store
            .invitation_by_digest(&self.invitation_digest(token), self.now_micros())
            .await?
            .ok_or(AppError::InvitationInvalid)
    }

    /// The invited person makes their account: only for the invited
    /// address, once, while the invitation is live (checked again in the
    /// account's transaction, so a revocation meanwhile wins).
    pub async fn accept_invitation(
        &self,
        token: &str,
        email: &str,
        password: &SecretString,
    ) -> Result<(CreatedAccount, UserToken), AppError> {
        if !self.config.password_login {
            return Err(AppError::PasswordLoginDisabled);
        }
        let invitation = self.invitation(token).await?;
        let email = Email::parse(email).map_err(AppError::invalid(Field::Email))?;
        if email.as_str() != invitation.email {
            return Err(AppError::InvitationForAnother);
        }
        let request = Request {
            channel: Channel::SelfService,
            invite: Invite::Valid(invitation.organization_id),
        };
        let admission = match signup_policy::decide(self.config.signup_mode, request) {
            Decision::Allow(allow @ Allow::JoinByInvite(_)) => Admission(allow, None),
            Decision::Allow(_) => return Err(AppError::InvitationInvalid),
            Decision::Deny(deny) => return Err(AppError::SignupDenied(deny)),
        };
        let password = self
            .config
            .password_policy
            .check(password.expose(), Some(&email))
            .map_err(AppError::invalid(Field::Password))?;
        let draft = AccountDraft {
            username: Username::from_email(&email),
            email,
            first_name: String::new(),
            last_name: String::new(),
            password: Some(password),
            token: None,
            role: invitation.role,
            waive_domain_rules: false,
            invitation: Some(self.invitation_digest(token)),
            created_by: None,
        };
        self.create_account(admission, None, draft).await
    }
}
