//! The one writer of the list in `serve`: unsubscribes and confirmed
//! subscriptions are applied in batches with the same locked,
//! comment-keeping, atomic write as the `subscribers` commands.

use std::path::{Path, PathBuf};

use anyhow::Result;
use tokio::sync::{mpsc, oneshot};

use crate::subscribers::{Editor, Joined, Parked, Status, Subscriber};

/// A change to the list.
#[derive(Debug)]
pub enum Change {
    /// Mark every entry of the address unsubscribed (an address no longer
    /// in the list is done).
    Unsubscribe(String),
    /// A confirmed subscription, with the time its confirmation was asked for.
    Join(Box<Subscriber>, jiff::Timestamp),
}

/// What a change did: for a join, how it went.
pub type Done = Result<Option<Joined>, String>;

/// A change, answered once it is on disk.
pub type Request = (Change, oneshot::Sender<Done>);

/// Changes waiting at most; beyond them a request waits its turn.
pub const QUEUE: usize = 4096;

/// Applies changes in batches: every request that arrives while the list
/// is being written waits for the next write, so a burst costs a few
/// writes, and each request is answered once its change is on disk.
pub async fn writer(list: PathBuf, mut receiver: mpsc::Receiver<Request>) {
    let mut parked: Option<Parked> = None;
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = receiver.try_recv() {
            batch.push(more);
        }
        let (changes, answers): (Vec<Change>, Vec<_>) = batch.into_iter().unzip();
        let path = list.clone();
        let kept = parked.take();
        let outcome = tokio::task::spawn_blocking(move || apply(&path, kept, &changes)).await;
        let results: Vec<Done> = match outcome {
            Ok(Ok((next, results))) => {
                parked = next;
                results
            }
            Ok(Err(e)) => vec![Err(format!("{e:#}")); answers.len()],
            Err(e) => vec![Err(e.to_string()); answers.len()],
        };
        for (done, result) in answers.into_iter().zip(results) {
            if let Err(e) = &result {
                eprintln!("error: {e}");
            }
            let _ = done.send(result);
        }
    }
}

/// Applies `changes` in order and saves once; keeps the parsed list for
/// the next batch.
fn apply(
    list: &Path,
    parked: Option<Parked>,
    changes: &[Change],
) -> Result<(Option<Parked>, Vec<Done>)> {
    let mut editor = match parked {
        Some(parked) => parked.resume()?,
        None => Editor::open(list)?,
    };
    let mut changed = false;
    let mut log = Vec::new();
    let mut results = Vec::with_capacity(changes.len());
    for change in changes {
        let result = match change {
            Change::Unsubscribe(email) if editor.contains(email) => {
                editor.set_status(email, Status::Unsubscribed).map(|c| {
                    changed |= c;
                    if c {
                        log.push("a reader unsubscribed");
                    }
                    None
                })
            }
            Change::Unsubscribe(_) => Ok(None),
            Change::Join(reader, issued) => editor.join(reader, *issued).map(|joined| {
                changed |= joined.changed();
                match joined {
                    Joined::Added => log.push("a reader joined (confirmed)"),
                    Joined::Reactivated => log.push("a reader joined again (confirmed)"),
                    _ => {}
                }
                Some(joined)
            }),
        };
        results.push(result.map_err(|e| format!("{e:#}")));
    }
    if changed {
        editor.save()?;
        // One line per change; never the address.
        let stamp = crate::time::rfc3339(std::time::SystemTime::now());
        for line in log {
            eprintln!("{stamp} list: {line}");
        }
    }
    Ok((editor.park(), results))
}
