//! The consent mails (`[consent]`), sent by each scheduled pass (`schedule
//! run`, `serve --schedule`): a result notice after a reader's consent or
//! withdrawal, and a reminder of their consent every `remind_every_days`.
//!
//! Each mail is journaled like an issue's (`state_dir/consent/
//! consent.journal`, written as the relay answers), then recorded in the
//! list as `consent_notified_at` through the change log. Which mail a
//! reader is due is decided from both ([`crate::list::ConsentMail`]): a
//! pass killed at any moment and run again mails nobody twice, beyond the
//! one message the relay may have taken as the process died. One pass at a
//! time: the others leave the work to it.

use anyhow::{anyhow, Context, Result};
use jiff::{SignedDuration, Timestamp};

use crate::config::Config;
use crate::list::{changes, Change, ConsentMail, Entry, List};
use crate::send::journal::{self, Journal, Lock, Outcome, Record};
use crate::send::{Error, Relay, ServiceRelay, Transport};
use crate::signup::confirm::{Confirmer, Letter};
use crate::words::{consent_words, fill};

/// Mails one pass sends at most; the rest wait for the next pass.
pub const PER_PASS: usize = 2_000;

/// What a pass of the consent mails did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Mailed {
    /// Result notices the relay accepted.
    pub notices: usize,
    /// Reminders the relay accepted.
    pub reminders: usize,
    /// Mails the relay refused for good (not tried again).
    pub refused: usize,
    /// Mails still due: deferred by the relay, or beyond [`PER_PASS`].
    pub left: usize,
    /// Why the pass stopped early, if it did.
    pub stopped: Option<String>,
}

impl Mailed {
    /// Whether the pass had anything to say.
    pub fn is_empty(&self) -> bool {
        *self == Mailed::default()
    }
}

/// The readers due a consent mail at `now`, in list order; none when
/// `[consent]` is off.
pub fn due(config: &Config, list: &List, now: Timestamp) -> Result<Vec<(Entry, ConsentMail)>> {
    let Some((days, notify)) = config.consent() else {
        return Ok(Vec::new());
    };
    let every = SignedDuration::from_hours(i64::from(days) * 24);
    let settled = journal::settled_times(&config.consent_dir())?;
    Ok(list.consent_due(every, notify, now, &settled))
}

/// One pass: mails every reader who is due (at most [`PER_PASS`]); nothing
/// when `[consent]` is off or another pass holds the lock.
pub fn pass(config: &Config, now: Timestamp) -> Result<Mailed> {
    if config.consent().is_none() {
        return Ok(Mailed::default());
    }
    let dir = config.consent_dir();
    let _lock = match Lock::take(&dir.join("consent.lock")) {
        Ok(lock) => lock,
        Err(e) if e.downcast_ref::<journal::Busy>().is_some() => return Ok(Mailed::default()),
        Err(e) => return Err(e),
    };
    let list_path = config.list_path();
    let list = List::load(&list_path)?;
    let mut due = due(config, &list, now)?;
    if due.is_empty() {
        return Ok(Mailed::default());
    }
    let mut mailed = Mailed {
        left: due.len().saturating_sub(PER_PASS),
        ..Mailed::default()
    };
    due.truncate(PER_PASS);
    let secret = crate::message::secret::secret_from_env(config)?;
    let letters = Letters {
        config,
        builder: Confirmer::new(config)?,
        secret: secret.as_deref(),
    };
    let journal = Journal::open(
        &dir.join("consent.journal"),
        "letterpress journal of the consent mails (result notices and reminders)",
    )?;
    let relay = Relay::service(config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let notified = runtime.block_on(deliver(&relay, &letters, &journal, &due, &mut mailed));
    journal.close()?;
    let changes: Vec<Change> = notified
        .into_iter()
        .map(|(email, at)| {
            Change::Preferences(changes::Preferences {
                email,
                at,
                tags: None,
                name: None,
                paused_until: None,
                consent_notified_at: Some(Some(at)),
            })
        })
        .collect();
    changes::record(&list_path, &changes)?;
    Ok(mailed)
}

/// Sends each mail over one connection (opened again once when it
/// breaks), journaling each answer; the readers accepted, with when.
async fn deliver(
    relay: &ServiceRelay,
    letters: &Letters<'_>,
    journal: &Journal,
    due: &[(Entry, ConsentMail)],
    mailed: &mut Mailed,
) -> Vec<(String, Timestamp)> {
    let mut accepted = Vec::new();
    let mut open = None;
    for (index, (entry, mail)) in due.iter().enumerate() {
        let stop = |mailed: &mut Mailed, why: String| {
            mailed.left += due.len() - index;
            mailed.stopped = Some(why);
        };
        let outgoing = match letters.mail(entry, *mail) {
            Ok(outgoing) => outgoing,
            Err(e) => {
                stop(mailed, format!("{e:#}"));
                break;
            }
        };
        let sent = match send_one(relay, &mut open, &outgoing).await {
            Ok(sent) => sent,
            Err(why) => {
                stop(mailed, why);
                break;
            }
        };
        let (outcome, reply) = match sent {
            Ok(reply) => (Outcome::Accepted, reply),
            Err(Error::Permanent { reply, .. }) => (Outcome::Failed, reply),
            Err(_) => {
                // The relay rests; the next mail goes to the next one.
                if let Some(connection) = open.take() {
                    relay.close(connection).await;
                }
                mailed.left += 1;
                continue;
            }
        };
        let record = Record::new(entry.email().to_string(), outcome, 1, reply);
        if !journal.append(&record) {
            stop(mailed, "the consent journal cannot be written".into());
            break;
        }
        match outcome {
            Outcome::Accepted if mail.is_reminder() => mailed.reminders += 1,
            Outcome::Accepted => mailed.notices += 1,
            _ => mailed.refused += 1,
        }
        if outcome == Outcome::Accepted {
            accepted.push((entry.email().to_string(), changes::now()));
        }
    }
    if let Some(connection) = open {
        relay.close(connection).await;
    }
    accepted
}

/// Hands one message to the relay, connecting first when needed (twice at
/// most); the relay's answer, or why nothing more can be sent.
async fn send_one(
    relay: &ServiceRelay,
    open: &mut Option<<ServiceRelay as Transport>::Connection>,
    outgoing: &crate::message::Outgoing,
) -> Result<Result<String, Error>, String> {
    for _ in 0..2 {
        let connection = match open {
            Some(connection) => connection,
            None => match relay.connect().await {
                Ok(connection) => open.insert(connection),
                Err(e) => return Err(format!("the relay {}: {e}", relay.name())),
            },
        };
        match relay.send(connection, outgoing).await {
            Err(Error::Fatal(e)) => return Err(format!("{e:#}")),
            Err(Error::Transient { code: None, .. }) => *open = None,
            answer => return Ok(answer),
        }
    }
    Err(format!("the connection to {} keeps breaking", relay.name()))
}

/// Builds the consent mails of one newsletter.
struct Letters<'a> {
    config: &'a Config,
    builder: Confirmer,
    secret: Option<&'a [u8]>,
}

impl Letters<'_> {
    /// The mail `mail` to the reader of `entry`.
    fn mail(&self, entry: &Entry, mail: ConsentMail) -> Result<crate::message::Outgoing> {
        let newsletter = self.config.newsletter();
        let w = consent_words(&newsletter.language);
        let zone = self.config.time_zone();
        let date = |at: Timestamp| {
            at.to_zoned(zone.clone())
                .strftime("%Y-%m-%d %H:%M %Z")
                .to_string()
        };
        let say = |text: &str, at: Timestamp, how: &str| {
            fill(text, &newsletter.name, "")
                .replace("{date}", &date(at))
                .replace("{how}", how)
        };
        let how = match entry.source() {
            Some("form") => w.how_form,
            Some("cli") => w.how_cli,
            Some("import") => w.how_import,
            _ => w.how_other,
        };
        let (subject, mut paragraphs) = match mail {
            ConsentMail::Consented(at) => (
                say(w.consented_subject, at, how),
                vec![say(w.consented_body, at, how)],
            ),
            ConsentMail::Withdrew(at) => (
                say(w.withdrew_subject, at, how),
                vec![say(w.withdrew_body, at, how)],
            ),
            ConsentMail::Reminder { agreed, .. } => (
                say(w.reminder_subject, agreed, how),
                vec![say(w.reminder_body, agreed, how)],
            ),
        };
        let button = match mail {
            ConsentMail::Withdrew(_) => None,
            _ => {
                paragraphs.push(w.reminder_keep.to_string());
                Some((w.leave_button.to_string(), self.leave_link(entry.email())?))
            }
        };
        let to = entry
            .address()
            .ok_or_else(|| anyhow!("line {}: not an address a mail can carry", entry.line))?;
        self.builder.letter(
            &to,
            &Letter {
                purpose: "consent",
                subject,
                paragraphs,
                button,
                footnote: w.footnote.to_string(),
                attachment: None,
            },
        )
    }

    /// The reader's way out: the signed unsubscribe link, or the mailto.
    fn leave_link(&self, email: &str) -> Result<String> {
        let unsubscribe = &self.config.file.unsubscribe;
        match (&unsubscribe.url, &unsubscribe.mailto, self.secret) {
            (Some(url), _, Some(secret)) => {
                let join = if url.contains('?') { '&' } else { '?' };
                Ok(format!(
                    "{url}{join}e={}&t={}",
                    crate::percent::encode(email),
                    crate::sign::token(secret, email)
                ))
            }
            (_, Some(mailto), _) => Ok(format!("mailto:{mailto}?subject=unsubscribe")),
            (Some(_), None, None) => Err(anyhow!(
                "the unsubscribe secret is not set, so the consent mails cannot carry a signed way out\n  help: export {} (the same value `send` and `serve` use)",
                crate::message::secret::secret_env_name(self.config)
            )),
            (None, None, _) => Err(anyhow!("[unsubscribe] has neither url nor mailto")),
        }
    }
}
