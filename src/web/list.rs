//! The one writer of the list in `serve`: unsubscribes and confirmed
//! subscriptions are decided against the list and its change log, appended
//! to the log in batches (one sync per batch), and folded into the list
//! file when the server is idle.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

pub use crate::subscribers::Change;
use crate::subscribers::{Joined, Live};

/// What a change did: whether it changed the list, and for a join how it
/// went.
pub type Answer = Result<(bool, Option<Joined>), String>;

/// A change, answered once it is on disk.
pub type Request = (Change, oneshot::Sender<Answer>);

/// Changes waiting at most; beyond them a request waits its turn.
pub const QUEUE: usize = 4096;

/// How long the writer waits without a request before it folds the log
/// into the list.
pub const IDLE: Duration = Duration::from_secs(2);

/// Past this many changes in the log it is folded even when the server is
/// busy: a bound on what every command reads after the list.
pub const MAX_PENDING: usize = 20_000;

/// Applies changes in batches: every request that arrives while a batch
/// is being recorded waits for the next one, so a burst costs a few syncs,
/// and each request is answered once its change is on disk.
pub async fn writer(list: PathBuf, mut receiver: mpsc::Receiver<Request>) {
    let mut live: Option<Live> = None;
    loop {
        let pending = live.as_ref().map_or(0, Live::pending);
        let first = match pending {
            0 => receiver.recv().await,
            _ => match tokio::time::timeout(IDLE, receiver.recv()).await {
                Ok(request) => request,
                Err(_) => {
                    live = blocking(live, &list, |live| live.compact().map(drop))
                        .await
                        .0;
                    continue;
                }
            },
        };
        let Some(first) = first else { return };
        let mut batch = vec![first];
        while let Ok(more) = receiver.try_recv() {
            batch.push(more);
        }
        let (changes, answers): (Vec<Change>, Vec<_>) = batch.into_iter().unzip();
        let (next, outcome) = blocking(live, &list, move |live| {
            let results = live.apply(&changes)?;
            log(&changes, &results);
            if live.pending() >= MAX_PENDING {
                live.compact()?;
            }
            Ok(results.into_iter().map(Ok).collect::<Vec<Answer>>())
        })
        .await;
        live = next;
        let results = match outcome {
            Ok(results) => results,
            Err(e) => vec![Err(e); answers.len()],
        };
        for (done, result) in answers.into_iter().zip(results) {
            if let Err(e) = &result {
                eprintln!("error: {}", super::loggable(e));
            }
            let _ = done.send(result);
        }
    }
}

/// Runs `work` on the list away from the server's thread; the list to keep
/// (none after an error, so that the next batch reads it again) and what
/// `work` said.
async fn blocking<T: Send + 'static>(
    live: Option<Live>,
    path: &std::path::Path,
    work: impl FnOnce(&mut Live) -> anyhow::Result<T> + Send + 'static,
) -> (Option<Live>, Result<T, String>) {
    let path = path.to_path_buf();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut live = match live {
            Some(live) => live,
            None => Live::open(&path)?,
        };
        let result = work(&mut live);
        Ok::<_, anyhow::Error>((live, result))
    })
    .await;
    match outcome {
        Ok(Ok((live, Ok(value)))) => (Some(live), Ok(value)),
        Ok(Ok((_, Err(e)))) | Ok(Err(e)) => (None, Err(format!("{e:#}"))),
        Err(e) => (None, Err(e.to_string())),
    }
}

/// One line per change made; never the address.
fn log(changes: &[Change], results: &[(bool, Option<Joined>)]) {
    let stamp = crate::time::rfc3339(std::time::SystemTime::now());
    for (change, (changed, result)) in changes.iter().zip(results) {
        let line = match (change, result) {
            (_, _) if !changed => continue,
            (Change::Unsubscribe(_), _) => "a reader unsubscribed",
            (_, Some(Joined::Added)) => "a reader joined (confirmed)",
            (_, Some(Joined::Reactivated)) => "a reader joined again (confirmed)",
            _ => continue,
        };
        eprintln!("{stamp} list: {line}");
    }
}
