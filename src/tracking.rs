//! Click counts that never name a reader (`[tracking] clicks = true`).
//!
//! Each http(s) link of an issue's content gets a number, in order of
//! first appearance, and is written into both parts of every copy as
//! `<base_url>/c/<issue>/<n>/<signature>`, the same for every reader. The
//! signature is the first 8 bytes of HMAC-SHA256(secret, "letterpress
//! click\0" ‖ issue ‖ "\0" ‖ n ‖ "\0" ‖ url), in hex: `serve` redirects
//! only to the URL it was made for, so nobody can use the address as an
//! open redirect. There is no open pixel and no reader ID: what is kept is
//! one line per click in `state_dir/clicks.log`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};

use crate::issue::markdown::{Block, Inline};
use crate::issue::Issue;
use crate::message::reader::same_bytes;

/// The links of an issue that are counted, in order: link `n` is
/// `urls[n - 1]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    /// The targets as written.
    pub urls: Vec<String>,
}

/// Whether a link is counted: http or https, the same for every reader
/// (no merge tag in it: `{{ unsubscribe_url }}` and links that carry the
/// reader's address stay as they are), and not a `mailto:`.
fn counted(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && !url.contains(crate::issue::tags::OPEN)
}

impl Links {
    /// The counted links of `issue`, each once.
    pub fn of(issue: &Issue) -> Links {
        let mut links = Links::default();
        let mut issue = issue.clone();
        walk(&mut issue, &mut |url| {
            links.number(url);
        });
        links
    }

    /// The number of `url`, given it one if it is new.
    fn number(&mut self, url: &str) -> usize {
        match self.urls.iter().position(|u| u == url) {
            Some(i) => i + 1,
            None => {
                self.urls.push(url.to_string());
                self.urls.len()
            }
        }
    }

    /// The target of link `n` when `signature` is its signature.
    pub fn target(&self, secret: &[u8], issue: &str, n: usize, signature: &str) -> Option<&str> {
        let url = self.urls.get(n.checked_sub(1)?)?;
        let expected = sign(secret, issue, n, url);
        same_bytes(expected.as_bytes(), signature.as_bytes()).then_some(url.as_str())
    }
}

/// The signature of link `n` of `issue`.
pub fn sign(secret: &[u8], issue: &str, n: usize, url: &str) -> String {
    let n = n.to_string();
    let parts: [&[u8]; 5] = [issue.as_bytes(), b"\0", n.as_bytes(), b"\0", url.as_bytes()];
    let digest = crate::subscribe::token::mac(secret, b"letterpress click\0", &parts);
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Rewrites the counted links of `issue` to their counting addresses under
/// `base` (the newsletter's `base_url`); the links, numbered.
pub fn rewrite(issue: &mut Issue, base: &str, secret: &[u8]) -> Links {
    let slug = issue.slug.clone();
    let base = base.trim_end_matches('/').to_string();
    let mut links = Links::default();
    walk(issue, &mut |url| {
        let n = links.number(url);
        let encoded = crate::message::reader::percent_encode(&slug);
        *url = format!("{base}/c/{encoded}/{n}/{}", sign(secret, &slug, n, url));
    });
    links
}

/// Calls `each` on every counted link target of the issue's content: the
/// sections' "read more" links and the links in their bodies.
fn walk(issue: &mut Issue, each: &mut dyn FnMut(&mut String)) {
    for section in &mut issue.sections {
        if let Some(link) = section.link.as_mut().filter(|l| counted(l)) {
            each(link);
        }
        blocks(&mut section.body.blocks, each);
        for note in &mut section.body.footnotes {
            blocks(note, each);
        }
    }
}

fn blocks(blocks: &mut [Block], each: &mut dyn FnMut(&mut String)) {
    for block in blocks {
        match block {
            Block::Paragraph(inl) | Block::Heading(_, inl) => inlines(inl, each),
            Block::List { items, .. } => items.iter_mut().for_each(|b| self::blocks(b, each)),
            Block::Quote(b) => self::blocks(b, each),
            Block::Table { head, rows, .. } => {
                head.iter_mut().for_each(|c| inlines(c, each));
                rows.iter_mut().flatten().for_each(|c| inlines(c, each));
            }
            Block::Code(_) | Block::Rule => {}
        }
    }
}

fn inlines(inlines: &mut [Inline], each: &mut dyn FnMut(&mut String)) {
    for inline in inlines {
        match inline {
            Inline::Link { url, children } => {
                if counted(url) {
                    each(url);
                }
                self::inlines(children, each);
            }
            Inline::Emph(c) | Inline::Strong(c) | Inline::Strike(c) => self::inlines(c, each),
            _ => {}
        }
    }
}

/// Why a click counts apart, as "likely automated".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    /// A browser, as far as can be told.
    Person,
    /// A HEAD request: a link checker, not a person.
    Head,
    /// A user agent of a known link scanner or bot.
    Scanner,
}

impl Agent {
    fn word(self) -> &'static str {
        match self {
            Agent::Person => "person",
            Agent::Head => "head",
            Agent::Scanner => "scanner",
        }
    }

    fn parse(word: &str) -> Option<Agent> {
        match word {
            "person" => Some(Agent::Person),
            "head" => Some(Agent::Head),
            "scanner" => Some(Agent::Scanner),
            _ => None,
        }
    }
}

/// Words of the user agents that security scanners and link previewers
/// send (Microsoft Safe Links, Mimecast, Proofpoint, Barracuda, Google's
/// and Apple's fetchers, chat previews), compared in lower case. A missing
/// user agent counts as a scanner too.
const SCANNERS: &[&str] = &[
    "bot",
    "crawler",
    "spider",
    "preview",
    "scanner",
    "safelinks",
    "mimecast",
    "proofpoint",
    "barracuda",
    "urldefense",
    "fortiguard",
    "symantec",
    "trendmicro",
    "sophos",
    "forcepoint",
    "googleimageproxy",
    "feedfetcher",
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "go-http-client",
    "java/",
    "okhttp",
    "headlesschrome",
    "phantomjs",
    "slackbot",
    "facebookexternalhit",
    "whatsapp",
    "telegrambot",
    "discordbot",
    "skypeuripreview",
    "microsoft office",
    "ms-office",
];

/// How a request looks.
pub fn agent(head: bool, user_agent: Option<&str>) -> Agent {
    if head {
        return Agent::Head;
    }
    let Some(ua) = user_agent.map(str::to_ascii_lowercase) else {
        return Agent::Scanner;
    };
    match ua.trim().is_empty() || SCANNERS.iter().any(|word| ua.contains(word)) {
        true => Agent::Scanner,
        false => Agent::Person,
    }
}

/// `state_dir/clicks.log`.
pub fn log_path(state_dir: &Path) -> PathBuf {
    state_dir.join("clicks.log")
}

/// One click: when, which issue and link, and how the request looked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    /// Seconds since 1970.
    pub at: i64,
    /// The issue folder's name.
    pub issue: String,
    /// The link's number.
    pub link: usize,
    /// How the request looked.
    pub agent: Agent,
}

/// Appends `click` to the log: one line, one `write`. The log survives a
/// restart of the server; it is not synced per click (a power loss may
/// lose the last few counts).
pub fn record(state_dir: &Path, click: &Click) -> Result<()> {
    let at = jiff::Timestamp::from_second(click.at).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let line = format!(
        "{at} {} {} {}\n",
        click.issue,
        click.link,
        click.agent.word()
    );
    append_line(&log_path(state_dir), &line)
}

/// The clicks of `issue` in the log; lines that are not clicks (a line
/// torn by a crash) are left out.
pub fn clicks(state_dir: &Path, issue: &str) -> Result<Vec<Click>> {
    let text = read_log(&log_path(state_dir))?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let at: jiff::Timestamp = fields.next()?.parse().ok()?;
            let name = fields.next()?;
            let link = fields.next()?.parse().ok()?;
            let agent = Agent::parse(fields.next()?)?;
            (name == issue && fields.next().is_none()).then(|| Click {
                at: at.as_second(),
                issue: name.to_string(),
                link,
                agent,
            })
        })
        .collect())
}

/// The issue as a send to the list writes it: with `[tracking] clicks`,
/// its counted links rewritten (they are signed with the unsubscribe
/// secret); otherwise as it is.
pub fn prepare<'a>(
    config: &crate::config::Config,
    issue: &'a Issue,
    secret: Option<&[u8]>,
) -> Result<std::borrow::Cow<'a, Issue>> {
    if !config.file.tracking.clicks {
        return Ok(std::borrow::Cow::Borrowed(issue));
    }
    let base = config.newsletter().base_url.as_deref().ok_or_else(|| {
        anyhow!(
            "{}: [tracking] clicks = true needs [newsletter] base_url",
            config.path.display()
        )
    })?;
    let secret = secret.ok_or_else(|| {
        anyhow!(
            "[tracking] clicks = true signs each counted link with the unsubscribe secret, and {} is not set\n  help: export {}=… (at least {} bytes)",
            crate::message::reader::secret_env_name(config),
            crate::message::reader::secret_env_name(config),
            crate::message::reader::MIN_SECRET_BYTES
        )
    })?;
    if !is_issue_name(&issue.slug) {
        anyhow::bail!(
            "{}: [tracking] clicks = true puts the issue folder's name into each counted link, and `{}` is not one word\n  help: rename the folder to letters, digits, -, _ and . only",
            issue.dir.display(),
            issue.slug.escape_debug()
        );
    }
    let mut rewritten = issue.clone();
    rewrite(&mut rewritten, base, secret);
    Ok(std::borrow::Cow::Owned(rewritten))
}

/// Whether `name` can be an issue folder's name as links carry it: a
/// word of letters (any script), digits, `-`, `_` and `.`, not starting
/// with a dot.
pub fn is_issue_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "-_.".contains(c))
}

/// `state_dir/unsubscribes.log`: when a reader left from which issue.
pub fn unsubscribes_path(state_dir: &Path) -> PathBuf {
    state_dir.join("unsubscribes.log")
}

/// Appends a line for an unsubscribe that came from `issue`'s link.
pub fn record_unsubscribe(state_dir: &Path, issue: &str) -> Result<()> {
    append_line(
        &unsubscribes_path(state_dir),
        &format!("{} {issue}\n", jiff::Timestamp::now()),
    )
}

/// The text of a log; empty when there is none yet.
fn read_log(path: &Path) -> Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(anyhow!("{}: cannot read the file: {e}", path.display())),
    }
}

fn append_line(path: &Path, line: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow!("{}: cannot create the state folder: {e}", dir.display()))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(line.as_bytes()))
        .map_err(|e| anyhow!("{}: cannot write: {e}", path.display()))
}

/// When readers left from `issue`'s links, in seconds since 1970.
pub fn unsubscribes(state_dir: &Path, issue: &str) -> Result<Vec<i64>> {
    let text = read_log(&unsubscribes_path(state_dir))?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let (at, name) = line.split_once(' ')?;
            let at: jiff::Timestamp = at.parse().ok()?;
            (name == issue).then_some(at.as_second())
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_links_the_same_for_every_reader_are_counted() {
        assert!(counted("https://example.org/a"));
        assert!(counted("HTTP://example.org/a"));
        assert!(!counted("mailto:editor@example.com"));
        assert!(!counted("ftp://example.org/a"));
        let marker = format!(
            "https://example.org/?e={}email{}",
            crate::issue::tags::OPEN,
            crate::issue::tags::CLOSE
        );
        assert!(!counted(&marker));
    }

    #[test]
    fn a_signature_opens_its_own_link_only() {
        let links = Links {
            urls: vec![
                "https://example.org/a".into(),
                "https://example.org/b".into(),
            ],
        };
        let one = sign(b"secret", "issue", 1, "https://example.org/a");
        assert_eq!(one.len(), 16);
        assert_eq!(
            links.target(b"secret", "issue", 1, &one),
            Some("https://example.org/a")
        );
        assert_eq!(links.target(b"secret", "issue", 2, &one), None);
        assert_eq!(links.target(b"secret", "other", 1, &one), None);
        assert_eq!(links.target(b"other secret", "issue", 1, &one), None);
        assert_eq!(links.target(b"secret", "issue", 0, &one), None);
        assert_eq!(links.target(b"secret", "issue", 3, &one), None);
        assert_eq!(links.target(b"secret", "issue", 1, &one[..15]), None);
    }

    #[test]
    fn heads_scanners_and_missing_agents_count_apart() {
        let phone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148";
        assert_eq!(agent(false, Some(phone)), Agent::Person);
        assert_eq!(agent(true, Some(phone)), Agent::Head);
        assert_eq!(agent(false, None), Agent::Scanner);
        assert_eq!(agent(false, Some(" ")), Agent::Scanner);
        for scanner in [
            "Mozilla/5.0 (compatible; Barracuda Sentinel)",
            "Mimecast-Url-Protect",
            "python-requests/2.32",
            "Slackbot-LinkExpanding 1.0",
        ] {
            assert_eq!(agent(false, Some(scanner)), Agent::Scanner, "{scanner}");
        }
    }

    #[test]
    fn the_click_log_reads_back_and_skips_torn_lines() {
        let dir = tempfile::tempdir().unwrap();
        let click = Click {
            at: 1_796_000_000,
            issue: "example".into(),
            link: 3,
            agent: Agent::Head,
        };
        record(dir.path(), &click).unwrap();
        record(
            dir.path(),
            &Click {
                issue: "other".into(),
                ..click.clone()
            },
        )
        .unwrap();
        let mut text = std::fs::read_to_string(log_path(dir.path())).unwrap();
        text.push_str("2026-12-02T00:00:00Z example 1 per");
        std::fs::write(log_path(dir.path()), text).unwrap();
        assert_eq!(clicks(dir.path(), "example").unwrap(), [click]);
        assert!(is_issue_name("2026-11-27-why") && is_issue_name("48호-위기의-스타트업"));
        assert!(!is_issue_name("../config") && !is_issue_name(".hidden") && !is_issue_name("a b"));
    }
}
