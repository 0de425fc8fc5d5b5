//! The dry run's transport: each message, byte for byte as it would go to
//! the relay, into `DIR/<address>.eml`. A file that cannot be written (a
//! full disk) stops the run; [`DryRun::take_back`] then takes back
//! what the run wrote, so the folder never holds half a run.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::transport::{Error, Transport};
use crate::list::identity;
use crate::message::Outgoing;

/// Writes messages into a folder instead of sending them.
pub struct DryRun {
    out: PathBuf,
    /// The names of the files this run wrote, a line each (a name never
    /// holds a line break): a million of them take tens of megabytes.
    written: Mutex<String>,
}

impl DryRun {
    /// Writes into `out`, which must exist.
    pub fn new(out: &Path) -> DryRun {
        DryRun {
            out: out.to_path_buf(),
            written: Mutex::new(String::new()),
        }
    }

    /// Removes every file this run wrote, after it stopped: what to tell
    /// the user about the folder.
    pub fn take_back(&self) -> String {
        let written = std::mem::take(&mut *self.written.lock().expect("written"));
        let total = written.lines().count();
        let kept = written
            .lines()
            .filter(|name| std::fs::remove_file(self.out.join(name)).is_err())
            .count();
        match kept {
            0 => format!(
                "the dry run stopped; the {total} message{} this run had written were removed again",
                crate::text::plural(total)
            ),
            n => format!(
                "the dry run stopped; {n} of the messages this run wrote could not be removed and are still in {}",
                self.out.display()
            ),
        }
    }
}

impl Transport for DryRun {
    type Connection = ();

    fn name(&self) -> String {
        self.out.display().to_string()
    }

    async fn connect(&self) -> Result<(), Error> {
        Ok(())
    }

    async fn send(&self, _: &mut (), message: &Outgoing) -> Result<String, Error> {
        let name = eml_file_name(message.to.as_ref());
        let path = self.out.join(&name);
        // The receiving server records the envelope sender as Return-Path;
        // a dry run shows where this message's bounces would go.
        let written = match message.return_path {
            true => {
                let mut bytes = format!("Return-Path: <{}>\r\n", message.from).into_bytes();
                bytes.extend_from_slice(&message.bytes);
                std::borrow::Cow::Owned(bytes)
            }
            false => std::borrow::Cow::Borrowed(&message.bytes),
        };
        crate::fs::replace(&path, &written).map_err(Error::Fatal)?;
        let mut written = self.written.lock().expect("written");
        written.push_str(&name.to_string_lossy());
        written.push('\n');
        Ok("written".into())
    }

    async fn close(&self, _: ()) {}
}

/// `reader@example.com.eml`: the address's identity, with any character
/// that is not safe in a file name percent-encoded.
pub fn eml_file_name(address: &str) -> PathBuf {
    let mut name = String::with_capacity(address.len() + 4);
    for (i, b) in identity(address).bytes().enumerate() {
        let safe = b.is_ascii_alphanumeric() || b"@+-_".contains(&b) || (b == b'.' && i > 0);
        if safe {
            name.push(b as char);
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    name.push_str(".eml");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eml_names_are_safe() {
        assert_eq!(
            eml_file_name("Reader@Example.com"),
            PathBuf::from("reader@example.com.eml")
        );
        assert_eq!(
            eml_file_name("a/b@example.com"),
            PathBuf::from("a%2Fb@example.com.eml")
        );
        assert_eq!(
            eml_file_name(".x@example.com"),
            PathBuf::from("%2Ex@example.com.eml")
        );
    }
}
