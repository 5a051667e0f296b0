//! `ls-admin import label-studio`: the report and the progress bar around
//! `Services::import_label_studio`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;

use app::SecretString;
use app::import::{ImportError, ImportOptions, ImportReport};
use clap::Args;
use infra::AppServices;
use infra::label_studio::LabelStudioDb;

use crate::Failure;

#[derive(Debug, Args)]
pub(crate) struct LabelStudioImport {
    /// Label Studio's SQLite file, its data directory (holding
    /// label_studio.sqlite3 and .env), or a postgres:// URL of its database
    /// (through the environment, a URL with a password stays out of `ps`).
    #[arg(long = "from", value_name = "SOURCE", env = "LS_IMPORT_FROM")]
    source: String,
    /// Print what would happen; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Into a deployment that already has people: match them by email
    /// (they are left as they are), give newcomers new ids.
    #[arg(long)]
    merge: bool,
    /// A file whose first line is Label Studio's SECRET_KEY, so its personal
    /// access tokens keep working (read from the data directory's .env otherwise).
    #[arg(long, value_name = "PATH")]
    label_studio_secret_key_file: Option<PathBuf>,
}

impl LabelStudioImport {
    pub(crate) fn dry_run(&self) -> bool {
        self.dry_run
    }
}

/// Progress on a terminal as a bar, otherwise a line per tenth.
enum Meter {
    Bar(indicatif::ProgressBar),
    Lines(Mutex<u64>),
}

impl Meter {
    fn new(total: bool) -> Self {
        if std::io::stderr().is_terminal() && total {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} users  {per_sec}  eta {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            Self::Bar(bar)
        } else {
            Self::Lines(Mutex::new(0))
        }
    }

    fn users(&self, done: u64, total: u64) {
        match self {
            Self::Bar(bar) => {
                bar.set_length(total);
                bar.set_position(done);
            }
            Self::Lines(last) => {
                let Ok(mut last) = last.lock() else { return };
                let tenth = (total / 10).max(1);
                if done / tenth > *last / tenth || done == total {
                    eprintln!("ls-admin: {done}/{total} users");
                    *last = done;
                }
            }
        }
    }

    fn finish(&self) {
        if let Self::Bar(bar) = self {
            bar.finish();
        }
    }
}

fn secret_key(
    args: &LabelStudioImport,
    source: &LabelStudioDb,
) -> Result<Option<SecretString>, Failure> {
    if let Some(path) = &args.label_studio_secret_key_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
        let key = text.lines().next().unwrap_or_default().trim();
        if key.is_empty() {
            return Err(Failure::Usage(format!(
                "{}: the first line should be Label Studio's SECRET_KEY",
                path.display()
            )));
        }
        return Ok(Some(SecretString::new(key)));
    }
    Ok(source.env_secret_key().cloned())
}

pub(crate) async fn run(services: &AppServices, args: LabelStudioImport) -> Result<(), Failure> {
    let source = LabelStudioDb::open(&args.source)
        .await
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let options = ImportOptions {
        dry_run: args.dry_run,
        merge: args.merge,
        secret_key: secret_key(&args, &source)?,
    };
    let meter = Meter::new(!args.json);
    let progress = |done: u64, total: u64| meter.users(done, total);
    let report = services
        .import_label_studio(&source, options, &progress)
        .await
        .map_err(|e| match e {
            ImportError::TargetNotEmpty(_) => Failure::Usage(e.to_string()),
            e => Failure::Other(e.to_string()),
        })?;
    meter.finish();
    if args.json {
        let text =
            serde_json::to_string_pretty(&report).map_err(|e| Failure::Other(e.to_string()))?;
        println!("{text}");
    } else {
        print_report(&report);
    }
    Ok(())
}

fn print_report(r: &ImportReport) {
    let head = if r.dry_run {
        "Label Studio import, dry run (nothing was changed)"
    } else {
        "Label Studio import"
    };
    println!(
        "{head}: {} ({} people in the source)",
        r.mode, r.source_users
    );
    let rows = [
        ("users imported", r.users_imported.to_string()),
        (
            "users already present (left as they are)",
            r.users_already_present.to_string(),
        ),
        (
            "organizations imported",
            r.organizations_imported.to_string(),
        ),
        (
            "organizations already present",
            r.organizations_already_present.to_string(),
        ),
        (
            "memberships",
            format!(
                "{} ({} removed)",
                r.memberships_imported, r.removed_memberships_imported
            ),
        ),
        ("API tokens", r.api_tokens_imported.to_string()),
        (
            "personal access tokens",
            format!(
                "{} ({} revoked)",
                r.personal_tokens_imported, r.personal_tokens_revoked
            ),
        ),
        (
            "invite link",
            if r.invite_link_carried {
                "carried: it works until the first Reset Link".to_owned()
            } else {
                "not carried".to_owned()
            },
        ),
        (
            "passwords",
            format!(
                "pbkdf2_sha256 {}, argon2 {}, none {}, unsupported {}",
                r.passwords.pbkdf2_sha256,
                r.passwords.argon2,
                r.passwords.none,
                r.passwords.unsupported
            ),
        ),
    ];
    for (k, v) in rows {
        println!("  {k:<42} {v}");
    }
    if r.personal_tokens_imported > 0 {
        println!(
            "  (personal access tokens are completed with the SECRET_KEY given: Label Studio \
             keeps nothing to check it against, so with another key they will not work)"
        );
    }
    if !r.personal_tokens_to_recreate.is_empty() {
        println!(
            "personal access tokens that must be made again (no SECRET_KEY: give \
             --label-studio-secret-key-file, or the data directory with its .env):"
        );
        for email in &r.personal_tokens_to_recreate {
            println!("  {email}");
        }
    }
    if !r.id_mapping.is_empty() {
        println!("ids (Label Studio -> here):");
        for (from, to) in &r.id_mapping {
            println!("  {from} -> {to}");
        }
    }
    if !r.skipped.is_empty() {
        println!("not carried over:");
        for s in &r.skipped {
            println!("  {} {}: {}", s.kind, s.source_id, s.reason);
        }
    }
}
