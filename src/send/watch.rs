//! The list, watched during a send: a reader who leaves while the send
//! runs is not mailed in that run.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Result;
use lettre::Address;
use tokio::time::Instant;

use crate::list::{changes, identity, stamp, Change, FileStamp, List};

/// The list, looked at again before every message: a reader who
/// unsubscribes (or is marked bounced) while a send runs is not mailed in
/// that run. A look costs two `stat`s. Changes `serve` records in the
/// list's change log are read as they are appended; a list file replaced
/// (an edit, or the log folded in) is read again at most once per
/// [`RELOAD_EVERY`], so a list that changes all the time cannot stall the
/// send with reloads.
pub struct ListWatch {
    path: std::path::PathBuf,
    state: Mutex<Watched>,
}

struct Watched {
    seen: Option<FileStamp>,
    reloaded: Option<Instant>,
    /// How much of the change log has been read.
    log: changes::LogPosition,
    /// Readers unsubscribed or bounced.
    stopped: HashSet<String>,
    /// Readers paused now, as the last change of each says: a pause the
    /// reader ended again (both in the log) no longer holds them back.
    paused: HashSet<String>,
}

/// The shortest time between two reloads of the list during a send.
pub const RELOAD_EVERY: Duration = Duration::from_secs(1);

impl ListWatch {
    /// Watches the list at `path`, as loaded (with its log) for this send.
    pub fn new(path: &std::path::Path) -> ListWatch {
        ListWatch {
            path: path.to_path_buf(),
            state: Mutex::new(Watched {
                seen: stamp(path),
                reloaded: None,
                log: changes::LogPosition::default(),
                stopped: HashSet::new(),
                paused: HashSet::new(),
            }),
        }
    }

    /// Whether `address` must not be mailed any more: the list or its log
    /// changed since the send began, and now has it unsubscribed, bounced
    /// or paused.
    /// An error when the log cannot be read: the send must then stop
    /// taking readers, since the reader may have left in a change it
    /// cannot see.
    pub(super) fn stops(&self, address: &Address) -> Result<bool> {
        let now = stamp(&self.path);
        let mut state = self.state.lock().expect("watch");
        let due = state.reloaded.is_none_or(|at| at.elapsed() >= RELOAD_EVERY);
        if state.seen != now && due {
            state.seen = now;
            state.reloaded = Some(Instant::now());
            match List::load(&self.path) {
                Ok(list) => {
                    state.stopped = list.stopped().into_iter().map(str::to_string).collect();
                    // Readers who paused since the send began are skipped too.
                    let now = jiff::Timestamp::now();
                    let paused = list.entries.iter().filter(|e| e.paused(now).is_some());
                    state.paused = paused.map(|e| e.key().to_string()).collect();
                    // The log may have changed since: read it again below.
                    state.log = changes::LogPosition::default();
                }
                // Keep the last good view; the editor's writes are atomic,
                // so this is a hand edit in progress.
                Err(e) => eprintln!(
                    "warning: cannot read the list again during the send: {}",
                    crate::redact::loggable(&format!("{e:#}"))
                ),
            }
        }
        if log_len(&self.path) > state.log.bytes {
            state.read_log(&self.path)?;
        }
        let key = identity(address.as_ref());
        Ok(state.stopped.contains(&key) || state.paused.contains(&key))
    }
}

impl Watched {
    /// Reads the changes the log gained since the last look.
    fn read_log(&mut self, path: &std::path::Path) -> Result<()> {
        let gained = changes::read_since(path, &mut self.log).map_err(|e| {
            e.context("cannot read the list's changes during the send, so a reader who left may not be seen: the send stopped taking readers")
        })?;
        for change in gained {
            match change {
                Change::Unsubscribe(leaving) => {
                    self.stopped.insert(identity(&leaving.email));
                }
                Change::Join { reader, .. } => {
                    self.stopped.remove(&identity(&reader.email));
                }
                // A pause made during the send: the reader is skipped; a
                // pause ended (or run out) lets them be mailed again.
                Change::Preferences(preferences) => {
                    let Some(until) = preferences.paused_until else {
                        continue;
                    };
                    if preferences.check().is_err() {
                        continue;
                    }
                    let key = identity(&preferences.email);
                    match until.is_some_and(|until| until > jiff::Timestamp::now()) {
                        true => self.paused.insert(key),
                        false => self.paused.remove(&key),
                    };
                }
            }
        }
        Ok(())
    }
}

/// The list's change log could not be read during the send: the run
/// stopped taking readers (a [`Stopped::Fatal`] with this error).
#[derive(Debug)]
pub struct ListUnreadable(pub anyhow::Error);

impl std::fmt::Display for ListUnreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for ListUnreadable {}

/// The length of the list's change log; 0 when there is none.
fn log_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(crate::list::changes::log_path(path)).map_or(0, |m| m.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::list::changes::{append, Preferences};
    use crate::list::Leaving;

    fn pause(email: &str, until: Option<jiff::Timestamp>) -> Change {
        Change::Preferences(Preferences {
            email: email.into(),
            at: jiff::Timestamp::now(),
            tags: None,
            name: None,
            paused_until: Some(until),
            consent_notified_at: None,
        })
    }

    // Test that the watch of a send follows each reader's last word in the
    // change log: a reader who paused and resumed before the log was folded
    // is mailed, one still paused is not, and a reader who left stays out
    // whatever their pause says.
    #[test]
    fn a_pause_ended_in_the_log_lets_the_reader_be_mailed() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("subscribers.toml");
        let mut text = String::new();
        for who in ["resumed", "paused", "left"] {
            text.push_str(&format!("[[subscriber]]\nemail = \"{who}@example.org\"\n"));
        }
        std::fs::write(&list, text).unwrap();
        let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
        let changes = [
            pause("resumed@example.org", Some(later)),
            pause("paused@example.org", Some(later)),
            Change::Unsubscribe(Leaving::now("left@example.org")),
            pause("resumed@example.org", None),
            pause("left@example.org", None),
        ];
        append(&list, &changes).unwrap();
        let watch = ListWatch::new(&list);
        let stops = |who: &str| {
            watch
                .stops(&format!("{who}@example.org").parse().unwrap())
                .unwrap()
        };
        assert!(!stops("resumed"));
        assert!(stops("paused"));
        assert!(stops("left"));
    }
}
