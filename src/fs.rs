//! Writing files so that an interruption never leaves half a file.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result};

/// Writes `bytes` to `path` through a temporary file in the same folder,
/// flushed to disk and then renamed over the target: for files whose loss
/// would lose the user's work.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_via_temp(path, bytes, true)
}

/// Like [`write_atomic`] without waiting for the disk: for derived files
/// (build output) that a rerun recreates. A reader of `path` still sees the
/// old file or the new one, never half of one.
pub fn replace(path: &Path, bytes: &[u8]) -> Result<()> {
    write_via_temp(path, bytes, false)
}

/// Like [`replace`], creating the folders above `path` first.
pub fn replace_creating(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the folder", dir.display()))?;
    }
    replace(path, bytes)
}

fn write_via_temp(path: &Path, bytes: &[u8], durable: bool) -> Result<()> {
    write_with(path, durable, |file| file.write_all(bytes))
}

/// Creates the temporary file, lets `fill` write it, then renames it over
/// `path`; on any failure the temporary file is removed and `path` is
/// untouched. A `path` that is a symbolic link has its target replaced
/// (the link stays); the file keeps its permissions and, where the process
/// may set them, its owner and group.
fn write_with(
    path: &Path,
    durable: bool,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<()> {
    let target = resolve_links(path)
        .with_context(|| format!("{}: cannot follow the link", path.display()))?;
    let path = target.as_path();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    if durable {
        remove_stale_temporaries(dir, &name);
    }
    // One name per write, so that two writes of one file in one process
    // (two threads) never share a temporary file.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.tmp{}-{n}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        keep_mode_and_owner(path, &file)?;
        fill(&mut file)?;
        if durable {
            file.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("{}: cannot write the file", path.display()))
}

/// `path` with its symbolic links followed (at most 40, as the kernel
/// does); `path` itself when it does not exist yet.
fn resolve_links(path: &Path) -> std::io::Result<std::path::PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&current)?;
                current = match current.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

/// Gives the new file the permissions of the file it replaces, and its
/// owner and group where the process may (root, or the same owner).
fn keep_mode_and_owner(path: &Path, file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let old = match std::fs::metadata(path) {
        Ok(old) => old,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    file.set_permissions(old.permissions())?;
    // Not permitted for another user's file unless root: it stays ours.
    let _ = std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid()));
    Ok(())
}

/// Removes the temporary files of `name` that a killed process left in
/// `dir` (a hidden copy of the whole list): those whose process is gone.
fn remove_stale_temporaries(dir: &Path, name: &str) {
    let prefix = format!(".{name}.tmp");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    // A folder of the user's: bounded, and only this file's leftovers go.
    for entry in entries.flatten().take(100_000) {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|pid| pid > 0 && !process_alive(pid)) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether a process with this id exists.
fn process_alive(pid: i32) -> bool {
    // Signal 0 checks only: EPERM means it exists under another user.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// How an append waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// The lines are synced before the append returns: for records that
    /// were promised to someone (a change of the list, a bounce).
    Synced,
    /// One `write`, no sync: a crash of the process loses nothing, a power
    /// loss may lose the last lines (counts).
    Written,
}

/// Appends whole `lines` (each ending in `\n`) to the append-only log at
/// `path`: the one appender of every log letterpress keeps. It creates the
/// folder and the file (beginning it with `header`, a `# ` comment line,
/// when given), and takes an exclusive lock on the file, so two processes
/// never interleave. A last line without its newline (a crash, a full disk)
/// was never a record: it is cut off first, so the new lines never glue to
/// it. A write that fails part-way is cut back off, so the log stays whole
/// lines; the error names the file.
pub fn append(
    path: &Path,
    header: Option<&str>,
    lines: &[u8],
    durability: Durability,
) -> Result<()> {
    debug_assert!(lines.is_empty() || lines.ends_with(b"\n"));
    if lines.is_empty() {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the folder", dir.display()))?;
    }
    let append = || -> std::io::Result<()> {
        let mut file = locked_for_append(path)?;
        let len = cut_torn_tail(&file)?;
        let mut bytes = Vec::with_capacity(lines.len() + 80);
        if len == 0 {
            if let Some(header) = header {
                bytes.extend_from_slice(format!("# {header}\n").as_bytes());
            }
        }
        bytes.extend_from_slice(lines);
        if let Err(e) = file.write_all(&bytes) {
            // Leave whole lines only: what was written of this append goes.
            let _ = file.set_len(len);
            return Err(e);
        }
        if durability == Durability::Synced {
            file.sync_data()?;
            if len == 0 {
                sync_dir(path)?;
            }
        }
        Ok(())
    };
    append().with_context(|| format!("{}: cannot append to the log", path.display()))
}

/// The log at `path` opened for appending and locked. A log may be
/// rewritten whole (an erasure takes a reader out of it) by writing a new
/// file under its lock and renaming it over the old: a lock taken on the
/// old file is then let go and the new one opened, so no line goes to a
/// file that no longer has a name.
fn locked_for_append(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::MetadataExt;
    let mut tries = 0;
    loop {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        file.lock()?;
        let (held, named) = (file.metadata()?, std::fs::metadata(path));
        match named {
            Ok(named) if named.ino() == held.ino() && named.dev() == held.dev() => return Ok(file),
            _ if tries >= 100 => {
                return Err(std::io::Error::other("the file keeps being replaced"))
            }
            _ => tries += 1,
        }
    }
}

/// Rewrites the log at `path` under its lock: `edit` gets its text and
/// returns the new text, or `None` to leave it as it is. The new text goes
/// to a temporary file that is synced and renamed over the log, so the log
/// is the old or the new, whole, after a crash; appenders wait for the lock
/// and then write to the new file. Whether it was rewritten.
pub fn rewrite_log(path: &Path, edit: impl FnOnce(&[u8]) -> Option<Vec<u8>>) -> Result<bool> {
    if !path.exists() {
        return Ok(false);
    }
    let file = match locked_for_append(path) {
        Ok(file) => file,
        Err(e) => {
            return Err(e).with_context(|| format!("{}: cannot open the log", path.display()))
        }
    };
    let mut text = Vec::new();
    (&file)
        .read_to_end(&mut text)
        .with_context(|| format!("{}: cannot read the log", path.display()))?;
    let Some(new) = edit(&text) else {
        return Ok(false);
    };
    write_atomic(path, &new)?;
    drop(file);
    Ok(true)
}

/// Cuts a last line that lacks its newline off the file: it was never a
/// whole record. The length kept. The caller holds the file exclusively
/// (its lock, or the lock of what the file belongs to).
pub fn cut_torn_tail(file: &std::fs::File) -> std::io::Result<u64> {
    use std::os::unix::fs::FileExt;
    let len = file.metadata()?.len();
    let mut last = [0u8; 1];
    if len == 0 || (file.read_at(&mut last, len - 1)? == 1 && last[0] == b'\n') {
        return Ok(len);
    }
    // Look back for the last newline, a block at a time.
    let mut block = vec![0u8; 64 * 1024];
    let mut end = len;
    let keep = loop {
        let start = end.saturating_sub(block.len() as u64);
        let part = &mut block[..(end - start) as usize];
        file.read_exact_at(part, start)?;
        if let Some(i) = part.iter().rposition(|b| *b == b'\n') {
            break start + i as u64 + 1;
        }
        if start == 0 {
            break 0;
        }
        end = start;
    };
    file.set_len(keep)?;
    file.sync_data()?;
    Ok(keep)
}

/// Syncs the folder that holds `path`, so a new name in it survives a
/// power loss.
pub fn sync_dir(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::File::open(dir)?.sync_all(),
        _ => std::fs::File::open(".")?.sync_all(),
    }
}

/// Reads past the rest of a line: whether it ended with its newline.
fn skip_line(reader: &mut impl std::io::BufRead) -> std::io::Result<bool> {
    loop {
        let (found, used) = {
            let available = reader.fill_buf()?;
            if available.is_empty() {
                return Ok(false);
            }
            match available.iter().position(|b| *b == b'\n') {
                Some(i) => (true, i + 1),
                None => (false, available.len()),
            }
        };
        reader.consume(used);
        if found {
            return Ok(true);
        }
    }
}

/// The whole lines of an append-only log, a line at a time, as bytes: the
/// one reader of every log. A last line without its newline is left out
/// (it was never a record, and may end inside a character); a line longer
/// than `max_line` is an error naming the file and line. A missing file
/// has no lines.
pub fn each_line(
    path: &Path,
    max_line: usize,
    mut line: impl FnMut(usize, &[u8]) -> Result<()>,
) -> Result<()> {
    use std::io::BufRead;
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(e).with_context(|| format!("{}: cannot read the file", path.display()))
        }
    };
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, file);
    let mut buf = Vec::new();
    let mut number = 0;
    loop {
        buf.clear();
        let read = (&mut reader)
            .take(max_line as u64 + 1)
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("{}: cannot read the file", path.display()))?;
        if buf.len() > max_line {
            // Too long to be a record: an error, unless it is the torn end.
            let whole = skip_line(&mut reader)
                .with_context(|| format!("{}: cannot read the file", path.display()))?;
            if !whole {
                return Ok(());
            }
            return Err(crate::error::Located::line(
                path,
                number + 1,
                format!("a line of more than {max_line} bytes"),
            )
            .help("the file is written by letterpress a line at a time; remove the line")
            .into());
        }
        if read == 0 || !buf.ends_with(b"\n") {
            // The end, or a torn last line.
            return Ok(());
        }
        number += 1;
        line(number, &buf[..buf.len() - 1])?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_appended_while_the_log_is_rewritten_lands_in_the_new_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        append(&path, None, b"old one\nold two\n", Durability::Synced).unwrap();
        let mut appender = None;
        let rewritten = rewrite_log(&path, |text| {
            assert_eq!(text, b"old one\nold two\n");
            // Waits for the lock this rewrite holds.
            let path = path.clone();
            appender = Some(std::thread::spawn(move || {
                append(&path, None, b"new\n", Durability::Synced)
            }));
            std::thread::sleep(std::time::Duration::from_millis(300));
            Some(b"old one\n".to_vec())
        })
        .unwrap();
        assert!(rewritten);
        appender.unwrap().join().unwrap().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old one\nnew\n");
        assert!(!rewrite_log(&dir.path().join("none.log"), |_| Some(Vec::new())).unwrap());
        assert!(!dir.path().join("none.log").exists());
    }

    #[test]
    fn interrupted_write_leaves_the_old_file_intact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscribers.toml");
        std::fs::write(&path, "old content\n").unwrap();
        let err = write_with(&path, true, |file| {
            file.write_all(b"half of the new")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("disk full"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old content\n");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "the temporary file was left behind");
    }

    #[test]
    fn a_torn_last_line_is_cut_before_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        append(&path, Some("a log"), b"one\n", Durability::Synced).unwrap();
        // A crash (or a full disk) left half a line.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all("tw\u{d55c}".as_bytes()[..4].as_ref())
            .unwrap();
        drop(file);
        append(&path, Some("a log"), b"two\n", Durability::Written).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "# a log\none\ntwo\n"
        );
        let mut lines = Vec::new();
        each_line(&path, 100, |n, line| {
            lines.push((n, String::from_utf8(line.to_vec()).unwrap()));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            lines,
            [(1, "# a log".into()), (2, "one".into()), (3, "two".into())]
        );
    }

    #[test]
    fn a_torn_line_longer_than_a_block_is_cut_and_a_torn_tail_is_never_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let mut text = b"whole\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', 200_000));
        std::fs::write(&path, &text).unwrap();
        let mut seen = 0;
        each_line(&path, 1000, |_, _| {
            seen += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, 1, "a long torn end is no line");
        let mut long = text.clone();
        long.extend_from_slice(b"\nafter\n");
        std::fs::write(&path, &long).unwrap();
        let err = each_line(&path, 1000, |_, _| Ok(())).unwrap_err();
        assert!(format!("{err:#}").contains("a.log:2"), "{err:#}");
        std::fs::write(&path, b"whole\n\xed\x95").unwrap();
        let mut lines = Vec::new();
        each_line(&path, 1000, |_, line| {
            lines.push(line.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(lines, [b"whole".to_vec()]);
        std::fs::write(&path, &text).unwrap();
        append(&path, None, b"next\n", Durability::Synced).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"whole\nnext\n");
        std::fs::write(&path, b"no newline at all").unwrap();
        append(&path, None, b"next\n", Durability::Synced).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"next\n");
    }

    #[test]
    fn a_write_keeps_the_mode_the_symlink_and_leaves_no_stale_copies() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.toml");
        std::fs::write(&real, "old").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("subscribers.toml");
        std::os::unix::fs::symlink("real.toml", &link).unwrap();
        // A copy a killed process left behind (no such process).
        let stale = dir.path().join(".real.toml.tmp2147483646");
        std::fs::write(&stale, "every address").unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        let mode = std::fs::metadata(&real).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!stale.exists(), "the stale copy is still there");
    }

    #[test]
    fn two_writes_of_one_file_at_once_both_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reader@example.com.eml");
        std::thread::scope(|scope| {
            let writes: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| replace(&path, &[b'x'; 100_000])))
                .collect();
            for write in writes {
                write.join().unwrap().unwrap();
            }
        });
        assert_eq!(std::fs::read(&path).unwrap().len(), 100_000);
    }

    #[test]
    fn completed_write_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        std::fs::write(&path, "old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    }
}
