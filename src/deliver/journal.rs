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

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};

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
    fn word(self) -> &'static str {
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
}

impl Record {
    fn line(&self, at: SystemTime) -> String {
        let reply: String = self
            .reply
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .replace('\\', "\\\\")
            .replace('"', "\\\"");
        format!(
            "{} {} {} attempts={} reply=\"{reply}\"\n",
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
        let reply = fields.next()?.strip_prefix("reply=\"")?.strip_suffix('"')?;
        let reply = reply.replace("\\\"", "\"").replace("\\\\", "\\");
        Some(Record {
            address,
            outcome,
            attempts,
            reply,
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

/// The last outcome of every reader the journal knows, by lowercased address.
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
            bail!(
                "{}:{}: error: not a journal record: {line}\n  help: the journal is written by letterpress only; restore it or move it away to start the send afresh",
                path.display(),
                index + 1
            );
        };
        state.insert(record.address.to_lowercase(), record);
    }
    Ok(state)
}

/// An open journal. Records go to a writer thread that appends each line
/// with one `write` and syncs the file to disk whenever it has caught up,
/// so a burst of outcomes costs one sync, not one each.
pub struct Journal {
    path: PathBuf,
    sender: Option<mpsc::Sender<Record>>,
    writer: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Journal {
    /// Opens `path` for appending, writing `header` (a comment) when new.
    pub fn open(path: &Path, header: &str) -> Result<Journal> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create the state folder", dir.display()))?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("{}: cannot open the journal", path.display()))?;
        if file.metadata()?.len() == 0 {
            file.write_all(format!("# {header}\n").as_bytes())?;
            file.sync_all()?;
        } else {
            // A torn last line from a crash was never a record: cut it off,
            // so the next record starts on a line of its own.
            let text = std::fs::read(path)?;
            if !text.ends_with(b"\n") {
                let keep = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
                file.set_len(keep as u64)?;
                file.sync_all()?;
            }
        }
        let (sender, receiver) = mpsc::channel::<Record>();
        let writer = std::thread::spawn(move || write_loop(file, receiver));
        Ok(Journal {
            path: path.to_path_buf(),
            sender: Some(sender),
            writer: Some(writer),
        })
    }

    /// A handle for the delivery tasks.
    pub fn sender(&self) -> mpsc::Sender<Record> {
        self.sender.clone().expect("open until closed")
    }

    /// Writes what is queued, syncs and closes the file.
    pub fn close(mut self) -> Result<()> {
        self.finish()
    }

    fn finish(&mut self) -> Result<()> {
        drop(self.sender.take());
        if let Some(writer) = self.writer.take() {
            writer
                .join()
                .map_err(|_| anyhow::anyhow!("the journal writer panicked"))?
                .with_context(|| format!("{}: cannot write the journal", self.path.display()))?;
        }
        Ok(())
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

fn write_loop(mut file: File, receiver: mpsc::Receiver<Record>) -> std::io::Result<()> {
    while let Ok(record) = receiver.recv() {
        file.write_all(record.line(SystemTime::now()).as_bytes())?;
        while let Ok(record) = receiver.try_recv() {
            file.write_all(record.line(SystemTime::now()).as_bytes())?;
        }
        file.sync_data()?;
    }
    Ok(())
}

/// An exclusive lock on a file next to the journal, held while it lives.
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock, or fails at once with a message if another send holds it.
    pub fn take(path: &Path) -> Result<Lock> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create the state folder", dir.display()))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .with_context(|| format!("{}: cannot open the lock file", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Lock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => bail!(
                "another letterpress send of this issue is running (it holds {})\n  help: wait for it to finish; a send that was killed releases the lock by itself",
                path.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("{}: cannot lock", path.display()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(address: &str, outcome: Outcome) -> Record {
        Record {
            address: address.into(),
            outcome,
            attempts: 1,
            reply: "250 2.0.0 \"Ok\" \\ queued".into(),
        }
    }

    #[test]
    fn records_round_trip_and_last_outcome_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("issue.journal");
        let journal = Journal::open(&path, "test journal").unwrap();
        let sender = journal.sender();
        sender
            .send(record("a@example.com", Outcome::Deferred))
            .unwrap();
        sender
            .send(record("\"odd name\"@example.com", Outcome::Failed))
            .unwrap();
        sender
            .send(record("A@example.com", Outcome::Accepted))
            .unwrap();
        drop(sender);
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
        journal
            .sender()
            .send(record("c@example.com", Outcome::Accepted))
            .unwrap();
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
            err.contains("issue.journal:2: error: not a journal record"),
            "{err}"
        );
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
        Lock::take(&path).unwrap();
    }
}
