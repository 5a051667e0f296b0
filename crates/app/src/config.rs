//! The instance's rules for the use-cases, validated at start-up.

use accounts::PasswordPolicy;
use accounts::throttle::Limit;
use orgs::RolePolicy;
use signup_policy::Mode;

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
    /// Logging in with a password (`password_login`): off, the login page
    /// offers the OpenID providers only (`ls-admin` still manages everyone).
    pub password_login: bool,
    /// How long a single sign-on flow may take from leaving for the
    /// provider to coming back (`sso_flow_ttl_secs`).
    pub sso_flow_ttl_secs: i64,
    /// Which email domains may have accounts made here
    /// (`signup_allowed_domains`, `signup_blocked_domains`).
    pub signup_domains: signup_policy::domains::DomainRules,
    /// Days audit entries are kept (`audit_retention_days`; 0: for good).
    pub audit_retention_days: i64,
    /// How long an invitation of one person lives (`invitation_ttl_secs`).
    pub invitation_ttl_secs: i64,
    /// How long a password reset link lives (`password_reset_ttl_secs`).
    pub password_reset_ttl_secs: i64,
}

/// Brute-force and flood limits (`max_events` 0 turns one off). The
/// defaults are the contract's (API.md): 10 consecutive failed logins lock
/// an account for 15 minutes; 300 failed logins per 15 minutes from one
/// address; 200 sign-ups an hour from one address. Successes never count
/// against an address, and a successful login forgets the account's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Failed login attempts per account (email), whatever the client address.
    pub login_per_account: Limit,
    /// Failed login attempts per client address, whatever the account.
    pub login_per_client: Limit,
    /// Sign-up attempts per client address that made no account.
    pub signup_per_client: Limit,
    /// API token resets per user.
    pub token_reset_per_user: Limit,
    /// Failed API-token authentications per client address, counted in
    /// this process's memory (they need no durability).
    pub token_failures_per_client: Limit,
    /// "Forgot password?" requests per account (email), per hour.
    pub reset_mail_per_account: Limit,
    /// "Forgot password?" requests per client address, per hour.
    pub reset_mail_per_client: Limit,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        let limit = |max_events| Limit {
            max_events,
            window_secs: 900,
            lockout_secs: 900,
        };
        Self {
            login_per_account: limit(10),
            login_per_client: limit(300),
            signup_per_client: Limit {
                window_secs: 3600,
                ..limit(200)
            },
            token_reset_per_user: limit(10),
            token_failures_per_client: limit(1000),
            reset_mail_per_account: Limit {
                max_events: 5,
                window_secs: 3600,
                lockout_secs: 3600,
            },
            reset_mail_per_client: Limit {
                max_events: 50,
                window_secs: 3600,
                lockout_secs: 3600,
            },
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
            password_login: true,
            sso_flow_ttl_secs: 600,
            password_reset_ttl_secs: 3600,
            invitation_ttl_secs: 7 * 86_400,
            audit_retention_days: 365,
            signup_domains: signup_policy::domains::DomainRules::default(),
        }
    }
}
