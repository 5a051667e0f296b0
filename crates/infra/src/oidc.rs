//! The OpenID providers of `[[oidc]]`, for the use-cases' single sign-on
//! (`app::sso::IdentityProviders`), with the `openidconnect` crate:
//! discovery from the issuer (its `issuer` must be the configured one),
//! the authorization code flow with PKCE (S256), and the ID token's
//! signature (the provider's published keys, never `alg: none`), issuer,
//! audience, expiry and nonce checked before any claim is read.
//!
//! The provider's metadata and keys are kept for 10 minutes; an ID token
//! whose check fails is checked once more against freshly fetched keys (a
//! provider that rotated its keys), fetched at most every 30 s. The HTTP
//! client follows no redirects and gives up after 10 s.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::sso::{
    AuthorizeRequest, BoxFuture, CodeExchange, IdentityProviders, ProviderError, ProviderInfo,
    VerifiedIdentity,
};
use base64::Engine as _;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreUserInfoClaims};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, Scope, TokenResponse, reqwest,
};

use crate::config::OidcProvider;

const METADATA_TTL: Duration = Duration::from_secs(600);
const REFRESH_EVERY: Duration = Duration::from_secs(30);
const TIMEOUT: Duration = Duration::from_secs(10);

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

#[derive(Debug)]
struct Cached {
    fetched: Instant,
    metadata: Arc<ProviderMetadataWithLogout>,
}

/// The configured providers and what discovery found about each.
#[derive(Debug)]
pub struct OidcProviders {
    info: Vec<ProviderInfo>,
    configs: Vec<OidcProvider>,
    http: reqwest::Client,
    cache: Mutex<HashMap<String, Cached>>,
}

fn unavailable(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Unavailable(e.to_string())
}

fn refused(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Refused(e.to_string())
}

impl OidcProviders {
    /// `None` when no provider is configured.
    pub fn new(configs: &[OidcProvider]) -> Result<Option<Self>, String> {
        if configs.is_empty() {
            return Ok(None);
        }
        let http = reqwest::ClientBuilder::new()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .build()
            .map_err(|e| format!("cannot make the OpenID providers' HTTP client: {e}"))?;
        Ok(Some(Self {
            info: configs
                .iter()
                .map(|c| ProviderInfo {
                    name: c.name.clone(),
                    label: c.label.clone(),
                })
                .collect(),
            configs: configs.to_vec(),
            http,
            cache: Mutex::new(HashMap::new()),
        }))
    }

    fn config(&self, name: &str) -> Result<&OidcProvider, ProviderError> {
        self.configs
            .iter()
            .find(|c| c.name == name)
            .ok_or(ProviderError::UnknownProvider)
    }

    /// The provider's metadata: cached unless older than the TTL, or
    /// `fresh` and older than [`REFRESH_EVERY`].
    async fn metadata(
        &self,
        config: &OidcProvider,
        fresh: bool,
    ) -> Result<Arc<ProviderMetadataWithLogout>, ProviderError> {
        let keep = if fresh { REFRESH_EVERY } else { METADATA_TTL };
        if let Ok(cache) = self.cache.lock()
            && let Some(c) = cache.get(&config.name)
            && c.fetched.elapsed() < keep
        {
            return Ok(Arc::clone(&c.metadata));
        }
        let issuer = IssuerUrl::new(config.issuer.clone()).map_err(unavailable)?;
        // Checks that the document's issuer is the configured one.
        let metadata = Arc::new(
            ProviderMetadataWithLogout::discover_async(issuer, &self.http)
                .await
                .map_err(|e| unavailable(format!("discovery at {}: {e}", config.issuer)))?,
        );
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(
                config.name.clone(),
                Cached {
                    fetched: Instant::now(),
                    metadata: Arc::clone(&metadata),
                },
            );
        }
        Ok(metadata)
    }

    fn client(
        config: &OidcProvider,
        metadata: &ProviderMetadataWithLogout,
        redirect_uri: &str,
    ) -> Result<Client, ProviderError> {
        let redirect = RedirectUrl::new(redirect_uri.to_owned()).map_err(unavailable)?;
        Ok(CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(config.client_id.clone()),
            config
                .client_secret
                .as_ref()
                .map(|s| ClientSecret::new(s.expose().to_owned())),
        )
        .set_redirect_uri(redirect))
    }

    async fn authorize(&self, req: AuthorizeRequest<'_>) -> Result<String, ProviderError> {
        let config = self.config(req.provider)?;
        let metadata = self.metadata(config, false).await?;
        let client = Self::client(config, &metadata, req.redirect_uri)?;
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            req.pkce_verifier.to_owned(),
        ));
        let state = req.state.to_owned();
        let nonce = req.nonce.to_owned();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .set_pkce_challenge(challenge);
        for scope in config.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, _, _) = request.url();
        Ok(url.to_string())
    }

    async fn exchange_code(
        &self,
        req: CodeExchange<'_>,
    ) -> Result<VerifiedIdentity, ProviderError> {
        let config = self.config(req.provider)?;
        // RFC 9207: a provider that names itself on the redirect must be
        // the one this flow went to (a mix-up attack otherwise).
        if let Some(iss) = req.issuer
            && iss != config.issuer
        {
            return Err(refused(format!("the callback's iss is {iss:?}")));
        }
        let metadata = self.metadata(config, false).await?;
        let client = Self::client(config, &metadata, req.redirect_uri)?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(req.code.to_owned()))
            .map_err(unavailable)?
            .set_pkce_verifier(PkceCodeVerifier::new(req.pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| refused(format!("token endpoint: {e}")))?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| refused("the token response has no ID token"))?;
        let nonce = Nonce::new(req.nonce.to_owned());
        let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(c) => c.clone(),
            Err(first) => {
                // Perhaps rotated keys: once more with fresh ones.
                let metadata = self.metadata(config, true).await?;
                let client = Self::client(config, &metadata, req.redirect_uri)?;
                id_token
                    .claims(&client.id_token_verifier(), &nonce)
                    .map_err(|e| refused(format!("ID token: {first}; with fresh keys: {e}")))?
                    .clone()
            }
        };
        let mut email = claims.email().map(|e| e.as_str().to_owned());
        let mut email_verified = claims.email_verified().unwrap_or(false);
        let name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned());
        if email.is_none()
            && let Ok(request) = client.user_info(
                tokens.access_token().clone(),
                Some(claims.subject().clone()),
            )
        {
            // Some providers give the email only from userinfo (whose `sub`
            // must be the ID token's: the crate checks).
            let info: CoreUserInfoClaims = request
                .request_async(&self.http)
                .await
                .map_err(|e| refused(format!("userinfo: {e}")))?;
            email = info.email().map(|e| e.as_str().to_owned());
            email_verified = info.email_verified().unwrap_or(false);
        }
        let administrator = config
            .role_claim
            .as_deref()
            .map(|claim| is_administrator(id_token, claim, &config.administrator_values));
        Ok(VerifiedIdentity {
            issuer: claims.issuer().as_str().to_owned(),
            subject: claims.subject().as_str().to_owned(),
            email,
            email_verified,
            name,
            administrator,
        })
    }

    async fn logout_url(&self, provider: &str, back_to: &str) -> Option<String> {
        let config = self.config(provider).ok()?;
        let metadata = self.metadata(config, false).await.ok()?;
        let endpoint = metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        let back = PostLogoutRedirectUrl::new(back_to.to_owned()).ok()?;
        Some(
            openidconnect::LogoutRequest::from(endpoint)
                .set_client_id(ClientId::new(config.client_id.clone()))
                .set_post_logout_redirect_uri(back)
                .http_get_url()
                .to_string(),
        )
    }
}

/// Whether the role claim of an ID token whose checks passed holds one of
/// the administrator values. Read from the token's own payload (the crate
/// keeps only the standard claims), which is the signed one.
fn is_administrator(id_token: &CoreIdToken, claim: &str, values: &[String]) -> bool {
    let compact = id_token.to_string();
    let Some(payload) = compact.split('.').nth(1) else {
        return false;
    };
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload) else {
        return false;
    };
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return false;
    };
    let held = |v: &str| values.iter().any(|a| a == v);
    match json.get(claim) {
        Some(serde_json::Value::String(s)) => held(s),
        Some(serde_json::Value::Array(items)) => items.iter().any(|i| i.as_str().is_some_and(held)),
        _ => false,
    }
}

impl IdentityProviders for OidcProviders {
    fn providers(&self) -> &[ProviderInfo] {
        &self.info
    }

    fn authorize_url<'a>(
        &'a self,
        req: AuthorizeRequest<'a>,
    ) -> BoxFuture<'a, Result<String, ProviderError>> {
        Box::pin(self.authorize(req))
    }

    fn exchange<'a>(
        &'a self,
        req: CodeExchange<'a>,
    ) -> BoxFuture<'a, Result<VerifiedIdentity, ProviderError>> {
        Box::pin(self.exchange_code(req))
    }

    fn end_session_url<'a>(
        &'a self,
        provider: &'a str,
        post_logout_redirect_uri: &'a str,
    ) -> BoxFuture<'a, Option<String>> {
        Box::pin(self.logout_url(provider, post_logout_redirect_uri))
    }
}
