//! Shell completions and man pages, made from a binary's own clap
//! definition (so they never drift from its `--help`).

use std::io::Write;
use std::path::{Path, PathBuf};

pub use clap_complete::Shell;

/// The commands both binaries take for this, beside their own.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum DocsCommand {
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell):
    /// e.g. `ls-admin completions bash > /etc/bash_completion.d/ls-admin`.
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Write man pages (one per command and subcommand) into a directory,
    /// e.g. `/usr/local/share/man/man1`; without one, print the main page.
    Man {
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

/// A binary's whole answer to `what`: the files written (one a line), or
/// the error on stderr and a failing exit code.
pub fn answer(cmd: clap::Command, what: &DocsCommand) -> std::process::ExitCode {
    let name = cmd.get_name().to_owned();
    match run(cmd, what) {
        Ok(written) => {
            for p in written {
                println!("{}", p.display());
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs `what` for the binary described by `cmd`: what it wrote, or the error.
pub fn run(mut cmd: clap::Command, what: &DocsCommand) -> std::io::Result<Vec<PathBuf>> {
    match what {
        DocsCommand::Completions { shell } => {
            let name = cmd.get_name().to_owned();
            let mut out = std::io::stdout().lock();
            clap_complete::generate(*shell, &mut cmd, name, &mut out);
            out.flush()?;
            Ok(Vec::new())
        }
        DocsCommand::Man { out_dir: None } => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            out.flush()?;
            Ok(Vec::new())
        }
        DocsCommand::Man { out_dir: Some(dir) } => man_pages(cmd, dir),
    }
}

/// Every page of `cmd` into `dir` (created if needed): `NAME.1`,
/// `NAME-SUB.1`… The paths written.
pub fn man_pages(cmd: clap::Command, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let name = cmd.get_name().to_owned();
    clap_mangen::generate_to(cmd, dir)?;
    let mut written: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&name) && n.ends_with(".1"))
        })
        .collect();
    written.sort();
    Ok(written)
}
