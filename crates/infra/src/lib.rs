//! Infrastructure: sea-orm storage on SQLite and PostgreSQL with versioned
//! migrations, figment configuration, the deployment secret, and the wiring
//! of the use-cases that both binaries share.
//!
//! Architecture invariant: this is the only crate that knows sea-orm and figment.
#![forbid(unsafe_code)]

pub mod backup;
pub mod cli_docs;
pub mod config;
pub mod data_dir;
pub mod db;
pub mod deployment;
pub mod label_studio;
pub mod limits;
pub mod mail;
pub mod migrations;
pub mod oidc;
mod pg_tls;
pub mod secret;
pub mod telemetry;

use std::path::PathBuf;
use std::sync::Arc;

use accounts::{DigestKey, PasswordHasher};
use app::{BlockingHasher, OsRandom, Services, ServicesConfig, SystemClock};
use orgs::RolePolicy;
use signup_policy::Mode;
use thiserror::Error;

pub use config::{CommonArgs, ConfigError, DatabaseTarget, Settings};
pub use db::SeaStore;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum InfraError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot open the database: {0}")]
    Database(String),
    #[error("cannot migrate the database: {0}")]
    Migration(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("deployment secret: {0}")]
    SecretKey(String),
    #[error(
        "{} is not a directory: --data-dir (LS_DATA_DIR, LABEL_STUDIO_BASE_DATA_DIR) names the \
         directory that holds the database and its secret_key", .0.display()
    )]
    NotADirectory(PathBuf),
    /// No deployment where one was expected, or traces of one whose
    /// database is gone (the message says what to do).
    #[error("{0}")]
    NoDeployment(String),
    /// A backup or restore refused or failed (the message says why and
    /// what was left unchanged).
    #[error("{0}")]
    Backup(String),
    #[error("{0}")]
    Oidc(String),
}

/// The use-cases on the configured database.
pub type AppServices = Services<SeaStore>;

pub use deployment::Open;

/// Open the database, load the secret and build the use-cases: what both
/// `ls-server` and `ls-admin` do first. A new deployment is created where
/// the data directory is new ([`Open::Create`]).
pub async fn services(settings: &Settings) -> Result<AppServices, InfraError> {
    open_services(settings, PasswordHasher::default(), Open::Create).await
}

/// As [`services`], creating a deployment only as `open` allows.
pub async fn services_as(settings: &Settings, open: Open) -> Result<AppServices, InfraError> {
    open_services(settings, PasswordHasher::default(), open).await
}

/// As [`services`], with explicit hashing parameters (tests use cheap ones).
pub async fn services_with(
    settings: &Settings,
    hasher: PasswordHasher,
) -> Result<AppServices, InfraError> {
    open_services(settings, hasher, Open::Create).await
}

/// As [`services`], creating a deployment only as `open` allows. Every
/// check that can refuse is made before the first write: the deployment's
/// presence, the secret (never replaced when the database knows another
/// one), and on PostgreSQL that the secret has a place.
pub async fn open_services(
    settings: &Settings,
    hasher: PasswordHasher,
    open: Open,
) -> Result<AppServices, InfraError> {
    if let DatabaseTarget::Sqlite(path) = &settings.database {
        data_dir::check(path.parent().unwrap_or(&settings.data_dir))?;
    }
    let configured = settings.secret_key.as_ref().map(app::SecretString::expose);
    if configured.is_none() {
        data_dir::check(&settings.data_dir)?;
    }
    let loaded = secret::load(configured, &settings.data_dir)?;
    deployment::check(settings, open)?;
    if let DatabaseTarget::Sqlite(path) = &settings.database {
        data_dir::ensure(path.parent().unwrap_or(&settings.data_dir))?;
    }
    let timeout = std::time::Duration::from_secs(settings.database_connect_timeout_secs);
    let store = db::open_target_with(&settings.database, open, timeout)
        .await?
        .with_throttle_cap(settings.throttle_max_keys);
    let key = match loaded {
        Some(key) => key,
        None => {
            let recorded = store
                .recorded_key()
                .await
                .map_err(|e| InfraError::Database(e.to_string()))?;
            // Another process may have made the secret and recorded it
            // since it was looked for: look again before refusing.
            let again = secret::load(configured, &settings.data_dir)?;
            if let Some(key) = again {
                key
            } else if recorded.is_some() {
                return Err(InfraError::SecretKey(format!(
                    "this database was set up with a deployment secret that is not in {}: restore its secret_key from a backup (or set LS_SECRET_KEY to it); a new one would make every token, session and invite link unknown",
                    settings.data_dir.display()
                )));
            } else {
                secret::create(&settings.data_dir)?
            }
        }
    };
    let fingerprint = secret::fingerprint(key);
    match store.check_key(&fingerprint).await {
        Ok(true) => {}
        Ok(false) => {
            return Err(InfraError::SecretKey(
                "this database was set up with another deployment secret: give this process the same \
                 LS_SECRET_KEY (or the data directory's secret_key) as the others that use the database"
                    .into(),
            ));
        }
        Err(e) => return Err(InfraError::Database(e.to_string())),
    }
    tracing::debug!(
        backend = db::backend_name(store.connection()),
        "database ready"
    );
    let providers = oidc::OidcProviders::new(&settings.oidc).map_err(InfraError::Oidc)?;
    let services = Services::new(
        store,
        BlockingHasher::new(hasher, settings.hash_concurrency, settings.hash_queue_limit),
        DigestKey::from_bytes(key),
        Arc::new(OsRandom),
        Arc::new(SystemClock),
        ServicesConfig {
            password_policy: settings.password_policy,
            signup_mode: if settings.disable_signup_without_link {
                Mode::InviteOnly
            } else {
                Mode::Open
            },
            role_policy: RolePolicy {
                members_see_invite_link: settings.members_see_invite_link,
            },
            session_lifetime_secs: settings.session_lifetime_secs,
            session_idle_timeout_secs: settings.session_idle_timeout_secs,
            throttle: settings.throttle,
            access_token_lifetime_secs: settings.access_token_lifetime_secs,
            organization_creation_over_api: settings.organization_creation_over_api,
            password_login: settings.password_login,
            sso_flow_ttl_secs: settings.sso_flow_ttl_secs,
            password_reset_ttl_secs: settings.password_reset_ttl_secs,
            invitation_ttl_secs: settings.invitation_ttl_secs,
            audit_retention_days: settings.audit_retention_days,
            signup_domains: settings.signup_domains.clone(),
        },
    );
    let services = match &settings.smtp {
        Some(smtp) => {
            let sender = mail::SmtpSender::new(smtp.url.expose(), &smtp.from).map_err(
                |(key, message)| {
                    InfraError::Config(config::ConfigError::Invalid {
                        key: key.into(),
                        message,
                    })
                },
            )?;
            services.with_mail(app::mail::Mail {
                sender: Arc::new(sender),
            })
        }
        None => services,
    };
    Ok(match providers {
        Some(p) => services.with_identity_providers(Arc::new(p)),
        None => services,
    })
}
