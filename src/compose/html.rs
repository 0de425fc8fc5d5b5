//! The content model → email HTML (maud), before CSS inlining.
//!
//! The structure follows the patterns that render in every client: a
//! presentation-table layout, a fluid column of at most `max_width` with an
//! Outlook ghost table, a hidden preheader, bulletproof buttons.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::Layout;
use crate::issue::markdown::{Align, Block, Inline};
use crate::issue::{Section, SectionKind};

/// Hidden filler after the preheader so that clients do not pull body text
/// into the inbox preview.
const PREHEADER_FILLER: &str = "&#847;&zwnj;&nbsp;";

/// The most filler units after a preheader.
const FILLER_UNITS: usize = 60;

/// The columns of a text-mode reader's line (w3m, lynx). Such readers show
/// hidden text and draw each filler unit three columns wide, so a preheader
/// gets only as many units as fit beside it on its line: the filler never
/// fills lines of its own there.
const TEXT_COLUMNS: usize = 79;

impl Layout<'_> {
    /// The whole document, with a `<style>` block holding the theme's CSS.
    pub(super) fn document(&self) -> String {
        let lang = &self.config.newsletter().language;
        let max = self.theme.file.max_width;
        let body = html! {
            body.body {
                // The web version is a page: its content is its one <main>.
                @if self.web_page { (PreEscaped("<main>")) }
                div.preheader style="display:none;font-size:1px;line-height:1px;max-height:0;max-width:0;opacity:0;overflow:hidden;mso-hide:all;" {
                    (self.preheader())
                    (PreEscaped(self.filler()))
                }
                table.wrapper role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" bgcolor=(self.theme.file.colors.background) {
                    tr { td align="center" {
                        (PreEscaped(format!(r#"<!--[if mso]><table role="presentation" align="center" width="{max}" cellpadding="0" cellspacing="0" border="0"><tr><td><![endif]-->"#)))
                        div.container role="article" aria-roledescription="email" aria-label=(self.subject) lang=(lang) dir=(self.direction()) {
                            (self.topbar())
                            table.card role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" bgcolor=(self.theme.file.colors.surface) {
                                (self.masthead())
                                @if self.issue.toc { (self.toc()) }
                                @for (i, section) in self.issue.sections.iter().enumerate() {
                                    (self.section(i, section))
                                }
                            }
                            (self.footer())
                        }
                        (PreEscaped("<!--[if mso]></td></tr></table><![endif]-->"))
                    } }
                }
                @if self.web_page { (PreEscaped("</main>")) }
            }
        };
        let mut out = String::with_capacity(64 * 1024);
        out.push_str(&DOCTYPE.into_string());
        out.push_str(&format!(
            r#"<html lang="{}" dir="{}" xmlns="http://www.w3.org/1999/xhtml" xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office">"#,
            escape_attr(lang),
            self.direction()
        ));
        out.push_str(&self.head());
        out.push_str(&body.into_string());
        out.push_str("</html>\n");
        out
    }

    fn head(&self) -> String {
        html! {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="X-UA-Compatible" content="IE=edge";
                meta name="x-apple-disable-message-reformatting";
                meta name="format-detection" content="telephone=no, date=no, address=no, email=no, url=no";
                meta name="color-scheme" content="light dark";
                meta name="supported-color-schemes" content="light dark";
                title { (self.subject) }
                (PreEscaped("<!--[if mso]><noscript><xml><o:OfficeDocumentSettings><o:PixelsPerInch>96</o:PixelsPerInch></o:OfficeDocumentSettings></xml></noscript><![endif]-->"))
                style { (PreEscaped(&self.theme.at_rules)) }
            }
        }
        .into_string()
    }

    fn direction(&self) -> &'static str {
        let lang = crate::config::primary_language(&self.config.newsletter().language);
        if ["ar", "he", "fa", "ur", "yi"].contains(&lang.as_str()) {
            "rtl"
        } else {
            "ltr"
        }
    }

    fn preheader(&self) -> &str {
        self.issue.preheader.as_deref().unwrap_or("")
    }

    /// The words of the link to the preference page.
    pub(crate) fn preferences_label(&self) -> &str {
        match &self.theme.labels.preferences {
            Some(label) => label,
            None => crate::words::words(&self.config.newsletter().language).preferences_link,
        }
    }

    /// The link to the web version, but not in the web version itself.
    fn web_link(&self) -> Option<&str> {
        self.web_url_marker.as_deref().filter(|_| !self.web_page)
    }

    /// The filler after the preheader: none without one (the inbox then
    /// shows the first words of the body, as `check` says).
    fn filler(&self) -> String {
        let preheader = self.preheader();
        if preheader.is_empty() {
            return String::new();
        }
        let units = TEXT_COLUMNS.saturating_sub(crate::compose::wrap::width(preheader)) / 3;
        PREHEADER_FILLER.repeat(units.min(FILLER_UNITS))
    }

    fn topbar(&self) -> Markup {
        html! {
            @if let Some(web) = self.web_link() {
                table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" {
                    tr { td.topbar-cell { a href=(web) { (self.theme.labels.view_in_browser) } } }
                }
            }
        }
    }

    /// In the web version, with `[subscribe]`: the form's URL and its words.
    fn subscribe_link(&self) -> Option<(&str, String)> {
        let table = self
            .config
            .file
            .subscribe
            .as_ref()
            .filter(|_| self.web_page)?;
        let newsletter = self.config.newsletter();
        let words = crate::words::words(&newsletter.language);
        let label = crate::words::fill(words.form_title, &newsletter.name, "");
        Some((table.url.as_str(), label))
    }

    /// The `width` and `height` of an image: a local image's display size,
    /// else the column's width (and no height: its own ratio decides).
    fn image_size(&self, src: &str) -> (u32, Option<u32>) {
        self.image_sizes
            .iter()
            .find(|(s, _, _)| s == src)
            .map_or((self.theme.content_width(), None), |(_, w, h)| {
                (*w, Some(*h))
            })
    }

    fn masthead(&self) -> Markup {
        let theme = &self.theme.file;
        html! {
            tr { td.masthead {
                @if let Some(logo) = &theme.logo {
                    img.logo src=(logo) width=(theme.logo_width) alt=(self.config.newsletter().name) style=(format!("width:{}px;max-width:100%;", theme.logo_width));
                }
                h1.brand { (self.config.newsletter().name) }
                @if let Some(meta) = self.issue_meta_markup() { p.issue-meta { (meta) } }
            } }
        }
    }

    fn toc(&self) -> Markup {
        html! {
            tr { td.toc {
                p.toc-title { (self.theme.labels.contents) }
                ol.toc-list {
                    @for (i, section) in self.issue.toc_entries() {
                        li { a href=(format!("#{}", anchor(i))) { (section.title.as_deref().unwrap_or("")) } }
                    }
                }
            } }
        }
    }

    fn section(&self, index: usize, section: &Section) -> Markup {
        let class = match section.kind {
            SectionKind::Story => "section section-story",
            SectionKind::Intro => "section section-intro",
            SectionKind::Quote => "section section-quote",
            SectionKind::Note => "section section-note",
        };
        html! {
            tr { td class=(class) id=(anchor(index)) {
                @match section.kind {
                    SectionKind::Quote => (self.pull_quote(section)),
                    _ => {
                        @if let Some(title) = &section.title {
                            @if section.kind == SectionKind::Note { h2.note-title { (title) } } @else { h2.title { (title) } }
                        }
                        @if let Some(image) = &section.image {
                            @let (width, height) = self.image_size(&image.src);
                            img.lead-image src=(image.src) alt=(image.alt) width=(width) height=[height]
                                style=(format!("max-width:{}px;", self.theme.content_width()));
                        }
                        (self.blocks(&section.body.blocks))
                        (self.footnotes(&section.body.footnotes))
                        @if let Some(link) = &section.link {
                            (self.button(link, section.link_text.as_deref().unwrap_or(&self.theme.labels.read_more)))
                        }
                    }
                }
            } }
        }
    }

    fn pull_quote(&self, section: &Section) -> Markup {
        html! {
            blockquote.pullquote {
                @for block in &section.body.blocks {
                    @match block {
                        Block::Paragraph(inlines) => p.pullquote-text { (self.inlines(inlines)) },
                        other => (self.block(other)),
                    }
                }
                @if let Some(who) = &section.attribution { p.attribution { "— " (who) } }
            }
        }
    }

    fn button(&self, href: &str, label: &str) -> Markup {
        let accent = &self.theme.file.colors.accent;
        html! {
            table.button role="presentation" cellpadding="0" cellspacing="0" border="0" {
                tr { td.button-cell bgcolor=(accent) {
                    a.button-link href=(href) { (label) }
                } }
            }
        }
    }

    fn footer(&self) -> Markup {
        let newsletter = self.config.newsletter();
        let why = self
            .theme
            .labels
            .why
            .replace("{newsletter}", &newsletter.name);
        html! {
            table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" {
                tr { td.footer-cell {
                    p.footer-name { (newsletter.name) }
                    @if let Some(address) = &newsletter.postal_address { p.footer-address { (address) } }
                    p.footer-why { (why) }
                    p.footer-links {
                        a href=(self.unsubscribe_marker) { (self.theme.labels.unsubscribe) }
                        @if let Some(preferences) = &self.preferences_marker {
                            " · " a href=(preferences) { (self.preferences_label()) }
                        }
                        @if let Some(web) = self.web_link() {
                            " · " a href=(web) { (self.theme.labels.view_in_browser) }
                        }
                        @if let Some(subscribe) = self.subscribe_link() {
                            " · " a href=(subscribe.0) { (subscribe.1) }
                        }
                    }
                } }
            }
        }
    }

    fn blocks(&self, blocks: &[Block]) -> Markup {
        html! { @for block in blocks { (self.block(block)) } }
    }

    fn block(&self, block: &Block) -> Markup {
        html! {
            @match block {
                Block::Paragraph(inlines) => p { (self.inlines(inlines)) },
                Block::Heading(level, inlines) => @match level {
                    1 | 2 => h3 { (self.inlines(inlines)) },
                    3 => h4 { (self.inlines(inlines)) },
                    _ => h5 { (self.inlines(inlines)) },
                },
                Block::List { start: None, items } => ul { @for item in items { li { (self.item(item)) } } },
                Block::List { start: Some(start), items } => ol start=(start) { @for item in items { li { (self.item(item)) } } },
                Block::Quote(blocks) => blockquote.inline-quote { (self.blocks(blocks)) },
                Block::Code(code) => pre { code { (code) } },
                Block::Table { align, head, rows } => table.data-table cellpadding="0" cellspacing="0" border="0" width="100%" {
                    thead { tr { @for (i, cell) in head.iter().enumerate() { th style=(align_style(align, i)) { (self.inlines(cell)) } } } }
                    tbody { @for row in rows { tr { @for (i, cell) in row.iter().enumerate() { td style=(align_style(align, i)) { (self.inlines(cell)) } } } } }
                },
                Block::Rule => hr.rule;,
            }
        }
    }

    /// A list item: a lone paragraph renders without its `<p>` margins.
    fn item(&self, blocks: &[Block]) -> Markup {
        match blocks {
            [Block::Paragraph(inlines)] => self.inlines(inlines),
            _ => self.blocks(blocks),
        }
    }

    fn footnotes(&self, notes: &[Vec<Block>]) -> Markup {
        html! {
            @if !notes.is_empty() {
                ol.footnotes {
                    @for note in notes { li { (self.item(note)) } }
                }
            }
        }
    }

    fn inlines(&self, inlines: &[Inline]) -> Markup {
        html! {
            @for inline in inlines {
                @match inline {
                    Inline::Text(text) => (breakable(text)),
                    Inline::Code(code) => code { (breakable(code)) },
                    Inline::Emph(c) => em { (self.inlines(c)) },
                    Inline::Strong(c) => strong { (self.inlines(c)) },
                    Inline::Strike(c) => del { (self.inlines(c)) },
                    Inline::Link { url, children } => a href=(url) { (self.inlines(children)) },
                    Inline::Image { src, alt } => {
                        @let (width, height) = self.image_size(src);
                        img.inline-image src=(src) alt=(alt) width=(width) height=[height];
                    }
                    Inline::SoftBreak => " ",
                    Inline::HardBreak => br;,
                    Inline::FootnoteRef(n) => sup.fnref { (n) },
                }
            }
        }
    }
}

/// Runs longer than this many characters without a space (a URL, an
/// identifier) get break opportunities.
const LONG_RUN: usize = 20;

/// `text`, HTML-escaped, with `<wbr>` break opportunities in long runs of
/// characters that are not CJK: after `/ - . ? & = _ # :` and at least
/// every [`LONG_RUN`] characters. Apple Mail's WebKit and Thunderbird's
/// Gecko do not break such a run under `word-break: keep-all` even with
/// `overflow-wrap`, so a long URL would make the page wider than a phone.
/// Hangul, kana and ideographs never get one: Korean words stay whole.
/// Merge-tag markers are copied whole.
pub fn breakable(text: &str) -> PreEscaped<String> {
    let mut out = String::with_capacity(text.len() + 16);
    for token in text.split_inclusive(char::is_whitespace) {
        if token.chars().count() <= LONG_RUN {
            escape_into(token, &mut out);
            continue;
        }
        let mut run = 0;
        let mut in_marker = false;
        let mut chars = token.chars().peekable();
        while let Some(c) = chars.next() {
            let mut one = [0u8; 4];
            escape_into(c.encode_utf8(&mut one), &mut out);
            match c {
                crate::issue::tags::OPEN => in_marker = true,
                crate::issue::tags::CLOSE => in_marker = false,
                _ => {}
            }
            if in_marker || c.is_whitespace() || is_cjk(c) {
                run = 0;
                continue;
            }
            run += 1;
            let is_break =
                |c: char| matches!(c, '/' | '-' | '.' | '?' | '&' | '=' | '_' | '#' | ':');
            // After the last of a group (`://`), before a plain character.
            let next_plain = chars.peek().is_some_and(|&n| {
                !n.is_whitespace() && !is_cjk(n) && n != crate::issue::tags::OPEN && !is_break(n)
            });
            if next_plain && (is_break(c) || run >= LONG_RUN) {
                out.push_str("<wbr>");
                run = 0;
            }
        }
    }
    PreEscaped(out)
}

/// Hangul, kana, CJK ideographs and their punctuation: text that
/// `keep-all` (Korean) or the script itself (Chinese, Japanese) breaks.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF | 0x2E80..=0x2FDF | 0x3000..=0x30FF | 0x3130..=0x318F
        | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xA960..=0xA97F | 0xAC00..=0xD7FF
        | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x3FFFF)
}

/// The id of section `index`, the target of its table-of-contents entry.
pub(super) fn anchor(index: usize) -> String {
    format!("section-{}", index + 1)
}

fn align_style(align: &[Align], column: usize) -> &'static str {
    match align.get(column) {
        Some(Align::Center) => "text-align:center;",
        Some(Align::Right) => "text-align:right;",
        _ => "text-align:left;",
    }
}

/// Escapes a value for HTML text or a double-quoted attribute.
pub fn escape_attr(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    escape_into(value, &mut out);
    out
}

/// Escapes a value for XML 1.0 text or a double-quoted attribute: the
/// characters XML 1.0 cannot carry at all (most C0 and C1 controls, U+FFFE,
/// U+FFFF), not even as character references, are left out; `check`
/// reports them at their line.
pub fn escape_xml(value: &str) -> String {
    let kept: String = value
        .chars()
        .filter(|c| !super::forbidden_in_text(*c))
        .collect();
    escape_attr(&kept)
}

/// Appends `value` to `out`, HTML-escaped.
pub fn escape_into(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_runs_get_break_opportunities_and_korean_words_stay_whole() {
        let url = "https://example.com/articles/2026/a-long-address?x=1&y=2";
        let out = breakable(url).0;
        assert_eq!(out.replace("<wbr>", ""), escape_attr(url));
        assert!(
            out.contains("articles/<wbr>") && out.contains("&amp;<wbr>y"),
            "{out}"
        );
        assert!(!out.ends_with("<wbr>"));
        // No opportunity for 40 characters: one every 20.
        let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b";
        assert_eq!(breakable(hash).0.matches("<wbr>").count(), 1);
        // Korean words, however long, and short words are left as they are.
        let korean = "스타트업생태계활성화지원사업설명회에참석하셨던분들께 드리는 안내";
        assert_eq!(breakable(korean).0, korean);
        assert_eq!(breakable("a/b c").0, "a/b c");
        // A merge tag's marker is copied whole.
        let tagged = format!(
            "https://example.com/very/long/path?email={}email{}&x=1",
            crate::issue::tags::OPEN,
            crate::issue::tags::CLOSE
        );
        let out = breakable(&tagged).0;
        assert!(
            out.contains(&format!(
                "{}email{}",
                crate::issue::tags::OPEN,
                crate::issue::tags::CLOSE
            )),
            "{out}"
        );
    }
}
