//! Errors that point at a place in a file, and the exit codes of the CLI.

use std::fmt;
use std::path::{Path, PathBuf};

/// An error in an input file: the file, the 1-based line and column, what is
/// wrong and, when there is one, what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The file, as the user named it (relative paths stay relative).
    pub path: PathBuf,
    /// 1-based line, counted from the top of the file.
    pub line: usize,
    /// 1-based column, in characters; 0 when the error is about a whole
    /// line (a CSV row), and then not shown.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
}

impl Located {
    /// An error at byte `offset` of `source`, the text of `path`.
    pub fn at(path: &Path, source: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_col(source, offset);
        Located {
            path: path.to_path_buf(),
            line,
            column,
            message: message.into(),
            help: None,
        }
    }

    /// An error about a whole file: line 1, column 1.
    pub fn file(path: &Path, message: impl Into<String>) -> Self {
        Located {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: message.into(),
            help: None,
        }
    }

    /// An error about line `line` as a whole.
    pub fn line(path: &Path, line: usize, message: impl Into<String>) -> Self {
        Located {
            path: path.to_path_buf(),
            line,
            column: 0,
            message: message.into(),
            help: None,
        }
    }

    /// `file:line:column` (`file:line` for a whole line).
    pub fn place(&self) -> String {
        match self.column {
            0 => format!("{}:{}", self.path.display(), self.line),
            column => format!("{}:{}:{column}", self.path.display(), self.line),
        }
    }

    /// Adds what the user should do.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Turns a TOML error into a located one. `offset` is where the TOML text
    /// starts inside `source` (non-zero for front matter).
    pub fn from_toml(path: &Path, source: &str, offset: usize, err: &toml::de::Error) -> Self {
        let at = err.span().map_or(offset, |span| offset + span.start);
        let message = err.message().trim_end().to_string();
        let help = if message.starts_with("unknown field") {
            "remove the key or fix its spelling; see README.md for the keys letterpress knows"
        } else if message.starts_with("missing field") {
            "add the key; see README.md for what it means"
        } else {
            "fix the TOML syntax at this place"
        };
        Located::at(path, source, at, message).help(help)
    }
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place(), self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Located {}

/// Several located errors that stop a command together (the invalid
/// entries of a list), then what they mean and what to do.
#[derive(Debug)]
pub struct Many {
    /// Each error at its place.
    pub found: Vec<Located>,
    /// What they mean together.
    pub message: String,
    /// What to do.
    pub help: String,
}

impl fmt::Display for Many {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for located in &self.found {
            writeln!(f, "{}: error: {}", located.place(), located.message)?;
        }
        write!(f, "error: {}\n  help: {}", self.message, self.help)
    }
}

impl std::error::Error for Many {}

/// An error as the user reads it, once, with its causes; a located error in
/// the `file:line:column: error: message` form that editors can jump to.
pub fn render(err: &anyhow::Error) -> String {
    if let Some(many) = err.downcast_ref::<Many>() {
        return format!("{many}\n");
    }
    let Some(located) = err.chain().find_map(|e| e.downcast_ref::<Located>()) else {
        return format!("error: {err:#}\n");
    };
    let mut out = format!("{}: error: {}\n", located.place(), located.message);
    if let Some(help) = &located.help {
        out.push_str(&format!("  help: {help}\n"));
    }
    let causes = err
        .chain()
        .take_while(|e| e.downcast_ref::<Located>().is_none());
    for cause in causes {
        out.push_str(&format!("  note: {cause}\n"));
    }
    out
}

/// 1-based line and column (in characters) of byte `offset` in `source`.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, source[line_start..offset].chars().count() + 1)
}

/// The most letterpress reads of an input file: `newsletter.toml`,
/// `issue.toml`, a section, a theme file. A whole newsletter is far
/// smaller (Gmail clips an HTML part over 102 KB).
pub const INPUT_LIMIT: u64 = 1024 * 1024;

/// The most letterpress reads of a local image: many servers refuse
/// messages over 10 MB, so a larger image can never be sent anyway.
pub const IMAGE_LIMIT: u64 = 10 * 1024 * 1024;

/// The most letterpress reads of the subscriber list at once, which is
/// large by nature: about ten million readers.
pub const LIST_LIMIT: u64 = 2 * 1024 * 1024 * 1024;

/// Reads at most `limit` bytes of `path`, the one place letterpress reads a
/// file it is given: a larger file is refused with its size and the limit
/// before anything is loaded, and never more than `limit + 1` bytes are
/// read even from a file that grows or lies about its size.
pub fn read_within(path: &Path, limit: u64, help: &str) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let cannot =
        |e: std::io::Error| anyhow::anyhow!("{}: cannot read the file: {e}", path.display());
    let file = std::fs::File::open(path).map_err(cannot)?;
    let too_big = |size: String| -> anyhow::Error {
        Located::line(
            path,
            1,
            format!(
                "the file is {size}, more than the {} letterpress reads of such a file",
                bytes(limit)
            ),
        )
        .help(help)
        .into()
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > limit {
        return Err(too_big(bytes(size)));
    }
    let mut out = Vec::with_capacity(size as usize);
    file.take(limit + 1).read_to_end(&mut out).map_err(cannot)?;
    if out.len() as u64 > limit {
        return Err(too_big(format!("over {}", bytes(limit))));
    }
    Ok(out)
}

/// A size for people: bytes, KiB, MiB or GiB.
fn bytes(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (unit, name) in UNITS {
        if n >= unit {
            let value = n as f64 / unit as f64;
            return match n % unit {
                0 => format!("{} {name}", n / unit),
                _ => format!("{value:.1} {name} ({n} bytes)"),
            };
        }
    }
    format!("{n} bytes")
}

/// Reads an input file (config, issue, section, theme) as UTF-8 text, at
/// most [`INPUT_LIMIT`], with an error that names the file and, for bad
/// UTF-8, the line of the first bad byte.
pub fn read_input(path: &Path) -> anyhow::Result<String> {
    let bytes = read_within(
        path,
        INPUT_LIMIT,
        "an input file this large is a mistake or needs splitting: split a long section into several files, link to long material on the web",
    )?;
    utf8(path, bytes)
}

/// Reads the subscriber list as UTF-8 text, at most [`LIST_LIMIT`], with
/// errors like [`read_input`]'s.
pub fn read_text(path: &Path) -> anyhow::Result<String> {
    let bytes = read_within(
        path,
        LIST_LIMIT,
        "split the list into several newsletters, or keep readers who left in an export rather than the list",
    )?;
    utf8(path, bytes)
}

fn utf8(path: &Path, bytes: Vec<u8>) -> anyhow::Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let good = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(&e.as_bytes()[..good]).into_owned();
        Located::at(path, &text, good, "the file is not valid UTF-8")
            .help("save the file with UTF-8 encoding")
            .into()
    })
}

/// Where `key` (a path of table and key names) is in `source`: the start of
/// its value, or of the file when it is absent (a default).
pub fn key_offset(source: &str, key: &[&str]) -> usize {
    key_offset_in(source, key, None)
}

/// [`key_offset`] for a key whose first table may be an array of tables
/// (`[[dkim]]`): `index` picks the table of the array.
pub fn key_offset_in(source: &str, key: &[&str], index: Option<usize>) -> usize {
    let Ok(doc) = source.parse::<toml_edit::Document<String>>() else {
        return 0;
    };
    let mut item = doc.as_item();
    for (n, part) in key.iter().enumerate() {
        match item.get(part) {
            Some(next) => item = next,
            None => return 0,
        }
        if let (0, Some(i), Some(tables)) = (n, index, item.as_array_of_tables()) {
            match tables.get(i) {
                Some(table) => return table_key_offset(table, &key[1..]),
                None => return 0,
            }
        }
    }
    item.span().map_or(0, |s| s.start)
}

fn table_key_offset(table: &toml_edit::Table, key: &[&str]) -> usize {
    let mut item = match key.first().and_then(|k| table.get(k)) {
        Some(item) => item,
        None => return table.span().map_or(0, |s| s.start),
    };
    for part in &key[1..] {
        match item.get(part) {
            Some(next) => item = next,
            None => return 0,
        }
    }
    item.span().map_or(0, |s| s.start)
}

/// Deserializes the TOML `text`, found at byte `offset` of `source` (the
/// text of `path`), into `T`; when it does not fit, every wrong key and
/// every bad value, each at its place, not only the first. An unknown key
/// names the nearest known one.
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    source: &str,
    offset: usize,
    text: &str,
) -> Result<T, Vec<Located>> {
    parse_toml_partly(path, source, offset, text).map_err(|(found, _)| found)
}

/// [`parse_toml`], and on failure also what the text holds without the
/// lines in error (when that fits `T`), so that its values can still be
/// checked; its spans are those of `text`.
pub fn parse_toml_partly<T: serde::de::DeserializeOwned>(
    path: &Path,
    source: &str,
    offset: usize,
    text: &str,
) -> Result<T, (Vec<Located>, Option<T>)> {
    let first = match toml::from_str::<T>(text) {
        Ok(value) => return Ok(value),
        Err(e) => e,
    };
    let whole = |e: &toml::de::Error| vec![Located::from_toml(path, source, offset, e)];
    // A syntax error stops the file: what follows it has no meaning.
    let (Ok(spanned), Ok(owned)) = (toml::de::DeTable::parse(text), text.parse::<toml::Table>())
    else {
        return Err((whole(&first), None));
    };
    let mut blanked = text.as_bytes().to_vec();
    let mut leaves = Vec::new();
    leaves_of(spanned.get_ref(), &mut Vec::new(), &mut leaves);
    let mut found = Vec::new();
    // Each value alone, in a table of its own: serde stops at the first
    // problem of a table, one value at a time stops at none but its own.
    for leaf in leaves.iter().take(1000) {
        let Some(alone_text) = alone(&owned, &leaf.path) else {
            continue;
        };
        let Err(e) = toml::from_str::<T>(&alone_text) else {
            continue;
        };
        let Some(located) = leaf_problem(path, source, offset, leaf, &e) else {
            continue;
        };
        found.push(located);
        blank_line(text, &mut blanked, leaf);
    }
    if found.is_empty() || first.message().starts_with("missing field") {
        found.extend(whole(&first));
    }
    found.sort_by_key(|l| (l.line, l.column));
    found.dedup();
    let rest = String::from_utf8(blanked)
        .ok()
        .and_then(|rest| toml::from_str::<T>(&rest).ok());
    Err((found, rest))
}

/// The TOML text of the value at `key_path` of `owned` alone, inside the
/// tables (and arrays of tables, `#N`) that lead to it.
fn alone(owned: &toml::Table, key_path: &[String]) -> Option<String> {
    let mut alone = value_at(owned, key_path)?;
    for key in key_path.iter().rev() {
        if key.starts_with('#') {
            alone = toml::Value::Array(vec![alone]);
            continue;
        }
        let mut table = toml::Table::new();
        table.insert(key.clone(), alone);
        alone = toml::Value::Table(table);
    }
    toml::to_string(&alone).ok()
}

/// What `e`, the error of `leaf` alone, says about it, at its key (an
/// unknown key, with the nearest known one) or its value; a missing field
/// is no problem of the leaf's.
fn leaf_problem(
    path: &Path,
    source: &str,
    offset: usize,
    leaf: &Leaf,
    e: &toml::de::Error,
) -> Option<Located> {
    let message = e.message().trim_end();
    if message.starts_with("missing field") {
        return None;
    }
    let Some((key, known)) = unknown_key(message) else {
        return Some(
            Located::at(path, source, offset + leaf.value_start, message)
                .help("fix the value at this place; see README.md for what it takes"),
        );
    };
    let mut message = format!("unknown field `{key}`");
    if let Some(near) = nearest(&key, known.iter().map(String::as_str)) {
        message.push_str(&format!("; did you mean `{near}`?"));
    }
    let help = match known.is_empty() {
        true => "remove the key".to_string(),
        false => format!(
            "remove the key or fix its spelling; the keys known here are {}",
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Some(Located::at(path, source, offset + leaf.key_start, message).help(help))
}

/// The rest of the text without the line of `leaf`: same length, same spans.
fn blank_line(text: &str, blanked: &mut [u8], leaf: &Leaf) {
    let start = text[..leaf.key_start].rfind('\n').map_or(0, |i| i + 1);
    let end = text[leaf.value_start..]
        .find('\n')
        .map_or(text.len(), |i| leaf.value_start + i);
    blanked[start..end].fill(b' ');
}

/// A key with a value that is not a table, and where both are.
struct Leaf {
    path: Vec<String>,
    key_start: usize,
    value_start: usize,
}

fn leaves_of(table: &toml::de::DeTable<'_>, path: &mut Vec<String>, out: &mut Vec<Leaf>) {
    for (key, value) in table {
        path.push(key.get_ref().to_string());
        match value.get_ref() {
            toml::de::DeValue::Table(inner) if !inner.is_empty() => leaves_of(inner, path, out),
            // An array of tables (`[[dkim]]`): each table's keys at their
            // own lines, the table named by its place (`#N`).
            toml::de::DeValue::Array(items)
                if !items.is_empty()
                    && items
                        .iter()
                        .all(|item| matches!(item.get_ref(), toml::de::DeValue::Table(_))) =>
            {
                for (i, item) in items.iter().enumerate() {
                    if let toml::de::DeValue::Table(inner) = item.get_ref() {
                        path.push(format!("#{i}"));
                        leaves_of(inner, path, out);
                        path.pop();
                    }
                }
            }
            _ => out.push(Leaf {
                path: path.clone(),
                key_start: key.span().start,
                value_start: value.span().start,
            }),
        }
        path.pop();
    }
}

fn value_at(table: &toml::Table, path: &[String]) -> Option<toml::Value> {
    let (last, parents) = path.split_last()?;
    let mut table = table;
    let mut parents = parents.iter().peekable();
    while let Some(key) = parents.next() {
        let value = table.get(key)?;
        table = match parents.peek().and_then(|next| next.strip_prefix('#')) {
            Some(index) => {
                parents.next();
                value
                    .as_array()?
                    .get(index.parse::<usize>().ok()?)?
                    .as_table()?
            }
            None => value.as_table()?,
        };
    }
    table.get(last).cloned()
}

/// The key and the known keys of serde's "unknown field `k`, expected one
/// of `a`, `b`" (or "expected `a`", or "there are no fields").
fn unknown_key(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once('`')?;
    let known = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((key.to_string(), known))
}

/// The candidate nearest to `word` by edit distance, if one is near enough
/// to be a slip of the fingers (at most a third of the word's letters,
/// and at least one).
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance in characters, with an adjacent swap counting one
/// (`tco` is one slip from `toc`).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(200).collect();
    let b: Vec<char> = b.chars().take(200).collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

/// The located errors `e` is made of (one [`Located`] or a [`Many`]),
/// or `e` itself when it is about no place.
pub fn located_parts(e: anyhow::Error) -> anyhow::Result<Vec<Located>> {
    let e = match e.downcast::<Located>() {
        Ok(located) => return Ok(vec![located]),
        Err(e) => e,
    };
    match e.downcast::<Many>() {
        Ok(many) => Ok(many.found),
        Err(e) => Err(e),
    }
}

/// Errors found together: one stays a [`Located`] error, several become
/// a [`Many`].
pub fn together(mut found: Vec<Located>, message: &str, help: &str) -> anyhow::Error {
    if found.len() == 1 {
        return found.remove(0).into();
    }
    Many {
        found,
        message: message.to_string(),
        help: help.to_string(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unknown_key_and_bad_value_is_found_with_the_nearest_key() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Inner {
            link_text: Option<String>,
            count: Option<u32>,
        }
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Outer {
            title: String,
            inner: Option<Inner>,
        }
        let text =
            "title = \"t\"\ntitel = 1\n[inner]\nlink_txt = \"x\"\ncount = \"many\"\nzzz = 2\n";
        let found = parse_toml::<Outer>(Path::new("f.toml"), text, 0, text).unwrap_err();
        let lines: Vec<_> = found.iter().map(|l| (l.line, l.message.as_str())).collect();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines[0].0 == 2 && lines[0].1.contains("did you mean `title`?"));
        assert!(lines[1].0 == 4 && lines[1].1.contains("did you mean `link_text`?"));
        assert!(lines[2].0 == 5 && lines[2].1.contains("invalid type"));
        assert!(lines[3].0 == 6 && !lines[3].1.contains("did you mean"));
        assert!(found[3]
            .help
            .as_ref()
            .unwrap()
            .contains("`link_text`, `count`"));
    }

    #[test]
    fn nearest_allows_a_slip_and_a_swap() {
        assert_eq!(
            nearest("link_txt", ["link", "link_text"]),
            Some("link_text")
        );
        assert_eq!(nearest("tco", ["toc", "to"]), Some("toc"));
        assert_eq!(nearest("zzz", ["toc"]), None);
    }

    #[test]
    fn line_col_counts_lines_and_characters() {
        let s = "ab\n가나다\nx";
        assert_eq!(line_col(s, 0), (1, 1));
        assert_eq!(line_col(s, 3), (2, 1));
        assert_eq!(line_col(s, 6), (2, 2));
        assert_eq!(line_col(s, s.len()), (3, 2));
    }

    #[test]
    fn errors_on_bad_utf8_with_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.md");
        std::fs::write(&path, b"line one\nline \xff two\n").unwrap();
        let err = read_input(&path).unwrap_err();
        let located = err.downcast_ref::<Located>().unwrap();
        assert_eq!((located.line, located.column), (2, 6));
        assert!(located.message.contains("UTF-8"));
    }

    #[test]
    fn a_file_over_the_limit_is_refused_with_its_size_and_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.md");
        std::fs::write(&path, vec![b'a'; INPUT_LIMIT as usize + 1]).unwrap();
        let err = read_input(&path).unwrap_err();
        let located = err.downcast_ref::<Located>().unwrap();
        assert_eq!(located.path, path);
        assert_eq!(
            located.message,
            "the file is 1.0 MiB (1048577 bytes), more than the 1 MiB letterpress reads of such a file"
        );
        std::fs::write(&path, vec![b'a'; INPUT_LIMIT as usize]).unwrap();
        assert_eq!(read_input(&path).unwrap().len(), INPUT_LIMIT as usize);
    }
}
