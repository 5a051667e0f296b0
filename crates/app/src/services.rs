use std::sync::Arc;

use std::net::IpAddr;

use accounts::pat::JwtKey;
use accounts::throttle::Limit;
use accounts::{
    DigestKey, Email, GENERATED_TOKEN_BYTES, Password, PasswordPolicy, SALT_LEN, SecretDigest,
    UserToken, Username,
};
use invites::{InviteState, InviteToken};
use orgs::{Action, OrgTitle, Role, RolePolicy};
use signup_policy::{Allow, Channel, Decision, Invite, Mode, Request};

use crate::random::bytes;
use crate::{
    AccountPlacement, AppError, BlockingHasher, Clock, CreatedAccount, Field, InviteLookup,
    NewAccount, NewSession, OrgRecord, Random, SecretString, Store, StoreError, UserRecord,
    UserWithRole,
};

/// Digest purposes: a value of one kind never authenticates as another.
const API_TOKEN: &str = "api-token";
const SESSION: &str = "session";
const INVITE: &str = "invite";

/// The instance's rules, validated at start-up.
#[derive(Debug, Clone)]
pub struct ServicesConfig {
    pub password_policy: PasswordPolicy,
    pub signup_mode: Mode,
    pub role_policy: RolePolicy,
    /// Absolute session lifetime (Label Studio's MAX_SESSION_AGE: 14 days).
    pub session_lifetime_secs: i64,
    /// A session unused this long ends (Label Studio's
    /// MAX_TIME_BETWEEN_ACTIVITY: 5 days).
    pub session_idle_timeout_secs: i64,
    /// How long an access token made from a personal access token lives
    /// (Label Studio: 5 minutes).
    pub access_token_lifetime_secs: i64,
    /// `POST /api/organizations` creates organizations (off, as in Label Studio).
    pub organization_creation_over_api: bool,
    pub throttle: ThrottleConfig,
}

/// Brute-force and flood limits (`max_events` 0 turns one off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Login attempts per account (email), whatever the client address.
    pub login_per_account: Limit,
    /// Login attempts per client address, whatever the account.
    pub login_per_client: Limit,
    /// Sign-ups per client address.
    pub signup_per_client: Limit,
    /// API token resets per user.
    pub token_reset_per_user: Limit,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        let limit = |max_events| Limit {
            max_events,
            window_secs: 900,
            lockout_secs: 900,
        };
        Self {
            login_per_account: limit(5),
            login_per_client: limit(100),
            signup_per_client: limit(20),
            token_reset_per_user: limit(10),
        }
    }
}

impl Default for ServicesConfig {
    fn default() -> Self {
        Self {
            password_policy: PasswordPolicy::default(),
            signup_mode: Mode::Open,
            role_policy: RolePolicy::default(),
            session_lifetime_secs: 14 * 24 * 3600,
            session_idle_timeout_secs: 5 * 24 * 3600,
            access_token_lifetime_secs: 300,
            organization_creation_over_api: false,
            throttle: ThrottleConfig::default(),
        }
    }
}

/// Who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The machine's operator, through `ls-admin` or the first-run flags.
    Operator,
    /// A signed-in user, acting in their active organization.
    Member {
        user_id: i64,
        organization_id: i64,
        role: Role,
    },
}

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
    /// The account exists: nothing about it was changed.
    AlreadyExists { user: UserRecord },
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
#[derive(Debug, Clone, Copy)]
struct Admission(Allow<i64>);

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
}

/// The use-cases, generic over storage.
#[derive(Debug)]
pub struct Services<S> {
    store: S,
    hasher: BlockingHasher,
    key: DigestKey,
    pub(crate) jwt_key: JwtKey,
    pub(crate) random: Arc<dyn Random>,
    clock: Arc<dyn Clock>,
    pub(crate) config: ServicesConfig,
}

impl<S: Store> Services<S> {
    pub fn new(
        store: S,
        hasher: BlockingHasher,
        key: DigestKey,
        random: Arc<dyn Random>,
        clock: Arc<dyn Clock>,
        config: ServicesConfig,
    ) -> Self {
        Self {
            store,
            hasher,
            jwt_key: JwtKey::derive(&key),
            key,
            random,
            clock,
            config,
        }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn config(&self) -> &ServicesConfig {
        &self.config
    }

    pub(crate) fn now_micros(&self) -> i64 {
        self.clock.now_micros()
    }

    pub(crate) fn token_digest(&self, token: &str) -> SecretDigest {
        self.key.digest(API_TOKEN, token.as_bytes())
    }

    fn invite_digest(&self, token: &InviteToken) -> SecretDigest {
        self.key.digest(INVITE, token.expose().as_bytes())
    }

    fn fresh_invite(&self) -> Result<(InviteState, SecretDigest), AppError> {
        let state = InviteState::initial(bytes::<{ invites::SALT_LEN }>(&*self.random)?);
        let digest = self.invite_digest(&state.token(self.key.as_bytes()));
        Ok((state, digest))
    }

    /// Look the presented invite up and ask the policy.
    async fn admit(
        &self,
        channel: Channel,
        presented: Option<&str>,
    ) -> Result<Admission, AppError> {
        let invite = match presented {
            None => Invite::Absent,
            Some(raw) => match InviteToken::parse_presented(raw) {
                Err(_) => Invite::Invalid,
                Ok(token) => match self.store.find_invite(&self.invite_digest(&token)).await? {
                    InviteLookup::Current(org) => Invite::Valid(org),
                    InviteLookup::Retired => Invite::Stale,
                    InviteLookup::Unknown => Invite::Invalid,
                },
            },
        };
        match signup_policy::decide(self.config.signup_mode, Request { channel, invite }) {
            Decision::Allow(allow) => Ok(Admission(allow)),
            Decision::Deny(deny) => {
                tracing::info!(reason = %deny, "sign-up refused");
                Err(AppError::SignupDenied(deny))
            }
        }
    }

    /// The one place that writes a new account.
    async fn create_account(
        &self,
        admission: Admission,
        organization: Option<i64>,
        draft: AccountDraft,
    ) -> Result<(CreatedAccount, UserToken), AppError> {
        let placement = match (admission.0, organization) {
            (Allow::JoinByInvite(org), _) => AccountPlacement::Join {
                organization_id: org,
                role: Role::Member,
            },
            (Allow::AdministratorCreated, Some(org)) => AccountPlacement::Join {
                organization_id: org,
                role: draft.role,
            },
            (Allow::OpenSignup | Allow::Bootstrap | Allow::AdministratorCreated, _) => {
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
            Some(pw) => Some(
                self.hasher
                    .hash(pw, bytes::<SALT_LEN>(&*self.random)?)
                    .await?,
            ),
            None => None,
        };
        let token = match draft.token {
            Some(t) => t,
            None => UserToken::generate(bytes::<GENERATED_TOKEN_BYTES>(&*self.random)?),
        };
        let created = self
            .store
            .create_account(NewAccount {
                email: draft.email,
                username: draft.username,
                first_name: draft.first_name,
                last_name: draft.last_name,
                password_hash,
                token_digest: self.token_digest(token.expose()),
                placement,
                now: self.now_micros(),
            })
            .await
            .map_err(|e| match e {
                StoreError::EmailTaken => AppError::EmailTaken,
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
        Ok((created, token))
    }

    /// The first-run account. Idempotent: an existing account is left alone.
    pub async fn bootstrap(&self, req: BootstrapRequest) -> Result<BootstrapOutcome, AppError> {
        let email = Email::parse(&req.username).map_err(AppError::invalid(Field::Username))?;
        let token = req
            .user_token
            .as_ref()
            .map(|t| UserToken::parse_given(t.expose()))
            .transpose()
            .map_err(AppError::invalid(Field::Token))?;
        let password = self
            .config
            .password_policy
            .check(req.password.expose(), Some(&email))
            .map_err(AppError::invalid(Field::Password))?;
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
        };
        match self.create_account(admission, None, draft).await {
            Ok((created, _token)) => Ok(BootstrapOutcome::Created {
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
        let admission = self
            .admit(
                Channel::SelfService,
                req.invite.as_ref().map(SecretString::expose),
            )
            .await?;
        if let Some(ip) = req.client {
            self.throttle(vec![(
                format!("signup:client:{ip}"),
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
        };
        self.create_account(admission, None, draft).await
    }

    /// An owner, administrator or the operator creates a user. Without a
    /// password the account exists but cannot log in until one is set.
    pub async fn create_user(
        &self,
        actor: &Actor,
        req: CreateUserRequest,
    ) -> Result<(CreatedAccount, UserToken), AppError> {
        let organization = match *actor {
            Actor::Operator => self.store.first_organization().await?.map(|o| o.id),
            Actor::Member {
                organization_id,
                role,
                ..
            } => {
                if !self.config.role_policy.may(role, Action::CreateUser) {
                    return Err(AppError::Forbidden);
                }
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
        };
        self.create_account(admission, organization, draft).await
    }

    /// Email and password, with no client address (see [`Services::login_from`]).
    pub async fn login(
        &self,
        email: &str,
        password: &SecretString,
    ) -> Result<UserRecord, AppError> {
        self.login_from(email, password, None).await
    }

    /// Email and password. Every failure is the same error and costs one
    /// hash, whether the email is unknown, the password wrong or the user
    /// inactive. Each attempt is counted against the account and the client
    /// address before the hash; a throttled attempt is refused without
    /// looking at the password, so the answer is the same whether it was
    /// right or wrong. A success forgets the account's failures.
    pub async fn login_from(
        &self,
        email: &str,
        password: &SecretString,
        client: Option<IpAddr>,
    ) -> Result<UserRecord, AppError> {
        let (user, account_key) = self.check_login(email, password, client).await?;
        self.store.throttle_clear(&account_key).await?;
        Ok(user)
    }

    /// [`Services::login_from`], then a new session in the same transaction
    /// that forgets the account's failures and ends the browser's previous
    /// session (`replacing`): one commit after the hash, not three.
    pub async fn log_in(
        &self,
        email: &str,
        password: &SecretString,
        client: Option<IpAddr>,
        replacing: Option<&str>,
    ) -> Result<(UserRecord, SecretString), AppError> {
        let (user, account_key) = self.check_login(email, password, client).await?;
        let id = self
            .open_session(user.id, replacing, Some(account_key))
            .await?;
        Ok((user, id))
    }

    /// The user whose email and password these are, and the throttle key
    /// of the account, which a success is to forget.
    async fn check_login(
        &self,
        email: &str,
        password: &SecretString,
        client: Option<IpAddr>,
    ) -> Result<(UserRecord, String), AppError> {
        let parsed = Email::parse(email).ok();
        let account_key = login_account_key(parsed.as_ref(), email);
        let mut keys = vec![(account_key.clone(), self.config.throttle.login_per_account)];
        if let Some(ip) = client {
            keys.push((
                format!("login:client:{ip}"),
                self.config.throttle.login_per_client,
            ));
        }
        self.throttle(keys).await?;
        let Some(password) = Password::for_login(password.expose()) else {
            return Err(AppError::BadCredentials);
        };
        let user = match &parsed {
            Some(e) => self.store.user_by_email(e).await?,
            None => None,
        };
        let stored = user.as_ref().and_then(|u| u.password_hash.clone());
        let matches = self.hasher.verify(password, stored).await?;
        match user {
            Some(u) if matches && u.is_active => Ok((u, account_key)),
            _ => Err(AppError::BadCredentials),
        }
    }

    /// Counts an attempt against every key; refused while any is locked.
    async fn throttle(&self, keys: Vec<(String, Limit)>) -> Result<(), AppError> {
        let keys: Vec<_> = keys.into_iter().filter(|(_, l)| !l.is_off()).collect();
        if keys.is_empty() {
            return Ok(());
        }
        let now = self.now_micros().div_euclid(1_000_000);
        match self.store.throttle_admit(keys, now).await? {
            Ok(()) => Ok(()),
            Err(until) => {
                tracing::warn!(retry_after_secs = until - now, "attempt throttled");
                Err(AppError::Throttled {
                    retry_after_secs: (until - now).max(1),
                })
            }
        }
    }

    /// `ls-admin user unlock`: forgets the account's failed logins and, with
    /// an address, that client's login and sign-up counts. `true` if anything
    /// was locked or counted.
    pub async fn unlock(&self, email: &str, client: Option<IpAddr>) -> Result<bool, AppError> {
        let user = self.find_user(email).await?;
        let mut any = self
            .store
            .throttle_clear(&login_account_key(Some(&user.email), email))
            .await?;
        if let Some(ip) = client {
            any |= self
                .store
                .throttle_clear(&format!("login:client:{ip}"))
                .await?;
            any |= self
                .store
                .throttle_clear(&format!("signup:client:{ip}"))
                .await?;
        }
        tracing::info!(user_id = user.id, "throttling cleared");
        Ok(any)
    }

    /// The user a presented API token belongs to (active or not: the caller
    /// says "User inactive or deleted.").
    pub async fn authenticate_token(&self, token: &str) -> Result<Option<UserRecord>, AppError> {
        Ok(self
            .store
            .caller_by_token(&self.token_digest(token))
            .await?
            .map(|c| c.user))
    }

    /// A user resetting their own token (API or account page): counted
    /// against the per-user flood limit. The operator's `ls-admin token
    /// reset` is not.
    pub async fn reset_own_token(&self, user_id: i64) -> Result<UserToken, AppError> {
        self.throttle(vec![(
            format!("token-reset:user:{user_id}"),
            self.config.throttle.token_reset_per_user,
        )])
        .await?;
        self.reset_token(user_id).await
    }

    /// A new API token for the user, returned once; the old one stops working.
    pub async fn reset_token(&self, user_id: i64) -> Result<UserToken, AppError> {
        let token = UserToken::generate(bytes::<GENERATED_TOKEN_BYTES>(&*self.random)?);
        self.store
            .replace_token(
                user_id,
                self.token_digest(token.expose()),
                self.now_micros(),
            )
            .await?;
        tracing::info!(user_id, "API token reset");
        Ok(token)
    }

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
            .hash(password, bytes::<SALT_LEN>(&*self.random)?)
            .await?;
        self.store
            .set_password_hash(user.id, hash, self.now_micros())
            .await?;
        tracing::info!(user_id = user.id, "password changed");
        Ok(user)
    }

    pub async fn set_active(&self, email: &str, active: bool) -> Result<UserRecord, AppError> {
        let user = self.find_user(email).await?;
        self.store
            .set_active(user.id, active, self.now_micros())
            .await?;
        tracing::info!(user_id = user.id, active, "user activation changed");
        Ok(user)
    }

    async fn actor_organization(
        &self,
        actor: &Actor,
        action: Action,
    ) -> Result<OrgRecord, AppError> {
        match *actor {
            Actor::Operator => self
                .store
                .first_organization()
                .await?
                .ok_or(AppError::NoOrganization),
            Actor::Member {
                organization_id,
                role,
                ..
            } => {
                if !self.config.role_policy.may(role, action) {
                    return Err(AppError::Forbidden);
                }
                self.store
                    .organization(organization_id)
                    .await?
                    .ok_or(AppError::NotFound("Organization"))
            }
        }
    }

    /// The current invite link of the actor's organization.
    pub async fn invite_link(&self, actor: &Actor) -> Result<(OrgRecord, InviteToken), AppError> {
        let org = self
            .actor_organization(actor, Action::ViewInviteLink)
            .await?;
        let token = org.invite.token(self.key.as_bytes());
        Ok((org, token))
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

    /// The current invite token of an organization (for those allowed to see it).
    pub fn invite_token_of(&self, org: &OrgRecord) -> InviteToken {
        org.invite.token(self.key.as_bytes())
    }

    /// **Reset Link**: the old link registers no one from now on.
    pub async fn reset_invite(&self, actor: &Actor) -> Result<(OrgRecord, InviteToken), AppError> {
        let org = self
            .actor_organization(actor, Action::ResetInviteLink)
            .await?;
        let state = org
            .invite
            .rotated(bytes::<{ invites::SALT_LEN }>(&*self.random)?);
        let token = state.token(self.key.as_bytes());
        let org = self
            .store
            .rotate_invite(org.id, state, self.invite_digest(&token), self.now_micros())
            .await?;
        tracing::info!(
            organization_id = org.id,
            generation = org.invite.generation(),
            "invite link reset"
        );
        Ok((org, token))
    }

    /// A new server-side session; the returned id goes to the client only.
    pub async fn start_session(&self, user_id: i64) -> Result<SecretString, AppError> {
        self.open_session(user_id, None, None).await
    }

    /// A new session that ends the browser's previous one (`replacing`), in one transaction.
    pub async fn start_session_replacing(
        &self,
        user_id: i64,
        replacing: Option<&str>,
    ) -> Result<SecretString, AppError> {
        self.open_session(user_id, replacing, None).await
    }

    async fn open_session(
        &self,
        user_id: i64,
        replacing: Option<&str>,
        forgets: Option<String>,
    ) -> Result<SecretString, AppError> {
        let raw = bytes::<32>(&*self.random)?;
        let id = hex::encode(raw);
        let now = self.now_micros();
        let expires_at =
            now.saturating_add(self.config.session_lifetime_secs.saturating_mul(1_000_000));
        self.store
            .create_session(NewSession {
                digest: self.key.digest(SESSION, id.as_bytes()),
                user_id,
                now,
                expires_at,
                replaces: replacing.map(|old| self.key.digest(SESSION, old.as_bytes())),
                forgets,
            })
            .await?;
        Ok(SecretString::new(id))
    }

    /// The user of a live session: within its absolute lifetime and used
    /// within the idle timeout. Use keeps it alive (the last-seen time is
    /// written at most every quarter of the idle timeout, and at most every
    /// minute, so reads do not all become writes).
    pub async fn session_user(&self, session_id: &str) -> Result<Option<UserRecord>, AppError> {
        let now = self.now_micros();
        let idle = self
            .config
            .session_idle_timeout_secs
            .saturating_mul(1_000_000);
        let touch_every = (idle / 4).min(60_000_000);
        Ok(self
            .store
            .session_user(
                &self.key.digest(SESSION, session_id.as_bytes()),
                now,
                now.saturating_sub(idle),
                now.saturating_sub(touch_every),
            )
            .await?)
    }

    pub async fn end_session(&self, session_id: &str) -> Result<(), AppError> {
        Ok(self
            .store
            .delete_session(&self.key.digest(SESSION, session_id.as_bytes()))
            .await?)
    }
}

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
}

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

/// The throttle key of a login email: its normal form when it parses (so
/// case and spacing do not make new keys), otherwise the trimmed,
/// lower-cased text, bounded.
fn login_account_key(parsed: Option<&Email>, raw: &str) -> String {
    match parsed {
        Some(e) => format!("login:account:{}", e.as_str()),
        None => {
            let t: String = raw.trim().to_lowercase().chars().take(254).collect();
            format!("login:account:{t}")
        }
    }
}
