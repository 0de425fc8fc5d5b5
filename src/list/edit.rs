//! Changing `subscribers.toml` the way an editor would by hand: entries are
//! added, removed or changed in place, every comment and blank line of the
//! user's file stays, and the file is replaced atomically.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use toml_edit::{value, Array, ArrayOfTables, DocumentMut, Item, Table};

use super::changes::{self, Change, Preferences};
use super::{identity, List, Status, Subscriber};
use crate::error::read_text;
use crate::fs::write_atomic;

/// An open list file, edited in memory until [`Editor::save`].
pub struct Editor {
    path: PathBuf,
    doc: DocumentMut,
    /// Each address's entries, by [`identity`], in file order.
    index: HashMap<String, Vec<usize>>,
    /// Changes of the log folded in when the editor opened: saving the
    /// file empties the log.
    folded: usize,
    /// Held while the editor lives: edits by the CLI and by `serve` take
    /// turns instead of overwriting each other.
    _lock: Option<std::fs::File>,
}

impl Editor {
    /// Opens `path`; a missing file starts an empty list.
    pub fn open(path: &Path) -> Result<Editor> {
        Editor::open_listed(path).map(|(editor, _)| editor)
    }

    /// Opens `path` like [`Editor::open`], with the list as it read it
    /// under the lock: for an edit that decides from the list's entries.
    pub fn open_listed(path: &Path) -> Result<(Editor, List)> {
        let lock = lock_list(path)?;
        let text = if path.exists() {
            read_text(path)?
        } else {
            String::new()
        };
        // The typed parse reports bad TOML and unknown keys with their lines.
        let mut list = List::parse(path, &text)?;
        let doc: DocumentMut = text
            .parse()
            .map_err(|e| anyhow!("{}: cannot parse the list: {e}", path.display()))?;
        if doc
            .get("subscriber")
            .is_some_and(|i| i.as_array_of_tables().is_none())
        {
            bail!(
                "{}: `subscriber` is not written as [[subscriber]] tables\n  help: letterpress edits lists written as [[subscriber]] tables, one per reader",
                path.display()
            );
        }
        let mut editor = Editor::new(path.to_path_buf(), doc, lock);
        let pending = changes::read(path)?;
        editor.fold(&pending)?;
        list.apply_all(&pending);
        Ok((editor, list))
    }

    fn new(path: PathBuf, doc: DocumentMut, lock: std::fs::File) -> Editor {
        let mut editor = Editor::detached(&path, doc);
        editor._lock = Some(lock);
        editor
    }

    /// An editor of `doc` alone, for the caller to place in the file: the
    /// caller holds the lock.
    pub(super) fn detached(path: &Path, doc: DocumentMut) -> Editor {
        let mut editor = Editor {
            path: path.to_path_buf(),
            doc,
            index: HashMap::new(),
            folded: 0,
            _lock: None,
        };
        editor.reindex();
        editor
    }

    /// Applies the changes of the log to the document.
    pub(super) fn fold(&mut self, pending: &[Change]) -> Result<()> {
        for change in pending {
            match change {
                Change::Unsubscribe(leaving) if self.contains(&leaving.email) => {
                    self.set_status_at(&leaving.email, Status::Unsubscribed, leaving.at)?;
                }
                Change::Unsubscribe(_) => {}
                Change::Join { reader, issued } => {
                    self.join(reader, *issued)?;
                }
                Change::Preferences(preferences) => {
                    self.prefer(preferences);
                }
            }
        }
        self.folded = pending.len();
        Ok(())
    }

    /// How many changes of the log the editor folded in when it opened.
    pub fn folded(&self) -> usize {
        self.folded
    }

    fn reindex(&mut self) {
        self.index.clear();
        let Some(tables) = self
            .doc
            .get("subscriber")
            .and_then(Item::as_array_of_tables)
        else {
            return;
        };
        for (i, table) in tables.iter().enumerate() {
            if let Some(email) = table.get("email").and_then(Item::as_str) {
                self.index.entry(identity(email)).or_default().push(i);
            }
        }
    }

    fn tables(&mut self) -> &mut ArrayOfTables {
        self.doc
            .entry("subscriber")
            .or_insert(Item::ArrayOfTables(ArrayOfTables::new()))
            .as_array_of_tables_mut()
            .expect("checked when opened")
    }

    /// Indices of every entry for `email`, compared by [`identity`].
    fn positions(&self, email: &str) -> &[usize] {
        self.index.get(&identity(email)).map_or(&[], Vec::as_slice)
    }

    /// Opens `path`, lets `change` edit it and saves it when `change`
    /// says it changed anything; what `change` said.
    pub fn apply(path: &Path, change: impl FnOnce(&mut Editor) -> Result<bool>) -> Result<bool> {
        let mut editor = Editor::open(path)?;
        let changed = change(&mut editor)?;
        if changed {
            editor.save()?;
        }
        Ok(changed)
    }

    /// Whether the list holds `email`.
    pub fn contains(&self, email: &str) -> bool {
        !self.positions(email).is_empty()
    }

    /// Appends a reader; refuses an address already in the list.
    pub fn add(&mut self, subscriber: &Subscriber) -> Result<()> {
        super::validate(subscriber).map_err(|e| anyhow!("{e}"))?;
        if self.contains(&subscriber.email) {
            bail!("{} is already in {}", subscriber.email, self.path.display());
        }
        let mut table = Table::new();
        table["email"] = value(subscriber.email.as_str());
        if let Some(name) = &subscriber.name {
            table["name"] = value(name.as_str());
        }
        if subscriber.status != Status::Active {
            table["status"] = value(subscriber.status.as_str());
        }
        if !subscriber.tags.is_empty() {
            table["tags"] = value(subscriber.tags.iter().collect::<Array>());
        }
        if let Some(at) = &subscriber.subscribed_at {
            table["subscribed_at"] = value(at.as_str());
        }
        if let Some(source) = &subscriber.source {
            table["source"] = value(source.as_str());
        }
        if let Some(at) = &subscriber.unsubscribed_at {
            table["unsubscribed_at"] = value(at.as_str());
        }
        if let Some(at) = &subscriber.paused_until {
            table["paused_until"] = value(at.as_str());
        }
        if let Some(at) = &subscriber.consent_notified_at {
            table["consent_notified_at"] = value(at.as_str());
        }
        let tables = self.tables();
        if !tables.is_empty() {
            table.decor_mut().set_prefix("\n");
        }
        tables.push(table);
        let at = tables.len() - 1;
        self.index
            .entry(identity(&subscriber.email))
            .or_default()
            .push(at);
        Ok(())
    }

    /// Removes every entry for `email`.
    pub fn remove(&mut self, email: &str) -> Result<()> {
        let positions = self.require(email)?.to_vec();
        for &index in positions.iter().rev() {
            self.remove_at(index);
        }
        self.reindex();
        Ok(())
    }

    fn remove_at(&mut self, index: usize) {
        let tables = self.tables();
        let prefix = prefix_of(tables.get(index).expect("index from the index"));
        tables.remove(index);
        // Comments above a blank line belong to the file or to a group of
        // entries, not to the removed one: hand them to the next entry.
        let kept = prefix.rfind("\n\n").map_or("", |i| &prefix[..=i]);
        if !kept.is_empty() {
            if let Some(next) = tables.get_mut(index) {
                let next_prefix = prefix_of(next);
                next.decor_mut()
                    .set_prefix(format!("{kept}\n{}", next_prefix.trim_start_matches('\n')));
            } else {
                let trailing = self.doc.trailing().as_str().unwrap_or("").to_string();
                self.doc.set_trailing(format!("{kept}{trailing}"));
            }
        }
    }

    /// Sets the status of every entry for `email` (an unsubscribe records
    /// when); returns whether any changed.
    pub fn set_status(&mut self, email: &str, status: Status) -> Result<bool> {
        self.set_status_at(email, status, Some(changes::now()))
    }

    /// Sets the status of every entry for `email`; `at` is when a reader
    /// left (kept as `unsubscribed_at` while they are unsubscribed).
    pub fn set_status_at(
        &mut self,
        email: &str,
        status: Status,
        at: Option<jiff::Timestamp>,
    ) -> Result<bool> {
        let positions = self.require(email)?.to_vec();
        let mut changed = false;
        for index in positions {
            let table = self.tables().get_mut(index).expect("index from the index");
            let current = table
                .get("status")
                .and_then(Item::as_str)
                .unwrap_or("active");
            if current != status.as_str() {
                table["status"] = value(status.as_str());
                match (status, at) {
                    (Status::Unsubscribed, Some(at)) => {
                        table["unsubscribed_at"] = value(at.to_string());
                    }
                    _ => {
                        table.remove("unsubscribed_at");
                    }
                }
                changed = true;
            }
        }
        Ok(changed)
    }

    /// Adds a reader who confirmed a subscription, or re-activates the
    /// address's unsubscribed or bounced entries with the new consent
    /// (`subscribed_at`, `source`, missing tags and name). `issued` is when
    /// the confirmation was asked for: when the address's recorded consent
    /// is that late or later, this confirmation was already used (or a
    /// newer one was), and nothing changes, so an old link cannot undo a
    /// later unsubscribe.
    pub fn join(&mut self, reader: &Subscriber, issued: jiff::Timestamp) -> Result<Joined> {
        let positions = self.positions(&reader.email).to_vec();
        if positions.is_empty() {
            self.add(reader)?;
            return Ok(Joined::Added);
        }
        let tables = self.tables();
        let found = positions.iter().filter_map(|&i| tables.get(i)).map(|t| {
            let status = match t.get("status").and_then(Item::as_str) {
                None | Some("active") => Status::Active,
                Some(_) => Status::Unsubscribed,
            };
            let time = |key: &str| {
                t.get(key)
                    .and_then(Item::as_str)
                    .and_then(|v| v.parse::<jiff::Timestamp>().ok())
            };
            (status, time("subscribed_at"), time("unsubscribed_at"))
        });
        if let Some(joined) = changes::join_decision(found, issued) {
            return Ok(joined);
        }
        for index in positions {
            let table = tables.get_mut(index).expect("index from the index");
            reactivate(table, reader);
        }
        Ok(Joined::Reactivated)
    }

    /// Makes a reader's change of their preferences to every entry of the
    /// address, as [`List::change`] makes it (a change whose values could
    /// not stand in an entry is not made); whether any entry changed.
    pub fn prefer(&mut self, preferences: &Preferences) -> bool {
        if preferences.check().is_err() {
            return false;
        }
        let positions = self.positions(&preferences.email).to_vec();
        let mut changed = false;
        for index in positions {
            let table = self.tables().get_mut(index).expect("index from the index");
            changed |= prefer(table, preferences);
        }
        changed
    }

    fn require(&self, email: &str) -> Result<&[usize]> {
        let positions = self.positions(email);
        if positions.is_empty() {
            bail!(
                "{email} is not in {}\n  help: `letterpress subscribers list` shows the readers",
                self.path.display()
            );
        }
        Ok(positions)
    }

    /// The file's new text.
    pub fn text(&self) -> String {
        self.doc.to_string()
    }

    /// Writes the list back: a temporary file, fsync, rename; then
    /// empties the log whose changes it folded in.
    pub fn save(&self) -> Result<()> {
        write_atomic(&self.path, self.text().as_bytes())?;
        match self.folded {
            0 => Ok(()),
            _ => changes::clear(&self.path),
        }
    }
}

/// What [`Editor::join`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    /// A new entry.
    Added,
    /// An unsubscribed or bounced entry is active again.
    Reactivated,
    /// The reader was already active: nothing changed.
    AlreadyActive,
    /// The confirmation was already used: nothing changed.
    Spent,
}

impl Joined {
    /// Whether the reader is active after it (a spent link may not be).
    pub fn changed(self) -> bool {
        matches!(self, Joined::Added | Joined::Reactivated)
    }
}

fn reactivate(table: &mut Table, reader: &Subscriber) {
    table.remove("status");
    table.remove("unsubscribed_at");
    if let Some(at) = &reader.subscribed_at {
        table["subscribed_at"] = value(at.as_str());
    }
    if let Some(source) = &reader.source {
        table["source"] = value(source.as_str());
    }
    if let (None, Some(name)) = (table.get("name"), &reader.name) {
        table["name"] = value(name.as_str());
    }
    let mut tags: Vec<String> = table
        .get("tags")
        .and_then(Item::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let before = tags.len();
    for tag in &reader.tags {
        if !tags.contains(tag) {
            tags.push(tag.clone());
        }
    }
    if tags.len() != before {
        table["tags"] = value(tags.iter().collect::<Array>());
    }
}

/// Writes `preferences` into `table`: a key set, replaced or removed;
/// whether the table changed.
fn prefer(table: &mut Table, preferences: &Preferences) -> bool {
    let before = table.to_string();
    if let Some(tags) = &preferences.tags {
        let written: Vec<&str> = table
            .get("tags")
            .and_then(Item::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        if written != *tags {
            match tags.is_empty() {
                true => drop(table.remove("tags")),
                false => table["tags"] = value(tags.iter().collect::<Array>()),
            }
        }
    }
    let texts = [
        ("name", preferences.name.clone()),
        (
            "paused_until",
            preferences
                .paused_until
                .map(|until| until.map(|at| at.to_string())),
        ),
        (
            "consent_notified_at",
            preferences
                .consent_notified_at
                .map(|at| at.map(|at| at.to_string())),
        ),
    ];
    for (key, wanted) in texts {
        match wanted {
            None => {}
            Some(None) => drop(table.remove(key)),
            Some(Some(text)) if table.get(key).and_then(Item::as_str) == Some(&text) => {}
            Some(Some(text)) => table[key] = value(text),
        }
    }
    table.to_string() != before
}

/// What tells a file's versions apart: a rename gives a new inode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStamp {
    inode: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

/// The stamp of the file at `path` now, if it exists.
pub fn stamp(path: &Path) -> Option<FileStamp> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some(FileStamp {
        inode: meta.ino(),
        len: meta.len(),
        modified: meta.modified().ok(),
    })
}

/// Waits for the exclusive lock on `<list>.lock`, next to the list.
pub(super) fn lock_list(path: &Path) -> Result<std::fs::File> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    let lock_path = path.with_file_name(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| anyhow!("{}: cannot open the lock file: {e}", lock_path.display()))?;
    file.lock()
        .map_err(|e| anyhow!("{}: cannot lock: {e}", lock_path.display()))?;
    Ok(file)
}

fn prefix_of(table: &Table) -> String {
    table
        .decor()
        .prefix()
        .and_then(|p| p.as_str())
        .unwrap_or("")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "# Our readers. Keep this comment!\n\n[[subscriber]]\nemail = \"a@example.com\"   # the first one\nname  = \"김독자\"\n\n# VIPs below\n[[subscriber]]\nemail = \"b@example.com\"\ntags  = [\"vip\"]\n";

    fn editor() -> (tempfile::TempDir, Editor) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscribers.toml");
        std::fs::write(&path, LIST).unwrap();
        let editor = Editor::open(&path).unwrap();
        (dir, editor)
    }

    fn reader(email: &str) -> Subscriber {
        Subscriber {
            email: email.into(),
            name: Some("Jane".into()),
            status: Status::Active,
            tags: vec!["weekly".into()],
            subscribed_at: None,
            source: None,
            unsubscribed_at: None,
            paused_until: None,
            consent_notified_at: None,
        }
    }

    fn at(text: &str) -> jiff::Timestamp {
        text.parse().unwrap()
    }

    fn joiner(email: &str, when: &str) -> Subscriber {
        Subscriber {
            email: email.into(),
            name: Some("Joiner".into()),
            status: Status::Active,
            tags: vec!["weekly".into(), "vip".into()],
            subscribed_at: Some(when.into()),
            source: Some("form".into()),
            unsubscribed_at: None,
            paused_until: None,
            consent_notified_at: None,
        }
    }

    #[test]
    fn join_adds_reactivates_and_refuses_spent_confirmations() {
        let (_dir, mut editor) = editor();
        let new = joiner("new@example.org", "2026-12-02T10:00:05Z");
        let issued = at("2026-12-02T10:00:00Z");
        assert_eq!(editor.join(&new, issued).unwrap(), Joined::Added);
        // The same link again: spent, nothing changes.
        let text = editor.text();
        assert_eq!(editor.join(&new, issued).unwrap(), Joined::Spent);
        assert_eq!(editor.text(), text);
        // An active reader without a consent record: already active.
        let a = joiner("A@example.com", "2026-12-02T10:00:05Z");
        assert_eq!(editor.join(&a, issued).unwrap(), Joined::AlreadyActive);
        // Unsubscribed, then a newer confirmation: active again, the record
        // replaced, the name kept, the missing tag added, the comment kept.
        editor
            .set_status_at(
                "b@example.com",
                Status::Unsubscribed,
                Some(at("2026-12-02T10:30:00Z")),
            )
            .unwrap();
        assert!(editor
            .text()
            .contains("unsubscribed_at = \"2026-12-02T10:30:00Z\""));
        // A link asked for before the unsubscribe (and after any recorded
        // consent) cannot undo it.
        let early = joiner("b@example.com", "2026-12-02T10:40:00Z");
        assert_eq!(
            editor.join(&early, at("2026-12-02T10:15:00Z")).unwrap(),
            Joined::Spent
        );
        let b = joiner("b@example.com", "2026-12-02T11:00:05Z");
        assert_eq!(
            editor.join(&b, at("2026-12-02T11:00:00Z")).unwrap(),
            Joined::Reactivated
        );
        let text = editor.text();
        assert!(text.contains("# VIPs below\n[[subscriber]]\nemail = \"b@example.com\"\ntags  = [\"vip\", \"weekly\"]\nsubscribed_at = \"2026-12-02T11:00:05Z\"\nsource = \"form\"\nname = \"Joiner\"\n"), "{text}");
        // An unsubscribe after that confirmation: the old link cannot undo it.
        editor
            .set_status_at(
                "b@example.com",
                Status::Unsubscribed,
                Some(at("2026-12-02T11:30:00Z")),
            )
            .unwrap();
        assert_eq!(
            editor.join(&b, at("2026-12-02T11:00:00Z")).unwrap(),
            Joined::Spent
        );
        assert!(editor.text().contains("status = \"unsubscribed\""));
    }

    #[test]
    fn add_keeps_comments_and_layout() {
        let (_dir, mut editor) = editor();
        editor.add(&reader("c@example.org")).unwrap();
        let text = editor.text();
        assert!(text.starts_with(LIST), "existing text changed:\n{text}");
        assert!(text.ends_with("\n[[subscriber]]\nemail = \"c@example.org\"\nname = \"Jane\"\ntags = [\"weekly\"]\n"), "{text}");
        assert!(
            editor.add(&reader("C@EXAMPLE.ORG")).is_err(),
            "duplicate accepted"
        );
        assert!(editor.add(&reader("not-an-address")).is_err());
    }

    #[test]
    fn unsubscribe_and_remove_keep_other_comments() {
        let (_dir, mut editor) = editor();
        assert!(editor
            .set_status("A@example.com", Status::Unsubscribed)
            .unwrap());
        assert!(!editor
            .set_status("a@example.com", Status::Unsubscribed)
            .unwrap());
        let text = editor.text();
        assert!(text.contains("email = \"a@example.com\"   # the first one\nname  = \"김독자\"\nstatus = \"unsubscribed\"\n"), "{text}");
        editor.remove("a@example.com").unwrap();
        let text = editor.text();
        assert!(
            text.starts_with("# Our readers. Keep this comment!\n"),
            "{text}"
        );
        assert!(
            text.contains("# VIPs below\n[[subscriber]]\nemail = \"b@example.com\""),
            "{text}"
        );
        assert!(!text.contains("a@example.com"));
        assert!(editor.remove("zzz@example.com").is_err());
    }

    #[test]
    fn save_round_trips() {
        let (dir, mut editor) = editor();
        editor.add(&reader("c@example.org")).unwrap();
        editor.save().unwrap();
        let list = List::load(&dir.path().join("subscribers.toml")).unwrap();
        assert_eq!(list.entries.len(), 3);
        assert!(list.findings.is_empty());
    }
}
