//! Where reports are read from: a single message file ([`file`]), an mbox
//! file, read only ([`mbox`]), a Maildir folder ([`maildir`]), or an IMAP
//! folder ([`imap`]); and how the recognised ones are marked, leaving every
//! other message as it was.
//!
//! Each reader hands on [`Read`]s under the limits here; none uses
//! another, except that a Maildir reads each of its messages as a [`file`].

pub mod file;
pub mod imap;
pub mod maildir;
pub mod mbox;

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use imap::Target;

/// The largest message read: a bounce report is small; anything bigger is
/// left alone and reported.
pub const MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;

/// The most messages one import reads.
pub const MAX_MESSAGES: usize = 1_000_000;

/// Where reports come from.
#[derive(Debug, Clone)]
pub enum MailSource {
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

impl MailSource {
    /// Reads `SOURCE` as the command line gives it.
    pub fn parse(arg: &str) -> Result<MailSource> {
        if arg.starts_with("imaps://") || arg.starts_with("imap://") {
            return Target::parse(arg).map(MailSource::Imap);
        }
        let path = PathBuf::from(arg);
        let meta = std::fs::metadata(&path).with_context(|| {
            format!("{arg}: cannot read it\n  help: give a message file, an mbox file, a Maildir folder or imaps://user@host/FOLDER")
        })?;
        if meta.is_dir() {
            if !path.join("cur").is_dir() || !path.join("new").is_dir() {
                bail!("{arg}: this folder is not a Maildir (it has no cur/ and new/)\n  help: give the Maildir folder itself, e.g. ~/Maildir/.Bounces");
            }
            return Ok(MailSource::Maildir(path));
        }
        let mut head = [0u8; 5];
        let n = std::io::Read::read(
            &mut std::fs::File::open(&path).with_context(|| format!("{arg}: cannot open"))?,
            &mut head,
        )
        .unwrap_or(0);
        Ok(match &head[..n] == b"From " {
            true => MailSource::Mbox(path),
            false => MailSource::File(path),
        })
    }

    /// What the source is, for people.
    pub fn describe(&self) -> String {
        match self {
            MailSource::File(p) => format!("the message {}", p.display()),
            MailSource::Mbox(p) => format!("the mbox {}", p.display()),
            MailSource::Maildir(p) => format!("the Maildir {}", p.display()),
            MailSource::Imap(t) => format!("the IMAP folder {}", t.label()),
        }
    }

    /// Calls `each` with every message of a file source, one at a time, so
    /// that memory stays that of one message. IMAP is read by
    /// [`imap`].
    pub fn each(&self, mut each: impl FnMut(Read)) -> Result<usize> {
        match self {
            MailSource::File(path) => {
                each(file::read(path, path.display().to_string(), Handle::None));
                Ok(1)
            }
            MailSource::Mbox(path) => mbox::each(path, each),
            MailSource::Maildir(dir) => maildir::each(dir, each),
            MailSource::Imap(_) => bail!("an IMAP folder is read over the network"),
        }
    }
}
