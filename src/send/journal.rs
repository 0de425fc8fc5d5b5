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
use std::time::{Duration, SystemTime};

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

/// A record on its way to the journal, with who to tell once it is written.
#[derive(Debug)]
pub struct Pending {
    /// The record.
    pub record: Record,
    /// Told when the record is written to the file (not yet synced): the
    /// worker that sent it waits for this before it takes its next reader,
    /// so a journal that stops accepting writes loses at most one record
    /// per connection.
    pub written: Option<tokio::sync::oneshot::Sender<()>>,
}

impl From<Record> for Pending {
    fn from(record: Record) -> Pending {
        Pending {
            record,
            written: None,
        }
    }
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
        state.insert(crate::subscribers::identity(&record.address), record);
    }
    Ok(state)
}

/// One record of a journal, with its time: what the bounce policy and
/// `check`'s list figures read.
#[derive(Debug, Clone)]
pub struct Timed {
    /// When the outcome was known, in seconds since 1970.
    pub at: i64,
    /// The reader's identity.
    pub key: String,
    /// What happened.
    pub outcome: Outcome,
    /// The relay's reply.
    pub reply: String,
}

/// Calls `each` with the name of every journal in `dir` (the file name
/// without `.journal`) written to since `since`, and each of its records in
/// file order, one line at a time (torn last lines and lines that are not
/// records left out). A journal last written before `since` holds nothing
/// newer, so it is not read: a state folder of years of sends costs only
/// the recent ones.
pub fn each_journal(
    dir: &Path,
    since: std::time::SystemTime,
    mut each: impl FnMut(&str, Timed),
) -> Result<()> {
    use std::io::BufRead;
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot read", dir.display())),
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "journal"))
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .map_or(true, |m| m >= since)
        })
        .map(|e| e.path())
        .collect();
    paths.sort();
    for path in paths {
        let file = File::open(&path)
            .with_context(|| format!("{}: cannot read the journal", path.display()))?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut reader = std::io::BufReader::new(file);
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = reader
                .read_until(b'\n', &mut line)
                .with_context(|| format!("{}: cannot read the journal", path.display()))?;
            // The end, or a torn last line (no newline): done.
            if read == 0 || line.last() != Some(&b'\n') {
                break;
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches('\n');
            if text.starts_with('#') {
                continue;
            }
            let parsed = text
                .split(' ')
                .next()
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .zip(Record::parse(text));
            if let Some((at, record)) = parsed {
                each(
                    &name,
                    Timed {
                        at: at.as_second(),
                        key: crate::subscribers::identity(&record.address),
                        outcome: record.outcome,
                        reply: record.reply,
                    },
                );
            }
        }
    }
    Ok(())
}

/// Where an issue's journals and locks live, and whose they are.
#[derive(Debug, Clone)]
pub struct Place {
    /// `state_dir`.
    pub dir: PathBuf,
    /// The file name stem: the issue folder's name for an issue in the
    /// project's `issues/`; for one elsewhere, the name and a hash of its
    /// path, so that two folders of one name never share a journal.
    pub name: String,
    /// The issue's folder, relative to the project for one in `issues/`:
    /// written into the journal's header and checked on every run.
    pub owner: String,
    /// `--shard K/N`.
    pub shard: Option<(u32, u32)>,
}

impl Place {
    /// The place of the issue in `issue_dir` of the project in `project_dir`.
    pub fn new(
        state_dir: PathBuf,
        project_dir: &Path,
        issue_dir: &Path,
        shard: Option<(u32, u32)>,
    ) -> Place {
        let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let issues = real(&crate::config::issues_dir(project_dir));
        let dir = real(issue_dir);
        let folder = dir
            .file_name()
            .map_or_else(|| "issue".into(), |n| n.to_string_lossy().into_owned());
        let (name, owner) = if dir.parent() == Some(issues.as_path()) {
            (folder.clone(), format!("issues/{folder}"))
        } else {
            use sha2::Digest;
            let owner = dir.display().to_string();
            let digest = sha2::Sha256::digest(owner.as_bytes());
            let hash: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
            (format!("{folder}-{hash}"), owner)
        };
        Place {
            dir: state_dir,
            name,
            owner,
            shard,
        }
    }

    fn stem(&self) -> String {
        match self.shard {
            Some((k, n)) => format!("{}.shard-{k}-of-{n}", self.name),
            None => self.name.clone(),
        }
    }

    /// This run's journal.
    pub fn journal(&self) -> PathBuf {
        self.dir.join(format!("{}.journal", self.stem()))
    }

    /// The outcomes this run must respect: those of every journal of the
    /// issue (plain and every shard split), each checked to be this issue's.
    pub fn state(&self) -> Result<State> {
        let paths = journals_of(&self.dir, &self.name)?;
        for path in &paths {
            check_owner(path, &self.owner)?;
        }
        read_all(&paths)
    }

    /// The locks of this run: the issue's lock, exclusive for a plain send
    /// and shared among shards, and a shard's own lock.
    pub fn lock(&self) -> Result<Vec<Lock>> {
        let issue = self.dir.join(format!("{}.lock", self.name));
        match self.shard {
            None => Ok(vec![Lock::take(&issue)?]),
            Some(_) => Ok(vec![
                Lock::take_shared(&issue)?,
                Lock::take(&self.dir.join(format!("{}.lock", self.stem())))?,
            ]),
        }
    }
}

/// The line of a journal's header that names the issue it belongs to.
const OWNER: &str = "# issue: ";

/// The header of a new journal: a title and the issue it belongs to.
pub fn header(subject: &str, owner: &str) -> String {
    format!("letterpress delivery journal of \"{subject}\"\n{OWNER}{owner}")
}

/// Fails when the journal at `path` was written for another issue than
/// `owner` (two issue folders of the same name elsewhere). Journals from
/// before the owner was written down are taken as they are.
pub fn check_owner(path: &Path, owner: &str) -> Result<()> {
    let Ok(file) = File::open(path) else {
        return Ok(());
    };
    use std::io::BufRead;
    let lines = std::io::BufReader::new(file).lines().take(8);
    for line in lines.map_while(std::result::Result::ok) {
        if !line.starts_with('#') {
            break;
        }
        if let Some(theirs) = line.strip_prefix(OWNER) {
            if theirs != owner {
                bail!(
                    "{}: this journal belongs to the issue {theirs}, not to {owner}; the two folders have the same name\n  help: rename one of the issue folders, or move the journal away if {theirs} no longer exists",
                    path.display()
                );
            }
        }
    }
    Ok(())
}

/// Whether `file_name` is a journal of the issue journaled as `name`:
/// `<name>.journal` or `<name>.shard-K-of-N.journal`, exactly.
pub fn is_journal_of(file_name: &str, name: &str) -> bool {
    let Some(rest) = file_name
        .strip_prefix(name)
        .and_then(|r| r.strip_suffix(".journal"))
    else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let Some(shard) = rest.strip_prefix(".shard-") else {
        return false;
    };
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    shard
        .split_once("-of-")
        .is_some_and(|(k, n)| number(k) && number(n))
}

/// Every journal of the issue journaled as `name` in `dir`: the plain one
/// and those of every shard split, so that sends of the same issue with
/// and without `--shard` see each other's outcomes.
/// A state folder that cannot be read is an error: taken for empty, every
/// reader already sent would be sent again.
pub fn journals_of(dir: &Path, name: &str) -> Result<Vec<PathBuf>> {
    let cannot = || format!("{}: cannot read the state folder", dir.display());
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(cannot),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.with_context(cannot)?;
        if is_journal_of(&entry.file_name().to_string_lossy(), name) {
            paths.push(entry.path());
        }
    }
    paths.sort();
    Ok(paths)
}

/// The outcomes of several journals of one issue: a reader accepted in any
/// of them is accepted; one refused in any (and accepted in none) failed.
pub fn read_all(paths: &[PathBuf]) -> Result<State> {
    let rank = |o: Outcome| match o {
        Outcome::Accepted => 2,
        Outcome::Failed => 1,
        Outcome::Deferred => 0,
    };
    let mut merged = State::new();
    for path in paths {
        for (key, record) in read(path)? {
            match merged.get(&key) {
                Some(known) if rank(known.outcome) >= rank(record.outcome) => {}
                _ => {
                    merged.insert(key, record);
                }
            }
        }
    }
    Ok(merged)
}

/// An open journal. Records go to a writer thread that appends each line
/// with one `write` and syncs the file to disk whenever it has caught up,
/// so a burst of outcomes costs one sync, not one each.
pub struct Journal {
    path: PathBuf,
    sender: Option<mpsc::Sender<Pending>>,
    writer: Option<std::thread::JoinHandle<Written>>,
}

/// What the writer thread did: records on disk, and the first error with
/// the number of records it could not write after it.
struct Written {
    error: Option<std::io::Error>,
    lost: usize,
}

/// The journal could not be written: the send must stop, and these
/// readers' outcomes are not on disk.
#[derive(Debug)]
pub struct WriteFailed {
    /// The journal.
    pub path: PathBuf,
    /// The I/O error.
    pub error: std::io::Error,
    /// Outcomes known but not written (those readers may be sent again).
    pub lost: usize,
}

impl std::fmt::Display for WriteFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: cannot write the journal: {}; the send stopped taking readers, and the outcomes of {} reader{} could not be recorded (a resumed send may mail them again)",
            self.path.display(),
            self.error,
            self.lost,
            if self.lost == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for WriteFailed {}

impl Journal {
    /// Opens `path` for appending, writing `header` (a comment) when new.
    #[cfg(test)]
    pub fn open(path: &Path, header: &str) -> Result<Journal> {
        Journal::open_watched(path, header, || {})
    }

    /// Opens the journal like `Journal::open`; `on_failure` is called, from the writer
    /// thread, the moment a write or sync fails, so that the send stops
    /// taking readers at once.
    pub fn open_watched(
        path: &Path,
        header: &str,
        on_failure: impl Fn() + Send + 'static,
    ) -> Result<Journal> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create the state folder", dir.display()))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("{}: cannot open the journal", path.display()))?;
        // A torn last line from a crash was never a record: cut it off, so
        // the next record starts on a line of its own. The send's lock is
        // held, so no other writer appends meanwhile.
        let at = |what: &'static str| move || format!("{}: cannot {what}", path.display());
        let len = crate::fs::cut_torn_tail(&file)
            .with_context(at("read the journal or cut its torn last line"))?;
        if len == 0 {
            file.write_all(format!("# {header}\n").as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(at("write the journal's header"))?;
        }
        let (sender, receiver) = mpsc::channel::<Pending>();
        let writer = std::thread::spawn(move || write_loop(Box::new(file), receiver, on_failure));
        Ok(Journal {
            path: path.to_path_buf(),
            sender: Some(sender),
            writer: Some(writer),
        })
    }

    /// A handle for the delivery tasks.
    pub fn sender(&self) -> mpsc::Sender<Pending> {
        self.sender.clone().expect("open until closed")
    }

    /// Writes what is queued, syncs and closes the file. The error is a
    /// [`WriteFailed`] when a write failed.
    pub fn close(mut self) -> Result<()> {
        self.finish()
    }

    fn finish(&mut self) -> Result<()> {
        drop(self.sender.take());
        if let Some(writer) = self.writer.take() {
            let written = writer
                .join()
                .map_err(|_| anyhow::anyhow!("the journal writer panicked"))?;
            if let Some(error) = written.error {
                return Err(WriteFailed {
                    path: self.path.clone(),
                    error,
                    lost: written.lost,
                }
                .into());
            }
        }
        Ok(())
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Where the writer puts records: the file, or in unit tests a writer that
/// fails.
trait Sink: Write + Send {
    fn sync(&mut self) -> std::io::Result<()>;
}

impl Sink for File {
    fn sync(&mut self) -> std::io::Result<()> {
        self.sync_data()
    }
}

/// How long a written record may wait for the disk: the writer syncs
/// once it has caught up and this long has passed since its last sync, so
/// a fast send pays one sync per interval, not one per reader.
pub const SYNC_EVERY: Duration = Duration::from_millis(50);

/// Writes records as they come (one `write` each, so a crash of the
/// process loses none) and syncs when it has caught up, at most once per
/// [`SYNC_EVERY`] and always before it ends. After the first failure
/// nothing more is written (a later record on a line of its own could
/// follow a torn one); the rest are counted as lost.
fn write_loop(
    mut sink: Box<dyn Sink>,
    receiver: mpsc::Receiver<Pending>,
    on_failure: impl Fn(),
) -> Written {
    let mut unsynced = 0;
    let mut result = Ok(());
    let mut synced_at = std::time::Instant::now();
    let write = |sink: &mut Box<dyn Sink>, pending: Pending| {
        let written = sink.write_all(pending.record.line(SystemTime::now()).as_bytes());
        if let (Ok(()), Some(tell)) = (&written, pending.written) {
            let _ = tell.send(());
        }
        written
    };
    loop {
        let next = match unsynced {
            0 => receiver
                .recv()
                .map_err(|_| mpsc::RecvTimeoutError::Disconnected),
            _ => receiver.recv_timeout(SYNC_EVERY.saturating_sub(synced_at.elapsed())),
        };
        match next {
            Ok(pending) => {
                unsynced += 1;
                result = write(&mut sink, pending);
                while result.is_ok() {
                    let Ok(pending) = receiver.try_recv() else {
                        break;
                    };
                    unsynced += 1;
                    result = write(&mut sink, pending);
                }
                if result.is_ok() && synced_at.elapsed() < SYNC_EVERY {
                    continue;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) if unsynced == 0 => break,
            Err(mpsc::RecvTimeoutError::Disconnected) => {}
        }
        result = result.and_then(|()| sink.sync());
        if result.is_err() {
            break;
        }
        (unsynced, synced_at) = (0, std::time::Instant::now());
    }
    let batch = unsynced;
    let Err(error) = result else {
        return Written {
            error: None,
            lost: 0,
        };
    };
    on_failure();
    // Records not yet synced may not be on disk: count them, and every
    // record that still comes, as lost.
    let lost = batch + receiver.iter().count();
    Written {
        error: Some(error),
        lost,
    }
}

/// Another send holds an issue's lock.
#[derive(Debug)]
pub struct Busy(pub PathBuf);

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "another letterpress send of this issue is running (it holds {})\n  help: wait for it to finish; a send that was killed releases the lock by itself",
            self.0.display()
        )
    }
}

impl std::error::Error for Busy {}

/// An exclusive lock on a file next to the journal, held while it lives.
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock, or fails at once with a message if another send holds it.
    pub fn take(path: &Path) -> Result<Lock> {
        Lock::take_as(path, false)
    }

    /// Takes the lock shared with other holders of a shared lock (shards
    /// of one issue), but never with an exclusive holder.
    pub fn take_shared(path: &Path) -> Result<Lock> {
        Lock::take_as(path, true)
    }

    fn take_as(path: &Path, shared: bool) -> Result<Lock> {
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
        let taken = if shared {
            file.try_lock_shared()
        } else {
            file.try_lock()
        };
        match taken {
            Ok(()) => Ok(Lock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Busy(path.to_path_buf()).into()),
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
            .send(record("a@example.com", Outcome::Deferred).into())
            .unwrap();
        sender
            .send(record("\"odd name\"@example.com", Outcome::Failed).into())
            .unwrap();
        sender
            .send(record("A@example.com", Outcome::Accepted).into())
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
            .send(record("c@example.com", Outcome::Accepted).into())
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
        Lock::take(&path).unwrap();
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
        let (sender, receiver) = mpsc::channel::<Pending>();
        let mut acks = Vec::new();
        for address in ["a@example.com", "b@example.com", "c@example.com"] {
            let (tell, ack) = tokio::sync::oneshot::channel();
            sender
                .send(Pending {
                    record: record(address, Outcome::Accepted),
                    written: Some(tell),
                })
                .unwrap();
            acks.push(ack);
        }
        drop(sender);
        let failed = std::sync::atomic::AtomicBool::new(false);
        let outcome = write_loop(Box::new(sink), receiver, || {
            failed.store(true, std::sync::atomic::Ordering::SeqCst)
        });
        assert!(outcome.error.is_some());
        assert!(failed.load(std::sync::atomic::Ordering::SeqCst));
        let told: Vec<bool> = acks.into_iter().map(|mut a| a.try_recv().is_ok()).collect();
        assert_eq!(
            told,
            [true, true, false],
            "only written records are acknowledged"
        );
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
        let (sender, receiver) = mpsc::channel::<Pending>();
        let writer = std::thread::spawn(move || write_loop(Box::new(sink), receiver, || {}));
        // A record a millisecond, as a fast send on one connection makes them.
        for i in 0..200 {
            let record = record(&format!("r{i}@example.com"), Outcome::Accepted);
            sender
                .send(Pending {
                    record,
                    written: None,
                })
                .unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(sender);
        assert!(writer.join().unwrap().error.is_none());
        let syncs = synced_at.lock().unwrap().clone();
        assert!(
            syncs.len() >= 2 && syncs.len() <= 200 * 5 / SYNC_EVERY.as_millis() as usize,
            "{} syncs for 200 records over about 200 ms: {syncs:?}",
            syncs.len()
        );
        assert_eq!(syncs.last(), Some(&200), "the end waits for the disk");
    }
}
