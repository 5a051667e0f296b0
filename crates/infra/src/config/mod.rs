//! Configuration: built-in defaults (`config/default.toml`) < config file
//! (`--config`, `LS_CONFIG`) < environment (`LS_…`, Label Studio's
//! `LABEL_STUDIO_…` names, `DATABASE_URL`) < command-line flags. Validated
//! once into [`Settings`]; a bad value names its key or variable.

use std::path::PathBuf;

use accounts::PasswordPolicy;
use app::SecretString;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};
use thiserror::Error;

mod keys;
mod lifecycle;
mod oidc;

pub use lifecycle::SmtpSettings;
pub use oidc::OidcProvider;

use keys::{KEYS, LABEL_STUDIO_VARS};

/// The documented defaults, compiled in: the file is the single source.
pub const DEFAULTS_TOML: &str = include_str!("../../../../config/default.toml");

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("invalid configuration: {key}: {message}")]
    Invalid { key: String, message: String },
    #[error("cannot read the config file {}: {message}", path.display())]
    File { path: PathBuf, message: String },
}

/// The options both binaries take before their subcommand, resolving the
/// same configuration and the same database.
#[derive(Debug, Clone, Default, Serialize, clap::Args)]
pub struct CommonArgs {
    /// A TOML config file (env: LS_CONFIG).
    #[arg(long, global = true, value_name = "PATH")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Where the SQLite database and the deployment secret live (env: LS_DATA_DIR, LABEL_STUDIO_BASE_DATA_DIR).
    #[arg(long, global = true, value_name = "DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// A PostgreSQL URL instead of SQLite (env: LS_DATABASE_URL, DATABASE_URL).
    #[arg(long, global = true, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    data_dir: Option<PathBuf>,
    database_url: Option<SecretString>,
    internal_host: String,
    port: u16,
    host: Option<String>,
    username: Option<String>,
    password: Option<SecretString>,
    user_token: Option<SecretString>,
    #[serde(deserialize_with = "label_studio_bool")]
    disable_signup_without_link: bool,
    password_min_length: usize,
    password_max_length: usize,
    #[serde(deserialize_with = "label_studio_bool")]
    members_see_invite_link: bool,
    #[serde(deserialize_with = "label_studio_bool")]
    organization_creation_over_api: bool,
    session_lifetime_secs: i64,
    session_idle_timeout_secs: i64,
    #[serde(deserialize_with = "string_list")]
    trusted_proxies: Vec<String>,
    #[serde(deserialize_with = "string_list")]
    signup_allowed_domains: Vec<String>,
    #[serde(deserialize_with = "string_list")]
    signup_blocked_domains: Vec<String>,
    throttle_window_secs: i64,
    throttle_lockout_secs: i64,
    login_attempts_per_account: u32,
    login_attempts_per_client: u32,
    signups_per_client: u32,
    signup_window_secs: i64,
    token_resets_per_user: u32,
    token_failures_per_client: u32,
    password_reset_mails_per_account: u32,
    password_reset_mails_per_client: u32,
    throttle_max_keys: u64,
    access_token_lifetime_secs: i64,
    secret_key: Option<SecretString>,
    hash_concurrency: Option<usize>,
    hash_queue_limit: usize,
    body_limit: usize,
    max_connections: usize,
    header_read_timeout_secs: u64,
    list_concurrency: Option<usize>,
    list_queue_wait_secs: u64,
    database_connect_timeout_secs: u64,
    log: String,
    log_format: String,
    metrics_listen: Option<String>,
    metrics_token: Option<SecretString>,
    smtp_url: Option<SecretString>,
    smtp_from: Option<String>,
    #[serde(deserialize_with = "label_studio_bool")]
    password_login: bool,
    sso_flow_ttl_secs: i64,
    password_reset_ttl_secs: i64,
    invitation_ttl_secs: i64,
    audit_retention_days: i64,
    #[serde(default)]
    oidc: Vec<oidc::RawProvider>,
}

/// Most whole lists written at once: each holds one connection of the pool
/// (SQLite 8, PostgreSQL 16) for its snapshot and borrows another now and
/// then, so the short requests always find one.
const MAX_LIST_CONCURRENCY: usize = 4;

/// Label Studio's boolean words, any case: true/yes/on/1, false/no/off/0.
fn label_studio_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Any {
        Bool(bool),
        Int(i64),
        Str(String),
    }
    let words = "expected one of true/yes/on/1 or false/no/off/0";
    match Any::deserialize(d)? {
        Any::Bool(b) => Ok(b),
        Any::Int(1) => Ok(true),
        Any::Int(0) => Ok(false),
        Any::Int(n) => Err(serde::de::Error::custom(format!("found {n}, {words}"))),
        Any::Str(s) => {
            parse_bool(&s).ok_or_else(|| serde::de::Error::custom(format!("found {s:?}, {words}")))
        }
    }
}

/// A list, from TOML (`["a", "b"]`) or one comma-separated string (an
/// environment variable: `LS_TRUSTED_PROXIES=10.0.0.0/8,127.0.0.1`).
fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Any {
        List(Vec<String>),
        Str(String),
    }
    let items = match Any::deserialize(d)? {
        Any::List(l) => l,
        Any::Str(s) => s.split(',').map(str::to_owned).collect(),
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect())
}

pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// SQLite in this file.
    Sqlite(PathBuf),
    /// PostgreSQL at this URL (may hold a password).
    Postgres(SecretString),
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    /// Whether the data directory was configured rather than the default.
    pub data_dir_explicit: bool,
    pub database: DatabaseTarget,
    pub internal_host: String,
    pub port: u16,
    /// The configured public URL (`--host`), normalised: no trailing slash,
    /// path prefix included. See [`Settings::public_url`].
    pub host: Option<String>,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub user_token: Option<SecretString>,
    pub disable_signup_without_link: bool,
    pub password_policy: PasswordPolicy,
    pub members_see_invite_link: bool,
    pub organization_creation_over_api: bool,
    pub session_lifetime_secs: i64,
    pub session_idle_timeout_secs: i64,
    /// Proxies whose `X-Forwarded-For` is believed (addresses or CIDR networks).
    pub trusted_proxies: Vec<String>,
    /// Which email domains may have accounts made here.
    pub signup_domains: signup_policy::domains::DomainRules,
    pub throttle: app::ThrottleConfig,
    /// Most throttle counter rows kept (a flood of addresses cannot grow
    /// the table past it).
    pub throttle_max_keys: u64,
    /// Lifetime of an access token made from a personal access token.
    pub access_token_lifetime_secs: i64,
    pub secret_key: Option<SecretString>,
    pub hash_concurrency: usize,
    /// Most password hashes waiting for a hashing thread; past it, 503.
    pub hash_queue_limit: usize,
    /// Largest request body, in bytes.
    pub body_limit: usize,
    /// Most connections open at once (also bounded by the descriptor limit).
    pub max_connections: usize,
    /// Longest a client may take from connecting to the end of its request
    /// headers; a connection that sends nothing is closed after it too.
    pub header_read_timeout_secs: u64,
    /// Most whole member lists written at once (default: the number of CPUs).
    pub list_concurrency: usize,
    /// How long a whole list waits for its turn before a 503.
    pub list_queue_wait_secs: u64,
    /// How long to try reaching PostgreSQL at start before giving up.
    pub database_connect_timeout_secs: u64,
    pub log: String,
    /// How log lines are written.
    pub log_format: crate::telemetry::LogFormat,
    /// A separate listener for `/metrics` only.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// The bearer token `/metrics` asks for (and serves on the public
    /// listener with).
    pub metrics_token: Option<SecretString>,
    /// Mail, when `smtp_url` and `smtp_from` are set.
    pub smtp: Option<SmtpSettings>,
    /// Logging in with a password; off, only through the OpenID providers.
    pub password_login: bool,
    /// How long a single sign-on flow may take.
    pub sso_flow_ttl_secs: i64,
    /// How long a password reset link lives.
    pub password_reset_ttl_secs: i64,
    /// How long an invitation of one person lives.
    pub invitation_ttl_secs: i64,
    /// Days audit entries are kept (0: for good).
    pub audit_retention_days: i64,
    /// The OpenID providers to log in with (`[[oidc]]`).
    pub oidc: Vec<OidcProvider>,
    /// What the configuration ignored, for the log once it is set up.
    pub warnings: Vec<String>,
}

impl Settings {
    /// The public URL links are built from: `--host`, or else
    /// `http://<bind address>:<port>` (the bound port, when port 0 was asked).
    pub fn public_url(&self, bound_port: Option<u16>) -> String {
        match &self.host {
            Some(h) => h.clone(),
            None => format!(
                "http://{}:{}",
                bracket(&self.internal_host),
                bound_port.unwrap_or(self.port)
            ),
        }
    }
}

/// The figment for these flags (exposed for tests and for diagnostics).
pub fn figment(common: &CommonArgs, flags: &impl Serialize) -> Figment {
    let mut fig = Figment::from(Toml::string(DEFAULTS_TOML));
    let file = common
        .config
        .clone()
        .or_else(|| std::env::var_os("LS_CONFIG").map(PathBuf::from));
    if let Some(path) = file {
        fig = fig.merge(Toml::file_exact(path));
    }
    let ls_map: Vec<(&str, &str)> = LABEL_STUDIO_VARS.to_vec();
    fig.merge(Env::raw().only(&["DATABASE_URL"]))
        .merge(Env::prefixed("LABEL_STUDIO_").filter_map(move |k| {
            ls_map
                .iter()
                .find(|(var, _)| k.as_str().eq_ignore_ascii_case(var))
                .map(|(_, key)| (*key).into())
        }))
        .merge(Env::prefixed("LS_").only(KEYS))
        .merge(Serialized::defaults(common))
        .merge(Serialized::defaults(flags))
}

/// Load and validate with only the common flags (what `ls-admin` does).
pub fn load_common(common: &CommonArgs) -> Result<Settings, ConfigError> {
    load(common, &std::collections::BTreeMap::<String, String>::new())
}

/// Load and validate.
pub fn load(common: &CommonArgs, flags: &impl Serialize) -> Result<Settings, ConfigError> {
    let warnings =
        keys::check_variables(std::env::vars_os().map(|(k, _)| k.to_string_lossy().into_owned()))?;
    let fig = figment(common, flags);
    let raw: Raw = fig.extract().map_err(describe)?;
    let mut settings = validate(raw)?;
    settings.warnings.extend(warnings);
    Ok(settings)
}

/// Turn figment's error into one naming the key and where it came from.
fn describe(err: figment::Error) -> ConfigError {
    if let figment::error::Kind::Message(msg) = &err.kind
        && (msg.contains("No such file") || msg.contains("not found"))
        && let Some(path) = err.metadata.as_ref().and_then(|m| m.source.as_ref())
    {
        return ConfigError::File {
            path: PathBuf::from(path.to_string()),
            message: msg.clone(),
        };
    }
    if let figment::error::Kind::UnknownField(name, _) = &err.kind {
        let source = err
            .metadata
            .as_ref()
            .map(|m| match &m.source {
                Some(src) => src.to_string(),
                None => m.name.to_string(),
            })
            .unwrap_or_else(|| "the configuration".into());
        return keys::unknown_key(name, &source);
    }
    let key = err.path.join(".");
    let source = err
        .metadata
        .as_ref()
        .map(|m| {
            let from_env = m.name.contains("environment");
            match (from_env, lookup_var(&key)) {
                (true, Some(var)) => format!(" (from the environment variable {var})"),
                _ => match &m.source {
                    Some(src) => format!(" (from {src})"),
                    None => format!(" (from {})", m.name),
                },
            }
        })
        .unwrap_or_default();
    ConfigError::Invalid {
        key: if key.is_empty() {
            "config".into()
        } else {
            format!("{key}{source}")
        },
        message: err.kind.to_string(),
    }
}

/// Which variable set a key, for messages.
fn lookup_var(key: &str) -> Option<String> {
    let ls = format!("LS_{}", key.to_ascii_uppercase());
    if std::env::var_os(&ls).is_some() {
        return Some(ls);
    }
    LABEL_STUDIO_VARS
        .iter()
        .filter(|(_, k)| *k == key)
        .map(|(var, _)| format!("LABEL_STUDIO_{var}"))
        .find(|v| std::env::var_os(v).is_some())
        .or_else(|| {
            (key == "database_url" && std::env::var_os("DATABASE_URL").is_some())
                .then(|| "DATABASE_URL".into())
        })
}

/// `key`, and the variable that set it when one did.
fn with_source(key: &str) -> String {
    match lookup_var(key) {
        Some(var) => format!("{key} (from the environment variable {var})"),
        None => key.to_owned(),
    }
}

fn non_empty<T: AsRef<str>>(v: Option<T>) -> Option<T> {
    v.filter(|s| !s.as_ref().trim().is_empty())
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

/// The data directory when none is configured.
pub fn default_data_dir() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("ls-users");
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => PathBuf::from(home).join(".local/share/ls-users"),
        None => PathBuf::from("ls-users-data"),
    }
}

fn validate(raw: Raw) -> Result<Settings, ConfigError> {
    let configured_dir = raw.data_dir.filter(|p| !p.as_os_str().is_empty());
    let data_dir_explicit = configured_dir.is_some();
    let data_dir = configured_dir.unwrap_or_else(default_data_dir);
    let mut tls_warnings = Vec::new();
    let database = match non_empty(raw.database_url) {
        None => DatabaseTarget::Sqlite(crate::data_dir::sqlite_path(&data_dir)),
        Some(url) => {
            let u = url.expose();
            if u.starts_with("postgres://") || u.starts_with("postgresql://") {
                let (url, warned) =
                    crate::pg_tls::libpq_rules(u).map_err(|m| invalid("database_url", m))?;
                tls_warnings = warned;
                DatabaseTarget::Postgres(SecretString::new(url))
            } else if let Some(path) = u.strip_prefix("sqlite://") {
                DatabaseTarget::Sqlite(PathBuf::from(path.split('?').next().unwrap_or(path)))
            } else {
                return Err(invalid(
                    "database_url",
                    "expected a postgres:// or sqlite:// URL",
                ));
            }
        }
    };
    if raw.internal_host.trim().is_empty() {
        return Err(invalid("internal_host", "must not be empty"));
    }
    let host = non_empty(raw.host).map(|h| public_url(&h)).transpose()?;
    let password_policy = PasswordPolicy::new(raw.password_min_length, raw.password_max_length)
        .map_err(|e| invalid("password_min_length/password_max_length", e.to_string()))?;
    if raw.session_lifetime_secs <= 0 {
        return Err(invalid(
            "session_lifetime_secs",
            "must be a positive number of seconds",
        ));
    }
    if raw.session_idle_timeout_secs <= 0 {
        return Err(invalid(
            "session_idle_timeout_secs",
            "must be a positive number of seconds",
        ));
    }
    for (key, v) in [
        ("throttle_window_secs", raw.throttle_window_secs),
        ("signup_window_secs", raw.signup_window_secs),
        ("throttle_lockout_secs", raw.throttle_lockout_secs),
    ] {
        if v <= 0 {
            return Err(invalid(key, "must be a positive number of seconds"));
        }
    }
    let limit = |max_events| accounts::throttle::Limit {
        max_events,
        window_secs: raw.throttle_window_secs,
        lockout_secs: raw.throttle_lockout_secs,
    };
    let throttle = app::ThrottleConfig {
        login_per_account: limit(raw.login_attempts_per_account),
        login_per_client: limit(raw.login_attempts_per_client),
        signup_per_client: accounts::throttle::Limit {
            window_secs: raw.signup_window_secs,
            ..limit(raw.signups_per_client)
        },
        token_reset_per_user: limit(raw.token_resets_per_user),
        token_failures_per_client: limit(raw.token_failures_per_client),
        reset_mail_per_account: accounts::throttle::Limit {
            max_events: raw.password_reset_mails_per_account,
            window_secs: 3600,
            lockout_secs: 3600,
        },
        reset_mail_per_client: accounts::throttle::Limit {
            max_events: raw.password_reset_mails_per_client,
            window_secs: 3600,
            lockout_secs: 3600,
        },
    };
    if raw.throttle_max_keys < 1000 {
        return Err(invalid("throttle_max_keys", "must be at least 1000"));
    }
    if raw.hash_queue_limit == 0 {
        return Err(invalid("hash_queue_limit", "must be at least 1"));
    }
    if !(10..=86_400).contains(&raw.access_token_lifetime_secs) {
        return Err(invalid(
            "access_token_lifetime_secs",
            "must be between 10 and 86400 seconds",
        ));
    }
    if raw.body_limit < 1024 {
        return Err(invalid("body_limit", "must be at least 1024 bytes"));
    }
    if raw.max_connections < 16 {
        return Err(invalid("max_connections", "must be at least 16"));
    }
    if raw
        .list_concurrency
        .is_some_and(|n| !(1..=MAX_LIST_CONCURRENCY).contains(&n))
    {
        return Err(invalid(
            "list_concurrency",
            "must be between 1 and 4 (each list holds a database connection)",
        ));
    }
    if !(1..=300).contains(&raw.list_queue_wait_secs) {
        return Err(invalid(
            "list_queue_wait_secs",
            "must be between 1 and 300 seconds",
        ));
    }
    if !(1..=600).contains(&raw.database_connect_timeout_secs) {
        return Err(invalid(
            "database_connect_timeout_secs",
            "must be between 1 and 600 seconds",
        ));
    }
    if !(1..=3600).contains(&raw.header_read_timeout_secs) {
        return Err(invalid(
            "header_read_timeout_secs",
            "must be between 1 and 3600 seconds",
        ));
    }
    if raw.hash_concurrency == Some(0) {
        return Err(invalid("hash_concurrency", "must be at least 1"));
    }
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&raw.log) {
        return Err(invalid(
            &with_source("log"),
            format!("not a log filter: {e}"),
        ));
    }
    if let Some(v) = std::env::var_os("RUST_LOG")
        && let Err(e) = tracing_subscriber::EnvFilter::try_new(v.to_string_lossy())
    {
        return Err(invalid(
            "RUST_LOG (from the environment)",
            format!("not a log filter: {e}"),
        ));
    }
    let log_format = match raw.log_format.trim() {
        "text" => crate::telemetry::LogFormat::Text,
        "json" => crate::telemetry::LogFormat::Json,
        _ => return Err(invalid("log_format", "expected \"text\" or \"json\"")),
    };
    let metrics_listen: Option<std::net::SocketAddr> =
        match raw.metrics_listen.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(a) => Some(a.parse().map_err(|_| {
                invalid(
                    "metrics_listen",
                    "expected an IP address and a port such as 127.0.0.1:9464 (not a host name)",
                )
            })?),
        };
    let server_ip = raw.internal_host.trim().parse::<std::net::IpAddr>().ok();
    if let Some(m) = metrics_listen
        && m.port() != 0
        && m.port() == raw.port
        && (m.ip().is_unspecified()
            || server_ip.is_none_or(|ip| ip == m.ip() || ip.is_unspecified()))
    {
        return Err(invalid(
            "metrics_listen",
            format!(
                "port {} is the server's own (port): give metrics another one",
                m.port()
            ),
        ));
    }
    let metrics_token = non_empty(raw.metrics_token);
    if metrics_token.as_ref().is_some_and(|t| {
        t.expose().chars().count() < 16 || t.expose().contains(char::is_whitespace)
    }) {
        return Err(invalid(
            "metrics_token",
            "must be at least 16 characters, without spaces",
        ));
    }
    let oidc = oidc::validate(raw.oidc)?;
    if !raw.password_login && oidc.is_empty() {
        return Err(invalid(
            "password_login",
            "is off, and no [[oidc]] provider is configured: nobody could log in",
        ));
    }
    if !(60..=3600).contains(&raw.sso_flow_ttl_secs) {
        return Err(invalid(
            "sso_flow_ttl_secs",
            "must be between 60 and 3600 seconds",
        ));
    }
    let lifecycle = lifecycle::check(lifecycle::Raw {
        smtp_url: non_empty(raw.smtp_url),
        smtp_from: raw.smtp_from,
        password_reset_ttl_secs: raw.password_reset_ttl_secs,
        invitation_ttl_secs: raw.invitation_ttl_secs,
        audit_retention_days: raw.audit_retention_days,
        signup_allowed_domains: &raw.signup_allowed_domains,
        signup_blocked_domains: &raw.signup_blocked_domains,
    })?;
    let secret_key = non_empty(raw.secret_key);
    if let Some(k) = &secret_key {
        crate::secret::key_from_config(k.expose()).map_err(|m| invalid("secret_key", m))?;
    }
    Ok(Settings {
        data_dir,
        data_dir_explicit,
        database,
        internal_host: raw.internal_host,
        port: raw.port,
        host,
        username: non_empty(raw.username),
        password: non_empty(raw.password),
        // An empty variable is no token, as in Label Studio (compose files
        // and charts set LABEL_STUDIO_USER_TOKEN= when there is none); an
        // empty --user-token is refused by ls-server itself.
        user_token: raw.user_token.filter(|t| !t.expose().is_empty()),
        disable_signup_without_link: raw.disable_signup_without_link,
        password_policy,
        members_see_invite_link: raw.members_see_invite_link,
        organization_creation_over_api: raw.organization_creation_over_api,
        session_lifetime_secs: raw.session_lifetime_secs,
        session_idle_timeout_secs: raw.session_idle_timeout_secs,
        trusted_proxies: raw.trusted_proxies,
        signup_domains: lifecycle.signup_domains,
        throttle,
        throttle_max_keys: raw.throttle_max_keys,
        access_token_lifetime_secs: raw.access_token_lifetime_secs,
        secret_key,
        hash_concurrency: raw
            .hash_concurrency
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        hash_queue_limit: raw.hash_queue_limit,
        body_limit: raw.body_limit,
        max_connections: raw.max_connections,
        header_read_timeout_secs: raw.header_read_timeout_secs,
        list_concurrency: raw.list_concurrency.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .min(MAX_LIST_CONCURRENCY)
        }),
        list_queue_wait_secs: raw.list_queue_wait_secs,
        database_connect_timeout_secs: raw.database_connect_timeout_secs,
        log: raw.log,
        log_format,
        metrics_listen,
        metrics_token,
        smtp: lifecycle.smtp,
        password_login: raw.password_login,
        sso_flow_ttl_secs: raw.sso_flow_ttl_secs,
        password_reset_ttl_secs: raw.password_reset_ttl_secs,
        invitation_ttl_secs: raw.invitation_ttl_secs,
        audit_retention_days: raw.audit_retention_days,
        oidc,
        warnings: tls_warnings,
    })
}

fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// `http(s)://host[:port][/prefix]`, without a trailing slash. Label Studio
/// also accepts a bare host name; we add `http://` to it.
fn public_url(raw: &str) -> Result<String, ConfigError> {
    let raw = raw.trim().trim_end_matches('/');
    let with_scheme = if raw.contains("://") {
        raw.to_owned()
    } else {
        format!("http://{raw}")
    };
    let (scheme, rest) = with_scheme.split_once("://").unwrap_or(("", ""));
    let authority = rest.split('/').next().unwrap_or("");
    if !(scheme == "http" || scheme == "https")
        || authority.is_empty()
        || with_scheme
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        || with_scheme.contains(['?', '#', '@'])
    {
        return Err(invalid(
            "host",
            "expected a URL such as https://labels.example.com[/prefix]",
        ));
    }
    Ok(with_scheme)
}

#[cfg(test)]
mod tests;
