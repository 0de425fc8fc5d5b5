//! `config/newsletter.toml`: the newsletter, its list, its relay.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::Result;
use serde::Deserialize;
use toml::Spanned;

use crate::error::{read_input, Located};

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
    /// `[smtp]`: the relay.
    pub smtp: Option<Smtp>,
    /// `[sending]`: throughput and retries.
    #[serde(default)]
    pub sending: Sending,
    /// `[dkim]` or `[[dkim]]`: optional message signing, once per table
    /// (say RSA and Ed25519 side by side). Empty when there is none.
    #[serde(default, deserialize_with = "one_or_many")]
    pub dkim: Vec<Dkim>,
    /// `[subscribe]`: the sign-up form, with double opt-in.
    pub subscribe: Option<Subscribe>,
    /// `[bounces]`: VERP envelope senders and the bounce policy.
    pub bounces: Option<Bounces>,
    /// `[tracking]`: aggregate click counts, off unless asked for.
    #[serde(default)]
    pub tracking: Tracking,
}

/// `[tracking]`: what letterpress counts about an issue beyond delivery.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tracking {
    /// Count clicks per link (never per reader) through `serve`.
    #[serde(default)]
    pub clicks: bool,
}

/// `[bounces]`: where bounces go and when they remove a reader.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounces {
    /// The VERP base: each list message's envelope sender is
    /// `<local>+<tag>@<domain>` of it.
    pub return_path: Option<String>,
    /// Soft bounces within the window that mark a reader bounced.
    #[serde(default = "default_soft_limit")]
    pub soft_limit: u32,
    /// The window for soft bounces, in days.
    #[serde(default = "default_soft_window")]
    pub soft_window_days: u32,
    /// A PEM file of extra CA certificates to trust for `imaps://` sources.
    pub ca_file: Option<PathBuf>,
    /// Act only on reports that prove whom they are about (a VERP tag, or
    /// the reader's unsubscribe token in the returned original): anybody
    /// can mail the bounce address a forged report.
    #[serde(default = "default_verify")]
    pub verify: bool,
}

fn default_verify() -> bool {
    true
}

impl Default for Bounces {
    fn default() -> Self {
        Bounces {
            return_path: None,
            soft_limit: default_soft_limit(),
            soft_window_days: default_soft_window(),
            ca_file: None,
            verify: true,
        }
    }
}

fn default_soft_limit() -> u32 {
    3
}

fn default_soft_window() -> u32 {
    30
}

/// `[newsletter]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Newsletter {
    /// The newsletter's name, shown in the masthead and footer.
    pub name: String,
    /// The From header, `Name <address>`.
    pub from: Spanned<String>,
    /// Optional Reply-To address.
    pub reply_to: Option<Spanned<String>>,
    /// BCP 47 language tag: `<html lang>`, labels, wrapping rules.
    #[serde(default = "default_language")]
    pub language: String,
    /// Where the web versions live; enables "view in browser" links.
    pub base_url: Option<String>,
    /// The sender's postal address, printed in the footer.
    pub postal_address: Option<String>,
    /// A theme name (`templates/<name>/` or built in) or a path containing `/`.
    #[serde(default = "default_theme")]
    pub theme: String,
    /// The List-Id; derived from the From domain when absent.
    pub list_id: Option<String>,
    /// Subject prefix for advertising issues in languages other than Korean.
    pub ad_prefix: Option<String>,
    /// Optional Feedback-ID header value (`a:b:c:SenderId`).
    pub feedback_id: Option<String>,
    /// The IANA time zone of local `send_at` times (default UTC).
    pub timezone: Option<String>,
}

/// `[subscribers]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscribersTable {
    /// The list file, relative to the config file.
    pub file: PathBuf,
}

/// `[unsubscribe]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unsubscribe {
    /// Address for `List-Unsubscribe: <mailto:…>`.
    pub mailto: Option<String>,
    /// One-click (RFC 8058) unsubscribe endpoint.
    pub url: Option<String>,
    /// The environment variable holding the HMAC key for reader tokens.
    pub secret_env: Option<String>,
}

/// `[subscribe]`: the sign-up form served by `serve`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscribe {
    /// The public URL of the form; its path is served, and confirmation
    /// links are `<url>/confirm?t=…`.
    pub url: String,
    /// Tags every new reader gets.
    #[serde(default)]
    pub tags: Vec<String>,
    /// An issue folder sent once to each reader who confirms.
    pub welcome: Option<PathBuf>,
    /// Confirmation mails one client (address) may cause per hour.
    #[serde(default = "default_per_client")]
    pub per_client_per_hour: u32,
}

fn default_per_client() -> u32 {
    10
}

/// How to talk to the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain connection upgraded with STARTTLS (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only allowed towards loopback.
    None,
}

/// `[smtp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    /// Relay host name or address.
    pub host: String,
    /// Relay port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// `starttls`, `tls` or `none`.
    #[serde(default = "default_security")]
    pub security: Security,
    /// Login name, when the relay wants AUTH.
    pub username: Option<String>,
    /// The environment variable holding the password.
    pub password_env: Option<String>,
    /// Refused: a password written into the file.
    pub password: Option<Spanned<toml::Value>>,
    /// Timeout of every network step, in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// A PEM file of extra CA certificates to trust.
    pub ca_file: Option<PathBuf>,
}

/// `[sending]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sending {
    /// SMTP connections in parallel.
    pub concurrency: usize,
    /// Messages per second across all connections; 0 means unlimited.
    pub rate_per_second: f64,
    /// Attempts per reader for temporary failures.
    pub max_attempts: u32,
    /// Reconnect after this many messages on one connection.
    pub max_messages_per_connection: usize,
    /// Seconds before the first retry of a temporary failure; each further
    /// retry waits twice as long (with jitter).
    pub retry_delay_secs: f64,
    /// Delivery journals, relative to the config file.
    pub state_dir: PathBuf,
    /// How long after its `send_at` a scheduled pass still sends an issue
    /// (quiet hours do not count).
    pub schedule_grace_minutes: u32,
    /// `"21:00-08:00"`: hours of the newsletter's zone in which no
    /// scheduled pass sends; an issue due in them waits for their end.
    pub quiet_hours: Option<String>,
}

impl Default for Sending {
    fn default() -> Self {
        Sending {
            concurrency: 4,
            rate_per_second: 10.0,
            max_attempts: 5,
            max_messages_per_connection: 100,
            retry_delay_secs: 2.0,
            state_dir: PathBuf::from("../state"),
            schedule_grace_minutes: 60,
            quiet_hours: None,
        }
    }
}

/// A `[dkim]` table, or each of the `[[dkim]]` tables.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dkim {
    /// The signing domain (`d=`).
    pub domain: String,
    /// The selector (`s=`).
    pub selector: String,
    /// The private key, relative to the config file.
    pub private_key_file: PathBuf,
    /// `rsa` (PKCS#1 or PKCS#8 PEM, the default) or `ed25519` (the base64
    /// of the 32-byte seed, or PKCS#8 PEM).
    #[serde(default)]
    pub algorithm: DkimAlgorithm,
}

/// One table (`[dkim]`) or an array of them (`[[dkim]]`), read as a list;
/// a mistake inside a table keeps its own message and place.
fn one_or_many<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Vec<Dkim>, D::Error> {
    struct OneOrMany;
    impl<'de> serde::de::Visitor<'de> for OneOrMany {
        type Value = Vec<Dkim>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a [dkim] table or [[dkim]] tables")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            map: A,
        ) -> std::result::Result<Vec<Dkim>, A::Error> {
            Dkim::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(|d| vec![d])
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            seq: A,
        ) -> std::result::Result<Vec<Dkim>, A::Error> {
            Vec::<Dkim>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
        }
    }
    deserializer.deserialize_any(OneOrMany)
}

/// DKIM signing algorithms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DkimAlgorithm {
    /// rsa-sha256.
    #[default]
    Rsa,
    /// ed25519-sha256.
    Ed25519,
}

fn default_language() -> String {
    "en".into()
}
fn default_theme() -> String {
    "default".into()
}
fn default_port() -> u16 {
    587
}
fn default_security() -> Security {
    Security::Starttls
}
fn default_timeout() -> u64 {
    30
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

    /// Whether the newsletter is written in Korean.
    pub fn is_korean(&self) -> bool {
        primary_language(&self.file.newsletter.language) == "ko"
    }
}

/// Whether `tag` is a well-formed BCP 47 language tag of the usual shape,
/// language[-script][-region] (`ko`, `en-GB`, `zh-Hant-TW`); a name or
/// code people often write instead (`korean`, `kr`, `kor`) is refused with
/// the tag they meant.
pub fn language_tag(tag: &str) -> std::result::Result<(), (String, String)> {
    const MEANT: &[(&str, &str)] = &[
        ("korean", "ko"),
        ("kr", "ko"),
        ("kor", "ko"),
        ("한국어", "ko"),
        ("english", "en"),
        ("eng", "en"),
        ("japanese", "ja"),
        ("jp", "ja"),
        ("jpn", "ja"),
        ("日本語", "ja"),
        ("chinese", "zh"),
        ("cn", "zh"),
        ("zho", "zh"),
        ("chi", "zh"),
        ("中文", "zh"),
    ];
    let lower = tag.trim().to_lowercase();
    let mut parts = lower.split(['-', '_']);
    let primary = parts.next().unwrap_or("");
    if let Some((_, meant)) = MEANT.iter().find(|(wrong, _)| *wrong == primary) {
        return Err((
            "is not a language tag".into(),
            format!("did you mean \"{meant}\"? Languages are written as BCP 47 tags: \"ko\" (Korean), \"en\" (English), \"ja\" (Japanese), \"zh\" (Chinese)"),
        ));
    }
    let alpha = |s: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic())
    };
    let mut rest: Vec<&str> = parts.collect();
    if rest.first().is_some_and(|s| alpha(s, 4..=4)) {
        rest.remove(0);
    }
    if let Some(region) = rest.first() {
        let digits = region.len() == 3 && region.bytes().all(|b| b.is_ascii_digit());
        if alpha(region, 2..=2) || digits {
            rest.remove(0);
        }
    }
    if alpha(primary, 2..=3) && rest.is_empty() && tag == tag.trim() {
        return Ok(());
    }
    Err((
        "is not a language tag".into(),
        "write a BCP 47 tag: a two-letter language, optionally a script and a region, such as \"ko\", \"en\", \"en-GB\" or \"zh-Hant-TW\"".into(),
    ))
}

/// A sensible time zone for a newsletter in `language`, when one zone
/// covers nearly all its readers.
pub fn default_time_zone(language: &str) -> Option<&'static str> {
    match primary_language(language).as_str() {
        "ko" => Some("Asia/Seoul"),
        "ja" => Some("Asia/Tokyo"),
        _ => None,
    }
}

/// The primary subtag of a language tag, lowercased: `ko-KR` → `ko`.
pub fn primary_language(tag: &str) -> String {
    tag.split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
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

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Every value of the file that is unfit, each at its place.
fn validate(path: &Path, source: &str, file: &ConfigFile) -> Vec<Located> {
    let mut found = Vec::new();
    if let Some(password) = file.smtp.as_ref().and_then(|s| s.password.as_ref()) {
        found.push(Located::at(
            path,
            source,
            password.span().start,
            "a password written into the configuration is refused",
        )
        .help("remove `password` and set `password_env = \"LETTERPRESS_SMTP_PASSWORD\"`, then export that variable"));
    }
    let newsletter = &file.newsletter;
    for (field, value) in [
        ("from", Some(&newsletter.from)),
        ("reply_to", newsletter.reply_to.as_ref()),
    ] {
        let Some(value) = value else { continue };
        if let Err(why) = check_mailbox(value.get_ref()) {
            found.push(
                Located::at(
                    path,
                    source,
                    value.span().start,
                    format!("`{field}`: {why}"),
                )
                .help("write it as \"Name <address@example.com>\" or \"address@example.com\""),
            );
        }
    }
    let lang = &newsletter.language;
    if let Err((why, help)) = language_tag(lang) {
        found.push(
            Located::at(
                path,
                source,
                crate::error::key_offset(source, &["newsletter", "language"]),
                format!("`language = \"{}\"`: {why}", lang.escape_debug()),
            )
            .help(help),
        );
    }
    for rule in rules(file) {
        if let Err((why, help)) = rule.verdict {
            let offset = crate::error::key_offset_in(source, rule.key, rule.index);
            let key = match (rule.index, rule.key) {
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

/// One value's check: the key it is at and what is wrong with it.
struct Rule {
    key: &'static [&'static str],
    /// Which of the tables of an array (`[[dkim]]`) the key is in.
    index: Option<usize>,
    verdict: std::result::Result<(), (String, &'static str)>,
}

impl Rule {
    fn at(self, index: usize) -> Rule {
        Rule {
            index: Some(index),
            ..self
        }
    }
}

/// Every value of the file that reaches a header, a URL, a page, a timer or
/// a loop, and whether it is fit for it. Present values only: defaults are
/// fit by construction.
fn rules(file: &ConfigFile) -> Vec<Rule> {
    let n = &file.newsletter;
    let s = &file.sending;
    let mut rules = vec![
        rule(&["newsletter", "name"], one_line(&n.name, 200)),
        rule(
            &["sending", "rate_per_second"],
            float_in(s.rate_per_second, 0.001, 100_000.0, true),
        ),
        rule(
            &["sending", "retry_delay_secs"],
            float_in(s.retry_delay_secs, 0.0, 3600.0, false),
        ),
        rule(
            &["sending", "concurrency"],
            int_in(s.concurrency as u64, 1, 1000),
        ),
        rule(
            &["sending", "max_attempts"],
            int_in(u64::from(s.max_attempts), 1, 100),
        ),
        rule(
            &["sending", "max_messages_per_connection"],
            int_in(s.max_messages_per_connection as u64, 1, 1_000_000),
        ),
        rule(
            &["sending", "schedule_grace_minutes"],
            grace_minutes(s.schedule_grace_minutes),
        ),
    ];
    if let Some(quiet) = &s.quiet_hours {
        rules.push(rule(
            &["sending", "quiet_hours"],
            parse_quiet_hours(quiet).map(|_| ()),
        ));
    }
    if let Some(zone) = &n.timezone {
        rules.push(rule(&["newsletter", "timezone"], time_zone(zone)));
    }
    for (key, value, check) in optional_values(file) {
        if let Some(value) = value {
            rules.push(rule(key, check(value)));
        }
    }
    if let Some(smtp) = &file.smtp {
        rules.push(rule(&["smtp", "host"], host_name(&smtp.host)));
        rules.push(rule(
            &["smtp", "timeout_secs"],
            int_in(smtp.timeout_secs, 1, 3600),
        ));
    }
    if let Some(subscribe) = &file.subscribe {
        rules.push(rule(&["subscribe", "url"], web_url(&subscribe.url)));
        rules.push(rule(
            &["subscribe", "per_client_per_hour"],
            int_in(u64::from(subscribe.per_client_per_hour), 1, 100_000),
        ));
        for tag in &subscribe.tags {
            rules.push(rule(&["subscribe", "tags"], tag_word(tag)));
        }
        if let Some(welcome) = &subscribe.welcome {
            let text = welcome.to_string_lossy();
            rules.push(rule(&["subscribe", "welcome"], one_line(&text, 300)));
        }
    }
    if file.tracking.clicks && n.base_url.is_none() {
        rules.push(rule(
            &["tracking", "clicks"],
            Err((
                "clicks = true needs [newsletter] base_url: counted links go to <base_url>/c/…, which `serve` answers".into(),
                "set base_url to the public address of `serve`, or set clicks = false",
            )),
        ));
    }
    if let Some(bounces) = &file.bounces {
        rules.push(rule(
            &["bounces", "soft_limit"],
            int_in(u64::from(bounces.soft_limit), 1, 100),
        ));
        rules.push(rule(
            &["bounces", "soft_window_days"],
            int_in(u64::from(bounces.soft_window_days), 1, 3650),
        ));
        if let Some(base) = &bounces.return_path {
            rules.push(rule(&["bounces", "return_path"], return_path(base)));
        }
    }
    for (i, dkim) in file.dkim.iter().enumerate() {
        rules.push(rule(&["dkim", "domain"], dns_name(&dkim.domain)).at(i));
        rules.push(rule(&["dkim", "selector"], dns_name(&dkim.selector)).at(i));
    }
    rules
}

/// The optional text values, each with its key and its check.
fn optional_values(file: &ConfigFile) -> Vec<(&'static [&'static str], Option<&str>, Check)> {
    let n = &file.newsletter;
    let u = &file.unsubscribe;
    let smtp = file.smtp.as_ref();
    vec![
        (&["newsletter", "ad_prefix"], n.ad_prefix.as_deref(), |v| {
            one_line(v, 100)
        }),
        (&["newsletter", "list_id"], n.list_id.as_deref(), list_id),
        (
            &["newsletter", "feedback_id"],
            n.feedback_id.as_deref(),
            feedback_id,
        ),
        (&["newsletter", "base_url"], n.base_url.as_deref(), web_url),
        (
            &["newsletter", "postal_address"],
            n.postal_address.as_deref(),
            |v| one_line(v, 300),
        ),
        (&["unsubscribe", "url"], u.url.as_deref(), web_url),
        (&["unsubscribe", "mailto"], u.mailto.as_deref(), mailto),
        (
            &["unsubscribe", "secret_env"],
            u.secret_env.as_deref(),
            env_name,
        ),
        (
            &["smtp", "password_env"],
            smtp.and_then(|s| s.password_env.as_deref()),
            env_name,
        ),
        (
            &["smtp", "username"],
            smtp.and_then(|s| s.username.as_deref()),
            |v| one_line(v, 256),
        ),
    ]
}

type Verdict = std::result::Result<(), (String, &'static str)>;
type Check = fn(&str) -> Verdict;

/// Whether `table` is written as an array of tables (`[[dkim]]`).
fn array_of_tables(source: &str, table: &str) -> bool {
    source
        .parse::<toml_edit::Document<String>>()
        .is_ok_and(|doc| doc.get(table).is_some_and(|t| t.is_array_of_tables()))
}

fn rule(key: &'static [&'static str], verdict: Verdict) -> Rule {
    Rule {
        key,
        index: None,
        verdict,
    }
}

fn float_in(value: f64, min: f64, max: f64, zero_ok: bool) -> Verdict {
    if value.is_finite() && ((zero_ok && value == 0.0) || (min..=max).contains(&value)) {
        return Ok(());
    }
    let zero = if zero_ok { "0 (no limit) or " } else { "" };
    Err((
        format!("{value} is out of range: it must be {zero}from {min} to {max}"),
        "use a plain number in that range",
    ))
}

fn int_in(value: u64, min: u64, max: u64) -> Verdict {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err((
            format!("{value} is out of range: it must be from {min} to {max}"),
            "use a whole number in that range",
        ))
    }
}

/// The grace of scheduled sends. 0 would let a pass send only when it runs
/// at the very second of `send_at`, that is never.
fn grace_minutes(value: u32) -> Verdict {
    match value {
        0 => Err((
            "0 would let no scheduled pass ever send: a pass runs every minute (cron) or every 30 seconds (`serve --schedule`), always a little after the issue's time".into(),
            "write at least 1 (a few minutes if the passes may be late), or remove the line for the default of 60",
        )),
        _ => int_in(u64::from(value), 1, 10_080),
    }
}

/// `[sending] quiet_hours = "21:00-08:00"`: the start and the end, wall
/// clock times of the newsletter's zone; the end may be on the next day.
pub fn parse_quiet_hours(
    value: &str,
) -> std::result::Result<(jiff::civil::Time, jiff::civil::Time), (String, &'static str)> {
    let help = "write the start and the end as HH:MM-HH:MM in the newsletter's time zone, such as \"21:00-08:00\"";
    let time = |part: &str| -> Option<jiff::civil::Time> {
        let (h, m) = part.trim().split_once(':')?;
        let ok = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
        if !ok(h) || !ok(m) {
            return None;
        }
        jiff::civil::Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok()
    };
    let parsed = value
        .split_once('-')
        .and_then(|(a, b)| Some((time(a)?, time(b)?)));
    match parsed {
        Some((start, end)) if start != end => Ok((start, end)),
        Some(_) => Err((
            format!("`{}` starts and ends at the same time", value.escape_debug()),
            "quiet hours need a start and a different end, such as \"21:00-08:00\"; remove the line for none",
        )),
        None => Err((
            format!("`{}` is not a span of hours", value.escape_debug()),
            help,
        )),
    }
}

/// A tag: a word or two on one line, as a reader's tags are.
fn tag_word(value: &str) -> Verdict {
    if value.trim().is_empty() {
        return Err((
            "a tag is empty".into(),
            "write each tag as a word, such as \"weekly\"",
        ));
    }
    one_line(value, 100)
}

/// Text on one line, of bounded length (it reaches headers and pages).
fn one_line(value: &str, max: usize) -> Verdict {
    if value.chars().any(char::is_control) {
        return Err((
            "contains a line break or control character".into(),
            "write the value on one line",
        ));
    }
    if value.chars().count() > max {
        return Err((format!("is longer than {max} characters"), "shorten it"));
    }
    Ok(())
}

/// A value written into a header as it is: printable ASCII, no spaces.
fn header_token(value: &str, max: usize, allowed: &str, header: &str) -> Verdict {
    match value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || allowed.contains(*c)))
    {
        Some(c) => Err((
            format!(
                "`{}` contains {c:?}, which the {header} header cannot carry",
                value.escape_debug()
            ),
            "use letters, digits and . - _ only",
        )),
        None if value.is_empty() || value.len() > max => Err((
            format!("must be 1 to {max} characters"),
            "use letters, digits and . - _ only",
        )),
        None => Ok(()),
    }
}

fn list_id(value: &str) -> Verdict {
    header_token(value, 200, ".-_", "List-Id")
}

fn feedback_id(value: &str) -> Verdict {
    header_token(value, 200, ".-_:", "Feedback-ID")
}

/// A host name or an IP address.
fn host_name(value: &str) -> Verdict {
    if value.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    dns_name(value)
}

/// A DNS name: labels of letters, digits, `-` and `_`, joined by dots.
fn dns_name(value: &str) -> Verdict {
    let good_label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if value.len() <= 253 && value.split('.').all(good_label) {
        Ok(())
    } else {
        Err((
            format!("`{}` is not a DNS name", value.escape_debug()),
            "use a name such as example.com: letters, digits and - between dots (punycode for other scripts)",
        ))
    }
}

/// An `http(s)://` URL that can stand as it is in a header (`<…>`), an
/// HTML attribute and a plain-text line.
fn web_url(value: &str) -> Verdict {
    let help = "use an https:// URL such as https://news.example.com/unsubscribe";
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    let Some(rest) = rest else {
        return Err((
            format!("`{}` is not an http(s) URL", value.escape_debug()),
            help,
        ));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    if let Some(c) = value
        .chars()
        .find(|c| !c.is_ascii_graphic() || "<>\"'\\^`{|}".contains(*c))
    {
        return Err((
            format!(
                "`{}` contains {c:?}, which a URL in a header or page cannot carry",
                value.escape_debug()
            ),
            "percent-encode it",
        ));
    }
    if value.len() > 500
        || (host_name(host).is_err() && !(host.starts_with('[') && host.ends_with(']')))
    {
        return Err((
            format!("`{}` has no valid host", value.escape_debug()),
            help,
        ));
    }
    Ok(())
}

fn mailto(value: &str) -> Verdict {
    match crate::subscribers::parse_address(value) {
        Ok(_) if value.is_ascii() && !value.contains(['?', '&', '%']) => Ok(()),
        Ok(_) => Err((
            format!("`{value}` cannot stand in a mailto: link as it is"),
            "use a plain ASCII address such as unsubscribe@example.com",
        )),
        Err(why) => Err((why, "use a plain address such as unsubscribe@example.com")),
    }
}

/// The VERP base: a plain ASCII address whose local part leaves room for
/// `+` and the tag, and holds no `+` of its own (the tag follows the first).
fn return_path(value: &str) -> Verdict {
    let help = "use a plain address such as bounces@news.example.com";
    let Some((local, domain)) = value.rsplit_once('@') else {
        return Err((
            format!("`{}` is not an address", value.escape_debug()),
            help,
        ));
    };
    let local_ok = !local.is_empty()
        && local.len() + 1 + crate::bounces::TAG_LEN <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !local_ok {
        return Err((
            format!(
                "`{}` cannot take a VERP tag: its local part must be letters, digits, `.`, `-` or `_`, at most {} characters, with no `+`",
                value.escape_debug(),
                63 - crate::bounces::TAG_LEN
            ),
            help,
        ));
    }
    dns_name(domain).map_err(|(why, _)| (why, help))?;
    match crate::subscribers::parse_address(value) {
        Ok(_) => Ok(()),
        Err(why) => Err((why, help)),
    }
}

/// An IANA time zone name the bundled database knows.
fn time_zone(value: &str) -> Verdict {
    match jiff::tz::TimeZone::get(value) {
        Ok(_) => Ok(()),
        Err(_) => Err((
            format!("`{}` is not an IANA time zone name", value.escape_debug()),
            "use a name such as \"Asia/Seoul\", \"Europe/Berlin\" or \"UTC\"",
        )),
    }
}

/// The name of an environment variable.
fn env_name(value: &str) -> Verdict {
    let mut chars = value.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err((
            format!(
                "`{}` is not the name of an environment variable",
                value.escape_debug()
            ),
            "use a name such as LETTERPRESS_UNSUBSCRIBE_SECRET",
        ))
    }
}

/// A light check of `Name <addr>` / `addr`: the full parse happens when a
/// message is built.
fn check_mailbox(value: &str) -> std::result::Result<(), String> {
    if value.contains(['\r', '\n']) {
        return Err("line breaks are not allowed in an address".into());
    }
    let addr = match (value.rfind('<'), value.rfind('>')) {
        (Some(open), Some(close)) if open < close => &value[open + 1..close],
        (None, None) => value.trim(),
        _ => return Err(format!("`{value}` has unbalanced angle brackets")),
    };
    match addr.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && domain.contains('.') && !addr.contains(' ') => {}
        _ => return Err(format!("`{addr}` is not an email address")),
    }
    match lettre::message::Mailbox::from_str(value) {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("`{value}` is not a mailbox ({e})")),
    }
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
