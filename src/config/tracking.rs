//! `[tracking]`: aggregate click counts, off unless asked for, with its
//! check.

use serde::Deserialize;

use super::checks::{rule, Rule};
use super::newsletter::Newsletter;

/// `[tracking]`: what letterpress counts about an issue beyond delivery.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tracking {
    /// Count clicks per link (never per reader) through `serve`.
    #[serde(default)]
    pub clicks: bool,
}

impl Tracking {
    /// Counted links need the newsletter's public address.
    pub(super) fn rules(&self, newsletter: &Newsletter) -> Vec<Rule> {
        if !self.clicks || newsletter.base_url.is_some() {
            return Vec::new();
        }
        vec![rule(
            &["tracking", "clicks"],
            Err((
                "clicks = true needs [newsletter] base_url: counted links go to <base_url>/c/…, which `serve` answers".into(),
                "set base_url to the public address of `serve`, or set clicks = false",
            )),
        )]
    }
}
