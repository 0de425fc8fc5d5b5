//! An mbox file: only read, never changed.

use std::io::BufReader;
use std::path::Path;

use anyhow::{Context, Result};

use super::{Handle, Read, MAX_MESSAGES, MAX_MESSAGE_BYTES};

/// Calls `each` with every message of the mbox at `path` (at most
/// [`MAX_MESSAGES`]), one at a time; returns how many there were.
pub fn each(path: &Path, mut each: impl FnMut(Read)) -> Result<usize> {
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

#[cfg(test)]
mod tests {
    use super::super::MailSource;
    use super::*;

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
        let n = MailSource::Mbox(path.clone())
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
