//! `letterpress bounces import SOURCE [--dry-run] [--format json]
//! [--move-to FOLDER]`. Wiring only: load, import, print.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};

use super::{CheckFormat, Exit};
use crate::bounces::{self, Kind, Options, Source, Verdict};
use crate::config::Config;
use crate::plural;

/// Imports the reports of `source` and prints what each did.
pub fn import(
    config_path: &Path,
    source: &str,
    dry_run: bool,
    format: CheckFormat,
    move_to: Option<&str>,
) -> Result<Exit> {
    let config = Config::load(config_path)?;
    let source = Source::parse(source)?;
    if move_to.is_some() && !matches!(source, Source::Imap(_)) {
        bail!(
            "--move-to is for IMAP folders; {} is marked in place",
            source.describe()
        );
    }
    if config.bounces().return_path.is_some()
        && crate::message::secret::secret_from_env(&config)?.is_none()
    {
        eprintln!(
            "warning: the unsubscribe secret ({}) is not set, so VERP tags cannot be read; readers are found from the reports' contents only",
            crate::message::secret::secret_env_name(&config)
        );
    }
    let verdicts = bounces::import(&config, &source, Options { dry_run, move_to })?;
    match format {
        CheckFormat::Json => {
            for v in &verdicts {
                println!("{}", serde_json::to_string(v)?);
            }
            eprint!("{}", summary(&verdicts, &source, dry_run));
        }
        CheckFormat::Human => {
            for v in &verdicts {
                print!("{}", human(v, dry_run));
            }
            print!("{}", summary(&verdicts, &source, dry_run));
        }
    }
    Ok(Exit::Ok)
}

fn human(v: &Verdict, dry_run: bool) -> String {
    let status = v
        .status
        .as_deref()
        .map_or(String::new(), |s| format!(" {s}"));
    let who = match v.recipients.is_empty() {
        true => String::new(),
        false => format!(" {}", v.recipients.join(", ")),
    };
    let mut out = format!("{}: {}{status}{who}\n", v.source, v.kind.as_str());
    for detail in &v.details {
        let detail = match dry_run {
            true => detail
                .replace("marked ", "would be marked ")
                .replace("counted;", "would be counted;"),
            false => detail.clone(),
        };
        out.push_str(&format!("  {detail}\n"));
    }
    out
}

fn summary(verdicts: &[Verdict], source: &Source, dry_run: bool) -> String {
    let mut kinds: BTreeMap<Kind, usize> = BTreeMap::new();
    let mut actions: BTreeMap<&str, usize> = BTreeMap::new();
    for v in verdicts {
        *kinds.entry(v.kind).or_default() += 1;
        *actions.entry(v.action).or_default() += 1;
    }
    let kinds: Vec<String> = kinds
        .iter()
        .map(|(k, n)| format!("{n} {}", k.as_str()))
        .collect();
    let marked = verdicts.iter().filter(|v| v.recognised).count();
    let left = verdicts.len() - marked;
    let outside: usize = verdicts
        .iter()
        .filter(|v| v.kind.acts() && v.in_list.len() < v.recipients.len())
        .count();
    let (would, done) = match dry_run {
        true => ("would be ", "Dry run: nothing was changed.\n"),
        false => ("", ""),
    };
    format!(
        "\n{} message{} read from {}: {}.\nReaders {would}marked bounced: {}, unsubscribed: {}; soft bounces {would}counted: {}. Reports about addresses not in the list: {outside}.\nRecognised (marked as handled where the source allows it): {marked}; left as they were: {left}.\n{done}",
        verdicts.len(),
        plural(verdicts.len()),
        source.describe(),
        if kinds.is_empty() { "none".to_string() } else { kinds.join(", ") },
        actions.get("bounced").unwrap_or(&0),
        actions.get("unsubscribed").unwrap_or(&0),
        actions.get("counted").unwrap_or(&0),
    )
}
