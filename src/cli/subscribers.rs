//! `letterpress subscribers …`: list, add, remove, unsubscribe, import, compact, export. Wiring
//! only.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Subcommand;

use crate::config::Config;
use crate::subscribers::commands;

#[derive(Debug, clap::Args)]
pub struct SubscribersArgs {
    /// What to do with the list.
    #[command(subcommand)]
    command: SubscribersCommand,
}

/// `subscribers` subcommands.
#[derive(Debug, Subcommand)]
enum SubscribersCommand {
    /// Print the readers (tab-separated) and their counts.
    List {
        /// Print only the counts.
        #[arg(long)]
        count: bool,
        /// Only readers carrying one of these tags.
        #[arg(long, value_name = "TAG")]
        tag: Vec<String>,
    },
    /// Add a reader.
    Add {
        /// The address.
        address: String,
        /// The reader's name.
        #[arg(long)]
        name: Option<String>,
        /// Tags (repeat for several).
        #[arg(long, value_name = "TAG")]
        tag: Vec<String>,
        /// Send the confirmation mail of the subscribe form instead: the reader is added (with
        /// the [subscribe] tags) once they confirm.
        #[arg(long, conflicts_with = "tag")]
        confirm: bool,
    },
    /// Remove a reader's entry entirely.
    Remove {
        /// The address.
        address: String,
    },
    /// Mark a reader unsubscribed (the entry stays, so a re-import cannot re-add it).
    Unsubscribe {
        /// The address.
        address: String,
    },
    /// Add the readers of a CSV export (Mailchimp, Stibee, a spreadsheet).
    Import {
        /// The CSV file, UTF-8, with a header row.
        file: PathBuf,
        /// The header of the address column, when it is not one of email, Email Address, 이메일.
        #[arg(long, value_name = "HEADER")]
        email_column: Option<String>,
        /// Tags for every imported reader.
        #[arg(long, value_name = "TAG")]
        tag: Vec<String>,
    },
    /// Fold the change log (`<list>.changes`: unsubscribes and confirmed subscriptions recorded
    /// by `serve`) into the list file, comments kept.
    Compact,
    /// Write the list as CSV (email, name, status, tags).
    Export {
        /// A file to write instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

impl SubscribersArgs {
    /// Runs one list command.
    pub fn run(self, config_path: &Path) -> Result<()> {
        use SubscribersCommand as C;
        let config = Config::load(config_path)?;
        let path = config.resolve(&config.file.subscribers.file);
        let (out, notes) = (&mut std::io::stdout().lock(), &mut std::io::stderr());
        match self.command {
            C::List { count, tag } => commands::list(&path, &tag, count, out, notes),
            C::Add {
                address,
                name,
                confirm: true,
                ..
            } => commands::ask_to_confirm(&config, &address, name.as_deref(), out),
            C::Add {
                address, name, tag, ..
            } => commands::add(&path, &address, name, tag, out),
            C::Remove { address } => commands::remove(&path, &address, out),
            C::Unsubscribe { address } => commands::unsubscribe(&path, &address, out),
            C::Import {
                file,
                email_column,
                tag,
            } => commands::import(&path, &file, email_column.as_deref(), &tag, out, notes),
            C::Compact => commands::compact(&path, out),
            C::Export { out: file } => commands::export(&path, file.as_deref(), out, notes),
        }
    }
}
