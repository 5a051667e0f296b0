//! API credentials on each request: the legacy key and the access tokens
//! made from personal access tokens, with the organization's token
//! settings applied; and resetting the legacy key.
//!
//! Policy (SECURITY.md): an access token is honoured only while the refresh
//! token it came from is live in the database, so a revocation, a rotation,
//! or the deletion of the user stops it at the next request on every
//! instance. Deactivation stops both kinds at once. A password change
//! ends sessions but leaves both kinds of key alone (as Label Studio does
//! for its legacy key): revoke or reset a key that leaked.

use accounts::UserToken;
use accounts::pat::{self, TokenType};

use crate::caller::{Caller, OrgMeta};
use crate::error::{AppError, Unauthenticated};
use crate::services::Services;
use crate::store::{CallerRecord, Store};
use crate::throttle::token_reset_key;

/// How a request presented an API credential.
#[derive(Debug, Clone, Copy)]
pub enum Credential<'a> {
    /// `Authorization: Token <key>` or a non-JWT `X-Api-Key`.
    Legacy(&'a str),
    /// `Authorization: Bearer <jwt>` or a JWT in `X-Api-Key`.
    Access(&'a str),
}

impl<S: Store> Services<S> {
    /// The caller an API credential stands for, or why it stands for no one.
    pub async fn token_caller(&self, credential: Credential<'_>) -> Result<Caller, AppError> {
        self.token_caller_from(credential, None).await
    }

    /// [`Services::token_caller`] for a request from `client`: a legacy key
    /// that matches no one counts against the client's address (in this
    /// process's memory), and an address with too many such failures is
    /// refused (429) before its credential is looked at, so an online
    /// search for a short key stops there.
    pub async fn token_caller_from(
        &self,
        credential: Credential<'_>,
        client: Option<std::net::IpAddr>,
    ) -> Result<Caller, AppError> {
        let limit = self.config.throttle.token_failures_per_client;
        let client = client
            .filter(|_| !limit.is_off())
            .map(crate::throttle::client_net);
        let now = self.now_secs();
        let throttled = |until: i64| AppError::Throttled {
            retry_after_secs: (until - now).max(1),
        };
        if let Some(c) = client {
            self.token_failures.check(c, now).map_err(throttled)?;
        }
        let mut found = self.credential_caller(credential).await;
        if let Ok(caller) = &mut found {
            self.seen(&mut caller.user).await;
        }
        // Only a legacy key that matches no one is a guess worth counting:
        // an access token is signed (it cannot be guessed), and a known
        // key refused for a setting (inactive user, legacy keys disabled)
        // is a script to fix, not a search, and must not lock out a team.
        if let (Some(c), Err(AppError::Unauthenticated(Unauthenticated::UnknownToken))) =
            (client, &found)
            && let Err(until) = self.token_failures.fail(c, limit, now)
        {
            tracing::warn!(
                retry_after_secs = until - now,
                "too many failed API-token authentications from one address"
            );
        }
        found
    }

    async fn credential_caller(&self, credential: Credential<'_>) -> Result<Caller, AppError> {
        let refused = |why| AppError::Unauthenticated(why);
        let (record, legacy) = match credential {
            Credential::Legacy(key) => {
                match self.store.caller_by_token(&self.token_digest(key)).await? {
                    Some(c) => (c, true),
                    None => return Err(refused(Unauthenticated::UnknownToken)),
                }
            }
            Credential::Access(jwt) => {
                let claims = pat::decode(&self.jwt_key, jwt, TokenType::Access, self.now_secs())
                    .map_err(|_| refused(Unauthenticated::InvalidOrExpired))?;
                let Some(rjti) = claims.rjti.as_deref() else {
                    return Err(refused(Unauthenticated::InvalidOrExpired));
                };
                match self
                    .store
                    .caller_by_personal_token(rjti, claims.user_id, self.now_micros())
                    .await?
                {
                    Some(c) => (c, false),
                    None => return Err(refused(Unauthenticated::InvalidOrExpired)),
                }
            }
        };
        let CallerRecord {
            user,
            membership,
            organization,
            owner_email,
        } = record;
        if !user.is_active {
            return Err(refused(Unauthenticated::Inactive));
        }
        let membership = membership
            .filter(|m| m.removed_at.is_none())
            .map(|m| (m.organization_id, m.role));
        if let (Some(_), Some(org)) = (membership, &organization) {
            if legacy && !org.tokens.legacy_api_tokens_enabled {
                return Err(refused(Unauthenticated::LegacyTokensDisabled));
            }
            if !legacy && !org.tokens.api_tokens_enabled {
                return Err(refused(Unauthenticated::PersonalTokensDisabled));
            }
        }
        let org_meta = match organization {
            Some(org) => OrgMeta {
                title: org.title,
                owner_email: owner_email.unwrap_or_default(),
            },
            None => OrgMeta::default(),
        };
        Ok(Caller {
            user,
            membership,
            org_meta: Some(org_meta),
        })
    }

    /// The user a presented API token belongs to, active or not (for tests:
    /// requests go through [`Services::token_caller`]).
    #[cfg(any(test, feature = "testing"))]
    pub async fn authenticate_token(
        &self,
        token: &str,
    ) -> Result<Option<crate::store::UserRecord>, AppError> {
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
            token_reset_key(user_id),
            self.config.throttle.token_reset_per_user,
        )])
        .await?;
        self.replace_api_token(user_id, true).await
    }

    /// A new API token for the user, returned once; the old one stops working.
    pub async fn reset_token(&self, user_id: i64) -> Result<UserToken, AppError> {
        self.replace_api_token(user_id, false).await
    }

    async fn replace_api_token(&self, user_id: i64, own: bool) -> Result<UserToken, AppError> {
        let token = UserToken::generate(self.random::<{ accounts::GENERATED_TOKEN_BYTES }>()?);
        let mut audit = self
            .audit_entry_on("token.reset", None, user_id, None)
            .await?;
        if own {
            audit.actor_id = audit.target_user_id;
            audit.actor = audit.target.clone();
        }
        self.store
            .audited(
                audit,
                self.store.replace_token(
                    user_id,
                    self.token_digest(token.expose()),
                    self.now_micros(),
                ),
            )
            .await?;
        tracing::info!(user_id, "API token reset");
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use accounts::throttle::Limit;
    use orgs::Role;

    use super::*;
    use crate::testkit::{OWNER, fixture};
    use crate::{ServicesConfig, ThrottleConfig, TokenSettingsPatch};

    fn refusal(r: Result<Caller, AppError>) -> Unauthenticated {
        match r {
            Err(AppError::Unauthenticated(why)) => why,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_reset_token_replaces_the_old_one_at_once() {
        let f = fixture(ServicesConfig::default());
        let owner = f.owner().await;
        let old = f.svc.reset_token(owner.user.id).await.unwrap();
        let caller = f
            .svc
            .token_caller(Credential::Legacy(old.expose()))
            .await
            .unwrap();
        assert_eq!(caller.user.email.as_str(), OWNER);
        assert_eq!(caller.membership, owner.membership);
        let meta = caller.org_meta.unwrap();
        assert_eq!(
            (meta.title.as_str(), meta.owner_email.as_str()),
            ("Label Studio", OWNER)
        );
        let new = f.svc.reset_token(owner.user.id).await.unwrap();
        assert_ne!(old.expose(), new.expose());
        assert_eq!(
            refusal(f.svc.token_caller(Credential::Legacy(old.expose())).await),
            Unauthenticated::UnknownToken
        );
        assert!(
            f.svc
                .token_caller(Credential::Legacy(new.expose()))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn inactive_users_and_disabled_legacy_keys_are_refused() {
        let f = fixture(ServicesConfig::default());
        let owner = f.owner().await;
        let member = f.add("m@example.com", Role::Member).await;
        let key = f.svc.reset_token(member.user.id).await.unwrap();
        f.svc
            .set_token_settings(
                &owner,
                TokenSettingsPatch {
                    legacy_api_tokens_enabled: Some(false),
                    ..TokenSettingsPatch::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            refusal(f.svc.token_caller(Credential::Legacy(key.expose())).await),
            Unauthenticated::LegacyTokensDisabled
        );
        f.svc.set_active("m@example.com", false).await.unwrap();
        assert_eq!(
            refusal(f.svc.token_caller(Credential::Legacy(key.expose())).await),
            Unauthenticated::Inactive
        );
        assert_eq!(
            refusal(f.svc.token_caller(Credential::Access("a.b.c")).await),
            Unauthenticated::InvalidOrExpired
        );
    }

    #[tokio::test]
    async fn own_resets_are_throttled_and_the_operators_are_not() {
        let f = fixture(ServicesConfig {
            throttle: ThrottleConfig {
                token_reset_per_user: Limit {
                    max_events: 2,
                    window_secs: 900,
                    lockout_secs: 900,
                },
                ..ThrottleConfig::default()
            },
            ..ServicesConfig::default()
        });
        let owner = f.owner().await;
        for _ in 0..2 {
            f.svc.reset_own_token(owner.user.id).await.unwrap();
        }
        assert!(matches!(
            f.svc.reset_own_token(owner.user.id).await,
            Err(AppError::Throttled { .. })
        ));
        assert!(f.svc.reset_token(owner.user.id).await.is_ok());
    }
}
