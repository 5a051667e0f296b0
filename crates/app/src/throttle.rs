//! Brute-force and flood limits: the keys attempts are counted under, the
//! check made before each attempt, and the operator's unlock.

use std::net::{IpAddr, Ipv6Addr};

use accounts::Email;
use accounts::throttle::Limit;

use crate::error::AppError;
use crate::services::Services;
use crate::store::Store;

/// The throttle key of a login email: its normal form when it parses (so
/// case and spacing do not make new keys), otherwise the trimmed,
/// lower-cased text, bounded.
pub(crate) fn login_account_key(parsed: Option<&Email>, raw: &str) -> String {
    match parsed {
        Some(e) => format!("login:account:{}", e.as_str()),
        None => {
            let t: String = raw.trim().to_lowercase().chars().take(254).collect();
            format!("login:account:{t}")
        }
    }
}

/// What a client address is counted as: an IPv4 address whole, an IPv6
/// address by its /64 (one subscriber's network: a client rotating through
/// the 2^64 addresses of its own prefix is still one client), an
/// IPv4-mapped IPv6 address as the IPv4 address.
pub(crate) fn client_net(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// [`client_net`] as a throttle key's last part (`…/64` for IPv6).
fn client_part(ip: IpAddr) -> String {
    match client_net(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        v6 => format!("{v6}/64"),
    }
}

pub(crate) fn login_client_key(ip: IpAddr) -> String {
    format!("login:client:{}", client_part(ip))
}

pub(crate) fn signup_client_key(ip: IpAddr) -> String {
    format!("signup:client:{}", client_part(ip))
}

/// Single sign-on flows started from a client address and not finished.
pub(crate) fn sso_client_key(ip: IpAddr) -> String {
    format!("sso:client:{}", client_part(ip))
}

pub(crate) fn token_reset_key(user_id: i64) -> String {
    format!("token-reset:user:{user_id}")
}

impl<S: Store> Services<S> {
    /// Counts an attempt against every key; refused while any is locked.
    pub(crate) async fn throttle(&self, keys: Vec<(String, Limit)>) -> Result<(), AppError> {
        let keys: Vec<_> = keys.into_iter().filter(|(_, l)| !l.is_off()).collect();
        if keys.is_empty() {
            return Ok(());
        }
        let now = self.now_secs();
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

    /// `ls-admin user unlock`: forgets the account's failed logins (and
    /// those of each of its device cookies) and, with
    /// an address, that client's login, sign-up and single sign-on counts. `true` if anything
    /// was locked or counted.
    pub async fn unlock(&self, email: &str, client: Option<IpAddr>) -> Result<bool, AppError> {
        let user = self.find_user(email).await?;
        let mut any = self
            .store
            .throttle_clear(&login_account_key(Some(&user.email), email))
            .await?;
        for digest in self.store.device_digests(user.id).await? {
            any |= self
                .store
                .throttle_clear(&crate::devices::device_key(&digest))
                .await?;
        }
        if let Some(ip) = client {
            any |= self.store.throttle_clear(&login_client_key(ip)).await?;
            any |= self.store.throttle_clear(&signup_client_key(ip)).await?;
            any |= self.store.throttle_clear(&sso_client_key(ip)).await?;
        }
        tracing::info!(user_id = user.id, "throttling cleared");
        Ok(any)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a = |s: &str| client_part(s.parse().unwrap());
        assert_eq!(a("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(a("2001:db8:1:2:ffff:1:2:3"), "2001:db8:1:2::/64");
        assert_ne!(a("2001:db8:1:3::1"), a("2001:db8:1:2::1"));
        assert_eq!(a("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(a("192.0.2.1"), "192.0.2.1");
        assert_eq!(
            login_client_key("2001:db8::5".parse().unwrap()),
            login_client_key("2001:db8::6".parse().unwrap())
        );
    }

    #[test]
    fn login_keys_are_the_normal_form_of_the_email() {
        let e = Email::parse(" Ann@Example.COM ").unwrap();
        assert_eq!(
            login_account_key(Some(&e), " Ann@Example.COM "),
            "login:account:ann@example.com"
        );
        assert_eq!(
            login_account_key(None, "  Not An Email "),
            "login:account:not an email"
        );
        let long = "x".repeat(1000);
        assert_eq!(
            login_account_key(None, &long).len(),
            "login:account:".len() + 254
        );
    }
}

#[cfg(test)]
mod unlock_tests {
    use super::*;
    use crate::testkit::{OWNER, PASSWORD, fixture, secret};
    use crate::{ServicesConfig, ThrottleConfig};

    #[tokio::test]
    async fn unlock_clears_the_account_and_the_address() {
        let limit = Limit {
            max_events: 2,
            window_secs: 900,
            lockout_secs: 900,
        };
        let f = fixture(ServicesConfig {
            throttle: ThrottleConfig {
                login_per_account: limit,
                login_per_client: limit,
                ..ThrottleConfig::default()
            },
            ..ServicesConfig::default()
        });
        f.owner().await;
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        for _ in 0..2 {
            assert!(
                f.svc
                    .login_from(OWNER, &secret("wrong-one-1"), Some(ip))
                    .await
                    .is_err()
            );
        }
        assert!(matches!(
            f.svc.login(OWNER, &secret(PASSWORD)).await,
            Err(AppError::Throttled { .. })
        ));
        assert!(f.svc.unlock(OWNER, None).await.unwrap());
        // The address is still locked until it is unlocked too.
        assert!(matches!(
            f.svc.login_from(OWNER, &secret(PASSWORD), Some(ip)).await,
            Err(AppError::Throttled { .. })
        ));
        assert!(f.svc.unlock(OWNER, Some(ip)).await.unwrap());
        assert!(
            f.svc
                .login_from(OWNER, &secret(PASSWORD), Some(ip))
                .await
                .is_ok()
        );
        // The success forgot the account's count, not the address's.
        assert!(f.svc.unlock(OWNER, Some(ip)).await.unwrap());
        assert!(!f.svc.unlock(OWNER, Some(ip)).await.unwrap());
    }
}
