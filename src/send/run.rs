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
    transport: &'a T,
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
        journal: journal.as_ref(),
        stop: stop.clone(),
        wake: wake.clone(),
        queue: Mutex::new(Queue::of(plan.jobs.len())),
        next_slot: Mutex::new(Instant::now()),
        summary: Mutex::new(Summary::default()),
        progress,
        watch: plan.list_path.as_deref().map(ListWatch::new),
        refusals: Mutex::new(Refusals::default()),
        unanswered: Mutex::new(Unanswered::default()),
    };
    let fatal = drive(&shared, settings);
    let Shared {
        summary,
        queue,
        refusals,
        unanswered,
        ..
    } = shared;
    let refusals = refusals.into_inner().expect("no worker panicked");
    let unanswered = unanswered.into_inner().expect("no worker panicked");
    let mut summary = summary.into_inner().expect("no worker panicked");
    let queue = queue.into_inner().expect("no worker panicked");
    summary.remaining = queue.fresh.len() + queue.back.len() + queue.retries.len();
    let journaled = journal.map_or(Ok(()), Journal::close);
    let interrupted = stop.load(Ordering::SeqCst);
    let stopped = ended(
        fatal?,
        journaled,
        refusals,
        unanswered,
        interrupted,
        &mut summary,
    );
    Ok(Ran { summary, stopped })
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
    let result = loop {
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
                break Err(shared.stop_with(job, ListUnreadable(e).into()));
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
        // Each outcome is in the journal (one `write`) before the worker
        // takes its next reader.
        match outcome {
            Ok(reply) => shared.finish(&job, Outcome::Accepted, reply, None),
            Err(e) if e.is_permanent() => {
                shared.judge(&job, Outcome::Failed, e.code().is_some());
                shared.finish(&job, Outcome::Failed, e.to_string(), e.code())
            }
            Err(e) if e.is_transient() => shared.retry_or_defer(job, e.to_string(), e.code()),
            Err(e) => break Err(shared.stop_with(job, e.into_fatal())),
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

    /// Records an outcome: in the summary, and in the journal with one
    /// `write` (a failed write stops the run through the journal's watch).
    fn finish(&self, job: &Job, outcome: Outcome, reply: String, code: Option<u16>) {
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
        if let Some(journal) = self.journal {
            journal.append(&Record {
                address,
                outcome,
                attempts: job.attempts,
                reply,
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
            return self.finish(&job, Outcome::Deferred, reply, code);
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
