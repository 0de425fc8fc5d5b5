//! A Maildir folder: its messages are read from `new/` and `cur/`, and the
//! recognised ones are marked as read.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{Handle, Read, MAX_MESSAGES};

/// Calls `each` with every message of the Maildir `dir`, one at a time;
/// returns how many there were.
pub fn each(dir: &Path, mut each: impl FnMut(Read)) -> Result<usize> {
    let files = files(dir)?;
    let n = files.len();
    for file in files {
        let label = file.display().to_string();
        each(super::file::read(
            &file,
            label,
            Handle::Maildir(file.clone()),
        ));
    }
    Ok(n)
}

/// The messages of a Maildir, `new/` then `cur/`, by name.
fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for sub in ["new", "cur"] {
        let folder = dir.join(sub);
        let mut names: Vec<PathBuf> = std::fs::read_dir(&folder)
            .with_context(|| format!("{}: cannot read", folder.display()))?
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .take(MAX_MESSAGES)
            .collect();
        names.sort();
        files.extend(names);
    }
    files.truncate(MAX_MESSAGES);
    Ok(files)
}

/// Marks a Maildir message as handled: moved to `cur/` with the Seen flag
/// (`name:2,S`), other flags kept. Returns the new path.
pub fn mark_seen(path: &Path) -> Result<PathBuf> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path
        .parent()
        .and_then(Path::parent)
        .context("a Maildir message is in new/ or cur/")?;
    let (base, flags) = match name.rsplit_once(":2,") {
        Some((base, flags)) => (base.to_string(), flags.to_string()),
        None => (name.clone(), String::new()),
    };
    let mut flags: Vec<char> = flags.chars().filter(char::is_ascii_alphabetic).collect();
    if !flags.contains(&'S') {
        flags.push('S');
    }
    flags.sort_unstable();
    flags.dedup();
    let target = dir.join("cur").join(format!(
        "{base}:2,{}",
        flags.into_iter().collect::<String>()
    ));
    if target != path {
        std::fs::rename(path, &target)
            .with_context(|| format!("{}: cannot mark it as read", path.display()))?;
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_messages_move_to_cur_with_their_flags() {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let fresh = dir.path().join("new/1.abc.host");
        std::fs::write(&fresh, "x").unwrap();
        let moved = mark_seen(&fresh).unwrap();
        assert_eq!(moved, dir.path().join("cur/1.abc.host:2,S"));
        let flagged = dir.path().join("cur/2.abc.host:2,RF");
        std::fs::write(&flagged, "y").unwrap();
        assert_eq!(
            mark_seen(&flagged).unwrap(),
            dir.path().join("cur/2.abc.host:2,FRS")
        );
        assert_eq!(
            mark_seen(&moved).unwrap(),
            dir.path().join("cur/1.abc.host:2,S")
        );
    }
}
