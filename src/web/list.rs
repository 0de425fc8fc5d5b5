//! The one writer of the list in `serve`: unsubscribes and confirmed
//! subscriptions are decided against the list and its change log, appended
//! to the log in batches (one sync per batch), and folded into the list
//! file when the server is idle.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

pub use crate::list::Change;
use crate::list::{Joined, Live, Subscriber};

/// What a change did: whether it changed the list, and for a join how it
/// went.
pub type Answer = Result<(bool, Option<Joined>), String>;

/// A change, answered once it is on disk.
pub type ChangeRequest = (Change, oneshot::Sender<Answer>);

/// The entries of one reader as the list holds them now (the change log
/// applied), by identity.
pub type Look = (String, oneshot::Sender<Result<Vec<Subscriber>, String>>);

/// What the writer is asked: a change, or a reader's entries (asked of
/// the writer, which holds the list, so that a page never reads the
/// whole file).
pub enum Request {
    /// Record a change.
    Change(ChangeRequest),
    /// Tell a reader's entries.
    Look(Look),
}

impl From<ChangeRequest> for Request {
    fn from(request: ChangeRequest) -> Request {
        Request::Change(request)
    }
}

/// Changes waiting at most; beyond them a request waits its turn.
pub const QUEUE: usize = 4096;

/// How long the writer waits without a request before it folds the log
/// into the list.
pub const IDLE: Duration = Duration::from_secs(2);

/// After a fold that failed (a full disk, a list edited into an invalid
/// file), the next try waits this long, then twice as long each time, up
/// to [`MAX_RETRY`]; the server tries while idle, without waiting for a
/// request.
pub const FIRST_RETRY: Duration = Duration::from_secs(2);

/// The longest wait between two tries of a failed fold.
pub const MAX_RETRY: Duration = Duration::from_secs(300);

/// Past this many changes in the log it is folded even when the server is
/// busy: a bound on what every command reads after the list.
pub const MAX_PENDING: usize = 20_000;

/// When to fold next after a failed fold, and the wait it came after.
type Retry = (tokio::time::Instant, Duration);

/// Applies changes in batches: every request that arrives while a batch
/// is being recorded waits for the next one, so a burst costs a few syncs,
/// and each request is answered once its change is on disk.
pub async fn writer(list: PathBuf, mut receiver: mpsc::Receiver<Request>) {
    let mut live: Option<Live> = None;
    let mut retry: Option<Retry> = None;
    loop {
        let pending = live.as_ref().map_or(0, Live::pending);
        let fold_at = match retry {
            Some((at, _)) => Some(at),
            None if pending > 0 => Some(tokio::time::Instant::now() + IDLE),
            None => None,
        };
        let first = match fold_at {
            None => receiver.recv().await,
            Some(at) => match tokio::time::timeout_at(at, receiver.recv()).await {
                Ok(request) => request,
                Err(_) => {
                    (live, retry) = fold(live, &list, retry).await;
                    continue;
                }
            },
        };
        let Some(first) = first else { return };
        let mut batch = vec![first];
        while let Ok(more) = receiver.try_recv() {
            batch.push(more);
        }
        (live, retry) = record(live, &list, retry, batch).await;
    }
}

/// Folds the log into the list while the server is idle; after a failure,
/// when to try again (twice the last wait, at most [`MAX_RETRY`]).
async fn fold(
    live: Option<Live>,
    list: &Path,
    retry: Option<Retry>,
) -> (Option<Live>, Option<Retry>) {
    let (live, outcome) = blocking(live, list, |live| live.compact().map(drop)).await;
    let retry = match outcome {
        Ok(()) => {
            if retry.is_some() {
                note("the change log is folded into the list again");
            }
            None
        }
        Err(e) => {
            let wait = retry.map_or(FIRST_RETRY, |(_, w)| (w * 2).min(MAX_RETRY));
            note(&format!(
                "the change log could not be folded into the list; trying again in {} s: {}",
                wait.as_secs(),
                super::loggable(&e)
            ));
            Some((tokio::time::Instant::now() + wait, wait))
        }
    };
    (live, retry)
}

/// Records a batch of changes in the log (folding it when it holds
/// [`MAX_PENDING`]), then answers each request: the looks see the batch's
/// changes.
async fn record(
    live: Option<Live>,
    list: &Path,
    mut retry: Option<Retry>,
    batch: Vec<Request>,
) -> (Option<Live>, Option<Retry>) {
    let (mut changes, mut answers, mut keys, mut looks) = (vec![], vec![], vec![], vec![]);
    for request in batch {
        match request {
            Request::Change((change, done)) => {
                changes.push(change);
                answers.push(done);
            }
            Request::Look((key, done)) => {
                keys.push(key);
                looks.push(done);
            }
        }
    }
    let (live, outcome) = blocking(live, list, move |live| {
        let results = live.apply(&changes)?;
        log(&changes, &results);
        if live.pending() >= MAX_PENDING {
            live.compact()?;
        }
        let results = results.into_iter().map(Ok).collect::<Vec<Answer>>();
        Ok((results, live.entries_of(&keys)))
    })
    .await;
    let (results, found) = match outcome {
        Ok((results, found)) => (results, found.into_iter().map(Ok).collect()),
        Err(e) => {
            // The changes logged before stay to be folded: try soon,
            // not only at the next request.
            if retry.is_none() {
                retry = Some((tokio::time::Instant::now() + FIRST_RETRY, FIRST_RETRY));
            }
            (
                vec![Err(e.clone()); answers.len()],
                vec![Err(e); looks.len()],
            )
        }
    };
    for (done, result) in answers.into_iter().zip(results) {
        if let Err(e) = &result {
            eprintln!("error: {}", super::loggable(e));
        }
        let _ = done.send(result);
    }
    for (done, entries) in looks.into_iter().zip(found) {
        let _ = done.send(entries);
    }
    (live, retry)
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

/// A line of the list's log.
fn note(line: &str) {
    let stamp = crate::time::rfc3339(std::time::SystemTime::now());
    eprintln!("{stamp} list: {line}");
}

/// One line per change made; never the address.
fn log(changes: &[Change], results: &[(bool, Option<Joined>)]) {
    let stamp = crate::time::rfc3339(std::time::SystemTime::now());
    for (change, (changed, result)) in changes.iter().zip(results) {
        let line = match (change, result) {
            (_, _) if !changed => continue,
            (Change::Unsubscribe(_), _) => "a reader unsubscribed",
            (Change::Preferences(_), _) => "a reader changed their preferences",
            (_, Some(Joined::Added)) => "a reader joined (confirmed)",
            (_, Some(Joined::Reactivated)) => "a reader joined again (confirmed)",
            _ => continue,
        };
        eprintln!("{stamp} list: {line}");
    }
}
