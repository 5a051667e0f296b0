//! `ls-admin`: offline administration against the server's own database
//! (same `--config`, `--data-dir`, `--database-url` and environment), through
//! the same use-cases. Safe while `ls-server` runs.
#![forbid(unsafe_code)]

mod audit;
mod import;

/// As the server: an import allocates a row's strings by the million, and
/// glibc's malloc was a sixth of its profile.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use app::{AppError, CreateUserRequest, SecretString};
use clap::{Args, Parser, Subcommand};
use infra::{AppServices, CommonArgs};
use orgs::Role;
use serde_json::json;

#[derive(Debug, Parser)]
#[command(
    name = "ls-admin",
    version,
    about = "Administer ls-users offline, even while the server runs"
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Users.
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The organization's invite link.
    #[command(subcommand)]
    Invite(InviteCommand),
    /// Print the database settings that keep the data safe, as the database reports them.
    Doctor,
    /// A consistent copy of the SQLite database, with the deployment
    /// secret, into a new file; safe while the server serves.
    Backup {
        /// The file to write (it must not exist).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
        /// Leave the deployment secret out: keep the data directory's
        /// secret_key (or LS_SECRET_KEY) elsewhere, as the backup is of
        /// no use without it.
        #[arg(long)]
        without_secret: bool,
    },
    /// Bring a backup back into the data directory (refused while a
    /// server runs on it; the database that was there is kept beside it).
    Restore {
        /// A file written by `ls-admin backup`.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
    },
    /// Bring people over from another system.
    #[command(subcommand)]
    Import(ImportCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    #[command(flatten)]
    Docs(infra::cli_docs::DocsCommand),
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// From Label Studio's database: people (with their passwords, API
    /// tokens and ids), organizations, memberships, the invite link and
    /// personal access tokens.
    LabelStudio(import::LabelStudioImport),
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user in the organization (the first one founds it, as owner).
    Create {
        #[arg(long)]
        email: String,
        /// Display name; defaults to the part of the email before '@'.
        #[arg(long)]
        username: Option<String>,
        #[arg(long, default_value = "")]
        first_name: String,
        #[arg(long, default_value = "")]
        last_name: String,
        /// member or administrator.
        #[arg(long, default_value = "member")]
        role: String,
        #[command(flatten)]
        password: PasswordSource,
        /// Create the account without a password (it cannot log in until one is set).
        #[arg(long, conflicts_with_all = ["password_stdin", "password_file"])]
        no_password: bool,
        /// Create it even if its email domain is outside signup_allowed_domains
        /// or inside signup_blocked_domains (a deliberate exception).
        #[arg(long)]
        force: bool,
    },
    /// List every user.
    List {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Set a user's password (ends their sessions).
    SetPassword {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        password: PasswordSource,
    },
    /// Deactivate a user (ends their sessions; they can no longer log in or use their token).
    Deactivate {
        #[arg(long)]
        email: String,
    },
    /// Re-activate a user.
    Activate {
        #[arg(long)]
        email: String,
    },
    /// Print a one-time password reset link for a user (it expires after
    /// password_reset_ttl_secs, works once, and dies when a newer one is made
    /// or the password changes). Give it to them by a channel you trust.
    ResetLink {
        #[arg(long)]
        email: String,
    },
    /// Set a user's role in the organization: member, administrator, or
    /// owner (which moves the ownership: the former owner becomes an
    /// administrator).
    SetRole {
        #[arg(long)]
        email: String,
        #[arg(long)]
        role: String,
    },
    /// Delete a user's account (with their token, sessions and
    /// memberships). An organization's owner is refused: move the
    /// ownership first with `user set-role --role owner`.
    Delete {
        #[arg(long)]
        email: String,
    },
    /// Clear the login throttle of an account (after too many failed
    /// attempts), and with --address that client's login and sign-up counts.
    Unlock {
        #[arg(long)]
        email: String,
        /// A client address (as the server saw it) to clear as well.
        #[arg(long)]
        address: Option<std::net::IpAddr>,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Write every entry, oldest first, one JSON object per line, to
    /// standard output (progress on standard error).
    Export {
        /// JSON lines (the one format).
        #[arg(long, required = true)]
        jsonl: bool,
        /// Only entries with a greater id (to continue an earlier export).
        #[arg(long, default_value_t = 0)]
        after: i64,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Make a new API token for the user and print it, once. The old one stops working.
    Reset {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
enum InviteCommand {
    /// Print the current invite link.
    Show,
    /// Reset the invite link: the old one registers no one from now on.
    Reset,
}

/// Where a password comes from: never argv.
#[derive(Debug, Args)]
struct PasswordSource {
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
    /// Read the password from the first line of this file.
    #[arg(long, value_name = "PATH", conflicts_with = "password_stdin")]
    password_file: Option<PathBuf>,
}

/// Exit code for bad input.
const USAGE: u8 = 2;

#[derive(Debug)]
pub(crate) enum Failure {
    Usage(String),
    Other(String),
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Invalid { .. }
            | AppError::InvalidOrg { .. }
            | AppError::EmailTaken
            | AppError::OneOwner
            | AppError::LastOwner
            | AppError::EmailDomain(_)
            | AppError::InactiveOwner
            | AppError::MemberNotFound
            | AppError::NotFound(_)
            | AppError::NoOrganization => Failure::Usage(e.to_string()),
            other => Failure::Other(other.to_string()),
        }
    }
}

/// How the user's password is stored (`argon2id`, `pbkdf2_sha256` for one
/// carried over from Label Studio and not used here yet, `none`…).
fn scheme(user: &app::UserRecord) -> &'static str {
    accounts::PasswordScheme::of(user.password_hash.as_ref()).as_str()
}

fn first_line(mut reader: impl BufRead) -> Result<SecretString, Failure> {
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map_err(|e| Failure::Usage(format!("cannot read the password: {e}")))?;
    Ok(SecretString::new(line.trim_end_matches(['\r', '\n'])))
}

impl PasswordSource {
    fn read(&self) -> Result<SecretString, Failure> {
        if self.password_stdin {
            return first_line(std::io::stdin().lock());
        }
        if let Some(path) = &self.password_file {
            let f = std::fs::File::open(path)
                .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
            return first_line(std::io::BufReader::new(f));
        }
        if !std::io::stdin().is_terminal() {
            return Err(Failure::Usage(
                "no terminal to ask for the password: use --password-stdin or --password-file"
                    .into(),
            ));
        }
        let first =
            rpassword::prompt_password("Password: ").map_err(|e| Failure::Usage(e.to_string()))?;
        let again = rpassword::prompt_password("Password (again): ")
            .map_err(|e| Failure::Usage(e.to_string()))?;
        if first != again {
            return Err(Failure::Usage("the passwords do not match".into()));
        }
        Ok(SecretString::new(first))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Docs(what) = &cli.command {
        return infra::cli_docs::answer(<Cli as clap::CommandFactory>::command(), what);
    }
    let settings = match infra::config::load_common(&cli.common) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ls-admin: {e}");
            return ExitCode::from(USAGE);
        }
    };
    infra::telemetry::init(std::env::var("LS_LOG").as_deref().unwrap_or("warn"));
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ls-admin: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Only the command that creates a user may create a deployment (and
    // says so); every other one needs an existing one, so a mistyped
    // --data-dir creates nothing.
    let creates = matches!(
        cli.command,
        Command::User(UserCommand::Create { .. }) | Command::Import(_)
    );
    let new_sqlite = match &settings.database {
        infra::DatabaseTarget::Sqlite(path) => !infra::deployment::sqlite_database_present(path),
        infra::DatabaseTarget::Postgres(_) => false,
    };
    // A dry run changes nothing, not even by creating the deployment: it
    // opens only an existing one, and with none there yet compares against
    // an empty one in a scratch directory, removed afterwards.
    let dry_run =
        matches!(&cli.command, Command::Import(ImportCommand::LabelStudio(a)) if a.dry_run());
    let scratch = dry_run.then(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        std::env::temp_dir().join(format!("ls-admin-dry-run-{}-{nanos}", std::process::id()))
    });
    let open = if creates && !dry_run {
        infra::Open::Create
    } else {
        infra::Open::Existing
    };
    match &cli.command {
        Command::Doctor => {
            // Doctor migrates an intact database: not while a restore swaps it.
            let _lock = match infra::backup::hold_data_dir(&settings, false) {
                Ok(lock) => lock,
                Err(e) => {
                    eprintln!("ls-admin: {e}");
                    return ExitCode::FAILURE;
                }
            };
            return finish(runtime.block_on(doctor(&settings)));
        }
        Command::Backup { to, without_secret } => {
            return finish(runtime.block_on(backup(&settings, to, !without_secret)));
        }
        Command::Restore { from } => return finish(runtime.block_on(restore(&settings, from))),
        _ => {}
    }
    // A restore waits for this command, and this command refuses while
    // a restore runs.
    let _data_dir_lock = match infra::backup::hold_data_dir(&settings, creates && !dry_run) {
        Ok(lock) => lock,
        Err(e @ (infra::InfraError::NoDeployment(_) | infra::InfraError::NotADirectory(_))) => {
            eprintln!("ls-admin: {e}");
            return ExitCode::from(USAGE);
        }
        Err(e) => {
            eprintln!("ls-admin: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let opened = match (infra::services_as(&settings, open).await, &scratch) {
            (Err(infra::InfraError::NoDeployment(_)), Some(dir)) => {
                eprintln!(
                    "ls-admin: no deployment in {} yet: the dry run compares against an empty one",
                    settings.data_dir.display()
                );
                let mut empty = settings.clone();
                empty.data_dir = dir.clone();
                empty.database = infra::DatabaseTarget::Sqlite(infra::db::sqlite_path(dir));
                infra::services_as(&empty, infra::Open::Create).await
            }
            (opened, _) => opened,
        };
        let services = opened.map_err(|e| match e {
            infra::InfraError::NoDeployment(_) | infra::InfraError::NotADirectory(_) => {
                Failure::Usage(e.to_string())
            }
            e => Failure::Other(e.to_string()),
        })?;
        if creates && new_sqlite && !dry_run {
            eprintln!(
                "ls-admin: created a new deployment in {}",
                settings.data_dir.display()
            );
        }
        run(&services, &settings, cli.command).await
    });
    if let Some(dir) = scratch {
        let _ = std::fs::remove_dir_all(dir);
    }
    finish(result)
}

fn finish(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(m)) => {
            eprintln!("ls-admin: {m}");
            ExitCode::from(USAGE)
        }
        Err(Failure::Other(m)) => {
            eprintln!("ls-admin: {m}");
            ExitCode::FAILURE
        }
    }
}

/// What the database says about itself: read first without writing (so a
/// damaged database is reported, not migrated), then, when it is intact, the
/// settings the server's own connections get.
async fn doctor(settings: &infra::Settings) -> Result<(), Failure> {
    println!("{:<16} {}", "data_dir", settings.data_dir.display());
    if let infra::DatabaseTarget::Sqlite(path) = &settings.database {
        println!("{:<16} {}", "database", path.display());
    }
    let inspection = infra::db::inspect(&settings.database)
        .await
        .map_err(|e| match e {
            infra::InfraError::NoDeployment(_) => Failure::Usage(e.to_string()),
            e => Failure::Other(e.to_string()),
        })?;
    for (k, v) in &inspection.rows {
        println!("{k:<16} {v}");
    }
    if inspection.intact == Some(false) {
        return Err(Failure::Other(
            "the database is damaged (integrity_check above): nothing was changed; restore it \
             from a backup, or salvage it with sqlite3's .recover"
                .into(),
        ));
    }
    let services = infra::services_as(settings, infra::Open::Existing)
        .await
        .map_err(|e| Failure::Other(e.to_string()))?;
    let path = match &settings.database {
        infra::DatabaseTarget::Sqlite(p) => Some(p.as_path()),
        infra::DatabaseTarget::Postgres(_) => None,
    };
    let rows = infra::db::diagnostics(services.store(), path)
        .await
        .map_err(|e| Failure::Other(e.to_string()))?;
    for (k, v) in rows {
        if matches!(k, "synchronous" | "foreign_keys" | "busy_timeout") {
            println!("{k:<16} {v}");
        }
    }
    Ok(())
}

fn backup_failure(e: infra::InfraError) -> Failure {
    match e {
        infra::InfraError::Backup(_) | infra::InfraError::NoDeployment(_) => {
            Failure::Usage(e.to_string())
        }
        e => Failure::Other(e.to_string()),
    }
}

async fn backup(
    settings: &infra::Settings,
    to: &std::path::Path,
    secret: bool,
) -> Result<(), Failure> {
    let report = infra::backup::backup(settings, to, secret)
        .await
        .map_err(backup_failure)?;
    println!(
        "backed up {} users (schema {}) to {} ({} bytes)",
        report.users,
        report.schema,
        report.path.display(),
        report.bytes
    );
    if report.secret_included {
        println!("the deployment secret is in it: keep the file as private as the data directory");
    } else {
        println!(
            "the deployment secret is not in it: keep LS_SECRET_KEY or the data directory's \
             secret_key with it, as it is of no use without"
        );
    }
    Ok(())
}

async fn restore(settings: &infra::Settings, from: &std::path::Path) -> Result<(), Failure> {
    let report = infra::backup::restore(settings, from)
        .await
        .map_err(backup_failure)?;
    println!(
        "restored {} users (schema {}, backed up {}) into {}",
        report.users,
        report.schema,
        report.made_at.as_deref().unwrap_or("at an unknown time"),
        report.database.display()
    );
    if let Some(previous) = report.previous {
        println!(
            "the database that was there is kept as {}",
            previous.display()
        );
    }
    if report.secret_written {
        println!("the backup's deployment secret is the data directory's secret_key");
    }
    println!("start ls-server: it brings the schema up to date if the backup is older");
    Ok(())
}

async fn run(
    services: &AppServices,
    settings: &infra::Settings,
    command: Command,
) -> Result<(), Failure> {
    match command {
        Command::User(UserCommand::Create {
            email,
            username,
            first_name,
            last_name,
            role,
            password,
            no_password,
            force,
        }) => {
            let role = Role::parse(&role).map_err(|e| Failure::Usage(format!("role: {e}")))?;
            let password = if no_password {
                None
            } else {
                Some(password.read()?)
            };
            let req = CreateUserRequest {
                email,
                username,
                first_name,
                last_name,
                password,
                role,
            };
            let (created, _token) = if force {
                services.operator_create_user_forced(req).await?
            } else {
                services
                    .operator_create_user(req)
                    .await
                    .map_err(|e| match e {
                        AppError::EmailDomain(r) => Failure::Usage(format!(
                            "email: {r} (signup_allowed_domains / signup_blocked_domains; \
                         --force makes this one account anyway)"
                        )),
                        other => other.into(),
                    })?
            };
            println!(
                "created user {} <{}> as {} of organization {}",
                created.user.id, created.user.email, created.role, created.organization_id
            );
        }
        Command::User(UserCommand::List { json }) => {
            let users = services.list_users().await?;
            if json {
                let rows: Vec<_> = users
                    .iter()
                    .map(|u| {
                        json!({
                            "id": u.user.id,
                            "email": u.user.email.as_str(),
                            "username": u.user.username,
                            "first_name": u.user.first_name,
                            "last_name": u.user.last_name,
                            "is_active": u.user.is_active,
                            "has_password": u.user.password_hash.is_some(),
                            "password_scheme": scheme(&u.user),
                            "active_organization": u.user.active_organization,
                            "role": u.role.map(Role::as_str),
                            "date_joined": app::time::iso8601(u.user.date_joined),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                println!(
                    "{:>6}  {:<40} {:<14} {:<8} {:<14}",
                    "ID", "EMAIL", "ROLE", "ACTIVE", "PASSWORD"
                );
                for u in &users {
                    println!(
                        "{:>6}  {:<40} {:<14} {:<8} {:<14}",
                        u.user.id,
                        u.user.email.as_str(),
                        u.role.map_or("-", Role::as_str),
                        if u.user.is_active { "yes" } else { "no" },
                        scheme(&u.user)
                    );
                }
            }
        }
        Command::User(UserCommand::SetPassword { email, password }) => {
            let password = password.read()?;
            let user = services.set_password(&email, &password).await?;
            println!("password set for {}; their sessions were ended", user.email);
        }
        Command::User(UserCommand::Deactivate { email }) => {
            let user = services.set_active(&email, false).await?;
            println!("deactivated {}", user.email);
            for org in services.organizations_owned(user.id).await? {
                eprintln!(
                    "ls-admin: warning: {} owns organization {org}, which now has no active \
                     owner: no one there can reset its invite link or manage its members \
                     until `ls-admin user activate --email {}`",
                    user.email, user.email
                );
            }
        }
        Command::User(UserCommand::Activate { email }) => {
            let user = services.set_active(&email, true).await?;
            println!("activated {}", user.email);
        }
        Command::User(UserCommand::ResetLink { email }) => {
            let link = services.operator_reset_link(&email).await?;
            // Printed once, to stdout only: only its digest is stored.
            println!("{}{}", settings.public_url(None), link.path());
            eprintln!(
                "ls-admin: reset link for {} made; it expires at {} and works once",
                link.user.email,
                app::time::iso8601(link.expires_at)
            );
        }
        Command::User(UserCommand::SetRole { email, role }) => {
            let role = Role::parse(&role).map_err(|e| Failure::Usage(format!("role: {e}")))?;
            let user = services.operator_set_role(&email, role).await?;
            println!("{} is now {role}", user.email);
        }
        Command::User(UserCommand::Delete { email }) => {
            let user = services.operator_delete_user(&email).await?;
            println!("deleted {}", user.email);
        }
        Command::User(UserCommand::Unlock { email, address }) => {
            let cleared = services.unlock(&email, address).await?;
            if cleared {
                println!("unlocked {email}");
            } else {
                println!("{email} was not locked");
            }
        }
        Command::Token(TokenCommand::Reset { email }) => {
            let user = services.find_user(&email).await?;
            let token = services.reset_token(user.id).await?;
            // Printed once, to stdout only: it is not stored anywhere in clear.
            println!("{}", token.expose());
        }
        Command::Invite(InviteCommand::Show) => {
            let (_, token) = services.operator_invite_link().await?;
            println!("{}{}", settings.public_url(None), token.signup_path());
        }
        Command::Audit(AuditCommand::Export { jsonl: _, after }) => {
            audit::export(services, after).await?;
        }
        Command::Doctor => doctor(settings).await?,
        Command::Backup { to, without_secret } => backup(settings, &to, !without_secret).await?,
        Command::Restore { from } => restore(settings, &from).await?,
        Command::Docs(_) => {}
        Command::Import(ImportCommand::LabelStudio(args)) => import::run(services, args).await?,
        Command::Invite(InviteCommand::Reset) => {
            let (_, token) = services.operator_reset_invite().await?;
            println!("{}{}", settings.public_url(None), token.signup_path());
        }
    }
    Ok(())
}
