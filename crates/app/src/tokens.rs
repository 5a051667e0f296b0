//! API credentials: legacy keys and personal access tokens (JWT refresh
//! tokens traded for short-lived access tokens), with the organization's
//! token settings applied on every request.
//!
//! Policy (SECURITY.md): an access token is honoured only while the refresh
//! token it came from is live in the database, so a revocation, a rotation,
//! or the deletion of the user stops it at the next request on every
//! instance. Deactivation stops both kinds at once. A password change
//! ends sessions but leaves both kinds of key alone (as Label Studio does
//! for its legacy key): revoke or reset a key that leaked.

use accounts::pat::{self, Claims, JTI_BYTES, TokenType};
use accounts::{HotkeyError, Hotkeys};
use orgs::{Action, TokenSettings};

use crate::random::bytes;
use crate::{
    AppError, Caller, CallerContext, OrgRecord, PersonalTokenRecord, Services, Store, StoreError,
};

/// How a request presented an API credential.
#[derive(Debug, Clone, Copy)]
pub enum Credential<'a> {
    /// `Authorization: Token <key>` or a non-JWT `X-Api-Key`.
    Legacy(&'a str),
    /// `Authorization: Bearer <jwt>` or a JWT in `X-Api-Key`.
    Access(&'a str),
}

const INVALID_TOKEN: &str = "Invalid token.";
const INACTIVE: &str = "User inactive or deleted.";
const JWT_INVALID: &str = "Token is invalid or expired";
const LEGACY_DISABLED: &str = "Authentication token no longer valid: legacy token authentication has been disabled for this organization";
const PAT_DISABLED: &str = "Authentication token no longer valid: personal access tokens have been disabled for this organization";

/// A personal access token as its owner may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalToken {
    /// The full token when just created; otherwise `header.payload` only.
    pub token: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A change to an organization's token settings; `None` leaves one alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenSettingsPatch {
    pub api_tokens_enabled: Option<bool>,
    pub legacy_api_tokens_enabled: Option<bool>,
    pub api_token_ttl_days: Option<i64>,
}

fn secs(micros: i64) -> i64 {
    micros.div_euclid(1_000_000)
}

fn micros(secs: i64) -> i64 {
    secs.saturating_mul(1_000_000)
}

impl<S: Store> Services<S> {
    fn now_secs(&self) -> i64 {
        secs(self.now_micros())
    }

    fn jti(&self) -> Result<[u8; JTI_BYTES], AppError> {
        bytes::<JTI_BYTES>(&*self.random)
    }

    async fn settings_of(&self, caller: &Caller) -> Result<Option<OrgRecord>, AppError> {
        match caller.membership {
            Some((org, _)) => Ok(self.store().organization(org).await?),
            None => Ok(None),
        }
    }

    /// The caller an API credential stands for, or why it stands for no one.
    pub async fn token_caller(&self, credential: Credential<'_>) -> Result<Caller, AppError> {
        let (context, legacy) = match credential {
            Credential::Legacy(key) => match self
                .store()
                .caller_by_token(&self.token_digest(key))
                .await?
            {
                Some(c) => (c, true),
                None => return Err(AppError::Unauthenticated(INVALID_TOKEN)),
            },
            Credential::Access(jwt) => {
                let claims = pat::decode(&self.jwt_key, jwt, TokenType::Access, self.now_secs())
                    .map_err(|_| AppError::Unauthenticated(JWT_INVALID))?;
                let Some(rjti) = claims.rjti.as_deref() else {
                    return Err(AppError::Unauthenticated(JWT_INVALID));
                };
                match self
                    .store()
                    .caller_by_personal_token(rjti, claims.user_id, self.now_micros())
                    .await?
                {
                    Some(c) => (c, false),
                    None => return Err(AppError::Unauthenticated(JWT_INVALID)),
                }
            }
        };
        let CallerContext {
            user,
            membership,
            organization,
            owner_email,
        } = context;
        if !user.is_active {
            return Err(AppError::Unauthenticated(INACTIVE));
        }
        let membership = membership
            .filter(|m| m.removed_at.is_none())
            .map(|m| (m.organization_id, m.role));
        if let (Some(_), Some(org)) = (membership, &organization) {
            if legacy && !org.tokens.legacy_api_tokens_enabled {
                return Err(AppError::Unauthenticated(LEGACY_DISABLED));
            }
            if !legacy && !org.tokens.api_tokens_enabled {
                return Err(AppError::Unauthenticated(PAT_DISABLED));
            }
        }
        let org_meta = match organization {
            Some(org) => (org.title, owner_email.unwrap_or_default()),
            None => (String::new(), String::new()),
        };
        Ok(Caller {
            user,
            membership,
            org_meta: Some(org_meta),
        })
    }

    /// The claims and record of a new refresh token for the caller, with the
    /// lifetime their organization sets; refused where the organization has
    /// personal access tokens off.
    async fn new_refresh(
        &self,
        caller: &Caller,
    ) -> Result<(Claims, PersonalTokenRecord, i64), AppError> {
        let (org_id, _) = caller.active()?;
        let org = self
            .store()
            .organization(org_id)
            .await?
            .ok_or(AppError::NotFound("Organization"))?;
        if !org.tokens.api_tokens_enabled {
            return Err(AppError::PersonalTokensDisabled);
        }
        let now = self.now_micros();
        let claims = Claims::refresh(
            caller.user.id,
            self.jti()?,
            secs(now),
            org.tokens.ttl_secs(),
        );
        let record = PersonalTokenRecord {
            jti: claims.jti.clone(),
            user_id: caller.user.id,
            created_at: now,
            expires_at: micros(claims.exp),
            revoked_at: None,
        };
        Ok((claims, record, now))
    }

    /// A new personal access token for the caller, shown this once.
    pub async fn create_personal_token(&self, caller: &Caller) -> Result<PersonalToken, AppError> {
        let (claims, record, now) = self.new_refresh(caller).await?;
        self.store()
            .create_personal_token(record.clone(), now)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => AppError::PersonalTokenExists,
                other => AppError::Store(other),
            })?;
        tracing::info!(user_id = caller.user.id, "personal access token created");
        Ok(PersonalToken {
            token: pat::encode(&self.jwt_key, &claims),
            created_at: record.created_at,
            expires_at: record.expires_at,
        })
    }

    /// The caller's live tokens, without signatures (unusable as credentials).
    pub async fn personal_tokens(&self, caller: &Caller) -> Result<Vec<PersonalToken>, AppError> {
        let rows = self
            .store()
            .personal_tokens(caller.user.id, self.now_micros())
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let claims = Claims {
                    token_type: TokenType::Refresh,
                    exp: secs(r.expires_at),
                    iat: secs(r.created_at),
                    jti: r.jti,
                    user_id: r.user_id,
                    rjti: None,
                };
                PersonalToken {
                    token: pat::unsigned(&claims),
                    created_at: r.created_at,
                    expires_at: r.expires_at,
                }
            })
            .collect())
    }

    /// Verifies a refresh token and finds its live record.
    async fn live_refresh(&self, refresh: &str) -> Result<(Claims, PersonalTokenRecord), AppError> {
        let claims = pat::decode(&self.jwt_key, refresh, TokenType::Refresh, self.now_secs())
            .map_err(|_| AppError::Unauthenticated(JWT_INVALID))?;
        let record = self
            .store()
            .personal_token(&claims.jti)
            .await?
            .filter(|r| r.user_id == claims.user_id)
            .ok_or(AppError::Unauthenticated(JWT_INVALID))?;
        Ok((claims, record))
    }

    /// `POST /api/token/refresh/`: an access token for a live refresh token
    /// of an active user whose organization allows personal access tokens.
    pub async fn refresh_access(&self, refresh: &str) -> Result<String, AppError> {
        let (claims, record) = self.live_refresh(refresh).await?;
        if !record.is_live(self.now_micros()) {
            return Err(AppError::Unauthenticated(JWT_INVALID));
        }
        let user = self
            .store()
            .user_by_id(claims.user_id)
            .await?
            .filter(|u| u.is_active)
            .ok_or(AppError::Unauthenticated(JWT_INVALID))?;
        let caller = self.caller(user).await?;
        if let Some(org) = self.settings_of(&caller).await?
            && !org.tokens.api_tokens_enabled
        {
            return Err(AppError::Unauthenticated(PAT_DISABLED));
        }
        let access = claims.access_for(
            self.jti()?,
            self.now_secs(),
            self.config.access_token_lifetime_secs,
        );
        Ok(pat::encode(&self.jwt_key, &access))
    }

    /// A signed token of the caller's own, or a refusal: Label Studio lets
    /// anyone revoke a token from its unsigned half, and rotate another's.
    async fn own_refresh(
        &self,
        caller: &Caller,
        refresh: &str,
    ) -> Result<PersonalTokenRecord, AppError> {
        let (_, record) = self.live_refresh(refresh).await?;
        if record.user_id != caller.user.id {
            return Err(AppError::NotTokenOwner);
        }
        Ok(record)
    }

    /// `POST /api/token/blacklist/`: revokes one of the caller's tokens.
    pub async fn revoke_personal_token(
        &self,
        caller: &Caller,
        refresh: &str,
    ) -> Result<(), AppError> {
        let record = self.own_refresh(caller, refresh).await?;
        if !self
            .store()
            .revoke_personal_token(&record.jti, self.now_micros())
            .await?
        {
            return Err(AppError::PersonalTokenRevoked);
        }
        tracing::info!(user_id = caller.user.id, "personal access token revoked");
        Ok(())
    }

    /// `POST /api/token/rotate/`: revokes one of the caller's tokens and
    /// returns its replacement, in one transaction.
    pub async fn rotate_personal_token(
        &self,
        caller: &Caller,
        refresh: &str,
    ) -> Result<String, AppError> {
        let old = self.own_refresh(caller, refresh).await?;
        let (claims, new, now) = self.new_refresh(caller).await?;
        if !self
            .store()
            .rotate_personal_token(&old.jti, new, now)
            .await?
        {
            return Err(AppError::PersonalTokenRevoked);
        }
        tracing::info!(user_id = caller.user.id, "personal access token rotated");
        Ok(pat::encode(&self.jwt_key, &claims))
    }

    /// The caller's organization's token settings.
    pub async fn token_settings(&self, caller: &Caller) -> Result<TokenSettings, AppError> {
        let (org_id, _) = caller.active()?;
        Ok(self
            .store()
            .organization(org_id)
            .await?
            .ok_or(AppError::NotFound("Organization"))?
            .tokens)
    }

    /// Owner and administrators change them; a member gets 403 before the
    /// input is looked at.
    pub async fn set_token_settings(
        &self,
        caller: &Caller,
        patch: TokenSettingsPatch,
    ) -> Result<TokenSettings, AppError> {
        let (org_id, role) = caller.active()?;
        if !self
            .config
            .role_policy
            .may(role, Action::ChangeTokenSettings)
        {
            return Err(AppError::Forbidden);
        }
        let mut settings = self.token_settings(caller).await?;
        if let Some(b) = patch.api_tokens_enabled {
            settings.api_tokens_enabled = b;
        }
        if let Some(b) = patch.legacy_api_tokens_enabled {
            settings.legacy_api_tokens_enabled = b;
        }
        if let Some(days) = patch.api_token_ttl_days {
            settings.api_token_ttl_days = TokenSettings::ttl_days(days)
                .map_err(|e| AppError::Validation(vec![("api_token_ttl_days", e.to_string())]))?;
        }
        let org = self
            .store()
            .set_token_settings(org_id, settings, self.now_micros())
            .await?;
        tracing::info!(
            organization_id = org_id,
            api_tokens_enabled = org.tokens.api_tokens_enabled,
            legacy_api_tokens_enabled = org.tokens.legacy_api_tokens_enabled,
            api_token_ttl_days = org.tokens.api_token_ttl_days,
            "token settings changed"
        );
        Ok(org.tokens)
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
        self.store()
            .set_hotkeys(caller.user.id, hotkeys.to_stored(), self.now_micros())
            .await?;
        Ok(hotkeys)
    }
}
