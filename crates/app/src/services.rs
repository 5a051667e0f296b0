//! [`Services`]: the use-cases over one store, with what they share (the
//! hasher, the deployment key and its digests, randomness, the clock and
//! the instance's rules). Each family of use-cases adds its methods in a
//! module of its own (`signup`, `login`, `throttle`, `invites`, `tokens`,
//! `personal_tokens`, `members`, `organizations`, `users`).

use std::sync::Arc;

use accounts::pat::JwtKey;
use accounts::{DigestKey, SecretDigest};
use invites::InviteToken;

use crate::config::ServicesConfig;
use crate::error::AppError;
use crate::hashing::BlockingHasher;
use crate::random::{Clock, Random, bytes};
use crate::store::Store;

/// Digest purposes: a value of one kind never authenticates as another.
const API_TOKEN: &str = "api-token";
const SESSION: &str = "session";
const INVITE: &str = "invite";
const LEGACY_REFRESH: &str = "legacy-refresh-token";

/// The use-cases, generic over storage.
#[derive(Debug)]
pub struct Services<S> {
    pub(crate) store: S,
    pub(crate) hasher: BlockingHasher,
    pub(crate) key: DigestKey,
    pub(crate) jwt_key: JwtKey,
    random: Arc<dyn Random>,
    clock: Arc<dyn Clock>,
    pub(crate) config: ServicesConfig,
    /// Failed API-token authentications by client, in memory.
    pub(crate) token_failures: crate::token_failures::TokenFailures,
    /// Whose `last_activity` this process wrote, and when.
    pub(crate) activity: crate::activity_claims::Activity,
    /// The OpenID providers to log in with, if any are configured.
    pub(crate) sso: Option<Arc<dyn crate::identity_providers::IdentityProviders>>,
    /// Mail, when SMTP is configured.
    pub(crate) mail: Option<crate::mailer::Mail>,
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
            token_failures: crate::token_failures::TokenFailures::default(),
            activity: crate::activity_claims::Activity::default(),
            sso: None,
            mail: None,
        }
    }

    /// The same services sending mail through `mail`.
    pub fn with_mail(mut self, mail: crate::mailer::Mail) -> Self {
        self.mail = Some(mail);
        self
    }

    /// Password hashes waiting for a hashing thread now (for metrics).
    pub fn hashes_queued(&self) -> usize {
        self.hasher.queued()
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

    pub(crate) fn now_secs(&self) -> i64 {
        self.now_micros().div_euclid(1_000_000)
    }

    /// `N` bytes from the random generator.
    pub(crate) fn random<const N: usize>(&self) -> Result<[u8; N], AppError> {
        bytes::<N>(&*self.random)
    }

    pub(crate) fn token_digest(&self, token: &str) -> SecretDigest {
        self.key.digest(API_TOKEN, token.as_bytes())
    }

    pub(crate) fn session_digest(&self, session_id: &str) -> SecretDigest {
        self.key.digest(SESSION, session_id.as_bytes())
    }

    pub(crate) fn invite_digest(&self, token: &InviteToken) -> SecretDigest {
        self.key.digest(INVITE, token.expose().as_bytes())
    }

    /// A personal access token signed by Label Studio, whole, as the
    /// import stores it and a refresh request finds it.
    pub(crate) fn legacy_refresh_digest(&self, token: &str) -> SecretDigest {
        self.key.digest(LEGACY_REFRESH, token.as_bytes())
    }
}
