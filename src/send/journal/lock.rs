//! The send lock of an issue.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

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
