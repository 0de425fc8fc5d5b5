//! The content model → the plain-text part, wrapped at 72 display columns.
//!
//! Written from the same model as the HTML, never scraped from it. Links in
//! running text become numbered references listed after their section;
//! buttons become `label: URL` lines.

use super::wrap::{width, wrap};
use super::Composed;
use crate::issue::markdown::{Block, Inline};
use crate::issue::tags::{find_marker, TagTable, Values, OPEN};
use crate::issue::{Section, SectionKind};

/// Line width of the plain-text part.
pub const WIDTH: usize = 72;

/// Stands for a paragraph that holds a merge tag: it is wrapped per reader,
/// once the reader's values are known. Everything else is wrapped once.
const DEFERRED_OPEN: char = '\u{E002}';
const DEFERRED_CLOSE: char = '\u{E003}';

/// The plain text of an issue, composed once with merge-tag markers in
/// place; [`TextTemplate::render`] fills in one reader.
#[derive(Debug, Clone, Default)]
pub struct TextTemplate {
    text: String,
    deferred: Vec<Deferred>,
}

#[derive(Debug, Clone)]
struct Deferred {
    text: String,
    first: String,
    rest: String,
    underline: Option<char>,
}

impl TextTemplate {
    /// The plain text for one reader.
    pub fn render(&self, tags: &TagTable, values: &Values) -> String {
        let filled = tags.fill(&self.text, values, |v, out| out.push_str(v));
        if self.deferred.is_empty() {
            return filled;
        }
        let mut out = String::with_capacity(filled.len() + 256);
        let mut rest = filled.as_str();
        while let Some(open) = find_marker(rest, DEFERRED_OPEN) {
            out.push_str(&rest[..open]);
            let after = &rest[open + DEFERRED_OPEN.len_utf8()..];
            let close = find_marker(after, DEFERRED_CLOSE).expect("placeholders are closed");
            let paragraph = &self.deferred[after[..close]
                .parse::<usize>()
                .expect("a placeholder index")];
            let text = tags.fill(&paragraph.text, values, |v, out| out.push_str(v));
            push_wrapped(&mut out, &text, &paragraph.first, &paragraph.rest);
            if let Some(c) = paragraph.underline {
                out.push_str(&c.to_string().repeat(width(&text).min(WIDTH)));
                out.push('\n');
            }
            // The placeholder stands on a line of its own.
            rest = &after[close + DEFERRED_CLOSE.len_utf8() + 1..];
        }
        out.push_str(rest);
        out
    }
}

struct Writer<'a> {
    composed: &'a Composed<'a>,
    out: String,
    deferred: Vec<Deferred>,
    /// URLs referenced so far; a reference number is its index + 1.
    refs: Vec<String>,
    /// References not yet listed.
    pending: Vec<usize>,
}

/// Composes the plain-text part once, merge tags left as markers.
pub fn compose(composed: &Composed<'_>) -> TextTemplate {
    let mut w = Writer {
        composed,
        out: String::with_capacity(16 * 1024),
        deferred: Vec::new(),
        refs: Vec::new(),
        pending: Vec::new(),
    };
    w.masthead();
    if composed.issue.toc {
        w.toc();
    }
    for section in &composed.issue.sections {
        w.rule();
        w.section(section);
    }
    w.rule();
    w.footer();
    TextTemplate {
        text: w.out,
        deferred: w.deferred,
    }
}

/// Appends `text` wrapped at [`WIDTH`], hard line breaks kept.
fn push_wrapped(out: &mut String, text: &str, first: &str, rest: &str) {
    for (i, hard_line) in text.split('\n').enumerate() {
        let indent = if i == 0 { first } else { rest };
        for line in wrap(hard_line, WIDTH, indent, rest) {
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
}

impl Writer<'_> {
    /// Text as composed: markers stay until a reader fills them.
    fn fill(&self, text: &str) -> String {
        text.to_string()
    }

    fn line(&mut self, line: &str) {
        self.out.push_str(line.trim_end());
        self.out.push('\n');
    }

    fn blank(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    fn para(&mut self, text: &str, first: &str, rest: &str) {
        self.para_with(text, first, rest, None);
    }

    /// A paragraph, wrapped now, or per reader when it holds a merge tag.
    fn para_with(&mut self, text: &str, first: &str, rest: &str, underline: Option<char>) {
        if text.contains(OPEN) {
            let index = self.deferred.len();
            self.deferred.push(Deferred {
                text: text.to_string(),
                first: first.to_string(),
                rest: rest.to_string(),
                underline,
            });
            self.out.push(DEFERRED_OPEN);
            self.out.push_str(&index.to_string());
            self.out.push(DEFERRED_CLOSE);
            self.out.push('\n');
            return;
        }
        push_wrapped(&mut self.out, text, first, rest);
        if let Some(c) = underline {
            self.line(&c.to_string().repeat(width(text).min(WIDTH)));
        }
    }

    fn rule(&mut self) {
        self.blank();
        self.line(&"-".repeat(WIDTH));
        self.out.push('\n');
    }

    fn masthead(&mut self) {
        let layout = &self.composed.layout;
        self.line(&layout.config.newsletter().name.clone());
        if let Some(meta) = layout.issue_meta() {
            self.line(&meta);
        }
        if let Some(web) = &layout.web_url_marker {
            let line = format!(
                "{}: {}",
                layout.theme.labels.view_in_browser,
                self.fill(web)
            );
            self.line(&line);
        }
        self.out.push('\n');
    }

    fn toc(&mut self) {
        self.line(&self.composed.layout.theme.labels.contents.clone());
        let titles: Vec<String> = self
            .composed
            .issue
            .toc_entries()
            .map(|(_, s)| self.fill(s.title.as_deref().unwrap_or("")))
            .collect();
        for (i, title) in titles.iter().enumerate() {
            let number = format!("{:>2}. ", i + 1);
            self.para(title, &number, &" ".repeat(number.len()));
        }
    }

    fn section(&mut self, section: &Section) {
        if section.kind == SectionKind::Quote {
            self.quote(section);
        } else {
            if let Some(title) = &section.title {
                let underline = if section.kind == SectionKind::Note {
                    '-'
                } else {
                    '='
                };
                self.para_with(title, "", "", Some(underline));
                self.out.push('\n');
            }
            self.blocks(&section.body.blocks, "");
            self.footnotes(&section.body.footnotes);
            if let Some(link) = &section.link {
                let label = section
                    .link_text
                    .clone()
                    .unwrap_or_else(|| self.composed.layout.theme.labels.read_more.clone());
                let line = format!("{label}: {}", self.fill(link));
                self.blank();
                self.para(&line, "", "");
            }
        }
        self.references();
    }

    fn quote(&mut self, section: &Section) {
        self.blocks(&section.body.blocks, "> ");
        if let Some(who) = &section.attribution {
            self.para(&format!("— {who}"), "> ", "> ");
        }
    }

    fn footnotes(&mut self, notes: &[Vec<Block>]) {
        for (i, note) in notes.iter().enumerate() {
            let mark = format!("[^{}] ", i + 1);
            let text = self.flat_blocks(note);
            self.blank();
            self.para(&text, &mark, &" ".repeat(mark.len()));
        }
    }

    /// Lists the references of the section just written.
    fn references(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        self.blank();
        for n in std::mem::take(&mut self.pending) {
            let line = format!("[{}] {}", n + 1, self.refs[n]);
            self.line(&line);
        }
    }

    fn blocks(&mut self, blocks: &[Block], prefix: &str) {
        for block in blocks {
            self.block(block, prefix);
        }
    }

    fn block(&mut self, block: &Block, prefix: &str) {
        self.blank_prefixed(prefix);
        match block {
            Block::Paragraph(inlines) => {
                let text = self.inlines(inlines);
                self.para(&text, prefix, prefix);
            }
            Block::Heading(_, inlines) => {
                let text = self.inlines(inlines);
                self.para(&text, prefix, prefix);
                let line = format!(
                    "{prefix}{}",
                    "-".repeat(width(&text).min(WIDTH - width(prefix)))
                );
                self.line(&line);
            }
            Block::List { start, items } => self.list(*start, items, prefix),
            Block::Quote(blocks) => self.blocks(blocks, &format!("{prefix}> ")),
            Block::Code(code) => {
                for line in code.lines() {
                    self.line(&format!("{prefix}    {line}"));
                }
            }
            Block::Table { head, rows, .. } => self.table(head, rows, prefix),
            Block::Rule => self.line(&format!("{prefix}* * *")),
        }
    }

    fn blank_prefixed(&mut self, prefix: &str) {
        if self.out.is_empty() || self.out.ends_with("\n\n") {
            return;
        }
        if prefix.trim().is_empty() {
            self.out.push('\n');
        } else {
            self.line(prefix);
        }
    }

    fn list(&mut self, start: Option<u64>, items: &[Vec<Block>], prefix: &str) {
        for (i, item) in items.iter().enumerate() {
            let marker = match start {
                Some(n) => format!("{}. ", n + i as u64),
                None => "- ".into(),
            };
            let first = format!("{prefix}{marker}");
            let rest = format!("{prefix}{}", " ".repeat(marker.len()));
            for (j, block) in item.iter().enumerate() {
                match block {
                    Block::Paragraph(inlines) => {
                        let text = self.inlines(inlines);
                        self.para(&text, if j == 0 { &first } else { &rest }, &rest);
                    }
                    other => self.block(other, &rest),
                }
            }
        }
    }

    /// A table as aligned columns when it fits, else one `header: value`
    /// line per cell.
    fn table(&mut self, head: &[Vec<Inline>], rows: &[Vec<Vec<Inline>>], prefix: &str) {
        let head: Vec<String> = head.iter().map(|c| self.inlines(c)).collect();
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|r| r.iter().map(|c| self.inlines(c)).collect())
            .collect();
        let columns = head.len();
        let mut widths = vec![0; columns];
        for row in std::iter::once(&head).chain(&rows) {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(width(cell));
            }
        }
        let total = widths.iter().sum::<usize>() + 3 * columns.saturating_sub(1) + width(prefix);
        if total <= WIDTH {
            let pad = |cells: &[String]| -> String {
                let padded: Vec<String> = cells
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{c}{}", " ".repeat(widths[i].saturating_sub(width(c)))))
                    .collect();
                format!("{prefix}{}", padded.join(" | "))
            };
            self.line(&pad(&head));
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            self.line(&format!("{prefix}{}", rule.join("-|-")));
            for row in &rows {
                self.line(&pad(row));
            }
        } else {
            for row in &rows {
                for (i, cell) in row.iter().enumerate() {
                    let label = head.get(i).map_or("", String::as_str);
                    let marker = if i == 0 {
                        format!("{prefix}- ")
                    } else {
                        format!("{prefix}  ")
                    };
                    self.para(
                        &format!("{label}: {cell}"),
                        &marker,
                        &format!("{prefix}    "),
                    );
                }
            }
        }
    }

    /// Footnote text as one paragraph.
    fn flat_blocks(&mut self, blocks: &[Block]) -> String {
        let parts: Vec<String> = blocks
            .iter()
            .map(|b| match b {
                Block::Paragraph(i) | Block::Heading(_, i) => self.inlines(i),
                Block::Code(c) => c.clone(),
                _ => String::new(),
            })
            .collect();
        parts.join(" ")
    }

    /// Inline content as text; links get reference numbers.
    fn inlines(&mut self, inlines: &[Inline]) -> String {
        let mut out = String::new();
        for inline in inlines {
            match inline {
                Inline::Text(t) => out.push_str(&self.fill(t)),
                Inline::Code(c) => out.push_str(&self.fill(c)),
                Inline::Emph(c) | Inline::Strong(c) => out.push_str(&self.inlines(c)),
                Inline::Strike(c) => {
                    let inner = self.inlines(c);
                    out.push_str(&format!("~~{inner}~~"));
                }
                Inline::Link { url, children } => {
                    let url = self.fill(url);
                    let label = self.inlines(children);
                    if label == url || url.strip_prefix("mailto:") == Some(label.as_str()) {
                        out.push_str(&label);
                    } else {
                        let n = self.reference(url);
                        out.push_str(&format!("{label} [{n}]"));
                    }
                }
                Inline::Image { alt, .. } => out.push_str(&format!("[{alt}]")),
                Inline::SoftBreak => out.push(' '),
                Inline::HardBreak => out.push('\n'),
                Inline::FootnoteRef(n) => out.push_str(&format!("[^{n}]")),
            }
        }
        out
    }

    fn reference(&mut self, url: String) -> usize {
        let index = match self.refs.iter().position(|u| *u == url) {
            Some(i) => i,
            None => {
                self.refs.push(url);
                self.refs.len() - 1
            }
        };
        if !self.pending.contains(&index) {
            self.pending.push(index);
        }
        index + 1
    }

    fn footer(&mut self) {
        let layout = &self.composed.layout;
        let newsletter = layout.config.newsletter();
        let mut lines = vec![newsletter.name.clone()];
        lines.extend(newsletter.postal_address.clone());
        lines.push(
            layout
                .theme
                .labels
                .why
                .replace("{newsletter}", &newsletter.name),
        );
        let unsubscribe = format!(
            "{}: {}",
            layout.theme.labels.unsubscribe,
            self.fill(&layout.unsubscribe_marker)
        );
        lines.push(unsubscribe);
        if let Some(preferences) = &layout.preferences_marker {
            lines.push(format!(
                "{}: {}",
                layout.preferences_label(),
                self.fill(preferences)
            ));
        }
        if let Some(web) = &layout.web_url_marker {
            lines.push(format!(
                "{}: {}",
                layout.theme.labels.view_in_browser,
                self.fill(web)
            ));
        }
        for line in lines {
            self.para(&line, "", "");
        }
    }
}
