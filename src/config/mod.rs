//! `config/newsletter.toml`: the newsletter, its list, its relay.
//!
//! One file per table (or pair of tables), each with its structs and the
//! checks of its values; `validate` asks each table in turn.

mod bounces;
mod checks;
mod consent;
mod dkim;
mod images;
mod language;
mod newsletter;
mod preferences;
mod sending;
mod smtp;
mod subscribe;
mod topics;
mod tracking;

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Deserialize;

use crate::error::{read_input, Located};

pub use bounces::Bounces;
use checks::Rule;
pub use consent::{Consent, DEFAULT_REMIND_EVERY_DAYS};
pub use dkim::{Dkim, DkimAlgorithm};
pub use images::Images;
pub use language::{default_time_zone, language_tag, primary_language};
pub use newsletter::{Newsletter, SubscribersTable};
pub use preferences::Preferences;
pub use sending::{parse_quiet_hours, Sending};
pub use smtp::{Role, Security, Smtp};
pub use subscribe::{Subscribe, Unsubscribe};
pub use topics::{Topic, MAX_TOPICS};
pub use tracking::Tracking;

/// The whole configuration, as loaded from `newsletter.toml`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// The folder above the config folder: `templates/` and `issues/` live there.
    pub project_dir: PathBuf,
    /// The parsed file.
    pub file: ConfigFile,
}

/// The tables of `newsletter.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `[newsletter]`: who sends what.
    pub newsletter: Newsletter,
    /// `[subscribers]`: where the list lives.
    pub subscribers: SubscribersTable,
    /// `[unsubscribe]`: how readers leave.
    #[serde(default)]
    pub unsubscribe: Unsubscribe,
    /// `[smtp]` or `[[smtp]]`: the relays, in the order written. Empty
    /// when there is none.
    #[serde(default, deserialize_with = "checks::one_or_many")]
    pub smtp: Vec<Smtp>,
    /// `[sending]`: throughput and retries.
    #[serde(default)]
    pub sending: Sending,
    /// `[dkim]` or `[[dkim]]`: optional message signing, once per table
    /// (say RSA and Ed25519 side by side). Empty when there is none.
    #[serde(default, deserialize_with = "checks::one_or_many")]
    pub dkim: Vec<Dkim>,
    /// `[subscribe]`: the sign-up form, with double opt-in.
    pub subscribe: Option<Subscribe>,
    /// `[preferences]`: the reader's own page.
    pub preferences: Option<Preferences>,
    /// `[consent]`: the consent mails Korean law asks for.
    #[serde(default)]
    pub consent: Consent,
    /// `[bounces]`: VERP envelope senders and the bounce policy.
    pub bounces: Option<Bounces>,
    /// `[tracking]`: aggregate click counts, off unless asked for.
    #[serde(default)]
    pub tracking: Tracking,
    /// `[[topics]]`: what readers may choose; none when absent.
    #[serde(default)]
    pub topics: Vec<Topic>,
    /// `[images]`: attached (processed) or hosted.
    #[serde(default)]
    pub images: Images,
}

impl Config {
    /// Loads and validates `path`.
    pub fn load(path: &Path) -> Result<Config> {
        let source = read_input(path).map_err(|e| {
            e.context("cannot load the configuration (use --config PATH or set LETTERPRESS_CONFIG)")
        })?;
        let many = |found| {
            crate::error::together(
                found,
                "the configuration has errors in several places",
                "fix each at its place",
            )
        };
        let file: ConfigFile = match crate::error::parse_toml_partly(path, &source, 0, &source) {
            Ok(file) => file,
            // The values that are there are checked too.
            Err((mut found, rest)) => {
                if let Some(rest) = rest {
                    found.extend(validate(path, &source, &rest));
                    found.sort_by_key(|l| (l.line, l.column));
                }
                return Err(many(found));
            }
        };
        let found = validate(path, &source, &file);
        if !found.is_empty() {
            return Err(many(found));
        }
        Ok(Config {
            path: path.to_path_buf(),
            project_dir: project_dir(path),
            file,
        })
    }

    /// The folder holding the config file.
    pub fn dir(&self) -> PathBuf {
        parent(&self.path)
    }

    /// A path from the config, resolved against the config folder
    /// (`config/../state` becomes `state`).
    pub fn resolve(&self, relative: &Path) -> PathBuf {
        let mut out = PathBuf::new();
        for part in self.dir().join(relative).components() {
            let normal_last = matches!(
                out.components().next_back(),
                Some(std::path::Component::Normal(_))
            );
            match part {
                std::path::Component::ParentDir if normal_last => {
                    out.pop();
                }
                std::path::Component::CurDir => {}
                other => out.push(other),
            }
        }
        if out.as_os_str().is_empty() {
            out.push(".");
        }
        out
    }

    /// The project's `issues/` folder.
    pub fn issues_dir(&self) -> PathBuf {
        issues_dir(&self.project_dir)
    }

    /// `[sending] state_dir`, resolved: the delivery journals and the logs.
    pub fn state_dir(&self) -> PathBuf {
        self.resolve(&self.file.sending.state_dir)
    }

    /// `state_dir/consent`: the journal of the consent mails.
    pub fn consent_dir(&self) -> PathBuf {
        self.state_dir().join("consent")
    }

    /// `[subscribers] file`, resolved: the list.
    pub fn list_path(&self) -> PathBuf {
        self.resolve(&self.file.subscribers.file)
    }

    /// The newsletter table.
    pub fn newsletter(&self) -> &Newsletter {
        &self.file.newsletter
    }

    /// The domain of the From address, lowercased, punycode for an
    /// international one (List-Id, Message-IDs, Content-IDs,
    /// EHLO, DKIM alignment). `from` was checked to hold an address at load.
    pub fn from_domain(&self) -> String {
        let from = self.newsletter().from.get_ref();
        let domain = from.rsplit('@').next().unwrap_or("localhost");
        let domain = domain.trim_end_matches('>').trim().to_lowercase();
        // Headers, EHLO and DKIM take the ASCII form of an international
        // domain.
        idna::domain_to_ascii(&domain).unwrap_or(domain)
    }

    /// The time zone of local `send_at` times: `[newsletter] timezone`
    /// (checked at load), else UTC.
    pub fn time_zone(&self) -> jiff::tz::TimeZone {
        self.newsletter()
            .timezone
            .as_deref()
            .and_then(|z| jiff::tz::TimeZone::get(z).ok())
            .unwrap_or(jiff::tz::TimeZone::UTC)
    }

    /// `[bounces]`, or its defaults when the table is absent.
    pub fn bounces(&self) -> &Bounces {
        static DEFAULT: std::sync::OnceLock<Bounces> = std::sync::OnceLock::new();
        self.file
            .bounces
            .as_ref()
            .unwrap_or_else(|| DEFAULT.get_or_init(Bounces::default))
    }

    /// `[sending] quiet_hours`, checked at load: start and end.
    pub fn quiet_hours(&self) -> Option<(jiff::civil::Time, jiff::civil::Time)> {
        let value = self.file.sending.quiet_hours.as_deref()?;
        parse_quiet_hours(value).ok()
    }

    /// `[[topics]]`, checked at load: distinct tags, at most
    /// [`MAX_TOPICS`].
    pub fn topics(&self) -> &[Topic] {
        &self.file.topics
    }

    /// The tags a reader who chooses no topic gets: `[subscribe]
    /// default_topics`, else every topic's.
    pub fn default_topics(&self) -> Vec<String> {
        let chosen = self
            .file
            .subscribe
            .as_ref()
            .and_then(|s| s.default_topics.clone());
        chosen.unwrap_or_else(|| self.topics().iter().map(|t| t.tag.clone()).collect())
    }

    /// Whether the newsletter is written in Korean.
    pub fn is_korean(&self) -> bool {
        primary_language(&self.file.newsletter.language) == "ko"
    }

    /// With `[consent]` on (by default for a newsletter in Korean): the
    /// days between reminders, and whether changes get a result notice.
    pub fn consent(&self) -> Option<(u32, bool)> {
        let consent = &self.file.consent;
        if !consent.enabled.unwrap_or(self.is_korean()) {
            return None;
        }
        Some((
            consent
                .remind_every_days
                .unwrap_or(DEFAULT_REMIND_EVERY_DAYS),
            consent.notify_changes.unwrap_or(true),
        ))
    }
}

/// The project folder of the config file at `path`: the folder above the
/// config folder.
pub fn project_dir(path: &Path) -> PathBuf {
    // `config/` → the current folder, written as an empty path so that
    // joined paths read `templates/…`, not `./templates/…`.
    match parent(&parent(path)) {
        p if p == Path::new(".") => PathBuf::new(),
        p => p,
    }
}

/// The `issues/` folder of the project in `project_dir`.
pub fn issues_dir(project_dir: &Path) -> PathBuf {
    project_dir.join("issues")
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Every value of the file that is unfit, each at its place.
fn validate(path: &Path, source: &str, file: &ConfigFile) -> Vec<Located> {
    let mut found = Vec::new();
    for smtp in &file.smtp {
        found.extend(smtp.check(path, source));
    }
    found.extend(file.newsletter.check(path, source));
    for rule in rules(file) {
        if let Err((why, help)) = rule.verdict {
            let offset = crate::error::key_offset_in(source, rule.key, rule.index);
            let key = match (rule.index, rule.key) {
                (Some(i), [table]) if array_of_tables(source, table) => format!("{table}[{i}]"),
                (Some(i), [table, rest @ ..]) if array_of_tables(source, table) => {
                    format!("{table}[{i}].{}", rest.join("."))
                }
                _ => rule.key.join("."),
            };
            found.push(Located::at(path, source, offset, format!("`{key}`: {why}")).help(help));
        }
    }
    found
}

/// Every value of the file that reaches a header, a URL, a page, a timer or
/// a loop, and whether it is fit for it, table by table. Present values
/// only: defaults are fit by construction.
fn rules(file: &ConfigFile) -> Vec<Rule> {
    let mut rules = file.newsletter.rules();
    rules.extend(file.sending.rules());
    rules.extend(file.unsubscribe.rules());
    for (i, smtp) in file.smtp.iter().enumerate() {
        rules.extend(smtp.rules(i));
    }
    rules.extend(smtp::across(&file.smtp));
    if let Some(subscribe) = &file.subscribe {
        rules.extend(subscribe.rules());
    }
    if let Some(preferences) = &file.preferences {
        rules.extend(preferences.rules());
    }
    rules.extend(file.consent.rules());
    rules.extend(file.tracking.rules(&file.newsletter));
    rules.extend(file.images.rules(&file.newsletter));
    if let Some(bounces) = &file.bounces {
        rules.extend(bounces.rules());
    }
    for (i, dkim) in file.dkim.iter().enumerate() {
        rules.extend(dkim.rules(i));
    }
    rules.extend(topics::rules(&file.topics, file.subscribe.as_ref()));
    rules
}

/// Whether `table` is written as an array of tables (`[[dkim]]`).
fn array_of_tables(source: &str, table: &str) -> bool {
    source
        .parse::<toml_edit::Document<String>>()
        .is_ok_and(|doc| doc.get(table).is_some_and(|t| t.is_array_of_tables()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newsletter.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(&path)
    }

    const MINIMAL: &str = "[newsletter]\nname = \"N\"\nfrom = \"N <a@example.com>\"\n\n[subscribers]\nfile = \"s.toml\"\n";

    #[test]
    fn can_load_minimal_config_with_defaults() {
        let config = load_str(MINIMAL).unwrap();
        assert_eq!(config.file.newsletter.language, "en");
        assert_eq!(config.file.sending.concurrency, 4);
        assert_eq!(config.file.newsletter.theme, "default");
    }

    #[test]
    fn one_dkim_table_or_an_array_of_them() {
        let one = format!("{MINIMAL}\n[dkim]\ndomain = \"example.com\"\nselector = \"s1\"\nprivate_key_file = \"k.pem\"\n");
        let config = load_str(&one).unwrap();
        assert_eq!(config.file.dkim.len(), 1);
        assert_eq!(config.file.dkim[0].algorithm, DkimAlgorithm::Rsa);
        let many = format!("{MINIMAL}\n[[dkim]]\ndomain = \"example.com\"\nselector = \"s1\"\nprivate_key_file = \"k.pem\"\n\n[[dkim]]\ndomain = \"example.com\"\nselector = \"s2\"\nprivate_key_file = \"e.key\"\nalgorithm = \"ed25519\"\n");
        let config = load_str(&many).unwrap();
        let selectors: Vec<_> = config
            .file
            .dkim
            .iter()
            .map(|d| d.selector.as_str())
            .collect();
        assert_eq!(selectors, ["s1", "s2"]);
        assert_eq!(config.file.dkim[1].algorithm, DkimAlgorithm::Ed25519);
        assert!(load_str(MINIMAL).unwrap().file.dkim.is_empty());
        // A mistake inside the second table is found at its own line.
        let typo = many.replace("selector = \"s2\"", "selector = \"s2\"\nalgoritm = \"rsa\"");
        let err = load_str(&typo).unwrap_err();
        let located = err.downcast_ref::<Located>().unwrap();
        assert!(
            located.message.contains("unknown field `algoritm`"),
            "{}",
            located.message
        );
        assert_eq!(located.line, 16);
        let bad = many.replace("selector = \"s2\"", "selector = \"s2; h=from\"");
        let err = load_str(&bad).unwrap_err();
        let located = err.downcast_ref::<Located>().unwrap();
        assert!(
            located.message.contains("`dkim[1].selector`"),
            "{}",
            located.message
        );
        assert_eq!(located.line, 15);
    }

    #[test]
    fn errors_on_unknown_key_with_line() {
        let text = MINIMAL.replace("name = \"N\"", "name = \"N\"\nnmae = \"typo\"");
        let err = load_str(&text).unwrap_err();
        let located = err.downcast_ref::<Located>().unwrap();
        assert_eq!(located.line, 3);
        assert!(
            located.message.contains("unknown field `nmae`"),
            "{}",
            located.message
        );
    }

    #[test]
    fn subscribe_is_validated_like_every_table() {
        let table = "[subscribe]\nurl = \"https://news.example.com/subscribe\"\n";
        let config = load_str(&format!("{MINIMAL}{table}tags = [\"weekly\"]\n")).unwrap();
        let subscribe = config.file.subscribe.unwrap();
        assert_eq!(subscribe.per_client_per_hour, 10);
        assert_eq!(subscribe.tags, ["weekly"]);
        for (extra, line, says) in [
            ("welcom = \"w\"\n", 9, "unknown field `welcom`"),
            (
                "per_client_per_hour = 0\n",
                9,
                "per_client_per_hour`: 0 is out of range",
            ),
            ("tags = [\"a\\nb\"]\n", 9, "line break"),
            ("tags = [\" \"]\n", 9, "a tag is empty"),
        ] {
            let err = load_str(&format!("{MINIMAL}{table}{extra}")).unwrap_err();
            let located = err.downcast_ref::<Located>().unwrap();
            assert_eq!(located.line, line, "{extra}: {}", located.message);
            assert!(
                located.message.contains(says),
                "{extra}: {}",
                located.message
            );
        }
        let err = load_str(&format!(
            "{MINIMAL}[subscribe]\nurl = \"javascript:alert(1)\"\n"
        ))
        .unwrap_err();
        let located = err.downcast_ref::<Located>().unwrap();
        assert_eq!(located.line, 8);
        assert!(
            located.message.contains("not an http(s) URL"),
            "{}",
            located.message
        );
    }

    #[test]
    fn topics_take_the_newsletter_s_language_and_are_validated() {
        let ko = MINIMAL.replace("name = \"N\"", "name = \"N\"\nlanguage = \"ko-KR\"");
        let topics = "\n[[topics]]\ntag = \"weekly\"\nname = { en = \"Weekly\", ko = \"주간\" }\ndescription = \"Fridays\"\n\n[[topics]]\ntag = \"events\"\nname = { ja = \"イベント\", en = \"Events\" }\n";
        let config = load_str(&format!("{ko}{topics}")).unwrap();
        let names: Vec<_> = config.topics().iter().map(|t| t.name("ko-KR")).collect();
        // The same primary language, else the first text written.
        assert_eq!(names, ["주간", "イベント"]);
        assert_eq!(config.topics()[0].name("en-GB"), "Weekly");
        assert_eq!(config.topics()[0].description("ko"), Some("Fridays"));
        assert_eq!(config.topics()[1].description("ko"), None);
        assert_eq!(config.default_topics(), ["weekly", "events"]);
        let chosen = format!("{ko}{topics}\n[subscribe]\nurl = \"https://news.example.com/subscribe\"\ndefault_topics = [\"events\"]\n");
        assert_eq!(load_str(&chosen).unwrap().default_topics(), ["events"]);
        assert!(load_str(MINIMAL).unwrap().topics().is_empty());

        let one = |body: &str| {
            format!(
                "{MINIMAL}\n[[topics]]\ntag = \"weekly\"\nname = \"Weekly\"\n\n[[topics]]\n{body}"
            )
        };
        let many: String = (0..=topics::MAX_TOPICS)
            .map(|i| format!("[[topics]]\ntag = \"t{i}\"\nname = \"T{i}\"\n"))
            .collect();
        for (text, line, says, help) in [
            (one("tag = \"weekly\"\nname = \"Again\"\n"), 13, "`topics[1].tag`: the tag `weekly` is a topic already", "own tag"),
            (one("tag = \"daily\"\nname = \" \"\n"), 14, "`topics[1].name`: is empty", "Weekly"),
            (one("tag = \"daily\"\nname = \"Daily\"\ndescription = \"a\\nb\"\n"), 15, "`topics[1].description`: contains a line break", "one line"),
            (one("tag = \" \"\nname = \"Daily\"\n"), 13, "`topics[1].tag`: a tag is empty", "a word"),
            (one("tag = \"daily\"\nname = { korean = \"매일\" }\n"), 14, "`korean` is not a language code", "BCP 47"),
            (one("tag = \"daily\"\nname = {}\n"), 14, "has no text", "Weekly"),
            (one("tag = \"daily\"\nname = \"Daily\"\ncolour = \"red\"\n"), 15, "unknown field `colour`", ""),
            (format!("{MINIMAL}\n{many}"), 8 + 3 * topics::MAX_TOPICS, "`topics[50]`: 51 topics are more than the 50", "merge"),
            (format!("{MINIMAL}[subscribe]\nurl = \"https://news.example.com/s\"\ndefault_topics = [\"weekly\"]\n"), 9, "`subscribe.default_topics`: `weekly` is not the tag of a [[topics]] table", "[[topics]]"),
        ] {
            let err = load_str(&text).unwrap_err();
            let located = err.downcast_ref::<Located>().unwrap();
            assert!(located.message.contains(says), "{says}: {}", located.message);
            assert_eq!(located.line, line, "{says}: {}", located.message);
            let given = located.help.as_deref().unwrap_or_default();
            assert!(given.contains(help), "{says}: {given}");
        }
    }

    #[test]
    fn refuses_password_in_file() {
        let text = format!("{MINIMAL}\n[smtp]\nhost = \"h\"\npassword = \"hunter22\"\n");
        let err = load_str(&text).unwrap_err();
        let located = err.downcast_ref::<Located>().unwrap();
        assert_eq!(located.line, 10);
        assert!(located.help.as_deref().unwrap().contains("password_env"));
        assert!(!err.to_string().contains("hunter22"));
    }

    #[test]
    fn resolves_paths_against_the_config_folder() {
        let mut config = load_str(MINIMAL).unwrap();
        config.path = PathBuf::from("config/newsletter.toml");
        assert_eq!(
            config.resolve(Path::new("../state")),
            PathBuf::from("state")
        );
        assert_eq!(
            config.resolve(Path::new("subscribers.toml")),
            PathBuf::from("config/subscribers.toml")
        );
        config.path = PathBuf::from("newsletter.toml");
        assert_eq!(
            config.resolve(Path::new("../state")),
            PathBuf::from("../state")
        );
        config.path = PathBuf::from("/srv/news/config/newsletter.toml");
        assert_eq!(
            config.resolve(Path::new("./../state")),
            PathBuf::from("/srv/news/state")
        );
    }

    #[test]
    fn errors_on_bad_from() {
        let text = MINIMAL.replace("N <a@example.com>", "not an address");
        let err = load_str(&text).unwrap_err();
        assert!(err.to_string().contains("`from`"), "{err}");
    }
}
