//! `letterpress send ISSUE`: to the list, to test addresses, or
//! `--dry-run` into files. Wiring only: load, check, plan, confirm, run,
//! report.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use super::{plural, Exit, SendArgs};
use crate::check::{check_issue, Scope};
use crate::compose::Composed;
use crate::message::{reader, run_date, Factory, Purpose};
use crate::project::Project;
use crate::send::{self, DryRun, Plan, Ran, Relay, Request, Settings, Stopped, Transport};
use crate::subscribers::{List, Severity};

/// Composes the issue, checks it, plans the readers, then writes or delivers.
pub fn run(config_path: &std::path::Path, args: &SendArgs) -> Result<Exit> {
    let project = Project::load(config_path, &args.issue)?;
    let secret = reader::secret_from_env(&project.config)?;
    if secret.is_none() && project.config.file.unsubscribe.url.is_some() {
        bail!(
            "{}: the unsubscribe secret is not set, so no reader's unsubscribe link could be signed\n  help: export {}=<a long random string> (keep it the same for every send; `openssl rand -hex 32` makes one)",
            project.config.path.display(),
            reader::secret_env_name(&project.config)
        );
    }
    preflight(&project, args)?;
    let composed = Composed::new(&project.config, &project.theme, &project.issue)?;
    let factory = Factory::new(&composed, secret, run_date())?;
    let plan = Plan::new(&project, &request(args))?;
    if args.dry_run {
        return dry_run(&project, &plan, &factory, args);
    }
    deliver(&project, &plan, &factory, args)
}

fn request(args: &SendArgs) -> Request<'_> {
    Request {
        to: &args.to,
        tags: &args.tag,
        shard: args.shard,
        limit: args.limit,
        skip_invalid: args.skip_invalid,
        retry_failed: args.retry_failed,
        journaled: !args.dry_run && args.to.is_empty(),
    }
}

/// `check` before any send, and the list's findings.
fn preflight(project: &Project, args: &SendArgs) -> Result<()> {
    let p = project;
    let report = check_issue(&p.config, &p.issue, &p.theme, &p.list, Scope::BeforeSend)?;
    if !report.findings.is_empty() {
        eprint!("{}", report.human());
    }
    if report.errors() > 0 && !args.force {
        bail!(
            "`letterpress check` found {} error{}; nothing was sent\n  help: fix them, or pass --force to send anyway",
            report.errors(),
            plural(report.errors())
        );
    }
    if args.to.is_empty() {
        for finding in &p.list.findings {
            let level = match finding.severity {
                Severity::Error if args.skip_invalid => "skipped",
                Severity::Error => continue,
                Severity::Warning => "warning",
            };
            eprintln!(
                "{}:{}: {level}: {}",
                p.list.path.display(),
                finding.line,
                finding.message
            );
        }
    }
    Ok(())
}

fn dry_run(project: &Project, plan: &Plan, factory: &Factory<'_>, args: &SendArgs) -> Result<Exit> {
    let Some(out) = &args.out else {
        bail!("--dry-run needs --out DIR: the folder to write the messages into");
    };
    std::fs::create_dir_all(out)
        .with_context(|| format!("{}: cannot create the folder", out.display()))?;
    let files = DryRun::new(out);
    let subject = factory.subject();
    let ran = send::run(
        plan,
        factory,
        &files,
        &Settings::dry_run(),
        &ProgressBar::hidden(),
        subject,
    )?;
    if let Stopped::Fatal(e) = ran.stopped {
        let (removed, kept) = files.remove_written();
        let cleaned = match kept.len() {
            0 => format!(
                "the {removed} message{} this run had written were removed again",
                plural(removed)
            ),
            n => format!(
                "{n} of the messages this run wrote could not be removed and are still in {}",
                out.display()
            ),
        };
        return Err(e.context(format!("the dry run stopped; {cleaned}")));
    }
    let written = ran.summary.accepted;
    println!(
        "Dry run of \"{subject}\": wrote {written} message{} to {}; no connection was opened.",
        plural(written),
        out.display()
    );
    if plan.purpose == Purpose::List {
        println!("{}", skipped_summary(&project.list, written));
    }
    for (address, why) in &ran.summary.failed {
        eprintln!("error: no message for {address}: {why}");
    }
    Ok(if ran.summary.failed.is_empty() {
        Exit::Ok
    } else {
        Exit::Undelivered
    })
}

fn deliver(project: &Project, plan: &Plan, factory: &Factory<'_>, args: &SendArgs) -> Result<Exit> {
    let relay = Relay::from_config(&project.config)?;
    if plan.accepted_before + plan.failed_before > 0 {
        println!(
            "Resuming: {} reader{} already accepted, {} failed permanently earlier{}.",
            plan.accepted_before,
            plural(plan.accepted_before),
            plan.failed_before,
            if plan.failed_before > 0 {
                " (--retry-failed tries them again)"
            } else {
                ""
            }
        );
    }
    if plan.jobs.is_empty() {
        println!("Nothing to send: every reader of this issue has been handled.");
        return Ok(if plan.failed_before > 0 {
            Exit::Undelivered
        } else {
            Exit::Ok
        });
    }
    confirm(factory.subject(), plan.jobs.len(), &relay.name(), args.yes)?;
    let progress = progress_bar(plan.jobs.len());
    let settings = Settings::from_config(&project.config);
    let ran = send::run(
        plan,
        factory,
        &relay,
        &settings,
        &progress,
        factory.subject(),
    );
    progress.finish_and_clear();
    let ran = ran?;
    report(&ran, factory.subject(), &relay.name(), plan);
    if let Some(place) = &plan.place {
        println!("Journal: {}", place.journal().display());
    }
    finish(ran, project, args)
}

/// Says how the run ended and what to do next; the exit status.
fn finish(ran: Ran, project: &Project, args: &SendArgs) -> Result<Exit> {
    let remaining = ran.summary.remaining;
    let resume = || resume_command(project, args);
    match ran.stopped {
        // Nothing got through: an error like any other.
        Stopped::Fatal(e) if ran.summary.accepted == 0 => Err(e),
        Stopped::Fatal(e) => {
            eprintln!("error: {e:#}");
            eprintln!("{remaining} reader{} not sent yet. Once the relay accepts letterpress again, resume with:\n  {}", plural(remaining), resume());
            Ok(Exit::Undelivered)
        }
        // Every outcome not on disk is a reader the next run may mail again.
        Stopped::Journal(e) => {
            eprintln!("error: {e}");
            eprintln!("{remaining} reader{} not sent yet. Once the journal can be written again (free space on its disk), resume with:\n  {}", plural(remaining), resume());
            Ok(Exit::Undelivered)
        }
        Stopped::Interrupted => {
            eprintln!(
                "Interrupted: {remaining} reader{} not sent yet. Resume with:\n  {}",
                plural(remaining),
                resume()
            );
            Ok(Exit::Interrupted)
        }
        Stopped::Finished if ran.summary.failed.is_empty() && ran.summary.deferred.is_empty() => {
            Ok(Exit::Ok)
        }
        Stopped::Finished => Ok(Exit::Undelivered),
    }
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

fn report(ran: &Ran, subject: &str, relay: &str, plan: &Plan) {
    let s = &ran.summary;
    println!(
        "Sent \"{subject}\" through {relay}: {} accepted, {} failed, {} deferred, {} not attempted; skipped {} accepted and {} failed in earlier runs; {} connection{}.",
        s.accepted, s.failed.len(), s.deferred.len(), s.remaining,
        plan.accepted_before, plan.failed_before, s.connections, plural(s.connections),
    );
    let groups = [
        (
            "Left out: unsubscribed or bounced while the send ran:",
            s.left_out.clone(),
        ),
        (
            "Refused permanently (not retried; --retry-failed tries again):",
            failed_lines(&s.failed),
        ),
        (
            "Temporary failures on every attempt (the next run tries again):",
            failed_lines(&s.deferred),
        ),
    ];
    for (title, lines) in groups {
        if !lines.is_empty() {
            println!("{title}");
            for line in lines {
                println!("  {line}");
            }
        }
    }
}

fn failed_lines(failed: &[(String, String)]) -> Vec<String> {
    failed
        .iter()
        .map(|(address, reply)| format!("{address}: {reply}"))
        .collect()
}

fn resume_command(project: &Project, args: &SendArgs) -> String {
    let mut command = format!(
        "letterpress --config {} send {}",
        project.config.path.display(),
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

/// What the list held besides the readers reached.
fn skipped_summary(list: &List, sent: usize) -> String {
    let c = list.counts(list.entries.iter());
    let other = list
        .entries
        .len()
        .saturating_sub(sent + c.unsubscribed + c.bounced + c.invalid + c.duplicates);
    format!(
        "{} entries in the list: {sent} written, skipped {} unsubscribed, {} bounced, {} invalid, {} duplicate, {other} outside the audience, tags or limit.",
        list.entries.len(),
        c.unsubscribed,
        c.bounced,
        c.invalid,
        c.duplicates
    )
}
