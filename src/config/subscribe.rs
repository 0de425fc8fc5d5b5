//! `[unsubscribe]` (how readers leave) and `[subscribe]` (the sign-up
//! form, with double opt-in), with their checks.

use std::path::PathBuf;

use serde::Deserialize;

use super::checks::{env_name, int_in, one_line, present, rule, web_url, Rule, RuleResult};

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
    /// The `[[topics]]` a reader who ticks none gets (all topics when
    /// unset); each must be the tag of a topic.
    pub default_topics: Option<Vec<String>>,
}

fn default_per_client() -> u32 {
    10
}

impl Unsubscribe {
    pub(super) fn rules(&self) -> Vec<Rule> {
        present(vec![
            (&["unsubscribe", "url"], self.url.as_deref(), web_url),
            (&["unsubscribe", "mailto"], self.mailto.as_deref(), mailto),
            (
                &["unsubscribe", "secret_env"],
                self.secret_env.as_deref(),
                env_name,
            ),
        ])
    }
}

impl Subscribe {
    pub(super) fn rules(&self) -> Vec<Rule> {
        let mut rules = vec![
            rule(&["subscribe", "url"], web_url(&self.url)),
            rule(
                &["subscribe", "per_client_per_hour"],
                int_in(u64::from(self.per_client_per_hour), 1, 100_000),
            ),
        ];
        for tag in &self.tags {
            rules.push(rule(&["subscribe", "tags"], tag_word(tag)));
        }
        if let Some(welcome) = &self.welcome {
            let text = welcome.to_string_lossy();
            rules.push(rule(&["subscribe", "welcome"], one_line(&text, 300)));
        }
        rules
    }
}

fn mailto(value: &str) -> RuleResult {
    match crate::address::parse_address(value) {
        Ok(_) if value.is_ascii() && !value.contains(['?', '&', '%']) => Ok(()),
        Ok(_) => Err((
            format!("`{value}` cannot stand in a mailto: link as it is"),
            "use a plain ASCII address such as unsubscribe@example.com",
        )),
        Err(why) => Err((why, "use a plain address such as unsubscribe@example.com")),
    }
}

/// A tag: a word or two on one line, as a reader's tags are.
pub(super) fn tag_word(value: &str) -> RuleResult {
    if value.trim().is_empty() {
        return Err((
            "a tag is empty".into(),
            "write each tag as a word, such as \"weekly\"",
        ));
    }
    one_line(value, 100)
}
