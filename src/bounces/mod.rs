//! The list cleans itself: bounce and complaint reports (and the relay's
//! refusals during a send) change readers' status by one policy, with an
//! append-only history in `state_dir/bounces.log`.
//!
//! - [`crate::verp`]: the envelope sender that names its reader;
//! - [`classify`]: what a report is and whom it is about;
//! - [`mailbox`]: where reports are read from (a file, an mbox, a Maildir,
//!   IMAP), and marking the ones that were recognised;
//! - [`log`]: the history;
//! - [`health`]: the list's bounce and complaint rates, for `check`;
//! - here: the policy, applied under the list's lock.

pub mod classify;
mod command;
pub mod health;
mod import;
pub mod log;
pub mod mailbox;
mod phrases;
pub mod reason;
pub mod transcript;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use anyhow::Result;
use jiff::{SignedDuration, Timestamp};

pub use classify::{Kind, Ours, Reason};
pub use command::import_and_report;
pub use import::{import, Options, Verdict};
use log::{Action, Event};
pub use mailbox::MailSource;

use crate::config::Config;
use crate::list::{identity, Editor, List, Status};
use crate::send::Failure;

/// A report's claim about one reader, to be weighed by the policy.
#[derive(Debug, Clone)]
pub struct Claim {
    /// The address as the report (or the relay) gave it.
    pub address: String,
    /// The list entry it is, by index; `None` when not in the list.
    pub entry: Option<usize>,
    /// Hard, soft or complaint.
    pub kind: Kind,
    /// The enhanced status code.
    pub status: Option<String>,
    /// Why it failed (see [`reason`]).
    pub reason: reason::Reason,
    /// The report's id (see [`log`]).
    pub report: String,
    /// When it happened.
    pub at: Timestamp,
}

/// What the policy made of a claim.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The claim.
    pub claim: Claim,
    /// What it does (or did, for a repeat).
    pub action: Action,
    /// The report was imported before: counted once, not again.
    pub repeat: bool,
    /// Soft bounces counted for the reader, this one included.
    pub soft_count: Option<usize>,
}

/// The soft-bounce rule of `[bounces]`.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Soft bounces within the window that mark a reader bounced.
    pub soft_limit: usize,
    /// The window.
    pub window: SignedDuration,
}

impl Policy {
    /// From `[bounces]` (its defaults when the table is absent).
    pub fn from_config(config: &Config) -> Policy {
        let b = config.bounces();
        Policy {
            soft_limit: b.soft_limit as usize,
            window: SignedDuration::from_hours(24 * i64::from(b.soft_window_days)),
        }
    }
}

/// `state_dir`.
pub fn state_dir(config: &Config) -> PathBuf {
    config.state_dir()
}

/// The newsletter's own addresses, which are never a bounced reader.
pub fn ours(config: &Config) -> Ours {
    let n = config.newsletter();
    let mut addresses = Vec::new();
    for value in [
        Some(n.from.get_ref()),
        n.reply_to.as_ref().map(|r| r.get_ref()),
    ]
    .into_iter()
    .flatten()
    {
        addresses.push(identity(crate::list::mailbox_address(value)));
    }
    if let Some(base) = &config.bounces().return_path {
        addresses.push(identity(base));
    }
    if let Some(mailto) = &config.file.unsubscribe.mailto {
        addresses.push(identity(mailto));
    }
    Ours { addresses }
}

/// Weighs the claims that `claims_for` finds in the list, under the list's
/// lock: appends the new events to `bounces.log` (synced) and then writes
/// the status changes into the list, in one locked, atomic write. With
/// `dry_run` nothing is locked or written. A claim already in the log (the
/// same report and reader) counts once; its change is made again only if
/// the list lost it (a crash between the two writes) and the reader has not
/// joined again since.
pub fn record(
    config: &Config,
    dry_run: bool,
    claims_for: impl FnOnce(&List) -> Vec<Claim>,
) -> Result<Vec<Decision>> {
    let list_path = config.list_path();
    let (editor, list) = match dry_run {
        true => (None, List::load(&list_path)?),
        false => {
            let (editor, list) = Editor::open_listed(&list_path)?;
            (Some(editor), list)
        }
    };
    let claims = claims_for(&list);
    let log_path = log::path(&state_dir(config));
    let mut events = log::read(&log_path)?;
    let soft: HashSet<String> = claims
        .iter()
        .filter(|c| c.kind == Kind::Soft)
        .filter_map(|c| c.entry.map(|i| list.entries[i].key().to_string()))
        .collect();
    let deliveries = accepted(config, &soft)?;
    let mut weigher = Weigher::new(&list, Policy::from_config(config), &events, deliveries);
    let mut fresh = Vec::new();
    let decisions: Vec<Decision> = claims
        .into_iter()
        .map(|claim| weigher.weigh(claim, &mut events, &mut fresh))
        .collect();
    if let Some(mut editor) = editor {
        log::append(&log_path, &fresh)?;
        let mut changed = false;
        for (address, status) in &weigher.changes {
            changed |= editor.set_status(address, *status)?;
        }
        if changed {
            editor.save()?;
        }
    }
    Ok(decisions)
}

/// When each reader in `wanted` had a message accepted, from every journal.
fn accepted(config: &Config, wanted: &HashSet<String>) -> Result<HashMap<String, Vec<i64>>> {
    let mut found: HashMap<String, Vec<i64>> = HashMap::new();
    if wanted.is_empty() {
        return Ok(found);
    }
    // Deliveries before the window cannot change a count within it.
    let window = Policy::from_config(config).window;
    let since = std::time::SystemTime::now()
        .checked_sub(window.unsigned_abs())
        .unwrap_or(std::time::UNIX_EPOCH);
    crate::send::journal::each_journal(&state_dir(config), since, |_, r| {
        if r.outcome == crate::send::journal::Outcome::Accepted && wanted.contains(&r.key) {
            found.entry(r.key).or_default().push(r.at);
        }
    })?;
    for times in found.values_mut() {
        times.sort_unstable();
    }
    Ok(found)
}

/// The policy over one batch of claims.
struct Weigher<'a> {
    list: &'a List,
    policy: Policy,
    /// Reports already logged, by (report, reader).
    seen: HashMap<(String, String), (Action, Timestamp)>,
    /// Readers' status as this batch changes it, by identity.
    status: HashMap<String, Status>,
    deliveries: HashMap<String, Vec<i64>>,
    /// Status changes to write, by address.
    changes: Vec<(String, Status)>,
    now: Timestamp,
}

impl<'a> Weigher<'a> {
    fn new(
        list: &'a List,
        policy: Policy,
        events: &[Event],
        deliveries: HashMap<String, Vec<i64>>,
    ) -> Weigher<'a> {
        let seen = events
            .iter()
            .map(|e| ((e.report.clone(), e.reader.clone()), (e.action, e.at)))
            .collect();
        let mut status = HashMap::with_capacity(list.entries.len());
        for entry in &list.entries {
            let known = status
                .entry(entry.key().to_string())
                .or_insert(Status::Active);
            if entry.status() != Status::Active {
                *known = entry.status();
            }
        }
        Weigher {
            list,
            policy,
            seen,
            status,
            deliveries,
            changes: Vec::new(),
            now: Timestamp::now(),
        }
    }

    fn weigh(&mut self, claim: Claim, events: &mut Vec<Event>, fresh: &mut Vec<Event>) -> Decision {
        let decision = |claim, action, repeat, soft_count| Decision {
            claim,
            action,
            repeat,
            soft_count,
        };
        let Some(index) = claim.entry else {
            return decision(claim, Action::Nothing, false, None);
        };
        let entry = &self.list.entries[index];
        let key = entry.key().to_string();
        let joined = entry.joined();
        let current = self.status.get(&key).copied().unwrap_or(Status::Active);
        if let Some(&(action, at)) = self.seen.get(&(claim.report.clone(), key.clone())) {
            let lost = current == Status::Active && joined.is_none_or(|j| j < at);
            if lost {
                self.change(entry.email(), &key, action);
            }
            return decision(claim, action, true, None);
        }
        let at = claim.at.min(self.now);
        let (action, soft_count) = if joined.is_some_and(|j| j > at) || current != Status::Active {
            (Action::Nothing, None)
        } else {
            match claim.kind {
                Kind::Hard => (Action::Bounced, None),
                Kind::Complaint => (Action::Unsubscribed, None),
                _ if claim.reason.sender_side() => (Action::Nothing, None),
                _ => {
                    let n = self.soft_count(&key, at, events);
                    let action = match n >= self.policy.soft_limit {
                        true => Action::Bounced,
                        false => Action::Counted,
                    };
                    (action, Some(n))
                }
            }
        };
        self.change(entry.email(), &key, action);
        let event = Event {
            at,
            kind: claim.kind,
            reader: key.clone(),
            status: claim.status.clone(),
            reason: claim.reason,
            report: claim.report.clone(),
            action,
        };
        self.seen.insert((claim.report.clone(), key), (action, at));
        events.push(event.clone());
        fresh.push(event);
        decision(claim, action, false, soft_count)
    }

    fn change(&mut self, email: &str, key: &str, action: Action) {
        let status = match action {
            Action::Bounced => Status::Bounced,
            Action::Unsubscribed => Status::Unsubscribed,
            _ => return,
        };
        self.status.insert(key.to_string(), status);
        self.changes.push((email.to_string(), status));
    }

    /// The soft bounces that count at `at`, this one included: those within
    /// the window and after the reader's last clean delivery, a delivery
    /// accepted before `at` that no bounce followed before the next one.
    fn soft_count(&self, key: &str, at: Timestamp, events: &[Event]) -> usize {
        let bounces: Vec<i64> = events
            .iter()
            .filter(|e| e.reader == key && e.counts())
            .map(|e| e.at.as_second())
            .collect();
        let at_s = at.as_second();
        let deliveries = self.deliveries.get(key).map_or(&[][..], Vec::as_slice);
        let mut reset = i64::MIN;
        for (i, &d) in deliveries.iter().enumerate().filter(|(_, &d)| d < at_s) {
            let next = deliveries.get(i + 1).copied().unwrap_or(i64::MAX);
            let answered = bounces.iter().any(|&b| b >= d && b < next) || at_s < next;
            if !answered {
                reset = reset.max(d);
            }
        }
        let from = (at - self.policy.window).as_second().max(reset);
        let earlier = events
            .iter()
            .filter(|e| e.reader == key && e.kind == Kind::Soft && e.counts())
            .filter(|e| e.at.as_second() > from && e.at <= at)
            .count();
        earlier + 1
    }
}

/// After a send: the relay's permanent refusals go through [`record`] as a
/// report would (a 5.1.x-class refusal marks the reader bounced). Not when
/// the relay refused the sender: then the refusals say nothing of readers.
/// The addresses marked bounced.
pub fn after_send(
    config: &Config,
    ran: &crate::send::Ran,
    place: &crate::send::journal::Place,
) -> Result<Vec<String>> {
    let in_a_row = &ran.summary.refused_in_a_row;
    let failed: Vec<Failure> = ran
        .summary
        .failed
        .iter()
        .filter(|f| !in_a_row.contains(&f.address))
        .cloned()
        .collect();
    if matches!(ran.stopped, crate::send::Stopped::SenderRefused { .. }) || failed.is_empty() {
        return Ok(Vec::new());
    }
    let journal = place.journal();
    let name = journal
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let decisions = record(config, false, refusals(&failed, &format!("send:{name}")))?;
    Ok(decisions
        .into_iter()
        .filter(|d| !d.repeat && d.action == Action::Bounced)
        .map(|d| d.claim.address)
        .collect())
}

/// The claims of the relay's permanent refusals during a send (the reply
/// codes of `send`'s summary), for [`record`]: a reader refused with a
/// 5.1.x-class code is a hard bounce, 5.2.2 or 5.7.x a soft one.
pub fn refusals<'a>(failed: &'a [Failure], report: &str) -> impl Fn(&List) -> Vec<Claim> + 'a {
    let report = report.to_string();
    move |list: &List| {
        let index: HashMap<&str, usize> = list
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.key(), i))
            .collect();
        let now = Timestamp::now();
        failed
            .iter()
            .filter(|f| f.refused_by_relay())
            .map(|f| {
                let code = classify::first_code(&f.reply);
                let (kind, reason) = classify::failure(code.as_deref(), &f.reply);
                Claim {
                    address: f.address.clone(),
                    entry: index.get(identity(&f.address).as_str()).copied(),
                    kind,
                    status: code,
                    reason,
                    report: report.clone(),
                    at: now,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> List {
        List::parse(std::path::Path::new("s.toml"), text).unwrap()
    }

    fn soft(report: &str, at: &str) -> Claim {
        Claim {
            address: "a@example.org".into(),
            entry: Some(0),
            kind: Kind::Soft,
            status: Some("5.2.2".into()),
            reason: reason::Reason::MailboxFull,
            report: report.into(),
            at: at.parse().unwrap(),
        }
    }

    fn policy() -> Policy {
        Policy {
            soft_limit: 3,
            window: SignedDuration::from_hours(24 * 30),
        }
    }

    fn weigh_all(list: &List, deliveries: &[&str], claims: Vec<Claim>) -> Vec<Decision> {
        let times = deliveries
            .iter()
            .map(|d| d.parse::<Timestamp>().unwrap().as_second())
            .collect();
        let deliveries = HashMap::from([("a@example.org".to_string(), times)]);
        let mut w = Weigher::new(list, policy(), &[], deliveries);
        let (mut events, mut fresh) = (Vec::new(), Vec::new());
        claims
            .into_iter()
            .map(|c| w.weigh(c, &mut events, &mut fresh))
            .collect()
    }

    #[test]
    fn three_soft_bounces_in_a_row_mark_the_reader() {
        let l = list("[[subscriber]]\nemail = \"a@example.org\"\n");
        let sends = [
            "2026-11-05T09:00:00Z",
            "2026-11-12T09:00:00Z",
            "2026-11-19T09:00:00Z",
        ];
        let d = weigh_all(
            &l,
            &sends,
            vec![
                soft("r1", "2026-11-05T09:10:00Z"),
                soft("r2", "2026-11-12T09:10:00Z"),
                soft("r3", "2026-11-19T09:10:00Z"),
            ],
        );
        let actions: Vec<Action> = d.iter().map(|d| d.action).collect();
        assert_eq!(actions, [Action::Counted, Action::Counted, Action::Bounced]);
    }

    #[test]
    fn an_accepted_delivery_without_a_bounce_resets_the_count() {
        let l = list("[[subscriber]]\nemail = \"a@example.org\"\n");
        // The second week's issue arrived: no bounce followed it.
        let sends = [
            "2026-11-05T09:00:00Z",
            "2026-11-12T09:00:00Z",
            "2026-11-19T09:00:00Z",
            "2026-11-26T09:00:00Z",
        ];
        let d = weigh_all(
            &l,
            &sends,
            vec![
                soft("r1", "2026-11-05T09:10:00Z"),
                soft("r3", "2026-11-19T09:10:00Z"),
                soft("r4", "2026-11-26T09:10:00Z"),
            ],
        );
        let counts: Vec<Option<usize>> = d.iter().map(|d| d.soft_count).collect();
        assert_eq!(counts, [Some(1), Some(1), Some(2)]);
        assert!(d.iter().all(|d| d.action == Action::Counted));
    }

    #[test]
    fn the_window_forgets_old_soft_bounces_and_repeats_count_once() {
        let l = list("[[subscriber]]\nemail = \"a@example.org\"\n");
        let d = weigh_all(
            &l,
            &[],
            vec![
                soft("r1", "2026-06-01T09:00:00Z"),
                soft("r2", "2026-11-20T09:00:00Z"),
                soft("r2", "2026-11-20T09:00:00Z"),
                soft("r3", "2026-11-21T09:00:00Z"),
            ],
        );
        let counts: Vec<(Option<usize>, bool)> =
            d.iter().map(|d| (d.soft_count, d.repeat)).collect();
        assert_eq!(
            counts,
            [
                (Some(1), false),
                (Some(1), false),
                (None, true),
                (Some(2), false)
            ]
        );
    }

    #[test]
    fn hard_and_complaints_act_at_once_but_not_before_the_reader_joined() {
        let l = list(
            "[[subscriber]]\nemail = \"a@example.org\"\n\n[[subscriber]]\nemail = \"b@example.org\"\nsubscribed_at = \"2026-11-25T00:00:00Z\"\n",
        );
        let claim = |entry, kind, at: &str| Claim {
            address: String::new(),
            entry: Some(entry),
            kind,
            status: None,
            reason: reason::Reason::Undefined,
            report: format!("{entry}{kind:?}{at}"),
            at: at.parse().unwrap(),
        };
        let mut w = Weigher::new(&l, policy(), &[], HashMap::new());
        let (mut events, mut fresh) = (Vec::new(), Vec::new());
        let mut weigh = |c| w.weigh(c, &mut events, &mut fresh).action;
        assert_eq!(
            weigh(claim(0, Kind::Complaint, "2026-11-20T00:00:00Z")),
            Action::Unsubscribed
        );
        assert_eq!(
            weigh(claim(0, Kind::Hard, "2026-11-21T00:00:00Z")),
            Action::Nothing
        );
        assert_eq!(
            weigh(claim(1, Kind::Hard, "2026-11-20T00:00:00Z")),
            Action::Nothing
        );
        assert_eq!(
            weigh(claim(1, Kind::Hard, "2026-11-26T00:00:00Z")),
            Action::Bounced
        );
    }

    #[test]
    fn a_refusal_of_the_sender_never_marks_the_reader() {
        let l = list("[[subscriber]]\nemail = \"a@example.org\"\n");
        let mut w = Weigher::new(&l, policy(), &[], HashMap::new());
        let (mut events, mut fresh) = (Vec::new(), Vec::new());
        for (i, reason) in [reason::Reason::SpamDetected, reason::Reason::Blocked]
            .into_iter()
            .enumerate()
        {
            let mut claim = soft(&format!("r{i}"), "2026-11-20T00:00:00Z");
            claim.reason = reason;
            let d = w.weigh(claim, &mut events, &mut fresh);
            assert_eq!(d.action, Action::Nothing);
        }
        assert_eq!(fresh.len(), 2, "logged, for the blocked warning");
        assert!(w.changes.is_empty());
        assert_eq!(
            w.soft_count(
                "a@example.org",
                "2026-11-21T00:00:00Z".parse().unwrap(),
                &events
            ),
            1
        );
    }
}
