//! `bounces.log` in `state_dir`: the list's bounce and complaint history,
//! one human-readable line per event, appended and synced, never rewritten.
//!
//! ```text
//! 2026-11-27T09:14:02Z hard gone@example.org status=5.1.1 report=<20261127091402.4F2A@mx.example.net> action=bounced
//! 2026-11-27T09:20:40Z soft full@example.org status=5.2.2 report=<…> action=counted
//! 2026-11-28T10:02:11Z complaint angry@example.net status=- report=<…> action=unsubscribed
//! ```
//!
//! The report id is the report's Message-ID (or `sha256:` of its bytes, or
//! `send:<journal>` for a refusal during a send): a report imported twice
//! counts once. A line torn by a crash is ignored.

use std::path::{Path, PathBuf};

use anyhow::Result;
use jiff::Timestamp;

use super::classify::Kind;
use super::reason::Reason;

/// What an event did to the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The reader was marked bounced.
    Bounced,
    /// The reader was marked unsubscribed.
    Unsubscribed,
    /// A soft bounce was counted; the reader stays.
    Counted,
    /// Nothing changed (already stopped, or the report predates the
    /// reader's consent).
    Nothing,
}

impl Action {
    /// The word in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Bounced => "bounced",
            Action::Unsubscribed => "unsubscribed",
            Action::Counted => "counted",
            Action::Nothing => "none",
        }
    }

    fn parse(word: &str) -> Option<Action> {
        [
            Action::Bounced,
            Action::Unsubscribed,
            Action::Counted,
            Action::Nothing,
        ]
        .into_iter()
        .find(|a| a.as_str() == word)
    }
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// When it happened: the report's date, or the refusal's.
    pub at: Timestamp,
    /// Hard, soft or complaint.
    pub kind: Kind,
    /// The reader's identity.
    pub reader: String,
    /// The enhanced status code, when there was one.
    pub status: Option<String>,
    /// Why it failed (older lines: their code's reason).
    pub reason: Reason,
    /// The report it came from.
    pub report: String,
    /// What it did.
    pub action: Action,
}

impl Event {
    /// Whether it counts against the reader: a bounce that is not a refusal
    /// of the sender.
    pub fn counts(&self) -> bool {
        matches!(self.kind, Kind::Hard | Kind::Soft) && !self.reason.sender_side()
    }

    /// The line, with its newline.
    pub fn line(&self) -> String {
        format!(
            "{} {} {} status={} report={} action={} reason={}\n",
            self.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            self.kind.as_str(),
            encode(&self.reader),
            self.status.as_deref().unwrap_or("-"),
            encode(&self.report),
            self.action.as_str(),
            self.reason.as_str()
        )
    }

    fn parse(line: &str) -> Option<Event> {
        let mut fields = line.split(' ');
        let at = fields.next()?.parse().ok()?;
        let kind = Kind::parse(fields.next()?)?;
        let reader = decode(fields.next()?);
        let status = fields.next()?.strip_prefix("status=")?;
        let report = decode(fields.next()?.strip_prefix("report=")?);
        let action = Action::parse(fields.next()?.strip_prefix("action=")?)?;
        let status = (status != "-").then(|| status.to_string());
        // Lines written before reasons were logged: the code's reason.
        let reason = match fields.next().and_then(|f| f.strip_prefix("reason=")) {
            Some(word) => Reason::parse(word)?,
            None => old_reason(kind, status.as_deref()),
        };
        Some(Event {
            at,
            kind,
            reader,
            status,
            reason,
            report,
            action,
        })
    }
}

/// Keeps a field free of spaces and control characters.
/// The reason of a line written before reasons were logged: its code's,
/// else what its kind implies.
fn old_reason(kind: Kind, status: Option<&str>) -> Reason {
    match (kind, status.and_then(super::reason::by_code)) {
        (Kind::Complaint, _) => Reason::Feedback,
        (_, Some(reason)) => reason,
        (Kind::Hard, None) => Reason::UserUnknown,
        _ => Reason::Undefined,
    }
}

fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '%' => out.push_str("%25"),
            ' ' => out.push_str("%20"),
            c if c.is_control() => out.push_str(&format!("%{:02X}", c as u32 & 0xff)),
            c => out.push(c),
        }
    }
    out
}

fn decode(field: &str) -> String {
    field.replace("%20", " ").replace("%25", "%")
}

/// Puts `pseudonym` in place of the reader `key` (an identity) in every
/// event of the log at `path`, rewriting it under its lock. How many
/// events changed.
pub fn erase(path: &Path, key: &str, pseudonym: &str) -> Result<usize> {
    let mut changed = 0;
    crate::fs::rewrite_log(path, |text| {
        let mut out = String::with_capacity(text.len());
        for line in String::from_utf8_lossy(text).split_inclusive('\n') {
            match Event::parse(line.trim_end()) {
                Some(mut event) if event.reader == key && line.ends_with('\n') => {
                    event.reader = pseudonym.to_string();
                    out.push_str(&event.line());
                    changed += 1;
                }
                _ => out.push_str(line),
            }
        }
        (changed > 0).then(|| out.into_bytes())
    })?;
    Ok(changed)
}

/// The log's place in `state_dir`.
pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("bounces.log")
}

/// Every event of the log at `path`; a missing log is empty.
pub fn read(path: &Path) -> Result<Vec<Event>> {
    Ok(read_lines(path)?.into_iter().map(|(_, e)| e).collect())
}

/// Every event of the log at `path` with its line.
pub fn read_lines(path: &Path) -> Result<Vec<(usize, Event)>> {
    let mut events = Vec::new();
    crate::fs::each_line(path, MAX_LINE, |number, line| {
        let line = String::from_utf8_lossy(line);
        if line.starts_with('#') || line.trim().is_empty() {
            return Ok(());
        }
        let Some(event) = Event::parse(&line) else {
            return Err(crate::error::Located::line(
                path,
                number,
                format!("not a bounce record: {line}"),
            )
            .help("bounces.log is written by letterpress; restore the line or remove it")
            .into());
        };
        events.push((number, event));
        Ok(())
    })?;
    Ok(events)
}

/// The longest line of the log: one event, with room to spare.
const MAX_LINE: usize = 64 * 1024;

/// Appends `events` with one write, then syncs the file.
pub fn append(path: &Path, events: &[Event]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let text: String = events.iter().map(Event::line).collect();
    crate::fs::append(
        path,
        Some("letterpress bounces log: time kind reader status report action reason"),
        text.as_bytes(),
        crate::fs::Durability::Synced,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_back() {
        let event = Event {
            at: "2026-11-27T09:14:02Z".parse().unwrap(),
            kind: Kind::Hard,
            reader: "a b@example.org".into(),
            status: Some("5.1.1".into()),
            reason: Reason::UserUnknown,
            report: "<x y%z@mx.example.net>".into(),
            action: Action::Bounced,
        };
        let line = event.line();
        assert_eq!(line.matches(' ').count(), 6, "{line}");
        assert_eq!(Event::parse(line.trim_end()), Some(event));
    }

    #[test]
    fn lines_without_a_reason_read_with_the_codes() {
        let old = "2026-11-27T09:20:40Z soft full@example.org status=5.2.2 report=<r@example.net> action=counted";
        let event = Event::parse(old).unwrap();
        assert_eq!(event.reason, Reason::MailboxFull);
        let complaint = "2026-11-28T10:02:11Z complaint a@example.net status=- report=<c@example.net> action=unsubscribed";
        assert_eq!(Event::parse(complaint).unwrap().reason, Reason::Feedback);
    }
}
