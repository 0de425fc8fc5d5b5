//! `letterpress send ISSUE`: to the list, to test addresses, or
//! `--dry-run` into files. Wiring only: load, check, plan, confirm, run,
//! report.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Result};

use super::Exit;
use crate::args::SendArgs;
use crate::check::{check_issue, Scope};
use crate::dispatch::{How, Prepared};
use crate::message::{secret, Factory};
use crate::project::Project;
use crate::send::report::{dry_run_summary, how_to_go_on, progress_bar, resume_command, summary};
use crate::send::{self, Ran, Relay, Selection, Stopped};
use crate::text::plural;

/// Checks the issue, plans the readers, composes, then writes or sends.
pub fn run(config_path: &std::path::Path, args: &SendArgs) -> Result<Exit> {
    let project = Project::load(config_path, &args.issue)?;
    let secret = secret::secret_for_links(&project.config)?;
    preflight(&project, args)?;
    let prepared = Prepared::new(&project, &request(args))?;
    prepared.compose(secret, |factory| match args.dry_run {
        true => dry_run(&prepared, factory, args),
        false => send_through_relay(&prepared, factory, args),
    })
}

fn request(args: &SendArgs) -> Selection<'_> {
    Selection {
        to: &args.to,
        tags: &args.tag,
        shard: args.shard,
        limit: args.limit,
        skip_invalid: args.skip_invalid,
        retry_failed: args.retry_failed,
        journaled: !args.dry_run && args.to.is_empty(),
        only: None,
    }
}

/// `check` before any send, then the list's findings.
fn preflight(p: &Project, args: &SendArgs) -> Result<()> {
    let report = check_issue(&p.config, &p.issue, &p.theme, &p.list, Scope::BeforeSend)?;
    eprint!("{}", report.human_if_any());
    if report.errors() > 0 && !args.force {
        bail!(
            "`letterpress check` found {} error{}; nothing was sent\n  help: fix them, or pass --force to send anyway",
            report.errors(),
            plural(report.errors())
        );
    }
    if args.to.is_empty() {
        let errors = args.skip_invalid.then_some("skipped");
        eprint!("{}", crate::list::report::findings(&p.list, errors));
    }
    Ok(())
}

fn dry_run(prepared: &Prepared<'_>, factory: &Factory<'_>, args: &SendArgs) -> Result<Exit> {
    let Some(out) = &args.out else {
        bail!("--dry-run needs --out DIR: the folder to write the messages into");
    };
    let (plan, list) = (&prepared.plan, &prepared.project.list);
    let ran = send::dry_run(plan, factory, out)?;
    print!(
        "{}",
        dry_run_summary(&ran, plan, list, factory.subject(), out)
    );
    if let Some(images) = factory.images_line() {
        println!("{images}");
    }
    if let Some(job) = plan.jobs.first() {
        let one = factory.build(&job.address, job.name.as_deref(), plan.purpose)?;
        println!(
            "message per reader: {} bytes (the first reader's)",
            one.bytes.len()
        );
    }
    for failure in &ran.summary.failed {
        eprintln!(
            "error: no message for {}: {}",
            failure.address, failure.reply
        );
    }
    Ok(match ran.summary.failed.is_empty() {
        true => Exit::Ok,
        false => Exit::Undelivered,
    })
}

fn send_through_relay(
    prepared: &Prepared<'_>,
    factory: &Factory<'_>,
    args: &SendArgs,
) -> Result<Exit> {
    let (p, plan) = (prepared.project, &prepared.plan);
    let relays = Relay::lanes(&p.config)?;
    if let Some(exit) = nothing_to_send(plan) {
        return Ok(exit);
    }
    let names = crate::dispatch::names(&relays);
    confirm(factory.subject(), plan.jobs.len(), &names, args.yes)?;
    let progress = progress_bar(plan.jobs.len());
    let how = How {
        signals: true,
        progress: &progress,
    };
    let sent = prepared.send(factory, &relays, &how);
    progress.finish_and_clear();
    let sent = sent?;
    let ran = sent.ran;
    print!("{}", summary(&ran, plan, factory.subject(), &sent.relay));
    if let Some(place) = &plan.place {
        println!("Journal: {}", place.journal().display());
    }
    let marked = sent.marked?;
    if !marked.is_empty() {
        println!(
            "Marked bounced (the relay said the address does not exist): {}",
            marked.join(", ")
        );
    }
    finish(ran, p, args)
}

/// What earlier runs and pauses leave out; the exit status when nobody
/// is left to send to.
fn nothing_to_send(plan: &crate::send::Plan) -> Option<Exit> {
    print!("{}", plan.resuming());
    if let Some(paused) = plan.paused.describe() {
        println!("Skipped: {paused}.");
    }
    if !plan.jobs.is_empty() {
        return None;
    }
    println!("Nothing to send: every reader of this issue has been handled.");
    Some(match plan.failed_before > 0 {
        true => Exit::Undelivered,
        false => Exit::Ok,
    })
}

/// Says how the run ended and how to go on; the exit status.
fn finish(ran: Ran, p: &Project, args: &SendArgs) -> Result<Exit> {
    let resume = resume_command(&p.config.path, &args.issue, args.shard, &args.tag);
    let next = how_to_go_on(&ran, &resume);
    let delivered = ran.summary.all_delivered();
    let exit = match ran.stopped {
        // Nothing got through: an error like any other.
        Stopped::Fatal(e) if ran.summary.accepted == 0 => return Err(e),
        Stopped::Interrupted => Exit::Interrupted,
        Stopped::Finished if delivered => Exit::Ok,
        _ => Exit::Undelivered,
    };
    eprint!("{next}");
    Ok(exit)
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
    match answer.trim().to_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => bail!("not sent: the send was not confirmed"),
    }
}
