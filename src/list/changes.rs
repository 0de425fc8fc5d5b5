//! The change log beside the list: `serve` records unsubscribes,
//! confirmed subscriptions and readers' changes of their preferences as
//! lines appended to `<list>.changes` and synced, instead of rewriting the whole list for each batch. Every
//! command that reads the list reads the log after it, so nobody is mailed
//! after leaving; the log is folded into the list (its comments kept) by
//! the next edit of the list, by `serve` when it is idle and by
//! `subscribers compact`. The list a person edits stays the source of
//! truth: the log only holds what happened since it was last written.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};

use super::entry::{Fields, Tags};
use super::{identity, validate_fields, Entry, Joined, List, Status, Subscriber};
use crate::error::Located;

/// A change to the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Mark every entry of the address unsubscribed (an address no longer
    /// in the list is done).
    Unsubscribe(Leaving),
    /// A confirmed subscription, with the time its confirmation was asked for.
    Join {
        /// The reader as confirmed.
        reader: Box<Subscriber>,
        /// When the confirmation was asked for.
        issued: jiff::Timestamp,
    },
    /// A reader's own change of their tags, name or pause, made to every
    /// entry of the address (an address no longer in the list is done).
    Preferences(Preferences),
}

/// What a reader changed about themselves, written
/// `{"email": …, "at": …, "tags": […], "name": …, "paused_until": …}`:
/// a key left out is unchanged, a `null` clears the value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// The address.
    pub email: String,
    /// When the reader made the change.
    pub at: jiff::Timestamp,
    /// The reader's tags, all of them: `None` leaves them as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// The name: `None` unchanged, `Some(None)` cleared.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub name: Option<Option<String>>,
    /// The end of a pause: `None` unchanged, `Some(None)` cleared.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub paused_until: Option<Option<jiff::Timestamp>>,
    /// When the reader was last mailed about their consent (written by
    /// the consent mails, not by the reader): `None` unchanged.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub consent_notified_at: Option<Option<jiff::Timestamp>>,
}

/// A key that is present: its value, `null` included.
fn present<'de, D, T>(deserializer: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

impl Preferences {
    /// Why the values cannot stand in an entry (a tag or name over several
    /// lines, a name too long), checked as the list checks an entry: such
    /// a change is not applied, so no reader can make the list invalid.
    pub fn check(&self) -> std::result::Result<(), String> {
        let mut probe = Subscriber::active(&self.email, None, Vec::new(), super::Source::Form);
        self.apply_to(&mut probe);
        validate_fields(&Fields::of(&probe))
    }

    /// `subscriber` with the change made; whether anything changed.
    pub fn apply_to(&self, subscriber: &mut Subscriber) -> bool {
        let before = subscriber.clone();
        if let Some(tags) = &self.tags {
            subscriber.tags.clone_from(tags);
        }
        if let Some(name) = &self.name {
            subscriber.name.clone_from(name);
        }
        if let Some(until) = &self.paused_until {
            subscriber.paused_until = until.map(|at| at.to_string());
        }
        if let Some(notified) = &self.consent_notified_at {
            subscriber.consent_notified_at = notified.map(|at| at.to_string());
        }
        *subscriber != before
    }
}

/// A reader leaving, and when: written `{"email": …, "at": …}`; a bare
/// address (as logs before the time was kept have it) is read too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "LeavingForm", into = "LeavingForm")]
pub struct Leaving {
    /// The address.
    pub email: String,
    /// When the reader left; none in an older log.
    pub at: Option<jiff::Timestamp>,
}

impl Leaving {
    /// `email` leaving now.
    pub fn now(email: &str) -> Leaving {
        Leaving {
            email: email.to_string(),
            at: Some(now()),
        }
    }
}

/// Now, in whole seconds: the times the list records.
pub fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap_or_default()
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum LeavingForm {
    Bare(String),
    Timed {
        email: String,
        at: Option<jiff::Timestamp>,
    },
}

impl From<LeavingForm> for Leaving {
    fn from(form: LeavingForm) -> Leaving {
        match form {
            LeavingForm::Bare(email) => Leaving { email, at: None },
            LeavingForm::Timed { email, at } => Leaving { email, at },
        }
    }
}

impl From<Leaving> for LeavingForm {
    fn from(leaving: Leaving) -> LeavingForm {
        LeavingForm::Timed {
            email: leaving.email,
            at: leaving.at,
        }
    }
}

impl Change {
    /// The address the change is about.
    pub fn email(&self) -> &str {
        match self {
            Change::Unsubscribe(leaving) => &leaving.email,
            Change::Join { reader, .. } => &reader.email,
            Change::Preferences(preferences) => &preferences.email,
        }
    }
}

/// The longest line of the log: one reader's change, with room to spare.
const MAX_LINE: usize = 64 * 1024;

/// `<list>.changes`, next to the list.
pub fn log_path(list: &Path) -> PathBuf {
    let mut name = list.file_name().unwrap_or_default().to_os_string();
    name.push(".changes");
    list.with_file_name(name)
}

/// The changes in the log of `list`, oldest first; none when there is no
/// log. A last line without its newline was never acknowledged (the
/// writer syncs before it answers) and is left out.
pub fn read(list: &Path) -> Result<Vec<Change>> {
    read_since(list, &mut LogPosition::default())
}

/// How far a reader of the log has come: bytes and lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogPosition {
    /// Bytes of complete lines read.
    pub bytes: u64,
    /// Lines read.
    pub lines: usize,
}

/// The changes the log of `list` gained after `place`, which moves past
/// them (for a send that reads the log as it grows).
pub fn read_since(list: &Path, place: &mut LogPosition) -> Result<Vec<Change>> {
    use std::io::{Read, Seek};
    let path = log_path(list);
    let mut bytes = Vec::new();
    let read = std::fs::File::open(&path).and_then(|mut file| {
        file.seek(std::io::SeekFrom::Start(place.bytes))?;
        file.read_to_end(&mut bytes)
    });
    match read {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(anyhow!("{}: cannot read the file: {e}", path.display())),
    }
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut changes = Vec::new();
    for line in bytes[..complete].split_inclusive(|&b| b == b'\n') {
        place.lines += 1;
        let number = place.lines;
        place.bytes += line.len() as u64;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let bad = |why: String| -> anyhow::Error {
            Located::line(&path, number, why)
                .help("the log holds the list's changes since it was last written: fix the line, or remove it if the change it records should not happen")
                .into()
        };
        if line.len() > MAX_LINE {
            return Err(bad(format!("a change of {} bytes is too long", line.len())));
        }
        let change = serde_json::from_slice(line).map_err(|e| bad(format!("not a change: {e}")))?;
        changes.push(change);
    }
    Ok(changes)
}

/// Appends `changes` to the log of `list` and waits for the disk; the
/// bytes and lines added. The caller holds the list's lock.
pub fn append(list: &Path, changes: &[Change]) -> Result<LogPosition> {
    if changes.is_empty() {
        return Ok(LogPosition::default());
    }
    let path = log_path(list);
    let mut lines = Vec::new();
    for change in changes {
        serde_json::to_writer(&mut lines, change)?;
        lines.push(b'\n');
    }
    crate::fs::append(&path, None, &lines, crate::fs::Durability::Synced)
        .map_err(|e| anyhow!("cannot record the change: {e:#}"))?;
    Ok(LogPosition {
        bytes: lines.len() as u64,
        lines: changes.len(),
    })
}

/// Appends `changes` to the log of `list` under the list's lock, for a
/// process that holds no editor of it.
pub fn record(list: &Path, changes: &[Change]) -> Result<()> {
    let _lock = super::edit::lock_list(list)?;
    append(list, changes).map(drop)
}

/// Removes the log of `list` once its changes are in the list. The caller
/// holds the list's lock and has written the list.
pub fn clear(list: &Path) -> Result<()> {
    let path = log_path(list);
    match std::fs::remove_file(&path) {
        Ok(()) => crate::fs::sync_dir(&path)
            .map_err(|e| anyhow!("{}: cannot sync the folder: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow!("{}: cannot remove the file: {e}", path.display())),
    }
}

/// Where each address's entries are in a list, by [`identity`].
pub type Index = HashMap<String, Vec<usize>>;

/// Where the entries of the addresses `changes` name are in `list`: one
/// pass over the list.
pub fn index(list: &List, changes: &[Change]) -> Index {
    let mut index: Index = changes
        .iter()
        .map(|c| (identity(c.email()), Vec::new()))
        .collect();
    for (i, entry) in list.entries.iter().enumerate() {
        if let Some(positions) = index.get_mut(entry.key()) {
            positions.push(i);
        }
    }
    index
}

/// What a join finds among an address's entries (status, when consent
/// was recorded, when the reader left): `None` when they are to be
/// activated again. `issued` is when the confirmation was asked for: an
/// address whose recorded consent is that late or later has used it (or a
/// newer one), and an address that left that late or later decided after
/// the link was sent, so an old link cannot undo a later unsubscribe.
pub fn join_decision(
    entries: impl Iterator<Item = (Status, Option<jiff::Timestamp>, Option<jiff::Timestamp>)>,
    issued: jiff::Timestamp,
) -> Option<Joined> {
    let (mut spent, mut active) = (false, true);
    for (status, joined, left) in entries {
        spent |= joined.is_some_and(|at| at >= issued) || left.is_some_and(|at| at >= issued);
        active &= status == Status::Active;
    }
    match (spent, active) {
        (true, _) => Some(Joined::Spent),
        (false, true) => Some(Joined::AlreadyActive),
        (false, false) => None,
    }
}

impl List {
    /// Applies `change` as the editor would apply it to the file; what a
    /// join did, and whether anything changed.
    pub fn change(&mut self, change: &Change, index: &mut Index) -> (bool, Option<Joined>) {
        let key = identity(change.email());
        let positions = index.get(&key).cloned().unwrap_or_default();
        match change {
            Change::Unsubscribe(leaving) => {
                let mut changed = false;
                for &i in &positions {
                    if self.entries[i].status() != Status::Unsubscribed {
                        changed = true;
                        self.entries[i] = left(&self.entries[i], leaving.at);
                    }
                }
                (changed, None)
            }
            Change::Preferences(preferences) => {
                if preferences.check().is_err() {
                    return (false, None);
                }
                let mut changed = false;
                for &i in &positions {
                    let mut s = self.entries[i].subscriber();
                    if preferences.apply_to(&mut s) {
                        changed = true;
                        let valid = validate_fields(&Fields::of(&s)).is_ok();
                        let entry = Entry::new(
                            self.entries[i].line,
                            Fields::of(&s),
                            valid,
                            &mut Tags::default(),
                        );
                        self.entries[i] = entry;
                    }
                }
                (changed, None)
            }
            Change::Join { reader, .. } if positions.is_empty() => {
                let valid = validate_fields(&Fields::of(reader)).is_ok();
                let entry = Entry::new(0, Fields::of(reader), valid, &mut Tags::default());
                self.entries.push(entry);
                index.insert(key, vec![self.entries.len() - 1]);
                (true, Some(Joined::Added))
            }
            Change::Join { reader, issued } => {
                let found = positions.iter().map(|&i| {
                    let entry = &self.entries[i];
                    (entry.status(), entry.joined(), entry.left())
                });
                if let Some(joined) = join_decision(found, *issued) {
                    return (false, Some(joined));
                }
                for &i in &positions {
                    self.entries[i] = reactivated(&self.entries[i], reader);
                }
                (true, Some(Joined::Reactivated))
            }
        }
    }

    /// Applies the changes of the log, in order.
    pub fn apply_all(&mut self, changes: &[Change]) {
        if changes.is_empty() {
            return;
        }
        let mut index = index(self, changes);
        for change in changes {
            self.change(change, &mut index);
        }
    }
}

/// `entry` unsubscribed at `at`, as the editor writes it.
fn left(entry: &Entry, at: Option<jiff::Timestamp>) -> Entry {
    let mut s = entry.subscriber();
    s.status = Status::Unsubscribed;
    s.unsubscribed_at = at.map(|at| at.to_string());
    let valid = validate_fields(&Fields::of(&s)).is_ok();
    Entry::new(entry.line, Fields::of(&s), valid, &mut Tags::default())
}

/// `entry` active again with the consent of `reader`: its time and
/// source, its name when the entry had none, and the tags it lacked.
fn reactivated(entry: &Entry, reader: &Subscriber) -> Entry {
    let mut s = entry.subscriber();
    s.status = Status::Active;
    s.unsubscribed_at = None;
    if reader.subscribed_at.is_some() {
        s.subscribed_at.clone_from(&reader.subscribed_at);
    }
    if reader.source.is_some() {
        s.source.clone_from(&reader.source);
    }
    if s.name.is_none() {
        s.name.clone_from(&reader.name);
    }
    for tag in &reader.tags {
        if !s.tags.contains(tag) {
            s.tags.push(tag.clone());
        }
    }
    let valid = validate_fields(&Fields::of(&s)).is_ok();
    Entry::new(entry.line, Fields::of(&s), valid, &mut Tags::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::list::{Editor, Source};

    const LIST: &str = "# Readers. Keep this comment!\n\n[[subscriber]]\nemail = \"a@example.com\"   # first\n\n[[subscriber]]\nemail = \"b@example.com\"\nstatus = \"unsubscribed\"\nsubscribed_at = \"2026-01-01T00:00:00Z\"\n";

    fn join(email: &str, issued: &str) -> Change {
        let mut reader =
            Subscriber::active(email, Some("B".into()), vec!["vip".into()], Source::Form);
        reader.subscribed_at = Some("2026-06-01T00:00:00Z".into());
        Change::Join {
            reader: Box::new(reader),
            issued: issued.parse().unwrap(),
        }
    }

    fn statuses(list: &List) -> Vec<(String, Status)> {
        list.entries
            .iter()
            .map(|e| (e.email().to_string(), e.status()))
            .collect()
    }

    #[test]
    fn the_log_is_read_after_the_list_and_folded_by_the_next_edit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscribers.toml");
        std::fs::write(&path, LIST).unwrap();
        let batch = [
            Change::Unsubscribe(Leaving::now("A@Example.com")),
            join("b@example.com", "2026-05-01T00:00:00Z"),
            join("c@example.com", "2026-05-01T00:00:00Z"),
            Change::Unsubscribe(Leaving::now("nobody@example.com")),
        ];
        append(&path, &batch).unwrap();
        // A line cut short by a crash was never answered: it is left out.
        let log = log_path(&path);
        let mut cut = std::fs::read(&log).unwrap();
        cut.extend_from_slice(b"{\"unsubscribe\":\"c@exa");
        std::fs::write(&log, &cut).unwrap();
        assert_eq!(read(&path).unwrap(), batch);

        let list = List::load(&path).unwrap();
        let want = [
            ("a@example.com".to_string(), Status::Unsubscribed),
            ("b@example.com".to_string(), Status::Active),
            ("c@example.com".to_string(), Status::Active),
        ];
        assert_eq!(statuses(&list), want);
        assert_eq!(list.entries[1].tags(), ["vip"]);
        assert_eq!(
            list.entries[1].subscribed_at(),
            Some("2026-06-01T00:00:00Z")
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), LIST);

        // The next edit folds the log in, keeps the comments, empties the log.
        let editor = Editor::open(&path).unwrap();
        assert_eq!(editor.folded(), 4);
        editor.save().unwrap();
        assert!(!log.exists());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# Readers. Keep this comment!\n"),
            "{text}"
        );
        assert!(text.contains("# first"), "{text}");
        assert_eq!(statuses(&List::load(&path).unwrap()), want);
    }

    #[test]
    fn a_join_decides_the_same_way_in_the_log_and_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscribers.toml");
        std::fs::write(&path, LIST).unwrap();
        let list = List::parse(&path, LIST).unwrap();
        for (change, want) in [
            (join("b@example.com", "2025-12-01T00:00:00Z"), Joined::Spent),
            (
                join("b@example.com", "2026-05-01T00:00:00Z"),
                Joined::Reactivated,
            ),
            (
                join("a@example.com", "2026-05-01T00:00:00Z"),
                Joined::AlreadyActive,
            ),
            (
                join("new@example.com", "2026-05-01T00:00:00Z"),
                Joined::Added,
            ),
        ] {
            let mut list = list.clone();
            let mut index = index(&list, std::slice::from_ref(&change));
            assert_eq!(list.change(&change, &mut index).1, Some(want), "{change:?}");
            let Change::Join { reader, issued } = &change else {
                unreachable!()
            };
            let mut editor = Editor::open(&path).unwrap();
            assert_eq!(editor.join(reader, *issued).unwrap(), want);
            let edited = List::parse(&path, &editor.text()).unwrap();
            assert_eq!(statuses(&edited), statuses(&list));
        }
    }

    #[test]
    fn a_leave_keeps_its_time_and_a_link_asked_for_before_it_cannot_undo_it() {
        let old: Change = serde_json::from_str(r#"{"unsubscribe":"a@example.com"}"#).unwrap();
        assert_eq!(
            old,
            Change::Unsubscribe(Leaving {
                email: "a@example.com".into(),
                at: None
            })
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscribers.toml");
        std::fs::write(&path, LIST).unwrap();
        let leave = Change::Unsubscribe(Leaving {
            email: "a@example.com".into(),
            at: Some("2026-06-01T00:00:00Z".parse().unwrap()),
        });
        append(
            &path,
            &[leave, join("a@example.com", "2026-05-01T00:00:00Z")],
        )
        .unwrap();
        let list = List::load(&path).unwrap();
        assert_eq!(list.entries[0].status(), Status::Unsubscribed);
        assert_eq!(
            list.entries[0].unsubscribed_at(),
            Some("2026-06-01T00:00:00Z")
        );
        let editor = Editor::open(&path).unwrap();
        let text = editor.text();
        assert!(text.contains("status = \"unsubscribed\""), "{text}");
        assert!(
            text.contains("unsubscribed_at = \"2026-06-01T00:00:00Z\""),
            "{text}"
        );
        // A link asked for after the leave brings the reader back.
        append(&path, &[join("a@example.com", "2026-06-02T00:00:00Z")]).unwrap();
        let list = List::load(&path).unwrap();
        assert_eq!(list.entries[0].status(), Status::Active);
        assert_eq!(list.entries[0].unsubscribed_at(), None);
    }

    fn prefer(email: &str) -> Preferences {
        Preferences {
            email: email.into(),
            at: "2026-12-03T10:00:00Z".parse().unwrap(),
            tags: None,
            name: None,
            paused_until: None,
            consent_notified_at: None,
        }
    }

    /// The name cleared and a pause set for a@example.com.
    fn cleared_and_paused() -> Preferences {
        Preferences {
            name: Some(None),
            paused_until: Some(Some("2099-01-15T00:00:00Z".parse().unwrap())),
            ..prefer("a@example.com")
        }
    }

    #[test]
    fn a_preference_change_is_a_json_line_where_null_clears_and_a_left_out_key_stays() {
        let line = r#"{"preferences":{"email":"a@example.com","at":"2026-12-03T10:00:00Z","name":null,"paused_until":"2099-01-15T00:00:00Z"}}"#;
        let change: Change = serde_json::from_str(line).unwrap();
        assert_eq!(change, Change::Preferences(cleared_and_paused()));
        assert_eq!(serde_json::to_string(&change).unwrap(), line);
    }

    /// The changes of the test below: two for a@, one for nobody, one with
    /// a value that cannot stand in an entry.
    fn preference_batch() -> [Change; 4] {
        let topics = Preferences {
            tags: Some(vec!["events".into(), "weekly".into()]),
            ..prefer("a@example.com")
        };
        [
            Change::Preferences(cleared_and_paused()),
            Change::Preferences(topics),
            Change::Preferences(Preferences {
                tags: Some(vec!["x".into()]),
                ..prefer("nobody@example.com")
            }),
            // Values that could not stand in an entry are not applied.
            Change::Preferences(Preferences {
                name: Some(Some("B\r\nBcc: c@example.net".into())),
                ..prefer("b@example.com")
            }),
        ]
    }

    /// Both entries of a@ changed, b@ and the rest as they were.
    fn holds_the_preferences(list: &List) {
        for entry in &list.entries[..2] {
            assert_eq!(entry.name(), None, "{entry:?}");
            assert_eq!(entry.tags(), ["events", "weekly"]);
            assert_eq!(entry.paused_until(), Some("2099-01-15T00:00:00Z"));
        }
        assert_eq!(list.entries[1].status(), Status::Unsubscribed);
        assert_eq!(list.entries[2].name(), Some("B"));
        assert!(list.entries.iter().all(Entry::is_valid));
        assert!(list.find("nobody@example.com").is_none());
        assert_eq!(list.entries.len(), 3);
    }

    #[test]
    fn a_preference_change_reaches_every_entry_of_the_address_and_the_fold_keeps_comments() {
        let text = "# Readers. Keep this comment!\n\n[[subscriber]]\nemail = \"a@example.com\"   # first\nname = \"A\"\ntags = [\"weekly\"]\n\n# the same reader, spelled otherwise\n[[subscriber]]\nemail = \"A@Example.com\"\nstatus = \"unsubscribed\"\n\n[[subscriber]]\nemail = \"b@example.com\"\nname = \"B\"\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscribers.toml");
        std::fs::write(&path, text).unwrap();
        let batch = preference_batch();
        append(&path, &batch).unwrap();
        let mut torn = std::fs::read(log_path(&path)).unwrap();
        torn.extend_from_slice(
            br#"{"preferences":{"email":"b@example.com","at":"2026-12-03T10:00:00Z","name":"C"#,
        );
        std::fs::write(log_path(&path), &torn).unwrap();
        assert_eq!(read(&path).unwrap(), batch, "the torn line is left out");

        let loaded = List::load(&path).unwrap();
        holds_the_preferences(&loaded);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        // Applying them again changes nothing.
        let mut again = loaded.clone();
        let mut index = index(&again, &batch);
        for change in &batch {
            assert!(!again.change(change, &mut index).0, "{change:?}");
        }

        assert_eq!(crate::list::compact(&path).unwrap(), batch.len());
        assert!(!log_path(&path).exists());
        let folded = std::fs::read_to_string(&path).unwrap();
        assert!(folded.starts_with("# Readers. Keep this comment!\n\n[[subscriber]]\nemail = \"a@example.com\"   # first\n"), "{folded}");
        assert!(
            folded.contains(
                "# the same reader, spelled otherwise\n[[subscriber]]\nemail = \"A@Example.com\""
            ),
            "{folded}"
        );
        assert!(!folded.contains("nobody"), "{folded}");
        assert!(!folded.contains("Bcc"), "{folded}");
        holds_the_preferences(&List::load(&path).unwrap());

        // The editor of the whole document folds the same way.
        std::fs::write(&path, text).unwrap();
        append(&path, &batch).unwrap();
        let editor = Editor::open(&path).unwrap();
        assert_eq!(editor.text(), folded);
    }

    #[test]
    fn a_damaged_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscribers.toml");
        std::fs::write(&path, LIST).unwrap();
        append(&path, &[Change::Unsubscribe(Leaving::now("a@example.com"))]).unwrap();
        let mut text = std::fs::read_to_string(log_path(&path)).unwrap();
        text.push_str("{\"leave\": 1}\n");
        std::fs::write(log_path(&path), text).unwrap();
        let err = format!("{:#}", List::load(&path).unwrap_err());
        assert!(err.contains("subscribers.toml.changes:2"), "{err}");
        assert!(err.contains("not a change"), "{err}");
    }
}
