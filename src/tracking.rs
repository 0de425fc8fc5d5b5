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

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};

use crate::issue::walk::{self, Reference};
use crate::issue::Issue;
use crate::sign::same_bytes;

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
    let digest = crate::sign::mac(secret, b"letterpress click\0", &parts);
    crate::sign::hex(&digest[..8])
}

/// Rewrites the counted links of `issue` to their counting addresses under
/// `base` (the newsletter's `base_url`); the links, numbered.
pub fn rewrite(issue: &mut Issue, base: &str, secret: &[u8]) -> Links {
    let slug = issue.slug.clone();
    let base = base.trim_end_matches('/').to_string();
    let mut links = Links::default();
    walk(issue, &mut |url| {
        let n = links.number(url);
        let encoded = crate::percent::encode(&slug);
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
        let bodies = std::iter::once(&mut section.body.blocks).chain(&mut section.body.footnotes);
        for blocks in bodies {
            walk::targets_mut(blocks, &mut |target, url| {
                if target == Reference::Link && counted(url) {
                    each(url);
                }
            });
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
/// lose the last few counts). The log is fed by a public address, so it is
/// kept bounded: at [`ROTATE_AT`] bytes it becomes `clicks.log.1` (and the
/// older ones move up), and [`GENERATIONS`] old logs are kept.
pub fn record(state_dir: &Path, click: &Click) -> Result<()> {
    let at = jiff::Timestamp::from_second(click.at).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let line = format!(
        "{at} {} {} {}\n",
        click.issue,
        click.link,
        click.agent.word()
    );
    let path = log_path(state_dir);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() >= ROTATE_AT) {
        rotate(&path)?;
    }
    crate::fs::append(&path, None, line.as_bytes(), crate::fs::Durability::Written)
}

/// The size at which `clicks.log` is rotated.
pub const ROTATE_AT: u64 = 64 * 1024 * 1024;

/// How many rotated click logs are kept beside `clicks.log`.
pub const GENERATIONS: usize = 3;

/// `clicks.log.N`.
fn generation(path: &Path, n: usize) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{n}"));
    path.with_file_name(name)
}

/// Moves `path` to `path.1`, `path.1` to `path.2` and so on, dropping the
/// oldest.
fn rotate(path: &Path) -> Result<()> {
    for n in (1..GENERATIONS).rev() {
        match std::fs::rename(generation(path, n), generation(path, n + 1)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(anyhow!("{}: cannot rotate the log: {e}", path.display()));
            }
            _ => {}
        }
    }
    match std::fs::rename(path, generation(path, 1)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(anyhow!("{}: cannot rotate the log: {e}", path.display()))
        }
        _ => Ok(()),
    }
}

/// The longest line of a click log.
const MAX_CLICK_LINE: usize = 1024;

/// Calls `each` with every click of `issue` in the logs, oldest log first,
/// a line at a time; lines that are not clicks (a line torn by a crash, a
/// stray edit) are left out.
pub fn each_click(state_dir: &Path, issue: &str, mut each: impl FnMut(Click)) -> Result<()> {
    let path = log_path(state_dir);
    let logs = (1..=GENERATIONS)
        .rev()
        .map(|n| generation(&path, n))
        .chain([path.clone()]);
    for log in logs {
        crate::fs::each_line(&log, MAX_CLICK_LINE, |_, line| {
            if let Some(click) = std::str::from_utf8(line).ok().and_then(Click::parse) {
                if click.issue == issue {
                    each(click);
                }
            }
            Ok(())
        })?;
    }
    Ok(())
}

impl Click {
    fn parse(line: &str) -> Option<Click> {
        let mut fields = line.split(' ');
        let at: jiff::Timestamp = fields.next()?.parse().ok()?;
        let issue = fields.next()?.to_string();
        let link = fields.next()?.parse().ok()?;
        let agent = Agent::parse(fields.next()?)?;
        fields.next().is_none().then(|| Click {
            at: at.as_second(),
            issue,
            link,
            agent,
        })
    }
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
            crate::message::secret::secret_env_name(config),
            crate::message::secret::secret_env_name(config),
            crate::message::secret::MIN_SECRET_BYTES
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

/// Appends a line for an unsubscribe that came from `issue`'s link. One
/// line per reader who really left (a repeat writes nothing), so the log is
/// bounded by the list.
pub fn record_unsubscribe(state_dir: &Path, issue: &str) -> Result<()> {
    let line = format!("{} {issue}\n", jiff::Timestamp::now());
    crate::fs::append(
        &unsubscribes_path(state_dir),
        None,
        line.as_bytes(),
        crate::fs::Durability::Written,
    )
}

/// When readers left from `issue`'s links, in seconds since 1970.
pub fn unsubscribes(state_dir: &Path, issue: &str) -> Result<Vec<i64>> {
    let mut times = Vec::new();
    crate::fs::each_line(&unsubscribes_path(state_dir), MAX_CLICK_LINE, |_, line| {
        let at = std::str::from_utf8(line).ok().and_then(|line| {
            let (at, name) = line.split_once(' ')?;
            let at: jiff::Timestamp = at.parse().ok()?;
            (name == issue).then_some(at.as_second())
        });
        times.extend(at);
        Ok(())
    })?;
    Ok(times)
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
        assert_eq!(clicks(dir.path(), "example"), [click]);
        assert!(is_issue_name("2026-11-27-why") && is_issue_name("48호-위기의-스타트업"));
        assert!(!is_issue_name("../config") && !is_issue_name(".hidden") && !is_issue_name("a b"));
    }

    fn clicks(state_dir: &Path, issue: &str) -> Vec<Click> {
        let mut all = Vec::new();
        each_click(state_dir, issue, |click| all.push(click)).unwrap();
        all
    }

    #[test]
    fn a_log_torn_inside_a_character_still_counts_and_the_next_click_is_whole() {
        let dir = tempfile::tempdir().unwrap();
        let click = Click {
            at: 1_796_000_000,
            issue: "48호-위기".into(),
            link: 1,
            agent: Agent::Person,
        };
        record(dir.path(), &click).unwrap();
        let mut bytes = std::fs::read(log_path(dir.path())).unwrap();
        let torn = bytes.len() + "2026-12-02T00:00:00Z 48".len() + 1;
        bytes.extend_from_within(..);
        bytes.truncate(torn);
        std::fs::write(log_path(dir.path()), &bytes).unwrap();
        assert_eq!(
            clicks(dir.path(), "48호-위기"),
            std::slice::from_ref(&click)
        );
        record(dir.path(), &click).unwrap();
        assert_eq!(clicks(dir.path(), "48호-위기"), [click.clone(), click]);
    }

    #[test]
    fn the_log_rotates_at_its_bound_and_old_generations_still_count() {
        let dir = tempfile::tempdir().unwrap();
        let click = Click {
            at: 1_796_000_000,
            issue: "example".into(),
            link: 2,
            agent: Agent::Person,
        };
        record(dir.path(), &click).unwrap();
        // Pretend the log reached its bound: a whole last line at the end.
        let path = log_path(dir.path());
        let line = std::fs::read(&path).unwrap();
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(ROTATE_AT).unwrap();
        use std::os::unix::fs::FileExt;
        file.write_all_at(&line, ROTATE_AT - line.len() as u64)
            .unwrap();
        drop(file);
        for _ in 0..GENERATIONS + 1 {
            record(dir.path(), &click).unwrap();
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(ROTATE_AT)
                .unwrap();
        }
        assert!(generation(&path, GENERATIONS).exists());
        assert!(!generation(&path, GENERATIONS + 1).exists());
        let total: u64 = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert!(total <= ROTATE_AT * (GENERATIONS as u64 + 1));
    }

    #[test]
    fn a_torn_unsubscribes_log_is_cut_before_the_next_line() {
        let dir = tempfile::tempdir().unwrap();
        record_unsubscribe(dir.path(), "48호").unwrap();
        let path = unsubscribes_path(dir.path());
        let mut bytes = std::fs::read(&path).unwrap();
        // A second line torn inside the issue's name, by a crash.
        let line = bytes.clone();
        bytes.extend_from_slice(&line[..line.len() - 3]);
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(unsubscribes(dir.path(), "48호").unwrap().len(), 1);
        record_unsubscribe(dir.path(), "48호").unwrap();
        assert_eq!(unsubscribes(dir.path(), "48호").unwrap().len(), 2);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
    }
}
