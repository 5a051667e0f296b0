//! The account lifecycle's settings (issue 17), checked when the
//! configuration loads: mail (`smtp_url`, `smtp_from`), how long reset
//! links and invitations live, the audit log's retention, and the sign-up
//! email-domain rules.

use app::SecretString;
use signup_policy::domains::{DomainPattern, DomainRules};

use super::{ConfigError, invalid};

/// The SMTP server mail goes through, and the sender.
#[derive(Clone)]
pub struct SmtpSettings {
    /// lettre's URL form; it may hold the SMTP password.
    pub url: SecretString,
    pub from: String,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("url", &"<redacted>")
            .field("from", &self.from)
            .finish()
    }
}

/// The raw values.
pub(super) struct Raw<'a> {
    pub(super) smtp_url: Option<SecretString>,
    pub(super) smtp_from: Option<String>,
    pub(super) password_reset_ttl_secs: i64,
    pub(super) invitation_ttl_secs: i64,
    pub(super) audit_retention_days: i64,
    pub(super) signup_allowed_domains: &'a [String],
    pub(super) signup_blocked_domains: &'a [String],
}

/// What they give, once checked.
pub(super) struct Checked {
    pub(super) smtp: Option<SmtpSettings>,
    pub(super) signup_domains: DomainRules,
}

fn within(
    key: &str,
    value: i64,
    range: std::ops::RangeInclusive<i64>,
    says: &str,
) -> Result<(), ConfigError> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(invalid(key, says))
    }
}

pub(super) fn check(raw: Raw<'_>) -> Result<Checked, ConfigError> {
    let smtp = match (raw.smtp_url, raw.smtp_from.filter(|f| !f.trim().is_empty())) {
        (None, None) => None,
        (Some(url), Some(from)) => {
            crate::mail::check(url.expose(), &from).map_err(|(key, m)| invalid(key, m))?;
            Some(SmtpSettings { url, from })
        }
        (Some(_), None) => return Err(invalid("smtp_from", "is needed with smtp_url")),
        (None, Some(_)) => return Err(invalid("smtp_url", "is needed with smtp_from")),
    };
    within(
        "password_reset_ttl_secs",
        raw.password_reset_ttl_secs,
        300..=7 * 86_400,
        "must be between 300 seconds and 7 days (604800)",
    )?;
    within(
        "invitation_ttl_secs",
        raw.invitation_ttl_secs,
        3600..=30 * 86_400,
        "must be between 3600 seconds and 30 days (2592000)",
    )?;
    within(
        "audit_retention_days",
        raw.audit_retention_days,
        0..=36_500,
        "must be between 0 (keep for good) and 36500 days",
    )?;
    let patterns = |key: &'static str, list: &[String]| {
        list.iter()
            .map(|p| DomainPattern::parse(p).map_err(|e| invalid(key, e.to_string())))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(Checked {
        smtp,
        signup_domains: DomainRules {
            allowed: patterns("signup_allowed_domains", raw.signup_allowed_domains)?,
            blocked: patterns("signup_blocked_domains", raw.signup_blocked_domains)?,
        },
    })
}
