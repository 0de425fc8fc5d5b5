//! What letterpress holds about one reader, for `subscribers show`: the
//! list's entries for the address (with how and when the reader joined or
//! left: their consent record), the changes `serve` logged for it, every
//! journal's record of a send to it and the bounce log's events. Printed
//! for a person, or as JSON for an export. And `subscribers forget`:
//! the reader erased from all of it ([`forget`]).

mod forget;

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use crate::config::Config;
use crate::list::{changes, identity, Change, List};

pub use forget::{forget, Forgotten};

/// Everything letterpress holds about one address.
#[derive(Debug, Default, Serialize)]
pub struct Held {
    /// The address asked about.
    pub address: String,
    /// The list's entries for it (any spelling of the address).
    pub entries: Vec<Entry>,
    /// Changes `serve` logged for it and not yet folded into the list.
    pub changes: Vec<Logged>,
    /// Every journal record of a send to it.
    pub sends: Vec<Sent>,
    /// Bounces and complaints recorded for it.
    pub bounces: Vec<Bounce>,
}

/// One list entry, as the list holds it.
#[derive(Debug, Serialize)]
pub struct Entry {
    /// The address as written.
    pub email: String,
    /// The name, when there is one.
    pub name: Option<String>,
    /// active, unsubscribed or bounced.
    pub status: String,
    /// The tags.
    pub tags: Vec<String>,
    /// How the reader came: form, import, cli; none for a hand-written entry.
    pub source: Option<String>,
    /// When the reader subscribed (confirmed), as recorded.
    pub subscribed_at: Option<String>,
    /// When the reader left, as recorded.
    pub unsubscribed_at: Option<String>,
    /// Until when the reader asked for no issues, as recorded.
    pub paused_until: Option<String>,
}

/// A change in the list's change log.
#[derive(Debug, Serialize)]
pub struct Logged {
    /// `unsubscribe` or `join`.
    pub change: &'static str,
    /// When, as recorded.
    pub at: Option<String>,
}

/// A journal record: an issue sent (or tried) to the address.
#[derive(Debug, Serialize)]
pub struct Sent {
    /// The journal's name (the issue).
    pub issue: String,
    /// When the outcome was known.
    pub at: String,
    /// accepted, failed or deferred.
    pub outcome: String,
    /// The relay's reply.
    pub reply: String,
}

/// A bounce or complaint from `bounces.log`.
#[derive(Debug, Serialize)]
pub struct Bounce {
    /// When.
    pub at: String,
    /// hard, soft or complaint.
    pub kind: String,
    /// The enhanced status code, when there was one.
    pub status: Option<String>,
    /// The report it came from.
    pub report: String,
    /// What it did to the reader.
    pub action: String,
}

impl Held {
    /// Whether letterpress holds nothing about the address.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
            && self.changes.is_empty()
            && self.sends.is_empty()
            && self.bounces.is_empty()
    }
}

/// Gathers what the list, its change log, the journals and the bounce log
/// of `config` hold about `address`.
pub fn gather(config: &Config, address: &str) -> Result<Held> {
    let key = identity(address);
    let path = config.list_path();
    let list = List::load(&path)?;
    let mut held = Held {
        address: address.to_string(),
        entries: list
            .entries
            .iter()
            .filter(|e| e.key() == key)
            .map(|e| Entry {
                email: e.email().to_string(),
                name: e.name().map(str::to_string),
                status: e.status().as_str().to_string(),
                tags: e.tags().to_vec(),
                source: e.source().map(str::to_string),
                subscribed_at: e.subscribed_at().map(str::to_string),
                unsubscribed_at: e.unsubscribed_at().map(str::to_string),
                paused_until: e.paused_until().map(str::to_string),
            })
            .collect(),
        changes: logged(&path, &key)?,
        ..Held::default()
    };
    let state = config.state_dir();
    for dir in [state.clone(), config.consent_dir()] {
        crate::send::journal::each_journal(&dir, std::time::SystemTime::UNIX_EPOCH, |issue, t| {
            if t.key == key {
                held.sends.push(Sent {
                    issue: issue.to_string(),
                    at: jiff::Timestamp::from_second(t.at)
                        .map_or_else(|_| t.at.to_string(), |at| at.to_string()),
                    outcome: t.outcome.word().to_string(),
                    reply: t.reply,
                });
            }
        })?;
    }
    held.bounces = crate::bounces::log::read(&crate::bounces::log::path(&state))?
        .into_iter()
        .filter(|e| e.reader == key)
        .map(|e| Bounce {
            at: e.at.to_string(),
            kind: e.kind.as_str().to_string(),
            status: e.status,
            report: e.report,
            action: e.action.as_str().to_string(),
        })
        .collect();
    Ok(held)
}

/// The change log's events for `key`.
fn logged(list: &Path, key: &str) -> Result<Vec<Logged>> {
    Ok(changes::read(list)?
        .into_iter()
        .filter_map(|change| match change {
            Change::Unsubscribe(leaving) if identity(&leaving.email) == key => Some(Logged {
                change: "unsubscribe",
                at: leaving.at.map(|at| at.to_string()),
            }),
            Change::Join { reader, issued } if identity(&reader.email) == key => Some(Logged {
                change: "join",
                at: Some(issued.to_string()),
            }),
            _ => None,
        })
        .collect())
}

/// `held` for a person: one block per source, or a line saying there is
/// nothing.
pub fn print(held: &Held, out: &mut dyn Write) -> Result<()> {
    if held.is_empty() {
        writeln!(out, "letterpress holds nothing about {}.", held.address)?;
        return Ok(());
    }
    writeln!(out, "{}", held.address)?;
    print_entries(&held.entries, out)?;
    writeln!(
        out,
        "In the change log: {}",
        counted(held.changes.len(), "change", "changes")
    )?;
    for c in &held.changes {
        writeln!(
            out,
            "  {} {}",
            c.at.as_deref().unwrap_or("(time not recorded)"),
            c.change
        )?;
    }
    writeln!(
        out,
        "In the journals: {}",
        counted(held.sends.len(), "record", "records")
    )?;
    for s in &held.sends {
        writeln!(out, "  {} {} {} {}", s.at, s.issue, s.outcome, s.reply)?;
    }
    writeln!(
        out,
        "In bounces.log: {}",
        counted(held.bounces.len(), "event", "events")
    )?;
    for b in &held.bounces {
        let status = b.status.as_deref().unwrap_or("-");
        writeln!(
            out,
            "  {} {} {status} {} ({})",
            b.at, b.kind, b.action, b.report
        )?;
    }
    Ok(())
}

/// The list's entries for the reader, with their consent record.
fn print_entries(entries: &[Entry], out: &mut dyn Write) -> Result<()> {
    writeln!(
        out,
        "In the list: {}",
        counted(entries.len(), "entry", "entries")
    )?;
    for e in entries {
        let name = e
            .name
            .as_deref()
            .map_or(String::new(), |n| format!(" \"{n}\""));
        writeln!(
            out,
            "  {}{name}: {}, tags [{}]",
            e.email,
            e.status,
            e.tags.join(", ")
        )?;
        writeln!(
            out,
            "    came by {}, subscribed {}, left {}",
            e.source.as_deref().unwrap_or("the list file"),
            e.subscribed_at.as_deref().unwrap_or("(not recorded)"),
            e.unsubscribed_at.as_deref().unwrap_or("(no)")
        )?;
        if let Some(until) = &e.paused_until {
            writeln!(out, "    paused until {until}")?;
        }
    }
    Ok(())
}

fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What `forget` did, for a person: each place, then where the pseudonym
/// stays.
pub fn print_forgotten(address: &str, done: &Forgotten, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "Forgot {address}:")?;
    writeln!(
        out,
        "  the list: {} removed (the change log folded in first)",
        counted(done.entries, "entry", "entries")
    )?;
    writeln!(
        out,
        "  the journals: {} in {}, now under a pseudonym",
        counted(done.records, "record", "records"),
        counted(done.journals, "journal", "journals")
    )?;
    writeln!(
        out,
        "  bounces.log: {}, now under a pseudonym",
        counted(done.bounces, "event", "events")
    )?;
    writeln!(out, "  dry-run messages: {} deleted", done.messages.len())?;
    for path in &done.messages {
        writeln!(out, "    {}", path.display())?;
    }
    writeln!(
        out,
        "Recorded in erasures.log as {} (never the address); a send that resumes will not mail them this issue again, and an import will not add them back.",
        done.pseudonym
    )?;
    Ok(())
}

/// `subscribers add ADDR` without `--confirm` for a reader who asked to be
/// forgotten: refused; they come back by confirming themselves.
pub fn refuse_forgotten(config: &Config, address: &str) -> Result<()> {
    match crate::erasure::Erasures::load(&config.state_dir())?.erased_at(address) {
        Some(at) => anyhow::bail!(
            "{address} asked to be forgotten ({at}); letterpress does not add them back by hand\n  help: `letterpress subscribers add {address} --confirm` mails them the confirmation link; they join if they press it"
        ),
        None => Ok(()),
    }
}
