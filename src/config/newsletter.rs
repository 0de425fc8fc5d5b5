//! `[newsletter]` (who sends what) and `[subscribers]` (where the list
//! lives), with their checks.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;
use toml::Spanned;

use super::checks::{header_token, one_line, present, rule, web_url, Rule, RuleResult};
use super::language::language_tag;
use crate::error::Located;

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

fn default_language() -> String {
    "en".into()
}

fn default_theme() -> String {
    "default".into()
}

impl Newsletter {
    /// The addresses and the language, each at its place in `source`.
    pub(super) fn check(&self, path: &Path, source: &str) -> Vec<Located> {
        let mut found = Vec::new();
        for (field, value) in [
            ("from", Some(&self.from)),
            ("reply_to", self.reply_to.as_ref()),
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
        let lang = &self.language;
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
        found
    }

    /// The name, then the zone and the optional texts that are present.
    pub(super) fn rules(&self) -> Vec<Rule> {
        let mut rules = vec![rule(&["newsletter", "name"], one_line(&self.name, 200))];
        if let Some(zone) = &self.timezone {
            rules.push(rule(&["newsletter", "timezone"], time_zone(zone)));
        }
        rules.extend(present(vec![
            (
                &["newsletter", "ad_prefix"],
                self.ad_prefix.as_deref(),
                |v| one_line(v, 100),
            ),
            (&["newsletter", "list_id"], self.list_id.as_deref(), list_id),
            (
                &["newsletter", "feedback_id"],
                self.feedback_id.as_deref(),
                feedback_id,
            ),
            (
                &["newsletter", "base_url"],
                self.base_url.as_deref(),
                web_url,
            ),
            (
                &["newsletter", "postal_address"],
                self.postal_address.as_deref(),
                |v| one_line(v, 300),
            ),
        ]));
        rules
    }
}

fn list_id(value: &str) -> RuleResult {
    header_token(value, 200, ".-_", "List-Id")
}

fn feedback_id(value: &str) -> RuleResult {
    header_token(value, 200, ".-_:", "Feedback-ID")
}

/// An IANA time zone name the bundled database knows.
fn time_zone(value: &str) -> RuleResult {
    match jiff::tz::TimeZone::get(value) {
        Ok(_) => Ok(()),
        Err(_) => Err((
            format!("`{}` is not an IANA time zone name", value.escape_debug()),
            "use a name such as \"Asia/Seoul\", \"Europe/Berlin\" or \"UTC\"",
        )),
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
