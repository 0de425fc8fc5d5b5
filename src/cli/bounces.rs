//! `letterpress bounces import SOURCE [--dry-run] [--format json] [--move-to FOLDER]`. Wiring
//! only.

use std::path::Path;

use anyhow::Result;
use clap::Subcommand;

use super::CheckFormat;
use crate::bounces::{import_and_report, Options};
use crate::config::Config;

/// `bounces` subcommands.
#[derive(Debug, Subcommand)]
pub enum BouncesCommand {
    /// Read bounce, complaint and auto-reply messages and apply the policy: hard bounces and
    /// complaints act at once, soft bounces count within the window. Only recognised messages
    /// are marked as handled.
    Import {
        /// A message file, an mbox file, a Maildir folder, or imaps://user@host[:port]/FOLDER
        /// (password in LETTERPRESS_IMAP_PASSWORD).
        source: String,
        /// Change nothing; print what each message would do.
        #[arg(long)]
        dry_run: bool,
        /// human (default) or json (one object per message and line).
        #[arg(long, value_enum, default_value = "human")]
        format: CheckFormat,
        /// IMAP: move recognised messages to this folder.
        #[arg(long, value_name = "FOLDER")]
        move_to: Option<String>,
    },
}

/// Imports the reports of the source and prints what each did.
pub fn import(command: BouncesCommand, config: &Path) -> Result<()> {
    let BouncesCommand::Import {
        source,
        dry_run,
        format,
        move_to,
    } = command;
    let config = Config::load(config)?;
    let options = Options {
        dry_run,
        move_to: move_to.as_deref(),
    };
    let json = format == CheckFormat::Json;
    let (out, notes) = (&mut std::io::stdout().lock(), &mut std::io::stderr());
    import_and_report(&config, &source, options, json, out, notes)
}
