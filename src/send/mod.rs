//! Sending an issue: who gets it ([`plan`]), how it travels ([`Transport`]:
//! the relay over SMTP, or the dry run's files), and the one delivery loop
//! for both ([`run`]): connections in parallel, a global rate limit, retries
//! with backoff, a journal of every outcome, and a stop that lets the
//! messages in flight finish.

mod dryrun;
pub mod journal;
pub mod plan;
pub mod report;
mod signals;
mod smtp;
mod transport;
mod wire;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::ProgressBar;
use lettre::Address;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::config::Config;
use crate::message::{Factory, Purpose};
use crate::subscribers::{changes, identity, stamp, Change, List, Stamp};
pub use dryrun::DryRun;
use journal::{Journal, Outcome, Pending, Record, WriteFailed};
pub use plan::{Plan, Request, Shard};
pub use smtp::Relay;
pub use transport::{Error, Transport};

/// Throughput and retry settings (`[sending]`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Connections in parallel.
    pub concurrency: usize,
    /// Messages per second across all connections; 0 means unlimited.
    pub rate_per_second: f64,
    /// Attempts per reader for temporary failures.
    pub max_attempts: u32,
    /// Messages per connection before reconnecting.
    pub max_per_connection: usize,
    /// The first retry's delay; each further one doubles it.
    pub retry_delay: Duration,
    /// OS threads the connections are spread over (building messages is
    /// the work a dry run spends its time on).
    pub threads: usize,
    /// Whether Ctrl-C and SIGTERM stop the run gracefully.
    pub signals: bool,
}

impl Settings {
    /// `[sending]` for a send through the relay, signals handled. Unsigned,
    /// one thread carries every connection (the relay is the bottleneck);
    /// with `[dkim]`, signing is the work, so the connections are spread
    /// over one thread per core (never more threads than connections).
    pub fn from_config(config: &Config) -> Settings {
        let sending = &config.file.sending;
        let threads = if config.file.dkim.is_empty() {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        };
        Settings {
            concurrency: sending.concurrency.max(1),
            rate_per_second: sending.rate_per_second,
            max_attempts: sending.max_attempts.max(1),
            max_per_connection: sending.max_messages_per_connection.max(1),
            retry_delay: Duration::from_secs_f64(sending.retry_delay_secs.max(0.0)),
            threads: threads.min(sending.concurrency.max(1)),
            signals: true,
        }
    }

    /// A dry run: one writer per core, no rate limit, no retries.
    pub fn dry_run() -> Settings {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Settings {
            concurrency: cores,
            rate_per_second: 0.0,
            max_attempts: 1,
            max_per_connection: usize::MAX,
            retry_delay: Duration::ZERO,
            threads: cores,
            signals: false,
        }
    }
}

/// A reader to deliver to.
#[derive(Debug, Clone)]
pub struct Job {
    /// The address.
    pub address: Address,
    /// The name for `{{ name }}` and the To header.
    pub name: Option<Box<str>>,
    attempts: u32,
}

impl Job {
    /// A reader not yet tried.
    pub fn new(address: Address, name: Option<String>) -> Job {
        Job {
            address,
            name: name.map(String::into_boxed_str),
            attempts: 0,
        }
    }
}

/// The list, looked at again before every message: a reader who
/// unsubscribes (or is marked bounced) while a send runs is not mailed in
/// that run. A look costs two `stat`s. Changes `serve` records in the
/// list's change log are read as they are appended; a list file replaced
/// (an edit, or the log folded in) is read again at most once per
/// [`RELOAD_EVERY`], so a list that changes all the time cannot stall the
/// send with reloads.
pub struct ListWatch {
    path: std::path::PathBuf,
    state: Mutex<Watched>,
}

struct Watched {
    seen: Option<Stamp>,
    reloaded: Option<Instant>,
    /// How much of the change log has been read.
    log: changes::Place,
    stopped: HashSet<String>,
}

/// The shortest time between two reloads of the list during a send.
pub const RELOAD_EVERY: Duration = Duration::from_secs(1);

impl ListWatch {
    /// Watches the list at `path`, as loaded (with its log) for this send.
    pub fn new(path: &std::path::Path) -> ListWatch {
        ListWatch {
            path: path.to_path_buf(),
            state: Mutex::new(Watched {
                seen: stamp(path),
                reloaded: None,
                log: changes::Place::default(),
                stopped: HashSet::new(),
            }),
        }
    }

    /// Whether `address` must not be mailed any more: the list or its log
    /// changed since the send began, and now has it unsubscribed or bounced.
    /// An error when the log cannot be read: the send must then stop
    /// taking readers, since the reader may have left in a change it
    /// cannot see.
    fn stops(&self, address: &Address) -> Result<bool> {
        let now = stamp(&self.path);
        let mut state = self.state.lock().expect("watch");
        let due = state.reloaded.is_none_or(|at| at.elapsed() >= RELOAD_EVERY);
        if state.seen != now && due {
            state.seen = now;
            state.reloaded = Some(Instant::now());
            match List::load(&self.path) {
                Ok(list) => {
                    state.stopped = list.stopped().into_iter().map(str::to_string).collect();
                    // The log may have changed since: read it again below.
                    state.log = changes::Place::default();
                }
                // Keep the last good view; the editor's writes are atomic,
                // so this is a hand edit in progress.
                Err(e) => eprintln!(
                    "warning: cannot read the list again during the send: {}",
                    crate::redact::loggable(&format!("{e:#}"))
                ),
            }
        }
        if log_len(&self.path) > state.log.bytes {
            state.read_log(&self.path)?;
        }
        Ok(!state.stopped.is_empty() && state.stopped.contains(&identity(address.as_ref())))
    }
}

impl Watched {
    /// Reads the changes the log gained since the last look.
    fn read_log(&mut self, path: &std::path::Path) -> Result<()> {
        let gained = changes::read_since(path, &mut self.log).map_err(|e| {
            e.context("cannot read the list's changes during the send, so a reader who left may not be seen: the send stopped taking readers")
        })?;
        for change in gained {
            match change {
                Change::Unsubscribe(leaving) => {
                    self.stopped.insert(identity(&leaving.email));
                }
                Change::Join { reader, .. } => {
                    self.stopped.remove(&identity(&reader.email));
                }
            }
        }
        Ok(())
    }
}

/// The list's change log could not be read during the send: the run
/// stopped taking readers (a [`Stopped::Fatal`] with this error).
#[derive(Debug)]
pub struct ListUnreadable(pub anyhow::Error);

impl std::fmt::Display for ListUnreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for ListUnreadable {}

/// The length of the list's change log; 0 when there is none.
fn log_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(crate::subscribers::changes::log_path(path)).map_or(0, |m| m.len())
}

/// What a delivery run did.
#[derive(Debug, Default)]
pub struct Summary {
    /// Readers the relay accepted.
    pub accepted: usize,
    /// Readers refused permanently, with the reply.
    pub failed: Vec<(String, String)>,
    /// Readers whose temporary failures used up every attempt, with the last reply.
    pub deferred: Vec<(String, String)>,
    /// Readers not attempted because the run was stopped.
    pub remaining: usize,
    /// Readers left out because they unsubscribed (or bounced) during the run.
    pub left_out: Vec<String>,
    /// Connections opened.
    pub connections: usize,
    /// Readers refused in the run of refusals that stopped the send: the
    /// refusals say nothing of them, and none is marked bounced.
    pub refused_in_a_row: Vec<String>,
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

/// What the relay's refusals say of the sender.
#[derive(Debug, Default)]
struct Refusals {
    /// The run's first outcomes, up to [`FIRST`].
    seen: usize,
    /// Of those, refused by the relay.
    refused: usize,
    /// Readers the relay refused since it last accepted one, in the order
    /// the outcomes came in from every connection.
    in_a_row: Vec<String>,
    /// Whether a run of [`REFUSED_IN_A_ROW`] stopped the send (refusals of
    /// messages still in flight then join it).
    stopped: bool,
}

/// Connections that found no relay, in a row.
#[derive(Debug, Default)]
struct Unanswered {
    in_a_row: usize,
    /// Set when the relay is taken for down: the last failure.
    down: Option<String>,
}

struct Queue {
    /// The plan's readers not yet taken, by index: a million readers are
    /// not copied a second time.
    fresh: std::ops::Range<usize>,
    /// Readers handed back by a run that stopped, taken first.
    back: Vec<Job>,
    retries: Vec<(Instant, Job)>,
    in_flight: usize,
}

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
}

/// What a run did and why it ended.
#[derive(Debug)]
pub struct Ran {
    /// The outcomes.
    pub summary: Summary,
    /// Why it ended.
    pub stopped: Stopped,
}

/// Resolves once a record is written to the journal (or the writer gave up).
type Unwritten = tokio::sync::oneshot::Receiver<()>;

/// What the workers share.
struct Shared<'a, T: Transport> {
    jobs: &'a [Job],
    factory: &'a Factory<'a>,
    transport: &'a T,
    settings: &'a Settings,
    purpose: Purpose,
    journal: Option<Mutex<mpsc::Sender<Pending>>>,
    stop: Arc<AtomicBool>,
    wake: Arc<Notify>,
    queue: Mutex<Queue>,
    next_slot: Mutex<Instant>,
    summary: Mutex<Summary>,
    progress: &'a ProgressBar,
    watch: Option<ListWatch>,
    refusals: Mutex<Refusals>,
    unanswered: Mutex<Unanswered>,
}

/// Delivers the plan's messages through `transport`, each reader once,
/// until done or stopped (then the messages in flight finish and the rest
/// stay for the next run). The same loop serves real sends and dry runs.
pub fn run<T: Transport>(
    plan: &Plan,
    factory: &Factory<'_>,
    transport: &T,
    settings: &Settings,
    progress: &ProgressBar,
    subject: &str,
) -> Result<Ran> {
    let stop = Arc::new(AtomicBool::new(false));
    let wake = Arc::new(Notify::new());
    let journal = plan
        .place
        .as_ref()
        .map(|place| open_journal(place, subject, &stop, &wake))
        .transpose()?;
    let shared = Shared {
        jobs: &plan.jobs,
        factory,
        transport,
        settings,
        purpose: plan.purpose,
        journal: journal.as_ref().map(|j| Mutex::new(j.sender())),
        stop: stop.clone(),
        wake: wake.clone(),
        queue: Mutex::new(Queue {
            fresh: 0..plan.jobs.len(),
            back: Vec::new(),
            retries: Vec::new(),
            in_flight: 0,
        }),
        next_slot: Mutex::new(Instant::now()),
        summary: Mutex::new(Summary::default()),
        progress,
        watch: plan.list_path.as_deref().map(ListWatch::new),
        refusals: Mutex::new(Refusals::default()),
        unanswered: Mutex::new(Unanswered::default()),
    };
    let fatal = drive(&shared, settings);
    let Shared {
        journal: sender,
        summary,
        queue,
        refusals,
        unanswered,
        ..
    } = shared;
    let refusals = refusals.into_inner().expect("no worker panicked");
    let unanswered = unanswered.into_inner().expect("no worker panicked");
    drop(sender);
    let mut summary = summary.into_inner().expect("no worker panicked");
    let queue = queue.into_inner().expect("no worker panicked");
    summary.remaining = queue.fresh.len() + queue.back.len() + queue.retries.len();
    let journaled = journal.map_or(Ok(()), Journal::close);
    let stopped = match (fatal?, journaled) {
        _ if refusing_sender(&refusals) => Stopped::SenderRefused {
            refused: refusals.refused,
            of: refusals.seen,
        },
        _ if refusals.stopped => {
            summary.refused_in_a_row = refusals.in_a_row;
            Stopped::RefusedInARow {
                refused: summary.refused_in_a_row.len(),
            }
        }
        (Some(_), _) if unanswered.down.is_some() => Stopped::Unreachable {
            tries: unanswered.in_a_row,
            last: unanswered.down.unwrap_or_default(),
        },
        (Some(e), _) => Stopped::Fatal(e),
        (None, Err(e)) => match e.downcast::<WriteFailed>() {
            Ok(failed) => Stopped::Journal(failed),
            Err(e) => Stopped::Fatal(e),
        },
        (None, Ok(())) if stop.load(Ordering::SeqCst) && summary.remaining > 0 => {
            Stopped::Interrupted
        }
        (None, Ok(())) => Stopped::Finished,
    };
    Ok(Ran { summary, stopped })
}

/// Whether the first outcomes say the relay refuses the sender: 20 of the
/// first 25 refused; in a run of fewer readers, at least 5 refused and
/// four in five.
fn refusing_sender(first: &Refusals) -> bool {
    first.refused >= REFUSED_OF_FIRST
        || (first.seen < FIRST && first.refused >= 5 && first.refused * 5 >= first.seen * 4)
}

/// A send through the relay: [`run`], then, for a send to the list, the
/// relay's permanent refusals applied to the list by the bounce policy
/// ([`crate::bounces::after_send`]). The one path of `send`, scheduled
/// sends and the welcome issue. With the run, the addresses marked bounced,
/// or why they could not be marked (the run's outcome stands either way).
pub fn deliver(
    config: &Config,
    plan: &Plan,
    factory: &Factory<'_>,
    relay: &Relay,
    settings: &Settings,
    progress: &ProgressBar,
) -> Result<(Ran, Result<Vec<String>>)> {
    let ran = run(plan, factory, relay, settings, progress, factory.subject())?;
    let marked = match &plan.place {
        Some(place) => crate::bounces::after_send(config, &ran, place),
        None => Ok(Vec::new()),
    };
    Ok((ran, marked))
}

/// A dry run of the plan into `out` (created when missing): each message
/// as a file. When a file cannot be written the run stops and takes back
/// what it wrote, and says so in the error.
pub fn dry_run(plan: &Plan, factory: &Factory<'_>, out: &std::path::Path) -> Result<Ran> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("{}: cannot create the folder", out.display()))?;
    let files = DryRun::new(out);
    let hidden = ProgressBar::hidden();
    let ran = run(
        plan,
        factory,
        &files,
        &Settings::dry_run(),
        &hidden,
        factory.subject(),
    )?;
    match ran.stopped {
        Stopped::Fatal(e) => Err(e.context(files.take_back())),
        _ => Ok(ran),
    }
}

/// The journal, which stops the run the moment a write fails.
fn open_journal(
    place: &journal::Place,
    subject: &str,
    stop: &Arc<AtomicBool>,
    wake: &Arc<Notify>,
) -> Result<Journal> {
    let (stop, wake) = (stop.clone(), wake.clone());
    Journal::open_watched(
        &place.journal(),
        &journal::header(subject, &place.owner),
        move || {
            stop.store(true, Ordering::SeqCst);
            wake.notify_waiters();
        },
    )
}

/// Runs the workers, spread over `settings.threads` threads with a runtime
/// each; the first fatal error, if any.
fn drive<T: Transport>(
    shared: &Shared<'_, T>,
    settings: &Settings,
) -> Result<Option<anyhow::Error>> {
    let concurrency = settings.concurrency.max(1);
    let threads = settings.threads.clamp(1, concurrency);
    let results: Vec<Result<Vec<Result<()>>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let workers = concurrency / threads + usize::from(t < concurrency % threads);
                let signals = settings.signals && t == 0;
                scope.spawn(move || -> Result<Vec<Result<()>>> {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .context("cannot start the async runtime")?;
                    Ok(runtime.block_on(async {
                        if signals {
                            signals::watch(shared.stop.clone(), shared.wake.clone());
                        }
                        futures_util::future::join_all((0..workers).map(|_| worker(shared))).await
                    }))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a sending thread panicked")))
            })
            .collect()
    });
    let mut fatal = None;
    for result in results {
        for worker in result? {
            if let Err(e) = worker {
                fatal.get_or_insert(e);
            }
        }
    }
    Ok(fatal)
}

async fn worker<T: Transport>(shared: &Shared<'_, T>) -> Result<()> {
    let mut connection: Option<(T::Connection, usize)> = None;
    // The record of this worker's last outcome, until it is written: the
    // next reader waits for it, so no more outcomes than connections are
    // ever unwritten (a journal that fails loses at most those).
    let mut unwritten: Option<Unwritten> = None;
    let result = loop {
        if let Some(written) = unwritten.take() {
            let _ = written.await;
        }
        let Some(mut job) = next_job(shared).await else {
            break Ok(());
        };
        match shared.watch.as_ref().map(|w| w.stops(&job.address)) {
            Some(Ok(true)) => {
                shared.leave_out(&job);
                continue;
            }
            Some(Err(e)) => {
                // Without the list's changes the reader may have left: stop
                // rather than mail from an old view.
                shared.stop.store(true, Ordering::SeqCst);
                shared.queue.lock().expect("queue").back.push(job);
                shared.done_one();
                break Err(ListUnreadable(e).into());
            }
            _ => {}
        }
        shared.acquire_slot().await;
        job.attempts += 1;
        // A message that cannot be built concerns this reader alone: it is
        // refused like a 5xx, and the rest of the list goes on.
        let outcome = match shared
            .factory
            .build(&job.address, job.name.as_deref(), shared.purpose)
        {
            Ok(message) => send_one(shared, &mut connection, &message).await,
            Err(e) => Err(Error::permanent(
                None,
                format!("letterpress cannot build this reader's message: {e:#}"),
            )),
        };
        unwritten = match outcome {
            Ok(reply) => shared.finish(&job, Outcome::Accepted, reply),
            Err(e) if e.is_permanent() => {
                shared.judge(&job, Outcome::Failed, e.code().is_some());
                shared.finish(&job, Outcome::Failed, e.to_string())
            }
            Err(e) if e.is_transient() => shared.retry_or_defer(job, e.to_string()),
            Err(e) => {
                let e = e.into_fatal();
                shared.stop.store(true, Ordering::SeqCst);
                shared.queue.lock().expect("queue").back.push(job);
                shared.done_one();
                break Err(e);
            }
        }
    };
    if let Some((c, _)) = connection {
        shared.transport.close(c).await;
    }
    result
}

/// Sends on the worker's connection, opening a fresh one when there is
/// none or the current one has carried its share. After any failure the
/// connection is dropped, so a retry always starts on a fresh one.
async fn send_one<T: Transport>(
    shared: &Shared<'_, T>,
    connection: &mut Option<(T::Connection, usize)>,
    message: &crate::message::Outgoing,
) -> Result<String, Error> {
    if connection
        .as_ref()
        .is_some_and(|(_, sent)| *sent >= shared.settings.max_per_connection)
    {
        let (old, _) = connection.take().expect("checked");
        shared.transport.close(old).await;
    }
    if connection.is_none() {
        let fresh = match shared.transport.connect().await {
            Err(e) if e.is_transient() && e.code().is_none() => return Err(shared.unanswered(e)),
            // A reply (say 421, too many connections) is an answer.
            answered => {
                shared.unanswered.lock().expect("unanswered").in_a_row = 0;
                answered?
            }
        };
        shared.summary.lock().expect("summary").connections += 1;
        *connection = Some((fresh, 0));
    }
    let (conn, sent) = connection.as_mut().expect("connected above");
    match shared.transport.send(conn, message).await {
        Ok(reply) => {
            *sent += 1;
            Ok(reply)
        }
        Err(failure) => {
            *connection = None;
            Err(failure)
        }
    }
}

/// The next reader: a retry that is due first, then a fresh one; waits
/// while only retries that are not yet due, or messages in flight, remain.
async fn next_job<T: Transport>(shared: &Shared<'_, T>) -> Option<Job> {
    loop {
        // Registered before the queue is looked at, so that a job finishing
        // in between still wakes this worker.
        let notified = shared.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let wait_until = {
            let mut queue = shared.queue.lock().expect("queue");
            if shared.stop.load(Ordering::SeqCst) {
                return None;
            }
            let now = Instant::now();
            if let Some(i) = queue.retries.iter().position(|(due, _)| *due <= now) {
                let (_, job) = queue.retries.swap_remove(i);
                queue.in_flight += 1;
                return Some(job);
            }
            let fresh = queue.back.pop().or_else(|| {
                let next = queue.fresh.next()?;
                Some(shared.jobs[next].clone())
            });
            if let Some(job) = fresh {
                queue.in_flight += 1;
                return Some(job);
            }
            if queue.retries.is_empty() && queue.in_flight == 0 {
                return None;
            }
            queue.retries.iter().map(|(due, _)| *due).min()
        };
        let far = Instant::now() + Duration::from_secs(3600);
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep_until(wait_until.unwrap_or(far)) => {}
        }
    }
}

impl<T: Transport> Shared<'_, T> {
    /// Waits for this message's slot: slots are `1 / rate` apart across all
    /// connections, so N messages take (N − 1) / rate seconds, with no bursts.
    async fn acquire_slot(&self) {
        if self.settings.rate_per_second <= 0.0 {
            return;
        }
        let interval = Duration::from_secs_f64(1.0 / self.settings.rate_per_second);
        let slot = {
            let mut next = self.next_slot.lock().expect("rate");
            let slot = (*next).max(Instant::now());
            *next = slot + interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// Judges an outcome for what it says of the sender (`by_relay`: a
    /// refusal with the relay's reply code, not a message letterpress could
    /// not build); stops the run when the relay refuses the sender: most of
    /// the first readers, or [`REFUSED_IN_A_ROW`] in a row anywhere. Only an
    /// accepted message ends a run of refusals; a deferral says nothing.
    fn judge(&self, job: &Job, outcome: Outcome, by_relay: bool) {
        let refused = outcome == Outcome::Failed && by_relay;
        let mut refusals = self.refusals.lock().expect("refusals");
        if refusals.seen < FIRST {
            refusals.seen += 1;
            refusals.refused += usize::from(refused);
        }
        if refused {
            refusals.in_a_row.push(job.address.to_string());
        } else if outcome == Outcome::Accepted && !refusals.stopped {
            refusals.in_a_row.clear();
        }
        let first = refusals.seen <= FIRST && refusals.refused >= REFUSED_OF_FIRST;
        if first || (refusals.in_a_row.len() >= REFUSED_IN_A_ROW && !refusals.stopped) {
            refusals.stopped |= !first;
            self.stop.store(true, Ordering::SeqCst);
            self.wake.notify_waiters();
        }
    }

    /// Counts a connection that found no relay; the error to go on with:
    /// after [`UNANSWERED_IN_A_ROW`] in a row, one that stops the run.
    fn unanswered(&self, e: Error) -> Error {
        let mut unanswered = self.unanswered.lock().expect("unanswered");
        unanswered.in_a_row += 1;
        if unanswered.in_a_row < UNANSWERED_IN_A_ROW && unanswered.down.is_none() {
            return e;
        }
        let why = e.to_string();
        unanswered.down.get_or_insert(why.clone());
        Error::Fatal(anyhow::anyhow!("{why}"))
    }

    /// Records an outcome; what to wait for until its record is written.
    fn finish(&self, job: &Job, outcome: Outcome, reply: String) -> Option<Unwritten> {
        if outcome != Outcome::Failed {
            self.judge(job, outcome, false);
        }
        let address = job.address.to_string();
        {
            let mut summary = self.summary.lock().expect("summary");
            match outcome {
                Outcome::Accepted => summary.accepted += 1,
                Outcome::Failed => summary.failed.push((address.clone(), reply.clone())),
                Outcome::Deferred => summary.deferred.push((address.clone(), reply.clone())),
            }
        }
        let unwritten = self.journal.as_ref().map(|journal| {
            let (written, unwritten) = tokio::sync::oneshot::channel();
            let record = Record {
                address,
                outcome,
                attempts: job.attempts,
                reply,
            };
            let pending = Pending {
                record,
                written: Some(written),
            };
            // The writer thread only goes away after every sender is dropped.
            let _ = journal.lock().expect("journal").send(pending);
            unwritten
        });
        self.progress.inc(1);
        self.done_one();
        unwritten
    }

    fn leave_out(&self, job: &Job) {
        self.summary
            .lock()
            .expect("summary")
            .left_out
            .push(job.address.to_string());
        self.progress.inc(1);
        self.done_one();
    }

    fn retry_or_defer(&self, job: Job, reply: String) -> Option<Unwritten> {
        if job.attempts >= self.settings.max_attempts.max(1) {
            return self.finish(&job, Outcome::Deferred, reply);
        }
        let delay = backoff(self.settings.retry_delay, job.attempts);
        self.queue
            .lock()
            .expect("queue")
            .retries
            .push((Instant::now() + delay, job));
        self.done_one();
        None
    }

    fn done_one(&self) {
        self.queue.lock().expect("queue").in_flight -= 1;
        self.wake.notify_waiters();
    }
}

/// `base × 2^(attempt − 1)`, capped at ten minutes, with ±50 % jitter so
/// that readers refused together do not come back together.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let exponential = base.saturating_mul(1 << attempt.saturating_sub(1).min(16));
    let capped = exponential.min(Duration::from_secs(600));
    capped.mul_f64(0.5 + fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unsigned, one thread carries the connections; signed, one thread
    /// per core, never more threads than connections.
    #[test]
    fn a_signed_send_spreads_its_connections_over_the_cores() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newsletter.toml");
        let threads = |concurrency: usize, dkim: bool| {
            let mut text = format!("[newsletter]\nname = \"N\"\nfrom = \"N <a@example.com>\"\n\n[subscribers]\nfile = \"s.toml\"\n\n[sending]\nconcurrency = {concurrency}\n");
            if dkim {
                text.push_str("\n[dkim]\ndomain = \"example.com\"\nselector = \"s1\"\nprivate_key_file = \"k.pem\"\n");
            }
            std::fs::write(&path, text).unwrap();
            Settings::from_config(&Config::load(&path).unwrap()).threads
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(threads(4, false), 1);
        assert_eq!(threads(4, true), cores.min(4));
        assert_eq!(threads(64, true), cores.min(64));
        assert_eq!(threads(1, true), 1);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let base = Duration::from_secs(2);
        for attempt in 1..=4 {
            let expected = 2.0 * f64::from(1 << (attempt - 1));
            let d = backoff(base, attempt).as_secs_f64();
            assert!(
                d >= expected * 0.5 && d <= expected * 1.5,
                "attempt {attempt}: {d}"
            );
        }
        assert!(backoff(base, 30) <= Duration::from_secs(900));
    }
}
