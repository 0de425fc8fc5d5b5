//! Markdown (CommonMark, tables, strikethrough, footnotes) → the content
//! model that both the HTML and the plain-text renderers walk.

use std::collections::HashMap;
use std::ops::Range;

use pulldown_cmark::{Alignment, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// A block of a section body.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A paragraph.
    Paragraph(Vec<Inline>),
    /// A heading inside a body; level 1 to 6 as written.
    Heading(u8, Vec<Inline>),
    /// A bulleted (`start = None`) or numbered list.
    List {
        /// The first number of a numbered list.
        start: Option<u64>,
        /// Each item's blocks.
        items: Vec<Vec<Block>>,
    },
    /// A block quote.
    Quote(Vec<Block>),
    /// A code block, verbatim.
    Code(String),
    /// A table.
    Table {
        /// Column alignments.
        align: Vec<Align>,
        /// The header cells.
        head: Vec<Vec<Inline>>,
        /// The body rows.
        rows: Vec<Vec<Vec<Inline>>>,
    },
    /// A thematic break.
    Rule,
}

/// Column alignment of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Not given.
    None,
    /// `:--`.
    Left,
    /// `:-:`.
    Center,
    /// `--:`.
    Right,
}

/// Inline content.
#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    /// Text (may hold merge-tag markers).
    Text(String),
    /// `code`.
    Code(String),
    /// *emphasis*.
    Emph(Vec<Inline>),
    /// **strong**.
    Strong(Vec<Inline>),
    /// ~~strikethrough~~.
    Strike(Vec<Inline>),
    /// A link (the URL may hold merge-tag markers).
    Link {
        /// Target.
        url: String,
        /// Label.
        children: Vec<Inline>,
    },
    /// An image inside the text.
    Image {
        /// Source URL or local path.
        src: String,
        /// Alternative text.
        alt: String,
    },
    /// A soft line break (rendered as a space).
    SoftBreak,
    /// A hard line break.
    HardBreak,
    /// A reference to footnote number n (1-based, per section).
    FootnoteRef(usize),
}

/// A parsed body: its blocks and its footnotes in reference order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Body {
    /// The blocks.
    pub blocks: Vec<Block>,
    /// Footnote texts, numbered from 1 in order of first reference.
    pub footnotes: Vec<Vec<Block>>,
    /// Every link target and image source as the parser read it (entities
    /// and escapes decoded), with the 1-based line it starts on, in source
    /// order: where `check` reports a finding about it.
    pub targets: Vec<(String, usize)>,
}

/// Why a body could not be parsed: byte offset in the body and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkdownError {
    /// Byte offset in the Markdown text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: &'static str,
}

type Events<'a> = std::iter::Peekable<pulldown_cmark::OffsetIter<'a>>;

struct Builder<'a> {
    text: &'a str,
    targets: Vec<(String, usize)>,
    events: Events<'a>,
    footnote_numbers: HashMap<String, usize>,
    footnote_defs: HashMap<String, Vec<Block>>,
}

/// Parses `text` (merge tags already replaced by markers).
pub fn parse(text: &str) -> Result<Body, MarkdownError> {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES;
    check_depth(Parser::new_ext(text, options).into_offset_iter())?;
    let mut builder = Builder {
        text,
        targets: Vec::new(),
        events: Parser::new_ext(text, options).into_offset_iter().peekable(),
        footnote_numbers: HashMap::new(),
        footnote_defs: HashMap::new(),
    };
    let blocks = builder.blocks(None)?;
    let mut numbered: Vec<(usize, String)> = builder
        .footnote_numbers
        .iter()
        .map(|(label, n)| (*n, label.clone()))
        .collect();
    numbered.sort();
    let footnotes = numbered
        .into_iter()
        .map(|(_, label)| builder.footnote_defs.remove(&label).unwrap_or_default())
        .collect();
    Ok(Body {
        blocks,
        footnotes,
        targets: builder.targets,
    })
}

/// How deeply quotes, lists, emphasis and links may nest. Far beyond what
/// any newsletter writes, and well within what the renderers' recursion
/// can take on the smallest thread stack.
pub const MAX_DEPTH: usize = 32;

/// Refuses a body nested deeper than [`MAX_DEPTH`], at the place where it
/// gets too deep, before anything recursive walks it.
fn check_depth<'a>(
    events: impl Iterator<Item = (Event<'a>, Range<usize>)>,
) -> Result<(), MarkdownError> {
    let mut depth = 0usize;
    for (event, range) in events {
        match event {
            Event::Start(_) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(MarkdownError {
                        offset: range.start,
                        message: format!(
                            "quotes, lists or emphasis are nested more than {MAX_DEPTH} levels deep here"
                        ),
                        help: "flatten the nesting: mail programs show deep nesting badly anyway",
                    });
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

impl Builder<'_> {
    /// Blocks until `end` (or the end of input).
    fn blocks(&mut self, end: Option<TagEnd>) -> Result<Vec<Block>, MarkdownError> {
        let mut blocks = Vec::new();
        let mut loose: Vec<Inline> = Vec::new();
        while let Some((event, range)) = self.events.peek().cloned() {
            match event {
                Event::End(tag) if Some(tag) == end => {
                    self.events.next();
                    break;
                }
                Event::Start(Tag::FootnoteDefinition(label)) => {
                    self.events.next();
                    let body = self.blocks(Some(TagEnd::FootnoteDefinition))?;
                    self.footnote_defs.insert(label.to_string(), body);
                }
                Event::Start(tag) if is_block(&tag) => {
                    flush(&mut loose, &mut blocks);
                    self.events.next();
                    blocks.push(self.block(tag, range)?);
                }
                Event::Rule => {
                    flush(&mut loose, &mut blocks);
                    self.events.next();
                    blocks.push(Block::Rule);
                }
                _ => {
                    // Inline content directly in a block (tight list items).
                    if let Some(inline) = self.inline()? {
                        loose.push(inline);
                    }
                }
            }
        }
        flush(&mut loose, &mut blocks);
        Ok(blocks)
    }

    fn block(&mut self, tag: Tag<'_>, range: Range<usize>) -> Result<Block, MarkdownError> {
        Ok(match tag {
            Tag::Paragraph => Block::Paragraph(self.inlines(TagEnd::Paragraph)?),
            Tag::Heading { level, .. } => {
                Block::Heading(heading_number(level), self.inlines(TagEnd::Heading(level))?)
            }
            Tag::BlockQuote(kind) => Block::Quote(self.blocks(Some(TagEnd::BlockQuote(kind)))?),
            Tag::List(start) => {
                let mut items = Vec::new();
                while let Some((Event::Start(Tag::Item), _)) = self.events.peek() {
                    self.events.next();
                    items.push(self.blocks(Some(TagEnd::Item))?);
                }
                self.expect_end(TagEnd::List(start.is_some()));
                Block::List { start, items }
            }
            Tag::CodeBlock(_) => {
                let mut code = String::new();
                for (event, _) in self.events.by_ref() {
                    match event {
                        Event::Text(t) => code.push_str(&t),
                        Event::End(TagEnd::CodeBlock) => break,
                        _ => {}
                    }
                }
                Block::Code(code)
            }
            Tag::Table(align) => self.table(align)?,
            Tag::HtmlBlock => return Err(raw_html(range.start)),
            other => {
                return Err(MarkdownError {
                    offset: range.start,
                    message: format!("unsupported Markdown block {other:?}"),
                    help: "remove it; letterpress supports CommonMark, tables, strikethrough and footnotes",
                })
            }
        })
    }

    fn table(&mut self, align: Vec<Alignment>) -> Result<Block, MarkdownError> {
        let align = align.into_iter().map(to_align).collect();
        let mut head = Vec::new();
        let mut rows = Vec::new();
        while let Some((event, _)) = self.events.next() {
            match event {
                Event::Start(Tag::TableHead) => head = self.cells(TagEnd::TableHead)?,
                Event::Start(Tag::TableRow) => rows.push(self.cells(TagEnd::TableRow)?),
                Event::End(TagEnd::Table) => break,
                _ => {}
            }
        }
        Ok(Block::Table { align, head, rows })
    }

    fn cells(&mut self, end: TagEnd) -> Result<Vec<Vec<Inline>>, MarkdownError> {
        let mut cells = Vec::new();
        while let Some((event, _)) = self.events.next() {
            match event {
                Event::Start(Tag::TableCell) => cells.push(self.inlines(TagEnd::TableCell)?),
                Event::End(e) if e == end => break,
                _ => {}
            }
        }
        Ok(cells)
    }

    /// Inline content until `end`.
    fn inlines(&mut self, end: TagEnd) -> Result<Vec<Inline>, MarkdownError> {
        let mut out = Vec::new();
        while let Some((event, _)) = self.events.peek() {
            if *event == Event::End(end) {
                self.events.next();
                break;
            }
            if let Some(inline) = self.inline()? {
                push_inline(&mut out, inline);
            }
        }
        Ok(out)
    }

    /// One inline element, consuming its events.
    fn inline(&mut self) -> Result<Option<Inline>, MarkdownError> {
        let Some((event, range)) = self.events.next() else {
            return Ok(None);
        };
        Ok(Some(match event {
            Event::Text(t) => Inline::Text(t.into_string()),
            Event::Code(t) => Inline::Code(t.into_string()),
            Event::SoftBreak => Inline::SoftBreak,
            Event::HardBreak => Inline::HardBreak,
            Event::FootnoteReference(label) => {
                let next = self.footnote_numbers.len() + 1;
                let n = *self
                    .footnote_numbers
                    .entry(label.to_string())
                    .or_insert(next);
                Inline::FootnoteRef(n)
            }
            Event::Html(_) | Event::InlineHtml(_) => return Err(raw_html(range.start)),
            Event::Start(Tag::Emphasis) => Inline::Emph(self.inlines(TagEnd::Emphasis)?),
            Event::Start(Tag::Strong) => Inline::Strong(self.inlines(TagEnd::Strong)?),
            Event::Start(Tag::Strikethrough) => {
                Inline::Strike(self.inlines(TagEnd::Strikethrough)?)
            }
            Event::Start(Tag::Link { dest_url, .. }) => {
                self.target(&dest_url, range.start);
                Inline::Link {
                    url: dest_url.into_string(),
                    children: self.inlines(TagEnd::Link)?,
                }
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                self.target(&dest_url, range.start);
                let alt = plain_text(&self.inlines(TagEnd::Image)?);
                Inline::Image {
                    src: dest_url.into_string(),
                    alt,
                }
            }
            Event::TaskListMarker(done) => Inline::Text(if done { "[x] " } else { "[ ] " }.into()),
            _ => return Ok(None),
        }))
    }

    /// Notes a link target or image source and the line it starts on.
    fn target(&mut self, url: &str, offset: usize) {
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
        self.targets.push((url.to_string(), line));
    }

    fn expect_end(&mut self, end: TagEnd) {
        if let Some((Event::End(e), _)) = self.events.peek() {
            if *e == end {
                self.events.next();
            }
        }
    }
}

fn is_block(tag: &Tag<'_>) -> bool {
    matches!(
        tag,
        Tag::Paragraph
            | Tag::Heading { .. }
            | Tag::BlockQuote(_)
            | Tag::CodeBlock(_)
            | Tag::HtmlBlock
            | Tag::List(_)
            | Tag::Table(_)
            | Tag::DefinitionList
            | Tag::MetadataBlock(_)
    )
}

fn flush(loose: &mut Vec<Inline>, blocks: &mut Vec<Block>) {
    if !loose.is_empty() {
        blocks.push(Block::Paragraph(std::mem::take(loose)));
    }
}

/// Appends, joining adjacent text runs that the parser split.
fn push_inline(out: &mut Vec<Inline>, inline: Inline) {
    if let (Some(Inline::Text(last)), Inline::Text(next)) = (out.last_mut(), &inline) {
        last.push_str(next);
    } else {
        out.push(inline);
    }
}

fn raw_html(offset: usize) -> MarkdownError {
    MarkdownError {
        offset,
        message: "raw HTML is not allowed in a section".into(),
        help: "write it in Markdown; the theme decides the HTML so that it renders in every mail client",
    }
}

fn heading_number(level: HeadingLevel) -> u8 {
    level as u8
}

fn to_align(a: Alignment) -> Align {
    match a {
        Alignment::None => Align::None,
        Alignment::Left => Align::Left,
        Alignment::Center => Align::Center,
        Alignment::Right => Align::Right,
    }
}

/// The text of inline content without formatting (image alt text, titles).
pub fn plain_text(inlines: &[Inline]) -> String {
    let mut out = String::new();
    for inline in inlines {
        match inline {
            Inline::Text(t) | Inline::Code(t) => out.push_str(t),
            Inline::Emph(c) | Inline::Strong(c) | Inline::Strike(c) => out.push_str(&plain_text(c)),
            Inline::Link { children, .. } => out.push_str(&plain_text(children)),
            Inline::Image { alt, .. } => out.push_str(alt),
            Inline::SoftBreak | Inline::HardBreak => out.push(' '),
            Inline::FootnoteRef(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Inline {
        Inline::Text(s.into())
    }

    #[test]
    fn can_parse_paragraphs_lists_and_emphasis() {
        let body = parse("첫 *문단* 입니다.\n\n- 하나\n- **둘**\n").unwrap();
        assert_eq!(
            body.blocks,
            vec![
                Block::Paragraph(vec![
                    text("첫 "),
                    Inline::Emph(vec![text("문단")]),
                    text(" 입니다.")
                ]),
                Block::List {
                    start: None,
                    items: vec![
                        vec![Block::Paragraph(vec![text("하나")])],
                        vec![Block::Paragraph(vec![Inline::Strong(vec![text("둘")])])],
                    ],
                },
            ]
        );
    }

    #[test]
    fn can_parse_tables_and_footnotes() {
        let body =
            parse("| a | b |\n|:--|--:|\n| 1 | 2 |\n\nNote.[^x]\n\n[^x]: The note.\n").unwrap();
        let Block::Table { align, head, rows } = &body.blocks[0] else {
            panic!("not a table: {:?}", body.blocks)
        };
        assert_eq!(align, &vec![Align::Left, Align::Right]);
        assert_eq!(head.len(), 2);
        assert_eq!(rows[0][1], vec![text("2")]);
        assert_eq!(
            body.blocks[1],
            Block::Paragraph(vec![text("Note."), Inline::FootnoteRef(1)])
        );
        assert_eq!(
            body.footnotes,
            vec![vec![Block::Paragraph(vec![text("The note.")])]]
        );
    }

    #[test]
    fn link_targets_carry_their_line_decoded() {
        let body = parse("One.\n\nTwo [a](&#106;avascript:x)\nthree ![b](&#x69;mg.png)\n").unwrap();
        assert_eq!(
            body.targets,
            vec![("javascript:x".to_string(), 3), ("img.png".to_string(), 4)]
        );
    }

    #[test]
    fn errors_on_raw_html_with_offset() {
        let err = parse("Hello\n\n<script>alert(1)</script>\n").unwrap_err();
        assert_eq!(err.offset, 7);
        let err = parse("Hello <b>bold</b>\n").unwrap_err();
        assert_eq!(err.offset, 6);
    }
}
