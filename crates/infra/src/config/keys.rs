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
    "throttle_window_secs",
    "throttle_lockout_secs",
    "login_attempts_per_account",
    "login_attempts_per_client",
    "signups_per_client",
    "token_resets_per_user",
    "access_token_lifetime_secs",
    "secret_key",
    "hash_concurrency",
    "body_limit",
    "max_connections",
    "header_read_timeout_secs",
    "database_connect_timeout_secs",
    "log",
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

/// Refuses the first `LS_…` variable (any case) that is not a setting:
/// a misspelt one would otherwise be ignored without a word.
pub(super) fn check_variables(names: impl Iterator<Item = String>) -> Result<(), ConfigError> {
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
    match unknown.first() {
        None => Ok(()),
        Some(var) => Err(ConfigError::Invalid {
            key: format!("{var} (from the environment)"),
            message: did_you_mean(
                nearest(&var[3..]).map(|k| format!("LS_{}", k.to_ascii_uppercase())),
            ),
        }),
    }
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
        let e = vars(&["LS_NO_SUCH"]).unwrap_err().to_string();
        assert!(
            e.contains("LS_NO_SUCH") && e.contains("not a setting"),
            "{e}"
        );
    }
}
