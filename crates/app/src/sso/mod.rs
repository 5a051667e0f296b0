//! Single sign-on with OpenID Connect: leaving for a provider
//! ([`Services::sso_begin`]), coming back ([`Services::sso_complete`]),
//! and the identities linked to an account.
//!
//! Each flow starts from a browser secret: 256 random bits kept only in an
//! HttpOnly cookie of the browser that left. The `state` sent to the
//! provider is a keyed digest of it, and the PKCE verifier and the nonce are
//! derived from it with the deployment key: someone who sees the provider's
//! redirect back (code and state) can neither finish the flow in another
//! browser (the callback must bring the secret whose digest the state is)
//! nor compute the verifier. The flow is stored only as a digest of its
//! state, taken back once; a database dump holds no secret of it, and any
//! instance can finish a flow another began.
//! Who the identity is here follows `accounts::sso::link`; a new account
//! is made only as `signup-policy` allows (`Channel::SingleSignOn`).

use std::net::IpAddr;
use std::sync::Arc;

use accounts::Email;
use accounts::sso::{EmailClaim, Linking, Refusal};
use orgs::Role;

pub use crate::identity_providers::{
    AuthorizeRequest, BoxFuture, CodeExchange, IdentityProviders, ProviderError, ProviderInfo,
    VerifiedIdentity,
};

use crate::SecretString;
use crate::error::AppError;
pub use crate::error::SsoRefusal;
use crate::login::LoggedIn;
use crate::services::Services;
use crate::store::{IdentityRecord, NewIdentity, NewSsoFlow, Store, StoreError, UserRecord};

/// Digest purposes of the flow's values.
const STATE: &str = "sso-state";
/// The state sent to the provider, from the browser secret.
const STATE_OF: &str = "sso-state-of-browser-secret";
const PKCE: &str = "sso-pkce-verifier";
const NONCE: &str = "sso-nonce";
const STATE_BYTES: usize = 32;

/// Leaving for the provider: where to send the browser, and the secret to
/// keep in its cookie.
#[derive(Debug)]
pub struct SsoStart {
    pub url: String,
    pub browser_secret: SecretString,
}

/// What came back to `/user/sso/<name>/callback`.
#[derive(Debug, Default)]
pub struct SsoCallback<'a> {
    pub provider: &'a str,
    pub code: Option<&'a str>,
    pub state: Option<&'a str>,
    /// The provider's `error` parameter (the person cancelled, say).
    pub error: Option<&'a str>,
    /// The provider's `iss` parameter (RFC 9207), if it sent one.
    pub issuer: Option<&'a str>,
    /// The browser secret in our cookie.
    pub browser_secret: Option<&'a str>,
    pub redirect_uri: &'a str,
    /// The browser's current session, which the new one replaces.
    pub replacing: Option<&'a str>,
}

/// A completed single sign-on.
#[derive(Debug)]
pub struct SsoLogin {
    pub logged_in: LoggedIn,
    pub next: Option<String>,
    /// The account was made by this login.
    pub created: bool,
}

fn refused(r: SsoRefusal) -> AppError {
    AppError::SsoRefused(r)
}

impl<S: Store> Services<S> {
    /// The same use-cases with OpenID providers to log in with.
    pub fn with_identity_providers(mut self, providers: Arc<dyn IdentityProviders>) -> Self {
        self.sso = Some(providers);
        self
    }

    /// The configured providers (none without a configuration).
    pub fn identity_providers(&self) -> &[ProviderInfo] {
        self.sso.as_deref().map_or(&[], |p| p.providers())
    }

    fn provider(&self, name: &str) -> Result<&dyn IdentityProviders, AppError> {
        match self.sso.as_deref() {
            Some(p) if p.providers().iter().any(|i| i.name == name) => Ok(p),
            _ => Err(AppError::NotFound("Identity provider")),
        }
    }

    /// The PKCE verifier and the nonce of the flow with this browser secret.
    fn flow_secrets(&self, browser_secret: &str) -> (String, String) {
        (
            self.key.digest(PKCE, browser_secret.as_bytes()).to_hex(),
            self.key.digest(NONCE, browser_secret.as_bytes()).to_hex(),
        )
    }

    /// Leave for `provider`. A presented invite must be valid now (it is
    /// checked again when the account is made); `next` is kept for the
    /// return. Nothing is stored unless the provider could be asked.
    /// Each start counts against the client address (as failed logins do,
    /// `login_attempts_per_client`), and a finished flow takes its count
    /// back: only flows left unfinished add up.
    pub async fn sso_begin(
        &self,
        provider: &str,
        invite: Option<&str>,
        next: Option<String>,
        redirect_uri: &str,
        client: Option<IpAddr>,
    ) -> Result<SsoStart, AppError> {
        let port = self.provider(provider)?;
        let throttle_key = client.map(crate::throttle::sso_client_key);
        if let Some(key) = &throttle_key {
            self.throttle(vec![(key.clone(), self.config.throttle.login_per_client)])
                .await?;
        }
        let invite_digest = match invite {
            Some(raw) => Some(self.sso_invite(raw).await?),
            None => None,
        };
        let secret = hex::encode(self.random::<STATE_BYTES>()?);
        let state = self.key.digest(STATE_OF, secret.as_bytes()).to_hex();
        let (pkce_verifier, nonce) = self.flow_secrets(&secret);
        let url = port
            .authorize_url(AuthorizeRequest {
                provider,
                redirect_uri,
                state: &state,
                nonce: &nonce,
                pkce_verifier: &pkce_verifier,
            })
            .await
            .map_err(provider_error)?;
        let now = self.now_micros();
        let ttl = self.config.sso_flow_ttl_secs.saturating_mul(1_000_000);
        self.store
            .create_sso_flow(NewSsoFlow {
                state_digest: self.key.digest(STATE, state.as_bytes()),
                provider: provider.to_owned(),
                invite_digest,
                next,
                throttle_key,
                now,
                expires_at: now.saturating_add(ttl),
            })
            .await?;
        Ok(SsoStart {
            url,
            browser_secret: SecretString::new(secret),
        })
    }

    /// Back from the provider: the flow is taken (once), the code
    /// exchanged and the ID token checked, the identity found or linked or
    /// its account made, and a session started. Every refusal stores
    /// nothing but the flow's end.
    pub async fn sso_complete(&self, cb: SsoCallback<'_>) -> Result<SsoLogin, AppError> {
        let port = self.provider(cb.provider)?;
        let state = cb
            .state
            .filter(|s| !s.is_empty())
            .ok_or(refused(SsoRefusal::Flow))?;
        // The state must be the digest of this browser's secret (digests
        // compare in constant time).
        let secret = cb.browser_secret.filter(|b| {
            accounts::SecretDigest::from_hex(state)
                .is_some_and(|given| self.key.digest(STATE_OF, b.as_bytes()) == given)
        });
        let Some(secret) = secret else {
            tracing::info!(
                provider = cb.provider,
                "single sign-on refused: the state is not this browser's"
            );
            return Err(refused(SsoRefusal::Flow));
        };
        let digest = self.key.digest(STATE, state.as_bytes());
        let flow = self
            .store
            .take_sso_flow(&digest, self.now_micros())
            .await?
            .filter(|f| f.provider == cb.provider)
            .ok_or_else(|| {
                tracing::info!(
                    provider = cb.provider,
                    "single sign-on refused: no such flow (used, expired or made up)"
                );
                refused(SsoRefusal::Flow)
            })?;
        if let Some(error) = cb.error {
            // RFC 6749's characters for `error` only: nothing else reaches the log.
            let error: String = error
                .chars()
                .filter(|c| matches!(c, ' ' | '!' | '#'..='[' | ']'..='~'))
                .take(64)
                .collect();
            tracing::info!(provider = cb.provider, error = %error, "the identity provider refused");
            return Err(refused(SsoRefusal::Provider));
        }
        let code = cb
            .code
            .filter(|c| !c.is_empty())
            .ok_or(refused(SsoRefusal::Provider))?;
        let (pkce_verifier, nonce) = self.flow_secrets(secret);
        let identity = port
            .exchange(CodeExchange {
                provider: cb.provider,
                redirect_uri: cb.redirect_uri,
                code,
                pkce_verifier: &pkce_verifier,
                nonce: &nonce,
                issuer: cb.issuer,
            })
            .await
            .map_err(provider_error)?;
        let (user, created) = self.sso_account(cb.provider, &identity, &flow).await?;
        if let Some(admin) = identity.administrator {
            self.sso_apply_role(&user, admin).await?;
        }
        let (session, device) = self.start_first_session(user.id, cb.replacing).await?;
        // The count the start made, whichever address the callback came from.
        if let Some(key) = &flow.throttle_key
            && let Err(e) = self.store.throttle_refund(key, self.now_secs()).await
        {
            tracing::warn!(error = %e, "a single sign-on's throttle count was not taken back");
        }
        metrics::counter!("ls_logins_total", "result" => "sso").increment(1);
        tracing::info!(
            user_id = user.id,
            provider = cb.provider,
            created,
            "logged in by single sign-on"
        );
        Ok(SsoLogin {
            logged_in: LoggedIn {
                user,
                session,
                device: Some(device),
            },
            next: flow.next,
            created,
        })
    }

    /// The account this identity logs in to: linked before, linked now by
    /// a verified email, or made now as the sign-up policy allows.
    async fn sso_account(
        &self,
        provider: &str,
        identity: &VerifiedIdentity,
        flow: &crate::store::SsoFlowRecord,
    ) -> Result<(UserRecord, bool), AppError> {
        let now = self.now_micros();
        let known = self
            .store
            .identity(&identity.issuer, &identity.subject)
            .await?;
        let email = identity.email.as_deref().and_then(|e| Email::parse(e).ok());
        let by_email = match (&known, &email) {
            (None, Some(e)) => self.store.user_by_email(e).await?,
            _ => None,
        };
        let claim = match (&email, identity.email_verified) {
            (None, _) => EmailClaim::Absent,
            (Some(_), false) => EmailClaim::Unverified,
            (Some(_), true) => EmailClaim::Verified,
        };
        let new_identity = NewIdentity {
            provider: provider.to_owned(),
            issuer: identity.issuer.clone(),
            subject: identity.subject.clone(),
            email: email.as_ref().map(|e| e.as_str().to_owned()),
            now,
        };
        // (linked identity, user): the rule only needs to tell them apart.
        let linking = accounts::sso::link(
            known.as_ref().map(|i| (Some(i.id), i.user_id)),
            by_email.map(|u| (None, u.id)),
            claim,
        );
        match linking {
            Linking::Known((identity_id, user_id)) => {
                let user = self.active_user(user_id).await?;
                if let Some(id) = identity_id {
                    self.store.touch_identity(id, now).await?;
                }
                Ok((user, false))
            }
            Linking::LinkByVerifiedEmail((_, user_id)) => {
                let user = self.active_user(user_id).await?;
                // One identity per provider and account: a verified email
                // that now belongs to another person there (a recycled
                // address) does not take over the first one's account.
                let linked = self.store.identities_of(user.id).await?;
                if linked.iter().any(|i| i.issuer == identity.issuer) {
                    tracing::info!(
                        user_id = user.id,
                        provider,
                        "single sign-on refused: the account is linked to another identity at this issuer"
                    );
                    return Err(refused(SsoRefusal::LinkedElsewhere));
                }
                // Two first logins racing to link: the second starts again
                // (and finds the link); a user deleted meanwhile is gone.
                self.store
                    .link_identity(user.id, new_identity)
                    .await
                    .map_err(|e| match e {
                        StoreError::Conflict(_) | StoreError::NotFound(_) => {
                            refused(SsoRefusal::Flow)
                        }
                        e => e.into(),
                    })?;
                tracing::info!(
                    user_id = user.id,
                    provider,
                    "identity linked by its verified email"
                );
                Ok((user, false))
            }
            Linking::SignUp => {
                let Some(email) = email else {
                    return Err(refused(SsoRefusal::Linking(Refusal::NoEmail)));
                };
                let user = self
                    .sso_sign_up(email, identity, new_identity, flow.invite_digest)
                    .await?;
                Ok((user, true))
            }
            Linking::Refuse(r) => {
                tracing::info!(provider, reason = ?r, "single sign-on refused");
                Err(refused(SsoRefusal::Linking(r)))
            }
        }
    }

    async fn active_user(&self, user_id: i64) -> Result<UserRecord, AppError> {
        match self.store.user_by_id(user_id).await? {
            Some(u) if u.is_active => Ok(u),
            _ => Err(refused(SsoRefusal::Inactive)),
        }
    }

    /// The role claim's word on the user's role in the deployment's first
    /// organization (the one single sign-on joins without an invite, Label
    /// Studio Community's one organization): administrator or member. An
    /// owner stays owner; other organizations are theirs to manage, so a
    /// claim never makes anyone an administrator of one by switching to it.
    async fn sso_apply_role(&self, user: &UserRecord, administrator: bool) -> Result<(), AppError> {
        let Some(org) = self.store.first_organization().await?.map(|o| o.id) else {
            return Ok(());
        };
        let Some(m) = self.store.membership(user.id, org).await? else {
            return Ok(());
        };
        let wanted = if administrator {
            Role::Administrator
        } else {
            Role::Member
        };
        if m.removed_at.is_none() && m.role != Role::Owner && m.role != wanted {
            let audit = self
                .audit_entry("member.role_changed", None, Some(user), Some(org))
                .detail(format!("{wanted} (the identity provider's claim)"));
            self.store
                .audited(audit, self.store.set_role(user.id, org, wanted))
                .await?;
            tracing::info!(user_id = user.id, role = %wanted, "role set from the identity provider's claim");
        }
        Ok(())
    }

    /// The identities linked to the user (for the account page).
    pub async fn linked_identities(&self, user_id: i64) -> Result<Vec<IdentityRecord>, AppError> {
        Ok(self.store.identities_of(user_id).await?)
    }

    /// Unlinks one of the caller's identities, if another way to log in
    /// remains (a password while password login is on, or another identity).
    pub async fn unlink_identity(
        &self,
        user: &UserRecord,
        identity_id: i64,
    ) -> Result<(), AppError> {
        let linked = self.store.identities_of(user.id).await?;
        if !linked.iter().any(|i| i.id == identity_id) {
            return Err(AppError::NotFound("Linked identity"));
        }
        // Ways in that remain: a password (while password login is on), or
        // another identity of a provider still configured.
        let configured = self.identity_providers();
        let others = linked
            .iter()
            .filter(|i| i.id != identity_id)
            .filter(|i| configured.iter().any(|p| p.name == i.provider))
            .count();
        let password = user.password_hash.is_some() && self.config.password_login;
        if !password && others == 0 {
            return Err(refused(SsoRefusal::LastWayIn));
        }
        let names: Vec<String> = configured.iter().map(|p| p.name.clone()).collect();
        let keep_one_of = (!password).then_some(names.as_slice());
        if !self
            .store
            .unlink_identity(user.id, identity_id, keep_one_of)
            .await?
        {
            return Err(refused(SsoRefusal::LastWayIn));
        }
        tracing::info!(user_id = user.id, identity_id, "identity unlinked");
        Ok(())
    }

    /// Where to log out at the provider after ours, if it says.
    pub async fn sso_end_session_url(&self, provider: &str, back_to: &str) -> Option<String> {
        let port = self.provider(provider).ok()?;
        port.end_session_url(provider, back_to).await
    }
}

fn provider_error(e: ProviderError) -> AppError {
    match e {
        ProviderError::UnknownProvider => AppError::NotFound("Identity provider"),
        ProviderError::Unavailable(why) => {
            tracing::warn!(error = %why, "identity provider unavailable");
            AppError::ProviderUnavailable
        }
        ProviderError::Refused(why) => {
            tracing::warn!(error = %why, "identity provider's answer refused");
            refused(SsoRefusal::Provider)
        }
    }
}

#[cfg(test)]
mod tests;
