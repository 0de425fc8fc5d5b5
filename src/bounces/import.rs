//! `letterpress bounces import SOURCE`: read every message of the source,
//! classify it, find its readers (the VERP tag first), weigh the claims by
//! the policy under the list's lock, then mark the recognised messages.

use std::cell::RefCell;

use anyhow::Result;
use serde::Serialize;

use super::classify::{classify, BounceReport, Kind, Reason};
use super::log::Action;
use super::mailbox::maildir::mark_seen;
use super::mailbox::{imap, Handle, MailSource, Read};
use super::{record, Claim, Decision};
use crate::config::Config;
use crate::list::{identity, List};
use crate::verp;

/// How to import.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    /// Change nothing: no list, log or mailbox writes.
    pub dry_run: bool,
    /// IMAP: move recognised messages to this folder.
    pub move_to: Option<&'a str>,
}

/// One message as read.
struct Seen {
    label: String,
    handle: Handle,
    report: Option<BounceReport>,
    problem: Option<String>,
}

/// What became of one message.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// Where it is.
    pub source: String,
    /// What it is.
    pub kind: Kind,
    /// The recipients it names (or its VERP tag names).
    pub recipients: Vec<String>,
    /// The status code that decided.
    pub status: Option<String>,
    /// Those of the recipients that are in the list.
    pub in_list: Vec<String>,
    /// What it did (or would do): bounced, unsubscribed, counted, none, left.
    pub action: &'static str,
    /// Why it failed (Sisimai's words: userunknown, mailboxfull, blocked, ...).
    pub reason: Reason,
    /// Each reader's part, for people.
    #[serde(skip)]
    pub details: Vec<String>,
    /// Marked in the mailbox (Seen, moved).
    #[serde(skip)]
    pub recognised: bool,
}

/// Imports `source`; what became of each message.
pub fn import(config: &Config, source: &MailSource, options: Options<'_>) -> Result<Vec<Verdict>> {
    let secret = crate::message::secret::secret_from_env(config)?;
    let ours = super::ours(config);
    let seen = RefCell::new(Vec::new());
    let verdicts = RefCell::new(Vec::new());
    let read_one = |read: Read| -> bool {
        let (report, problem) = match read.bytes {
            Ok(bytes) => (Some(classify(&bytes, &ours)), None),
            Err(why) => (None, Some(why)),
        };
        let recognised = report.as_ref().is_some_and(|r| recognised(r, config));
        seen.borrow_mut().push(Seen {
            label: read.label,
            handle: read.handle,
            report,
            problem,
        });
        recognised
    };
    let apply = || -> Result<()> {
        let seen = seen.borrow();
        *verdicts.borrow_mut() = weigh(config, &seen, secret.as_deref(), options.dry_run)?;
        Ok(())
    };
    match source {
        MailSource::Imap(target) => {
            let ca = ca_file(config)?;
            let plan = imap::FolderPlan {
                target,
                ca,
                dry_run: options.dry_run,
                move_to: options.move_to,
            };
            imap::import(&plan, read_one, apply)?;
        }
        _ => {
            source.each(|read| {
                read_one(read);
            })?;
            apply()?;
            if !options.dry_run {
                mark_maildir(&seen.borrow(), &verdicts.borrow());
            }
        }
    }
    Ok(verdicts.into_inner())
}

/// `[bounces] ca_file`, read: the certificates an IMAP server is checked
/// against besides the system's.
fn ca_file(config: &Config) -> Result<Option<(std::path::PathBuf, Vec<u8>)>> {
    config
        .bounces()
        .ca_file
        .as_ref()
        .map(|f| {
            let path = config.resolve(f);
            std::fs::read(&path)
                .map(|pem| (path.clone(), pem))
                .map_err(|e| {
                    anyhow::anyhow!("{}: cannot read [bounces] ca_file: {e}", path.display())
                })
        })
        .transpose()
}

/// Whether a message is one letterpress knows what to do with, and so may
/// mark: a report that names somebody, or one that never counts.
fn recognised(report: &BounceReport, config: &Config) -> bool {
    match report.kind {
        Kind::Unrecognised => false,
        Kind::AutoReply | Kind::Delayed => true,
        _ => {
            !report.recipients.is_empty()
                || config.bounces().return_path.as_deref().is_some_and(|base| {
                    report
                        .envelope
                        .iter()
                        .any(|a| verp::tag_in(base, a).is_some())
                })
        }
    }
}

fn mark_maildir(seen: &[Seen], verdicts: &[Verdict]) {
    for (message, verdict) in seen.iter().zip(verdicts) {
        if let (Handle::Maildir(path), true) = (&message.handle, verdict.recognised) {
            if let Err(e) = mark_seen(path) {
                eprintln!("warning: {e:#}");
            }
        }
    }
}

/// The claim a report makes on a reader it names.
fn claim(named: &Named, report: &BounceReport) -> Claim {
    Claim {
        address: named.address.clone(),
        entry: named.entry,
        kind: named.kind,
        status: named.status.clone(),
        reason: named.reason,
        report: report.id.clone(),
        at: report
            .date
            .and_then(|s| jiff::Timestamp::from_second(s).ok())
            .unwrap_or_else(jiff::Timestamp::now),
    }
}

/// Finds each message's readers in the list and weighs the claims.
fn weigh(
    config: &Config,
    seen: &[Seen],
    secret: Option<&[u8]>,
    dry_run: bool,
) -> Result<Vec<Verdict>> {
    let owners = RefCell::new(Vec::new());
    let found = RefCell::new(Vec::new());
    let decisions = record(config, dry_run, |list| {
        let tags = match (config.bounces().return_path.clone(), secret) {
            (Some(base), Some(secret)) => Some((
                base,
                verp::TagIndex::new(list.entries.iter().map(|e| e.key()), secret),
            )),
            _ => None,
        };
        let index = Index::new(list);
        let mut claims = Vec::new();
        for (i, message) in seen.iter().enumerate() {
            let Some(report) = &message.report else {
                found.borrow_mut().push(Vec::new());
                continue;
            };
            let readers = readers(report, list, &index, tags.as_ref(), secret);
            if report.kind.acts() {
                let trusted = |n: &Named| n.verified || !config.bounces().verify;
                for named in readers.iter().filter(|n| n.entry.is_some() && trusted(n)) {
                    owners.borrow_mut().push(i);
                    claims.push(claim(named, report));
                }
            }
            found.borrow_mut().push(readers);
        }
        claims
    })?;
    let owners = owners.into_inner();
    let found = found.into_inner();
    let mut per_message: Vec<Vec<Decision>> = vec![Vec::new(); seen.len()];
    for (owner, decision) in owners.into_iter().zip(decisions) {
        per_message[owner].push(decision);
    }
    let limit = config.bounces().soft_limit;
    Ok(seen
        .iter()
        .zip(found)
        .zip(per_message)
        .map(|((message, readers), decisions)| {
            verdict(message, &readers, &decisions, limit, config)
        })
        .collect())
}

/// A reader a report names.
struct Named {
    /// The address as the report gives it (the list's, for a VERP tag).
    address: String,
    /// Its entry in the list.
    entry: Option<usize>,
    /// What the report says of it.
    kind: Kind,
    /// The status code.
    status: Option<String>,
    /// Why it failed.
    reason: Reason,
    /// The report proves it is about this reader: the reader's VERP tag,
    /// or the reader's unsubscribe token from the returned original.
    verified: bool,
}

/// The readers of a report: the one its VERP tag names, else the
/// recipients it gives, each looked up in the list.
fn readers(
    report: &BounceReport,
    list: &List,
    index: &Index,
    tags: Option<&(String, verp::TagIndex)>,
    secret: Option<&[u8]>,
) -> Vec<Named> {
    if let Some((base, tags)) = tags {
        let tagged = report
            .envelope
            .iter()
            .filter_map(|a| verp::tag_in(base, a))
            .find_map(|t| tags.entry(&t));
        if let Some(entry) = tagged {
            let said = report
                .recipients
                .iter()
                .find(|r| identity(&r.address) == list.entries[entry].key());
            let (kind, status, reason) = match said {
                Some(r) => (r.kind, r.status.clone(), r.reason),
                None => (report.kind, report.status.clone(), report.reason),
            };
            return vec![Named {
                address: list.entries[entry].email().to_string(),
                entry: Some(entry),
                kind,
                status,
                reason,
                verified: true,
            }];
        }
    }
    report
        .recipients
        .iter()
        .map(|r| {
            let entry = std::iter::once(&r.address)
                .chain(&r.also)
                .find_map(|a| index.find(a));
            let verified = entry.zip(secret).is_some_and(|(e, secret)| {
                let token = crate::sign::token(secret, list.entries[e].key());
                report.tokens.contains(&token)
            });
            Named {
                address: r.address.clone(),
                entry,
                kind: r.kind,
                status: r.status.clone(),
                reason: r.reason,
                verified,
            }
        })
        .collect()
}

/// The list's entries by identity (the first entry of an address).
struct Index<'a>(std::collections::HashMap<&'a str, usize>);

impl<'a> Index<'a> {
    fn new(list: &'a List) -> Index<'a> {
        let mut map = std::collections::HashMap::with_capacity(list.entries.len());
        for (i, e) in list.entries.iter().enumerate() {
            map.entry(e.key()).or_insert(i);
        }
        Index(map)
    }

    fn find(&self, address: &str) -> Option<usize> {
        self.0.get(identity(address).as_str()).copied()
    }
}

fn verdict(
    message: &Seen,
    readers: &[Named],
    decisions: &[Decision],
    limit: u32,
    config: &Config,
) -> Verdict {
    let kind = message
        .report
        .as_ref()
        .map_or(Kind::Unrecognised, |r| r.kind);
    let strongest = decisions.iter().map(|d| d.action).min_by_key(|a| match a {
        Action::Bounced => 0,
        Action::Unsubscribed => 1,
        Action::Counted => 2,
        Action::Nothing => 3,
    });
    let recognised = message
        .report
        .as_ref()
        .is_some_and(|r| recognised(r, config));
    let action = match (kind, strongest) {
        (_, Some(_)) if decisions.iter().all(|d| d.repeat) => "none",
        (_, Some(a)) => a.as_str(),
        _ if !recognised => "left",
        _ => "none",
    };
    let verify = config.bounces().verify;
    let details = details(
        message,
        readers,
        decisions,
        (limit, verify),
        kind,
        recognised,
    );
    let report = message.report.as_ref();
    Verdict {
        source: message.label.clone(),
        kind,
        recipients: readers.iter().map(|n| n.address.clone()).collect(),
        status: report.and_then(|r| r.status.clone()),
        in_list: readers
            .iter()
            .filter(|n| n.entry.is_some())
            .map(|n| n.address.clone())
            .collect(),
        action,
        reason: report.map_or(Reason::Undefined, |r| r.reason),
        details,
        recognised,
    }
}

/// What a message did, reader by reader, for people.
fn details(
    message: &Seen,
    readers: &[Named],
    decisions: &[Decision],
    (limit, verify): (u32, bool),
    kind: Kind,
    recognised: bool,
) -> Vec<String> {
    let mut details = Vec::new();
    if let Some(why) = &message.problem {
        details.push(why.clone());
    }
    for named in readers {
        if named.entry.is_none() {
            details.push(format!(
                "{} is not in the list: nothing changes",
                named.address
            ));
        } else if !named.verified && verify && kind.acts() {
            details.push(format!(
                "{}: not verified, nothing changes: neither a VERP tag nor the reader's unsubscribe token is in the report, so it may be forged ([bounces] verify = false acts on such reports)",
                named.address
            ));
        }
    }
    for d in decisions {
        details.push(decided(d, limit));
    }
    if let Some(note) = kind_note(kind, message, recognised) {
        details.push(note.into());
    }
    details
}

/// What a decision did to its reader, for people.
fn decided(d: &Decision, limit: u32) -> String {
    let who = &d.claim.address;
    match (d.repeat, d.action) {
        (true, _) => format!("{who}: this report was imported before and counts once"),
        (false, Action::Bounced) if d.soft_count.is_some() => format!(
            "{who}: soft bounce {} of {limit} within the window: marked bounced",
            d.soft_count.unwrap_or(0)
        ),
        (false, Action::Bounced) => format!("{who}: marked bounced"),
        (false, Action::Unsubscribed) => {
            format!("{who}: complained: marked unsubscribed, never mailed again")
        }
        (false, Action::Counted) => format!(
            "{who}: soft bounce {} of {limit} counted; the reader stays",
            d.soft_count.unwrap_or(0)
        ),
        (false, Action::Nothing) if d.claim.reason.sender_side() => format!(
            "{who}: refused for the sender ({}), not for the reader: no change; it counts toward the \"you are being blocked\" warning of `check`",
            d.claim.reason.as_str()
        ),
        (false, Action::Nothing) => format!(
            "{who}: no change (not active, or the report is older than the reader's consent)"
        ),
    }
}

/// Why a message of this kind changes nothing, when that is so.
fn kind_note(kind: Kind, message: &Seen, recognised: bool) -> Option<&'static str> {
    match kind {
        Kind::AutoReply => Some("an automatic reply, never a bounce: nothing changes"),
        Kind::Delayed => Some("a delay warning: the relay is still trying; nothing changes"),
        Kind::Unrecognised if message.problem.is_none() => {
            Some("not a report letterpress knows: left as it is")
        }
        _ if !recognised => Some("no recipient found in it: left as it is for a person to read"),
        _ => None,
    }
}
