//! The documentation a reader follows: every relative link of README.md and
//! the guide under docs/ names a file that exists, every `#anchor` names a
//! heading of its page, and every chapter is reachable from SUMMARY.md.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every .md file under docs/, sorted.
fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut folders = vec![root().join("docs")];
    while let Some(folder) = folders.pop() {
        for entry in fs::read_dir(&folder).expect("docs/ is readable") {
            let path = entry.expect("docs/ entry").path();
            if path.is_dir() {
                // mdBook's output, if someone built the book here.
                if path.file_name().is_some_and(|n| n != "book") {
                    folders.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A heading's anchor as GitHub and mdBook make it: lower case, spaces to
/// `-`, letters (Hangul included), digits, `-` and `_` kept, the rest dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

struct Page {
    /// Link targets with the line they are on.
    links: Vec<(usize, String)>,
    /// The anchors of the headings (a repeated heading gets `-1`, `-2`, …).
    anchors: HashSet<String>,
}

fn read_page(path: &Path) -> Page {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_HEADING_ATTRIBUTES;
    let mut links = Vec::new();
    let mut anchors = HashSet::new();
    let mut heading: Option<(String, Option<String>)> = None;
    for (event, range) in Parser::new_ext(&text, options).into_offset_iter() {
        match event {
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                links.push((line_of(range.start), dest_url.to_string()));
            }
            Event::Start(Tag::Heading { id, .. }) => {
                heading = Some((String::new(), id.map(|id| id.to_string())));
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((words, _)) = heading.as_mut() {
                    words.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((words, id)) = heading.take() {
                    let base = id.unwrap_or_else(|| slug(&words));
                    let mut anchor = base.clone();
                    let mut n = 0;
                    while anchors.contains(&anchor) {
                        n += 1;
                        anchor = format!("{base}-{n}");
                    }
                    anchors.insert(anchor);
                }
            }
            _ => {}
        }
    }
    Page { links, anchors }
}

/// `%20` and friends as the characters they stand for.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every broken relative link of every page, as `file:line: target: why`.
fn broken_links(files: &[PathBuf]) -> Vec<String> {
    let mut broken = Vec::new();
    for file in files {
        let page = read_page(file);
        let shown = file
            .strip_prefix(root())
            .unwrap_or(file)
            .display()
            .to_string();
        for (line, target) in &page.links {
            let lower = target.to_ascii_lowercase();
            if lower.starts_with("http://")
                || lower.starts_with("https://")
                || lower.starts_with("mailto:")
            {
                continue;
            }
            let (path_part, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(percent_decode(a))),
                None => (target.as_str(), None),
            };
            let path_part = percent_decode(path_part.split('?').next().unwrap_or(""));
            let linked = if path_part.is_empty() {
                file.clone()
            } else {
                file.parent().expect("a file has a folder").join(&path_part)
            };
            if !linked.exists() {
                broken.push(format!("{shown}:{line}: {target}: no such file"));
                continue;
            }
            let Some(anchor) = anchor else { continue };
            if linked.extension().is_some_and(|e| e == "md") {
                let anchors = if linked == *file {
                    page.anchors.clone()
                } else {
                    read_page(&linked).anchors
                };
                if !anchors.contains(&anchor) {
                    broken.push(format!(
                        "{shown}:{line}: {target}: no heading has this anchor"
                    ));
                }
            }
        }
    }
    broken
}

// Test that every relative link and anchor of README.md and docs/ resolves.
#[test]
fn every_relative_link_and_anchor_resolves() {
    let broken = broken_links(&markdown_files());
    assert!(
        broken.is_empty(),
        "broken links in the documentation:\n{}",
        broken.join("\n")
    );
}

// Test that every chapter under docs/src is listed in SUMMARY.md, so the
// book reaches it.
#[test]
fn every_chapter_is_in_the_summary() {
    let src = root().join("docs/src");
    let summary = src.join("SUMMARY.md");
    let listed: HashSet<PathBuf> = read_page(&summary)
        .links
        .into_iter()
        .map(|(_, target)| src.join(target.split('#').next().unwrap_or("")))
        .collect();
    let mut missing = Vec::new();
    for file in markdown_files() {
        if file.starts_with(&src) && file != summary && !listed.contains(&file) {
            missing.push(
                file.strip_prefix(root())
                    .unwrap_or(&file)
                    .display()
                    .to_string(),
            );
        }
    }
    assert!(
        missing.is_empty(),
        "chapters not in docs/src/SUMMARY.md: {missing:?}"
    );
}

// Test that the checker itself sees a missing file, a missing anchor in
// another page and one in the same page, and lets good links and web
// addresses pass.
#[test]
fn the_link_checker_finds_missing_files_and_anchors() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let other = dir.path().join("other.md");
    fs::write(&other, "# Local images, and `cid:` parts\n\n## 한글 제목\n").unwrap();
    let page = dir.path().join("page.md");
    fs::write(
        &page,
        "# Top\n\n[ok](other.md#local-images-and-cid-parts) [ok](other.md#한글-제목) \
         [ok](#top) [web](https://example.com/x.md#nope) [mail](mailto:a@example.com)\n\n\
         [gone](missing.md)\n\n[bad](other.md#nowhere)\n\n[bad](#bottom)\n",
    )
    .unwrap();
    let broken = broken_links(&[page]);
    assert_eq!(broken.len(), 3, "{broken:#?}");
    assert!(
        broken[0].ends_with(":5: missing.md: no such file"),
        "{broken:#?}"
    );
    assert!(broken[1].contains(":7: other.md#nowhere"), "{broken:#?}");
    assert!(broken[2].contains(":9: #bottom"), "{broken:#?}");
}
