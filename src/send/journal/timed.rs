//! Every record of the recent journals, with its time: what the bounce
//! policy, `check` and `stats` read.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{Outcome, Record};

/// One record of a journal, with its time: what the bounce policy and
/// `check`'s list figures read.
#[derive(Debug, Clone)]
pub struct Timed {
    /// When the outcome was known, in seconds since 1970.
    pub at: i64,
    /// The reader's identity.
    pub key: String,
    /// What happened.
    pub outcome: Outcome,
    /// The relay's reply.
    pub reply: String,
    /// The relay that gave it, when the journal names it.
    pub relay: Option<String>,
    /// Milliseconds from handing the message over to its acceptance.
    pub accept_ms: Option<u32>,
}

/// When each reader's last settled record (accepted or refused for good)
/// was written, over every journal in `dir`, by identity.
pub fn settled_times(dir: &Path) -> Result<std::collections::HashMap<String, jiff::Timestamp>> {
    let mut settled = std::collections::HashMap::new();
    each_journal(dir, std::time::UNIX_EPOCH, |_, record| {
        if record.outcome == super::Outcome::Deferred {
            return;
        }
        let Ok(at) = jiff::Timestamp::from_second(record.at) else {
            return;
        };
        let last = settled.entry(record.key).or_insert(at);
        *last = (*last).max(at);
    })?;
    Ok(settled)
}

/// Calls `each` with the name of every journal in `dir` (the file name
/// without `.journal`) written to since `since`, and each of its records in
/// file order, one line at a time (torn last lines and lines that are not
/// records left out). A journal last written before `since` holds nothing
/// newer, so it is not read: a state folder of years of sends costs only
/// the recent ones.
pub fn each_journal(
    dir: &Path,
    since: std::time::SystemTime,
    mut each: impl FnMut(&str, Timed),
) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot read", dir.display())),
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "journal"))
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .map_or(true, |m| m >= since)
        })
        .map(|e| e.path())
        .collect();
    paths.sort();
    for path in paths {
        each_record(&path, &mut each)?;
    }
    Ok(())
}

/// Calls `each` with the journal's name and each of its records, in file
/// order; a torn last line ends it, lines that are not records are left out.
fn each_record(path: &Path, each: &mut impl FnMut(&str, Timed)) -> Result<()> {
    use std::io::BufRead;
    let file =
        File::open(path).with_context(|| format!("{}: cannot read the journal", path.display()))?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut reader = std::io::BufReader::new(file);
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("{}: cannot read the journal", path.display()))?;
        // The end, or a torn last line (no newline): done.
        if read == 0 || line.last() != Some(&b'\n') {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches('\n');
        if text.starts_with('#') {
            continue;
        }
        let parsed = text
            .split(' ')
            .next()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .zip(Record::parse(text));
        if let Some((at, record)) = parsed {
            each(
                &name,
                Timed {
                    at: at.as_second(),
                    key: crate::list::identity(&record.address),
                    outcome: record.outcome,
                    reply: record.reply,
                    relay: record.relay,
                    accept_ms: record.accept_ms,
                },
            );
        }
    }
}
