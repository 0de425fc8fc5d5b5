//! The journal open for a send: each record written by the connection
//! that knows it, synced in batches.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

use super::Record;

/// An open journal. Each record is appended with one `write` by the
/// connection that knows the outcome, before it takes its next reader, so
/// a crash of the process loses none; a syncer thread flushes the file to
/// disk at most once per [`SYNC_EVERY`] while records come, and once more
/// at the end, so a burst of outcomes costs one sync, not one each, and no
/// record waits for another thread.
pub struct Journal {
    path: PathBuf,
    shared: Arc<Shared>,
    syncer: Option<std::thread::JoinHandle<()>>,
}

/// What the connections and the syncer share.
struct Shared {
    state: Mutex<State>,
    /// Wakes the syncer when the journal closes.
    closing: Condvar,
    /// Called once, the moment a write or sync fails.
    on_failure: Box<dyn Fn() + Send + Sync>,
}

/// The file and what has happened to it.
struct State {
    sink: Box<dyn Sink>,
    /// Records written since the last sync.
    unsynced: usize,
    /// The first failure; after it nothing more is written.
    error: Option<std::io::Error>,
    /// Records that may not be on disk: those not synced when the failure
    /// came, and every record after it.
    lost: usize,
    closed: bool,
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
    pub fn open(path: &Path, header: &str) -> Result<Journal> {
        Journal::open_watched(path, header, || {})
    }

    /// Opens the journal like `Journal::open`; `on_failure` is called the
    /// moment a write or sync fails, so that the send stops taking readers
    /// at once.
    pub fn open_watched(
        path: &Path,
        header: &str,
        on_failure: impl Fn() + Send + Sync + 'static,
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
        Ok(Journal::with_sink(path, Box::new(file), on_failure))
    }

    /// A journal over `sink` with its syncer running.
    pub(super) fn with_sink(
        path: &Path,
        sink: Box<dyn Sink>,
        on_failure: impl Fn() + Send + Sync + 'static,
    ) -> Journal {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                sink,
                unsynced: 0,
                error: None,
                lost: 0,
                closed: false,
            }),
            closing: Condvar::new(),
            on_failure: Box::new(on_failure),
        });
        let syncing = shared.clone();
        let syncer = std::thread::spawn(move || sync_loop(&syncing));
        Journal {
            path: path.to_path_buf(),
            shared,
            syncer: Some(syncer),
        }
    }

    /// Appends `record` with one `write`; whether it was written (after a
    /// failure nothing is, and the record is counted as lost).
    pub fn append(&self, record: &Record) -> bool {
        let line = record.line(SystemTime::now());
        let mut state = self.shared.state.lock().expect("journal");
        if state.error.is_some() {
            state.lost += 1;
            return false;
        }
        state.unsynced += 1;
        if let Err(e) = state.sink.write_all(line.as_bytes()) {
            // Records not yet synced may not be on disk either.
            state.lost = state.unsynced;
            state.error = Some(e);
            drop(state);
            (self.shared.on_failure)();
            return false;
        }
        true
    }

    /// Syncs what was written and closes the file. The error is a
    /// [`WriteFailed`] when a write or sync failed.
    pub fn close(mut self) -> Result<()> {
        self.finish()
    }

    fn finish(&mut self) -> Result<()> {
        let Some(syncer) = self.syncer.take() else {
            return Ok(());
        };
        self.shared.state.lock().expect("journal").closed = true;
        self.shared.closing.notify_all();
        syncer
            .join()
            .map_err(|_| anyhow::anyhow!("the journal's syncer panicked"))?;
        let mut state = self.shared.state.lock().expect("journal");
        match state.error.take() {
            Some(error) => Err(WriteFailed {
                path: self.path.clone(),
                error,
                lost: state.lost,
            }
            .into()),
            None => Ok(()),
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Where the writer puts records: the file, or in unit tests a writer that
/// fails.
pub(super) trait Sink: Write + Send {
    fn sync(&mut self) -> std::io::Result<()>;
}

impl Sink for File {
    fn sync(&mut self) -> std::io::Result<()> {
        self.sync_data()
    }
}

/// How long a written record may wait for the disk: the syncer syncs at
/// most this often while records come, so a fast send pays one sync per
/// interval, not one per reader.
pub const SYNC_EVERY: Duration = Duration::from_millis(50);

/// Syncs the records written since the last sync, every [`SYNC_EVERY`]
/// while there are any, and once more when the journal closes. A failed
/// sync stops the journal: those records may not be on disk.
fn sync_loop(shared: &Shared) {
    let mut state = shared.state.lock().expect("journal");
    loop {
        if state.unsynced > 0 && state.error.is_none() {
            match state.sink.sync() {
                Ok(()) => state.unsynced = 0,
                Err(e) => {
                    state.lost = state.unsynced;
                    state.error = Some(e);
                    drop(state);
                    (shared.on_failure)();
                    state = shared.state.lock().expect("journal");
                }
            }
        }
        if state.closed {
            return;
        }
        state = shared
            .closing
            .wait_timeout(state, SYNC_EVERY)
            .expect("journal")
            .0;
    }
}
