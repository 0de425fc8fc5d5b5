//! The list as `serve` keeps it: loaded once, changed through the change
//! log, folded into the file when the server is idle.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::changes::{self, Change};
use super::edit::{lock_list, stamp, FileStamp};
use super::{Joined, List};

/// The list with its pending changes.
pub struct Live {
    path: PathBuf,
    list: List,
    /// The file as it was when read: another writer changes it.
    stamp: Option<FileStamp>,
    /// Changes in the log since the list was last written.
    pending: usize,
    /// How far the log has been read: another server on the same list
    /// appends to it too.
    log: changes::LogPosition,
}

impl Live {
    /// Reads the list at `path` and its log.
    pub fn open(path: &Path) -> Result<Live> {
        let _lock = lock_list(path)?;
        Live::read(path)
    }

    /// Reads the list and its log; the caller holds the lock.
    fn read(path: &Path) -> Result<Live> {
        let stamp = stamp(path);
        let mut list = match stamp {
            Some(_) => List::load_file(path)?,
            None => List::parse(path, "")?,
        };
        let mut log = changes::LogPosition::default();
        let pending = changes::read_since(path, &mut log)?;
        list.apply_all(&pending);
        Ok(Live {
            path: path.to_path_buf(),
            list,
            stamp,
            pending: pending.len(),
            log,
        })
    }

    /// Changes waiting in the log to be folded into the list.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// Applies `batch` in order under the list's lock: each change is
    /// decided against the list as it is now (read again if another
    /// writer changed it, with what another server added to the log since
    /// the last look), those that change something are appended to the
    /// log and synced; then what each did, and whether it changed the
    /// list.
    pub fn apply(&mut self, batch: &[Change]) -> Result<Vec<(bool, Option<Joined>)>> {
        let _lock = lock_list(&self.path)?;
        if stamp(&self.path) != self.stamp {
            self.list = List::parse(&self.path, "")?;
            *self = Live::read(&self.path)?;
        } else {
            match changes::read_since(&self.path, &mut self.log) {
                Ok(gained) => {
                    self.list.apply_all(&gained);
                    self.pending += gained.len();
                }
                Err(e) => {
                    *self = Live::read(&self.path)?;
                    return Err(e);
                }
            }
        }
        // Where the batch's addresses are: one pass over the list per
        // batch, instead of an index of every address kept in memory.
        let mut index = changes::index(&self.list, batch);
        let mut recorded = Vec::new();
        let mut results = Vec::with_capacity(batch.len());
        for change in batch {
            let (changed, joined) = self.list.change(change, &mut index);
            if changed {
                recorded.push(change.clone());
            }
            results.push((changed, joined));
        }
        match changes::append(&self.path, &recorded) {
            Ok(added) => {
                // The lock is held and the log was read to its end: what
                // was added is this batch's.
                self.log.bytes += added.bytes;
                self.log.lines += added.lines;
            }
            Err(e) => {
                // Nothing of the batch is known to be on disk: read it all again.
                *self = Live::read(&self.path)?;
                return Err(e);
            }
        }
        self.pending += recorded.len();
        Ok(results)
    }

    /// The entries of each reader in `keys` (identities), as the list
    /// holds them now: one pass over the list.
    pub fn entries_of(&self, keys: &[String]) -> Vec<Vec<super::Subscriber>> {
        let mut found = vec![Vec::new(); keys.len()];
        if keys.is_empty() {
            return found;
        }
        for entry in &self.list.entries {
            for (i, key) in keys.iter().enumerate() {
                if entry.key() == key {
                    found[i].push(entry.subscriber());
                }
            }
        }
        found
    }

    /// Folds the log into the list file (comments kept) and empties it;
    /// how many changes it folded.
    pub fn compact(&mut self) -> Result<usize> {
        // The list is read again afterwards: let it go while the file is
        // rewritten, so a large list is not held twice.
        self.list = List::parse(&self.path, "")?;
        self.stamp = None;
        let folded = super::fold::compact(&self.path);
        let _lock = lock_list(&self.path)?;
        *self = Live::read(&self.path)?;
        folded
    }
}
