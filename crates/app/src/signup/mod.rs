//! Sign-up and account creation: the first-run account, self-service
//! sign-up (page and API) and users created by an owner, an administrator
//! or the operator. Every account is written by [`Services::create_account`],
//! which needs an [`Admission`] that only [`Services::admit`] makes, after
//! asking `signup_policy::decide`.

use std::net::IpAddr;

use accounts::{Email, Password, PasswordPolicy, SALT_LEN, SecretDigest, UserToken, Username};
use invites::{InviteState, InviteToken};
use orgs::{Action, OrgTitle, Role};
use signup_policy::{Allow, Channel, Decision, Deny, Invite, Request};

use crate::SecretString;
use crate::caller::{Acting, Caller};
use crate::error::{AppError, Field};
use crate::services::Services;
use crate::store::{
    AccountPlacement, CreatedAccount, InviteLookup, NewAccount, Store, StoreError, UserRecord,
};

/// `ls-server start --username U --password P [--user-token T]`.
#[derive(Debug, Clone)]
pub struct BootstrapRequest {
    pub username: String,
    pub password: SecretString,
    pub user_token: Option<SecretString>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootstrapOutcome {
    /// The account was created; `token_generated` when no token was given
    /// (it is stored only as a digest: get a usable one with `ls-admin token reset`).
    Created {
        user: UserRecord,
        organization_id: i64,
        token_generated: bool,
    },
    /// The account was created, but it is not the first: it joined the
    /// existing organization as an administrator (Label Studio adds it to
    /// its one organization the same way).
    Joined {
        user: UserRecord,
        organization_id: i64,
        token_generated: bool,
    },
    /// The account exists: nothing about it was changed.
    AlreadyExists { user: UserRecord },
}

impl BootstrapRequest {
    /// The first-run values, checked: what [`Services::bootstrap`] refuses,
    /// refused here without storage, so a start can check them before it
    /// writes anything.
    pub fn check(
        &self,
        policy: &PasswordPolicy,
    ) -> Result<(Email, Option<UserToken>, Password), AppError> {
        let email = Email::parse(&self.username).map_err(AppError::invalid(Field::Username))?;
        let token = self
            .user_token
            .as_ref()
            .map(|t| UserToken::parse_given(t.expose()))
            .transpose()
            .map_err(AppError::invalid(Field::Token))?;
        // A line break at the end is not part of the password: a secret
        // mounted from a file carries one (as ls-admin's first line drops it).
        let raw = self.password.expose();
        let raw = raw
            .strip_suffix("\r\n")
            .or_else(|| raw.strip_suffix('\n'))
            .unwrap_or(raw);
        let password = policy
            .check(raw, Some(&email))
            .map_err(AppError::invalid(Field::Password))?;
        Ok((email, token, password))
    }
}

/// A person signing themselves up (page or API).
#[derive(Debug, Clone)]
pub struct SignupRequest {
    pub email: String,
    pub password: SecretString,
    /// The invite token exactly as presented; `Some("")` for an empty or
    /// ambiguous one (the HTTP layer turns repeated parameters into that).
    pub invite: Option<SecretString>,
    /// The client's address, for the sign-up flood limit.
    pub client: Option<IpAddr>,
}

/// An owner, administrator or the operator creating someone.
#[derive(Debug, Clone)]
pub struct CreateUserRequest {
    pub email: String,
    pub username: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub password: Option<SecretString>,
    pub role: Role,
}

/// Proof that `signup_policy::decide` allowed this account. Only
/// [`Services::admit`] makes one, so no path can create an account without
/// asking the policy.
/// With the digest of the invite it was let in by, if any.
#[derive(Debug, Clone, Copy)]
struct Admission(Allow<i64>, Option<SecretDigest>);

#[derive(Debug, Clone)]
struct AccountDraft {
    email: Email,
    username: Username,
    first_name: String,
    last_name: String,
    password: Option<Password>,
    token: Option<UserToken>,
    /// Role on joining an existing organization (the creator of one is its owner).
    role: Role,
    /// The operator waived the email-domain rules for this account
    /// (`ls-admin user create --force`).
    waive_domain_rules: bool,
    /// The digest of the invitation of one person this account accepts.
    invitation: Option<SecretDigest>,
    /// The owner or administrator making it (for the audit log).
    created_by: Option<UserRecord>,
}

impl<S: Store> Services<S> {
    /// Look the presented invite up and ask the policy.
    async fn admit(
        &self,
        channel: Channel,
        presented: Option<&str>,
    ) -> Result<Admission, AppError> {
        let mut digest = None;
        let invite = match presented {
            None => Invite::Absent,
            Some(raw) => match InviteToken::parse_any(raw) {
                Err(_) => Invite::Invalid,
                Ok(token) => {
                    let d = self.invite_digest(&token);
                    match self.store.find_invite(&d).await? {
                        InviteLookup::Current(org) => {
                            digest = Some(d);
                            Invite::Valid(org)
                        }
                        InviteLookup::Retired => Invite::Stale,
                        InviteLookup::Unknown => Invite::Invalid,
                    }
                }
            },
        };
        match signup_policy::decide(self.config.signup_mode, Request { channel, invite }) {
            Decision::Allow(allow) => Ok(Admission(allow, digest)),
            Decision::Deny(deny) => {
                tracing::info!(reason = %deny, "sign-up refused");
                Err(AppError::SignupDenied(deny))
            }
        }
    }

    /// The policy's word on accounts an operator brings in (an import):
    /// they are an administrator's creations, whatever the sign-up mode.
    pub(crate) async fn admit_operator(&self) -> Result<(), AppError> {
        self.admit(Channel::AdministratorCreated, None)
            .await
            .map(|_| ())
    }

    /// A new organization's invite state and its digest.
    pub(crate) fn fresh_invite(&self) -> Result<(InviteState, accounts::SecretDigest), AppError> {
        let state = InviteState::initial(self.random::<{ invites::SALT_LEN }>()?);
        let digest = self.invite_digest(&state.token(self.key.as_bytes()));
        Ok((state, digest))
    }

    async fn create_account(
        &self,
        admission: Admission,
        organization: Option<i64>,
        draft: AccountDraft,
    ) -> Result<(CreatedAccount, UserToken), AppError> {
        self.write_account(admission, organization, draft, None)
            .await
    }

    /// A new account with an identity from an OpenID provider, linked in
    /// the same transaction.
    async fn create_account_linked(
        &self,
        admission: Admission,
        draft: AccountDraft,
        identity: crate::store::NewIdentity,
    ) -> Result<(CreatedAccount, UserToken), AppError> {
        self.write_account(admission, None, draft, Some(identity))
            .await
    }

    /// The one place that writes a new account.
    async fn write_account(
        &self,
        admission: Admission,
        organization: Option<i64>,
        draft: AccountDraft,
        identity: Option<crate::store::NewIdentity>,
    ) -> Result<(CreatedAccount, UserToken), AppError> {
        // The email-domain rules hold on every path, before any work.
        if !draft.waive_domain_rules
            && let Err(refusal) = self.config.signup_domains.check(draft.email.domain())
        {
            tracing::info!(reason = %refusal, "sign-up refused by the email-domain rules");
            return Err(AppError::EmailDomain(refusal));
        }
        let channel = match admission.0 {
            _ if identity.is_some() => "sso",
            Allow::OpenSignup => "open",
            Allow::JoinByInvite(_) => "invite",
            Allow::Bootstrap => "first_run",
            Allow::AdministratorCreated => "administrator",
        };
        let placement = match (admission.0, organization, draft.invitation) {
            (Allow::JoinByInvite(org), _, Some(invitation)) => AccountPlacement::Invited {
                organization_id: org,
                role: draft.role,
                invitation,
            },
            (Allow::JoinByInvite(org), _, None) => AccountPlacement::Join {
                organization_id: org,
                role: Role::Member,
                invite: admission.1,
            },
            (Allow::AdministratorCreated, Some(org), _) => AccountPlacement::Join {
                organization_id: org,
                role: draft.role,
                invite: None,
            },
            (Allow::OpenSignup | Allow::Bootstrap | Allow::AdministratorCreated, _, _) => {
                let (invite, invite_digest) = self.fresh_invite()?;
                AccountPlacement::JoinFirstOrCreate {
                    role: draft.role,
                    title: OrgTitle::default_title(),
                    invite,
                    invite_digest,
                }
            }
        };
        let password_hash = match draft.password {
            Some(pw) => Some(self.hasher.hash(pw, self.random::<SALT_LEN>()?).await?),
            None => None,
        };
        let token = match draft.token {
            Some(t) => t,
            None => UserToken::generate(self.random::<{ accounts::GENERATED_TOKEN_BYTES }>()?),
        };
        let mut audit = self
            .audit_entry(
                "user.created",
                draft.created_by.as_ref(),
                None,
                organization,
            )
            .target_text(draft.email.as_str())
            .detail(channel);
        if let AccountPlacement::Join {
            organization_id, ..
        }
        | AccountPlacement::Invited {
            organization_id, ..
        } = &placement
        {
            audit.organization_id = Some(*organization_id);
        }
        let created = self
            .store
            .audited(
                audit,
                self.store.create_account(NewAccount {
                    email: draft.email,
                    username: draft.username,
                    first_name: draft.first_name,
                    last_name: draft.last_name,
                    password_hash,
                    token_digest: self.token_digest(token.expose()),
                    placement,
                    identity,
                    now: self.now_micros(),
                }),
            )
            .await
            .map_err(|e| match e {
                StoreError::EmailTaken => AppError::EmailTaken,
                StoreError::InviteRetired => AppError::SignupDenied(Deny::InviteStale),
                other => AppError::Store(other),
            })?;
        tracing::info!(
            user_id = created.user.id,
            organization_id = created.organization_id,
            role = %created.role,
            created_organization = created.created_organization,
            reason = ?admission.0,
            "account created"
        );
        metrics::counter!("ls_signups_total", "channel" => channel).increment(1);
        Ok((created, token))
    }

    /// The first-run account. Idempotent: an existing account is left alone.
    pub async fn bootstrap(&self, req: BootstrapRequest) -> Result<BootstrapOutcome, AppError> {
        let (email, token, password) = req.check(&self.config.password_policy)?;
        if let Some(user) = self.store.user_by_email(&email).await? {
            return Ok(BootstrapOutcome::AlreadyExists { user });
        }
        let admission = self.admit(Channel::Bootstrap, None).await?;
        let token_generated = token.is_none();
        let draft = AccountDraft {
            username: Username::from_email(&email),
            email: email.clone(),
            first_name: String::new(),
            last_name: String::new(),
            password: Some(password),
            token,
            role: Role::Administrator,
            waive_domain_rules: false,
            invitation: None,
            created_by: None,
        };
        match self.create_account(admission, None, draft).await {
            Ok((created, _token)) if created.created_organization => {
                Ok(BootstrapOutcome::Created {
                    user: created.user,
                    organization_id: created.organization_id,
                    token_generated,
                })
            }
            Ok((created, _token)) => Ok(BootstrapOutcome::Joined {
                user: created.user,
                organization_id: created.organization_id,
                token_generated,
            }),
            // Another instance bootstrapped the same account a moment ago.
            Err(AppError::EmailTaken) => match self.store.user_by_email(&email).await? {
                Some(user) => Ok(BootstrapOutcome::AlreadyExists { user }),
                None => Err(AppError::EmailTaken),
            },
            Err(e) => Err(e),
        }
    }

    /// Whether a self-service sign-up with this invite would be let in (for
    /// the sign-up page, before showing a form that would fail). `Ok` with the
    /// organization a valid invite joins.
    pub async fn signup_gate(&self, presented: Option<&str>) -> Result<Option<i64>, AppError> {
        match self.admit(Channel::SelfService, presented).await?.0 {
            Allow::JoinByInvite(org) => Ok(Some(org)),
            _ => Ok(None),
        }
    }

    /// Self-service sign-up. The invite is checked before anything else is
    /// looked at, so a refused request learns nothing about the input.
    pub async fn sign_up(
        &self,
        req: SignupRequest,
    ) -> Result<(CreatedAccount, UserToken), AppError> {
        // An account made with a password where passwords log no one in.
        if !self.config.password_login {
            return Err(AppError::PasswordLoginDisabled);
        }
        let admission = self
            .admit(
                Channel::SelfService,
                req.invite.as_ref().map(SecretString::expose),
            )
            .await?;
        if let Some(ip) = req.client {
            self.throttle(vec![(
                crate::throttle::signup_client_key(ip),
                self.config.throttle.signup_per_client,
            )])
            .await?;
        }
        let email = Email::parse(&req.email).map_err(AppError::invalid(Field::Email))?;
        let password = self
            .config
            .password_policy
            .check(req.password.expose(), Some(&email))
            .map_err(AppError::invalid(Field::Password))?;
        let draft = AccountDraft {
            username: Username::from_email(&email),
            email,
            first_name: String::new(),
            last_name: String::new(),
            password: Some(password),
            token: None,
            role: Role::Member,
            waive_domain_rules: false,
            invitation: None,
            created_by: None,
        };
        let created = self.create_account(admission, None, draft).await?;
        // A sign-up that made an account never counts against its address.
        // The account is committed: a refund that fails is logged, never
        // turned into an error for a sign-up that succeeded.
        if let Some(ip) = req.client
            && let Err(e) = self
                .store
                .throttle_refund(&crate::throttle::signup_client_key(ip), self.now_secs())
                .await
        {
            tracing::warn!(error = %e, "a sign-up's throttle count was not taken back");
        }
        Ok(created)
    }

    /// An owner or administrator creates a user in their active
    /// organization. Without a password the account exists but cannot log
    /// in until one is set.
    pub async fn create_user(
        &self,
        caller: &Caller,
        req: CreateUserRequest,
    ) -> Result<(CreatedAccount, UserToken), AppError> {
        self.create_user_as(Acting::Member(caller), req, false)
            .await
    }

    /// The operator (`ls-admin user create`) creates a user in the first
    /// organization; the first user founds it, as its owner.
    pub async fn operator_create_user(
        &self,
        req: CreateUserRequest,
    ) -> Result<(CreatedAccount, UserToken), AppError> {
        self.create_user_as(Acting::Operator, req, false).await
    }

    /// [`Services::operator_create_user`] waiving the email-domain rules
    /// (`ls-admin user create --force`): the operator's deliberate exception.
    pub async fn operator_create_user_forced(
        &self,
        req: CreateUserRequest,
    ) -> Result<(CreatedAccount, UserToken), AppError> {
        self.create_user_as(Acting::Operator, req, true).await
    }

    async fn create_user_as(
        &self,
        acting: Acting<'_>,
        req: CreateUserRequest,
        waive_domain_rules: bool,
    ) -> Result<(CreatedAccount, UserToken), AppError> {
        let organization = match acting {
            Acting::Operator => self.store.first_organization().await?.map(|o| o.id),
            Acting::Member(caller) => {
                let (organization_id, role) = caller.active()?;
                self.require(role, Action::CreateUser)?;
                Some(organization_id)
            }
        };
        if req.role == Role::Owner && organization.is_some() {
            return Err(AppError::OneOwner);
        }
        let email = Email::parse(&req.email).map_err(AppError::invalid(Field::Email))?;
        let username = match req.username.as_deref() {
            Some(u) => Username::parse(u).map_err(AppError::invalid(Field::Username))?,
            None => Username::from_email(&email),
        };
        let password = req
            .password
            .as_ref()
            .map(|p| self.config.password_policy.check(p.expose(), Some(&email)))
            .transpose()
            .map_err(AppError::invalid(Field::Password))?;
        let admission = self.admit(Channel::AdministratorCreated, None).await?;
        let draft = AccountDraft {
            email,
            username,
            first_name: req.first_name,
            last_name: req.last_name,
            password,
            token: None,
            role: req.role,
            waive_domain_rules,
            invitation: None,
            created_by: match acting {
                Acting::Member(caller) => Some(caller.user.clone()),
                Acting::Operator => None,
            },
        };
        self.create_account(admission, organization, draft).await
    }
}

mod invitation;
mod sso;

pub use invitation::{INVITATION_PATH, NewlyInvited};

#[cfg(test)]
mod tests;
