//! Where reports are read from: a single message file, an mbox file (read
//! only), a Maildir folder, or an IMAP folder ([`super::imap`]); and how
//! the recognised ones are marked, leaving every other message as it was.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::imap::Target;

/// The largest message read: a bounce report is small; anything bigger is
/// left alone and reported.
pub const MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;

/// The most messages one import reads.
pub const MAX_MESSAGES: usize = 1_000_000;

/// Where reports come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// One message file.
    File(PathBuf),
    /// An mbox file: only read, never changed.
    Mbox(PathBuf),
    /// A Maildir folder (with `cur/`, `new/` and `tmp/`).
    Maildir(PathBuf),
    /// `imaps://user@host[:port]/FOLDER`.
    Imap(Target),
}

/// How to find a message again to mark it.
#[derive(Debug, Clone)]
pub enum Handle {
    /// Not marked (a single file, an mbox).
    None,
    /// A Maildir file.
    Maildir(PathBuf),
    /// An IMAP message (marked by UID by the IMAP reader).
    Imap,
}

/// One message read from a source.
pub struct Read {
    /// Where it is, for people: a path, `mbox#N`, `imaps://…;UID=N`.
    pub label: String,
    /// How to mark it.
    pub handle: Handle,
    /// Its bytes, or why they were not read.
    pub bytes: std::result::Result<Vec<u8>, String>,
}

impl Source {
    /// Reads `SOURCE` as the command line gives it.
    pub fn parse(arg: &str) -> Result<Source> {
        if arg.starts_with("imaps://") || arg.starts_with("imap://") {
            return Target::parse(arg).map(Source::Imap);
        }
        let path = PathBuf::from(arg);
        let meta = std::fs::metadata(&path).with_context(|| {
            format!("{arg}: cannot read it\n  help: give a message file, an mbox file, a Maildir folder or imaps://user@host/FOLDER")
        })?;
        if meta.is_dir() {
            if !path.join("cur").is_dir() || !path.join("new").is_dir() {
                bail!("{arg}: this folder is not a Maildir (it has no cur/ and new/)\n  help: give the Maildir folder itself, e.g. ~/Maildir/.Bounces");
            }
            return Ok(Source::Maildir(path));
        }
        let mut head = [0u8; 5];
        let n = std::io::Read::read(
            &mut std::fs::File::open(&path).with_context(|| format!("{arg}: cannot open"))?,
            &mut head,
        )
        .unwrap_or(0);
        Ok(match &head[..n] == b"From " {
            true => Source::Mbox(path),
            false => Source::File(path),
        })
    }

    /// What the source is, for people.
    pub fn describe(&self) -> String {
        match self {
            Source::File(p) => format!("the message {}", p.display()),
            Source::Mbox(p) => format!("the mbox {}", p.display()),
            Source::Maildir(p) => format!("the Maildir {}", p.display()),
            Source::Imap(t) => format!("the IMAP folder {}", t.label()),
        }
    }

    /// Calls `each` with every message of a file source, one at a time, so
    /// that memory stays that of one message. IMAP is read by
    /// [`super::imap`].
    pub fn each(&self, mut each: impl FnMut(Read)) -> Result<usize> {
        match self {
            Source::File(path) => {
                each(read_file(path, path.display().to_string(), Handle::None));
                Ok(1)
            }
            Source::Mbox(path) => each_mbox(path, each),
            Source::Maildir(dir) => {
                let files = maildir_files(dir)?;
                let n = files.len();
                for file in files {
                    let label = file.display().to_string();
                    each(read_file(&file, label, Handle::Maildir(file.clone())));
                }
                Ok(n)
            }
            Source::Imap(_) => bail!("an IMAP folder is read over the network"),
        }
    }
}

fn read_file(path: &Path, label: String, handle: Handle) -> Read {
    let bytes = match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_MESSAGE_BYTES as u64 => Err(format!(
            "{} bytes: too large to be a report, left alone",
            m.len()
        )),
        Ok(_) => std::fs::read(path).map_err(|e| format!("cannot read: {e}")),
        Err(e) => Err(format!("cannot read: {e}")),
    };
    Read {
        label,
        handle,
        bytes,
    }
}

fn each_mbox(path: &Path, mut each: impl FnMut(Read)) -> Result<usize> {
    let file =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let capped = Capped::new(BufReader::with_capacity(64 * 1024, file));
    let messages = mail_parser::mailbox::mbox::MessageIterator::new(BufReader::new(capped));
    let mut n = 0;
    for message in messages.take(MAX_MESSAGES) {
        n += 1;
        let label = format!("{}#{n}", path.display());
        let bytes = match message {
            Ok(m) if m.contents().len() > MAX_MESSAGE_BYTES => {
                Err("too large to be a report, left alone".to_string())
            }
            Ok(m) => Ok(m.unwrap_contents()),
            Err(e) => Err(format!("cannot read this message of the mbox: {e}")),
        };
        each(Read {
            label,
            handle: Handle::None,
            bytes,
        });
    }
    Ok(n)
}

/// An mbox as [`MessageIterator`] reads it, with each message cut off
/// once it is past [`MAX_MESSAGE_BYTES`] (the rest of it, up to the next
/// `From ` line, is read past, never kept): the message is then reported
/// too large, and memory stays that of one report, whatever the file holds.
///
/// [`MessageIterator`]: mail_parser::mailbox::mbox::MessageIterator
struct Capped<R> {
    inner: R,
    /// A piece read and not yet handed on.
    piece: Vec<u8>,
    at: usize,
    /// Bytes of the current message handed on.
    message: usize,
    /// Whether the rest of the current message is being read past.
    skipping: bool,
    /// Whether the next piece starts a line.
    line_start: bool,
}

impl<R: std::io::BufRead> Capped<R> {
    fn new(inner: R) -> Capped<R> {
        Capped {
            inner,
            piece: Vec::new(),
            at: 0,
            message: 0,
            skipping: false,
            line_start: true,
        }
    }

    /// The next piece to hand on (a line, or 64 KiB of a longer one);
    /// false at the end.
    fn next_piece(&mut self) -> std::io::Result<bool> {
        use std::io::{BufRead, Read};
        loop {
            self.piece.clear();
            self.at = 0;
            let n = (&mut self.inner)
                .take(64 * 1024)
                .read_until(b'\n', &mut self.piece)?;
            if n == 0 {
                return Ok(false);
            }
            let starts_message = self.line_start && self.piece.starts_with(b"From ");
            self.line_start = self.piece.ends_with(b"\n");
            if starts_message {
                if self.skipping {
                    // The cut message ended inside a line: end it, so this
                    // `From ` line is seen to start the next.
                    self.piece.insert(0, b'\n');
                }
                (self.message, self.skipping) = (0, false);
            } else if self.skipping {
                continue;
            }
            self.message += n;
            // The piece that crosses the limit goes on, so the message is
            // seen to be too large; what follows of it does not.
            self.skipping = self.message > MAX_MESSAGE_BYTES;
            return Ok(true);
        }
    }
}

impl<R: std::io::BufRead> std::io::Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.piece.len() && !self.next_piece()? {
            return Ok(0);
        }
        let n = buf.len().min(self.piece.len() - self.at);
        buf[..n].copy_from_slice(&self.piece[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The messages of a Maildir, `new/` then `cur/`, by name.
fn maildir_files(dir: &Path) -> Result<Vec<PathBuf>> {
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

    #[test]
    fn an_oversized_message_in_an_mbox_is_cut_while_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bounces.mbox");
        let mut file = std::fs::File::create(&path).unwrap();
        use std::io::Write;
        file.write_all(b"From a@example.com Thu Dec  3 10:00:00 2026\nSubject: one\n\nbody\n")
            .unwrap();
        file.write_all(b"From b@example.com Thu Dec  3 10:00:00 2026\nSubject: big\n\n")
            .unwrap();
        // 30 MB on one line and then in lines: never held whole.
        let chunk = vec![b'x'; 1024 * 1024];
        for _ in 0..15 {
            file.write_all(&chunk).unwrap();
        }
        file.write_all(b"\n").unwrap();
        for _ in 0..15 {
            file.write_all(&chunk[..1000]).unwrap();
            file.write_all(b"\n").unwrap();
        }
        file.write_all(b">From the quoted line\n").unwrap();
        file.write_all(b"From c@example.com Thu Dec  3 10:00:00 2026\nSubject: three\n\nbody\n")
            .unwrap();
        drop(file);
        let mut seen = Vec::new();
        let n = Source::Mbox(path.clone())
            .each(|read| {
                seen.push(match read.bytes {
                    Ok(bytes) => {
                        assert!(bytes.len() <= MAX_MESSAGE_BYTES);
                        String::from_utf8_lossy(&bytes).into_owned()
                    }
                    Err(why) => why,
                })
            })
            .unwrap();
        assert_eq!(n, 3);
        assert_eq!(seen[0], "Subject: one\n\nbody\n");
        assert!(
            seen[1].contains("too large"),
            "{}",
            &seen[1][..100.min(seen[1].len())]
        );
        assert_eq!(seen[2], "Subject: three\n\nbody\n");
    }
}
