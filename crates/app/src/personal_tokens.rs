//! Personal access tokens (JWT refresh tokens traded for short-lived access
//! tokens) and the organization's token settings.

use accounts::pat::{self, Claims, JTI_BYTES, TokenType};
use orgs::{Action, TokenSettings};

use crate::caller::Caller;
use crate::error::{AppError, Unauthenticated};
use crate::services::Services;
use crate::store::{OrgRecord, PersonalTokenRecord, Store, StoreError};

/// A personal access token as its owner may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalToken {
    /// The full token when just created; otherwise `header.payload` only.
    pub token: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// Its id (the JWT's `jti`): what the account page revokes it by.
    pub jti: String,
    /// When an access token was last made from it.
    pub last_used_at: Option<i64>,
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

const INVALID: AppError = AppError::Unauthenticated(Unauthenticated::InvalidOrExpired);

impl<S: Store> Services<S> {
    /// The caller's active organization.
    async fn active_organization(&self, caller: &Caller) -> Result<OrgRecord, AppError> {
        let (org_id, _) = caller.active()?;
        self.store
            .organization(org_id)
            .await?
            .ok_or(AppError::NotFound("Organization"))
    }

    /// The claims and record of a new refresh token for the caller, with the
    /// lifetime their organization sets; refused where the organization has
    /// personal access tokens off.
    async fn new_refresh(
        &self,
        caller: &Caller,
    ) -> Result<(Claims, PersonalTokenRecord, i64), AppError> {
        let org = self.active_organization(caller).await?;
        if !org.tokens.api_tokens_enabled {
            return Err(AppError::PersonalTokensDisabled);
        }
        let now = self.now_micros();
        let claims = Claims::refresh(
            caller.user.id,
            self.random::<JTI_BYTES>()?,
            secs(now),
            org.tokens.ttl_secs(),
        );
        let record = PersonalTokenRecord {
            jti: claims.jti.clone(),
            user_id: caller.user.id,
            created_at: now,
            expires_at: micros(claims.exp),
            revoked_at: None,
            last_used_at: None,
        };
        Ok((claims, record, now))
    }

    /// A new personal access token for the caller, shown this once.
    pub async fn create_personal_token(&self, caller: &Caller) -> Result<PersonalToken, AppError> {
        let (claims, record, now) = self.new_refresh(caller).await?;
        let audit = self.audit_entry(
            "personal_token.created",
            Some(&caller.user),
            Some(&caller.user),
            self.member_org(&caller.user).await,
        );
        self.store
            .audited(audit, self.store.create_personal_token(record.clone(), now))
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
            jti: record.jti,
            last_used_at: None,
        })
    }

    /// The account page's **Create token**: the password asked again
    /// first (an account without one has nothing to ask).
    pub async fn create_personal_token_confirmed(
        &self,
        caller: &Caller,
        password: &crate::SecretString,
    ) -> Result<PersonalToken, AppError> {
        if caller.user.password_hash.is_some() {
            self.confirm_password(caller, password, "password").await?;
        }
        self.create_personal_token(caller).await
    }

    /// The account page's **Revoke**: one of the caller's own live tokens,
    /// by id.
    pub async fn revoke_personal_token_by_id(
        &self,
        caller: &Caller,
        jti: &str,
    ) -> Result<(), AppError> {
        let record = self
            .store
            .personal_token(jti)
            .await?
            .filter(|r| r.user_id == caller.user.id)
            .ok_or(AppError::NotFound("Token"))?;
        self.revoke_own(caller, &record).await
    }

    /// Revokes one of the caller's tokens, with its audit entry.
    async fn revoke_own(
        &self,
        caller: &Caller,
        record: &PersonalTokenRecord,
    ) -> Result<(), AppError> {
        let audit = self.audit_entry(
            "personal_token.revoked",
            Some(&caller.user),
            Some(&caller.user),
            self.member_org(&caller.user).await,
        );
        if !self
            .store
            .audited(
                audit,
                self.store
                    .revoke_personal_token(&record.jti, self.now_micros()),
            )
            .await?
        {
            return Err(AppError::PersonalTokenRevoked);
        }
        tracing::info!(user_id = caller.user.id, "personal access token revoked");
        Ok(())
    }

    /// The caller's live tokens, without signatures (unusable as credentials).
    pub async fn personal_tokens(&self, caller: &Caller) -> Result<Vec<PersonalToken>, AppError> {
        let rows = self
            .store
            .personal_tokens(caller.user.id, self.now_micros())
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let claims = Claims {
                    token_type: TokenType::Refresh,
                    exp: secs(r.expires_at),
                    iat: secs(r.created_at),
                    jti: r.jti.clone(),
                    user_id: r.user_id,
                    rjti: None,
                };
                PersonalToken {
                    token: pat::unsigned(&claims),
                    created_at: r.created_at,
                    expires_at: r.expires_at,
                    jti: r.jti,
                    last_used_at: r.last_used_at,
                }
            })
            .collect())
    }

    /// Verifies a refresh token and finds its record: one of ours by its
    /// signature, one signed by Label Studio (imported) by its digest.
    async fn live_refresh(&self, refresh: &str) -> Result<(Claims, PersonalTokenRecord), AppError> {
        let claims = match pat::decode(&self.jwt_key, refresh, TokenType::Refresh, self.now_secs())
        {
            Ok(claims) => claims,
            Err(_) => return self.legacy_refresh(refresh).await,
        };
        let record = self
            .store
            .personal_token(&claims.jti)
            .await?
            .filter(|r| r.user_id == claims.user_id)
            .ok_or(INVALID)?;
        Ok((claims, record))
    }

    /// A refresh token Label Studio signed, carried over by the import: the
    /// digest of the whole token is the proof (only its holder can present
    /// it); the record gives its claims. Access tokens made from it are ours.
    async fn legacy_refresh(
        &self,
        refresh: &str,
    ) -> Result<(Claims, PersonalTokenRecord), AppError> {
        if refresh.len() > pat::MAX_JWT_LEN || !pat::looks_like_jwt(refresh) {
            return Err(INVALID);
        }
        let record = self
            .store
            .personal_token_by_legacy_digest(&self.legacy_refresh_digest(refresh))
            .await?
            .ok_or(INVALID)?;
        if record.expires_at <= self.now_micros() {
            return Err(INVALID);
        }
        let claims = Claims {
            token_type: TokenType::Refresh,
            exp: secs(record.expires_at),
            iat: secs(record.created_at),
            jti: record.jti.clone(),
            user_id: record.user_id,
            rjti: None,
        };
        Ok((claims, record))
    }

    /// `POST /api/token/refresh/`: an access token for a live refresh token
    /// of an active user whose organization allows personal access tokens.
    pub async fn refresh_access(&self, refresh: &str) -> Result<String, AppError> {
        let (claims, record) = self.live_refresh(refresh).await?;
        if !record.is_live(self.now_micros()) {
            return Err(INVALID);
        }
        let user = self
            .store
            .user_by_id(claims.user_id)
            .await?
            .filter(|u| u.is_active)
            .ok_or(INVALID)?;
        let caller = self.caller(user).await?;
        if let Some((org_id, _)) = caller.membership
            && let Some(org) = self.store.organization(org_id).await?
            && !org.tokens.api_tokens_enabled
        {
            return Err(AppError::Unauthenticated(
                Unauthenticated::PersonalTokensDisabled,
            ));
        }
        let access = claims.access_for(
            self.random::<JTI_BYTES>()?,
            self.now_secs(),
            self.config.access_token_lifetime_secs,
        );
        // When it was last used, for the account page: at most a write a
        // minute per token; a failure is logged, never the refresh's error.
        let now = self.now_micros();
        if let Err(e) = self
            .store
            .mark_personal_token_used(&record.jti, now, now.saturating_sub(60_000_000))
            .await
        {
            tracing::warn!(error = %e, "a personal access token's last use was not recorded");
        }
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
        self.revoke_own(caller, &record).await
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
        let audit = self.audit_entry(
            "personal_token.rotated",
            Some(&caller.user),
            Some(&caller.user),
            self.member_org(&caller.user).await,
        );
        if !self
            .store
            .audited(audit, self.store.rotate_personal_token(&old.jti, new, now))
            .await?
        {
            return Err(AppError::PersonalTokenRevoked);
        }
        tracing::info!(user_id = caller.user.id, "personal access token rotated");
        Ok(pat::encode(&self.jwt_key, &claims))
    }

    /// The caller's organization's token settings.
    pub async fn token_settings(&self, caller: &Caller) -> Result<TokenSettings, AppError> {
        Ok(self.active_organization(caller).await?.tokens)
    }

    /// Owner and administrators change them; a member gets 403 before the
    /// input is looked at.
    pub async fn set_token_settings(
        &self,
        caller: &Caller,
        patch: TokenSettingsPatch,
    ) -> Result<TokenSettings, AppError> {
        let (org_id, role) = caller.active()?;
        self.require(role, Action::ChangeTokenSettings)?;
        let api_token_ttl_days =
            match patch.api_token_ttl_days {
                Some(days) => Some(TokenSettings::ttl_days(days).map_err(|e| {
                    AppError::Validation(vec![("api_token_ttl_days", e.to_string())])
                })?),
                None => None,
            };
        // The change goes to the store as a change, applied to the settings
        // read inside the write: two managers changing different settings
        // at once both see their change hold.
        let change = crate::store::TokenSettingsChange {
            api_tokens_enabled: patch.api_tokens_enabled,
            legacy_api_tokens_enabled: patch.legacy_api_tokens_enabled,
            api_token_ttl_days,
        };
        let org = self
            .store
            .set_token_settings(org_id, change, self.now_micros())
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
}

#[cfg(test)]
mod tests {
    use orgs::Role;

    use super::*;
    use crate::testkit::fixture;
    use crate::{Credential, ServicesConfig};

    #[tokio::test]
    async fn one_live_token_traded_for_access_until_revoked() {
        let f = fixture(ServicesConfig::default());
        let owner = f.owner().await;
        let pat = f.svc.create_personal_token(&owner).await.unwrap();
        assert!(matches!(
            f.svc.create_personal_token(&owner).await,
            Err(AppError::PersonalTokenExists)
        ));
        let listed = f.svc.personal_tokens(&owner).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert!(
            pat.token.starts_with(&listed[0].token),
            "the list shows no signature"
        );
        assert_eq!(listed[0].token.matches('.').count(), 1);
        let access = f.svc.refresh_access(&pat.token).await.unwrap();
        let me = f
            .svc
            .token_caller(Credential::Access(&access))
            .await
            .unwrap();
        assert_eq!(me.user.id, owner.user.id);
        f.svc
            .revoke_personal_token(&owner, &pat.token)
            .await
            .unwrap();
        assert!(matches!(
            f.svc.token_caller(Credential::Access(&access)).await,
            Err(AppError::Unauthenticated(Unauthenticated::InvalidOrExpired))
        ));
        assert!(matches!(
            f.svc.revoke_personal_token(&owner, &pat.token).await,
            Err(AppError::PersonalTokenRevoked)
        ));
        assert!(f.svc.refresh_access(&pat.token).await.is_err());
        assert!(f.svc.create_personal_token(&owner).await.is_ok());
    }

    #[tokio::test]
    async fn only_the_owner_of_a_token_revokes_or_rotates_it() {
        let f = fixture(ServicesConfig::default());
        let owner = f.owner().await;
        let other = f.add("m@example.com", Role::Administrator).await;
        let pat = f.svc.create_personal_token(&owner).await.unwrap();
        assert!(matches!(
            f.svc.revoke_personal_token(&other, &pat.token).await,
            Err(AppError::NotTokenOwner)
        ));
        assert!(matches!(
            f.svc.rotate_personal_token(&other, &pat.token).await,
            Err(AppError::NotTokenOwner)
        ));
        let rotated = f
            .svc
            .rotate_personal_token(&owner, &pat.token)
            .await
            .unwrap();
        assert!(f.svc.refresh_access(&pat.token).await.is_err());
        assert!(f.svc.refresh_access(&rotated).await.is_ok());
    }

    #[tokio::test]
    async fn token_settings_are_the_managers_and_switch_tokens_off() {
        let f = fixture(ServicesConfig::default());
        let owner = f.owner().await;
        let member = f.add("m@example.com", Role::Member).await;
        let off = TokenSettingsPatch {
            api_tokens_enabled: Some(false),
            ..TokenSettingsPatch::default()
        };
        assert!(matches!(
            f.svc.set_token_settings(&member, off).await,
            Err(AppError::Forbidden)
        ));
        let bad = TokenSettingsPatch {
            api_token_ttl_days: Some(-1),
            ..TokenSettingsPatch::default()
        };
        assert!(matches!(
            f.svc.set_token_settings(&owner, bad).await,
            Err(AppError::Validation(v)) if v[0].0 == "api_token_ttl_days"
        ));
        let pat = f.svc.create_personal_token(&member).await.unwrap();
        let settings = f.svc.set_token_settings(&owner, off).await.unwrap();
        assert!(!settings.api_tokens_enabled);
        assert!(matches!(
            f.svc.create_personal_token(&member).await,
            Err(AppError::PersonalTokensDisabled)
        ));
        assert!(matches!(
            f.svc.refresh_access(&pat.token).await,
            Err(AppError::Unauthenticated(
                Unauthenticated::PersonalTokensDisabled
            ))
        ));
    }
}
