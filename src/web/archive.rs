//! The archive of sent issues: an index, an Atom feed, a sitemap and one
//! web version per issue (no reader's data in it), each page with the tags
//! that make it a publication; served by `serve` under `/archive/` and
//! written as static files by `letterpress archive`.

pub mod publication;
pub mod sitemap;

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use axum::extract::{Path as UrlPath, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, DOCTYPE};

use super::{server_error, App};
use crate::compose::values;
use crate::compose::{Composed, Theme};
use crate::config::Config;
use crate::issue::Issue;

/// Writes the archive into `out`: `index.html`, `feed.xml`, `robots.txt`,
/// with `base_url` `sitemap.xml`, and `<issue>/index.html` with the
/// issue's images; the number of issues.
pub fn write(config: &Config, out: &Path) -> Result<usize> {
    let issues = sent_issues(config)?;
    crate::fs::replace_creating(
        &out.join("index.html"),
        index_page(config, &issues).as_bytes(),
    )?;
    crate::fs::replace_creating(&out.join("feed.xml"), atom_feed(config, &issues).as_bytes())?;
    if let Some(map) = sitemap::sitemap(config, &issues) {
        crate::fs::replace_creating(&out.join("sitemap.xml"), map.as_bytes())?;
    }
    crate::fs::replace_creating(&out.join("robots.txt"), sitemap::robots(config).as_bytes())?;
    for issue in &issues {
        let dir = out.join(&issue.slug);
        crate::fs::replace_creating(&dir.join("index.html"), web_page(config, issue)?.as_bytes())?;
        // The processed copies (no camera metadata), at the paths the page
        // names and where hosted messages link them.
        for image in crate::compose::issue_images(config, issue)? {
            crate::fs::replace_creating(&dir.join(&image.src), &image.bytes)?;
            crate::fs::replace_creating(&dir.join(image.hosted_path()), &image.bytes)?;
        }
    }
    Ok(issues.len())
}

/// The issues with a journal in `state_dir` (sent, at least in part),
/// newest first. An issue that no longer loads is left out and logged, so
/// one broken folder never takes the archive down.
pub fn sent_issues(config: &Config) -> Result<Vec<Issue>> {
    let state = config.state_dir();
    let issues_dir = config.issues_dir();
    let mut issues = Vec::new();
    let Ok(entries) = std::fs::read_dir(&issues_dir) else {
        return Ok(issues);
    };
    let journals: Vec<String> = std::fs::read_dir(&state)
        .into_iter()
        .flatten()
        .flatten()
        .map(|j| j.file_name().to_string_lossy().into_owned())
        .collect();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let journaled = journals
            .iter()
            .any(|file| crate::send::journal::is_journal_of(file, &name));
        if journaled && entry.path().is_dir() {
            match Issue::load(&entry.path()) {
                Ok(issue) => issues.push(issue),
                Err(e) => eprintln!(
                    "warning: the sent issue {} is left out of the archive: {}",
                    entry.path().display(),
                    super::loggable(&format!("{e:#}"))
                ),
            }
        }
    }
    issues.sort_by_cached_key(|i| std::cmp::Reverse(issued(config, i)));
    Ok(issues)
}

/// When an issue came out: its `date` (midnight UTC), else the first
/// outcome its journals recorded, that is when it was sent.
pub fn issued(config: &Config, issue: &Issue) -> Option<jiff::Timestamp> {
    if let Some(d) = issue.date {
        let day = jiff::civil::Date::new(d.year as i16, d.month as i8, d.day as i8).ok()?;
        return day
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp());
    }
    let state = config.state_dir();
    let name =
        crate::send::journal::Place::new(state.clone(), &config.project_dir, &issue.dir, None).name;
    crate::send::journal::journals_of(&state, &name)
        .ok()?
        .iter()
        .filter_map(|path| first_record_time(path))
        .min()
}

/// When an issue came out, as its page and the sitemap give it: its `date`
/// (`2026-11-27`), else the time it was sent (`2026-11-27T09:00:01Z`).
pub fn published(config: &Config, issue: &Issue) -> Option<String> {
    match issue.date {
        Some(d) => Some(format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)),
        None => issued(config, issue).map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
    }
}

/// The time of a journal's first record: the first line (of the first
/// few, after the header) that starts with a time.
fn first_record_time(path: &Path) -> Option<jiff::Timestamp> {
    use std::io::{BufRead, Read};
    let file = std::fs::File::open(path).ok()?;
    let reader = std::io::BufReader::new(file.take(64 * 1024));
    reader
        .lines()
        .take(16)
        .map_while(std::result::Result::ok)
        .find_map(|line| line.split(' ').next()?.parse().ok())
}

/// The web version of an issue as the archive publishes it: no reader's
/// data in it; its title names the newsletter, its head holds the
/// publication's tags ([`publication`]) and its masthead the date it came
/// out (the day it was sent when the issue has no `date`).
pub fn web_page(config: &Config, issue: &Issue) -> Result<String> {
    let theme = Theme::load(config)?;
    let dated;
    let shown = match (issue.date, issued(config, issue)) {
        (None, Some(at)) => {
            let day = at.to_zoned(config.time_zone()).date();
            dated = Issue {
                date: Some(crate::issue::Date {
                    year: day.year() as u16,
                    month: day.month() as u8,
                    day: day.day() as u8,
                }),
                ..issue.clone()
            };
            &dated
        }
        _ => issue,
    };
    let composed = Composed::new(config, &theme, shown)?;
    let page = publication::issue_page(config, issue, composed.subject());
    Ok(with_head(&composed.web_html()?, config, &page))
}

/// `html` with `page`'s title and the publication's tags in its head.
fn with_head(html: &str, config: &Config, page: &publication::Page) -> String {
    let head = html! {
        title { (page.window_title) }
        link rel="alternate" type="application/atom+xml" href="../feed.xml" title=(config.newsletter().name);
        (page.head(config))
    }
    .into_string();
    let end = html.find("</head>").unwrap_or(0);
    let title = html[..end]
        .find("<title>")
        .and_then(|start| Some((start, start + html[start..end].find("</title>")? + 8)));
    let mut out = String::with_capacity(html.len() + head.len());
    match title {
        Some((start, stop)) => {
            out.push_str(&html[..start]);
            out.push_str(&html[stop..end]);
        }
        None => out.push_str(&html[..end]),
    }
    out.push_str(&head);
    out.push_str(&html[end..]);
    out
}

pub async fn index(State(app): State<Arc<App>>) -> Response {
    match sent_issues(&app.config) {
        Ok(issues) => Html(index_page(&app.config, &issues)).into_response(),
        Err(e) => server_error(&app.config, e),
    }
}

pub async fn feed(State(app): State<Arc<App>>) -> Response {
    match sent_issues(&app.config) {
        Ok(issues) => (
            [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
            atom_feed(&app.config, &issues),
        )
            .into_response(),
        Err(e) => server_error(&app.config, e),
    }
}

/// `/archive/sitemap.xml`; not found without `base_url`.
pub async fn sitemap_xml(State(app): State<Arc<App>>) -> Response {
    match sent_issues(&app.config) {
        Ok(issues) => match sitemap::sitemap(&app.config, &issues) {
            Some(map) => (
                [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
                map,
            )
                .into_response(),
            None => super::not_found(&app.config),
        },
        Err(e) => server_error(&app.config, e),
    }
}

/// `/robots.txt` (and `/archive/robots.txt`, where `archive --out` puts it).
pub async fn robots_txt(State(app): State<Arc<App>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        sitemap::robots(&app.config),
    )
        .into_response()
}

pub async fn issue(State(app): State<Arc<App>>, UrlPath(name): UrlPath<String>) -> Response {
    // Only the folder names of sent issues are served: no path can escape.
    let issues = match sent_issues(&app.config) {
        Ok(issues) => issues,
        Err(e) => return server_error(&app.config, e),
    };
    let Some(issue) = issues.iter().find(|i| i.slug == name) else {
        return super::not_found(&app.config);
    };
    match web_page(&app.config, issue) {
        Ok(html) => Html(html).into_response(),
        Err(e) => server_error(&app.config, e),
    }
}

/// An image of a sent issue, at the path its web version refers to it by;
/// or, at the hashed name hosted messages link, an image of any issue, so
/// that a test send's images show before the issue is sent (the name is a
/// hash of the image, known only to whoever has a message that links it).
pub async fn image(
    State(app): State<Arc<App>>,
    UrlPath((name, file)): UrlPath<(String, String)>,
) -> Response {
    let issues = match sent_issues(&app.config) {
        Ok(issues) => issues,
        Err(e) => return server_error(&app.config, e),
    };
    let hosted = crate::images::is_hosted_path(&file);
    let (issue, unsent) = match issues.into_iter().find(|i| i.slug == name) {
        Some(sent) => (sent, false),
        None if hosted => match unsent_issue(&app.config, &name) {
            Some(issue) => (issue, true),
            None => return super::not_found(&app.config),
        },
        None => return super::not_found(&app.config),
    };
    // The processed copy, never the camera's file: at the path the page
    // names (of a sent issue), or at the name hosted messages link.
    let src = match unsent {
        true => None,
        false => issue.local_image(&file).map(|image| image.src.as_str()),
    };
    if src.is_none() && !hosted {
        return super::not_found(&app.config);
    }
    let images = match crate::compose::issue_images(&app.config, &issue) {
        Ok(images) => images,
        Err(e) => return server_error(&app.config, e),
    };
    let found = images
        .into_iter()
        .find(|i| Some(i.src.as_str()) == src || i.hosted_path() == file);
    match found {
        Some(image) => (
            [
                (header::CONTENT_TYPE, image.content_type),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            image.bytes,
        )
            .into_response(),
        None => super::not_found(&app.config),
    }
}

/// The issue of the folder named `name` in the issues folder, sent or not;
/// only a folder listed there is found, so no name can leave it.
fn unsent_issue(config: &Config, name: &str) -> Option<Issue> {
    let entries = std::fs::read_dir(config.issues_dir()).ok()?;
    let entry = entries
        .flatten()
        .find(|entry| entry.file_name().to_str() == Some(name))?;
    Issue::load(&entry.path()).ok()
}

/// One of an issue's own images: its bytes, typed by what they are.
pub(crate) fn image_response(image: &crate::issue::LocalImage) -> Response {
    (
        [
            (header::CONTENT_TYPE, image.content_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        image.bytes.clone(),
    )
        .into_response()
}

fn date(config: &Config, issue: &Issue) -> String {
    match issue.date {
        Some(d) => format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
        None => issued(config, issue).map_or_else(String::new, |t| {
            t.to_zoned(config.time_zone())
                .strftime("%Y-%m-%d")
                .to_string()
        }),
    }
}

/// The archive's index page: the sent issues, the feed and, with
/// `[subscribe]`, the way to subscribe.
pub fn index_page(config: &Config, issues: &[Issue]) -> String {
    let name = &config.newsletter().name;
    let w = super::words(config);
    let subscribe = config.file.subscribe.as_ref().map(|s| s.url.as_str());
    html! {
        (DOCTYPE)
        html lang=(config.newsletter().language) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (name) }
                link rel="alternate" type="application/atom+xml" href="feed.xml" title=(name);
                (publication::index_page(config).head(config))
                style { "body{font-family:'Apple SD Gothic Neo','Malgun Gothic','Noto Sans KR',-apple-system,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.6;overflow-wrap:break-word;word-break:" (w.word_break) "}a{color:#1a56db}li{margin:.4rem 0}time{color:#5f6670;margin-right:.6rem}.nl{word-break:keep-all;overflow-wrap:normal}" }
            }
            body {
                main {
                    h1 { span.nl { (name) } }
                    @if let Some(url) = subscribe {
                        p { a.subscribe href=(url) { (super::said(config, w.form_title, "")) } }
                    }
                    ul { @for issue in issues { li { time datetime=[published(config, issue)] { (date(config, issue)) } a href=(format!("{}/", issue.slug)) { (issue.subject) } } } }
                    p { a href="feed.xml" { (w.feed) } }
                }
            }
        }
    }
    .into_string()
}

/// An Atom feed of the sent issues.
pub fn atom_feed(config: &Config, issues: &[Issue]) -> String {
    let x = crate::compose::escape_xml;
    let base = config
        .newsletter()
        .base_url
        .as_deref()
        .unwrap_or("")
        .trim_end_matches('/')
        .to_string();
    let stamp = |t: jiff::Timestamp| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    // An issue that has no time at all (no date and no journal record yet)
    // is left out: Atom needs one.
    let entries: Vec<(&Issue, jiff::Timestamp)> = issues
        .iter()
        .filter_map(|i| issued(config, i).map(|t| (i, t)))
        .collect();
    let updated = entries
        .iter()
        .map(|(_, t)| *t)
        .max()
        .map_or_else(|| "1970-01-01T00:00:00Z".into(), stamp);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    out.push_str(&format!(
        "  <title>{}</title>\n  <id>{base}/archive/</id>\n  <link href=\"{base}/archive/\"/>\n  <link rel=\"self\" href=\"{base}/archive/feed.xml\"/>\n  <updated>{updated}</updated>\n",
        x(&config.newsletter().name)
    ));
    for (issue, at) in entries {
        let url = x(&values::web_url(config, issue).unwrap_or_default());
        out.push_str(&format!(
            "  <entry>\n    <title>{}</title>\n    <id>{url}</id>\n    <link href=\"{url}\"/>\n    <updated>{}</updated>\n",
            x(&issue.subject),
            stamp(at)
        ));
        if let Some(summary) = &issue.preheader {
            out.push_str(&format!("    <summary>{}</summary>\n", x(summary)));
        }
        out.push_str("  </entry>\n");
    }
    out.push_str("</feed>\n");
    out
}
