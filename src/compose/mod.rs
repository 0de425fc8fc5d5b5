//! Composition: an issue, a config and a theme → the email's HTML and plain
//! text.
//!
//! The issue is composed once: the HTML is rendered and its CSS inlined with
//! merge-tag markers in place, so that each reader costs only filling in the
//! values.

mod html;
pub mod text;
pub mod theme;
pub mod values;
pub mod wrap;

use anyhow::{bail, Result};
use sha2::Digest;

use crate::config::{primary_language, Config};
use crate::issue::tags::{Field, Tag, TagTable, Values};
use crate::issue::Issue;
pub use html::{escape_into, escape_xml};
pub use theme::Theme;

/// What the renderers need, with the footer's own merge tags added.
pub(crate) struct Layout<'a> {
    pub(crate) config: &'a Config,
    pub(crate) theme: &'a Theme,
    pub(crate) issue: &'a Issue,
    pub(crate) subject: String,
    /// Marker of the reader's unsubscribe link.
    pub(crate) unsubscribe_marker: String,
    /// Marker of the web version link, when `base_url` is set.
    pub(crate) web_url_marker: Option<String>,
    /// Marker of the reader's preference link, with `[preferences]`.
    pub(crate) preferences_marker: Option<String>,
    /// The web version itself: no link to itself, the content in `<main>`,
    /// and a link to the subscribe form when there is one.
    pub(crate) web_page: bool,
    /// The display size of each local image, by its source.
    pub(crate) image_sizes: Vec<(String, u32, u32)>,
}

/// An issue composed once, ready to be filled in for each reader.
pub struct Composed<'a> {
    pub(crate) layout: Layout<'a>,
    pub(crate) issue: &'a Issue,
    pub(crate) tags: TagTable,
    /// For files: local images referred to by their relative path.
    html: String,
    /// For messages: local images referred to as `cid:` parts.
    mail_html: String,
    /// The plain text with markers.
    text: text::TextTemplate,
    /// The Content-ID of each of the issue's local images, in order.
    cids: Vec<String>,
    /// The issue's local images, processed.
    images: Vec<crate::images::Processed>,
}

impl<'a> Composed<'a> {
    /// Composes `issue` with `config` and `theme`.
    pub fn new(config: &'a Config, theme: &'a Theme, issue: &'a Issue) -> Result<Composed<'a>> {
        let mut tags = issue.tags.clone();
        check_urls(config, issue)?;
        let mut marker = |field| {
            let mut out = String::new();
            tags.push_marker(
                Tag {
                    field,
                    fallback: None,
                    in_url: false,
                },
                &mut out,
            );
            out
        };
        let unsubscribe_marker = marker(Field::UnsubscribeUrl);
        let web_url_marker = config
            .newsletter()
            .base_url
            .as_ref()
            .map(|_| marker(Field::WebUrl));
        let preferences_marker = config
            .file
            .preferences
            .as_ref()
            .map(|_| marker(Field::PreferencesUrl));
        let images = crate::images::prepare(config, &issue.images, max_image_width(theme))?;
        let image_sizes = display_sizes(&images, theme);
        let layout = Layout {
            config,
            theme,
            issue,
            subject: subject(config, issue)?,
            unsubscribe_marker,
            web_url_marker,
            preferences_marker,
            web_page: false,
            image_sizes,
        };
        let html = inline_css(&layout.document(), &theme.inline_css)?;
        let mut composed = Composed {
            layout,
            issue,
            tags,
            mail_html: String::new(),
            html,
            text: text::TextTemplate::default(),
            cids: content_ids(config, &images),
            images,
        };
        composed.text = text::compose(&composed);
        composed.mail_html = composed.linked_images(composed.html.clone());
        Ok(composed)
    }

    /// `html` with each local image referred to as messages refer to it:
    /// by its `cid:` part, or by its hosted URL with `[images] host`.
    fn linked_images(&self, mut html: String) -> String {
        let (config, issue) = (self.layout.config, self.issue);
        for (image, cid) in self.images.iter().zip(&self.cids) {
            let from = format!("src=\"{}\"", html::escape_attr(&image.src));
            let to = match hosted_url(config, issue, image) {
                Some(url) => format!("src=\"{}\"", html::escape_attr(&url)),
                None => format!("src=\"cid:{cid}\""),
            };
            html = html.replace(&from, &to);
        }
        html
    }

    /// Whether messages link the images from the archive (`[images] host`)
    /// rather than carry them.
    pub fn hosted(&self) -> bool {
        self.layout.config.file.images.host
    }

    /// "images: 2 attached (2 processed, 0 from cache)", or none when the
    /// issue has no local image.
    pub fn images_line(&self) -> Option<String> {
        if self.images.is_empty() {
            return None;
        }
        let (processed, cached) = crate::images::counts(&self.images);
        let how = match self.hosted() {
            true => "hosted under <base_url>/archive/<issue>/img/, none attached",
            false => "attached as cid: parts",
        };
        Some(format!(
            "images: {} {how} ({processed} processed, {cached} from cache)",
            self.images.len()
        ))
    }

    /// The configuration it was composed with.
    pub fn config(&self) -> &'a Config {
        self.layout.config
    }

    /// The images a message carries with their Content-IDs (without angle
    /// brackets): the processed local images, none when they are hosted.
    pub fn inline_images(&self) -> impl Iterator<Item = (&crate::images::Processed, &str)> {
        let carried = if self.hosted() { 0 } else { self.images.len() };
        self.images
            .iter()
            .zip(self.cids.iter().map(String::as_str))
            .take(carried)
    }

    /// The HTML part of a message for one reader (images as `cid:`).
    pub fn mail_html(&self, values: &Values) -> String {
        self.tags.fill(&self.mail_html, values, escape_into)
    }

    /// The subject line, with the advertising prefix when the issue is an ad.
    pub fn subject(&self) -> &str {
        &self.layout.subject
    }

    /// The HTML for one reader as a file (images by relative path).
    pub fn html(&self, values: &Values) -> String {
        self.tags.fill(&self.html, values, escape_into)
    }

    /// The web version (no reader's data): like the file HTML, without
    /// the links to itself, its content in `<main>`.
    pub fn web_html(&self) -> Result<String> {
        let layout = Layout {
            subject: self.layout.subject.clone(),
            unsubscribe_marker: self.layout.unsubscribe_marker.clone(),
            web_url_marker: self.layout.web_url_marker.clone(),
            preferences_marker: self.layout.preferences_marker.clone(),
            web_page: true,
            image_sizes: self.layout.image_sizes.clone(),
            ..self.layout
        };
        let html = inline_css(&layout.document(), &self.layout.theme.inline_css)?;
        let values = values::web_values(self.layout.config, self.issue);
        Ok(self.tags.fill(&html, &values, escape_into))
    }

    /// The plain-text part for one reader.
    pub fn text(&self, values: &Values) -> String {
        self.text.render(&self.tags, values)
    }
}

impl Layout<'_> {
    /// "No. 48 · 27 November 2026", in the newsletter's language.
    pub(crate) fn issue_meta(&self) -> Option<String> {
        let number = self.issue.number.map(|n| {
            self.theme
                .labels
                .issue_number
                .replace("{number}", &n.to_string())
        });
        let date = self
            .issue
            .date
            .map(|d| format_date(d, &self.config.newsletter().language));
        match (number, date) {
            (Some(n), Some(d)) => Some(format!("{n} · {d}")),
            (n, d) => n.or(d),
        }
    }

    /// The masthead line: in the web version its date is a `<time>` that
    /// machines read (`datetime="2026-11-27"`).
    pub(crate) fn issue_meta_markup(&self) -> Option<maud::Markup> {
        let meta = self.issue_meta()?;
        let dated = self.issue.date.filter(|_| self.web_page).and_then(|d| {
            let shown = format_date(d, &self.config.newsletter().language);
            let before = meta.strip_suffix(&shown)?.to_string();
            Some((
                before,
                shown,
                format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
            ))
        });
        Some(match dated {
            Some((before, shown, iso)) => maud::html! { (before) time datetime=(iso) { (shown) } },
            None => maud::html! { (meta) },
        })
    }
}

/// The widest an image of `theme`'s column needs to be: twice the column,
/// for screens with two pixels to the point.
pub fn max_image_width(theme: &Theme) -> u32 {
    theme.file.max_width.saturating_mul(2).max(1)
}

/// The issue's local images as messages carry them, for `config`'s theme.
pub fn issue_images(config: &Config, issue: &Issue) -> Result<Vec<crate::images::Processed>> {
    let theme = Theme::load(config)?;
    crate::images::prepare(config, &issue.images, max_image_width(&theme))
}

/// The size each image shows at in `theme`'s column, by its source.
fn display_sizes(images: &[crate::images::Processed], theme: &Theme) -> Vec<(String, u32, u32)> {
    images
        .iter()
        .map(|p| {
            let (w, h) = p.display_size(theme.content_width());
            (p.src.clone(), w, h)
        })
        .collect()
}

/// `<base_url>/archive/<issue>/img/<hash>.<ext>` with `[images] host`.
fn hosted_url(config: &Config, issue: &Issue, image: &crate::images::Processed) -> Option<String> {
    if !config.file.images.host {
        return None;
    }
    let page = values::web_url(config, issue)?;
    Some(format!("{page}{}", image.hosted_path()))
}

/// `img<n>.<hash of the bytes>@<from domain>` for each local image.
fn content_ids(config: &Config, images: &[crate::images::Processed]) -> Vec<String> {
    let domain = config.from_domain();
    images
        .iter()
        .enumerate()
        .map(|(i, image)| {
            let digest = sha2::Sha256::digest(&image.bytes);
            let hash: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
            format!("img{}.{hash}@{domain}", i + 1)
        })
        .collect()
}

fn format_date(d: crate::issue::Date, language: &str) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    match primary_language(language).as_str() {
        "ko" => format!("{}년 {}월 {}일", d.year, d.month, d.day),
        "ja" | "zh" => format!("{}年{}月{}日", d.year, d.month, d.day),
        _ => format!(
            "{} {} {}",
            d.day,
            MONTHS[usize::from(d.month.clamp(1, 12)) - 1],
            d.year
        ),
    }
}

fn subject(config: &Config, issue: &Issue) -> Result<String> {
    if !issue.advertising {
        return Ok(issue.subject.clone());
    }
    let prefix = match (&config.newsletter().ad_prefix, config.is_korean()) {
        (Some(prefix), _) => prefix.clone(),
        (None, true) => "(광고)".into(),
        (None, false) => bail!(
            "{}: the issue sets `advertising = true` but [newsletter] has no `ad_prefix` for language \"{}\"\n  help: add ad_prefix = \"[Ad]\" (or the wording your law asks for) to {}",
            issue.dir.join("issue.toml").display(),
            config.newsletter().language,
            config.path.display()
        ),
    };
    Ok(format!("{prefix} {}", issue.subject))
}

/// Tags that need a config value fail at build time, not at send time.
fn check_urls(config: &Config, issue: &Issue) -> Result<()> {
    if config.newsletter().base_url.is_none()
        && issue.tags.tags().iter().any(|t| t.field == Field::WebUrl)
    {
        // At the line that uses the tag; the config only lacks the value.
        let message = format!(
            "{{{{ web_url }}}} needs [newsletter] base_url, which {} does not set",
            config.path.display()
        );
        let help =
            "set base_url = \"https://…\" where the web versions are published, or remove the tag";
        if let Some((path, line)) = issue.tag_lines("web_url").into_iter().next() {
            return Err(crate::error::Located::line(&path, line, message)
                .help(help)
                .into());
        }
        bail!("{message}\n  help: {help}");
    }
    let unsubscribe = &config.file.unsubscribe;
    if unsubscribe.url.is_none() && unsubscribe.mailto.is_none() {
        bail!(
            "{}: [unsubscribe] has neither `url` nor `mailto`; every issue must tell readers how to leave\n  help: set url = \"https://…/unsubscribe\" (one-click) and/or mailto = \"unsubscribe@…\"",
            config.path.display()
        );
    }
    Ok(())
}

/// Inlines the theme's rules into `style` attributes. The document's own
/// `<style>` block holds only the at-rules (media queries, dark mode) and is
/// left where the head puts it, after the charset.
fn inline_css(document: &str, rules: &str) -> Result<String> {
    let inliner = css_inline::CSSInliner::options()
        .inline_style_tags(false)
        .keep_style_tags(true)
        .keep_link_tags(false)
        .minify_css(true)
        .load_remote_stylesheets(false)
        .extra_css(Some(rules.into()))
        .build();
    inliner
        .inline(document)
        .map_err(|e| anyhow::anyhow!("the theme's CSS could not be inlined: {e}"))
}

/// Whether `c` may not appear in text letterpress publishes (a page, a
/// header, the feed): control characters other than tab and line breaks,
/// and the noncharacters XML refuses.
pub fn forbidden_in_text(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{fffe}' | '\u{ffff}')
}
