//! The command line: argument definitions (their doc comments are the
//! `--help`), one function per command, and exit codes.

mod build;
mod new;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::Located;

/// Compose Markdown issues into responsive HTML email and send them.
#[derive(Debug, Parser)]
#[command(name = "letterpress", version, about)]
pub struct Cli {
    /// The configuration file.
    #[arg(
        long,
        global = true,
        env = "LETTERPRESS_CONFIG",
        default_value = "config/newsletter.toml"
    )]
    pub config: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scaffold a new issue folder with issue.toml and sample sections.
    New {
        /// The folder to create, e.g. issues/2026-12-04.
        dir: PathBuf,
    },
    /// Compose an issue: write email.html, email.txt and web.html.
    Build {
        /// The issue folder (or its name under the project's issues/).
        issue: PathBuf,
        /// Where to write the files (default: ISSUE/build).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Render for this subscriber instead of the first active one.
        #[arg(long = "as", value_name = "ADDR")]
        as_reader: Option<String>,
    },
}

/// Runs the command line and turns the outcome into an exit code:
/// 0 success, 1 an error in input, config or arguments.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report(&err);
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::New { dir } => new::run(&dir),
        Command::Build {
            issue,
            out,
            as_reader,
        } => build::run(&cli.config, &issue, out, as_reader.as_deref()),
    }
}

/// Prints an error once, with its causes; a located error in the
/// `file:line:column: error: message` form that editors can jump to.
fn report(err: &anyhow::Error) {
    if let Some(located) = err.chain().find_map(|e| e.downcast_ref::<Located>()) {
        eprintln!(
            "{}:{}:{}: error: {}",
            located.path.display(),
            located.line,
            located.column,
            located.message
        );
        if let Some(help) = &located.help {
            eprintln!("  help: {help}");
        }
        for cause in err
            .chain()
            .take_while(|e| e.downcast_ref::<Located>().is_none())
        {
            eprintln!("  note: {cause}");
        }
    } else {
        eprintln!("error: {err:#}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_cli() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
