//! `letterpress bounces import SOURCE`: the import, and what it did for
//! people (a paragraph per message and a summary) or as JSON lines.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{bail, Result};

use super::{import, Kind, MailSource, Options, Verdict};
use crate::config::Config;
use crate::text::plural;

/// Imports the reports of `source` and writes what each did to `out`: one
/// JSON object per line (`json`, the summary then goes to `notes`) or a
/// paragraph each and the summary. A missing unsubscribe secret is a note.
pub fn import_and_report(
    config: &Config,
    source: &str,
    options: Options<'_>,
    json: bool,
    out: &mut dyn Write,
    notes: &mut dyn Write,
) -> Result<()> {
    let source = MailSource::parse(source)?;
    if options.move_to.is_some() && !matches!(source, MailSource::Imap(_)) {
        bail!(
            "--move-to is for IMAP folders; {} is marked in place",
            source.describe()
        );
    }
    if config.bounces().return_path.is_some()
        && crate::message::secret::secret_from_env(config)?.is_none()
    {
        writeln!(
            notes,
            "warning: the unsubscribe secret ({}) is not set, so VERP tags cannot be read; readers are found from the reports' contents only",
            crate::message::secret::secret_env_name(config)
        )?;
    }
    let verdicts = import(config, &source, options)?;
    let summary = summary(&verdicts, &source, options.dry_run);
    if json {
        for v in &verdicts {
            writeln!(out, "{}", serde_json::to_string(v)?)?;
        }
        write!(notes, "{summary}")?;
    } else {
        for v in &verdicts {
            write!(out, "{}", human(v, options.dry_run))?;
        }
        write!(out, "{summary}")?;
    }
    Ok(())
}

/// One message's paragraph: where it is, what it is, and each reader's part.
fn human(v: &Verdict, dry_run: bool) -> String {
    let status = v
        .status
        .as_deref()
        .map_or(String::new(), |s| format!(" {s}"));
    let who = match v.recipients.is_empty() {
        true => String::new(),
        false => format!(" {}", v.recipients.join(", ")),
    };
    let reason = match v.reason {
        super::Reason::Undefined => String::new(),
        r => format!(" {}", r.as_str()),
    };
    let mut out = format!("{}: {}{status}{reason}{who}\n", v.source, v.kind.as_str());
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

/// The counts: messages by kind, readers by action, what was marked.
fn summary(verdicts: &[Verdict], source: &MailSource, dry_run: bool) -> String {
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
