//! An issue folder: `issue.toml` plus Markdown section files → the content
//! model that composition walks.

mod front_matter;
pub mod markdown;
pub mod scaffold;
pub mod tags;
pub mod walk;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;
use toml::Spanned;

pub use front_matter::SectionKind;
use markdown::Body;
use tags::TagTable;

use crate::error::{read_input, Located};

/// `issue.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueFile {
    subject: Spanned<String>,
    preheader: Option<String>,
    date: Option<Spanned<toml::value::Datetime>>,
    number: Option<u32>,
    #[serde(default)]
    toc: bool,
    #[serde(default)]
    audience: Vec<String>,
    #[serde(default)]
    advertising: bool,
    sections: Option<Vec<Spanned<String>>>,
    send_at: Option<Spanned<toml::value::Datetime>>,
}

/// When an issue is to be sent, as `send_at` writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendAt {
    /// The time, with or without its offset.
    pub when: When,
    /// The line of `send_at` in `issue.toml`.
    pub line: usize,
    /// The value as written.
    pub written: String,
}

/// A `send_at` with an offset is an instant; without one it is a wall-clock
/// time in the newsletter's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// `2026-12-04T09:00:00+09:00`.
    Instant(jiff::Timestamp),
    /// `2026-12-04T09:00:00`.
    Local(jiff::civil::DateTime),
}

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    /// Year.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day, 1–31.
    pub day: u8,
}

/// A lead image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// URL, or a path relative to the issue folder.
    pub src: String,
    /// Alternative text.
    pub alt: String,
}

/// An image file of the issue folder, sent inline with the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalImage {
    /// The path as written in the section, relative to the issue folder.
    pub src: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// Its MIME type.
    pub content_type: &'static str,
    /// The section file that first shows it.
    pub path: PathBuf,
    /// The line of that file that names it.
    pub line: usize,
}

/// One section file, parsed.
#[derive(Debug, Clone)]
pub struct Section {
    /// The file.
    pub path: PathBuf,
    /// What it is.
    pub kind: SectionKind,
    /// Its heading (may hold merge-tag markers).
    pub title: Option<String>,
    /// "Read more" target (may hold markers).
    pub link: Option<String>,
    /// Button label, if the section sets one.
    pub link_text: Option<String>,
    /// Lead image.
    pub image: Option<Image>,
    /// Who said it (quotes).
    pub attribution: Option<String>,
    /// The Markdown body.
    pub body: Body,
}

/// A loaded issue.
#[derive(Debug, Clone)]
pub struct Issue {
    /// The issue folder.
    pub dir: PathBuf,
    /// The folder name, used in web addresses.
    pub slug: String,
    /// Subject line.
    pub subject: String,
    /// Inbox preview text.
    pub preheader: Option<String>,
    /// Masthead date.
    pub date: Option<Date>,
    /// Issue number.
    pub number: Option<u32>,
    /// Whether to list the stories at the top.
    pub toc: bool,
    /// Tags a reader needs one of (empty: everybody).
    pub audience: Vec<String>,
    /// Commercial mail: the subject gets the advertising prefix.
    pub advertising: bool,
    /// The sections in order.
    pub sections: Vec<Section>,
    /// When a scheduled pass sends it.
    pub send_at: Option<SendAt>,
    /// The merge tags used anywhere in the sections.
    pub tags: TagTable,
    /// Local image files the sections show, each once.
    pub images: Vec<LocalImage>,
}

impl Issue {
    /// The local image the issue shows at `path` (relative to its folder,
    /// as a page that refers to it asks for it): only the issue's own
    /// images, never another file of the folder or anything outside it.
    pub fn local_image(&self, path: &str) -> Option<&LocalImage> {
        let wanted = inside_segments(path)?;
        self.images
            .iter()
            .find(|image| inside_segments(&image.src).is_some_and(|s| s == wanted))
    }

    /// Loads the issue in `dir`.
    pub fn load(dir: &Path) -> Result<Issue> {
        if !dir.is_dir() {
            return Err(no_such_issue(dir));
        }
        let path = dir.join("issue.toml");
        let source = read_input(&path)?;
        // Every problem of every file is found in one go: a file that does
        // not parse still lets the others be read.
        let mut found: Vec<Located> = Vec::new();
        let file: Option<IssueFile> = crate::error::parse_toml(&path, &source, 0, &source)
            .map_or_else(
                |e| {
                    found.extend(e);
                    None
                },
                Some,
            );
        let (date, send_at) = match &file {
            Some(file) => issue_times(&path, &source, file, &mut found)?,
            None => (None, None),
        };
        let listed = file.as_ref().and_then(|f| f.sections.as_deref());
        let files = section_files(dir, &path, &source, listed, &mut found)?;
        let (sections, tags, images) = load_sections(dir, &files, &mut found)?;
        let file = match file {
            Some(file) if found.is_empty() => file,
            _ => {
                return Err(crate::error::together(
                    found,
                    "the issue has errors in several places",
                    "fix each at its place, then build again",
                ))
            }
        };
        Ok(Issue {
            dir: dir.to_path_buf(),
            slug: slug(dir),
            subject: file.subject.into_inner(),
            preheader: file.preheader,
            date,
            number: file.number,
            toc: file.toc,
            audience: file.audience,
            advertising: file.advertising,
            sections,
            send_at,
            tags,
            images,
        })
    }

    /// Where the merge tag `name` (`web_url`) is used: each section file
    /// and line, in order.
    pub fn tag_lines(&self, name: &str) -> Vec<(PathBuf, usize)> {
        let mut out = Vec::new();
        for section in &self.sections {
            let Ok(text) = read_input(&section.path) else {
                continue;
            };
            for offset in tags::places(&text, name) {
                out.push((
                    section.path.clone(),
                    crate::error::line_col(&text, offset).0,
                ));
            }
        }
        out
    }

    /// The sections that appear in the table of contents: those with a title,
    /// except the intro.
    pub fn toc_entries(&self) -> impl Iterator<Item = (usize, &Section)> {
        self.sections.iter().enumerate().filter(|(_, s)| {
            matches!(s.kind, SectionKind::Story | SectionKind::Note) && s.title.is_some()
        })
    }
}

/// The existing issue folder nearest to the missing `dir`, written as the
/// user would: among its siblings, or among `issues/` for a plain name.
fn nearest_issue(dir: &Path) -> Option<String> {
    let name = dir.file_name()?.to_str()?;
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
    let (folder, prefix) = match parent {
        Some(parent) => (parent.to_path_buf(), format!("{}/", parent.display())),
        None => (PathBuf::from("issues"), String::new()),
    };
    let names: Vec<String> = std::fs::read_dir(&folder)
        .ok()?
        .filter_map(|e| e.ok())
        .take(10_000)
        .filter(|e| e.path().join("issue.toml").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    let near = crate::error::nearest(name, names.iter().map(String::as_str))?;
    Some(format!("{prefix}{near}"))
}

/// `dir` is not a folder: the nearest issue's name, or how to make one.
fn no_such_issue(dir: &Path) -> anyhow::Error {
    let help = match nearest_issue(dir) {
        Some(near) => format!("did you mean `{near}`?"),
        None => format!("create one with `letterpress new {}`", dir.display()),
    };
    anyhow::anyhow!("{}: no such issue folder\n  help: {help}", dir.display())
}

/// The issue's `date` and `send_at`, with the subject checked; each
/// problem into `found`.
fn issue_times(
    path: &Path,
    source: &str,
    file: &IssueFile,
    found: &mut Vec<Located>,
) -> Result<(Option<Date>, Option<SendAt>)> {
    let date = gather(
        found,
        file.date
            .as_ref()
            .map(|d| to_date(path, source, d))
            .transpose(),
    )?
    .flatten();
    gather(found, check_subject(path, source, &file.subject))?;
    let send_at = gather(
        found,
        file.send_at
            .as_ref()
            .map(|d| to_send_at(path, source, d))
            .transpose(),
    )?
    .flatten();
    Ok((date, send_at))
}

/// The sections in `files`, the merge tags they use and their local
/// images, each image once; each section's problems into `found`.
fn load_sections(
    dir: &Path,
    files: &[PathBuf],
    found: &mut Vec<Located>,
) -> Result<(Vec<Section>, TagTable, Vec<LocalImage>)> {
    let mut tags = TagTable::default();
    let mut images: Vec<LocalImage> = Vec::new();
    let mut sections = Vec::new();
    for section_path in files {
        let Some((section, section_images)) =
            gather(found, load_section(dir, section_path, &mut tags))?
        else {
            continue;
        };
        sections.push(section);
        for image in section_images {
            if !images.iter().any(|i| i.src == image.src) {
                images.push(image);
            }
        }
    }
    Ok((sections, tags, images))
}

/// `Some` of a success; a located failure (one or several) goes to
/// `found` and gives `None`; any other failure stops.
fn gather<T>(found: &mut Vec<Located>, result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) => {
            found.extend(crate::error::located_parts(e)?);
            Ok(None)
        }
    }
}

/// A subject fit for the Subject header: on one line, not empty.
fn check_subject(path: &Path, source: &str, subject: &Spanned<String>) -> Result<()> {
    let at = subject.span().start;
    if subject.get_ref().chars().any(char::is_control) {
        return Err(Located::at(
            path,
            source,
            at,
            "the subject contains a line break or control character",
        )
        .help("write the subject on one line; a line break in a header could inject other headers")
        .into());
    }
    if subject.get_ref().trim().is_empty() {
        return Err(Located::at(path, source, at, "the subject is empty")
            .help("write the subject line readers see in their inbox")
            .into());
    }
    Ok(())
}

fn slug(dir: &Path) -> String {
    let name = std::fs::canonicalize(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    name.unwrap_or_else(|| "issue".into())
}

fn to_date(path: &Path, source: &str, value: &Spanned<toml::value::Datetime>) -> Result<Date> {
    match (value.get_ref().date, value.get_ref().time) {
        (Some(d), None) => Ok(Date {
            year: d.year,
            month: d.month,
            day: d.day,
        }),
        _ => Err(Located::at(
            path,
            source,
            value.span().start,
            "`date` must be a date without a time",
        )
        .help("write it as date = 2026-11-27 (no quotes)")
        .into()),
    }
}

/// `send_at`: a date and a time, with or without an offset.
fn to_send_at(path: &Path, source: &str, value: &Spanned<toml::value::Datetime>) -> Result<SendAt> {
    let at = value.span().start;
    let bad = |why: String| -> anyhow::Error {
        Located::at(path, source, at, why)
            .help("write it as send_at = 2026-12-04T09:00:00 (in [newsletter] timezone) or 2026-12-04T09:00:00+09:00, no quotes")
            .into()
    };
    let datetime = value.get_ref();
    let (Some(d), Some(t)) = (datetime.date, datetime.time) else {
        return Err(bad("`send_at` needs a date and a time".into()));
    };
    let civil = jiff::civil::DateTime::new(
        d.year as i16,
        d.month as i8,
        d.day as i8,
        t.hour as i8,
        t.minute as i8,
        t.second.unwrap_or(0) as i8,
        0,
    )
    .map_err(|e| bad(format!("`send_at` is not a valid time: {e}")))?;
    let when = match datetime.offset {
        None => When::Local(civil),
        Some(offset) => {
            let seconds = match offset {
                toml::value::Offset::Z => 0,
                toml::value::Offset::Custom { minutes } => i32::from(minutes) * 60,
            };
            let offset = jiff::tz::Offset::from_seconds(seconds)
                .map_err(|e| bad(format!("`send_at` has an offset out of range: {e}")))?;
            When::Instant(
                offset
                    .to_timestamp(civil)
                    .map_err(|e| bad(format!("`send_at` is out of range: {e}")))?,
            )
        }
    };
    Ok(SendAt {
        when,
        line: crate::error::line_col(source, at).0,
        written: datetime.to_string(),
    })
}

/// The section files, in order: the `sections` list, or every `*.md` by name.
/// A listed file that is missing is added to `found`; the others are
/// still read.
fn section_files(
    dir: &Path,
    toml_path: &Path,
    source: &str,
    listed: Option<&[Spanned<String>]>,
    found: &mut Vec<Located>,
) -> Result<Vec<PathBuf>> {
    if let Some(listed) = listed {
        if listed.is_empty() {
            let offset = crate::error::key_offset(source, &["sections"]);
            found.push(
                Located::at(
                    toml_path,
                    source,
                    offset,
                    "`sections = []` lists no section: the issue would be empty",
                )
                .help(
                    "list the section files, or remove `sections` to use every *.md file in the folder",
                ),
            );
            return Ok(Vec::new());
        }
        let mut files = Vec::new();
        for name in listed {
            match listed_file(dir, name) {
                Ok(file) => files.push(file),
                Err((message, help)) => found
                    .push(Located::at(toml_path, source, name.span().start, message).help(help)),
            }
        }
        return Ok(files);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list the issue folder", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    if files.is_empty() {
        anyhow::bail!(
            "{}: the issue has no section files\n  help: add Markdown files such as 01-intro.md",
            dir.display()
        );
    }
    Ok(files)
}

/// A file named in `sections`: a plain name of a file in the folder.
fn listed_file(
    dir: &Path,
    name: &Spanned<String>,
) -> std::result::Result<PathBuf, (String, &'static str)> {
    let name = name.get_ref();
    let plain = Path::new(name)
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !plain {
        return Err((
            format!("`sections` lists `{name}`, which is not a file of the issue folder"),
            "list the section files by their names in the issue folder, such as \"01-intro.md\"",
        ));
    }
    let path = dir.join(name);
    if !path.is_file() {
        return Err((
            format!(
                "`sections` lists `{name}`, which does not exist in {}",
                dir.display()
            ),
            "fix the file name or remove it from `sections`",
        ));
    }
    Ok(path)
}

const TAG_HELP: &str =
    "merge tags are {{ name }}, {{ email }}, {{ unsubscribe_url }}, {{ web_url }}, {{ preferences_url }} and {{ name | \"fallback\" }}";

fn load_section(
    dir: &Path,
    path: &Path,
    tags: &mut TagTable,
) -> Result<(Section, Vec<LocalImage>)> {
    let source = read_input(path)?;
    let split = front_matter::split(path, &source).map_err(|found| {
        crate::error::together(
            found,
            "the front matter has errors in several places",
            "fix each at its place",
        )
    })?;
    let mut found: Vec<Located> = Vec::new();
    let (title, link) = title_and_link(path, &source, &split, tags, &mut found);
    let image = lead_image(path, &source, &split, &mut found);
    if split.front.kind == SectionKind::Story && split.front.title.is_none() {
        found.push(
            Located::at(path, &source, 0, "a story needs a `title`").help(
                "add title = \"…\" to the front matter, or set kind = \"intro\" for opening words",
            ),
        );
    }
    let body = gather(
        &mut found,
        parse_body(path, &source, split.body, split.body_offset, tags),
    )?;
    let images = match &body {
        Some(body) => gather(
            &mut found,
            section_images(dir, path, &source, image.as_ref(), body),
        )?,
        None => None,
    };
    let (Some(body), Some(images), true) = (body, images, found.is_empty()) else {
        return Err(crate::error::together(
            found,
            "the section has errors in several places",
            "fix each at its place",
        ));
    };
    let front = split.front;
    let section = Section {
        path: path.to_path_buf(),
        kind: front.kind,
        title,
        link,
        link_text: front.link_text,
        image,
        attribution: front.attribution,
        body,
    };
    Ok((section, images))
}

/// The section's title and link, their merge tags marked (the link's for
/// a URL); a bad tag into `found` at its place.
fn title_and_link(
    path: &Path,
    source: &str,
    split: &front_matter::Split,
    tags: &mut TagTable,
    found: &mut Vec<Located>,
) -> (Option<String>, Option<String>) {
    let mut mark =
        |value: &Spanned<String>, found: &mut Vec<Located>| match tags.mark(value.get_ref()) {
            Ok(marked) => Some(marked),
            Err(e) => {
                let offset = value.span().start + split.front_offset;
                found.push(Located::at(path, source, offset, e.message).help(TAG_HELP));
                None
            }
        };
    let title = split.front.title.as_ref().and_then(|t| mark(t, found));
    let link = split.front.link.as_ref().and_then(|l| mark(l, found));
    (title, link.map(|l| tags.for_url(&l)))
}

/// The section's lead image; `image` without `image_alt` into `found`.
fn lead_image(
    path: &Path,
    source: &str,
    split: &front_matter::Split,
    found: &mut Vec<Located>,
) -> Option<Image> {
    match (&split.front.image, &split.front.image_alt) {
        (Some(src), Some(alt)) => Some(Image {
            src: src.get_ref().clone(),
            alt: alt.clone(),
        }),
        (Some(src), None) => {
            let offset = split.front_offset + src.span().start;
            found.push(
                Located::at(
                    path,
                    source,
                    offset,
                    "`image` is set but `image_alt` is not",
                )
                .help("add image_alt = \"…\" describing the image for readers who cannot see it"),
            );
            None
        }
        (None, _) => None,
    }
}

/// The local images a section shows, loaded; errors at the line that
/// names them.
fn section_images(
    dir: &Path,
    path: &Path,
    source: &str,
    lead: Option<&Image>,
    body: &markdown::Body,
) -> Result<Vec<LocalImage>> {
    let mut srcs: Vec<&str> = lead.iter().map(|i| i.src.as_str()).collect();
    walk::image_sources(&body.blocks, &mut srcs);
    let mut images = Vec::new();
    let mut found = Vec::new();
    for src in srcs.into_iter().filter(|src| is_local(src)) {
        let offset = source.find(src).unwrap_or(0);
        match load_image(dir, src) {
            Ok(image) => images.push(LocalImage {
                path: path.to_path_buf(),
                line: crate::error::line_col(source, offset).0,
                ..image
            }),
            Err((message, help)) => {
                found.push(Located::at(path, source, offset, message).help(help));
            }
        }
    }
    match found.is_empty() {
        true => Ok(images),
        false => Err(crate::error::together(
            found,
            "the section's images have errors",
            "fix each at its place",
        )),
    }
}

/// The Markdown body of a section, its merge tags marked (in links, for
/// URLs); errors at their line in the file.
fn parse_body(
    path: &Path,
    source: &str,
    text: &str,
    offset: usize,
    tags: &mut TagTable,
) -> Result<markdown::Body> {
    let marked = tags
        .mark(text)
        .map_err(|e| Located::at(path, source, offset + e.offset, e.message).help(TAG_HELP))?;
    let mut body = markdown::parse(&marked).map_err(|e| {
        // Markers keep every tag on its line, so line numbers stay exact.
        let (line, column) = crate::error::line_col(&marked, e.offset);
        let body_line = crate::error::line_col(source, offset).0;
        Located {
            path: path.to_path_buf(),
            line: body_line + line - 1,
            column,
            message: e.message,
            help: Some(e.help.into()),
        }
    })?;
    walk::for_each_url(&mut body, &mut |url| *url = tags.for_url(url));
    let body_line = crate::error::line_col(source, offset).0;
    for (url, line) in &mut body.targets {
        *url = tags.for_url(url);
        *line = body_line + *line - 1;
    }
    Ok(body)
}

/// Where the front matter of a section's `source` is (between its `+++`
/// lines), if it has one.
pub fn front_matter_range(source: &str) -> Option<std::ops::Range<usize>> {
    let split = front_matter::split(Path::new(""), source).ok()?;
    if split.front_offset == 0 {
        return None;
    }
    let head = &source[..split.body_offset];
    let end = head.trim_end().rfind('\n').map_or(0, |i| i + 1);
    (end >= split.front_offset).then_some(split.front_offset..end)
}

/// Whether an image source is a file of the issue rather than a URL.
pub fn is_local(src: &str) -> bool {
    !["http://", "https://", "cid:", "data:"]
        .iter()
        .any(|p| src.starts_with(p))
}

type ImageError = (String, &'static str);

fn load_image(dir: &Path, src: &str) -> std::result::Result<LocalImage, ImageError> {
    let relative = Path::new(src);
    let content_type = image_type_by_name(src, relative)?;
    stays_inside(dir, src, relative)?;
    let help = "make the image smaller (a newsletter image rarely needs more than 1 MB), or put it on the web and use its https:// URL";
    let bytes = crate::error::read_within(&dir.join(relative), crate::error::IMAGE_LIMIT, help)
        .map_err(|e| match e.downcast_ref::<Located>() {
            Some(too_big) => (format!("the image `{src}`: {}", too_big.message), help),
            None => (
                format!("cannot read the image `{src}`: {e:#}"),
                "check the file name; it is relative to the issue folder",
            ),
        })?;
    // The type the bytes really have wins over the name's extension.
    let content_type = sniff_image(&bytes).unwrap_or(content_type);
    Ok(LocalImage {
        src: src.to_string(),
        bytes,
        content_type,
        path: PathBuf::new(),
        line: 0,
    })
}

/// The image's type by its name, when the name is a relative path inside
/// the issue folder and a format mail clients show.
fn image_type_by_name(src: &str, relative: &Path) -> std::result::Result<&'static str, ImageError> {
    let inside = relative.components().all(|c| {
        matches!(
            c,
            std::path::Component::Normal(_) | std::path::Component::CurDir
        )
    });
    if !inside {
        return Err((
            format!("the image `{src}` is outside the issue folder"),
            "put the image file in the issue folder and refer to it by a relative path, or use an https:// URL",
        ));
    }
    let extension = relative
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match extension.as_str() {
        "png" => Ok("image/png"),
        "jpg" | "jpeg" => Ok("image/jpeg"),
        "gif" => Ok("image/gif"),
        "webp" => Ok("image/webp"),
        _ => Err((
            format!("the image `{src}` is not PNG, JPEG, GIF or WebP"),
            "convert it to PNG or JPEG: mail clients do not show other formats reliably",
        )),
    }
}

/// A link may point anywhere: what counts is where the file really is.
fn stays_inside(dir: &Path, src: &str, relative: &Path) -> std::result::Result<(), ImageError> {
    let real = std::fs::canonicalize(dir.join(relative));
    let real_dir = std::fs::canonicalize(dir);
    if let (Ok(real), Ok(real_dir)) = (&real, &real_dir) {
        if !real.starts_with(real_dir) {
            return Err((
                format!(
                    "the image `{src}` is a link to {}, outside the issue folder",
                    real.display()
                ),
                "copy the image into the issue folder instead of linking to it",
            ));
        }
    }
    Ok(())
}

/// The image type the first bytes of `bytes` show: PNG, JPEG, GIF or WebP.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// `path` as the segments of a relative path inside a folder, `.` left
/// out; none when a segment is empty, `..` or holds a backslash or a NUL.
fn inside_segments(path: &str) -> Option<Vec<&str>> {
    let mut segments = Vec::new();
    for segment in path.split('/') {
        match segment {
            "." => continue,
            "" | ".." => return None,
            s if s.contains(['\\', '\0']) => return None,
            s => segments.push(s),
        }
    }
    (!segments.is_empty()).then_some(segments)
}

#[cfg(test)]
mod image_tests {
    use super::*;

    #[test]
    fn an_image_is_typed_by_its_bytes_and_found_only_inside_the_folder() {
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff_image(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(sniff_image(b"GIF89a.."), Some("image/gif"));
        assert_eq!(sniff_image(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_image(b"<svg"), None);
        assert_eq!(inside_segments("./img/a.png"), Some(vec!["img", "a.png"]));
        for bad in [
            "",
            "/a.png",
            "../a.png",
            "img//a.png",
            "img/../a.png",
            "a\\b.png",
        ] {
            assert_eq!(inside_segments(bad), None, "{bad}");
        }
    }
}
