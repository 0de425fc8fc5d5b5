//! `letterpress subscribers …`: list, add, remove, unsubscribe, import, compact, export. Wiring
//! only.

use std::io::Write;
use std::path::Path;

use anyhow::{anyhow, Result};

use crate::args::{CheckFormat, SubscribersCommand};
use crate::config::Config;
use crate::erasure::Erasures;
use crate::list::{commands, Source};
use crate::send::Relay;
use crate::signup;
use crate::signup::confirm::Confirmer;

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
        } => {
            crate::rights::refuse_forgotten(&config, &address)?;
            commands::add(&path, &address, name, tag, out)
        }
        C::Remove { address } => commands::remove(&path, &address, out),
        C::Unsubscribe { address } => commands::unsubscribe(&path, &address, out),
        C::Show { address, format } => show(&config, &address, format, out),
        C::Forget { address } => forget(&config, &address, out),
        C::Import {
            file,
            email_column,
            tag,
        } => {
            let erasures = Erasures::load(&config.state_dir())?;
            let forgotten = |email: &str| erasures.erased_at(email).is_some();
            let column = email_column.as_deref();
            commands::import(&path, &file, column, &tag, &forgotten, out, notes)
        }
        C::Compact => commands::compact(&path, out),
        C::Export { out: file } => commands::export(&path, file.as_deref(), out, notes),
    }
}

/// `add ADDR --confirm`: the form's confirmation mail, sent now.
/// `subscribers show ADDR`: what letterpress holds about a reader.
fn show(config: &Config, address: &str, format: CheckFormat, out: &mut dyn Write) -> Result<()> {
    let held = crate::rights::gather(config, address)?;
    match format {
        CheckFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&held)?)?,
        CheckFormat::Human => crate::rights::print(&held, out)?,
    }
    Ok(())
}

/// `subscribers forget ADDR`: the reader erased; an error naming the
/// files that still hold the address.
fn forget(config: &Config, address: &str, out: &mut dyn Write) -> Result<()> {
    let done = crate::rights::forget(config, address)?;
    crate::rights::print_forgotten(address, &done, out)?;
    if !done.left.is_empty() {
        let files: Vec<String> = done
            .left
            .iter()
            .map(|p| format!("  {}", p.display()))
            .collect();
        anyhow::bail!(
            "these files still hold the address, and forget does not change them (build output, a CSV you imported, notes):\n{}\n  help: delete or rebuild them (`letterpress build` picks another sample reader), then run `letterpress subscribers forget` again to check",
            files.join("\n")
        );
    }
    Ok(())
}

fn ask_to_confirm(
    config: &Config,
    address: &str,
    name: Option<&str>,
    out: &mut dyn Write,
) -> Result<()> {
    crate::signup::form_url(config)?;
    let secret = crate::message::secret::secret_from_env(config)?.ok_or_else(|| {
        anyhow!(
            "the unsubscribe secret is not set, so the confirmation link cannot be signed\n  help: export {} (the same value `serve` uses)",
            crate::message::secret::secret_env_name(config)
        )
    })?;
    let (parsed, name) =
        signup::check_input(address, name.unwrap_or("")).map_err(|e| anyhow!("{e}"))?;
    let relay = Relay::service(config)?;
    let confirmer = Confirmer::new(config)?;
    // A reader asked from the command line gets the default topics.
    let topics = config.default_topics();
    let mail = signup::request(
        config,
        &confirmer,
        &secret,
        &parsed,
        name,
        Source::Cli,
        &topics,
    )?;
    let through = signup::send_now(&relay, &mail)?;
    writeln!(
        out,
        "Sent a confirmation mail to {parsed} through {through}; they join the list when they press its button (the link works for 7 days)"
    )?;
    Ok(())
}
