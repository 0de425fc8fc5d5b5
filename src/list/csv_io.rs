//! CSV import (exports of Mailchimp, Stibee, spreadsheets) and export.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use super::{identity, Editor, List, Source, Status, Subscriber};
use crate::error::Located;

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Readers added.
    pub added: usize,
    /// Rows skipped because the address is already in the list or earlier in the file.
    pub duplicates: Vec<(usize, String)>,
    /// Rows skipped because the address is not valid: (row line, why).
    pub invalid: Vec<(usize, String)>,
    /// Rows skipped because the reader asked to be forgotten: row lines.
    pub forgotten: Vec<usize>,
}

/// Header names of the address column, compared without case, spaces, `_`, `-`.
const EMAIL_COLUMNS: &[&str] = &[
    "email",
    "emailaddress",
    "mail",
    "이메일",
    "이메일주소",
    "메일",
    "메일주소",
];
const NAME_COLUMNS: &[&str] = &["name", "fullname", "displayname", "이름", "성명", "성함"];
const FIRST_NAME_COLUMNS: &[&str] = &["firstname", "givenname"];
const LAST_NAME_COLUMNS: &[&str] = &["lastname", "familyname", "surname"];
const TAG_COLUMNS: &[&str] = &["tags", "tag", "태그"];
const STATUS_COLUMNS: &[&str] = &["status", "memberstatus", "상태"];

/// A status as other tools write it: letterpress's words, Mailchimp's
/// (`subscribed`, `cleaned`) and Korean ones.
fn status_of(word: &str) -> Option<Status> {
    Some(match normalise(word).as_str() {
        "" | "active" | "subscribed" | "구독" | "구독중" => Status::Active,
        "unsubscribed" | "optedout" | "구독취소" | "수신거부" => Status::Unsubscribed,
        "bounced" | "cleaned" | "반송" => Status::Bounced,
        _ => return None,
    })
}

fn normalise(header: &str) -> String {
    header
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

fn find_column(headers: &[String], names: &[&str]) -> Option<usize> {
    headers
        .iter()
        .position(|h| names.contains(&normalise(h).as_str()))
}

/// Adds the rows of `csv_path` to the list open in `editor`. Existing
/// entries are never changed or dropped.
///
/// A reader for whom `forgotten` says yes asked to be forgotten
/// (`subscribers forget`): their row is skipped, as an unsubscribed
/// reader's would be.
pub fn import_csv(
    editor: &mut Editor,
    csv_path: &Path,
    email_column: Option<&str>,
    tags: &[String],
    forgotten: &dyn Fn(&str) -> bool,
) -> Result<ImportReport> {
    let bytes = read_utf8(csv_path)?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(&bytes[..]);
    let headers: Vec<String> = reader.headers()?.iter().map(str::to_string).collect();
    let columns = Columns::find(csv_path, &headers, email_column)?;
    let mut report = ImportReport::default();
    let mut in_file = HashSet::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("{}: malformed CSV", csv_path.display()))?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let subscriber = match columns.subscriber(&record, tags) {
            Ok(subscriber) => subscriber,
            Err(why) => {
                report.invalid.push((line, why));
                continue;
            }
        };
        let email = subscriber.email.clone();
        if let Err(why) = super::validate(&subscriber) {
            report.invalid.push((line, why));
        } else if editor.contains(&email) || !in_file.insert(identity(&email)) {
            report.duplicates.push((line, email));
        } else if forgotten(&email) {
            report.forgotten.push(line);
        } else {
            editor.add(&subscriber)?;
            report.added += 1;
        }
    }
    Ok(report)
}

/// The file's bytes without a byte-order mark; an error at the line of the
/// first byte that is not UTF-8.
fn read_utf8(csv_path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(csv_path)
        .with_context(|| format!("{}: cannot read the file", csv_path.display()))?;
    let bytes = match bytes.strip_prefix(b"\xef\xbb\xbf") {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    if let Err(e) = std::str::from_utf8(&bytes) {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        return Err(Located::line(csv_path, line, "the file is not UTF-8")
            .help("export it as \"CSV UTF-8\" (spreadsheets often save Korean text as CP949)")
            .into());
    }
    Ok(bytes)
}

/// Where the fields of a reader are in the rows.
struct Columns {
    email: usize,
    name: Option<usize>,
    first: Option<usize>,
    last: Option<usize>,
    tags: Option<usize>,
    subscribed_at: Option<usize>,
    status: Option<usize>,
    source: Option<usize>,
    unsubscribed_at: Option<usize>,
    paused_until: Option<usize>,
    consent_notified_at: Option<usize>,
}

impl Columns {
    fn find(csv_path: &Path, headers: &[String], email_column: Option<&str>) -> Result<Columns> {
        let email = match email_column {
            Some(name) => headers
                .iter()
                .position(|h| h.trim() == name.trim() || normalise(h) == normalise(name)),
            None => find_column(headers, EMAIL_COLUMNS),
        };
        let Some(email) = email else {
            return Err(
                Located::line(csv_path, 1, format!("no address column among {headers:?}"))
                    .help("name it with --email-column \"…\"")
                    .into(),
            );
        };
        Ok(Columns {
            email,
            name: find_column(headers, NAME_COLUMNS),
            first: find_column(headers, FIRST_NAME_COLUMNS),
            last: find_column(headers, LAST_NAME_COLUMNS),
            tags: find_column(headers, TAG_COLUMNS),
            subscribed_at: find_column(headers, &["subscribedat"]),
            status: find_column(headers, STATUS_COLUMNS),
            source: find_column(headers, &["source"]),
            unsubscribed_at: find_column(headers, &["unsubscribedat"]),
            paused_until: find_column(headers, &["pauseduntil"]),
            consent_notified_at: find_column(headers, &["consentnotifiedat"]),
        })
    }

    /// The reader of one row, with `tags` and the row's own tags; why
    /// not, for a row whose status is not one letterpress knows.
    fn subscriber(
        &self,
        record: &csv::StringRecord,
        tags: &[String],
    ) -> std::result::Result<Subscriber, String> {
        let field = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .map(|cell| unguarded(cell.trim()))
                .filter(|s| !s.is_empty())
        };
        let name = field(self.name).map(str::to_string).or_else(|| {
            let parts: Vec<&str> = [field(self.first), field(self.last)]
                .into_iter()
                .flatten()
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        });
        let mut row_tags = tags.to_vec();
        for tag in field(self.tags).unwrap_or("").split([',', ';']) {
            let tag = tag.trim().trim_matches('"').trim();
            if !tag.is_empty() && !row_tags.iter().any(|t| t == tag) {
                row_tags.push(tag.to_string());
            }
        }
        let time = |i: Option<usize>| field(i).filter(|v| is_time(v)).map(str::to_string);
        let mut reader = Subscriber::active(
            field(Some(self.email)).unwrap_or(""),
            name,
            row_tags,
            Source::Import,
        );
        // A consent time the other tool recorded is kept: it is the real
        // one; so are its status and source, so that an export imports
        // back as it was (a reader who left stays gone).
        // A column that is there decides, empty or not (letterpress's own
        // export); without it the import is the record.
        if self.subscribed_at.is_some() {
            reader.subscribed_at = time(self.subscribed_at);
        }
        if let Some(word) = field(self.status) {
            reader.status = status_of(word).ok_or_else(|| {
                format!("the status {word:?} is not one of active, unsubscribed or bounced (or subscribed, cleaned)")
            })?;
        }
        if self.source.is_some() {
            reader.source = field(self.source).map(str::to_string);
        }
        if reader.status == Status::Unsubscribed {
            reader.unsubscribed_at = time(self.unsubscribed_at);
        }
        // A pause and the last consent notice are the reader's own record:
        // an export imports back with them.
        reader.paused_until = time(self.paused_until);
        reader.consent_notified_at = time(self.consent_notified_at);
        Ok(reader)
    }
}

/// Imports `csv_path` into the list at `list` and saves it when a reader
/// was added.
pub fn import_into(
    list: &Path,
    csv_path: &Path,
    email_column: Option<&str>,
    tags: &[String],
    forgotten: &dyn Fn(&str) -> bool,
) -> Result<ImportReport> {
    let mut report = None;
    Editor::apply(list, |editor| {
        let done = import_csv(editor, csv_path, email_column, tags, forgotten)?;
        let added = done.added > 0;
        report = Some(done);
        Ok(added)
    })?;
    Ok(report.expect("set by the import"))
}

/// Writes the list as CSV: email, name, status, tags (joined with `;`),
/// subscribed_at, source, unsubscribed_at, paused_until,
/// consent_notified_at; `import` reads every column back. A cell a spreadsheet would run as a formula (it starts with `=`,
/// `+`, `-`, `@`, a tab or a carriage return) is written behind a `'`, as
/// is one that starts with `'`; import takes that `'` off again.
pub fn export_csv(list: &List, out: &mut dyn Write) -> Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record([
        "email",
        "name",
        "status",
        "tags",
        "subscribed_at",
        "source",
        "unsubscribed_at",
        "paused_until",
        "consent_notified_at",
    ])?;
    for entry in &list.entries {
        let s = &entry.subscriber();
        let cells = [
            s.email.as_str(),
            s.name.as_deref().unwrap_or(""),
            s.status.as_str(),
            &s.tags.join(";"),
            s.subscribed_at.as_deref().unwrap_or(""),
            s.source.as_deref().unwrap_or(""),
            s.unsubscribed_at.as_deref().unwrap_or(""),
            s.paused_until.as_deref().unwrap_or(""),
            s.consent_notified_at.as_deref().unwrap_or(""),
        ];
        writer.write_record(cells.iter().map(|cell| guarded(cell).into_owned()))?;
    }
    writer.flush()?;
    Ok(())
}

/// Whether `cell` is an RFC 3339 time (a time column keeps only those).
fn is_time(cell: &str) -> bool {
    cell.parse::<jiff::Timestamp>().is_ok()
}

/// Whether a spreadsheet may take a cell starting with `first` for a
/// formula (or it starts with the guard itself).
fn needs_guard(first: Option<char>) -> bool {
    matches!(first, Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\''))
}

/// `cell` as export writes it: behind a `'` when a spreadsheet would
/// run it.
fn guarded(cell: &str) -> std::borrow::Cow<'_, str> {
    match needs_guard(cell.chars().next()) {
        true => format!("'{cell}").into(),
        false => cell.into(),
    }
}

/// `cell` as export meant it: the guard [`guarded`] added taken off.
fn unguarded(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_guard(rest.chars().next()) => rest,
        _ => cell,
    }
}
