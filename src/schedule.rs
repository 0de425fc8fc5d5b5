//! Scheduled sends: `send_at` in `issue.toml`, resolved in the newsletter's
//! time zone; `letterpress schedule` (the list) and `schedule run` (one
//! pass, for cron or a systemd timer; `serve --schedule` runs it every 30
//! seconds).
//!
//! Exactly once: a pass claims an issue by taking the send's lock (the
//! same one `send` takes) and sends through the send's journal, so two
//! passes, a pass and a manual send, a restart or a crash never send a
//! reader twice beyond the messages in flight, and a send that was cut off
//! is resumed by the next pass. An issue more than the grace past its time
//! that never started is *missed*: it is reported once and waits for a
//! person, so a restored backup never fires an old issue.
//!
//! Quiet hours (`[sending] quiet_hours`): a pass that runs inside them
//! sends nothing and the issue waits for their end. What counts is the
//! moment of the pass, not `send_at`; the grace runs only outside quiet
//! hours, so an issue whose grace would end inside them is sent when they
//! end (with what is left of its grace).
//!
//! Readers the relay deferred (4xx after every attempt) are tried again by
//! the passes that follow, no sooner than [`RETRY_EVERY`] after the last
//! try, for [`RETRY_FOR`] after the issue's first outcome; then the issue
//! is missed and waits for `send` by hand.

use std::path::{Path, PathBuf};

use anyhow::Result;
use jiff::{SignedDuration, Timestamp};

use crate::config::Config;
use crate::error::Located;
use crate::issue::Issue;
use crate::list::List;
use crate::send::journal::{self, Place};
pub use crate::window::{deadline, instant, Quiet};

/// How long after the last try a pass tries deferred readers again.
pub const RETRY_EVERY: SignedDuration = SignedDuration::from_mins(10);

/// How long after an issue's first outcome passes keep trying its deferred
/// readers.
pub const RETRY_FOR: SignedDuration = SignedDuration::from_hours(24);

/// The instant of an issue's `send_at`, with an error at its line.
pub fn issue_instant(config: &Config, issue: &Issue) -> Result<Option<Timestamp>> {
    let Some(send_at) = &issue.send_at else {
        return Ok(None);
    };
    instant(send_at, &config.time_zone())
        .map(Some)
        .map_err(|why| Located::line(&issue.dir.join("issue.toml"), send_at.line, why).into())
}

/// Where a scheduled issue stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Its time has not come.
    Scheduled,
    /// Its time has come, within the grace: the next pass sends it.
    Due,
    /// Due (or to be resumed or retried), but inside the quiet hours: the
    /// first pass after their end sends it.
    Waiting {
        /// The end of the quiet hours.
        until: Timestamp,
    },
    /// Every reader handled but some the relay deferred: a pass from
    /// `next` on tries them again.
    Deferred {
        /// When the next pass may try them.
        next: Timestamp,
    },
    /// Started and not finished, with recent progress: running now, or
    /// cut off and resumed by the next pass.
    Sending,
    /// Every reader handled.
    Sent,
    /// Not started and more than the grace past its time; cut off and
    /// idle longer than the grace; or readers still deferred [`RETRY_FOR`]
    /// after the first outcome. Sent only by hand.
    Missed,
    /// `issue.toml` or its `send_at` cannot be read.
    Invalid(String),
}

impl Standing {
    /// The word for people.
    pub fn word(&self) -> &'static str {
        match self {
            Standing::Scheduled => "scheduled",
            Standing::Due => "due",
            Standing::Waiting { .. } => "waiting",
            Standing::Deferred { .. } => "deferred",
            Standing::Sending => "sending",
            Standing::Sent => "sent",
            Standing::Missed => "missed",
            Standing::Invalid(_) => "invalid",
        }
    }
}

/// One issue with a `send_at`.
#[derive(Debug, Clone)]
pub struct ScheduledIssue {
    /// The issue folder.
    pub dir: PathBuf,
    /// Its name.
    pub name: String,
    /// When it is to go out.
    pub at: Option<Timestamp>,
    /// The readers it reaches.
    pub readers: usize,
    /// Of those, not yet handled, or deferred by the relay.
    pub remaining: usize,
    /// Of those, deferred by the relay.
    pub deferred: usize,
    /// Where it stands.
    pub state: Standing,
}

/// Every issue under the project's `issues/` with a `send_at`, by time.
pub fn entries(config: &Config, now: Timestamp) -> Result<Vec<ScheduledIssue>> {
    let list = List::load(&config.list_path())?;
    let mut out = Vec::new();
    for dir in issue_dirs(config)? {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let invalid = |why: String| ScheduledIssue {
            dir: dir.clone(),
            name: name.clone(),
            at: None,
            readers: 0,
            remaining: 0,
            deferred: 0,
            state: Standing::Invalid(why),
        };
        let issue = match Issue::load(&dir) {
            Ok(issue) => issue,
            Err(e) => {
                let text = crate::error::read_input(&dir.join("issue.toml")).unwrap_or_default();
                if text.contains("send_at") {
                    out.push(invalid(crate::error::render(&e).trim_end().to_string()));
                }
                continue;
            }
        };
        let at = match issue_instant(config, &issue) {
            Ok(Some(at)) => at,
            Ok(None) => continue,
            Err(e) => {
                out.push(invalid(crate::error::render(&e).trim_end().to_string()));
                continue;
            }
        };
        out.push(standing(config, &list, &issue, at, now)?);
    }
    out.sort_by_key(|e| (e.at, e.name.clone()));
    Ok(out)
}

/// The folders under `issues/` that hold an `issue.toml`, by name.
fn issue_dirs(config: &Config) -> Result<Vec<PathBuf>> {
    let issues = config.issues_dir();
    let mut dirs: Vec<PathBuf> = match std::fs::read_dir(&issues) {
        Ok(read) => read
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("issue.toml").is_file())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(anyhow::anyhow!("{}: cannot read: {e}", issues.display())),
    };
    dirs.sort();
    Ok(dirs)
}

/// Where `issue`, due at `at`, stands now: from its journals.
fn standing(
    config: &Config,
    list: &List,
    issue: &Issue,
    at: Timestamp,
    now: Timestamp,
) -> Result<ScheduledIssue> {
    let state_dir = config.state_dir();
    let place = Place::new(state_dir.clone(), &config.project_dir, &issue.dir, None);
    let journals = journal::journals_of(&state_dir, &place.name)?;
    // A paused reader is not waiting for this issue: the send skips them.
    let readers: Vec<&str> = list
        .reached(&issue.audience, &[], now)
        .0
        .into_iter()
        .map(|e| e.key())
        .collect();
    let handled = match journals.is_empty() {
        true => journal::State::new(),
        false => place.state()?,
    };
    let unattempted = readers
        .iter()
        .filter(|k| !handled.contains_key(**k))
        .count();
    let deferred = readers
        .iter()
        .filter(|k| {
            handled
                .get(**k)
                .is_some_and(|r| r.outcome == journal::Outcome::Deferred)
        })
        .count();
    let remaining = unattempted + deferred;
    let last_activity = journals
        .iter()
        .filter_map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .max()
        .and_then(|t| Timestamp::try_from(t).ok());
    let progress = Progress {
        last_activity,
        unattempted,
        remaining,
    };
    let state = state_now(config, &journals, at, now, &progress);
    Ok(ScheduledIssue {
        dir: issue.dir.clone(),
        name: issue.slug.clone(),
        at: Some(at),
        readers: readers.len(),
        remaining,
        deferred,
        state,
    })
}

/// What the journals of a scheduled issue say so far.
struct Progress {
    /// When a journal was last written.
    last_activity: Option<Timestamp>,
    /// Readers never tried.
    unattempted: usize,
    /// Readers never tried or deferred.
    remaining: usize,
}

/// The state rule: where an issue due at `at` stands at `now`, from its
/// `journals` and what they say.
fn state_now(
    config: &Config,
    journals: &[PathBuf],
    at: Timestamp,
    now: Timestamp,
    progress: &Progress,
) -> Standing {
    let grace = SignedDuration::from_mins(i64::from(config.file.sending.schedule_grace_minutes));
    let (unattempted, remaining) = (progress.unattempted, progress.remaining);
    let quiet = Quiet::of(config);
    // The moment of this pass decides, never `send_at`.
    let waiting = |state: Standing| match quiet.as_ref().and_then(|q| q.until(now)) {
        Some(until) => Standing::Waiting { until },
        None => state,
    };
    let resume_grace = grace.max(SignedDuration::from_mins(5));
    match (journals.is_empty(), progress.last_activity) {
        (true, _) if now < at => Standing::Scheduled,
        (true, _) if now <= deadline(quiet.as_ref(), at, grace) => waiting(Standing::Due),
        (true, _) => Standing::Missed,
        (false, _) if remaining == 0 => Standing::Sent,
        (false, Some(last))
            if unattempted > 0 && now <= deadline(quiet.as_ref(), last, resume_grace) =>
        {
            waiting(Standing::Sending)
        }
        (false, Some(last)) if unattempted == 0 => {
            let first = journals
                .iter()
                .filter_map(|p| first_record_time(p))
                .min()
                .unwrap_or(last);
            match now <= first + RETRY_FOR {
                true if now < last + RETRY_EVERY => Standing::Deferred {
                    next: last + RETRY_EVERY,
                },
                true => waiting(Standing::Deferred { next: now }),
                false => Standing::Missed,
            }
        }
        (false, _) => Standing::Missed,
    }
}

/// The time of a journal's first record: the first of its first lines
/// that starts with a time.
pub fn first_record_time(path: &Path) -> Option<Timestamp> {
    use std::io::{BufRead, Read};
    let file = std::fs::File::open(path).ok()?;
    std::io::BufReader::new(file.take(64 * 1024))
        .lines()
        .take(16)
        .map_while(std::result::Result::ok)
        .find_map(|line| line.split(' ').next()?.parse().ok())
}

/// What one pass did with one issue.
#[derive(Debug)]
pub enum PassEvent {
    /// Sent (or resumed) now.
    Sent {
        /// The issue.
        name: String,
        /// The run's summary line.
        summary: String,
        /// Every reader got through.
        complete: bool,
    },
    /// Not sent: check found errors, or the send failed.
    Failed {
        /// The issue.
        name: String,
        /// Why.
        why: String,
    },
    /// Every reader was already handled (another pass just finished it).
    Settled {
        /// The issue.
        name: String,
    },
    /// Another send holds the issue's lock.
    Busy {
        /// The issue.
        name: String,
    },
    /// Past the grace without a start, or readers still deferred after
    /// [`RETRY_FOR`]: reported once.
    Missed {
        /// The issue.
        name: String,
        /// When it was due.
        at: Timestamp,
        /// Readers still deferred (0: it never started or was cut off).
        deferred: usize,
    },
    /// Inside the quiet hours: sent after their end. Reported once per
    /// quiet period.
    Waiting {
        /// The issue.
        name: String,
        /// The end of the quiet hours.
        until: Timestamp,
    },
    /// `issue.toml` or its `send_at` cannot be read.
    Invalid {
        /// The issue.
        name: String,
        /// The error.
        why: String,
    },
    /// The consent mails (`[consent]`) of this pass.
    Consent(crate::consent::Mailed),
}

impl PassEvent {
    /// Nothing worth a line: another pass or send is doing (or did) it.
    pub fn quiet(&self) -> bool {
        matches!(self, PassEvent::Settled { .. } | PassEvent::Busy { .. })
    }

    /// One line for people and logs.
    pub fn line(&self, config: &Config) -> String {
        let zone = config.time_zone();
        match self {
            PassEvent::Sent { name, summary, .. } => format!("{name}: sent: {summary}"),
            PassEvent::Failed { name, why } => format!("{name}: not sent: {why}"),
            PassEvent::Busy { name } => {
                format!("{name}: another send of it is running; leaving it to that one")
            }
            PassEvent::Settled { name } => format!("{name}: every reader was already handled"),
            PassEvent::Missed {
                name, deferred: 0, at,
            } => format!(
                "{name}: missed: it was due at {}, more than {} minutes ago{}, and is not sent automatically; send it by hand with `letterpress send {name}`",
                at.to_zoned(zone).strftime("%Y-%m-%d %H:%M %Z"),
                config.file.sending.schedule_grace_minutes,
                match Quiet::of(config) {
                    Some(_) => " outside the quiet hours",
                    None => "",
                }
            ),
            PassEvent::Missed { name, deferred, .. } => format!(
                "{name}: {deferred} reader{} still deferred by the relay {} hours after the first try; passes no longer try them: `letterpress send {name}` does",
                crate::text::plural(*deferred),
                RETRY_FOR.as_hours()
            ),
            PassEvent::Waiting { name, until } => format!(
                "{name}: waits for the end of the quiet hours ([sending] quiet_hours = \"{}\"): the first pass from {} sends it",
                Quiet::of(config).map(|q| q.written()).unwrap_or_default(),
                until.to_zoned(zone).strftime("%Y-%m-%d %H:%M %Z")
            ),
            PassEvent::Invalid { name, why } => format!("{name}: cannot be scheduled: {why}"),
            PassEvent::Consent(mailed) => consent_line(mailed),
        }
    }
}

/// The consent mails of a pass, in one line.
fn consent_line(mailed: &crate::consent::Mailed) -> String {
    let mut line = format!(
        "consent mails: {} result notice{} and {} reminder{} sent",
        mailed.notices,
        crate::text::plural(mailed.notices),
        mailed.reminders,
        crate::text::plural(mailed.reminders)
    );
    if mailed.refused > 0 {
        line.push_str(&format!(
            "; {} refused by the relay for good",
            mailed.refused
        ));
    }
    if mailed.left > 0 {
        line.push_str(&format!("; {} left for the next pass", mailed.left));
    }
    if let Some(why) = &mailed.stopped {
        line.push_str(&format!("; stopped: {why}"));
    }
    line
}

/// How a pass sends an issue (the caller decides about signals and output).
pub trait Sender {
    /// Checks and sends the issue in `dir`.
    fn send(&self, dir: &Path) -> PassEvent;
}

/// One pass: every due issue (and every recently cut-off one) is checked
/// and sent; a missed one is reported once. What happened, one event per
/// issue that needed anything.
pub fn pass(config: &Config, now: Timestamp, sender: &dyn Sender) -> Result<Vec<PassEvent>> {
    let mut events = Vec::new();
    let state_dir = config.state_dir();
    for entry in entries(config, now)? {
        match entry.state {
            Standing::Due | Standing::Sending => events.push(sender.send(&entry.dir)),
            Standing::Deferred { next } if next <= now => events.push(sender.send(&entry.dir)),
            Standing::Deferred { .. } => {}
            Standing::Waiting { until } => {
                // Said once per quiet period: a pass every minute must not
                // repeat it.
                let marker = state_dir.join(format!("{}.waiting", entry.name));
                let stamp = format!("{until}\n");
                if std::fs::read_to_string(&marker).ok().as_deref() != Some(stamp.as_str()) {
                    std::fs::create_dir_all(&state_dir).ok();
                    crate::fs::write_atomic(&marker, stamp.as_bytes())?;
                    events.push(PassEvent::Waiting {
                        name: entry.name,
                        until,
                    });
                }
            }
            Standing::Missed => {
                // Reported once: a pass every minute must not repeat it.
                let marker = state_dir.join(format!("{}.missed", entry.name));
                if !marker.exists() {
                    std::fs::create_dir_all(&state_dir).ok();
                    crate::fs::write_atomic(&marker, b"reported missed\n")?;
                    events.push(PassEvent::Missed {
                        name: entry.name,
                        at: entry.at.unwrap_or(now),
                        // Only when nobody else is left: else it was cut off.
                        deferred: match entry.remaining == entry.deferred {
                            true => entry.deferred,
                            false => 0,
                        },
                    });
                }
            }
            Standing::Invalid(why) => events.push(PassEvent::Invalid {
                name: entry.name,
                why,
            }),
            Standing::Scheduled | Standing::Sent => {}
        }
    }
    let mailed = crate::consent::pass(config, now).unwrap_or_else(|e| crate::consent::Mailed {
        stopped: Some(format!("{e:#}")),
        ..crate::consent::Mailed::default()
    });
    if !mailed.is_empty() {
        events.push(PassEvent::Consent(mailed));
    }
    Ok(events)
}

/// The exit status of a pass: 2 if an issue could not be sent, else 1 if
/// an issue could not be read, else 0.
pub fn failed(events: &[PassEvent]) -> (bool, bool) {
    let unsent = events.iter().any(|e| {
        matches!(
            e,
            PassEvent::Failed { .. }
                | PassEvent::Sent {
                    complete: false,
                    ..
                }
        ) || matches!(e, PassEvent::Consent(mailed) if mailed.stopped.is_some())
    });
    let invalid = events
        .iter()
        .any(|e| matches!(e, PassEvent::Invalid { .. }));
    (unsent, invalid)
}

/// Sends a scheduled issue as `send --yes` would: claim it (the send's
/// lock), check it, send the readers not yet handled, apply the relay's
/// refusals to the list.
pub struct Deliver {
    /// The config file.
    pub config_path: PathBuf,
    /// Whether Ctrl-C and SIGTERM stop the send (not inside `serve`).
    pub signals: bool,
}

impl Sender for Deliver {
    fn send(&self, dir: &Path) -> PassEvent {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match send_scheduled(&self.config_path, dir, self.signals) {
            Ok(event) => event,
            Err(e) => PassEvent::Failed {
                name,
                why: crate::error::render(&e).trim_end().to_string(),
            },
        }
    }
}

fn send_scheduled(config_path: &Path, dir: &Path, signals: bool) -> Result<PassEvent> {
    use crate::dispatch::{How, Prepared};
    let project = crate::project::Project::load(config_path, dir)?;
    let name = project.issue.slug.clone();
    let request = crate::send::Selection {
        journaled: true,
        ..crate::send::Selection::default()
    };
    let prepared = match Prepared::new(&project, &request) {
        Err(e) if e.downcast_ref::<journal::Busy>().is_some() => {
            return Ok(PassEvent::Busy { name })
        }
        prepared => prepared?,
    };
    if let Some(why) = check_errors(&project)? {
        return Ok(PassEvent::Failed { name, why });
    }
    if prepared.plan.jobs.is_empty() {
        // Another pass finished it between our look and our lock.
        return Ok(PassEvent::Settled { name });
    }
    let secret = crate::message::secret::secret_for_links(&project.config)?;
    let relays = crate::send::Relay::lanes(&project.config)?;
    let hidden = indicatif::ProgressBar::hidden();
    let how = How {
        signals,
        progress: &hidden,
    };
    let sent = prepared.compose(secret, |factory| prepared.send(factory, &relays, &how))?;
    let (mut summary, complete) = (summary(&sent), sent.complete());
    let marked = sent.marked?.len();
    if marked > 0 {
        // A change to the list: counted, never named.
        summary.push_str(&format!(
            "; {marked} reader{} marked bounced (the relay said the address does not exist)",
            crate::text::plural(marked)
        ));
    }
    Ok(PassEvent::Sent {
        name,
        summary,
        complete,
    })
}

/// `check` before a scheduled send: its errors, one per line, if any.
fn check_errors(p: &crate::project::Project) -> Result<Option<String>> {
    use crate::check::{check_issue, Level, Scope};
    let report = check_issue(&p.config, &p.issue, &p.theme, &p.list, Scope::BeforeSend)?;
    if report.errors() == 0 {
        return Ok(None);
    }
    let errors: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.level == Level::Error)
        .map(|f| format!("  {}:{}: error: {}", f.file.display(), f.line, f.message))
        .collect();
    Ok(Some(format!(
        "`letterpress check` found errors:\n{}",
        errors.join("\n")
    )))
}

/// One line about a run.
fn summary(sent: &crate::dispatch::Sent) -> String {
    use crate::send::Stopped;
    let s = &sent.ran.summary;
    let mut summary = format!(
        "{} accepted, {} failed, {} deferred, {} not attempted through {}",
        s.accepted,
        s.failed.len(),
        s.deferred.len(),
        s.remaining,
        sent.relay,
    );
    match &sent.ran.stopped {
        Stopped::Finished => {}
        Stopped::Interrupted => summary.push_str("; interrupted, the next pass resumes it"),
        stopped => summary.push_str(&format!("; stopped: {stopped}")),
    }
    summary
}
