//! `[consent]`: the mails Korean law asks of a sender of advertising
//! (정보통신망법 제50조 제7항·제8항, 시행령 제62조의2·제62조의3): a result
//! notice after each consent and withdrawal, and a reminder of the consent
//! every two years. On by default for a newsletter in Korean.

use serde::Deserialize;

use super::checks::{int_in, rule, Rule};

/// `[consent]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    /// On or off; unset: on for a newsletter in Korean.
    pub enabled: Option<bool>,
    /// Days between reminders of a reader's consent (default 730: the
    /// law's two years).
    pub remind_every_days: Option<u32>,
    /// Mail a result notice after a consent or a withdrawal (default on).
    pub notify_changes: Option<bool>,
}

/// The law's two years.
pub const DEFAULT_REMIND_EVERY_DAYS: u32 = 730;

impl Consent {
    pub(super) fn rules(&self) -> Vec<Rule> {
        match self.remind_every_days {
            Some(days) => vec![rule(
                &["consent", "remind_every_days"],
                int_in(u64::from(days), 60, 3650),
            )],
            None => Vec::new(),
        }
    }
}
