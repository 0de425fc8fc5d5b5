//! `[bounces]`: VERP envelope senders and the bounce policy, with their
//! checks.

use std::path::PathBuf;

use serde::Deserialize;

use super::checks::{dns_name, int_in, rule, Rule, RuleResult};

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

impl Bounces {
    pub(super) fn rules(&self) -> Vec<Rule> {
        let mut rules = vec![
            rule(
                &["bounces", "soft_limit"],
                int_in(u64::from(self.soft_limit), 1, 100),
            ),
            rule(
                &["bounces", "soft_window_days"],
                int_in(u64::from(self.soft_window_days), 1, 3650),
            ),
        ];
        if let Some(base) = &self.return_path {
            rules.push(rule(&["bounces", "return_path"], return_path(base)));
        }
        rules
    }
}

/// The VERP base: a plain ASCII address whose local part leaves room for
/// `+` and the tag, and holds no `+` of its own (the tag follows the first).
fn return_path(value: &str) -> RuleResult {
    let help = "use a plain address such as bounces@news.example.com";
    let Some((local, domain)) = value.rsplit_once('@') else {
        return Err((
            format!("`{}` is not an address", value.escape_debug()),
            help,
        ));
    };
    let local_ok = !local.is_empty()
        && local.len() + 1 + crate::verp::TAG_LEN <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !local_ok {
        return Err((
            format!(
                "`{}` cannot take a VERP tag: its local part must be letters, digits, `.`, `-` or `_`, at most {} characters, with no `+`",
                value.escape_debug(),
                63 - crate::verp::TAG_LEN
            ),
            help,
        ));
    }
    dns_name(domain).map_err(|(why, _)| (why, help))?;
    match crate::address::parse_address(value) {
        Ok(_) => Ok(()),
        Err(why) => Err((why, help)),
    }
}
