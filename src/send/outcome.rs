//! What a send did and why it ended: typed, so that callers print it and
//! act on it without reading its words.

use super::journal::WriteFailed;

/// What a delivery run did.
#[derive(Debug, Default)]
pub struct Summary {
    /// Readers the relay accepted.
    pub accepted: usize,
    /// Readers refused permanently, with the reply.
    pub failed: Vec<Failure>,
    /// Readers whose temporary failures used up every attempt, with the last reply.
    pub deferred: Vec<Failure>,
    /// Readers not attempted because the run was stopped.
    pub remaining: usize,
    /// Readers left out because they unsubscribed, bounced or paused during
    /// the run.
    pub left_out: Vec<String>,
    /// Connections opened.
    pub connections: usize,
    /// Readers refused in the run of refusals that stopped the send: the
    /// refusals say nothing of them, and none is marked bounced.
    pub refused_in_a_row: Vec<String>,
    /// What each relay carried, in the order of the configuration; empty
    /// for a dry run.
    pub relays: Vec<super::Tally>,
}

/// A reader the relay did not take, with its reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The reader's address.
    pub address: String,
    /// The relay's reply code; none when letterpress could not build the
    /// reader's message or the connection dropped without a reply.
    pub code: Option<u16>,
    /// The reply, or why there was none.
    pub reply: String,
}

impl Failure {
    /// Whether the relay refused the reader with a permanent (5xx) reply:
    /// what the bounce policy may act on.
    pub fn refused_by_relay(&self) -> bool {
        self.code.is_some_and(|code| (500..600).contains(&code))
    }
}

/// The first outcomes of a run that tell a relay refusing the sender from
/// a list with dead addresses in it: [`REFUSED_OF_FIRST`] refused of the
/// first [`FIRST`].
pub const FIRST: usize = 25;
/// See [`FIRST`].
pub const REFUSED_OF_FIRST: usize = 20;

/// Permanent refusals in a row, anywhere in a run, that tell a relay which
/// began refusing the sender part way through (its reputation, a quota)
/// from a list with dead addresses in it.
pub const REFUSED_IN_A_ROW: usize = 20;

/// Connections in a row that found no relay (refused, or no greeting
/// within the timeout) that tell a relay which is down: the run stops
/// instead of waiting a timeout for every reader.
pub const UNANSWERED_IN_A_ROW: usize = 3;

/// How a run ended.
#[derive(Debug)]
pub enum Stopped {
    /// Every reader was tried.
    Finished,
    /// Ctrl-C or SIGTERM: the rest stays for the next run.
    Interrupted,
    /// The journal could not be written: the run stopped taking readers.
    Journal(WriteFailed),
    /// Nobody could get through any more (login refused, TLS, a full disk).
    Fatal(anyhow::Error),
    /// The relay refused most of the first readers permanently: it is
    /// refusing the sender, not the readers. The run stopped, and nobody
    /// is marked bounced for it.
    SenderRefused {
        /// Refused of the first outcomes.
        refused: usize,
        /// The first outcomes.
        of: usize,
    },
    /// The relay refused [`REFUSED_IN_A_ROW`] readers or more in a row,
    /// after it had accepted others: it began refusing the sender. The run
    /// stopped, and none of those readers
    /// ([`Summary::refused_in_a_row`]) is marked bounced.
    RefusedInARow {
        /// Refused in a row.
        refused: usize,
    },
    /// [`UNANSWERED_IN_A_ROW`] connections in a row found no relay: it is
    /// down or unreachable, and the run stopped.
    Unreachable {
        /// Connections that failed in a row.
        tries: usize,
        /// Why the last one failed.
        last: String,
    },
    /// Every relay was out at once (cooling down after failures, refusing
    /// the sender, or failing TLS or the login): the run stopped, and
    /// nobody is marked bounced for it.
    RelaysOut {
        /// Each relay that was out, with why.
        relays: Vec<(String, String)>,
    },
}

/// What a run did and why it ended.
#[derive(Debug)]
pub struct Ran {
    /// The outcomes.
    pub summary: Summary,
    /// Why it ended.
    pub stopped: Stopped,
}

impl Summary {
    /// Whether no reader was refused or left deferred.
    pub fn all_delivered(&self) -> bool {
        self.failed.is_empty() && self.deferred.is_empty()
    }
}

impl Ran {
    /// Whether the run finished with every reader delivered.
    pub fn complete(&self) -> bool {
        matches!(self.stopped, Stopped::Finished) && self.summary.all_delivered()
    }
}

impl std::fmt::Display for Stopped {
    /// Why a run ended, in one line without the resume command (the send
    /// summary, the scheduled pass and the welcome issue all say it so).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stopped::Finished => f.write_str("every reader was tried"),
            Stopped::Interrupted => f.write_str("interrupted"),
            Stopped::Journal(e) => write!(f, "{e}"),
            Stopped::Fatal(e) => write!(f, "{e:#}"),
            Stopped::SenderRefused { refused, of } => write!(
                f,
                "the relay refused {refused} of the first {of} readers (it refuses the sender)"
            ),
            Stopped::RefusedInARow { refused } => write!(
                f,
                "the relay refused {refused} readers in a row (it refuses the sender)"
            ),
            Stopped::RelaysOut { relays } => {
                f.write_str("every relay was out: ")?;
                let each: Vec<String> = relays
                    .iter()
                    .map(|(r, why)| format!("{r} ({why})"))
                    .collect();
                f.write_str(&each.join("; "))
            }
            Stopped::Unreachable { tries, last } => write!(
                f,
                "the relay did not answer {tries} connections in a row ({last})"
            ),
        }
    }
}
