//! `[images]`: how a message carries the issue's own images, with its checks.

use serde::Deserialize;

use super::checks::{int_in, rule, Rule};
use super::newsletter::Newsletter;

/// `[images]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Images {
    /// Link the images from `<base_url>/archive/<issue>/img/…` instead of
    /// attaching them to every message.
    #[serde(default)]
    pub host: bool,
    /// `check` warns about a processed image larger than this, KB.
    #[serde(default = "default_max_kb")]
    pub max_kb: u64,
}

impl Default for Images {
    fn default() -> Self {
        Images {
            host: false,
            max_kb: default_max_kb(),
        }
    }
}

fn default_max_kb() -> u64 {
    200
}

impl Images {
    /// Hosted images need the public address they are served at.
    pub(super) fn rules(&self, newsletter: &Newsletter) -> Vec<Rule> {
        let mut rules = vec![rule(&["images", "max_kb"], int_in(self.max_kb, 1, 100_000))];
        if self.host && newsletter.base_url.is_none() {
            rules.push(rule(
                &["images", "host"],
                Err((
                    "host = true needs [newsletter] base_url: messages link the images from <base_url>/archive/<issue>/img/…, which `serve` and `archive --out` publish".into(),
                    "set base_url to the public address of the archive, or set host = false to attach the images",
                )),
            ));
        }
        rules
    }
}
