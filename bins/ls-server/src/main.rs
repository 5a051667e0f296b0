//! `ls-server`: config → infra → app → http → serve.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;

use app::{AppError, BootstrapOutcome, BootstrapRequest};
use clap::{Parser, Subcommand};
use infra::{CommonArgs, Settings};
use serde::Serialize;

/// Most of a request's CPU outside the kernel went to glibc's allocator,
/// with threads contending for its arena locks (issue 7's profile).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc gives freed memory back to the system only after a delay (1 s
/// by default), and only when a later free comes by: an idle server kept
/// what its last burst had freed (argon2's 19 MiB a hashing thread, the
/// rows of a long list) for good. With no delay it goes back at the free.
/// mimalloc reads its options from the environment while the process
/// loads, before `main`: the server sets the option and executes itself
/// again, once (same process id, same arguments). An operator's own
/// `MIMALLOC_PURGE_DELAY` is left as it is.
#[cfg(unix)]
fn allocator_options() {
    use std::os::unix::process::CommandExt as _;
    const OPTION: &str = "MIMALLOC_PURGE_DELAY";
    if std::env::var_os(OPTION).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let mut again = std::process::Command::new(exe);
    if let Some(arg0) = args.next() {
        again.arg0(arg0);
    }
    let error = again.args(args).env(OPTION, "0").exec();
    // Only on failure (the binary replaced on disk, say): go on as is.
    eprintln!(
        "ls-server: could not execute itself again with {OPTION}=0 ({error}); \
         freed memory goes back to the system later"
    );
}

#[cfg(not(unix))]
fn allocator_options() {}

/// Label Studio-compatible user management server.
#[derive(Debug, Parser)]
#[command(name = "ls-server", version)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve (the default). With --username and --password, first create that account.
    Start(StartArgs),
    #[command(flatten)]
    Docs(infra::cli_docs::DocsCommand),
}

#[derive(Debug, Default, Serialize, clap::Args)]
struct StartArgs {
    /// Email of the first-run account, created once: on a new deployment the owner of "Label Studio",
    /// on one that has accounts an administrator of its organization (env: LABEL_STUDIO_USERNAME).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    /// Its password (env: LABEL_STUDIO_PASSWORD).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<String>,
    /// Its API token, at least 5 characters; generated when absent (env: LABEL_STUDIO_USER_TOKEN).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    user_token: Option<String>,
    /// The public URL links are built from (env: LABEL_STUDIO_HOST).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<String>,
    /// The address to bind (default 127.0.0.1).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    internal_host: Option<String>,
    /// The port (default 8080; env: LABEL_STUDIO_PORT).
    #[arg(long, short = 'p')]
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    /// Start a new, empty deployment where the data directory holds traces of an earlier one
    /// (a secret_key, a lock or WAL file) but no database: for when that is meant, not a lost file.
    #[arg(long)]
    #[serde(skip)]
    init: bool,
}

/// Exit code for bad input: configuration, flags, first-run values.
const USAGE: u8 = 2;

fn main() -> ExitCode {
    allocator_options();
    let cli = Cli::parse();
    let flags = match cli.command {
        Some(Command::Start(args)) => args,
        None => StartArgs::default(),
        Some(Command::Docs(what)) => {
            return infra::cli_docs::answer(<Cli as clap::CommandFactory>::command(), &what);
        }
    };
    if flags.user_token.as_deref() == Some("") {
        eprintln!(
            "ls-server: cannot create the first-run account: token: --user-token is empty; \
             give at least 5 characters, or leave it out to have one generated"
        );
        return ExitCode::from(USAGE);
    }
    let settings = match infra::config::load(&cli.common, &flags) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ls-server: {e}");
            return ExitCode::from(USAGE);
        }
    };
    infra::telemetry::init_as(&settings.log, settings.log_format);
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ls-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let open = if flags.init {
        infra::Open::Init
    } else {
        infra::Open::Create
    };
    runtime.block_on(run(settings, open))
}

/// Everything that can refuse is checked before the first write: the
/// first-run values, the proxies, the port (bound here), the deployment and
/// its secret (in `infra::open_services`); only then the account is made.
async fn run(settings: Settings, open: infra::Open) -> ExitCode {
    let first_run = match first_run_request(&settings) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let mut trusted_proxies = Vec::new();
    for p in &settings.trusted_proxies {
        match ls_http::parse_trusted(p) {
            Ok(net) => trusted_proxies.push(net),
            Err(e) => {
                eprintln!("ls-server: invalid configuration: trusted_proxies: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let fds = infra::limits::raise_descriptor_limit();
    let max_connections = infra::limits::connection_cap(settings.max_connections, fds.soft);
    tracing::info!(
        soft_before = ?fds.before,
        soft = ?fds.soft,
        hard = ?fds.hard,
        max_connections,
        "file descriptor limit"
    );
    let metrics = match metrics(&settings).await {
        Ok(m) => m,
        Err(code) => return code,
    };
    let http = ls_http::HttpConfig {
        bind_host: settings.internal_host.clone(),
        port: settings.port,
        public_url: settings.host.clone(),
        body_limit: settings.body_limit,
        trusted_proxies,
        header_read_timeout: std::time::Duration::from_secs(settings.header_read_timeout_secs),
        list_concurrency: settings.list_concurrency,
        list_queue_wait: std::time::Duration::from_secs(settings.list_queue_wait_secs),
        max_connections,
        metrics: metrics.clone(),
        ..ls_http::HttpConfig::default()
    };
    let bound = match ls_http::App::bind(&http).await {
        Ok(bound) => bound,
        Err(e) => {
            eprintln!(
                "ls-server: cannot listen on {}:{}: {e}",
                settings.internal_host, settings.port
            );
            return ExitCode::FAILURE;
        }
    };
    // `ls-admin restore` refuses while this is held (and this start while
    // a restore runs): taken before the database is opened.
    let _data_dir_lock = match infra::backup::hold_data_dir(&settings, true) {
        Ok(lock) => lock,
        Err(e @ (infra::InfraError::NoDeployment(_) | infra::InfraError::NotADirectory(_))) => {
            eprintln!("ls-server: {e}");
            return ExitCode::from(USAGE);
        }
        Err(e) => {
            eprintln!("ls-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let services = match infra::services_as(&settings, open).await {
        Ok(s) => Arc::new(s),
        Err(e @ (infra::InfraError::NoDeployment(_) | infra::InfraError::NotADirectory(_))) => {
            eprintln!("ls-server: {e}");
            return ExitCode::from(USAGE);
        }
        Err(e) => {
            eprintln!("ls-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(m) = &metrics {
        let s = Arc::clone(&services);
        m.set_sampler(move || {
            let (open, idle) = infra::db::pool_usage(s.store().connection());
            metrics::gauge!("ls_db_pool_connections").set(f64::from(open));
            metrics::gauge!("ls_db_pool_idle").set(idle as f64);
            metrics::gauge!("ls_hash_queue_depth").set(s.hashes_queued() as f64);
        });
    }
    if let Some(request) = first_run
        && let Err(code) = bootstrap(&services, request).await
    {
        return code;
    }
    let app = bound.serve(services);
    // Handlers first: a stop signal from here on is a graceful stop.
    let stop = ls_http::shutdown_signal();
    let public_url = settings.public_url(Some(app.local_addr().port()));
    tracing::info!(address = %app.local_addr(), %public_url, "listening");
    match app.run_until_stopped(stop).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ls-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The metrics recorder, when metrics are on (`metrics_listen` or
/// `metrics_token`), and their own listener, bound here so that a taken
/// port stops the start.
async fn metrics(settings: &Settings) -> Result<Option<ls_http::Metrics>, ExitCode> {
    if settings.metrics_listen.is_none() && settings.metrics_token.is_none() {
        return Ok(None);
    }
    let m = ls_http::Metrics::install(settings.metrics_token.clone()).map_err(|e| {
        eprintln!("ls-server: {e}");
        ExitCode::FAILURE
    })?;
    if let Some(addr) = settings.metrics_listen {
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            eprintln!("ls-server: cannot listen on {addr} (metrics_listen): {e}");
            ExitCode::FAILURE
        })?;
        let bound = listener.local_addr().unwrap_or(addr);
        tracing::info!(metrics_address = %bound, "metrics served");
        let served = m.clone();
        tokio::spawn(async move {
            if let Err(e) = ls_http::serve_metrics(listener, served, std::future::pending()).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
    }
    Ok(Some(m))
}

/// The first-run account asked for, its values checked (nothing is written
/// yet); `None` when none was asked for.
fn first_run_request(settings: &Settings) -> Result<Option<BootstrapRequest>, ExitCode> {
    let (username, password) = match (&settings.username, &settings.password) {
        (None, None) if settings.user_token.is_none() => return Ok(None),
        (Some(u), Some(p)) => (u.clone(), p.clone()),
        _ => {
            eprintln!(
                "ls-server: the first-run account needs both --username and --password \
                 (or LABEL_STUDIO_USERNAME and LABEL_STUDIO_PASSWORD)"
            );
            return Err(ExitCode::from(USAGE));
        }
    };
    let request = BootstrapRequest {
        username,
        password,
        user_token: settings.user_token.clone(),
    };
    if let Err(e) = request.check(&settings.password_policy) {
        eprintln!("ls-server: cannot create the first-run account: {e}");
        return Err(ExitCode::from(USAGE));
    }
    Ok(Some(request))
}

/// A given first-run token shorter than this is accepted (Label Studio's
/// minimum is 5) but warned about at start-up.
const STRONG_TOKEN_CHARS: usize = 20;

/// A generated token is stored as a digest only: how to get a usable one.
fn generated_token_hint(email: &impl std::fmt::Display) {
    tracing::info!(
        "an API token was generated and stored as a digest only; \
         get a usable one with `ls-admin token reset --email {email}` or on the account page"
    );
}

/// The first-run account.
async fn bootstrap(
    services: &infra::AppServices,
    request: BootstrapRequest,
) -> Result<(), ExitCode> {
    let short_token = request
        .user_token
        .as_ref()
        .map(|t| t.expose().chars().count())
        .filter(|n| *n < STRONG_TOKEN_CHARS);
    let warn_short = || {
        if let Some(length) = short_token {
            tracing::warn!(
                length,
                "the first-run API token is shorter than {STRONG_TOKEN_CHARS} characters: \
                 failed token attempts are throttled per address, but a short token can \
                 still be guessed from many addresses; leave --user-token out to have one \
                 generated, or give a longer one"
            );
        }
    };
    match services.bootstrap(request).await {
        Ok(BootstrapOutcome::Created {
            user,
            organization_id,
            token_generated,
        }) => {
            tracing::info!(user_id = user.id, email = %user.email, organization_id, "created the first-run account");
            warn_short();
            if token_generated {
                generated_token_hint(&user.email);
            }
            Ok(())
        }
        Ok(BootstrapOutcome::Joined {
            user,
            organization_id,
            token_generated,
        }) => {
            tracing::warn!(
                user_id = user.id,
                email = %user.email,
                organization_id,
                "the first-run account is not the first account: it joined the existing \
                 organization as an administrator, not as its owner"
            );
            warn_short();
            if token_generated {
                generated_token_hint(&user.email);
            }
            Ok(())
        }
        Ok(BootstrapOutcome::AlreadyExists { user }) => {
            tracing::info!(
                user_id = user.id,
                email = %user.email,
                "the first-run account already exists: its password and token were left unchanged"
            );
            Ok(())
        }
        Err(e @ (AppError::Invalid { .. } | AppError::SignupDenied(_))) => {
            eprintln!("ls-server: cannot create the first-run account: {e}");
            Err(ExitCode::from(USAGE))
        }
        Err(e) => {
            eprintln!("ls-server: cannot create the first-run account: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}
