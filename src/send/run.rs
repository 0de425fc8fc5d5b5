//! The one delivery loop for the relay and the dry run: connections in
//! parallel, a global rate limit, retries with backoff, a journal of every
//! outcome, and a stop that lets the messages in flight finish.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::ProgressBar;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::journal::{self, Journal, Outcome, Record, WriteFailed};
use super::outcome::{
    Failure, Ran, Stopped, Summary, FIRST, REFUSED_IN_A_ROW, REFUSED_OF_FIRST, UNANSWERED_IN_A_ROW,
};
use super::relays::{Board, Lane, Signal, Tally, Turn};
use super::watch::{ListUnreadable, ListWatch};
use super::{signals, Error, Job, Plan, Settings, Transport};
use crate::message::{Factory, Purpose};

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

impl Queue {
    /// A queue of `readers` fresh readers.
    fn of(readers: usize) -> Queue {
        Queue {
            fresh: 0..readers,
            back: Vec::new(),
            retries: Vec::new(),
            in_flight: 0,
        }
    }
}

/// What the workers share.
struct Shared<'a, T: Transport> {
    jobs: &'a [Job],
    factory: &'a Factory<'a>,
    lanes: &'a [Lane<T>],
    settings: &'a Settings,
    purpose: Purpose,
    journal: Option<&'a Journal>,
    stop: Arc<AtomicBool>,
    wake: Arc<Notify>,
    queue: Mutex<Queue>,
    next_slot: Mutex<Instant>,
    summary: Mutex<Summary>,
    progress: &'a ProgressBar,
    watch: Option<ListWatch>,
    refusals: Mutex<Refusals>,
    unanswered: Mutex<Unanswered>,
    /// How the lanes stand: in, cooling down, out for the run.
    board: Mutex<Board>,
    /// Each lane's next free slot under its own rate.
    lane_slots: Mutex<Vec<Instant>>,
    /// What each lane carried.
    tallies: Mutex<Vec<Tally>>,
    /// Set when every lane was out at once: why each was.
    all_out: Mutex<Option<Vec<(String, String)>>>,
}

/// Delivers the plan's messages through the `lanes` (the relays, or the
/// dry run's files), each reader once, until done or stopped (then the
/// messages in flight finish and the rest stay for the next run). The same
/// loop serves real sends and dry runs.
pub fn run<T: Transport>(
    plan: &Plan,
    factory: &Factory<'_>,
    lanes: &[Lane<T>],
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
    let shared = Shared::new(
        plan,
        factory,
        lanes,
        settings,
        progress,
        journal.as_ref(),
        &stop,
        &wake,
    );
    let fatal = drive(&shared, settings);
    let (mut summary, ending) = shared.into_parts();
    let journaled = journal.map_or(Ok(()), Journal::close);
    let stopped = match ending.all_out {
        Some(relays) => Stopped::RelaysOut { relays },
        None => ended(
            fatal?,
            journaled,
            ending.refusals,
            ending.unanswered,
            ending.interrupted,
            &mut summary,
        ),
    };
    Ok(Ran { summary, stopped })
}

/// What decides why a run ended, once its workers did.
struct Ending {
    all_out: Option<Vec<(String, String)>>,
    refusals: Refusals,
    unanswered: Unanswered,
    interrupted: bool,
}

impl<'a, T: Transport> Shared<'a, T> {
    /// What the workers of a run share, nothing done yet.
    #[allow(clippy::too_many_arguments)]
    fn new(
        plan: &'a Plan,
        factory: &'a Factory<'a>,
        lanes: &'a [Lane<T>],
        settings: &'a Settings,
        progress: &'a ProgressBar,
        journal: Option<&'a Journal>,
        stop: &Arc<AtomicBool>,
        wake: &Arc<Notify>,
    ) -> Self {
        Shared {
            jobs: &plan.jobs,
            factory,
            lanes,
            settings,
            purpose: plan.purpose,
            journal,
            stop: stop.clone(),
            wake: wake.clone(),
            queue: Mutex::new(Queue::of(plan.jobs.len())),
            next_slot: Mutex::new(Instant::now()),
            summary: Mutex::new(Summary::default()),
            progress,
            watch: plan.list_path.as_deref().map(ListWatch::new),
            refusals: Mutex::new(Refusals::default()),
            unanswered: Mutex::new(Unanswered::default()),
            board: Mutex::new(Board::new(lanes, settings.cooldown)),
            lane_slots: Mutex::new(vec![Instant::now(); lanes.len()]),
            tallies: Mutex::new(tallies(lanes)),
            all_out: Mutex::new(None),
        }
    }

    /// Once the workers ended: the summary, with what was left and what
    /// each relay carried, and what decides why the run ended.
    fn into_parts(self) -> (Summary, Ending) {
        let interrupted = self.stop.load(Ordering::SeqCst);
        let done = "no worker panicked";
        let mut summary = self.summary.into_inner().expect(done);
        let queue = self.queue.into_inner().expect(done);
        summary.remaining = queue.fresh.len() + queue.back.len() + queue.retries.len();
        summary.relays = self.tallies.into_inner().expect(done);
        summary.relays.retain(|t| !t.label.is_empty());
        let ending = Ending {
            all_out: self.all_out.into_inner().expect(done),
            refusals: self.refusals.into_inner().expect(done),
            unanswered: self.unanswered.into_inner().expect(done),
            interrupted,
        };
        (summary, ending)
    }
}

/// Why a run ended, from what stopped its workers (`fatal`), how its
/// journal closed, and what the relay's answers said of the sender.
fn ended(
    fatal: Option<anyhow::Error>,
    journaled: Result<()>,
    refusals: Refusals,
    unanswered: Unanswered,
    interrupted: bool,
    summary: &mut Summary,
) -> Stopped {
    match (fatal, journaled) {
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
        (None, Ok(())) if interrupted && summary.remaining > 0 => Stopped::Interrupted,
        (None, Ok(())) => Stopped::Finished,
    }
}

/// Whether the first outcomes say the relay refuses the sender: 20 of the
/// first 25 refused; in a run of fewer readers, at least 5 refused and
/// four in five.
fn refusing_sender(first: &Refusals) -> bool {
    first.refused >= REFUSED_OF_FIRST
        || (first.seen < FIRST && first.refused >= 5 && first.refused * 5 >= first.seen * 4)
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

/// What each lane carried, empty to begin with; a lane without a label
/// (a dry run's) is left out of the summary.
fn tallies<T>(lanes: &[Lane<T>]) -> Vec<Tally> {
    lanes
        .iter()
        .map(|l| Tally {
            label: l.label.clone().unwrap_or_default(),
            ..Tally::default()
        })
        .collect()
}

/// Runs the workers, each lane's connections in turn spread over
/// `settings.threads` threads with a runtime each; the first fatal error,
/// if any.
fn drive<T: Transport>(
    shared: &Shared<'_, T>,
    settings: &Settings,
) -> Result<Option<anyhow::Error>> {
    // Worker w belongs to the lane at w in this list: one per connection.
    let workers: Vec<usize> = shared
        .lanes
        .iter()
        .enumerate()
        .flat_map(|(i, lane)| std::iter::repeat_n(i, lane.concurrency.max(1)))
        .collect();
    let threads = settings.threads.clamp(1, workers.len().max(1));
    let results: Vec<Result<Vec<Result<()>>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mine: Vec<usize> = workers.iter().skip(t).step_by(threads).copied().collect();
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
                        let each = mine.iter().map(|&lane| worker(shared, lane));
                        futures_util::future::join_all(each).await
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

async fn worker<T: Transport>(shared: &Shared<'_, T>, lane: usize) -> Result<()> {
    let mut connection: Option<(T::Connection, usize)> = None;
    // The lane's count of times taken out when the connection was opened.
    let mut opened_at = 0;
    let result = loop {
        let Some(mut job) = next_job(shared, lane).await else {
            break Ok(());
        };
        let outs = shared.board.lock().expect("board").outs(lane);
        if outs != opened_at {
            // Idle while the lane was out: the relay may have closed it.
            if let Some((stale, _)) = connection.take() {
                shared.lanes[lane].transport.close(stale).await;
            }
            opened_at = outs;
        }
        match shared.watch.as_ref().map(|w| w.stops(&job.address)) {
            Some(Ok(true)) => {
                shared.leave_out(&job);
                continue;
            }
            Some(Err(e)) => {
                // Without the list's changes the reader may have left: stop
                // rather than mail from an old view.
                break Err(shared.stop_with(job, ListUnreadable(e).into()));
            }
            _ => {}
        }
        shared.acquire_slot(lane).await;
        job.attempts += 1;
        // A message that cannot be built concerns this reader alone: it is
        // refused like a 5xx, and the rest of the list goes on.
        let started = Instant::now();
        let outcome = match shared
            .factory
            .build(&job.address, job.name.as_deref(), shared.purpose)
        {
            Ok(message) => send_one(shared, lane, &mut connection, &message).await,
            Err(e) => Err(Error::permanent(
                None,
                format!("letterpress cannot build this reader's message: {e:#}"),
            )),
        };
        if let Err(e) = shared.settle(lane, job, outcome, started) {
            break Err(e);
        }
    };
    if let Some((c, _)) = connection {
        shared.lanes[lane].transport.close(c).await;
    }
    result
}

/// Sends on the worker's connection to its lane's relay, opening a fresh
/// one when there is none or the current one has carried its share. After
/// any failure the connection is dropped, so a retry always starts on a
/// fresh one.
async fn send_one<T: Transport>(
    shared: &Shared<'_, T>,
    lane: usize,
    connection: &mut Option<(T::Connection, usize)>,
    message: &crate::message::Outgoing,
) -> Result<String, Error> {
    let transport = &shared.lanes[lane].transport;
    if connection
        .as_ref()
        .is_some_and(|(_, sent)| *sent >= shared.settings.max_per_connection)
    {
        let (old, _) = connection.take().expect("checked");
        transport.close(old).await;
    }
    if connection.is_none() {
        let several = shared.lanes.len() > 1;
        let fresh = match transport.connect().await {
            // With several relays, the lane's standing judges it instead.
            Err(e) if e.is_transient() && e.code().is_none() && !several => {
                return Err(shared.unanswered(e))
            }
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
    match transport.send(conn, message).await {
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

/// The next reader for a worker of `lane`: a retry that is due first, then
/// one handed back, then a fresh one, leaving to the other lanes the
/// readers this one failed while another is in. Waits while the lane is
/// cooling down or ahead of its weight's share, and while only retries
/// that are not yet due, or messages in flight, remain.
async fn next_job<T: Transport>(shared: &Shared<'_, T>, lane: usize) -> Option<Job> {
    loop {
        // Registered before the queue is looked at, so that a job finishing
        // in between still wakes this worker.
        let notified = shared.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let now = Instant::now();
        let (turn, others) = {
            let mut board = shared.board.lock().expect("board");
            (board.turn(lane, now), board.another_in(lane, now))
        };
        if turn == Turn::Done {
            return None;
        }
        let mine = |job: &Job| job.avoid != Some(lane) || !others;
        let wait_until = {
            let mut queue = shared.queue.lock().expect("queue");
            if shared.stop.load(Ordering::SeqCst) {
                return None;
            }
            if turn == Turn::Take {
                if let Some(job) = take(&mut queue, shared.jobs, now, mine) {
                    queue.in_flight += 1;
                    drop(queue);
                    shared.board.lock().expect("board").took(lane);
                    return Some(job);
                }
            }
            let empty = queue.fresh.is_empty() && queue.back.is_empty();
            if empty && queue.retries.is_empty() && queue.in_flight == 0 {
                return None;
            }
            let due = queue.retries.iter().map(|(due, _)| *due).min();
            match turn {
                Turn::Wait(until) => until,
                _ => due,
            }
        };
        // Woken by a finished reader, a lane taken out, or the time; at
        // least once a second in case a lane's standing changed unseen.
        let until = wait_until.map_or(now + Duration::from_secs(1), |t| {
            t.min(now + Duration::from_secs(1))
        });
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep_until(until) => {}
        }
    }
}

/// Takes the first reader that is `mine`: a due retry, then one handed
/// back, then a fresh one.
fn take(queue: &mut Queue, jobs: &[Job], now: Instant, mine: impl Fn(&Job) -> bool) -> Option<Job> {
    if let Some(i) = queue
        .retries
        .iter()
        .position(|(due, job)| *due <= now && mine(job))
    {
        return Some(queue.retries.swap_remove(i).1);
    }
    if let Some(i) = queue.back.iter().rposition(&mine) {
        return Some(queue.back.remove(i));
    }
    let next = queue.fresh.next()?;
    Some(jobs[next].clone())
}

impl<T: Transport> Shared<'_, T> {
    /// Waits for this message's slot: slots are `1 / rate` apart across all
    /// connections, so N messages take (N − 1) / rate seconds, with no
    /// bursts; then, for a lane with a rate of its own, for its slot.
    async fn acquire_slot(&self, lane: usize) {
        if self.settings.rate_per_second > 0.0 {
            let slot = next_slot(
                &mut self.next_slot.lock().expect("rate"),
                self.settings.rate_per_second,
            );
            tokio::time::sleep_until(slot).await;
        }
        let rate = self.lanes[lane].rate_per_second;
        if rate > 0.0 {
            let slot = next_slot(&mut self.lane_slots.lock().expect("rate")[lane], rate);
            tokio::time::sleep_until(slot).await;
        }
    }

    /// Acts on one attempt's outcome: on the lane's standing, in the
    /// summary and the journal, and back in the queue when another relay
    /// may carry the reader. An error stops the worker and the run.
    fn settle(
        &self,
        lane: usize,
        job: Job,
        outcome: Result<String, Error>,
        started: Instant,
    ) -> Result<()> {
        let several = self.lanes.len() > 1;
        let signal = match &outcome {
            Ok(_) | Err(Error::Permanent { code: Some(_), .. }) => Some(Signal::Answered),
            Err(Error::Permanent { .. }) => None,
            Err(Error::Transient { code: Some(_), .. }) => Some(Signal::Deferred),
            Err(Error::Transient { .. }) => Some(Signal::NoAnswer),
            Err(e @ Error::Sender { .. }) => Some(Signal::RefusesSender(e.to_string())),
            Err(Error::Fatal(e)) if several => Some(Signal::Broken(format!("{e:#}"))),
            Err(Error::Fatal(_)) => None,
        };
        if let Some(signal) = signal {
            self.record(lane, signal);
        }
        match outcome {
            Ok(reply) => {
                let ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
                self.finish(lane, &job, Outcome::Accepted, reply, None, Some(ms));
            }
            Err(e) if e.is_permanent() => {
                self.judge(&job, Outcome::Failed, e.code().is_some());
                self.finish(lane, &job, Outcome::Failed, e.to_string(), e.code(), None);
            }
            Err(e) if e.is_transient() => {
                self.tallies.lock().expect("tallies")[lane].deferrals += 1;
                self.fail_over_or_retry(lane, job, e);
            }
            // The relay, not the reader: another lane carries them, or the
            // next run does (a refused sender stops a send through one
            // relay: every lane is out).
            Err(Error::Sender { .. }) => self.hand_back_from(lane, job),
            Err(Error::Fatal(_)) if several => self.hand_back_from(lane, job),
            Err(e) => return Err(self.stop_with(job, e.into_fatal())),
        }
        Ok(())
    }

    /// A temporary failure: with several relays the reader goes to another
    /// one, at once and without spending an attempt when the relay itself
    /// failed (no answer, or `421`); else it is retried after a backoff.
    fn fail_over_or_retry(&self, lane: usize, mut job: Job, e: Error) {
        if self.lanes.len() > 1 {
            job.avoid = Some(lane);
            let relay_failed = matches!(e.code(), None | Some(421));
            let others = self
                .board
                .lock()
                .expect("board")
                .another_in(lane, Instant::now());
            if relay_failed && others && job.hops < MAX_HOPS {
                job.attempts -= 1;
                job.hops += 1;
                return self.hand_back(job);
            }
        }
        self.retry_or_defer(job, e.to_string(), e.code())
    }

    /// Records what lane `lane` said of itself; when that takes it out,
    /// says why in its tally, wakes the lanes that wait on it (fallbacks)
    /// and, when every lane is out, stops the run.
    fn record(&self, lane: usize, signal: Signal) {
        let now = Instant::now();
        let mut board = self.board.lock().expect("board");
        let Some(why) = board.record(lane, signal, now) else {
            return;
        };
        self.tallies.lock().expect("tallies")[lane].out = Some(why);
        if board.all_out(now) {
            let relays = board
                .why_out()
                .into_iter()
                .map(|(i, why)| (self.label(i), why))
                .collect();
            *self.all_out.lock().expect("all out") = Some(relays);
            self.stop.store(true, Ordering::SeqCst);
        }
        self.wake.notify_waiters();
    }

    /// A lane's name in messages.
    fn label(&self, lane: usize) -> String {
        let lane = &self.lanes[lane];
        lane.label.clone().unwrap_or_else(|| lane.transport.name())
    }

    /// Hands back a reader whose attempt the relay of `lane` spoiled, the
    /// attempt not counted.
    fn hand_back_from(&self, lane: usize, mut job: Job) {
        job.attempts -= 1;
        job.avoid = Some(lane);
        self.hand_back(job);
    }

    /// Hands a reader back for another lane (or the next run), taken
    /// before the fresh ones.
    fn hand_back(&self, job: Job) {
        self.queue.lock().expect("queue").back.push(job);
        self.done_one();
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

    /// Records an outcome: in the summary and the lane's tally, and in the
    /// journal with one `write` (a failed write stops the run through the
    /// journal's watch).
    fn finish(
        &self,
        lane: usize,
        job: &Job,
        outcome: Outcome,
        reply: String,
        code: Option<u16>,
        accept_ms: Option<u32>,
    ) {
        if outcome != Outcome::Failed {
            self.judge(job, outcome, false);
        }
        let address = job.address.to_string();
        {
            let mut summary = self.summary.lock().expect("summary");
            match outcome {
                Outcome::Accepted => summary.accepted += 1,
                Outcome::Failed => summary.failed.push(failure(&address, code, &reply)),
                Outcome::Deferred => summary.deferred.push(failure(&address, code, &reply)),
            }
        }
        {
            let mut tallies = self.tallies.lock().expect("tallies");
            let tally = &mut tallies[lane];
            match outcome {
                Outcome::Accepted => {
                    tally.accepted += 1;
                    tally.accept_ms.extend(accept_ms);
                }
                Outcome::Failed => tally.failed += 1,
                Outcome::Deferred => {}
            }
        }
        if let Some(journal) = self.journal {
            journal.append(&Record {
                address,
                outcome,
                attempts: job.attempts,
                reply,
                relay: self.lanes[lane].label.clone(),
                accept_ms,
            });
        }
        self.progress.inc(1);
        self.done_one();
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

    fn retry_or_defer(&self, job: Job, reply: String, code: Option<u16>) {
        if job.attempts >= self.settings.max_attempts.max(1) {
            let lane = job.avoid.unwrap_or(0);
            return self.finish(lane, &job, Outcome::Deferred, reply, code, None);
        }
        let delay = backoff(self.settings.retry_delay, job.attempts);
        self.queue
            .lock()
            .expect("queue")
            .retries
            .push((Instant::now() + delay, job));
        self.done_one();
    }

    /// Stops the run for `why`, handing `job` back for the next run.
    fn stop_with(&self, job: Job, why: anyhow::Error) -> anyhow::Error {
        self.stop.store(true, Ordering::SeqCst);
        self.queue.lock().expect("queue").back.push(job);
        self.done_one();
        why
    }

    fn done_one(&self) {
        self.queue.lock().expect("queue").in_flight -= 1;
        self.wake.notify_waiters();
    }
}

/// The next slot under `rate` messages per second, moving `next` on.
fn next_slot(next: &mut Instant, rate: f64) -> Instant {
    let interval = Duration::from_secs_f64(1.0 / rate);
    let slot = (*next).max(Instant::now());
    *next = slot + interval;
    slot
}

/// How many times a reader may be handed to another relay without an
/// attempt counted.
const MAX_HOPS: u8 = 8;

fn failure(address: &str, code: Option<u16>, reply: &str) -> Failure {
    Failure {
        address: address.to_string(),
        code,
        reply: reply.to_string(),
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
