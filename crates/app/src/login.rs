//! Logging in and the server-side sessions a login starts.

use std::net::IpAddr;

use accounts::{Email, Password};

use crate::SecretString;
use crate::devices::{Device, device_key};
use crate::error::AppError;
use crate::services::Services;
use crate::store::{NewSession, Store, UserRecord};
use crate::throttle::{login_account_key, login_client_key};

/// Bytes of a session id: 256 bits, 64 hex characters.
const SESSION_ID_BYTES: usize = 32;

/// A successful login: the user, the new session's id, and a device
/// cookie to give the browser (a new one unless it presented a live one
/// of this account).
#[derive(Debug)]
pub struct LoggedIn {
    pub user: UserRecord,
    pub session: SecretString,
    pub device: Option<SecretString>,
}

impl<S: Store> Services<S> {
    /// [`Services::log_in_device`] from a browser without a device cookie.
    pub async fn log_in(
        &self,
        email: &str,
        password: &SecretString,
        client: Option<IpAddr>,
        replacing: Option<&str>,
    ) -> Result<(UserRecord, SecretString), AppError> {
        let l = self
            .log_in_device(email, password, client, replacing, None)
            .await?;
        Ok((l.user, l.session))
    }

    /// Email and password (and the browser's device cookie, if any), then
    /// a new session in the same transaction that forgets the failures
    /// counted against the device or the account, takes the attempt back
    /// from the client address's count (a success never counts against an
    /// address), ends the browser's previous session (`replacing`) and
    /// records a new device cookie: one commit after the hash.
    pub async fn log_in_device(
        &self,
        email: &str,
        password: &SecretString,
        client: Option<IpAddr>,
        replacing: Option<&str>,
        device: Option<&str>,
    ) -> Result<LoggedIn, AppError> {
        if !self.config.password_login {
            return Err(AppError::PasswordLoginDisabled);
        }
        let checked = self.check_login(email, password, client, device).await;
        metrics::counter!("ls_logins_total", "result" => match &checked {
            Ok(_) => "ok",
            Err(AppError::BadCredentials) => "failed",
            Err(AppError::Throttled { .. }) => "throttled",
            Err(_) => "error",
        })
        .increment(1);
        let (user, forget, known_device) = checked?;
        let refund = client.map(|ip| (login_client_key(ip), self.now_secs()));
        let (device, record) = if known_device {
            (None, None)
        } else {
            let (id, record) = self.new_device()?;
            (Some(id), Some(record))
        };
        let session = self
            .open_session(user.id, replacing, Some(forget), refund, record)
            .await?;
        Ok(LoggedIn {
            user,
            session,
            device,
        })
    }

    /// Email and password, without a session (for tests: the server logs
    /// in with [`Services::log_in`]).
    #[cfg(any(test, feature = "testing"))]
    pub async fn login(
        &self,
        email: &str,
        password: &SecretString,
    ) -> Result<UserRecord, AppError> {
        self.login_from(email, password, None).await
    }

    /// [`Services::login`] from a client address.
    #[cfg(any(test, feature = "testing"))]
    pub async fn login_from(
        &self,
        email: &str,
        password: &SecretString,
        client: Option<IpAddr>,
    ) -> Result<UserRecord, AppError> {
        let (user, forget, _) = self.check_login(email, password, client, None).await?;
        self.store.throttle_clear(&forget).await?;
        if let Some(ip) = client {
            self.store
                .throttle_refund(&login_client_key(ip), self.now_secs())
                .await?;
        }
        Ok(user)
    }

    /// The user whose email and password these are, the throttle key a
    /// success is to forget (the device's or the account's), and whether
    /// the browser's device cookie is a live one of this account. Every
    /// failure is the same error and costs one hash, whether the email is
    /// unknown, the password wrong or the user inactive. Each attempt is
    /// counted against the device (with a live device cookie of the
    /// account) or the account (without), and the client address, before
    /// the hash; a throttled attempt is refused without looking at the
    /// password, so the answer is the same whether it was right or wrong.
    async fn check_login(
        &self,
        email: &str,
        password: &SecretString,
        client: Option<IpAddr>,
        device: Option<&str>,
    ) -> Result<(UserRecord, String, bool), AppError> {
        let parsed = Email::parse(email).ok();
        let (key, known) = match self.recognise_device(device, parsed.as_ref()).await? {
            Device::Known { digest, user } => (device_key(&digest), Some(*user)),
            Device::Unknown => (login_account_key(parsed.as_ref(), email), None),
        };
        let mut keys = vec![(key.clone(), self.config.throttle.login_per_account)];
        if let Some(ip) = client {
            keys.push((login_client_key(ip), self.config.throttle.login_per_client));
        }
        self.throttle(keys).await?;
        let Some(password) = Password::for_login(password.expose()) else {
            return Err(AppError::BadCredentials);
        };
        let known_device = known.is_some();
        let user = match (known, &parsed) {
            (Some(u), _) => Some(u),
            (None, Some(e)) => self.store.user_by_email(e).await?,
            (None, None) => None,
        };
        let stored = user.as_ref().and_then(|u| u.password_hash.clone());
        let again = password.clone();
        let matches = match self.hasher.verify(password, stored).await {
            Ok(m) => m,
            Err(e) => {
                // Not a failed login (the hashing queue was full, say): the
                // attempt is taken back from every count it was made against.
                self.refund_attempt(&key, client).await;
                return Err(e);
            }
        };
        match user {
            Some(u) if matches && u.is_active => {
                self.upgrade_hash(&u, again).await;
                Ok((u, key, known_device))
            }
            _ => Err(AppError::BadCredentials),
        }
    }

    /// After a successful login: a hash carried over from Label Studio (or
    /// made with older parameters) is replaced by argon2id with ours, unless
    /// the password changed meanwhile. A failure is logged, never the
    /// login's error: the old hash still verifies.
    async fn upgrade_hash(&self, user: &UserRecord, password: Password) {
        let Some(old) = user.password_hash.as_ref() else {
            return;
        };
        if !self.hasher.needs_rehash(old) {
            return;
        }
        let result = async {
            let new = self
                .hasher
                .hash(password, self.random::<{ accounts::SALT_LEN }>()?)
                .await?;
            Ok::<_, AppError>(
                self.store
                    .upgrade_password_hash(user.id, old, new, self.now_micros())
                    .await?,
            )
        }
        .await;
        match result {
            Ok(true) => tracing::info!(user_id = user.id, "password hash upgraded to argon2id"),
            Ok(false) => {}
            Err(e) => tracing::warn!(user_id = user.id, error = %e, "password hash not upgraded"),
        }
    }

    /// Takes an attempt that was not a failure back from its counts; a
    /// refund that cannot be written is logged, never the request's error.
    async fn refund_attempt(&self, key: &str, client: Option<IpAddr>) {
        let now = self.now_secs();
        let mut keys = vec![key.to_owned()];
        keys.extend(client.map(login_client_key));
        for k in keys {
            if let Err(e) = self.store.throttle_refund(&k, now).await {
                tracing::warn!(error = %e, "a throttle count was not taken back");
            }
        }
    }

    /// A new server-side session; the returned id goes to the client only.
    #[cfg(any(test, feature = "testing"))]
    pub async fn start_session(&self, user_id: i64) -> Result<SecretString, AppError> {
        self.open_session(user_id, None, None, None, None).await
    }

    /// A new account's first session (after a sign-up), with a device
    /// cookie for the browser, so that its owner's own browser is known
    /// before anyone could lock the account: `(session, device)`.
    pub async fn start_first_session(
        &self,
        user_id: i64,
        replacing: Option<&str>,
    ) -> Result<(SecretString, SecretString), AppError> {
        let (device, record) = self.new_device()?;
        let session = self
            .open_session(user_id, replacing, None, None, Some(record))
            .await?;
        Ok((session, device))
    }

    async fn open_session(
        &self,
        user_id: i64,
        replacing: Option<&str>,
        forgets: Option<String>,
        refunds: Option<(String, i64)>,
        device: Option<crate::store::NewDevice>,
    ) -> Result<SecretString, AppError> {
        let id = hex::encode(self.random::<SESSION_ID_BYTES>()?);
        let now = self.now_micros();
        let expires_at =
            now.saturating_add(self.config.session_lifetime_secs.saturating_mul(1_000_000));
        self.store
            .create_session(NewSession {
                digest: self.session_digest(&id),
                user_id,
                now,
                expires_at,
                replaces: replacing.map(|old| self.session_digest(old)),
                forgets,
                refunds,
                device,
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
        let mut user = self
            .store
            .session_user(
                &self.session_digest(session_id),
                now,
                now.saturating_sub(idle),
                now.saturating_sub(touch_every),
            )
            .await?;
        if let Some(u) = &mut user {
            self.seen(u).await;
        }
        Ok(user)
    }

    pub async fn end_session(&self, session_id: &str) -> Result<(), AppError> {
        Ok(self
            .store
            .delete_session(&self.session_digest(session_id))
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use accounts::throttle::Limit;
    use orgs::Role;

    use super::*;
    use crate::store::UserStore as _;
    use crate::testkit::{OWNER, PASSWORD, fixture, secret};
    use crate::{ServicesConfig, ThrottleConfig};

    fn limit(max_events: u32) -> Limit {
        Limit {
            max_events,
            window_secs: 900,
            lockout_secs: 900,
        }
    }

    fn with_account_limit(max_events: u32) -> ServicesConfig {
        ServicesConfig {
            throttle: ThrottleConfig {
                login_per_account: limit(max_events),
                ..ThrottleConfig::default()
            },
            ..ServicesConfig::default()
        }
    }

    #[tokio::test]
    async fn every_failure_is_the_same_error() {
        let f = fixture(ServicesConfig::default());
        f.owner().await;
        f.add("off@example.com", Role::Member).await;
        f.svc.set_active("off@example.com", false).await.unwrap();
        for (email, password) in [
            ("nobody@example.com", PASSWORD),
            (OWNER, "wrong-password-1"),
            ("off@example.com", PASSWORD),
            ("not an email", PASSWORD),
            (OWNER, ""),
        ] {
            let r = f.svc.log_in(email, &secret(password), None, None).await;
            assert!(matches!(r, Err(AppError::BadCredentials)), "{email}: {r:?}");
        }
    }

    /// A hash carried over from Label Studio verifies once, then is argon2id.
    #[tokio::test]
    async fn a_label_studio_hash_is_upgraded_at_the_first_login() {
        let f = fixture(ServicesConfig::default());
        let owner = f.owner().await;
        let django = accounts::PasswordHashString::from_django(
            "pbkdf2_sha256$1000$testsalt$yyKaDtDt4MQBliaR+v00YE+a4pPbjw4MkI8GterTpxs=",
        )
        .unwrap()
        .unwrap();
        f.svc
            .store()
            .set_password_hash(owner.user.id, django.clone(), 0)
            .await
            .unwrap();
        let wrong = f.svc.login(OWNER, &secret("correct-horse-43")).await;
        assert!(matches!(wrong, Err(AppError::BadCredentials)));
        let scheme = || async {
            let stored = f.svc.store().user_by_id(owner.user.id).await.unwrap();
            accounts::PasswordScheme::of(stored.unwrap().password_hash.as_ref())
        };
        assert_eq!(scheme().await, accounts::PasswordScheme::Pbkdf2Sha256);
        f.svc.login(OWNER, &secret(PASSWORD)).await.unwrap();
        assert_eq!(scheme().await, accounts::PasswordScheme::Argon2id);
        f.svc.login(OWNER, &secret(PASSWORD)).await.unwrap();
        // The upgrade yields to a password changed meanwhile.
        let upgraded = f
            .svc
            .store()
            .upgrade_password_hash(owner.user.id, &django, django.clone(), 0)
            .await
            .unwrap();
        assert!(!upgraded);
    }

    #[tokio::test]
    async fn failures_lock_the_account_until_the_lockout_ends() {
        let f = fixture(with_account_limit(3));
        f.owner().await;
        for _ in 0..3 {
            let r = f.svc.login(OWNER, &secret("wrong-password-1")).await;
            assert!(matches!(r, Err(AppError::BadCredentials)));
        }
        // Locked: the right password is refused like a wrong one.
        let r = f.svc.log_in(OWNER, &secret(PASSWORD), None, None).await;
        assert!(
            matches!(
                r,
                Err(AppError::Throttled {
                    retry_after_secs: 900
                })
            ),
            "{r:?}"
        );
        // Any spelling of the email is the same account.
        let r = f.svc.login(" Owner@Example.COM", &secret(PASSWORD)).await;
        assert!(matches!(r, Err(AppError::Throttled { .. })), "{r:?}");
        f.advance(901);
        assert!(
            f.svc
                .log_in(OWNER, &secret(PASSWORD), None, None)
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_success_forgets_the_failures_before_it() {
        let f = fixture(with_account_limit(3));
        f.owner().await;
        for _ in 0..2 {
            assert!(
                f.svc
                    .login(OWNER, &secret("wrong-password-1"))
                    .await
                    .is_err()
            );
        }
        f.svc
            .log_in(OWNER, &secret(PASSWORD), None, None)
            .await
            .unwrap();
        for _ in 0..2 {
            assert!(
                f.svc
                    .login(OWNER, &secret("wrong-password-1"))
                    .await
                    .is_err()
            );
        }
        assert!(
            f.svc
                .log_in(OWNER, &secret(PASSWORD), None, None)
                .await
                .is_ok()
        );
    }

    /// A login refused because the hashing queue is full (503) is no
    /// failure: it is taken back from the account's and the address's counts.
    #[tokio::test]
    async fn a_full_hashing_queue_counts_against_no_one() {
        let f = crate::testkit::fixture_with_queue(
            ServicesConfig {
                throttle: ThrottleConfig {
                    login_per_account: limit(1),
                    login_per_client: limit(1),
                    ..ThrottleConfig::default()
                },
                ..ServicesConfig::default()
            },
            1,
        );
        f.owner().await;
        let ip: IpAddr = "192.0.2.44".parse().unwrap();
        // Hold the one hashing thread, then fill the one waiting place.
        let (blocker, started, release) = crate::testkit::hold_hasher(&f.svc.hasher);
        let waiting = async {
            while !started() {
                tokio::task::yield_now().await;
            }
            f.svc.hasher.run(|_| ()).await
        };
        let attempt = async {
            while !started() || f.svc.hasher.queued() < 1 {
                tokio::task::yield_now().await;
            }
            let r = f.svc.log_in(OWNER, &secret(PASSWORD), Some(ip), None).await;
            release.send(()).unwrap();
            r
        };
        let (held, queued, refused) = tokio::join!(blocker, waiting, attempt);
        held.unwrap();
        queued.unwrap();
        assert!(matches!(refused, Err(AppError::Busy { .. })), "{refused:?}");
        // Both limits are 1: had the 503 counted, this would be refused.
        f.svc
            .log_in(OWNER, &secret(PASSWORD), Some(ip), None)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn successes_never_count_against_an_address() {
        let f = fixture(ServicesConfig {
            throttle: ThrottleConfig {
                login_per_client: limit(3),
                ..ThrottleConfig::default()
            },
            ..ServicesConfig::default()
        });
        f.owner().await;
        let ip: IpAddr = "192.0.2.9".parse().unwrap();
        for _ in 0..10 {
            f.svc
                .log_in(OWNER, &secret(PASSWORD), Some(ip), None)
                .await
                .unwrap();
        }
        for _ in 0..3 {
            let r = f
                .svc
                .log_in("x@example.com", &secret("wrong-one-1"), Some(ip), None)
                .await;
            assert!(matches!(r, Err(AppError::BadCredentials)), "{r:?}");
        }
        let r = f.svc.log_in(OWNER, &secret(PASSWORD), Some(ip), None).await;
        assert!(matches!(r, Err(AppError::Throttled { .. })), "{r:?}");
    }

    #[tokio::test]
    async fn a_session_lives_within_its_lifetime_and_idle_timeout() {
        let f = fixture(ServicesConfig {
            session_lifetime_secs: 1000,
            session_idle_timeout_secs: 400,
            ..ServicesConfig::default()
        });
        f.owner().await;
        let (_, sid) = f
            .svc
            .log_in(OWNER, &secret(PASSWORD), None, None)
            .await
            .unwrap();
        assert_eq!(sid.expose().len(), 64);
        // Used every 300 s it outlives the idle timeout, not the lifetime.
        for _ in 0..3 {
            f.advance(300);
            assert!(f.svc.session_user(sid.expose()).await.unwrap().is_some());
        }
        f.advance(300);
        assert!(f.svc.session_user(sid.expose()).await.unwrap().is_none());
        let (_, idle) = f
            .svc
            .log_in(OWNER, &secret(PASSWORD), None, None)
            .await
            .unwrap();
        f.advance(401);
        assert!(f.svc.session_user(idle.expose()).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn what_ends_a_session() {
        let f = &fixture(ServicesConfig::default());
        f.owner().await;
        let log_in = |replacing: Option<String>| async move {
            let (_, sid) = f
                .svc
                .log_in(OWNER, &secret(PASSWORD), None, replacing.as_deref())
                .await
                .unwrap();
            sid.expose().to_owned()
        };
        let live = |sid: String| async move { f.svc.session_user(&sid).await.unwrap().is_some() };
        let first = log_in(None).await;
        let second = log_in(Some(first.clone())).await;
        assert!(
            !live(first).await,
            "a new login ends the browser's old session"
        );
        assert!(live(second.clone()).await);
        f.svc.end_session(&second).await.unwrap();
        assert!(!live(second).await);
        let third = log_in(None).await;
        f.svc
            .set_password(OWNER, &secret("a-new-password-7"))
            .await
            .unwrap();
        assert!(!live(third).await, "a password change ends sessions");
        let (_, fourth) = f
            .svc
            .log_in(OWNER, &secret("a-new-password-7"), None, None)
            .await
            .unwrap();
        f.svc.set_active(OWNER, false).await.unwrap();
        assert!(
            !live(fourth.expose().to_owned()).await,
            "deactivation ends sessions"
        );
        assert_eq!(f.svc.store().session_count(), 0);
    }
}
