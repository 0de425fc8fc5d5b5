//! Checks of the sections: links, images, headings, empty sections.

use anyhow::Result;

use super::{line_of, Level, Report};
use crate::issue::markdown::{plain_text, Block, Inline};
use crate::issue::tags::OPEN;
use crate::issue::walk::{self, Node};
use crate::issue::{Issue, Section, SectionKind};

/// Link texts that say nothing about where the link goes.
const VAGUE: &[&str] = &[
    "click here",
    "here",
    "click",
    "link",
    "this link",
    "read more",
    "more",
    "여기",
    "여기를 클릭",
    "클릭",
    "여기를 클릭하세요",
    "링크",
];

/// Checks every section of `issue`.
pub fn check_sections(issue: &Issue, report: &mut Report) -> Result<()> {
    for section in &issue.sections {
        let source = crate::error::read_input(&section.path)?;
        super::text::check(
            &section.path,
            &source,
            crate::issue::front_matter_range(&source),
            report,
        );
        let mut checker = Checker {
            section,
            source: &source,
            report: &mut *report,
            last_heading: None,
            seen: std::collections::HashMap::new(),
        };
        checker.run();
    }
    Ok(())
}

/// Every distinct http(s) link and image of the sections, with where it is.
pub fn link_targets(issue: &Issue) -> Result<Vec<(String, std::path::PathBuf, usize)>> {
    let mut out: Vec<(String, std::path::PathBuf, usize)> = Vec::new();
    for section in &issue.sections {
        let source = crate::error::read_input(&section.path)?;
        let mut urls: Vec<String> = section.link.iter().cloned().collect();
        urls.extend(section.image.iter().map(|i| i.src.clone()));
        collect_urls(&section.body.blocks, &mut urls);
        for url in urls {
            let web = url.starts_with("https://") || url.starts_with("http://");
            if web && !url.contains(OPEN) && !out.iter().any(|(u, _, _)| *u == url) {
                let line = line_of(&source, &url);
                out.push((url, section.path.clone(), line));
            }
        }
    }
    Ok(out)
}

fn collect_urls(blocks: &[Block], out: &mut Vec<String>) {
    walk::nodes(blocks, &mut |node| match node {
        Node::Link { url, .. } => out.push(url.to_string()),
        Node::Image { src, .. } => out.push(src.to_string()),
        Node::Heading(..) => {}
    });
}

struct Checker<'a> {
    section: &'a Section,
    source: &'a str,
    report: &'a mut Report,
    last_heading: Option<u8>,
    /// How many times each link target has been met so far.
    seen: std::collections::HashMap<String, usize>,
}

impl Checker<'_> {
    fn add(&mut self, needle: &str, level: Level, message: String) {
        let line = line_of(self.source, needle);
        self.report.add(&self.section.path, line, level, message);
    }

    /// The line of the next occurrence of the link target or image source
    /// `url` in the body, as the parser read it: an encoded or escaped
    /// target is found where it is written.
    fn target_line(&mut self, url: &str) -> usize {
        let n = self.seen.entry(url.to_string()).or_insert(0);
        let line = self
            .section
            .body
            .targets
            .iter()
            .filter(|(u, _)| u == url)
            .nth(*n)
            .map(|(_, line)| *line);
        *n += 1;
        line.unwrap_or_else(|| line_of(self.source, url))
    }

    fn run(&mut self) {
        let s = self.section;
        if let Some(link) = &s.link {
            // Without link_text the button shows the theme's label.
            let line = line_of(self.source, "link");
            self.link(link, s.link_text.as_deref(), line);
        }
        let text: String = s.body.blocks.iter().map(block_text).collect();
        if s.body.blocks.is_empty() && s.image.is_none() && s.kind != SectionKind::Quote {
            self.add("+++", Level::Warning, "the section is empty".into());
        } else if s.body.blocks.is_empty() && s.kind == SectionKind::Quote {
            self.add("+++", Level::Warning, "the quote is empty".into());
        } else if text.trim().is_empty() && (s.image.is_some() || has_image(&s.body.blocks)) {
            self.add("image", Level::Warning, "the section is only an image: with images off (many clients' default) readers see nothing; add text".into());
        }
        for note in &s.body.footnotes {
            self.blocks(note);
        }
        self.blocks(&s.body.blocks);
    }

    fn blocks(&mut self, blocks: &[Block]) {
        walk::nodes(blocks, &mut |node| self.node(node));
    }

    fn node(&mut self, node: Node<'_>) {
        match node {
            Node::Heading(level, i) => self.heading(level, i),
            Node::Link { url, label } => {
                let label = plain_text(label);
                let line = self.target_line(url);
                self.link(url, Some(&label), line);
            }
            Node::Image { src, alt } => {
                let line = self.target_line(src);
                if alt.trim().is_empty() {
                    self.report.add(
                        &self.section.path,
                        line,
                        Level::Error,
                        format!("the image {src} has no alt text: write ![what it shows]({src})"),
                    );
                }
            }
        }
    }

    /// Headings inside a body start at `#` or `##` and go down one level at a time.
    fn heading(&mut self, level: u8, inlines: &[Inline]) {
        let title = plain_text(inlines);
        let skipped = match self.last_heading {
            None => level > 2,
            Some(last) => level > last + 1,
        };
        if skipped {
            let from = self.last_heading.map_or_else(
                || "the section title".to_string(),
                |l| format!("a level-{l} heading"),
            );
            self.add(&title, Level::Warning, format!("the heading \"{title}\" is level {level} right after {from}: headings should go down one level at a time"));
        }
        self.last_heading = Some(level);
    }

    fn link(&mut self, url: &str, label: Option<&str>, line: usize) {
        if url.contains(OPEN) {
            return; // a merge tag: its value is a URL letterpress makes
        }
        let lower = url.to_ascii_lowercase();
        let scheme_ok = lower.starts_with("https://")
            || lower.starts_with("http://")
            || lower.starts_with("mailto:");
        if !scheme_ok && !lower.contains(':') {
            self.report.add(&self.section.path, line, Level::Error, format!("the link {url} is relative: it cannot work in an email; write the full https:// address"));
            return;
        }
        if !scheme_ok {
            self.report.add(
                &self.section.path,
                line,
                Level::Error,
                format!("the link {url} is not http(s) or mailto: mail clients block or mangle it"),
            );
            return;
        }
        if lower.starts_with("http://") {
            self.report.add(&self.section.path, line, Level::Warning, format!("the link {url} is not https: clients warn about it and it can be tampered with"));
        }
        let Some(text) = label.map(str::trim) else {
            return;
        };
        if text.is_empty() {
            self.report.add(
                &self.section.path,
                line,
                Level::Warning,
                format!("the link {url} has no text"),
            );
        } else if VAGUE.contains(&text.to_lowercase().as_str()) {
            self.report.add(&self.section.path, line, Level::Warning, format!("the link text \"{text}\" says nothing about where {url} goes; screen readers list links by their text"));
        } else if is_long_address(text) {
            self.report.add(&self.section.path, line, Level::Warning, format!("the link text is the address itself, {} characters long: it is hard to read and to tap on a phone, and a screen reader spells it out; write what the page is, as [the essay](…)", text.chars().count()));
        }
        if let (Some(shown), Some(actual)) = (domain_in_text(text), host(url)) {
            let same = actual == shown
                || actual.ends_with(&format!(".{shown}"))
                || shown.ends_with(&format!(".{actual}"));
            if !same {
                self.report.add(&self.section.path, line, Level::Error, format!("the link text shows {shown} but the link goes to {actual}: this looks like phishing to readers and filters"));
            }
        }
    }
}

/// Link texts longer than this that are a web address are worth a word.
const LONG_ADDRESS_CHARS: usize = 40;

/// Whether a link's text is a long web address (the URL as its own text).
fn is_long_address(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("www."))
        && !text.contains(char::is_whitespace)
        && text.chars().count() > LONG_ADDRESS_CHARS
}

/// The host a link text shows, if it reads like an address.
fn domain_in_text(text: &str) -> Option<String> {
    if text.contains(char::is_whitespace) {
        return None;
    }
    let candidate = host(text).or_else(|| {
        let bare = text.trim_start_matches("www.");
        let host = bare.split(['/', '?', '#']).next()?;
        let looks_like = host.contains('.')
            && host
                .rsplit('.')
                .next()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        looks_like.then(|| {
            text.split(['/', '?', '#'])
                .next()
                .unwrap_or(text)
                .to_lowercase()
        })
    })?;
    Some(candidate.trim_start_matches("www.").to_string())
}

/// The host of an http(s) or mailto URL, lowercased, without `www.`.
fn host(url: &str) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .or_else(|| {
            lower
                .strip_prefix("mailto:")
                .and_then(|m| m.split_once('@').map(|(_, d)| d))
        })?;
    let host = rest.split(['/', '?', '#', ':']).next()?;
    (!host.is_empty()).then(|| host.trim_start_matches("www.").to_string())
}

fn block_text(block: &Block) -> String {
    match block {
        Block::Paragraph(i) | Block::Heading(_, i) => plain_text(i),
        Block::List { items, .. } => items.iter().flatten().map(block_text).collect(),
        Block::Quote(b) => b.iter().map(block_text).collect(),
        Block::Code(c) => c.clone(),
        Block::Table { head, rows, .. } => head
            .iter()
            .chain(rows.iter().flatten())
            .map(|c| plain_text(c))
            .collect(),
        Block::Rule => String::new(),
    }
}

fn has_image(blocks: &[Block]) -> bool {
    let mut sources = Vec::new();
    crate::issue::walk::image_sources(blocks, &mut sources);
    !sources.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_domains_from_link_texts() {
        assert_eq!(domain_in_text("example.com"), Some("example.com".into()));
        assert_eq!(
            domain_in_text("https://www.Bank.example.org/login"),
            Some("bank.example.org".into())
        );
        assert_eq!(
            domain_in_text("www.example.net/x"),
            Some("example.net".into())
        );
        assert_eq!(domain_in_text("GPTs"), None);
        assert_eq!(domain_in_text("기사에서 확인하세요"), None);
        assert_eq!(domain_in_text("v1.2"), None);
        assert_eq!(
            host("mailto:a@Example.com?subject=x"),
            Some("example.com".into())
        );
    }
}
