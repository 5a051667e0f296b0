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
}

#[derive(Debug, Default, Serialize, clap::Args)]
struct StartArgs {
    /// Email of the first account, created once as owner of "Label Studio" (env: LABEL_STUDIO_USERNAME).
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
}

/// Exit code for bad input: configuration, flags, first-run values.
const USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let flags = match cli.command {
        Some(Command::Start(args)) => args,
        None => StartArgs::default(),
    };
    let settings = match infra::config::load(&cli.common, &flags) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ls-server: {e}");
            return ExitCode::from(USAGE);
        }
    };
    infra::telemetry::init(&settings.log);
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
    runtime.block_on(run(settings))
}

async fn run(settings: Settings) -> ExitCode {
    let services = match infra::services(&settings).await {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("ls-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(code) = bootstrap(&services, &settings).await {
        return code;
    }
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
    let http = ls_http::HttpConfig {
        bind_host: settings.internal_host.clone(),
        port: settings.port,
        public_url: settings.host.clone(),
        body_limit: settings.body_limit,
        trusted_proxies,
        ..ls_http::HttpConfig::default()
    };
    let app = match ls_http::App::build(services, &http).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!(
                "ls-server: cannot listen on {}:{}: {e}",
                settings.internal_host, settings.port
            );
            return ExitCode::FAILURE;
        }
    };
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

/// The first-run account, when asked for.
async fn bootstrap(services: &infra::AppServices, settings: &Settings) -> Result<(), ExitCode> {
    let (username, password) = match (&settings.username, &settings.password) {
        (None, None) if settings.user_token.is_none() => return Ok(()),
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
    match services.bootstrap(request).await {
        Ok(BootstrapOutcome::Created {
            user,
            organization_id,
            token_generated,
        }) => {
            tracing::info!(user_id = user.id, email = %user.email, organization_id, "created the first-run account");
            if token_generated {
                tracing::info!(
                    "an API token was generated and stored as a digest only; \
                     get a usable one with `ls-admin token reset --email {}` or on the account page",
                    user.email
                );
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
