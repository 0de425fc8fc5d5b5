//! Reading `subscribers.toml` at a million readers: the file is read a
//! line at a time and each `[[subscriber]]` table is parsed on its own by
//! TOML's event parser straight into a compact [`Entry`], without a
//! document tree. Whatever this path does not fully understand (keys
//! before the first table, inline arrays of tables, multi-line strings,
//! unknown keys, a value of the wrong type, bad syntax) goes to the parser
//! of the whole file, which reads it or names the line that is wrong.

use std::borrow::Cow;
use std::io::BufRead;
use std::path::Path;

use toml_parser::decoder::{Encoding, ScalarKind};
use toml_parser::parser::{parse_document, Event, EventKind};
use toml_parser::{ParseError, Raw};

use super::entry::{Fields, Tags};
use super::{validate_fields, Entry, EntryFinding, Severity, Status};

/// The entries of a list and the errors of its invalid ones, in file
/// order; `None` when the whole-file parser must read it.
pub(super) struct TableReader {
    entries: Vec<Entry>,
    findings: Vec<EntryFinding>,
    tags: Tags,
    /// The line of the table being read, once the first one began.
    table: Option<usize>,
    body: String,
    events: Vec<Event>,
    scratch: Vec<String>,
}

impl TableReader {
    /// A reader expecting about `entries` readers.
    pub(super) fn new(entries: usize) -> TableReader {
        TableReader {
            entries: Vec::with_capacity(entries),
            findings: Vec::new(),
            tags: Tags::default(),
            table: None,
            body: String::new(),
            events: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Reads `source` whole.
    pub(super) fn text(source: &str) -> Option<(Vec<Entry>, Vec<EntryFinding>)> {
        let mut reader = TableReader::new(source.len() / 64);
        for (index, line) in source.split_inclusive('\n').enumerate() {
            reader.line(index + 1, line)?;
        }
        reader.finish()
    }

    /// Reads the file at `path` a line at a time. `Ok(None)`: the
    /// whole-file parser must read it (or explain why it cannot).
    pub(super) fn file(path: &Path) -> std::io::Result<Option<(Vec<Entry>, Vec<EntryFinding>)>> {
        let file = std::fs::File::open(path)?;
        let size = file.metadata().map_or(0, |m| m.len());
        let mut input = std::io::BufReader::with_capacity(1 << 18, file);
        let mut reader = TableReader::new(usize::try_from(size / 64).unwrap_or(0));
        let mut line = String::new();
        for number in 1.. {
            line.clear();
            // Invalid UTF-8 is an error here; the caller's reader names its place.
            match input.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => return Ok(None),
                Err(e) => return Err(e),
            }
            if reader.line(number, &line).is_none() {
                return Ok(None);
            }
        }
        Ok(reader.finish())
    }

    fn line(&mut self, number: usize, line: &str) -> Option<()> {
        if is_subscriber_header(line) {
            self.close()?;
            self.table = Some(number);
            return Some(());
        }
        if self.table.is_none() {
            // Before the first table only comments and blank lines are plain.
            let code = line.trim();
            return (code.is_empty() || code.starts_with('#')).then_some(());
        }
        self.body.push_str(line);
        Some(())
    }

    /// Reads the table collected so far into an entry.
    fn close(&mut self) -> Option<()> {
        let Some(line) = self.table else {
            return Some(());
        };
        self.scratch.clear();
        let body = std::mem::take(&mut self.body);
        let read = read_table(&body, &mut self.events, &mut self.scratch).map(|table| {
            let fields = table.fields(&self.scratch);
            let valid = match validate_fields(&fields) {
                Ok(()) => true,
                Err(message) => {
                    self.findings.push(EntryFinding {
                        line,
                        severity: Severity::Error,
                        message,
                    });
                    false
                }
            };
            self.entries
                .push(Entry::new(line, fields, valid, &mut self.tags));
        });
        self.body = body;
        self.body.clear();
        read
    }

    fn finish(mut self) -> Option<(Vec<Entry>, Vec<EntryFinding>)> {
        self.close()?;
        self.entries.shrink_to_fit();
        Some((self.entries, self.findings))
    }
}

/// `[[subscriber]]`, with optional spaces and a trailing comment.
pub(super) fn is_subscriber_header(line: &str) -> bool {
    let code = line.split('#').next().unwrap_or("").trim();
    let Some(inner) = code.strip_prefix("[[").and_then(|c| c.strip_suffix("]]")) else {
        return false;
    };
    inner.trim() == "subscriber"
}

/// The values of one table, borrowed from its text where no escape
/// needed decoding.
#[derive(Default)]
struct Table<'s> {
    email: Option<Cow<'s, str>>,
    name: Option<Cow<'s, str>>,
    status: Option<Status>,
    tags: bool,
    subscribed_at: Option<Cow<'s, str>>,
    source: Option<Cow<'s, str>>,
    unsubscribed_at: Option<Cow<'s, str>>,
    paused_until: Option<Cow<'s, str>>,
    consent_notified_at: Option<Cow<'s, str>>,
}

impl<'s> Table<'s> {
    fn fields<'a>(&'a self, tags: &'a [String]) -> Fields<'a> {
        Fields {
            email: self.email.as_deref().unwrap_or_default(),
            name: self.name.as_deref(),
            status: self.status.unwrap_or_default(),
            tags,
            subscribed_at: self.subscribed_at.as_deref(),
            source: self.source.as_deref(),
            unsubscribed_at: self.unsubscribed_at.as_deref(),
            paused_until: self.paused_until.as_deref(),
            consent_notified_at: self.consent_notified_at.as_deref(),
        }
    }

    /// Stores `value` under `key`; `None` for a key given twice.
    fn set(&mut self, key: Key, value: Cow<'s, str>) -> Option<()> {
        let slot = match key {
            Key::Email => &mut self.email,
            Key::Name => &mut self.name,
            Key::SubscribedAt => &mut self.subscribed_at,
            Key::Source => &mut self.source,
            Key::UnsubscribedAt => &mut self.unsubscribed_at,
            Key::PausedUntil => &mut self.paused_until,
            Key::ConsentNotifiedAt => &mut self.consent_notified_at,
            Key::Status => {
                let status = match value.as_ref() {
                    "active" => Status::Active,
                    "unsubscribed" => Status::Unsubscribed,
                    "bounced" => Status::Bounced,
                    _ => return None,
                };
                return self.status.replace(status).is_none().then_some(());
            }
            Key::Tags => return None,
        };
        slot.replace(value).is_none().then_some(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Email,
    Name,
    Status,
    Tags,
    SubscribedAt,
    Source,
    UnsubscribedAt,
    PausedUntil,
    ConsentNotifiedAt,
}

impl Key {
    fn of(name: &str) -> Option<Key> {
        Some(match name {
            "email" => Key::Email,
            "name" => Key::Name,
            "status" => Key::Status,
            "tags" => Key::Tags,
            "subscribed_at" => Key::SubscribedAt,
            "source" => Key::Source,
            "unsubscribed_at" => Key::UnsubscribedAt,
            "paused_until" => Key::PausedUntil,
            "consent_notified_at" => Key::ConsentNotifiedAt,
            _ => return None,
        })
    }
}

/// One table's body (the lines after its header) read with TOML's lexer
/// and event parser; its tags go to `tags`. `None` for anything but plain
/// `key = "string"` and `tags = ["…"]` lines with known keys.
fn read_table<'s>(
    body: &'s str,
    events: &mut Vec<Event>,
    tags: &mut Vec<String>,
) -> Option<Table<'s>> {
    let tokens = toml_parser::Source::new(body).lex().into_vec();
    events.clear();
    let mut error: Option<ParseError> = None;
    parse_document(&tokens, events, &mut error);
    if error.is_some() {
        return None;
    }
    let mut table = Table::default();
    let mut key = None;
    let mut in_array = false;
    for event in events.iter() {
        let span = event.span();
        let raw = Raw::new_unchecked(body.get(span.start()..span.end())?, event.encoding(), span);
        match event.kind() {
            EventKind::Whitespace | EventKind::Newline | EventKind::KeyValSep => {}
            EventKind::ValueSep if in_array => {}
            EventKind::Comment => {
                raw.decode_comment(&mut error);
                error.is_none().then_some(())?;
            }
            EventKind::SimpleKey if key.is_none() => {
                let mut name = Cow::Borrowed("");
                raw.decode_key(&mut name, &mut error);
                key = Some(Key::of(&name)?);
            }
            EventKind::ArrayOpen if key == Some(Key::Tags) && !in_array && !table.tags => {
                in_array = true;
            }
            EventKind::ArrayClose if in_array => {
                (in_array, table.tags, key) = (false, true, None);
            }
            EventKind::Scalar => {
                let value = string(raw, event.encoding(), &mut error)?;
                if in_array {
                    tags.push(value.into_owned());
                } else {
                    table.set(key.take()?, value)?;
                }
            }
            _ => return None,
        }
        error.is_none().then_some(())?;
    }
    (key.is_none() && table.email.is_some()).then_some(table)
}

/// A quoted string value; `None` for any other kind. A multi-line string
/// is refused too: it may hold a line that looks like a table header, and
/// only the parser of the whole file can tell.
fn string<'s>(
    raw: Raw<'s>,
    encoding: Option<Encoding>,
    error: &mut Option<ParseError>,
) -> Option<Cow<'s, str>> {
    let Some(Encoding::BasicString | Encoding::LiteralString) = encoding else {
        return None;
    };
    let mut value = Cow::Borrowed("");
    match raw.decode_scalar(&mut value, error) {
        ScalarKind::String if error.is_none() => Some(value),
        _ => None,
    }
}

/// Where the `[[subscriber]]` tables of `source` whose address `wanted`
/// accepts are (each from its header line to the next header), in file
/// order; `None` when the file is one the whole-file parser must read.
pub(super) fn tables(
    source: &str,
    wanted: impl Fn(&str) -> bool,
) -> Option<Vec<std::ops::Range<usize>>> {
    let mut tables = Vec::new();
    let mut events = Vec::new();
    let mut scratch = Vec::new();
    let mut open: Option<(usize, usize)> = None; // (header start, body start)
    let mut close = |open: Option<(usize, usize)>, end: usize| -> Option<()> {
        let Some((start, body)) = open else {
            return Some(());
        };
        scratch.clear();
        let table = read_table(&source[body..end], &mut events, &mut scratch)?;
        if wanted(table.email.as_deref()?) {
            tables.push(start..end);
        }
        Some(())
    };
    let mut offset = 0;
    for line in source.split_inclusive('\n') {
        if is_subscriber_header(line) {
            close(open, offset)?;
            open = Some((offset, offset + line.len()));
        } else if open.is_none() {
            let code = line.trim();
            (code.is_empty() || code.starts_with('#')).then_some(())?;
        }
        offset += line.len();
    }
    close(open, source.len())?;
    Some(tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(source: &str) -> (Vec<Entry>, Vec<EntryFinding>) {
        let list = super::super::List::parse_whole(Path::new("s.toml"), source).unwrap();
        (list.entries, list.findings)
    }

    #[test]
    fn reads_what_the_whole_file_parser_reads() {
        let source = concat!(
            "# readers\n\n[[subscriber]] # one\n",
            "email = \"a@example.com\"   # trailing\nname = \"김독자 \\\"K\\\" \\u00e9\"\n",
            "tags = [\n  \"weekly\", # why\n  'vip',\n]\nstatus = \"unsubscribed\"\n\n",
            "[[ subscriber ]]\n'email' = 'B@Example.com'\nsubscribed_at = \"2026-11-01T09:00:00Z\"\n",
            "source = \"form\"\ntags = [\"weekly\", \"vip\"]\npaused_until = \"2027-01-15T00:00:00Z\"\n",
            "[[subscriber]]\nemail = \"not an address\"\nname = \"x\"\n",
        );
        let (entries, findings) = TableReader::text(source).expect("the fast path reads it");
        let (want_entries, want_findings) = whole(source);
        assert_eq!(entries, want_entries);
        assert_eq!(findings, want_findings);
        assert_eq!(entries[0].name(), Some("김독자 \"K\" é"));
        assert_eq!(entries[0].tags(), ["weekly", "vip"]);
        assert_eq!(entries[1].key(), "b@example.com");
        assert_eq!(entries[1].email(), "B@Example.com");
        assert_eq!(entries[1].paused_until(), Some("2027-01-15T00:00:00Z"));
        assert_eq!(
            entries[1].subscriber().paused_until,
            entries[1].paused_until().map(String::from)
        );
        assert!(!entries[2].is_valid() && entries[2].address().is_none());
        assert_eq!(findings[0].line, 18);
    }

    #[test]
    fn leaves_every_unusual_table_to_the_whole_file_parser() {
        for body in [
            "emial = \"a@example.com\"\n",
            "email = \"a@example.com\"\nemail = \"b@example.com\"\n",
            "email = 1\n",
            "email = \"a@example.com\"\ntags = \"weekly\"\n",
            "email = \"a@example.com\"\ntags = [[\"a\"]]\n",
            "email = \"a@example.com\"\nname.first = \"A\"\n",
            "email = \"a@example.com\"\nname = { x = 1 }\n",
            "email = \"a@example.com\"\nstatus = \"gone\"\n",
            "email = \"a@example.com\"\nname = \"\"\"A\n[[subscriber]]\n\"\"\"\n",
            "email = \"a@example.com\"\n[other]\nx = 1\n",
            "email = \"a@example.com\" junk\n",
            "name = \"no email\"\n",
            "email = \"a@example.com\"\n# bad \u{7} comment\n",
        ] {
            let source = format!("[[subscriber]]\n{body}");
            assert!(TableReader::text(&source).is_none(), "{body:?}");
        }
        assert!(
            TableReader::text("title = \"x\"\n[[subscriber]]\nemail = \"a@example.com\"\n")
                .is_none()
        );
    }
}
