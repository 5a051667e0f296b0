//! The settings' names: the keys a config file and `LS_<KEY>` may set,
//! Label Studio's variables, and what is refused as not one of them.

use super::ConfigError;

/// Label Studio's own variables, and the key each one sets.
pub(super) const LABEL_STUDIO_VARS: &[(&str, &str)] = &[
    ("USERNAME", "username"),
    ("PASSWORD", "password"),
    ("USER_TOKEN", "user_token"),
    ("DISABLE_SIGNUP_WITHOUT_LINK", "disable_signup_without_link"),
    ("BASE_DATA_DIR", "data_dir"),
    ("HOST", "host"),
    ("PORT", "port"),
];

/// The keys `LS_<KEY>` may set.
pub(super) const KEYS: &[&str] = &[
    "data_dir",
    "database_url",
    "internal_host",
    "port",
    "host",
    "username",
    "password",
    "user_token",
    "disable_signup_without_link",
    "password_min_length",
    "password_max_length",
    "members_see_invite_link",
    "organization_creation_over_api",
    "session_lifetime_secs",
    "session_idle_timeout_secs",
    "trusted_proxies",
    "signup_allowed_domains",
    "signup_blocked_domains",
    "throttle_window_secs",
    "throttle_lockout_secs",
    "login_attempts_per_account",
    "login_attempts_per_client",
    "signups_per_client",
    "signup_window_secs",
    "token_resets_per_user",
    "token_failures_per_client",
    "password_reset_mails_per_account",
    "password_reset_mails_per_client",
    "throttle_max_keys",
    "hash_queue_limit",
    "access_token_lifetime_secs",
    "secret_key",
    "hash_concurrency",
    "body_limit",
    "max_connections",
    "header_read_timeout_secs",
    "list_concurrency",
    "list_queue_wait_secs",
    "database_connect_timeout_secs",
    "log",
    "log_format",
    "metrics_listen",
    "metrics_token",
    "password_login",
    "sso_flow_ttl_secs",
    "password_reset_ttl_secs",
    "invitation_ttl_secs",
    "audit_retention_days",
    "smtp_url",
    "smtp_from",
];

/// Variables in our prefix that are not settings and are left alone: GNU
/// `ls`'s colours (set in many shells), the config file's own variable, and
/// the namespaces of the test suite and the benchmark.
const LEFT_ALONE: &[&str] = &["LS_COLORS", "LS_CONFIG"];
const LEFT_ALONE_PREFIXES: &[&str] = &["LS_TEST_", "LS_BENCH_", "LS_CRASH_"];

/// The known key nearest to `name`, when it is near enough to be what was meant.
pub(super) fn nearest(name: &str) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    KEYS.iter()
        .map(|k| (strsim::damerau_levenshtein(&name, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min()
        .map(|(_, k)| k)
}

fn did_you_mean(suggestion: Option<String>) -> String {
    match suggestion {
        Some(s) => format!("not a setting of ls-users; did you mean `{s}`?"),
        None => "not a setting of ls-users (config/default.toml lists them all)".into(),
    }
}

/// A key of the config file that is not a setting.
pub(super) fn unknown_key(key: &str, source: &str) -> ConfigError {
    ConfigError::Invalid {
        key: format!("{key} (from {source})"),
        message: did_you_mean(nearest(key).map(str::to_owned)),
    }
}

/// What Kubernetes (service links) and Docker (`--link`) put in every
/// container's environment for a service whose name starts `ls`
/// (`LS_USERS_SERVICE_HOST`, `LS_USERS_PORT_8080_TCP_ADDR`…): not ours.
fn injected_by_the_platform(upper: &str) -> bool {
    upper.contains("_SERVICE_HOST")
        || upper.contains("_SERVICE_PORT")
        || upper.ends_with("_PORT")
        || upper.contains("_PORT_")
        || upper.ends_with("_NAME")
}

/// Checks the `LS_…` variables (any case) that are not settings: one that
/// is a near miss of a setting (`LS_PROT`) is refused with the setting it
/// meant; any other is a warning (returned, for the log), so that
/// variables a platform or a shell sets in our prefix do not stop a start.
pub(super) fn check_variables(
    names: impl Iterator<Item = String>,
) -> Result<Vec<String>, ConfigError> {
    let mut unknown: Vec<String> = names
        .filter(|n| {
            let upper = n.to_ascii_uppercase();
            let Some(key) = upper.strip_prefix("LS_") else {
                return false;
            };
            !LEFT_ALONE.contains(&upper.as_str())
                && !LEFT_ALONE_PREFIXES.iter().any(|p| upper.starts_with(p))
                && !KEYS.contains(&key.to_ascii_lowercase().as_str())
        })
        .collect();
    unknown.sort();
    let mut warnings = Vec::new();
    for var in unknown {
        if let Some(meant) = nearest(&var[3..]) {
            return Err(ConfigError::Invalid {
                key: format!("{var} (from the environment)"),
                message: did_you_mean(Some(format!("LS_{}", meant.to_ascii_uppercase()))),
            });
        }
        if !injected_by_the_platform(&var.to_ascii_uppercase()) {
            warnings.push(format!(
                "{var} (from the environment) is {}: ignored",
                did_you_mean(None)
            ));
        }
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_are_named_and_strangers_are_not() {
        assert_eq!(nearest("prot"), Some("port"));
        assert_eq!(nearest("body_limt"), Some("body_limit"));
        assert_eq!(nearest("HASH_CONCURENCY"), Some("hash_concurrency"));
        assert_eq!(nearest("no_such"), None);
        assert_eq!(nearest("colors"), None);
    }

    #[test]
    fn only_our_prefix_and_only_unknown_names_are_refused() {
        let vars = |v: &[&str]| check_variables(v.iter().map(|s| (*s).to_owned()));
        assert!(vars(&["LS_PORT", "ls_body_limit", "LS_COLORS", "LS_CONFIG", "PATH"]).is_ok());
        assert!(vars(&["LS_TEST_POSTGRES_URL", "LS_BENCH_PERF", "LS_CRASH_CYCLES"]).is_ok());
        assert!(vars(&["LABEL_STUDIO_WHATEVER", "LSX_PORT"]).is_ok());
        let e = vars(&["LS_PROT"]).unwrap_err().to_string();
        assert!(
            e.contains("LS_PROT") && e.contains("did you mean `LS_PORT`"),
            "{e}"
        );
        let w = vars(&["LS_NO_SUCH", "LS_OPTIONS"]).unwrap();
        assert!(
            w[0].contains("LS_NO_SUCH") && w[0].contains("not a setting"),
            "{w:?}"
        );
        assert_eq!(w.len(), 2);
        // Kubernetes' service links for a service named ls-users: silent.
        let k8s = [
            "LS_USERS_SERVICE_HOST",
            "LS_USERS_SERVICE_PORT",
            "LS_USERS_PORT",
            "LS_USERS_PORT_8080_TCP_ADDR",
            "LS_USERS_PORT_8080_TCP",
        ];
        assert!(vars(&k8s).unwrap().is_empty());
    }
}
