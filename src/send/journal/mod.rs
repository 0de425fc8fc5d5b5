//! The delivery journal: one human-readable line per reader outcome,
//! appended and flushed to disk as each outcome is known.
//!
//! ```text
//! 2026-11-27T09:00:01Z accepted reader@example.com attempts=1 reply="250 2.0.0 Ok: queued as 4F2A"
//! 2026-11-27T09:00:01Z failed gone@example.org attempts=1 reply="550 5.1.1 Recipient address rejected"
//! 2026-11-27T09:00:09Z deferred slow@example.net attempts=5 reply="451 4.7.1 Try again later"
//! ```
//!
//! A record is one `write` of a whole line; a line without its newline (the
//! process died mid-write) is ignored when the journal is read again.

mod lock;
mod place;
mod timed;
mod writer;

use std::collections::HashMap;
use std::path::Path;
use std::time::SystemTime;

use anyhow::{Context, Result};

pub use lock::{Busy, Lock};
pub use place::{check_owner, header, is_journal_of, journals_of, read_all, Place};
pub use timed::{each_journal, settled_times, Timed};
pub use writer::{Journal, WriteFailed, SYNC_EVERY};

/// What happened to a reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The relay accepted the message: never send it again.
    Accepted,
    /// The relay refused it permanently (5xx): retried only on request.
    Failed,
    /// Temporary failures used up every attempt: retried by the next run.
    Deferred,
}

impl Outcome {
    /// The word in the journal.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Failed => "failed",
            Outcome::Deferred => "deferred",
        }
    }

    fn parse(word: &str) -> Option<Outcome> {
        match word {
            "accepted" => Some(Outcome::Accepted),
            "failed" => Some(Outcome::Failed),
            "deferred" => Some(Outcome::Deferred),
            _ => None,
        }
    }
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The reader's address.
    pub address: String,
    /// What happened.
    pub outcome: Outcome,
    /// How many attempts it took.
    pub attempts: u32,
    /// The relay's reply (or the network error).
    pub reply: String,
    /// The relay that gave it (`[[smtp]]`'s name, else `host:port`); none
    /// in a dry run's journal and in journals older than relays.
    pub relay: Option<String>,
    /// Milliseconds from handing the message over to its acceptance.
    pub accept_ms: Option<u32>,
}

impl Record {
    /// A record with no relay named and no time to accept.
    pub fn new(address: String, outcome: Outcome, attempts: u32, reply: String) -> Record {
        Record {
            address,
            outcome,
            attempts,
            reply,
            relay: None,
            accept_ms: None,
        }
    }

    fn line(&self, at: SystemTime) -> String {
        let reply: String = self
            .reply
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .replace('\\', "\\\\")
            .replace('"', "\\\"");
        let mut relay = String::new();
        if let Some(name) = &self.relay {
            relay = format!("relay={} ", encode_address(name));
        }
        if let Some(ms) = self.accept_ms {
            relay.push_str(&format!("ms={ms} "));
        }
        format!(
            "{} {} {} attempts={} {relay}reply=\"{reply}\"\n",
            crate::time::rfc3339(at),
            self.outcome.word(),
            encode_address(&self.address),
            self.attempts
        )
    }

    fn parse(line: &str) -> Option<Record> {
        let mut fields = line.splitn(5, ' ');
        let _time = fields.next()?;
        let outcome = Outcome::parse(fields.next()?)?;
        let address = decode_address(fields.next()?);
        let attempts = fields.next()?.strip_prefix("attempts=")?.parse().ok()?;
        let mut rest = fields.next()?;
        let mut relay = None;
        let mut accept_ms = None;
        // Optional fields before the reply, each `key=value `.
        while !rest.starts_with("reply=") {
            let (field, after) = rest.split_once(' ')?;
            match field.split_once('=')? {
                ("relay", name) => relay = Some(decode_address(name)),
                ("ms", ms) => accept_ms = ms.parse().ok(),
                _ => {}
            }
            rest = after;
        }
        let reply = rest.strip_prefix("reply=\"")?.strip_suffix('"')?;
        let reply = reply.replace("\\\"", "\"").replace("\\\\", "\\");
        Some(Record {
            address,
            outcome,
            attempts,
            reply,
            relay,
            accept_ms,
        })
    }
}

/// Spaces and quotes are legal in quoted local parts: keep a line splittable.
fn encode_address(address: &str) -> String {
    address
        .replace('%', "%25")
        .replace(' ', "%20")
        .replace('"', "%22")
}

fn decode_address(field: &str) -> String {
    field
        .replace("%22", "\"")
        .replace("%20", " ")
        .replace("%25", "%")
}

/// The last outcome of every reader the journal knows, by address identity.
pub type State = HashMap<String, Record>;

/// Reads a journal; a missing file is an empty state.
pub fn read(path: &Path) -> Result<State> {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::new()),
        Err(e) => {
            return Err(e).with_context(|| format!("{}: cannot read the journal", path.display()))
        }
    };
    let mut state = State::new();
    let complete = match text.iter().rposition(|b| *b == b'\n') {
        Some(end) => &text[..=end],
        None => &text[..0],
    };
    for (index, line) in String::from_utf8_lossy(complete).lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some(record) = Record::parse(line) else {
            return Err(crate::error::Located::line(path, index + 1, format!("not a journal record: {line}"))
                .help("the journal is written by letterpress only; restore it or move it away to start the send afresh")
                .into());
        };
        state.insert(crate::list::identity(&record.address), record);
    }
    Ok(state)
}

/// Puts `pseudonym` in place of the address of every record of the reader
/// `key` (an identity) in the journal at `path`, which is written anew
/// (synced, renamed over the old) when any record changed; a torn last
/// line goes with it. The caller holds the issue's lock. How many records
/// changed.
pub fn erase(path: &Path, key: &str, pseudonym: &str) -> Result<usize> {
    let text = std::fs::read(path)
        .with_context(|| format!("{}: cannot read the journal", path.display()))?;
    let complete = match text.iter().rposition(|b| *b == b'\n') {
        Some(end) => &text[..=end],
        None => &text[..0],
    };
    let mut out = Vec::with_capacity(complete.len());
    let mut changed = 0;
    for line in complete.split_inclusive(|b| *b == b'\n') {
        let fields: Vec<&[u8]> = line.splitn(4, |b| *b == b' ').collect();
        let theirs = match (line.first(), fields.as_slice()) {
            (Some(b'#'), _) => false,
            (_, [_, _, address, _]) => {
                crate::list::identity(&decode_address(&String::from_utf8_lossy(address))) == key
            }
            _ => false,
        };
        if !theirs {
            out.extend_from_slice(line);
            continue;
        }
        changed += 1;
        out.extend_from_slice(fields[0]);
        out.push(b' ');
        out.extend_from_slice(fields[1]);
        out.push(b' ');
        out.extend_from_slice(pseudonym.as_bytes());
        out.push(b' ');
        out.extend_from_slice(fields[3]);
    }
    if changed > 0 || complete.len() != text.len() {
        crate::fs::write_atomic(path, &out)?;
    }
    Ok(changed)
}

/// The lock that guards the journal at `path`: its issue's
/// (`<name>.lock` for `<name>.journal` and `<name>.shard-K-of-N.journal`).
pub fn lock_of(path: &Path) -> Option<std::path::PathBuf> {
    let file = path.file_name()?.to_str()?;
    let stem = file.strip_suffix(".journal")?;
    let name = match stem.rsplit_once(".shard-") {
        Some((name, _)) if is_journal_of(file, name) => name,
        _ => stem,
    };
    Some(path.with_file_name(format!("{name}.lock")))
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::Duration;

    use super::writer::Sink;
    use super::*;

    fn record(address: &str, outcome: Outcome) -> Record {
        Record {
            address: address.into(),
            outcome,
            attempts: 1,
            reply: "250 2.0.0 \"Ok\" \\ queued".into(),
            relay: None,
            accept_ms: None,
        }
    }

    #[test]
    fn records_round_trip_and_last_outcome_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("issue.journal");
        let journal = Journal::open(&path, "test journal").unwrap();
        assert!(journal.append(&record("a@example.com", Outcome::Deferred)));
        assert!(journal.append(&record("\"odd name\"@example.com", Outcome::Failed)));
        assert!(journal.append(&record("A@example.com", Outcome::Accepted)));
        journal.close().unwrap();
        let state = read(&path).unwrap();
        assert_eq!(state.len(), 2);
        assert_eq!(state["a@example.com"].outcome, Outcome::Accepted);
        assert_eq!(state["a@example.com"].reply, "250 2.0.0 \"Ok\" \\ queued");
        assert_eq!(state["\"odd name\"@example.com"].outcome, Outcome::Failed);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# test journal\n"));
        assert!(text
            .lines()
            .nth(1)
            .unwrap()
            .contains(" deferred a@example.com attempts=1 reply="));
    }

    #[test]
    fn the_relay_and_the_time_to_accept_round_trip_and_old_lines_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("issue.journal");
        let journal = Journal::open(&path, "test journal").unwrap();
        let mut accepted = record("b@example.com", Outcome::Accepted);
        accepted.relay = Some("esp-2 eu:587".into());
        accepted.accept_ms = Some(42);
        assert!(journal.append(&accepted));
        journal.close().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(" attempts=1 relay=esp-2%20eu:587 ms=42 reply=\"250"),
            "{text}"
        );
        let old = "2026-11-27T09:00:01Z accepted a@example.com attempts=1 reply=\"250 ok\"\n";
        std::fs::write(&path, format!("{text}{old}")).unwrap();
        let state = read(&path).unwrap();
        let b = &state["b@example.com"];
        assert_eq!(
            (b.relay.as_deref(), b.accept_ms),
            (Some("esp-2 eu:587"), Some(42))
        );
        assert_eq!(b.reply, "250 2.0.0 \"Ok\" \\ queued");
        let a = &state["a@example.com"];
        assert_eq!(
            (a.relay.as_deref(), a.accept_ms, a.reply.as_str()),
            (None, None, "250 ok")
        );
    }

    #[test]
    fn an_erased_reader_keeps_a_pseudonym_in_every_record_and_the_rest_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("issue.journal");
        let journal = Journal::open(&path, "test journal").unwrap();
        assert!(journal.append(&record("Gone.Reader@Example.com", Outcome::Deferred)));
        assert!(journal.append(&record("stay@example.com", Outcome::Accepted)));
        assert!(journal.append(&record("gone.reader@example.com", Outcome::Accepted)));
        journal.close().unwrap();
        let who = "erased:0123456789abcdef0123456789abcdef";
        assert_eq!(erase(&path, "gone.reader@example.com", who).unwrap(), 2);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.to_lowercase().contains("gone.reader"), "{text}");
        let state = read(&path).unwrap();
        assert_eq!(state[who].outcome, Outcome::Accepted);
        assert_eq!(
            state["stay@example.com"].reply,
            "250 2.0.0 \"Ok\" \\ queued"
        );
        assert_eq!(erase(&path, "gone.reader@example.com", who).unwrap(), 0);
        assert_eq!(
            lock_of(&dir.path().join("a.b.shard-1-of-2.journal")),
            Some(dir.path().join("a.b.lock"))
        );
        assert_eq!(lock_of(&path), Some(dir.path().join("issue.lock")));
    }

    #[test]
    fn a_torn_last_record_is_ignored_and_closed_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("issue.journal");
        std::fs::write(
            &path,
            "# j\n2026-11-27T09:00:01Z accepted a@example.com attempts=1 reply=\"250 ok\"\n2026-11-27T09:00:02Z accepted b@exa",
        )
        .unwrap();
        let state = read(&path).unwrap();
        assert_eq!(state.len(), 1);
        assert!(state.contains_key("a@example.com"));
        let journal = Journal::open(&path, "j").unwrap();
        assert!(journal.append(&record("c@example.com", Outcome::Accepted)));
        journal.close().unwrap();
        let state = read(&path).unwrap();
        assert_eq!(state.len(), 2, "{:?}", std::fs::read_to_string(&path));
    }

    #[test]
    fn a_damaged_record_in_the_middle_is_an_error_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("issue.journal");
        std::fs::write(
            &path,
            "# j\nnonsense\n2026-11-27T09:00:01Z accepted a@example.com attempts=1 reply=\"\"\n",
        )
        .unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(
            err.contains("issue.journal:2: not a journal record"),
            "{err}"
        );
    }

    #[test]
    fn a_state_folder_that_cannot_be_read_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        std::fs::write(&state, "a file, not a folder").unwrap();
        let error = format!("{:#}", journals_of(&state, "issue").unwrap_err());
        assert!(
            error.starts_with(&format!(
                "{}: cannot read the state folder",
                state.display()
            )),
            "{error}"
        );
        assert!(journals_of(&dir.path().join("none"), "issue")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_second_lock_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("issue.lock");
        let first = Lock::take(&path).unwrap();
        let err = Lock::take(&path).err().unwrap().to_string();
        assert!(
            err.contains("another letterpress send of this issue is running"),
            "{err}"
        );
        drop(first);
        // Another test's child process, forked before it ran exec, may
        // still share the lock's open file for a moment.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while let Err(e) = Lock::take(&path) {
            assert!(std::time::Instant::now() < deadline, "{e:#}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A sink that takes `room` bytes, then fails like a full disk.
    struct Full {
        written: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
        room: usize,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut written = self.written.lock().unwrap();
            if written.len() + buf.len() > self.room {
                return Err(std::io::Error::new(std::io::ErrorKind::StorageFull, "full"));
            }
            written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Sink for Full {
        fn sync(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_record_is_acknowledged_once_written_and_never_when_the_write_fails() {
        let written = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let line = record("a@example.com", Outcome::Accepted)
            .line(SystemTime::UNIX_EPOCH)
            .len();
        let sink = Full {
            written: written.clone(),
            room: line * 2,
        };
        let failed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let told = failed.clone();
        let journal = Journal::with_sink(Path::new("j"), Box::new(sink), move || {
            told.store(true, std::sync::atomic::Ordering::SeqCst)
        });
        let acks: Vec<bool> = ["a@example.com", "b@example.com", "c@example.com"]
            .iter()
            .map(|address| journal.append(&record(address, Outcome::Accepted)))
            .collect();
        assert_eq!(
            acks,
            [true, true, false],
            "only written records are acknowledged"
        );
        assert!(failed.load(std::sync::atomic::Ordering::SeqCst));
        let err = journal.close().unwrap_err();
        let failed = err.downcast_ref::<WriteFailed>().expect("a WriteFailed");
        assert!(failed.lost >= 1, "{failed}");
        let text = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 2);
    }

    /// Counts what was written when each sync came.
    struct Counting {
        lines: usize,
        synced_at: std::sync::Arc<std::sync::Mutex<Vec<usize>>>,
    }

    impl Write for Counting {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.lines += buf.iter().filter(|&&b| b == b'\n').count();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Sink for Counting {
        fn sync(&mut self) -> std::io::Result<()> {
            self.synced_at.lock().unwrap().push(self.lines);
            Ok(())
        }
    }

    #[test]
    fn syncs_are_grouped_and_the_last_record_is_synced_before_the_end() {
        let synced_at = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = Counting {
            lines: 0,
            synced_at: synced_at.clone(),
        };
        let journal = Journal::with_sink(Path::new("j"), Box::new(sink), || {});
        // A record a millisecond, as a fast send on one connection makes them.
        for i in 0..200 {
            assert!(journal.append(&record(&format!("r{i}@example.com"), Outcome::Accepted)));
            std::thread::sleep(Duration::from_millis(1));
        }
        journal.close().unwrap();
        let syncs = synced_at.lock().unwrap().clone();
        assert!(
            syncs.len() >= 2 && syncs.len() <= 200 * 5 / SYNC_EVERY.as_millis() as usize,
            "{} syncs for 200 records over about 200 ms: {syncs:?}",
            syncs.len()
        );
        assert_eq!(syncs.last(), Some(&200), "the end waits for the disk");
    }
}
