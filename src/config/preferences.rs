//! `[preferences]`: the reader's own page, served by `serve`.

use serde::Deserialize;

use super::checks::{rule, web_url, Rule};

/// `[preferences]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// The public URL of the page; every message links to it with the
    /// reader's address and a signed token (`{{ preferences_url }}`), and
    /// without them it asks for an address and mails the link.
    pub url: String,
}

impl Preferences {
    pub(super) fn rules(&self) -> Vec<Rule> {
        vec![rule(&["preferences", "url"], web_url(&self.url))]
    }
}
