//! `letterpress subscribers …`: list, add, remove, unsubscribe, import, export.

use std::path::Path;

use anyhow::Result;

use super::SubscribersCommand;
use crate::config::Config;
use crate::subscribers::{export_csv, import_csv, Editor, List, Severity, Status, Subscriber};

/// Runs one list command.
pub fn run(config_path: &Path, command: &SubscribersCommand) -> Result<()> {
    let config = Config::load(config_path)?;
    let path = config.resolve(&config.file.subscribers.file);
    match command {
        SubscribersCommand::List { count, tag } => list(&path, *count, tag),
        SubscribersCommand::Add { address, name, tag } => {
            let mut editor = Editor::open(&path)?;
            let subscriber = Subscriber {
                email: address.trim().to_string(),
                name: name.clone(),
                status: Status::Active,
                tags: tag.clone(),
            };
            editor.add(&subscriber)?;
            editor.save()?;
            println!("Added {} to {}", subscriber.email, path.display());
            Ok(())
        }
        SubscribersCommand::Remove { address } => {
            let mut editor = Editor::open(&path)?;
            editor.remove(address)?;
            editor.save()?;
            println!("Removed {address} from {}", path.display());
            Ok(())
        }
        SubscribersCommand::Unsubscribe { address } => {
            let mut editor = Editor::open(&path)?;
            if editor.set_status(address, Status::Unsubscribed)? {
                editor.save()?;
                println!("Unsubscribed {address} in {}", path.display());
            } else {
                println!("{address} was already unsubscribed");
            }
            Ok(())
        }
        SubscribersCommand::Import {
            file,
            email_column,
            tag,
        } => import(&path, file, email_column.as_deref(), tag),
        SubscribersCommand::Export { out } => export(&path, out.as_deref()),
    }
}

fn list(path: &Path, count: bool, tags: &[String]) -> Result<()> {
    let list = List::load(path)?;
    for f in &list.findings {
        let level = if f.severity == Severity::Error {
            "error"
        } else {
            "warning"
        };
        eprintln!("{}:{}: {level}: {}", path.display(), f.line, f.message);
    }
    let shown: Vec<_> = list
        .entries
        .iter()
        .filter(|e| tags.is_empty() || e.subscriber.tags.iter().any(|t| tags.contains(t)))
        .collect();
    if !count {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for e in &shown {
            let s = &e.subscriber;
            writeln!(
                out,
                "{}\t{}\t{}\t{}",
                s.email,
                s.name.as_deref().unwrap_or(""),
                s.status.as_str(),
                s.tags.join(",")
            )?;
        }
    }
    let c = list.counts(shown.iter().copied());
    println!(
        "{} readers: {} active, {} unsubscribed, {} bounced; {} invalid, {} duplicate",
        shown.len(),
        c.active,
        c.unsubscribed,
        c.bounced,
        c.invalid,
        c.duplicates
    );
    Ok(())
}

fn import(path: &Path, file: &Path, email_column: Option<&str>, tags: &[String]) -> Result<()> {
    let mut editor = Editor::open(path)?;
    let report = import_csv(&mut editor, file, email_column, tags)?;
    for (line, why) in &report.invalid {
        eprintln!("{}:{line}: skipped: {why}", file.display());
    }
    for (line, email) in &report.duplicates {
        eprintln!(
            "{}:{line}: skipped: {email} is already in the list",
            file.display()
        );
    }
    if report.added > 0 {
        editor.save()?;
    }
    println!(
        "Imported {} reader{} into {}; skipped {} invalid and {} duplicate row{}.",
        report.added,
        if report.added == 1 { "" } else { "s" },
        path.display(),
        report.invalid.len(),
        report.duplicates.len(),
        if report.duplicates.len() == 1 {
            ""
        } else {
            "s"
        }
    );
    Ok(())
}

fn export(path: &Path, out: Option<&Path>) -> Result<()> {
    let list = List::load(path)?;
    match out {
        Some(file) => {
            let mut bytes = Vec::new();
            export_csv(&list, &mut bytes)?;
            crate::fs::write_atomic(file, &bytes)?;
            eprintln!(
                "Exported {} readers to {}",
                list.entries.len(),
                file.display()
            );
        }
        None => export_csv(&list, &mut std::io::stdout().lock())?,
    }
    Ok(())
}
