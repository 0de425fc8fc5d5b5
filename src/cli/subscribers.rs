//! `letterpress subscribers …`: list, add, remove, unsubscribe, import,
//! compact, export.

use std::path::Path;

use anyhow::{anyhow, Result};

use super::SubscribersCommand as C;
use crate::config::Config;
use crate::send::Transport;
use crate::subscribers::{
    export_csv, import_into, report, Editor, List, Source, Status, Subscriber,
};

/// Runs one list command.
pub fn run(config_path: &Path, command: &C) -> Result<()> {
    let config = Config::load(config_path)?;
    let path = config.list_path();
    let shown = path.display();
    match command {
        C::List { count, tag } => {
            let list = List::load(&path)?;
            eprint!("{}", report::findings(&list, Some("error")));
            report::table(&list, tag, *count, &mut std::io::stdout().lock())?;
        }
        C::Add {
            address,
            name,
            confirm: true,
            ..
        } => ask_to_confirm(&config, address, name.as_deref())?,
        C::Add {
            address, name, tag, ..
        } => {
            let reader = Subscriber::active(address, name.clone(), tag.clone(), Source::Cli);
            Editor::apply(&path, |e| e.add(&reader).map(|()| true))?;
            println!("Added {} to {shown}", reader.email);
        }
        C::Remove { address } => {
            Editor::apply(&path, |e| e.remove(address).map(|()| true))?;
            println!("Removed {address} from {shown}");
        }
        C::Unsubscribe { address } => {
            match Editor::apply(&path, |e| e.set_status(address, Status::Unsubscribed))? {
                true => println!("Unsubscribed {address} in {shown}"),
                false => println!("{address} was already unsubscribed"),
            }
        }
        C::Import {
            file,
            email_column,
            tag,
        } => {
            let done = import_into(&path, file, email_column.as_deref(), tag)?;
            eprint!("{}", done.skipped(file));
            println!("{}", done.summary(&path));
        }
        C::Compact => match crate::subscribers::compact(&path)? {
            0 => println!("{shown}: no changes to fold in"),
            n => println!(
                "{shown}: folded in {n} change{} from {}",
                if n == 1 { "" } else { "s" },
                crate::subscribers::changes::log_path(&path).display()
            ),
        },
        C::Export { out } => export(&path, out.as_deref())?,
    }
    Ok(())
}

/// `add ADDR --confirm`: the form's confirmation mail, sent now.
fn ask_to_confirm(config: &Config, address: &str, name: Option<&str>) -> Result<()> {
    crate::subscribe::form_url(config)?;
    let secret = crate::message::secret::secret_from_env(config)?.ok_or_else(|| {
        anyhow!(
            "the unsubscribe secret is not set, so the confirmation link cannot be signed\n  help: export {} (the same value `serve` uses)",
            crate::message::secret::secret_env_name(config)
        )
    })?;
    let (parsed, name) =
        crate::subscribe::check_input(address, name.unwrap_or("")).map_err(|e| anyhow!("{e}"))?;
    let relay = crate::send::Relay::from_config(config)?;
    let confirmer = crate::subscribe::confirm::Confirmer::new(config)?;
    let mail = crate::subscribe::request(config, &confirmer, &secret, &parsed, name, Source::Cli)?;
    crate::subscribe::send_now(&relay, &mail)?;
    println!(
        "Sent a confirmation mail to {parsed} through {}; they join the list when they press its button (the link works for 7 days)",
        relay.name()
    );
    Ok(())
}

fn export(path: &Path, out: Option<&Path>) -> Result<()> {
    let list = List::load(path)?;
    let Some(file) = out else {
        return export_csv(&list, &mut std::io::stdout().lock());
    };
    let mut bytes = Vec::new();
    export_csv(&list, &mut bytes)?;
    crate::fs::write_atomic(file, &bytes)?;
    eprintln!(
        "Exported {} readers to {}",
        list.entries.len(),
        file.display()
    );
    Ok(())
}
