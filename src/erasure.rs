//! Erasures: a reader who asks to be forgotten (`subscribers forget`)
//! leaves every file letterpress keeps. What the promises still need of
//! them (a resumed send never mails them the same issue twice, an import
//! never brings them back, an old confirmation link no longer works) keeps
//! a pseudonym instead of the address: `erased:` and the first 16 bytes of
//! HMAC-SHA256 of the address's identity under the erasure key, in hex.
//!
//! The key is `state_dir/erasure.key`, 32 random bytes written by the
//! first erasure (mode 0600): without it nobody can tell whose a
//! pseudonym is by hashing guessed addresses. `state_dir/erasures.log`
//! records each erasure: when, and the pseudonym, never the address.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use jiff::Timestamp;

use crate::address::identity;

/// What a pseudonym starts with, wherever it stands for an address.
pub const PREFIX: &str = "erased:";

/// The longest line of the erasure log.
const MAX_LINE: usize = 256;

/// The erasures recorded in a state folder, and its key.
#[derive(Debug, Default)]
pub struct Erasures {
    key: Option<Vec<u8>>,
    /// Pseudonym → when its reader was last erased.
    at: HashMap<String, Timestamp>,
}

impl Erasures {
    /// The key and the log of `state_dir`; none when nobody was erased.
    pub fn load(state_dir: &Path) -> Result<Erasures> {
        let Some(key) = read_key(&key_path(state_dir))? else {
            return Ok(Erasures::default());
        };
        let path = log_path(state_dir);
        let mut at = HashMap::new();
        crate::fs::each_line(&path, MAX_LINE, |number, line| {
            let line = String::from_utf8_lossy(line);
            let line = line.trim_end();
            if line.starts_with('#') || line.is_empty() {
                return Ok(());
            }
            let parsed = line
                .split_once(' ')
                .and_then(|(when, who)| Some((when.parse::<Timestamp>().ok()?, who)))
                .filter(|(_, who)| is_pseudonym(who));
            let Some((when, who)) = parsed else {
                return Err(crate::error::Located::line(&path, number, "not an erasure record")
                    .help("the erasure log is written by letterpress only; restore it from a backup")
                    .into());
            };
            let last = at.entry(who.to_string()).or_insert(when);
            *last = (*last).max(when);
            Ok(())
        })?;
        Ok(Erasures { key: Some(key), at })
    }

    /// The pseudonym of `address`, when the folder has a key.
    pub fn pseudonym(&self, address: &str) -> Option<String> {
        self.key.as_deref().map(|key| pseudonym(key, address))
    }

    /// When `address` was last erased, if ever.
    pub fn erased_at(&self, address: &str) -> Option<Timestamp> {
        self.at.get(&self.pseudonym(address)?).copied()
    }
}

/// The pseudonym of `address` under `key`.
pub fn pseudonym(key: &[u8], address: &str) -> String {
    let mac = crate::sign::mac(key, b"letterpress erasure", &[identity(address).as_bytes()]);
    format!("{PREFIX}{}", crate::sign::hex(&mac[..16]))
}

/// Whether `value` is a pseudonym (and not an address).
pub fn is_pseudonym(value: &str) -> bool {
    value
        .strip_prefix(PREFIX)
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `state_dir/erasure.key`.
pub fn key_path(state_dir: &Path) -> PathBuf {
    state_dir.join("erasure.key")
}

/// `state_dir/erasures.log`.
pub fn log_path(state_dir: &Path) -> PathBuf {
    state_dir.join("erasures.log")
}

/// The key of `state_dir`, made (32 random bytes, mode 0600) if it has
/// none yet. Two processes making it at once end with the same key: the
/// file appears whole under its name or not at all.
pub fn key(state_dir: &Path) -> Result<Vec<u8>> {
    let path = key_path(state_dir);
    if let Some(key) = read_key(&path)? {
        return Ok(key);
    }
    std::fs::create_dir_all(state_dir)
        .with_context(|| format!("{}: cannot create the state folder", state_dir.display()))?;
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| anyhow!("the system's random number generator failed"))?;
    let temporary = state_dir.join(format!(".erasure.key.{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(format!("{}\n", crate::sign::hex(&bytes)).as_bytes())?;
        file.sync_all()?;
        match std::fs::hard_link(&temporary, &path) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
        crate::fs::sync_dir(&path)
    };
    let written = write();
    let _ = std::fs::remove_file(&temporary);
    written.with_context(|| format!("{}: cannot write the erasure key", path.display()))?;
    read_key(&path)?.ok_or_else(|| anyhow!("{}: the erasure key vanished", path.display()))
}

fn read_key(path: &Path) -> Result<Option<Vec<u8>>> {
    let text = match std::fs::read(path) {
        Ok(text) if text.len() <= 128 => text,
        Ok(_) => bail!("{}: not an erasure key (too long)", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("{}: cannot read the erasure key", path.display()))
        }
    };
    let hex = String::from_utf8_lossy(&text);
    let hex = hex.trim();
    let key: Option<Vec<u8>> = (hex.len() == 64)
        .then(|| {
            (0..32)
                .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
                .collect()
        })
        .flatten();
    match key {
        Some(key) => Ok(Some(key)),
        None => Err(crate::error::Located::line(path, 1, "not an erasure key (64 hex digits)")
            .help("restore it from a backup: without it the pseudonyms of erased readers can no longer be matched")
            .into()),
    }
}

/// Records that the reader `pseudonym` stands for was erased now.
pub fn record(state_dir: &Path, pseudonym: &str) -> Result<()> {
    let line = format!(
        "{} {pseudonym}\n",
        crate::time::rfc3339(std::time::SystemTime::now())
    );
    crate::fs::append(
        &log_path(state_dir),
        Some("letterpress erasure log: when a reader was forgotten, and their pseudonym (never the address)"),
        line.as_bytes(),
        crate::fs::Durability::Synced,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_key_per_folder_and_every_spelling_has_one_pseudonym() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        assert!(Erasures::load(&state)
            .unwrap()
            .pseudonym("a@example.com")
            .is_none());
        let key = key(&state).unwrap();
        assert_eq!(super::key(&state).unwrap(), key, "the key is made once");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(key_path(&state))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let one = pseudonym(&key, "Reader@Example.com");
        assert_eq!(one, pseudonym(&key, " reader@example.com"));
        assert!(is_pseudonym(&one), "{one}");
        assert!(!one.contains("example"));
        assert_ne!(one, pseudonym(&key, "other@example.com"));
        let other = tempfile::tempdir().unwrap();
        assert_ne!(
            one,
            pseudonym(&super::key(other.path()).unwrap(), "reader@example.com")
        );
    }

    #[test]
    fn the_log_keeps_when_and_a_torn_line_is_no_record() {
        let dir = tempfile::tempdir().unwrap();
        let key = key(dir.path()).unwrap();
        let who = pseudonym(&key, "reader@example.com");
        record(dir.path(), &who).unwrap();
        let mut log = std::fs::OpenOptions::new()
            .append(true)
            .open(log_path(dir.path()))
            .unwrap();
        std::io::Write::write_all(&mut log, b"2026-12-04T00:00:00Z erased:12").unwrap();
        let erasures = Erasures::load(dir.path()).unwrap();
        assert!(erasures.erased_at("READER@example.com").is_some());
        assert!(erasures.erased_at("other@example.com").is_none());
        let text = std::fs::read_to_string(log_path(dir.path())).unwrap();
        assert!(!text.contains("example.com"), "{text}");
        std::fs::write(log_path(dir.path()), "# log\nnonsense\n").unwrap();
        let error = Erasures::load(dir.path()).unwrap_err().to_string();
        assert!(
            error.contains("erasures.log:2: not an erasure record"),
            "{error}"
        );
    }
}
