//! `letterpress subscribers …`: list, add, remove, unsubscribe, import, compact, export. Wiring
//! only.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use clap::Subcommand;

use crate::config::Config;
use crate::send::{Relay, Transport};
use crate::subscribe;
use crate::subscribe::confirm::Confirmer;
use crate::subscribers::{commands, Source};

/// `subscribers` subcommands.
#[derive(Debug, Subcommand)]
pub enum SubscribersCommand {
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

/// Runs one list command.
pub fn run(command: SubscribersCommand, config_path: &Path) -> Result<()> {
    use SubscribersCommand as C;
    let config = Config::load(config_path)?;
    let path = config.list_path();
    let (out, notes) = (&mut std::io::stdout().lock(), &mut std::io::stderr());
    match command {
        C::List { count, tag } => commands::list(&path, &tag, count, out, notes),
        C::Add {
            address,
            name,
            confirm: true,
            ..
        } => ask_to_confirm(&config, &address, name.as_deref(), out),
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

/// `add ADDR --confirm`: the form's confirmation mail, sent now.
fn ask_to_confirm(
    config: &Config,
    address: &str,
    name: Option<&str>,
    out: &mut dyn Write,
) -> Result<()> {
    crate::subscribe::form_url(config)?;
    let secret = crate::message::secret::secret_from_env(config)?.ok_or_else(|| {
        anyhow!(
            "the unsubscribe secret is not set, so the confirmation link cannot be signed\n  help: export {} (the same value `serve` uses)",
            crate::message::secret::secret_env_name(config)
        )
    })?;
    let (parsed, name) =
        subscribe::check_input(address, name.unwrap_or("")).map_err(|e| anyhow!("{e}"))?;
    let relay = Relay::from_config(config)?;
    let confirmer = Confirmer::new(config)?;
    let mail = subscribe::request(config, &confirmer, &secret, &parsed, name, Source::Cli)?;
    subscribe::send_now(&relay, &mail)?;
    writeln!(
        out,
        "Sent a confirmation mail to {parsed} through {}; they join the list when they press its button (the link works for 7 days)",
        relay.name()
    )?;
    Ok(())
}
