//! Which consent mail a reader is due (`[consent]`): a result notice after
//! a consent or a withdrawal, within [`NOTICE_WITHIN`] of it, and a
//! reminder each time `every` has passed since they agreed. What was
//! already mailed is the later of the entry's `consent_notified_at` and
//! what the consent journals say (`done`), so a run killed between the
//! relay's answer and the list's change mails nobody twice.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};

use super::{Entry, Status};

/// A result notice is only sent this soon after the change (the law asks
/// for one within 14 days).
pub const NOTICE_WITHIN: SignedDuration = SignedDuration::from_hours(14 * 24);

/// A consent mail a reader is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentMail {
    /// The result notice of a consent given at this time.
    Consented(Timestamp),
    /// The result notice of a withdrawal at this time.
    Withdrew(Timestamp),
    /// The reminder of the consent given at `agreed`, due since `since`.
    Reminder {
        /// When the reader agreed.
        agreed: Timestamp,
        /// When this cycle's reminder fell due.
        since: Timestamp,
    },
}

impl ConsentMail {
    /// Whether it is a reminder (else a result notice).
    pub fn is_reminder(self) -> bool {
        matches!(self, ConsentMail::Reminder { .. })
    }
}

impl super::List {
    /// Every reader due a consent mail at `now`, in list order, with
    /// `settled` the journals' last consent mail to each (by identity).
    pub fn consent_due(
        &self,
        every: SignedDuration,
        notify: bool,
        now: Timestamp,
        settled: &HashMap<String, Timestamp>,
    ) -> Vec<(Entry, ConsentMail)> {
        self.entries
            .iter()
            .filter_map(|entry| {
                let done = settled.get(entry.key()).copied();
                Some((entry.clone(), entry.consent_mail(every, notify, now, done)?))
            })
            .collect()
    }
}

impl Entry {
    /// The consent mail this reader is due at `now`, if any: reminders
    /// every `every`, notices when `notify`; `done` is when the journals
    /// last settled a consent mail to them.
    pub fn consent_mail(
        &self,
        every: SignedDuration,
        notify: bool,
        now: Timestamp,
        done: Option<Timestamp>,
    ) -> Option<ConsentMail> {
        if !self.is_valid() {
            return None;
        }
        let listed = self.consent_notified_at().and_then(|at| at.parse().ok());
        let done = listed.max(done);
        let fresh = |at: Timestamp| at <= now && now.duration_since(at) <= NOTICE_WITHIN;
        let after_done = |at: Timestamp| done.is_none_or(|done| done < at);
        match self.status() {
            Status::Active => {
                let agreed = self.joined()?;
                let confirmed = matches!(self.source(), Some("form" | "cli"));
                if notify && confirmed && fresh(agreed) && after_done(agreed) {
                    return Some(ConsentMail::Consented(agreed));
                }
                let every_s = every.as_secs().max(1);
                let cycles = now.duration_since(agreed).as_secs() / every_s;
                if cycles < 1 {
                    return None;
                }
                let since = agreed
                    .checked_add(SignedDuration::from_secs(cycles * every_s))
                    .ok()?;
                after_done(since).then_some(ConsentMail::Reminder { agreed, since })
            }
            Status::Unsubscribed => {
                let left = self.left()?;
                (notify && fresh(left) && after_done(left)).then_some(ConsentMail::Withdrew(left))
            }
            // A bounced address gets nothing: nobody would read it.
            Status::Bounced => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::list::List;

    fn entry(fields: &str) -> Entry {
        let text = format!("[[subscriber]]\nemail = \"a@example.com\"\n{fields}\n");
        let list = List::parse(std::path::Path::new("s.toml"), &text).unwrap();
        list.entries[0].clone()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn notices_follow_changes_and_reminders_each_cycle_once() {
        let every = SignedDuration::from_hours(730 * 24);
        let now = at("2026-12-04T00:00:00Z");
        let joined = entry("subscribed_at = \"2026-12-03T10:00:00Z\"\nsource = \"form\"");
        assert_eq!(
            joined.consent_mail(every, true, now, None),
            Some(ConsentMail::Consented(at("2026-12-03T10:00:00Z")))
        );
        assert_eq!(joined.consent_mail(every, false, now, None), None);
        assert_eq!(
            joined.consent_mail(every, true, now, Some(at("2026-12-03T10:01:00Z"))),
            None
        );
        let imported = entry("subscribed_at = \"2026-12-03T10:00:00Z\"\nsource = \"import\"");
        assert_eq!(imported.consent_mail(every, true, now, None), None);
        let left = entry("status = \"unsubscribed\"\nunsubscribed_at = \"2026-12-01T00:00:00Z\"");
        assert_eq!(
            left.consent_mail(every, true, now, None),
            Some(ConsentMail::Withdrew(at("2026-12-01T00:00:00Z")))
        );
        let long_ago =
            entry("status = \"unsubscribed\"\nunsubscribed_at = \"2026-10-01T00:00:00Z\"");
        assert_eq!(long_ago.consent_mail(every, true, now, None), None);
        let bounced = entry("status = \"bounced\"\nsubscribed_at = \"2020-01-01T00:00:00Z\"");
        assert_eq!(bounced.consent_mail(every, true, now, None), None);

        let old = entry("subscribed_at = \"2022-01-01T00:00:00Z\"\nsource = \"form\"");
        let due = old.consent_mail(every, true, now, None).unwrap();
        // Two cycles have passed: the reminder of the second is due.
        assert_eq!(
            due,
            ConsentMail::Reminder {
                agreed: at("2022-01-01T00:00:00Z"),
                since: at("2025-12-31T00:00:00Z")
            }
        );
        let reminded = entry("subscribed_at = \"2022-01-01T00:00:00Z\"\nconsent_notified_at = \"2026-01-02T00:00:00Z\"");
        assert_eq!(reminded.consent_mail(every, true, now, None), None);
        let young = entry("subscribed_at = \"2025-06-01T00:00:00Z\"\nsource = \"form\"");
        assert_eq!(young.consent_mail(every, true, now, None), None);
        assert_eq!(entry("").consent_mail(every, true, now, None), None);
    }
}
