//! One reader of a loaded list, kept compact: a million of them fit in
//! about a hundred megabytes. The strings of an entry share one
//! allocation, and entries with the same tags share one tag list.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use lettre::Address;

use super::{identity, Status, Subscriber};
use crate::address::is_own_identity;

/// The flags of [`Entry::has`].
const NAME: u8 = 1;
const SUBSCRIBED_AT: u8 = 2;
const SOURCE: u8 = 4;
const VALID: u8 = 8;
const UNSUBSCRIBED_AT: u8 = 16;
const PAUSED_UNTIL: u8 = 32;
const CONSENT_NOTIFIED_AT: u8 = 64;

/// How many text parts an entry keeps before its identity key.
const PARTS: usize = 7;

/// A reader with the line of its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line of the `[[subscriber]]` table; 0 for a reader who
    /// joined through the change log since the list was last compacted.
    pub line: usize,
    /// The email, then the name, `subscribed_at`, `source`,
    /// `unsubscribed_at`, `paused_until`, `consent_notified_at` and, when
    /// it is not the email itself, the [`identity`] key.
    text: Box<str>,
    /// Where the email, name, `subscribed_at`, `source`,
    /// `unsubscribed_at`, `paused_until` and `consent_notified_at` end in
    /// `text`.
    ends: [u32; PARTS],
    tags: Arc<[String]>,
    status: Status,
    has: u8,
}

impl Entry {
    /// An entry for `subscriber`; `valid` says whether it passed
    /// [`super::validate`]. Tag lists are shared through `tags`.
    pub(super) fn new(line: usize, subscriber: Fields<'_>, valid: bool, tags: &mut Tags) -> Entry {
        let key = match is_own_identity(subscriber.email) {
            true => String::new(),
            false => identity(subscriber.email),
        };
        let mut text = String::with_capacity(subscriber.len() + key.len());
        let mut ends = [0u32; PARTS];
        let mut has = if valid { VALID } else { 0 };
        let parts = [
            (Some(subscriber.email), 0),
            (subscriber.name, NAME),
            (subscriber.subscribed_at, SUBSCRIBED_AT),
            (subscriber.source, SOURCE),
            (subscriber.unsubscribed_at, UNSUBSCRIBED_AT),
            (subscriber.paused_until, PAUSED_UNTIL),
            (subscriber.consent_notified_at, CONSENT_NOTIFIED_AT),
        ];
        for (i, (part, flag)) in parts.into_iter().enumerate() {
            if let Some(part) = part {
                text.push_str(part);
                has |= flag;
            }
            // An entry is at most a few kilobytes: the file is split into
            // tables and each is bounded by what a line may hold.
            ends[i] = u32::try_from(text.len()).unwrap_or(u32::MAX);
        }
        if !key.is_empty() && key != subscriber.email {
            text.push_str(&key);
        }
        Entry {
            line,
            text: text.into_boxed_str(),
            ends,
            tags: tags.intern(subscriber.tags),
            status: subscriber.status,
            has,
        }
    }

    fn part(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.text
            .get(start..self.ends[i] as usize)
            .unwrap_or_default()
    }

    /// The address as written.
    pub fn email(&self) -> &str {
        self.part(0)
    }

    /// The display name.
    pub fn name(&self) -> Option<&str> {
        (self.has & NAME != 0).then(|| self.part(1))
    }

    /// When the reader joined or last confirmed, as written.
    pub fn subscribed_at(&self) -> Option<&str> {
        (self.has & SUBSCRIBED_AT != 0).then(|| self.part(2))
    }

    /// How the reader joined, as written.
    pub fn source(&self) -> Option<&str> {
        (self.has & SOURCE != 0).then(|| self.part(3))
    }

    /// When the reader left, as written.
    pub fn unsubscribed_at(&self) -> Option<&str> {
        (self.has & UNSUBSCRIBED_AT != 0).then(|| self.part(4))
    }

    /// `unsubscribed_at` as a point in time, when it is set and valid.
    pub fn left(&self) -> Option<jiff::Timestamp> {
        self.unsubscribed_at()?.parse().ok()
    }

    /// Until when the reader asked for no issues, as written.
    pub fn paused_until(&self) -> Option<&str> {
        (self.has & PAUSED_UNTIL != 0).then(|| self.part(5))
    }

    /// When the reader was last mailed about their consent (a result
    /// notice or a reminder), as written.
    pub fn consent_notified_at(&self) -> Option<&str> {
        (self.has & CONSENT_NOTIFIED_AT != 0).then(|| self.part(6))
    }

    /// The end of the reader's pause when it is still to come at `now`:
    /// a send skips them. A pause that has passed is none.
    pub fn paused(&self, now: jiff::Timestamp) -> Option<jiff::Timestamp> {
        let until: jiff::Timestamp = self.paused_until()?.parse().ok()?;
        (until > now).then_some(until)
    }

    /// The address's [`identity`], computed once at load.
    pub fn key(&self) -> &str {
        let end = self.ends[PARTS - 1] as usize;
        match self.text.get(end..) {
            Some(key) if !key.is_empty() => key,
            _ => self.email(),
        }
    }

    /// The tags.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// Active, unsubscribed or bounced.
    pub fn status(&self) -> Status {
        self.status
    }

    /// Whether the entry passed validation: only valid entries are mailed.
    pub fn is_valid(&self) -> bool {
        self.has & VALID != 0
    }

    /// The parsed address; `None` when the entry is invalid.
    pub fn address(&self) -> Option<Address> {
        if !self.is_valid() {
            return None;
        }
        Address::from_str(self.email()).ok()
    }

    /// `subscribed_at` as a point in time, when it is set and valid.
    pub fn joined(&self) -> Option<jiff::Timestamp> {
        self.subscribed_at()?.parse().ok()
    }

    /// The entry as the file's structure.
    pub fn subscriber(&self) -> Subscriber {
        Subscriber {
            email: self.email().to_string(),
            name: self.name().map(str::to_string),
            status: self.status,
            tags: self.tags.to_vec(),
            subscribed_at: self.subscribed_at().map(str::to_string),
            source: self.source().map(str::to_string),
            unsubscribed_at: self.unsubscribed_at().map(str::to_string),
            paused_until: self.paused_until().map(str::to_string),
            consent_notified_at: self.consent_notified_at().map(str::to_string),
        }
    }
}

/// The fields of one entry, borrowed from wherever they were read.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    /// The address.
    pub email: &'a str,
    /// Display name.
    pub name: Option<&'a str>,
    /// active, unsubscribed or bounced.
    pub status: Status,
    /// Tags.
    pub tags: &'a [String],
    /// RFC 3339 consent time.
    pub subscribed_at: Option<&'a str>,
    /// How the reader joined.
    pub source: Option<&'a str>,
    /// When the reader left.
    pub unsubscribed_at: Option<&'a str>,
    /// Until when the reader asked for no issues.
    pub paused_until: Option<&'a str>,
    /// When the reader was last mailed about their consent.
    pub consent_notified_at: Option<&'a str>,
}

impl<'a> Fields<'a> {
    /// The fields of `subscriber`.
    pub fn of(subscriber: &'a Subscriber) -> Fields<'a> {
        Fields {
            email: &subscriber.email,
            name: subscriber.name.as_deref(),
            status: subscriber.status,
            tags: &subscriber.tags,
            subscribed_at: subscriber.subscribed_at.as_deref(),
            source: subscriber.source.as_deref(),
            unsubscribed_at: subscriber.unsubscribed_at.as_deref(),
            paused_until: subscriber.paused_until.as_deref(),
            consent_notified_at: subscriber.consent_notified_at.as_deref(),
        }
    }

    fn len(&self) -> usize {
        [
            self.name,
            self.subscribed_at,
            self.source,
            self.unsubscribed_at,
            self.paused_until,
            self.consent_notified_at,
        ]
        .iter()
        .map(|p| p.map_or(0, str::len))
        .sum::<usize>()
            + self.email.len()
    }
}

/// Readers whose pause lasts past a moment: how many, and until when at
/// the latest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Paused {
    /// How many readers.
    pub readers: usize,
    /// The latest end of their pauses.
    pub until: Option<jiff::Timestamp>,
}

impl Paused {
    /// Counts one more reader, paused until `until`.
    pub fn add(&mut self, until: jiff::Timestamp) {
        self.readers += 1;
        self.until = self.until.max(Some(until));
    }

    /// `2 readers paused (until 2027-01-15 at the latest)`; none when no
    /// reader is.
    pub fn describe(&self) -> Option<String> {
        let until = self.until?;
        let day = until.strftime("%Y-%m-%d");
        Some(match self.readers {
            1 => format!("1 reader paused (until {day})"),
            n => format!("{n} readers paused (until {day} at the latest)"),
        })
    }
}

/// The distinct tag lists of a list: most readers share a handful.
#[derive(Debug, Default)]
pub struct Tags {
    seen: HashMap<Vec<String>, Arc<[String]>>,
}

/// Beyond this many distinct tag lists, new ones are not remembered (each
/// entry then keeps its own): a bound on the table, not on the list.
const MAX_TAG_SETS: usize = 10_000;

impl Tags {
    fn intern(&mut self, tags: &[String]) -> Arc<[String]> {
        if let Some(shared) = self.seen.get(tags) {
            return Arc::clone(shared);
        }
        let shared: Arc<[String]> = tags.into();
        if self.seen.len() < MAX_TAG_SETS {
            self.seen.insert(tags.to_vec(), Arc::clone(&shared));
        }
        shared
    }
}
