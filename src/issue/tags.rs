//! Merge tags: `{{ name }}`, `{{ email }}`, `{{ unsubscribe_url }}`,
//! `{{ web_url }}` and `{{ name | "fallback" }}`.
//!
//! Tags are parsed once, when an issue is loaded, and replaced in the text by
//! a short marker (`U+E000 index U+E001`, private-use characters) that
//! survives Markdown parsing, HTML rendering and CSS inlining. Filling in a
//! reader's values is then one pass over the finished output.

use std::fmt;

/// Starts a marker.
pub const OPEN: char = '\u{E000}';
/// Ends a marker.
pub const CLOSE: char = '\u{E001}';

/// Byte offsets of the `{{` of each tag named `name` in `text` (with or
/// without a fallback).
pub fn places(text: &str, name: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut rest = 0;
    while let Some(found) = text[rest..].find("{{") {
        let start = rest + found;
        rest = start + 2;
        let inner = text[rest..].trim_start();
        let end = inner
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(inner.len());
        if &inner[..end] == name {
            out.push(start);
        }
    }
    out
}

/// What a tag stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The reader's name.
    Name,
    /// The reader's address.
    Email,
    /// The reader's personal unsubscribe link.
    UnsubscribeUrl,
    /// The web version of the issue.
    WebUrl,
    /// The reader's preference page (signed link).
    PreferencesUrl,
}

impl Field {
    const ALL: [(&'static str, Field); 5] = [
        ("name", Field::Name),
        ("email", Field::Email),
        ("unsubscribe_url", Field::UnsubscribeUrl),
        ("web_url", Field::WebUrl),
        ("preferences_url", Field::PreferencesUrl),
    ];
}

/// One distinct tag of an issue.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag {
    /// What it stands for.
    pub field: Field,
    /// Used when the reader has no value (only sensible for `name`).
    pub fallback: Option<String>,
    /// Inside a URL: the value is percent-encoded (a name or an address;
    /// the link fields are URLs already and go in as they are).
    pub in_url: bool,
}

/// The values that fill the tags for one reader.
#[derive(Debug, Clone, Default)]
pub struct Values {
    /// The reader's name, if known.
    pub name: Option<String>,
    /// The reader's address.
    pub email: String,
    /// The personal unsubscribe link.
    pub unsubscribe_url: String,
    /// The web version of the issue.
    pub web_url: String,
    /// The personal link to the preference page; empty without
    /// `[preferences]`.
    pub preferences_url: String,
}

impl Values {
    /// The value of `tag` for this reader.
    pub fn get<'a>(&'a self, tag: &'a Tag) -> &'a str {
        match tag.field {
            Field::Name => match self.name.as_deref() {
                Some(name) if !name.trim().is_empty() => name,
                _ => tag.fallback.as_deref().unwrap_or(""),
            },
            Field::Email => &self.email,
            Field::UnsubscribeUrl => &self.unsubscribe_url,
            Field::WebUrl => &self.web_url,
            Field::PreferencesUrl => &self.preferences_url,
        }
    }
}

/// A tag that could not be parsed: byte offset in the input and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagError {
    /// Byte offset of the `{{`.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for TagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The distinct tags of an issue; a tag's index is its marker number.
#[derive(Debug, Clone, Default)]
pub struct TagTable {
    tags: Vec<Tag>,
}

impl TagTable {
    /// The tags, in marker order.
    pub fn tags(&self) -> &[Tag] {
        &self.tags
    }

    /// Replaces every tag in `text` by its marker. Errors point at the `{{`.
    pub fn mark(&mut self, text: &str) -> Result<String, TagError> {
        if let Some(at) = text.find([OPEN, CLOSE]) {
            return Err(TagError {
                offset: at,
                message: "the characters U+E000 and U+E001 are reserved by letterpress".into(),
            });
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = 0;
        while let Some(found) = text[rest..].find("{{") {
            let start = rest + found;
            let Some(len) = text[start..].find("}}") else {
                return Err(TagError {
                    offset: start,
                    message: "`{{` opens a merge tag that is never closed with `}}`".into(),
                });
            };
            let inner = &text[start + 2..start + len];
            let tag = parse(inner).map_err(|message| TagError {
                offset: start,
                message,
            })?;
            out.push_str(&text[rest..start]);
            self.push_marker(tag, &mut out);
            rest = start + len + 2;
        }
        out.push_str(&text[rest..]);
        Ok(out)
    }

    /// Appends the marker of `tag`, adding it to the table if new.
    pub fn push_marker(&mut self, tag: Tag, out: &mut String) {
        let index = match self.tags.iter().position(|t| *t == tag) {
            Some(i) => i,
            None => {
                self.tags.push(tag);
                self.tags.len() - 1
            }
        };
        out.push(OPEN);
        out.push_str(&index.to_string());
        out.push(CLOSE);
    }

    /// `text` (a URL) with each marker turned into the marker of the same
    /// tag in URL context, whose value is percent-encoded.
    pub fn for_url(&mut self, text: &str) -> String {
        let mut url_tags = Vec::new();
        let mut out = String::with_capacity(text.len());
        each_marker(text, &mut out, |index, raw, out| {
            match index.and_then(|i| self.tags.get(i)) {
                Some(tag) => url_tags.push((
                    out.len(),
                    Tag {
                        in_url: true,
                        ..tag.clone()
                    },
                )),
                None => out.push_str(raw),
            }
        });
        // Markers are added after the walk, which borrowed the table.
        for (at, tag) in url_tags.into_iter().rev() {
            let mut marker = String::new();
            self.push_marker(tag, &mut marker);
            out.insert_str(at, &marker);
        }
        out
    }

    /// `text` with every marker replaced by the reader's value, passed
    /// through `escape` (HTML escaping for HTML, identity for plain text).
    pub fn fill(&self, text: &str, values: &Values, escape: fn(&str, &mut String)) -> String {
        let mut out = String::with_capacity(text.len() + 64);
        each_marker(text, &mut out, |index, raw, out| {
            match index.and_then(|i| self.tags.get(i)) {
                Some(tag) if tag.in_url && matches!(tag.field, Field::Name | Field::Email) => {
                    escape(&crate::percent::encode(values.get(tag)), out)
                }
                Some(tag) => escape(values.get(tag), out),
                None => out.push_str(raw.trim_start_matches(OPEN).trim_end_matches(CLOSE)),
            }
        });
        out
    }
}

/// Where the marker character `marker` (private use, U+E000 to U+E003)
/// first is in `text`. It is looked for by its first byte, which Hangul and
/// Latin text never hold: `str::find` looks for its last byte, 0x80, a
/// continuation byte Korean text is full of, and spent more time than the
/// filling itself.
pub(crate) fn find_marker(text: &str, marker: char) -> Option<usize> {
    let mut buf = [0; 4];
    let needle = marker.encode_utf8(&mut buf).as_bytes();
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = memchr::memchr(needle[0], &bytes[from..]) {
        let at = from + i;
        if bytes[at..].starts_with(needle) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Copies `text` into `out`, handing each marker to `marker` instead: its
/// number (if it is one) and its raw text.
fn each_marker(
    text: &str,
    out: &mut String,
    mut marker: impl FnMut(Option<usize>, &str, &mut String),
) {
    let mut rest = text;
    while let Some(open) = find_marker(rest, OPEN) {
        out.push_str(&rest[..open]);
        let after = &rest[open + OPEN.len_utf8()..];
        let close = find_marker(after, CLOSE).unwrap_or(after.len());
        let end = (close + CLOSE.len_utf8()).min(after.len());
        marker(
            after[..close].parse().ok(),
            &rest[open..open + OPEN.len_utf8() + end],
            out,
        );
        rest = after.get(close + CLOSE.len_utf8()..).unwrap_or("");
    }
    out.push_str(rest);
}

/// Parses the inside of `{{ … }}`.
fn parse(inner: &str) -> Result<Tag, String> {
    let (name, fallback) = match inner.split_once('|') {
        Some((name, fallback)) => (name.trim(), Some(parse_fallback(fallback.trim())?)),
        None => (inner.trim(), None),
    };
    let known = Field::ALL
        .iter()
        .map(|(n, _)| format!("`{n}`"))
        .collect::<Vec<_>>();
    let field = Field::ALL
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .ok_or_else(|| {
            format!(
                "unknown merge tag `{{{{ {name} }}}}`; the tags are {}",
                known.join(", ")
            )
        })?;
    Ok(Tag {
        field,
        fallback,
        in_url: false,
    })
}

fn parse_fallback(text: &str) -> Result<String, String> {
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|t| !t.contains('"'))
        .map(str::to_string)
        .ok_or_else(|| format!("the fallback `{text}` must be a string in double quotes, as in {{{{ name | \"reader\" }}}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_found_among_korean_text_and_lookalike_bytes() {
        // U+E000 is EE 80 80; Hangul is full of 0x80 continuation bytes, and
        // U+E080 (EE 82 80) shares its first byte.
        let text = "가나다\u{E080}라\u{E000}3\u{E001}마";
        let open = text.find(OPEN).unwrap();
        assert_eq!(find_marker(text, OPEN), Some(open));
        assert_eq!(find_marker(text, CLOSE), text.find(CLOSE));
        assert_eq!(find_marker("가나다", OPEN), None);
        assert_eq!(find_marker("", OPEN), None);
        assert_eq!(find_marker("\u{E000}", OPEN), Some(0));
        let mut out = String::new();
        each_marker(text, &mut out, |index, _, out| {
            out.push_str(&format!("<{index:?}>"))
        });
        assert_eq!(out, "가나다\u{E080}라<Some(3)>마");
    }

    fn plain(value: &str, out: &mut String) {
        out.push_str(value);
    }

    #[test]
    fn can_mark_and_fill_tags() {
        let mut table = TagTable::default();
        let marked = table
            .mark("안녕하세요, {{ name | \"독자\" }}님 ({{email}}) {{ name | \"독자\" }}")
            .unwrap();
        assert_eq!(table.tags().len(), 2, "identical tags share one marker");
        let mut values = Values {
            email: "a@example.com".into(),
            ..Values::default()
        };
        assert_eq!(
            table.fill(&marked, &values, plain),
            "안녕하세요, 독자님 (a@example.com) 독자"
        );
        values.name = Some("김독자".into());
        assert_eq!(
            table.fill(&marked, &values, plain),
            "안녕하세요, 김독자님 (a@example.com) 김독자"
        );
    }

    #[test]
    fn errors_on_unknown_tag_with_offset() {
        let err = TagTable::default().mark("Hi {{ nmae }}!").unwrap_err();
        assert_eq!(err.offset, 3);
        assert!(
            err.message.contains("unknown merge tag `{{ nmae }}`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn errors_on_unclosed_tag_and_bad_fallback() {
        assert!(TagTable::default().mark("a {{ name").is_err());
        let err = TagTable::default().mark("{{ name | 독자 }}").unwrap_err();
        assert!(err.message.contains("double quotes"));
    }
}
