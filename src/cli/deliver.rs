//! `letterpress send ISSUE` over SMTP: resume from the journal, confirm,
//! deliver with a progress bar, summarise, map the outcome to an exit code.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::Notify;

use super::send::Reader;
use super::SendArgs;
use crate::compose::Composed;
use crate::config::Config;
use crate::deliver::journal::{self, Journal, Outcome, Place};
use crate::deliver::{deliver, Job, ListWatch, Relay, Settings, Summary};
use crate::message::{Factory, Purpose};
use crate::subscribers::List;

/// Delivers to `readers`; `list` is set for a send to the list (journaled),
/// `None` for a test send.
pub fn run(
    config: &Config,
    composed: &Composed<'_>,
    factory: &Factory<'_>,
    readers: Vec<Reader>,
    list: Option<&List>,
    args: &SendArgs,
) -> Result<u8> {
    let relay = Relay::from_config(config)?;
    let sending = &config.file.sending;
    let settings = Settings {
        concurrency: sending.concurrency.max(1),
        rate_per_second: sending.rate_per_second,
        max_attempts: sending.max_attempts.max(1),
        max_per_connection: sending.max_messages_per_connection.max(1),
        retry_delay: Duration::from_secs_f64(sending.retry_delay_secs.max(0.0)),
    };
    let purpose = if list.is_some() {
        Purpose::List
    } else {
        Purpose::Test
    };
    let place = list.map(|_| {
        Place::new(
            config.resolve(&config.file.sending.state_dir),
            &config.project_dir,
            &composed.issue.dir,
            args.shard.map(|s| (s.index, s.count)),
        )
    });
    let _locks = place.as_ref().map(Place::lock).transpose()?;
    let state = match &place {
        Some(place) => place.state()?,
        None => journal::State::new(),
    };

    let (mut accepted_before, mut failed_before) = (0, 0);
    let mut jobs: Vec<Job> = Vec::with_capacity(readers.len());
    for (address, name) in readers {
        match state
            .get(&crate::subscribers::identity(AsRef::<str>::as_ref(
                &address,
            )))
            .map(|r| r.outcome)
        {
            Some(Outcome::Accepted) => accepted_before += 1,
            Some(Outcome::Failed) if !args.retry_failed => failed_before += 1,
            _ => jobs.push(Job::new(address, name)),
        }
    }
    if let Some(limit) = args.limit {
        jobs.truncate(limit);
    }
    if accepted_before + failed_before > 0 {
        println!(
            "Resuming: {accepted_before} reader{} already accepted, {failed_before} failed permanently earlier{}.",
            plural(accepted_before),
            if failed_before > 0 { " (--retry-failed tries them again)" } else { "" }
        );
    }
    if jobs.is_empty() {
        println!("Nothing to send: every reader of this issue has been handled.");
        return Ok(if failed_before > 0 { 2 } else { 0 });
    }
    confirm(composed.subject(), jobs.len(), &relay.name(), args.yes)?;

    let stop = Arc::new(AtomicBool::new(false));
    let wake = Arc::new(Notify::new());
    let journal = match &place {
        Some(place) => {
            let (stop, wake) = (stop.clone(), wake.clone());
            Some(Journal::open_watched(
                &place.journal(),
                &journal::header(composed.subject(), &place.owner),
                move || {
                    stop.store(true, Ordering::SeqCst);
                    wake.notify_waiters();
                },
            )?)
        }
        None => None,
    };
    let total = jobs.len();
    let progress = progress_bar(total);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let watch = list.map(|list| ListWatch::new(&list.path));
    let summary = runtime.block_on(async {
        watch_signals(stop.clone(), wake.clone());
        deliver(
            factory,
            &relay,
            &settings,
            jobs,
            purpose,
            journal.as_ref().map(Journal::sender),
            &stop,
            &wake,
            &progress,
            watch.as_ref(),
        )
        .await
    });
    progress.finish_and_clear();
    let journaled = journal.map_or(Ok(()), Journal::close);
    let summary = summary?;
    let interrupted = stop.load(Ordering::SeqCst) && summary.remaining > 0;
    report(
        &summary,
        composed.subject(),
        &relay.name(),
        accepted_before,
        failed_before,
    );
    if let Some(place) = &place {
        println!("Journal: {}", place.journal().display());
    }
    if let Err(e) = journaled {
        // Every outcome not on disk is a reader the next run may mail
        // again, so the run stopped at once; the rest are still to send.
        eprintln!("error: {e:#}");
        eprintln!(
            "{} reader{} not sent yet. Once the journal can be written again (free space on its disk), resume with:\n  {}",
            summary.remaining,
            plural(summary.remaining),
            resume_command(config, args)
        );
        return Ok(2);
    }
    if interrupted {
        eprintln!(
            "Interrupted: {} reader{} not sent yet. Resume with:\n  {}",
            summary.remaining,
            plural(summary.remaining),
            resume_command(config, args)
        );
        return Ok(130);
    }
    Ok(
        if summary.failed.is_empty() && summary.deferred.is_empty() {
            0
        } else {
            2
        },
    )
}

/// Asks before a real send; without a terminal `--yes` is required.
fn confirm(subject: &str, readers: usize, relay: &str, yes: bool) -> Result<()> {
    let question = format!(
        "Send \"{subject}\" to {readers} reader{} through {relay}?",
        plural(readers)
    );
    if yes {
        println!("{question} yes (--yes)");
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!("{question}\nThere is no terminal to confirm on.\n  help: pass --yes to send without asking");
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        bail!("not sent: the send was not confirmed")
    }
}

fn progress_bar(total: usize) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    let style = ProgressStyle::with_template("{bar:30} {pos}/{len} sent · {rate} · ETA {eta}")
        .expect("a valid template")
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.1} messages/s", state.per_sec());
            },
        );
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// First Ctrl-C (or SIGTERM): stop taking readers, let the messages in
/// flight finish. Second: quit at once.
fn watch_signals(stop: Arc<AtomicBool>, wake: Arc<Notify>) {
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let terminated = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminated => {}
        }
        stop.store(true, Ordering::SeqCst);
        wake.notify_waiters();
        eprintln!("\nStopping: the messages in flight finish and the journal is saved. Ctrl-C again quits at once.");
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("Quit at once; the journal holds every outcome known so far. Rerun the same send to resume.");
            std::process::exit(130);
        }
    });
}

fn report(
    summary: &Summary,
    subject: &str,
    relay: &str,
    accepted_before: usize,
    failed_before: usize,
) {
    println!(
        "Sent \"{subject}\" through {relay}: {} accepted, {} failed, {} deferred, {} not attempted; skipped {} accepted and {} failed in earlier runs; {} connection{}.",
        summary.accepted,
        summary.failed.len(),
        summary.deferred.len(),
        summary.remaining,
        accepted_before,
        failed_before,
        summary.connections,
        plural(summary.connections),
    );
    if !summary.left_out.is_empty() {
        println!("Left out: unsubscribed or bounced while the send ran:");
        for address in &summary.left_out {
            println!("  {address}");
        }
    }
    if !summary.failed.is_empty() {
        println!("Refused permanently (not retried; --retry-failed tries again):");
        for (address, reply) in &summary.failed {
            println!("  {address}: {reply}");
        }
    }
    if !summary.deferred.is_empty() {
        println!("Temporary failures on every attempt (the next run tries again):");
        for (address, reply) in &summary.deferred {
            println!("  {address}: {reply}");
        }
    }
}

fn resume_command(config: &Config, args: &SendArgs) -> String {
    let mut command = format!(
        "letterpress --config {} send {}",
        config.path.display(),
        args.issue.display()
    );
    if let Some(shard) = args.shard {
        command.push_str(&format!(" --shard {}/{}", shard.index, shard.count));
    }
    for tag in &args.tag {
        command.push_str(&format!(" --tag {tag}"));
    }
    command.push_str(" --yes");
    command
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
