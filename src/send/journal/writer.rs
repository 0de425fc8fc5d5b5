//! The journal open for a send: records written as they come, synced in
//! batches.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

use super::Pending;

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
pub(super) struct Written {
    pub(super) error: Option<std::io::Error>,
    pub(super) lost: usize,
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
pub(super) trait Sink: Write + Send {
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

/// Writes `first` and every record already waiting, one `write` each,
/// until one fails; counts them in `unsynced`.
fn write_waiting(
    sink: &mut Box<dyn Sink>,
    first: Pending,
    receiver: &mpsc::Receiver<Pending>,
    unsynced: &mut usize,
) -> std::io::Result<()> {
    let write = |sink: &mut Box<dyn Sink>, pending: Pending| {
        let written = sink.write_all(pending.record.line(SystemTime::now()).as_bytes());
        if let (Ok(()), Some(tell)) = (&written, pending.written) {
            let _ = tell.send(());
        }
        written
    };
    *unsynced += 1;
    write(sink, first)?;
    while let Ok(pending) = receiver.try_recv() {
        *unsynced += 1;
        write(sink, pending)?;
    }
    Ok(())
}

/// Writes records as they come (one `write` each, so a crash of the
/// process loses none) and syncs when it has caught up, at most once per
/// [`SYNC_EVERY`] and always before it ends. After the first failure
/// nothing more is written (a later record on a line of its own could
/// follow a torn one); the rest are counted as lost.
pub(super) fn write_loop(
    mut sink: Box<dyn Sink>,
    receiver: mpsc::Receiver<Pending>,
    on_failure: impl Fn(),
) -> Written {
    let mut unsynced = 0;
    let mut result = Ok(());
    let mut synced_at = std::time::Instant::now();
    loop {
        let next = match unsynced {
            0 => receiver
                .recv()
                .map_err(|_| mpsc::RecvTimeoutError::Disconnected),
            _ => receiver.recv_timeout(SYNC_EVERY.saturating_sub(synced_at.elapsed())),
        };
        match next {
            Ok(pending) => {
                result = write_waiting(&mut sink, pending, &receiver, &mut unsynced);
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
