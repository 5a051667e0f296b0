//! What the use-cases need from OpenID providers: the authorization URL
//! to send a browser to, and the code exchanged for a checked identity.
//! `infra` implements it (discovery, PKCE, ID token signature, issuer,
//! audience, expiry and nonce); the use-cases never see the protocol.

use std::future::Future;
use std::pin::Pin;

use thiserror::Error;

/// A boxed future, so that [`IdentityProviders`] can be a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A configured provider, as the pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderInfo {
    /// `[a-z0-9-]+`: in the redirect URI `<public URL>/user/sso/<name>/callback`.
    pub name: String,
    /// The button: "Log in with" and the label.
    pub label: String,
}

/// One authorization request.
#[derive(Debug)]
pub struct AuthorizeRequest<'a> {
    pub provider: &'a str,
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    /// The PKCE verifier; the provider gets its S256 challenge.
    pub pkce_verifier: &'a str,
}

/// The code a provider sent back, to exchange.
#[derive(Debug)]
pub struct CodeExchange<'a> {
    pub provider: &'a str,
    pub redirect_uri: &'a str,
    pub code: &'a str,
    pub pkce_verifier: &'a str,
    /// The ID token must carry this nonce.
    pub nonce: &'a str,
    /// The callback's `iss` parameter (RFC 9207), when the provider sent one.
    pub issuer: Option<&'a str>,
}

/// An identity whose ID token passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// From the provider's role claim, when one is configured: whether
    /// the person is an administrator here. `None`: no role claim is set up.
    pub administrator: Option<bool>,
}

/// Why a provider gave no identity. The message is for the log; the
/// person sees a plain refusal.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ProviderError {
    #[error("no OpenID provider is configured with this name")]
    UnknownProvider,
    /// Discovery, the token endpoint or userinfo could not be reached or
    /// answered nonsense.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the code, or its answer failed a check
    /// (signature, issuer, audience, expiry, nonce…).
    #[error("the identity provider's answer was refused: {0}")]
    Refused(String),
}

/// The configured OpenID providers.
pub trait IdentityProviders: Send + Sync + std::fmt::Debug {
    fn providers(&self) -> &[ProviderInfo];
    fn authorize_url<'a>(
        &'a self,
        req: AuthorizeRequest<'a>,
    ) -> BoxFuture<'a, Result<String, ProviderError>>;
    fn exchange<'a>(
        &'a self,
        req: CodeExchange<'a>,
    ) -> BoxFuture<'a, Result<VerifiedIdentity, ProviderError>>;
    /// The provider's RP-initiated logout URL, when it advertises one.
    fn end_session_url<'a>(
        &'a self,
        provider: &'a str,
        post_logout_redirect_uri: &'a str,
    ) -> BoxFuture<'a, Option<String>>;
}
