//! An issue to the list: the one path `send`, the scheduled pass and the
//! welcome issue take. It plans the readers, prepares the issue (click
//! tracking included), sends through the relay and applies the relay's
//! refusals to the list by the bounce policy; what happened comes back
//! typed ([`Dispatched`], [`Sent`]), for callers to print, never to parse.

use anyhow::Result;
use indicatif::ProgressBar;

use crate::compose::Composed;
use crate::message::{run_date, Factory};
use crate::project::Project;
use crate::send::{self, Lane, NoReaders, Plan, Ran, Relay, Selection, Settings};

/// An issue with its readers planned (for a journaled send, holding the
/// issue's send lock until dropped).
pub struct Prepared<'p> {
    /// The config, the issue, its theme and the list.
    pub project: &'p Project,
    /// Who gets it, and what earlier runs did.
    pub plan: Plan,
}

/// How a send runs.
pub struct How<'a> {
    /// Whether Ctrl-C and SIGTERM stop it gracefully (not inside `serve`).
    pub signals: bool,
    /// The progress bar (hidden where nobody watches).
    pub progress: &'a ProgressBar,
}

/// A send through the relay: what the run did, and the relay's refusals
/// applied to the list.
#[derive(Debug)]
pub struct Sent {
    /// The run's outcomes and why it ended.
    pub ran: Ran,
    /// The readers marked bounced for the relay's refusals, or why they
    /// could not be marked (the run's outcome stands either way).
    pub marked: Result<Vec<String>>,
    /// The relays, by name (`host:port` unless named), joined by commas.
    pub relay: String,
}

impl Sent {
    /// Whether every reader got through and the run was not cut short.
    pub fn complete(&self) -> bool {
        self.ran.complete()
    }
}

/// What [`send_issue`] did.
#[derive(Debug)]
pub enum Dispatched {
    /// No reader of the list is in the issue's audience (or the request's
    /// readers): nothing was sent.
    NoReaders(NoReaders),
    /// Every reader was handled by earlier runs: nothing was sent.
    Settled {
        /// Readers refused in earlier runs.
        failed_before: usize,
    },
    /// A run through the relay.
    Sent(Box<Sent>),
}

impl<'p> Prepared<'p> {
    /// Plans the readers of `request`; for a journaled send this takes the
    /// issue's send lock (a [`crate::send::journal::Busy`] error when
    /// another send holds it) and reads what earlier runs did.
    pub fn new(project: &'p Project, request: &Selection<'_>) -> Result<Prepared<'p>> {
        let plan = Plan::new(project, request)?;
        Ok(Prepared { project, plan })
    }

    /// Composes the issue for its readers (links counted when
    /// `[tracking]` says so, signed with `secret`) and hands the factory of
    /// their messages to `then`.
    pub fn compose<T>(
        &self,
        secret: Option<Vec<u8>>,
        then: impl FnOnce(&Factory<'_>) -> Result<T>,
    ) -> Result<T> {
        let p = self.project;
        let issue = crate::tracking::prepare(&p.config, &p.issue, secret.as_deref())?;
        let composed = Composed::new(&p.config, &p.theme, &issue)?;
        let factory = Factory::new(&composed, secret, run_date())?;
        then(&factory)
    }

    /// Sends to the planned readers through the `relays`, then applies the
    /// relays' permanent refusals to the list (for a send to the list).
    pub fn send(
        &self,
        factory: &Factory<'_>,
        relays: &[Lane<Relay>],
        how: &How<'_>,
    ) -> Result<Sent> {
        let settings = Settings {
            signals: how.signals,
            ..Settings::from_config(&self.project.config)
        };
        let ran = send::run(
            &self.plan,
            factory,
            relays,
            &settings,
            how.progress,
            factory.subject(),
        )?;
        let marked = match &self.plan.place {
            Some(place) => crate::bounces::after_send(&self.project.config, &ran, place),
            None => Ok(Vec::new()),
        };
        Ok(Sent {
            ran,
            marked,
            relay: names(relays),
        })
    }
}

/// Sends `project`'s issue to the readers of `request` who have not had
/// it, without asking: plan, prepare, send, apply the refusals.
pub fn send_issue(
    project: &Project,
    request: &Selection<'_>,
    secret: Option<Vec<u8>>,
    how: &How<'_>,
) -> Result<Dispatched> {
    let prepared = match Prepared::new(project, request) {
        Ok(prepared) => prepared,
        Err(e) => {
            return match e.downcast::<NoReaders>() {
                Ok(none) => Ok(Dispatched::NoReaders(none)),
                Err(e) => Err(e),
            }
        }
    };
    if prepared.plan.jobs.is_empty() {
        return Ok(Dispatched::Settled {
            failed_before: prepared.plan.failed_before,
        });
    }
    let relays = Relay::lanes(&project.config)?;
    let sent = prepared.compose(secret, |factory| prepared.send(factory, &relays, how))?;
    Ok(Dispatched::Sent(Box::new(sent)))
}

/// The relays' names, joined by commas.
pub fn names(relays: &[Lane<Relay>]) -> String {
    let names: Vec<&str> = relays.iter().filter_map(|r| r.label.as_deref()).collect();
    names.join(", ")
}
