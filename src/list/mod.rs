//! `subscribers.toml`: the readers, their status and tags; validation,
//! de-duplication and audience selection.

pub mod changes;
pub mod commands;
mod consent;
mod csv_io;
mod edit;
mod entry;
mod fold;
mod live;
mod read;
pub mod report;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use lettre::Address;
use serde::{Deserialize, Serialize};
use toml::Spanned;

pub use crate::address::{ascii_form, identity, mailbox_address, parse_address};
pub use changes::{Change, Leaving};
pub use consent::ConsentMail;
pub use csv_io::{export_csv, import_csv, import_into, ImportReport};
pub use edit::{stamp, Editor, FileStamp, Joined};
pub use entry::{Entry, Fields, Paused};
pub use fold::compact;
pub use live::Live;

use crate::error::{read_text, Located};

/// Where a reader stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Receives issues.
    #[default]
    Active,
    /// Asked to stop.
    Unsubscribed,
    /// The address does not accept mail.
    Bounced,
}

impl Status {
    /// The word used in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Unsubscribed => "unsubscribed",
            Status::Bounced => "bounced",
        }
    }
}

/// One `[[subscriber]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscriber {
    /// The address.
    pub email: String,
    /// Display name, used by `{{ name }}`.
    pub name: Option<String>,
    /// active, unsubscribed or bounced.
    #[serde(default)]
    pub status: Status,
    /// Tags matched against an issue's `audience`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// When the reader joined or last confirmed (RFC 3339): the consent record.
    pub subscribed_at: Option<String>,
    /// How the reader joined: `form`, `import` or `cli` (or another tool's word).
    pub source: Option<String>,
    /// When the reader left (RFC 3339), while unsubscribed: a confirmation
    /// link asked for before it cannot bring them back.
    pub unsubscribed_at: Option<String>,
    /// Until when the reader asked for no issues (RFC 3339): sends skip
    /// them while it is in the future. Left out of a change-log line
    /// when unset, so the line reads as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_until: Option<String>,
    /// When the reader was last mailed about their consent (RFC 3339): a
    /// result notice or a reminder (`[consent]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_notified_at: Option<String>,
}

/// How a reader came onto the list, as `source` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Confirmed through the subscribe form's mail.
    Form,
    /// `subscribers import`.
    Import,
    /// `subscribers add`, or confirmed after `subscribers add --confirm`.
    Cli,
}

impl Source {
    /// The word written into the list.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Form => "form",
            Source::Import => "import",
            Source::Cli => "cli",
        }
    }
}

impl Subscriber {
    /// An active reader who joined now, by `source`.
    pub fn active(
        email: &str,
        name: Option<String>,
        tags: Vec<String>,
        source: Source,
    ) -> Subscriber {
        Subscriber {
            email: email.trim().to_string(),
            name,
            status: Status::Active,
            tags,
            subscribed_at: Some(crate::time::rfc3339(std::time::SystemTime::now())),
            source: Some(source.as_str().to_string()),
            unsubscribed_at: None,
            paused_until: None,
            consent_notified_at: None,
        }
    }

    /// `subscribed_at` as a point in time, when it is set and valid.
    pub fn joined(&self) -> Option<jiff::Timestamp> {
        self.subscribed_at.as_deref()?.parse().ok()
    }
}

/// The longest `source` value: a word, not a note.
pub const MAX_SOURCE_CHARS: usize = 64;

/// How serious a finding about the list is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Stops `send` unless `--skip-invalid`.
    Error,
    /// Reported; the send goes on.
    Warning,
}

/// Something wrong with one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFinding {
    /// 1-based line of the entry.
    pub line: usize,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong and what to do.
    pub message: String,
}

/// How many entries of each kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Active readers.
    pub active: usize,
    /// Unsubscribed readers.
    pub unsubscribed: usize,
    /// Bounced readers.
    pub bounced: usize,
    /// Invalid entries in the list.
    pub invalid: usize,
    /// Duplicate entries in the list.
    pub duplicates: usize,
}

/// The loaded list.
#[derive(Debug, Clone)]
pub struct List {
    /// The file it came from.
    pub path: PathBuf,
    /// The entries in file order.
    pub entries: Vec<Entry>,
    /// Invalid entries (errors) and duplicates (warnings), by line.
    pub findings: Vec<EntryFinding>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListFile {
    #[serde(default)]
    subscriber: Vec<Spanned<Subscriber>>,
}

impl List {
    /// Loads and validates `path` and applies the changes its log holds
    /// (see [`changes`]).
    pub fn load(path: &Path) -> Result<List> {
        // The log is emptied only after the list was replaced: when the
        // file read is still the file in place once the log was read, the
        // two fit together. A bounded number of tries.
        for _ in 0..10 {
            let before = stamp(path);
            let mut list = List::load_file(path)?;
            let pending = changes::read(path)?;
            if before.is_some() && stamp(path) == before {
                list.apply_all(&pending);
                return Ok(list);
            }
        }
        anyhow::bail!(
            "{}: the file was replaced ten times while it was read; try again when the list is not being rewritten",
            path.display()
        )
    }

    /// Loads and validates the file at `path` alone, a line at a time.
    pub fn load_file(path: &Path) -> Result<List> {
        match read::TableReader::file(path) {
            Ok(Some((entries, findings))) => Ok(List::new(path, entries, findings)),
            Ok(None) => List::parse_whole(path, &read_text(path)?),
            Err(e) => Err(anyhow::anyhow!(
                "{}: cannot read the file: {e}",
                path.display()
            )),
        }
    }

    /// Parses and validates the text of a list file.
    pub fn parse(path: &Path, source: &str) -> Result<List> {
        match read::TableReader::text(source) {
            Some((entries, findings)) => Ok(List::new(path, entries, findings)),
            None => List::parse_whole(path, source),
        }
    }

    /// The list through the parser of the whole file, which reads every
    /// spelling TOML allows and names the line of what it cannot read.
    fn parse_whole(path: &Path, source: &str) -> Result<List> {
        let file: ListFile =
            toml::from_str(source).map_err(|e| Located::from_toml(path, source, 0, &e))?;
        let lines = LineIndex::new(source);
        let mut tags = entry::Tags::default();
        let mut findings = Vec::new();
        let entries = file
            .subscriber
            .into_iter()
            .map(|spanned| {
                let line = lines.line(spanned.span().start);
                let fields = Fields::of(spanned.get_ref());
                let valid = validate_fields(&fields)
                    .map_err(|message| {
                        findings.push(EntryFinding {
                            line,
                            severity: Severity::Error,
                            message,
                        })
                    })
                    .is_ok();
                Entry::new(line, fields, valid, &mut tags)
            })
            .collect();
        Ok(List::new(path, entries, findings))
    }

    /// The list with a warning for every entry whose address an earlier
    /// entry already has.
    fn new(path: &Path, entries: Vec<Entry>, mut findings: Vec<EntryFinding>) -> List {
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(entries.len());
        for entry in &entries {
            match seen.get(entry.key()) {
                Some(&first) => findings.push(EntryFinding {
                    line: entry.line,
                    severity: Severity::Warning,
                    message: format!(
                        "`{}` duplicates the entry on line {first}; it is sent once",
                        entry.email()
                    ),
                }),
                None => {
                    seen.insert(entry.key(), entry.line);
                }
            }
        }
        drop(seen);
        findings.sort_by_key(|f| (f.line, f.severity == Severity::Warning));
        List {
            path: path.to_path_buf(),
            entries,
            findings,
        }
    }

    /// Counts by status of `entries`, and the list's invalid and duplicate entries.
    pub fn counts<'a>(&self, entries: impl Iterator<Item = &'a Entry>) -> Counts {
        let mut counts = Counts::default();
        for entry in entries {
            match entry.status() {
                Status::Active => counts.active += 1,
                Status::Unsubscribed => counts.unsubscribed += 1,
                Status::Bounced => counts.bounced += 1,
            }
        }
        counts.invalid = self.errors().count();
        counts.duplicates = self.findings.len() - counts.invalid;
        counts
    }

    /// The errors (invalid entries).
    pub fn errors(&self) -> impl Iterator<Item = &EntryFinding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }

    /// The readers an issue reaches: active, valid, carrying one of
    /// `audience` (everyone when empty) and one of `tags` (everyone when
    /// empty), each address once (the first entry wins). An address with
    /// any entry that is unsubscribed or bounced is never reached, whatever
    /// its other entries say.
    pub fn recipients<'a>(&'a self, audience: &'a [String], tags: &'a [String]) -> Vec<&'a Entry> {
        let stopped = self.stopped();
        let mut seen = std::collections::HashSet::with_capacity(self.entries.len());
        let carries = |entry: &Entry, wanted: &[String]| {
            wanted.is_empty() || entry.tags().iter().any(|t| wanted.contains(t))
        };
        self.entries
            .iter()
            .filter(|e| e.status() == Status::Active && e.is_valid())
            .filter(|e| carries(e, audience) && carries(e, tags))
            .filter(|e| !stopped.contains(e.key()) && seen.insert(e.key()))
            .collect()
    }

    /// [`List::recipients`] less the readers paused at `now`, and how many
    /// those are: the readers a send mails.
    pub fn reached<'a>(
        &'a self,
        audience: &'a [String],
        tags: &'a [String],
        now: jiff::Timestamp,
    ) -> (Vec<&'a Entry>, Paused) {
        let mut paused = Paused::default();
        let mut readers = self.recipients(audience, tags);
        readers.retain(|e| match e.paused(now) {
            Some(until) => {
                paused.add(until);
                false
            }
            None => true,
        });
        (readers, paused)
    }

    /// The identities of the addresses that must not be mailed: those with
    /// an entry that is unsubscribed or bounced.
    pub fn stopped(&self) -> std::collections::HashSet<&str> {
        self.entries
            .iter()
            .filter(|e| e.status() != Status::Active)
            .map(|e| e.key())
            .collect()
    }

    /// The entry for `address`, compared by `identity`.
    pub fn find(&self, address: &str) -> Option<&Entry> {
        let key = identity(address);
        self.entries.iter().find(|e| e.key() == key)
    }

    /// An error listing every invalid entry, for `send`.
    pub fn invalid_error(&self) -> Option<anyhow::Error> {
        let found: Vec<Located> = self
            .errors()
            .map(|f| Located::line(&self.path, f.line, f.message.clone()))
            .collect();
        if found.is_empty() {
            return None;
        }
        let message = format!(
            "the subscriber list has {} invalid entr{}; nothing was sent",
            found.len(),
            if found.len() == 1 { "y" } else { "ies" },
        );
        let help = "fix or remove them, or pass --skip-invalid to send to the valid readers only";
        Some(
            crate::error::Many {
                found,
                message,
                help: help.into(),
            }
            .into(),
        )
    }
}

/// The longest display name: with the address it keeps the To header, even
/// RFC 2047-encoded, within the 998 octets a line may have.
pub const MAX_NAME_CHARS: usize = 150;

/// Checks one entry: a deliverable address, a name fit for a header and
/// tags on one line.
pub fn validate(subscriber: &Subscriber) -> std::result::Result<Address, String> {
    validate_fields(&Fields::of(subscriber))?;
    parse_address(&subscriber.email)
}

/// [`validate`] for the fields of an entry however they were read.
pub fn validate_fields(subscriber: &Fields<'_>) -> std::result::Result<(), String> {
    if let Some(name) = subscriber.name {
        if name.chars().any(char::is_control) {
            return Err(format!(
                "the name of `{}` contains a line break or control character",
                subscriber.email
            ));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(format!(
                "the name of `{}` is {} characters long; at most {MAX_NAME_CHARS} fit in a To header",
                subscriber.email,
                name.chars().count()
            ));
        }
    }
    if let Some(tag) = subscriber
        .tags
        .iter()
        .find(|t| t.trim().is_empty() || t.chars().any(char::is_control))
    {
        return Err(format!(
            "`{}` has the tag {:?}; a tag is a word or two on one line",
            subscriber.email, tag
        ));
    }
    for (key, at) in [
        ("subscribed_at", subscriber.subscribed_at),
        ("unsubscribed_at", subscriber.unsubscribed_at),
        ("paused_until", subscriber.paused_until),
        ("consent_notified_at", subscriber.consent_notified_at),
    ] {
        if let Some(at) = at.filter(|at| at.parse::<jiff::Timestamp>().is_err()) {
            return Err(format!(
                "`{}` has {key} = {at:?}, which is not an RFC 3339 time: write a UTC time such as \"2026-12-02T09:30:00Z\" or one with its offset such as \"2026-12-02T18:30:00+09:00\"",
                subscriber.email
            ));
        }
    }
    if let Some(source) = subscriber.source {
        if source.trim().is_empty()
            || source.chars().any(char::is_control)
            || source.chars().count() > MAX_SOURCE_CHARS
        {
            return Err(format!(
                "`{}` has source = {source:?}; a source is one word such as \"form\", \"import\" or \"cli\"",
                subscriber.email
            ));
        }
    }
    parse_address(subscriber.email).map(drop)
}

/// Byte offset → line number, for large files.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> List {
        List::parse(Path::new("subscribers.toml"), text).unwrap()
    }

    #[test]
    fn validates_addresses_and_names_with_lines() {
        let list = parse(
            "[[subscriber]]\nemail = \"ok@example.com\"\n\n[[subscriber]]\nemail = \"not an address\"\n\n[[subscriber]]\nemail = \"x@example.org\"\nname = \"Evil\\r\\nBcc: a@example.net\"\n",
        );
        let errors: Vec<_> = list.errors().collect();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].line, 4);
        assert!(errors[0].message.contains("not a valid email address"));
        assert_eq!(errors[1].line, 7);
        assert!(errors[1].message.contains("line break"));
        assert!(list
            .invalid_error()
            .unwrap()
            .to_string()
            .contains("subscribers.toml:4: error:"));
    }

    #[test]
    fn a_pause_is_an_rfc_3339_time_and_skips_the_reader_until_then() {
        let list = parse(
            "[[subscriber]]\nemail = \"a@example.com\"\npaused_until = \"2027-01-15T00:00:00Z\"\n\n[[subscriber]]\nemail = \"b@example.com\"\npaused_until = \"next week\"\n\n[[subscriber]]\nemail = \"c@example.com\"\npaused_until = \"2026-01-01T00:00:00+09:00\"\n",
        );
        let errors: Vec<_> = list.errors().collect();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 5);
        assert!(
            errors[0].message.contains("paused_until = \"next week\", which is not an RFC 3339 time: write a UTC time such as \"2026-12-02T09:30:00Z\""),
            "{}",
            errors[0].message
        );
        let now: jiff::Timestamp = "2026-12-04T00:00:00Z".parse().unwrap();
        let (readers, paused) = list.reached(&[], &[], now);
        let emails: Vec<_> = readers.iter().map(|e| e.email()).collect();
        assert_eq!(emails, ["c@example.com"]);
        assert_eq!(
            paused.describe().as_deref(),
            Some("1 reader paused (until 2027-01-15)")
        );
        // Once the pause has passed, the reader is mailed again.
        let later: jiff::Timestamp = "2027-01-15T00:00:01Z".parse().unwrap();
        assert_eq!(list.reached(&[], &[], later).0.len(), 2);
        assert_eq!(list.reached(&[], &[], later).1, Paused::default());
    }

    #[test]
    fn duplicates_are_warned_and_sent_once() {
        let list = parse(
            "[[subscriber]]\nemail = \"Reader@Example.com\"\n[[subscriber]]\nemail = \"reader@example.com\"\n",
        );
        assert_eq!(list.findings.len(), 1);
        assert_eq!(list.findings[0].severity, Severity::Warning);
        assert_eq!(list.findings[0].line, 3);
        assert!(list.findings[0].message.contains("line 1"));
        assert_eq!(list.recipients(&[], &[]).len(), 1);
    }

    #[test]
    fn recipients_follow_status_audience_and_tags() {
        let list = parse(
            r#"
[[subscriber]]
email = "a@example.com"
tags = ["weekly"]
[[subscriber]]
email = "b@example.com"
tags = ["weekly", "vip"]
status = "unsubscribed"
[[subscriber]]
email = "c@example.com"
tags = ["vip"]
[[subscriber]]
email = "d@example.com"
status = "bounced"
"#,
        );
        let emails = |v: Vec<&Entry>| v.iter().map(|e| e.email().to_string()).collect::<Vec<_>>();
        assert_eq!(
            emails(list.recipients(&[], &[])),
            ["a@example.com", "c@example.com"]
        );
        assert_eq!(
            emails(list.recipients(&["weekly".into()], &[])),
            ["a@example.com"]
        );
        assert_eq!(
            emails(list.recipients(&[], &["vip".into()])),
            ["c@example.com"]
        );
    }

    #[test]
    fn parses_every_toml_spelling_of_the_list() {
        let spaced = parse("# list\n[[ subscriber ]] # first\nemail = \"a@example.com\"\n[[subscriber]]\nemail = \"b@example.com\"\n");
        assert_eq!(spaced.entries.len(), 2);
        assert_eq!((spaced.entries[0].line, spaced.entries[1].line), (2, 4));
        let inline = parse("subscriber = [\n  { email = \"a@example.com\" },\n  { email = \"b@example.com\", name = \"B\" },\n]\n");
        assert_eq!(inline.entries.len(), 2);
        assert_eq!(inline.entries[1].line, 3);
        let err = List::parse(
            Path::new("s.toml"),
            "titel = 1\n[[subscriber]]\nemail = \"a@example.com\"\n",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("s.toml:1:1: unknown field `titel`"),
            "{err}"
        );
        let err = List::parse(Path::new("s.toml"), "[[subscriber]]\nemail = \"a@example.com\"\n\n[[subscriber]]\nemial = \"b@example.com\"\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("s.toml:5:1: unknown field `emial`"),
            "{err}"
        );
    }

    #[test]
    fn line_index_matches_line_col() {
        let text = "a\nbb\n\nccc";
        let index = LineIndex::new(text);
        for offset in 0..text.len() {
            assert_eq!(index.line(offset), crate::error::line_col(text, offset).0);
        }
    }
}
