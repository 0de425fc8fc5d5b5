//! Folding the change log into the list file without reading the whole
//! list into an editable document: only the tables of the addresses the
//! log names go through `toml_edit` (so their comments and layout are
//! kept, as by any edit), the rest of the file is copied as it is, and
//! readers who joined are appended at the end. A million-reader list folds
//! in about the time it takes to read it.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{anyhow, Result};
use toml_edit::DocumentMut;

use super::changes::{self, Change};
use super::edit::lock_list;
use super::read::{is_subscriber_header, tables};
use super::{identity, Editor};
use crate::address::is_own_identity;
use crate::error::read_text;
use crate::fs::write_atomic;

/// Folds the log of the list at `path` into the file and empties the log;
/// how many changes it folded.
pub fn compact(path: &Path) -> Result<usize> {
    let lock = lock_list(path)?;
    let pending = changes::read(path)?;
    if pending.is_empty() {
        return Ok(0);
    }
    let source = match path.exists() {
        true => read_text(path)?,
        false => String::new(),
    };
    let Some(folded) = splice(path, &source, &pending)? else {
        // A file the fast reader leaves to the whole-file parser: fold it
        // with the editor of the whole document.
        drop(lock);
        let editor = Editor::open(path)?;
        let folded = editor.folded();
        if folded > 0 {
            editor.save()?;
        }
        return Ok(folded);
    };
    write_atomic(path, folded.as_bytes())?;
    changes::clear(path)?;
    Ok(pending.len())
}

/// The text of the list at `path` (`source`) with `pending` applied, or
/// `None` when the file is not one whose tables can be edited one by one.
fn splice(path: &Path, source: &str, pending: &[Change]) -> Result<Option<String>> {
    let named: HashSet<String> = pending.iter().map(|c| identity(c.email())).collect();
    let is_named = |email: &str| match is_own_identity(email) {
        true => named.contains(email),
        false => named.contains(&identity(email)),
    };
    let Some(affected) = tables(source, is_named) else {
        return Ok(None);
    };
    let text: String = affected.iter().map(|r| &source[r.clone()]).collect();
    let Ok(doc) = text.parse::<DocumentMut>() else {
        return Ok(None);
    };
    let mut existing = Editor::detached(path, doc);
    let mut joined = Editor::detached(path, DocumentMut::new());
    for change in pending {
        let editor = match existing.contains(change.email()) {
            true => &mut existing,
            false => &mut joined,
        };
        editor.fold(std::slice::from_ref(change))?;
    }
    let edited = existing.text();
    let pieces = split(&edited);
    if pieces.len() != affected.len() {
        return Err(anyhow!(
            "{}: the edited entries did not read back as {} tables; nothing was changed",
            path.display(),
            affected.len()
        ));
    }
    let mut out = String::with_capacity(source.len() + 1024);
    let mut copied = 0;
    for (range, piece) in affected.iter().zip(pieces) {
        out.push_str(&source[copied..range.start]);
        out.push_str(piece);
        copied = range.end;
    }
    out.push_str(&source[copied..]);
    let added = joined.text();
    if !added.trim().is_empty() {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        if !out.trim().is_empty() {
            out.push('\n');
        }
        out.push_str(added.trim_start_matches('\n'));
    }
    Ok(Some(out))
}

/// `text` cut before each `[[subscriber]]` header line (the text before
/// the first header, empty here, is dropped).
fn split(text: &str) -> Vec<&str> {
    let mut starts = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if is_subscriber_header(line) {
            starts.push(offset);
        }
        offset += line.len();
    }
    starts
        .iter()
        .enumerate()
        .map(|(k, &start)| &text[start..starts.get(k + 1).copied().unwrap_or(text.len())])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::list::{Leaving, List, Source, Status, Subscriber};

    const LIST: &str = "# Our readers. Keep this comment!\n\n[[subscriber]]\nemail = \"a@example.com\"   # the first one\nname  = \"김독자\"\n\n# VIPs below\n[[subscriber]]\nemail = \"B@example.com\"\ntags  = [\"vip\"]\nstatus = \"unsubscribed\"\nsubscribed_at = \"2026-01-01T00:00:00Z\"\n\n[[subscriber]] # twice\nemail = \"b@example.com\"\n\n[[subscriber]]\nemail = \"c@example.com\"\n";

    fn join(email: &str) -> Change {
        let mut reader = Subscriber::active(email, None, vec!["weekly".into()], Source::Form);
        reader.subscribed_at = Some("2026-06-01T00:00:00Z".into());
        Change::Join {
            reader: Box::new(reader),
            issued: "2026-05-01T00:00:00Z".parse().unwrap(),
        }
    }

    /// The fold through the editor of the whole document, for comparison.
    fn whole(dir: &Path, pending: &[Change]) -> String {
        let path = dir.join("whole.toml");
        std::fs::write(&path, LIST).unwrap();
        changes::append(&path, pending).unwrap();
        let editor = Editor::open(&path).unwrap();
        editor.save().unwrap();
        std::fs::read_to_string(&path).unwrap()
    }

    #[test]
    fn only_the_named_tables_change_and_the_result_is_the_editor_s() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscribers.toml");
        std::fs::write(&path, LIST).unwrap();
        let pending = [
            Change::Unsubscribe(Leaving::now("A@example.com")),
            join("b@example.com"),
            join("new@example.com"),
            Change::Unsubscribe(Leaving::now("new@example.com")),
            Change::Unsubscribe(Leaving::now("nobody@example.com")),
            join("second@example.com"),
        ];
        changes::append(&path, &pending).unwrap();
        assert_eq!(compact(&path).unwrap(), pending.len());
        assert!(!changes::log_path(&path).exists());
        let folded = std::fs::read_to_string(&path).unwrap();
        assert_eq!(folded, whole(dir.path(), &pending));
        assert!(folded.starts_with("# Our readers. Keep this comment!\n\n[[subscriber]]\nemail = \"a@example.com\"   # the first one\n"));
        assert!(folded.contains("# VIPs below\n[[subscriber]]\nemail = \"B@example.com\""));
        assert!(folded.contains("[[subscriber]]\nemail = \"c@example.com\"\n"));
        let list = List::parse(&path, &folded).unwrap();
        let status = |email: &str| list.find(email).unwrap().status();
        assert_eq!(status("a@example.com"), Status::Unsubscribed);
        assert_eq!(status("b@example.com"), Status::Active);
        assert_eq!(status("new@example.com"), Status::Unsubscribed);
        assert_eq!(status("c@example.com"), Status::Active);
        assert_eq!(list.entries.len(), 6);
        assert_eq!(compact(&path).unwrap(), 0, "nothing left to fold");
    }

    #[test]
    fn a_pause_is_kept_by_the_log_the_fold_and_the_editor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscribers.toml");
        let paused = "paused_until = \"2099-01-15T00:00:00Z\"";
        let text = format!("[[subscriber]]\nemail = \"a@example.com\"\n{paused}\n\n[[subscriber]]\nemail = \"b@example.com\"\nstatus = \"unsubscribed\"\n{paused}\n");
        std::fs::write(&path, &text).unwrap();
        let pending = [
            Change::Unsubscribe(Leaving::now("a@example.com")),
            join("b@example.com"),
        ];
        changes::append(&path, &pending).unwrap();
        let until = Some("2099-01-15T00:00:00Z");
        let loaded = List::load(&path).unwrap();
        assert!(loaded.entries.iter().all(|e| e.paused_until() == until));
        assert_eq!(compact(&path).unwrap(), 2);
        let folded = std::fs::read_to_string(&path).unwrap();
        assert_eq!(folded.matches(paused).count(), 2, "{folded}");
        Editor::apply(&path, |e| e.set_status("b@example.com", Status::Bounced)).unwrap();
        let list = List::load(&path).unwrap();
        assert!(list.entries.iter().all(|e| e.paused_until() == until));
    }

    #[test]
    fn a_list_the_fast_reader_leaves_alone_is_folded_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscribers.toml");
        let inline = "subscriber = [\n  { email = \"a@example.com\" },\n]\n";
        std::fs::write(&path, inline).unwrap();
        changes::append(&path, &[Change::Unsubscribe(Leaving::now("a@example.com"))]).unwrap();
        // The editor refuses to edit inline arrays; the log stays.
        assert!(compact(&path).is_err());
        assert!(changes::log_path(&path).exists());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), inline);
    }
}
