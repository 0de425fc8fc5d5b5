//! Control characters in text that reaches a page, a header or the feed:
//! XML 1.0 cannot carry them at all, HTML shows them as garbage and a
//! header must not hold them. Tab and line breaks are text; the rest of
//! C0 and C1, and U+FFFE and U+FFFF, are errors at their line, whether
//! written as they are or as a TOML escape such as `\f` or `\u0001`.

use std::collections::BTreeSet;
use std::path::Path;

use super::{Level, Report};

pub use crate::compose::forbidden_in_text as forbidden;

/// Checks `source`, the text of `path`, for forbidden characters: as they
/// are anywhere, and as escapes in the TOML strings of `source[toml]`
/// (the whole of a TOML file, the front matter of a section).
pub fn check(path: &Path, source: &str, toml: Option<std::ops::Range<usize>>, report: &mut Report) {
    let mut found: BTreeSet<(usize, char)> = BTreeSet::new();
    for (index, line) in source.split('\n').enumerate() {
        if let Some(c) = line.chars().find(|c| forbidden(*c)) {
            found.insert((index + 1, c));
        }
    }
    if let Some(range) = toml {
        if let Some(text) = source.get(range.clone()) {
            if let Ok(doc) = text.parse::<toml_edit::Document<String>>() {
                let mut strings = Vec::new();
                item_strings(doc.as_item(), &mut strings);
                for (value, offset) in strings {
                    if let Some(c) = value.chars().find(|c| forbidden(*c)) {
                        let line = crate::error::line_col(source, range.start + offset).0;
                        found.insert((line, c));
                    }
                }
            }
        }
    }
    let mut lines = BTreeSet::new();
    for (line, c) in found {
        if lines.insert(line) {
            report.add(
                path,
                line,
                Level::Error,
                format!(
                    "the text holds the control character U+{:04X}, which pages, mail headers and the Atom feed cannot carry; delete it (a tab or a line break is fine where text may have them)",
                    u32::from(c)
                ),
            );
        }
    }
}

/// Every string value under `item`, with the byte offset it starts at.
fn item_strings(item: &toml_edit::Item, out: &mut Vec<(String, usize)>) {
    match item {
        toml_edit::Item::Value(v) => value_strings(v, out),
        toml_edit::Item::Table(t) => t.iter().for_each(|(_, i)| item_strings(i, out)),
        toml_edit::Item::ArrayOfTables(a) => a
            .iter()
            .for_each(|t| t.iter().for_each(|(_, i)| item_strings(i, out))),
        toml_edit::Item::None => {}
    }
}

fn value_strings(value: &toml_edit::Value, out: &mut Vec<(String, usize)>) {
    match value {
        toml_edit::Value::String(s) => {
            let at = s.span().map_or(0, |span| span.start);
            out.push((s.value().clone(), at));
        }
        toml_edit::Value::Array(a) => a.iter().for_each(|v| value_strings(v, out)),
        toml_edit::Value::InlineTable(t) => t.iter().for_each(|(_, v)| value_strings(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_control_characters_written_and_escaped_at_their_line() {
        let source = "subject = \"ok\"\npreheader = \"a\\fb\"\ntitle = \"\\u0001\"\n[x]\nlist = [\"fine\\tand\\n\", \"\\u007f\"]\n";
        let mut report = Report::default();
        check(
            Path::new("issue.toml"),
            source,
            Some(0..source.len()),
            &mut report,
        );
        let lines: Vec<usize> = report.findings.iter().map(|f| f.line).collect();
        assert_eq!(lines, [2, 3, 5], "{:?}", report.findings);
        assert!(report.findings[0].message.contains("U+000C"));

        let mut report = Report::default();
        let section = "+++\ntitle = \"t\"\n+++\nbody\n\nsome\u{1}thing\twith a tab\n";
        check(Path::new("s.md"), section, Some(4..16), &mut report);
        let lines: Vec<usize> = report.findings.iter().map(|f| f.line).collect();
        assert_eq!(lines, [6]);
    }
}
