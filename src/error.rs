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

/// Reads a UTF-8 text file, with an error that names the file and, for bad
/// UTF-8, the line of the first bad byte.
pub fn read_text(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read the file: {e}", path.display()))?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let err = read_text(&path).unwrap_err();
        let located = err.downcast_ref::<Located>().unwrap();
        assert_eq!((located.line, located.column), (2, 6));
        assert!(located.message.contains("UTF-8"));
    }
}
