//! The welcome issue: sent once to each reader who confirms, through the
//! same planned, journaled send as `letterpress send`, so the issue's
//! journal in `state_dir` is what makes "once" hold across restarts and
//! repeated confirmations.
//!
//! The queue of welcomes to send lives in memory; what it held is not lost
//! with it: when `serve` starts, the readers who confirmed through the form
//! in the last [`CATCH_UP`] and are active are handed to the same journaled
//! send, which mails only those the welcome's journal has not settled.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Result;

use crate::compose::Composed;
use crate::config::Config;
use crate::dispatch::{send_issue, Dispatched, How};
use crate::list::{List, Source, Status};
use crate::message::{run_date, Factory};
use crate::project::Project;
use crate::send::{Relay, Selection, Stopped};

/// After a failed welcome send, the next try waits this long.
const RETRY_AFTER: Duration = Duration::from_secs(30);

/// Tries per batch of readers before their welcome is given up (and logged).
const TRIES: u32 = 5;

/// Readers waiting for a welcome at most; beyond them one is logged and dropped.
const MAX_WAITING: usize = 100_000;

/// How far back `serve` looks, when it starts, for readers who confirmed
/// and may still wait for their welcome (the life of a confirmation link).
pub const CATCH_UP: Duration = Duration::from_secs(7 * 24 * 3600);

/// The welcome issue's folder: `[subscribe] welcome`, relative to the
/// project's `issues/` folder.
pub fn dir(config: &Config) -> Option<PathBuf> {
    let welcome = config.file.subscribe.as_ref()?.welcome.as_ref()?;
    Some(match welcome.is_absolute() {
        true => welcome.clone(),
        false => config.issues_dir().join(welcome),
    })
}

/// Loads and composes the welcome issue, so that `serve` refuses to start
/// with one that could not be sent.
pub fn check(config: &Config, dir: &Path, secret: &[u8]) -> Result<()> {
    let project = Project::with_config(config.clone(), dir)?;
    let composed = Composed::new(&project.config, &project.theme, &project.issue)?;
    Factory::new(&composed, Some(secret.to_vec()), run_date())?;
    Relay::lanes(config)?;
    Ok(())
}

/// Starts the thread that sends the welcome issue; send it the identity
/// of each reader who confirmed.
pub fn start(
    config: Config,
    dir: PathBuf,
    secret: Vec<u8>,
) -> std::io::Result<mpsc::SyncSender<String>> {
    let (sender, receiver) = mpsc::sync_channel::<String>(MAX_WAITING);
    std::thread::Builder::new()
        .name("welcome".into())
        .spawn(move || {
            match waiting(&config, jiff::Timestamp::now()) {
                Ok(readers) if !readers.is_empty() => welcome(&config, &dir, &secret, &readers),
                Ok(_) => {}
                Err(e) => eprintln!(
                    "warning: cannot look for welcomes still to send: {}",
                    crate::redact::loggable(&format!("{e:#}"))
                ),
            }
            while let Ok(first) = receiver.recv() {
                let mut batch = HashSet::from([first]);
                batch.extend(receiver.try_iter());
                welcome(&config, &dir, &secret, &batch);
            }
        })?;
    Ok(sender)
}

/// The readers who may still wait for their welcome at `now`: active,
/// joined through the form within [`CATCH_UP`]. The journaled send leaves
/// out those who had it.
fn waiting(config: &Config, now: jiff::Timestamp) -> Result<HashSet<String>> {
    let list = List::load(&config.list_path())?;
    let since = now - jiff::SignedDuration::try_from(CATCH_UP)?;
    Ok(list
        .entries
        .iter()
        .filter(|e| e.status() == Status::Active && e.source() == Some(Source::Form.as_str()))
        .filter(|e| e.joined().is_some_and(|at| at >= since && at <= now))
        .map(|e| e.key().to_string())
        .collect())
}

fn welcome(config: &Config, dir: &Path, secret: &[u8], batch: &HashSet<String>) {
    for attempt in 1..=TRIES {
        match send_welcome(config, dir, secret, batch) {
            Ok(()) => return,
            Err(e) if attempt < TRIES => {
                eprintln!(
                    "warning: welcome issue not sent yet (try {attempt} of {TRIES}): {}",
                    crate::redact::loggable(&format!("{e:#}"))
                );
                std::thread::sleep(RETRY_AFTER);
            }
            Err(e) => eprintln!(
                "error: welcome issue not sent to {} reader(s): {}\n  help: `letterpress send {}` sends it to readers who have not had it (serve also tries again when it starts)",
                batch.len(),
                crate::redact::loggable(&format!("{e:#}")),
                dir.display()
            ),
        }
    }
}

/// One journaled send of the welcome issue to the readers of `batch` who
/// have not had it.
fn send_welcome(config: &Config, dir: &Path, secret: &[u8], batch: &HashSet<String>) -> Result<()> {
    let project = Project::with_config(config.clone(), dir)?;
    let request = Selection {
        only: Some(batch),
        journaled: true,
        skip_invalid: true,
        ..Selection::default()
    };
    let progress = indicatif::ProgressBar::hidden();
    let how = How {
        signals: false,
        progress: &progress,
    };
    let sent = match send_issue(&project, &request, Some(secret.to_vec()), &how)? {
        // The readers are not in the issue's audience (or left again), or
        // had it already.
        Dispatched::NoReaders(_) | Dispatched::Settled { .. } => return Ok(()),
        Dispatched::Sent(sent) => sent,
    };
    let summary = &sent.ran.summary;
    eprintln!(
        "welcome: {} accepted, {} refused, {} deferred",
        summary.accepted,
        summary.failed.len(),
        summary.deferred.len()
    );
    // A change to the list: counted, never named.
    match &sent.marked {
        Ok(marked) if !marked.is_empty() => eprintln!(
            "welcome: {} reader(s) marked bounced (the relay said the address does not exist)",
            marked.len()
        ),
        Ok(_) => {}
        Err(e) => eprintln!(
            "error: the relay's refusals could not be applied to the list: {}",
            crate::redact::loggable(&format!("{e:#}"))
        ),
    }
    match sent.ran.stopped {
        Stopped::Finished if summary.deferred.is_empty() => Ok(()),
        Stopped::Finished => {
            anyhow::bail!("{} reader(s) deferred by the relay", summary.deferred.len())
        }
        Stopped::Interrupted => Ok(()),
        Stopped::Fatal(e) => Err(e),
        stopped => Err(anyhow::anyhow!("{stopped}")),
    }
}
