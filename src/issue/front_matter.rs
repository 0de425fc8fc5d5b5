//! Splitting a section file into its `+++` TOML front matter and Markdown body.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::error::Located;

/// What a section is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SectionKind {
    /// A title, body, optional image and "read more" button.
    #[default]
    Story,
    /// Opening words, without a heading box.
    Intro,
    /// A pull quote with its attribution.
    Quote,
    /// An editor's note or closing essay.
    Note,
}

/// The keys a section's front matter may hold.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontMatter {
    /// The heading.
    pub title: Option<Spanned<String>>,
    /// story (default), intro, quote or note.
    #[serde(default)]
    pub kind: SectionKind,
    /// Target of the "read more" button.
    pub link: Option<Spanned<String>>,
    /// Label of the button (default from the theme).
    pub link_text: Option<String>,
    /// Lead image URL or path relative to the issue folder.
    pub image: Option<Spanned<String>>,
    /// Alternative text of the lead image; required with `image`.
    pub image_alt: Option<String>,
    /// Who said it (quote kind).
    pub attribution: Option<String>,
}

/// A section file split in two.
#[derive(Debug)]
pub struct Split<'a> {
    /// The parsed front matter (default when the file has none).
    pub front: FrontMatter,
    /// Byte offset where the front matter text starts in the file.
    pub front_offset: usize,
    /// The Markdown body.
    pub body: &'a str,
    /// Byte offset of the body in the file.
    pub body_offset: usize,
}

/// Splits and parses `source`, the text of `path`; errors are every
/// problem of the front matter, each at its place.
pub fn split<'a>(path: &Path, source: &'a str) -> Result<Split<'a>, Vec<Located>> {
    let Some(after_open) = strip_fence(source) else {
        return Ok(Split {
            front: FrontMatter::default(),
            front_offset: 0,
            body: source,
            body_offset: 0,
        });
    };
    let front_offset = source.len() - after_open.len();
    let mut line_start = front_offset;
    loop {
        let line_end = source[line_start..]
            .find('\n')
            .map_or(source.len(), |i| line_start + i + 1);
        let line = &source[line_start..line_end];
        if line.trim_end() == "+++" {
            let front_text = &source[front_offset..line_start];
            let front = crate::error::parse_toml(path, source, front_offset, front_text)?;
            return Ok(Split {
                front,
                front_offset,
                body: &source[line_end..],
                body_offset: line_end,
            });
        }
        if line_end == source.len() {
            return Err(vec![Located::file(
                path,
                "the front matter opened with `+++` is never closed",
            )
            .help("add a line `+++` after the front matter")]);
        }
        line_start = line_end;
    }
}

/// The text after an opening `+++` line, if the file starts with one.
fn strip_fence(source: &str) -> Option<&str> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let rest = source.strip_prefix("+++")?;
    let rest = rest.trim_start_matches([' ', '\t']);
    rest.strip_prefix("\r\n")
        .or_else(|| rest.strip_prefix('\n'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn can_split_front_matter_and_body() {
        let src = "+++\ntitle = \"T\"\nkind = \"note\"\n+++\nBody\n";
        let split = split(Path::new("a.md"), src).unwrap();
        assert_eq!(split.front.kind, SectionKind::Note);
        assert_eq!(split.body, "Body\n");
        assert_eq!(&src[split.body_offset..], "Body\n");
    }

    #[test]
    fn file_without_front_matter_is_all_body() {
        let split = split(Path::new("a.md"), "Just text\n").unwrap();
        assert_eq!(split.body, "Just text\n");
        assert_eq!(split.front.kind, SectionKind::Story);
    }

    #[test]
    fn errors_point_at_file_lines() {
        let src = "+++\ntitle = \"T\"\nimgae = \"x.jpg\"\n+++\nBody\n";
        let err = &split(Path::new("a.md"), src).unwrap_err()[0];
        assert_eq!((err.line, err.column), (3, 1));
        assert!(
            err.message.contains("unknown field `imgae`"),
            "{}",
            err.message
        );

        let src = "+++\nkind = \"stroy\"\n+++\n";
        let err = &split(Path::new("a.md"), src).unwrap_err()[0];
        assert_eq!(err.line, 2);
        assert!(
            err.message.contains("unknown variant `stroy`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn errors_on_unclosed_front_matter() {
        let err = &split(Path::new("a.md"), "+++\ntitle = \"T\"\n").unwrap_err()[0];
        assert!(err.message.contains("never closed"));
    }
}
