//! The list's bounce and complaint figures for `check`: the sends of the
//! last 30 days (from the delivery journals) and the events of
//! `bounces.log`, each event counted against the send it followed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use jiff::{SignedDuration, Timestamp};

use super::classify::Kind;
use crate::config::Config;
use crate::send::journal::{each_journal, Outcome};

/// How far back the figures look.
pub const DAYS: i64 = 30;
/// Bounces above this share of a send's messages are a warning.
pub const BOUNCE_LIMIT: f64 = 0.02;
/// Complaints above this share of a send's delivered messages are a warning.
pub const COMPLAINT_LIMIT: f64 = 0.001;

/// Refusals of the sender (blocked, spamdetected, policyviolation, ...)
/// above this share of a send's messages are a warning: the list is being
/// blocked, which no reader can be blamed for.
pub const BLOCKED_LIMIT: f64 = 0.01;

/// One send (an issue, all its shards together).
#[derive(Debug, Clone)]
pub struct Send {
    /// The journal's name (the issue folder's).
    pub name: String,
    /// Its first outcome.
    pub started: Timestamp,
    /// Readers the relay accepted.
    pub accepted: usize,
    /// Readers the relay refused.
    pub refused: usize,
    /// Hard and soft bounces that followed it.
    pub bounces: usize,
    /// Complaints that followed it.
    pub complaints: usize,
    /// Refusals of the sender that followed it.
    pub blocked: usize,
    /// The events that followed it (bounces, complaints and refusals of
    /// the sender), by reason.
    pub reasons: std::collections::BTreeMap<&'static str, usize>,
    /// The line in `bounces.log` of its first event.
    pub first_line: Option<usize>,
}

/// The figures of the last [`DAYS`] days.
#[derive(Debug, Clone, Default)]
pub struct Health {
    /// The sends, oldest first.
    pub sends: Vec<Send>,
    /// Hard bounces.
    pub hard: usize,
    /// Soft bounces.
    pub soft: usize,
    /// Complaints.
    pub complaints: usize,
    /// Refusals of the sender (never counted against a reader).
    pub blocked: usize,
    /// The log.
    pub log: PathBuf,
}

impl Health {
    /// One line for people.
    pub fn summary(&self) -> String {
        let accepted: usize = self.sends.iter().map(|s| s.accepted).sum();
        let attempted: usize = accepted + self.sends.iter().map(|s| s.refused).sum::<usize>();
        let bounces = self.hard + self.soft;
        let share = |n: usize, of: usize| match of {
            0 => "-".to_string(),
            _ => format!("{:.2} %", 100.0 * n as f64 / of as f64),
        };
        format!(
            "the list in the last {DAYS} days: {} send{}, {accepted} message{} accepted; {bounces} bounce{} ({}: {} hard, {} soft), {} complaint{} ({}), {} refusal{} of the sender",
            self.sends.len(),
            crate::text::plural(self.sends.len()),
            crate::text::plural(accepted),
            crate::text::plural(bounces),
            share(bounces, attempted),
            self.hard,
            self.soft,
            self.complaints,
            crate::text::plural(self.complaints),
            share(self.complaints, accepted),
            self.blocked,
            crate::text::plural(self.blocked),
        )
    }

    /// The sends over the limits, with what to say.
    pub fn warnings(&self) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for s in &self.sends {
            let attempted = s.accepted + s.refused;
            let line = s.first_line.unwrap_or(1);
            if attempted > 0 && s.bounces as f64 > BOUNCE_LIMIT * attempted as f64 {
                out.push((line, format!(
                    "the send of `{}` ({}) bounced {} of {attempted} messages ({:.1} %), above 2 %: mailbox providers take that for a list that is not kept clean; import the bounces (`letterpress bounces import`) before the next send",
                    s.name, s.started.strftime("%Y-%m-%d"), s.bounces, 100.0 * s.bounces as f64 / attempted as f64
                )));
            }
            if attempted > 0 && s.blocked as f64 > BLOCKED_LIMIT * attempted as f64 {
                out.push((line, blocked_warning(s, attempted)));
            }
            if s.accepted > 0 && s.complaints as f64 > COMPLAINT_LIMIT * s.accepted as f64 {
                out.push((line, format!(
                    "the send of `{}` ({}) drew {} complaint{} for {} delivered messages ({:.2} %), above 0.1 %: Gmail filters senders over 0.3 %; make leaving easy and send only to readers who asked",
                    s.name, s.started.strftime("%Y-%m-%d"), s.complaints, crate::text::plural(s.complaints), s.accepted, 100.0 * s.complaints as f64 / s.accepted as f64
                )));
            }
        }
        out
    }
}

fn blocked_warning(s: &Send, attempted: usize) -> String {
    format!(
        "you are being blocked: after the send of `{}` ({}) {} of {attempted} messages ({:.1} %) were refused for the sender, not the reader (blocklists, spam filters, policy, authentication; the reasons are in bounces.log); no reader was marked; check SPF, DKIM and DMARC (`letterpress check --dns`) and the relay's reputation",
        s.name,
        s.started.strftime("%Y-%m-%d"),
        s.blocked,
        100.0 * s.blocked as f64 / attempted as f64
    )
}

/// The figures as of `now`.
pub fn figures(config: &Config, now: Timestamp) -> Result<Health> {
    figures_since(config, now - SignedDuration::from_hours(24 * DAYS), now)
}

/// The figures of the sends and events from `since` to `now`.
pub fn figures_since(config: &Config, since: Timestamp, now: Timestamp) -> Result<Health> {
    let state = super::state_dir(config);
    let mut sends = sends_since(&state, since)?;
    let log = super::log::path(&state);
    let mut health = Health {
        log: log.clone(),
        ..Health::default()
    };
    for (line, event) in super::log::read_lines(&log)? {
        if event.at < since || event.at > now {
            continue;
        }
        let blocked = event.reason.sender_side() && event.kind != Kind::Complaint;
        match event.kind {
            _ if blocked => health.blocked += 1,
            Kind::Hard => health.hard += 1,
            Kind::Soft => health.soft += 1,
            Kind::Complaint => health.complaints += 1,
            _ => continue,
        }
        let Some(send) = sends.iter_mut().rev().find(|s| s.started <= event.at) else {
            continue;
        };
        match event.kind {
            _ if blocked => send.blocked += 1,
            Kind::Complaint => send.complaints += 1,
            _ => send.bounces += 1,
        }
        *send.reasons.entry(event.reason.as_str()).or_default() += 1;
        send.first_line.get_or_insert(line);
    }
    health.sends = sends;
    Ok(health)
}

/// Per journal: its first time and each reader's last outcome (an
/// accepted one stays).
type Journals = HashMap<String, (i64, HashMap<String, Outcome>)>;

/// The sends that started since `since`, oldest first, with the readers
/// their journals count as accepted and refused (shards added together).
fn sends_since(state: &Path, since: Timestamp) -> Result<Vec<Send>> {
    let mut journals: Journals = HashMap::new();
    let recent = std::time::SystemTime::UNIX_EPOCH
        + std::time::Duration::from_secs(since.as_second().max(0) as u64);
    each_journal(state, recent, |name, r| {
        let (started, last) = journals
            .entry(name.to_string())
            .or_insert((i64::MAX, HashMap::new()));
        *started = (*started).min(r.at);
        let keep = last.get(&r.key).is_some_and(|o| *o == Outcome::Accepted);
        if !keep {
            last.insert(r.key, r.outcome);
        }
    })?;
    let mut sends: HashMap<String, Send> = HashMap::new();
    for (name, (started, last)) in journals {
        let issue = name.split(".shard-").next().unwrap_or(&name).to_string();
        let Ok(started) = Timestamp::from_second(started) else {
            continue;
        };
        let send = sends.entry(issue.clone()).or_insert(Send {
            name: issue,
            started,
            accepted: 0,
            refused: 0,
            bounces: 0,
            complaints: 0,
            blocked: 0,
            reasons: Default::default(),
            first_line: None,
        });
        send.started = send.started.min(started);
        send.accepted += last.values().filter(|o| **o == Outcome::Accepted).count();
        send.refused += last.values().filter(|o| **o == Outcome::Failed).count();
    }
    let mut sends: Vec<Send> = sends.into_values().filter(|s| s.started >= since).collect();
    sends.sort_by_key(|s| s.started);
    Ok(sends)
}
