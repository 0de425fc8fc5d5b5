//! What makes an archive page a publication when a link to it is shared or
//! found: its title and description, its canonical address, Open Graph and
//! Twitter card tags, the lead image and when the issue came out. Every
//! address in these tags is absolute: without `[newsletter] base_url` the
//! tags that need one are left out rather than given a relative address.

use maud::{html, Markup};

use crate::compose::values;
use crate::config::Config;
use crate::issue::markdown::{plain_text, Block};
use crate::issue::Issue;

/// The longest description, in characters (search results show about as
/// many).
pub const DESCRIPTION_CHARS: usize = 160;

/// One page's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// `og:type`: `article` for an issue, `website` for the index.
    pub kind: &'static str,
    /// The page's own title (the subject; the name for the index).
    pub title: String,
    /// The text of the `<title>` element.
    pub window_title: String,
    /// At most [`DESCRIPTION_CHARS`] characters.
    pub description: String,
    /// The canonical absolute address, with `base_url`.
    pub url: Option<String>,
    /// The lead image's absolute address.
    pub image: Option<String>,
    /// When the issue came out (ISO 8601: a date, or a UTC time).
    pub published: Option<String>,
}

/// `<base_url>/archive/`, when `base_url` is set.
pub fn archive_url(config: &Config) -> Option<String> {
    let base = config.newsletter().base_url.as_deref()?;
    Some(format!("{}/archive/", base.trim_end_matches('/')))
}

/// The metadata of an issue's page; `subject` is the subject as the page
/// shows it (with the advertising prefix when there is one).
pub fn issue_page(config: &Config, issue: &Issue, subject: &str) -> Page {
    let name = &config.newsletter().name;
    let description = issue
        .preheader
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .map_or_else(|| first_paragraph(config, issue), str::to_string);
    Page {
        kind: "article",
        title: subject.to_string(),
        window_title: format!("{subject} — {name}"),
        description: shortened(&description, DESCRIPTION_CHARS),
        url: values::web_url(config, issue),
        image: lead_image_url(config, issue),
        published: super::published(config, issue),
    }
}

/// The metadata of the archive's index.
pub fn index_page(config: &Config) -> Page {
    let name = &config.newsletter().name;
    let words = super::super::words(config);
    Page {
        kind: "website",
        title: name.clone(),
        window_title: name.clone(),
        description: crate::words::fill(words.archive_description, name, ""),
        url: archive_url(config),
        image: None,
        published: None,
    }
}

impl Page {
    /// The tags for the page's `<head>` (not its `<title>`): every value
    /// escaped for its attribute by maud; no description tags for an issue
    /// with no text to describe it.
    pub fn head(&self, config: &Config) -> Markup {
        let newsletter = config.newsletter();
        let card = match self.image {
            Some(_) => "summary_large_image",
            None => "summary",
        };
        let described = !self.description.is_empty();
        html! {
            @if described { meta name="description" content=(self.description); }
            @if let Some(url) = &self.url {
                link rel="canonical" href=(url);
                meta property="og:url" content=(url);
            }
            meta property="og:type" content=(self.kind);
            meta property="og:title" content=(self.title);
            @if described { meta property="og:description" content=(self.description); }
            meta property="og:site_name" content=(newsletter.name);
            @if let Some(locale) = og_locale(&newsletter.language) {
                meta property="og:locale" content=(locale);
            }
            @if let Some(image) = &self.image {
                meta property="og:image" content=(image);
            }
            @if let Some(published) = &self.published {
                meta property="article:published_time" content=(published);
            }
            meta name="twitter:card" content=(card);
            meta name="twitter:title" content=(self.title);
            @if described { meta name="twitter:description" content=(self.description); }
            @if let Some(image) = &self.image {
                meta name="twitter:image" content=(image);
            }
        }
    }
}

/// The issue's lead image as an absolute address: the first image it shows
/// (a section's image, else one in the text, in reading order) that has
/// one. An image on the web is its own URL; a file of the issue is the
/// copy `serve` and `archive --out` publish beside the page,
/// `<base_url>/archive/<issue>/<path>`. This is the one place that knows
/// where an issue's images are published.
pub fn lead_image_url(config: &Config, issue: &Issue) -> Option<String> {
    let mut sources = Vec::new();
    for section in &issue.sections {
        if let Some(image) = &section.image {
            sources.push(image.src.as_str());
        }
        crate::issue::walk::image_sources(&section.body.blocks, &mut sources);
    }
    sources
        .into_iter()
        .find_map(|src| image_url(config, issue, src))
}

fn image_url(config: &Config, issue: &Issue, src: &str) -> Option<String> {
    if src.chars().any(is_marker) {
        return None;
    }
    if src.starts_with("https://") || src.starts_with("http://") {
        return Some(src.to_string());
    }
    if !crate::issue::is_local(src) {
        return None;
    }
    issue.local_image(src)?;
    let path: Vec<String> = src
        .split('/')
        .filter(|s| *s != ".")
        .map(crate::percent::encode)
        .collect();
    Some(format!(
        "{}{}",
        values::web_url(config, issue)?,
        path.join("/")
    ))
}

/// A character of a merge-tag marker (private use, U+E000 to U+E003).
fn is_marker(c: char) -> bool {
    ('\u{E000}'..='\u{E003}').contains(&c)
}

/// The text of the first paragraph, with the merge tags as the web version
/// fills them (a name tag shows its fallback).
fn first_paragraph(config: &Config, issue: &Issue) -> String {
    let values = values::web_values(config, issue);
    issue
        .sections
        .iter()
        .flat_map(|s| &s.body.blocks)
        .find_map(|block| match block {
            Block::Paragraph(inlines) => {
                let text = issue.tags.fill(&plain_text(inlines), &values, |s, out| {
                    out.push_str(s);
                });
                let text: String = text.chars().filter(|c| !is_marker(*c)).collect();
                (!text.trim().is_empty()).then_some(text)
            }
            _ => None,
        })
        .unwrap_or_default()
}

/// `text` on one line, cut to at most `max` characters (never inside a
/// character) and ending in `…` when it was cut, at a space when there is
/// one near the end.
pub fn shortened(text: &str, max: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let line = words.join(" ");
    if line.chars().count() <= max {
        return line;
    }
    let cut: String = line.chars().take(max.saturating_sub(1)).collect();
    let keep = match cut.rfind(' ') {
        Some(space) if cut[space..].chars().count() < 20 => &cut[..space],
        _ => cut.as_str(),
    };
    format!("{}…", keep.trim_end())
}

/// `og:locale` (`ko_KR`) from the newsletter's language: its region when
/// the tag names one, else the language's usual one; none for a language
/// not known here.
pub fn og_locale(language: &str) -> Option<String> {
    let mut parts = language.split(['-', '_']);
    let lang = parts.next()?.to_ascii_lowercase();
    if lang.len() < 2 || !lang.chars().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    let region = parts.find(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_alphabetic()));
    if let Some(region) = region {
        return Some(format!("{lang}_{}", region.to_ascii_uppercase()));
    }
    const USUAL: [(&str, &str); 20] = [
        ("ko", "KR"),
        ("en", "US"),
        ("ja", "JP"),
        ("zh", "CN"),
        ("de", "DE"),
        ("fr", "FR"),
        ("es", "ES"),
        ("it", "IT"),
        ("pt", "BR"),
        ("nl", "NL"),
        ("sv", "SE"),
        ("da", "DK"),
        ("nb", "NO"),
        ("fi", "FI"),
        ("pl", "PL"),
        ("ru", "RU"),
        ("tr", "TR"),
        ("vi", "VN"),
        ("th", "TH"),
        ("id", "ID"),
    ];
    let (_, region) = USUAL.iter().find(|(l, _)| *l == lang)?;
    Some(format!("{lang}_{region}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_description_is_cut_between_characters_and_says_so() {
        let korean = "한국어 설명입니다 ".repeat(40);
        let cut = shortened(&korean, DESCRIPTION_CHARS);
        assert!(cut.chars().count() <= DESCRIPTION_CHARS, "{cut}");
        let kept = cut.strip_suffix('…').unwrap();
        assert!(
            korean.starts_with(&format!("{kept} ")),
            "cut at a space: {cut}"
        );
        let solid = "가".repeat(400);
        let cut = shortened(&solid, DESCRIPTION_CHARS);
        assert_eq!(cut.chars().count(), DESCRIPTION_CHARS);
        assert_eq!(cut, format!("{}…", "가".repeat(DESCRIPTION_CHARS - 1)));
        assert_eq!(shortened("  두 줄\n  설명  ", 160), "두 줄 설명");
        assert_eq!(shortened(&"가".repeat(160), 160), "가".repeat(160));
    }

    #[test]
    fn every_value_is_escaped_for_its_attribute_and_an_empty_description_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newsletter.toml");
        std::fs::write(
            &path,
            "[newsletter]\nname = 'A \"B\" <C>'\nfrom = 'N <a@example.com>'\n[subscribers]\nfile = 's.toml'\n",
        )
        .unwrap();
        let config = Config::load(&path).unwrap();
        let title = "Say \"hi\" <b>& bye</b> 'now'";
        let page = Page {
            kind: "article",
            title: title.into(),
            window_title: title.into(),
            description: String::new(),
            url: Some("https://n.example.com/archive/a\"b/".into()),
            image: None,
            published: None,
        };
        let html = format!(
            "<html><head>{}</head></html>",
            page.head(&config).into_string()
        );
        let doc = scraper::Html::parse_document(&html);
        let content = |css: &str| {
            let selector = scraper::Selector::parse(css).unwrap();
            doc.select(&selector)
                .map(|e| e.attr("content").or(e.attr("href")).unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(content("meta[property='og:title']"), [title]);
        assert_eq!(content("meta[property='og:site_name']"), ["A \"B\" <C>"]);
        assert_eq!(
            content("link[rel=canonical]"),
            ["https://n.example.com/archive/a\"b/"]
        );
        assert!(content("meta[name=description]").is_empty());
        assert!(content("meta[property='og:description']").is_empty());
        assert_eq!(content("meta[name='twitter:card']"), ["summary"]);
        // Without an image: no image tag.
        assert!(content("meta[property='og:image']").is_empty());
    }

    #[test]
    fn og_locale_follows_the_newsletter_s_language() {
        for (language, locale) in [
            ("ko", Some("ko_KR")),
            ("ko-KR", Some("ko_KR")),
            ("en", Some("en_US")),
            ("en-gb", Some("en_GB")),
            ("zh-Hant-TW", Some("zh_TW")),
            ("pt_PT", Some("pt_PT")),
            ("eo", None),
            ("", None),
            ("x-klingon", None),
        ] {
            assert_eq!(og_locale(language).as_deref(), locale, "{language}");
        }
    }
}
