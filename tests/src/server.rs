//! The real server (the same `App` that `ls-server` runs), in-process on
//! port 0 with a fresh SQLite database, and an owner to start from.

use std::net::SocketAddr;
use std::sync::Arc;

use accounts::PasswordHasher;
use app::{BootstrapOutcome, BootstrapRequest, CreateUserRequest, SecretString};
use infra::AppServices;
use orgs::Role;

pub const OWNER_EMAIL: &str = "owner@example.com";
pub const OWNER_PASSWORD: &str = "owner-password-1";
pub const OWNER_TOKEN: &str = "owner-token-0001";

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub invite_only: bool,
    pub public_url: Option<String>,
    pub members_see_invite_link: Option<bool>,
    /// Real (OWASP) hashing parameters instead of cheap test ones.
    pub owasp_hashing: bool,
    /// Password hashes at once (default: the number of CPUs).
    pub hash_concurrency: Option<usize>,
    /// Let POST /api/organizations create organizations.
    pub organization_creation: bool,
    /// The HTTP settings to serve with (default: `HttpConfig::default()`, port 0).
    pub http: Option<ls_http::HttpConfig>,
    /// Throttling limits (default: the production defaults).
    pub throttle: Option<app::ThrottleConfig>,
    /// Session (absolute lifetime, idle timeout) in seconds.
    pub session_secs: Option<(i64, i64)>,
    /// OpenID providers to log in with (`[[oidc]]`).
    pub oidc: Vec<infra::config::OidcProvider>,
    /// `password_login` (default: on).
    pub password_login: Option<bool>,
    /// `signup_allowed_domains` / `signup_blocked_domains` (default: none).
    pub signup_domains: Option<signup_policy::domains::DomainRules>,
    /// `smtp_url` (the sender is `Label Studio <noreply@example.com>`).
    pub smtp_url: Option<String>,
}

/// Every throttle off, for tests of something else that make many logins,
/// sign-ups or token resets from one address.
pub fn no_throttling() -> app::ThrottleConfig {
    let off = accounts::throttle::Limit {
        max_events: 0,
        window_secs: 1,
        lockout_secs: 1,
    };
    app::ThrottleConfig {
        login_per_account: off,
        login_per_client: off,
        signup_per_client: off,
        token_reset_per_user: off,
        token_failures_per_client: off,
        reset_mail_per_account: off,
        reset_mail_per_client: off,
    }
}

#[derive(Debug)]
pub struct TestApp {
    pub addr: SocketAddr,
    pub services: Arc<AppServices>,
    pub owner_id: i64,
    rt: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub fn start() -> Self {
        Self::with(Options::default())
    }

    pub fn with(opts: Options) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let common = infra::CommonArgs {
            data_dir: Some(dir.path().to_owned()),
            ..Default::default()
        };
        let mut settings = infra::config::load_common(&common).unwrap();
        settings.database = infra::DatabaseTarget::Sqlite(dir.path().join("test.sqlite3"));
        settings.disable_signup_without_link = opts.invite_only;
        settings.organization_creation_over_api = opts.organization_creation;
        if let Some(n) = opts.hash_concurrency {
            settings.hash_concurrency = n;
        }
        if let Some((lifetime, idle)) = opts.session_secs {
            settings.session_lifetime_secs = lifetime;
            settings.session_idle_timeout_secs = idle;
        }
        if let Some(t) = opts.throttle {
            settings.throttle = t;
        }
        if let Some(v) = opts.members_see_invite_link {
            settings.members_see_invite_link = v;
        }
        settings.oidc = opts.oidc.clone();
        if let Some(v) = opts.password_login {
            settings.password_login = v;
        }
        if let Some(rules) = &opts.signup_domains {
            settings.signup_domains = rules.clone();
        }
        if let Some(url) = &opts.smtp_url {
            settings.smtp = Some(infra::config::SmtpSettings {
                url: SecretString::new(url),
                from: "Label Studio <noreply@example.com>".into(),
            });
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let hasher = if opts.owasp_hashing {
            PasswordHasher::default()
        } else {
            PasswordHasher::new(1024, 1, 1).unwrap()
        };
        let services = Arc::new(
            rt.block_on(infra::services_with(&settings, hasher))
                .unwrap(),
        );
        let owner = rt
            .block_on(services.bootstrap(BootstrapRequest {
                username: OWNER_EMAIL.into(),
                password: SecretString::new(OWNER_PASSWORD),
                user_token: Some(SecretString::new(OWNER_TOKEN)),
            }))
            .unwrap();
        let BootstrapOutcome::Created { user, .. } = owner else {
            panic!("{owner:?}")
        };
        let config = ls_http::HttpConfig {
            public_url: opts.public_url.clone(),
            ..opts.http.clone().unwrap_or_default()
        };
        let app = rt
            .block_on(ls_http::App::build(Arc::clone(&services), &config))
            .unwrap();
        let addr = app.local_addr();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        rt.spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        TestApp {
            addr,
            services,
            owner_id: user.id,
            rt,
            stop: Some(tx),
            _dir: dir,
        }
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// A user in the organization, with a usable API token.
    pub fn add_user(&self, email: &str, role: Role, password: Option<&str>) -> (i64, String) {
        let (created, _) = self
            .block_on(self.services.operator_create_user(CreateUserRequest {
                email: email.into(),
                username: None,
                first_name: String::new(),
                last_name: String::new(),
                password: password.map(SecretString::new),
                role,
            }))
            .unwrap();
        let token = self
            .block_on(self.services.reset_token(created.user.id))
            .unwrap();
        (created.user.id, token.expose().to_owned())
    }

    /// Where the database files are.
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Every stored row an attack could create or change (see `snapshot`).
    pub fn snapshot(&self) -> Vec<String> {
        self.block_on(crate::snapshot::take(self.services.store().connection()))
    }

    pub fn user_count(&self) -> u64 {
        use app::UserStore as _;
        self.block_on(self.services.store().user_count()).unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
