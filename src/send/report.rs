//! What a run says about itself: the progress bar, the summary, and the
//! command that resumes it.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use std::path::Path;

use super::{Plan, Ran, Shard, Stopped};
use crate::list::List;
use crate::message::Purpose;
use crate::text::plural;

/// A progress bar with count, rate and time left on a terminal; hidden
/// elsewhere.
pub fn progress_bar(total: usize) -> ProgressBar {
    use std::io::IsTerminal;
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

/// The summary of a send through `relay`: counts, then each reader left
/// out, refused or deferred, with the reply.
pub fn summary(ran: &Ran, plan: &Plan, subject: &str, relay: &str) -> String {
    let s = &ran.summary;
    let mut out = format!(
        "Sent \"{subject}\" through {relay}: {} accepted, {} failed, {} deferred, {} not attempted; skipped {} accepted and {} failed in earlier runs; {} connection{}.\n",
        s.accepted,
        s.failed.len(),
        s.deferred.len(),
        s.remaining,
        plan.accepted_before,
        plan.failed_before,
        s.connections,
        plural(s.connections),
    );
    if s.relays.len() > 1 {
        out.push_str(&relay_lines(&s.relays));
    }
    let replies = |failed: &[super::Failure]| -> Vec<String> {
        failed
            .iter()
            .map(|f| format!("{}: {}", f.address, f.reply))
            .collect()
    };
    let groups = [
        (
            "Left out: unsubscribed, bounced or paused while the send ran:",
            s.left_out.clone(),
        ),
        (
            "Refused permanently (not retried; --retry-failed tries again):",
            replies(&s.failed),
        ),
        (
            "Temporary failures on every attempt (the next run tries again):",
            replies(&s.deferred),
        ),
    ];
    for (title, lines) in groups.iter().filter(|(_, lines)| !lines.is_empty()) {
        out.push_str(title);
        out.push('\n');
        for line in lines {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out
}

/// One line per relay: what it carried, its deferrals, its median time to
/// accept, and why it was taken out if it was.
pub fn relay_lines(relays: &[super::Tally]) -> String {
    let mut out = String::from("Relays:\n");
    for t in relays {
        let median = t
            .median_ms()
            .map_or(String::new(), |ms| format!(", median {ms} ms to accept"));
        out.push_str(&format!(
            "  {}: {} accepted, {} failed, {} deferral{}{median}",
            t.label,
            t.accepted,
            t.failed,
            t.deferrals,
            plural(t.deferrals)
        ));
        if let Some(why) = &t.out {
            out.push_str(&format!("; taken out: {why}"));
        }
        out.push('\n');
    }
    out
}

/// The summary of a dry run into `out`; for the list, also what the list
/// held besides the readers written.
pub fn dry_run_summary(ran: &Ran, plan: &Plan, list: &List, subject: &str, out: &Path) -> String {
    let written = ran.summary.accepted;
    let text = format!(
        "Dry run of \"{subject}\": wrote {written} message{} to {}; no connection was opened.\n",
        plural(written),
        out.display()
    );
    if plan.purpose != Purpose::List {
        return text;
    }
    let c = list.counts(list.entries.iter());
    let paused = plan.paused.readers;
    let other = list
        .entries
        .len()
        .saturating_sub(written + c.unsubscribed + c.bounced + c.invalid + c.duplicates + paused);
    let n = list.entries.len();
    let paused = match plan.paused.describe() {
        Some(p) => format!(", {p}"),
        None => String::new(),
    };
    text + &format!(
        "{n} {} in the list: {written} written, skipped {} unsubscribed, {} bounced, {} invalid, {} duplicate{paused}, {other} outside the audience, tags or limit.\n",
        if n == 1 { "entry" } else { "entries" },
        c.unsubscribed,
        c.bounced,
        c.invalid,
        c.duplicates
    )
}

/// What stopped a run early and the command that resumes it; nothing for
/// a run that finished.
pub fn how_to_go_on(ran: &Ran, resume: &str) -> String {
    let left = ran.summary.remaining;
    let readers = format!("{left} reader{} not sent yet.", plural(left));
    let why = match &ran.stopped {
        Stopped::Finished => return String::new(),
        Stopped::Fatal(e) if e.is::<super::ListUnreadable>() => format!("error: {e:#}\n{readers} Once the list's change log can be read again (mend or remove the line it names), resume with:"),
        Stopped::Fatal(e) => format!("error: {e:#}\n{readers} Once the relay accepts letterpress again, resume with:"),
        // Every outcome not on disk is a reader the next run may mail again.
        Stopped::Journal(e) => format!("error: {e}\n{readers} Once the journal can be written again (free space on its disk), resume with:"),
        Stopped::Interrupted => format!("Interrupted: {readers} Resume with:"),
        Stopped::SenderRefused { refused, of } => format!(
            "error: the relay refused {refused} of the first {of} readers permanently: it is refusing the sender (its reputation, authentication or a policy), not the readers. The run stopped and nobody was marked bounced.\n{readers} Once the relay accepts the sender again, send the rest and try the refused readers again with:"
        ),
        Stopped::RefusedInARow { refused } => format!(
            "error: the relay refused {refused} readers in a row permanently, after accepting others: it began refusing the sender (its reputation, a quota or a policy), not the readers. The run stopped and none of those {refused} was marked bounced.\n{readers} Once the relay accepts the sender again, send the rest and try the refused readers again with:"
        ),
        Stopped::RelaysOut { .. } => format!(
            "error: {}: the send stopped, and nobody was marked bounced for it.\n{readers} Once a relay accepts letterpress again, resume with:",
            ran.stopped
        ),
        Stopped::Unreachable { tries, last } => format!(
            "error: the relay did not answer {tries} connections in a row ({last}): it is down or unreachable, so the send stopped instead of waiting on it for every reader.\n{readers} Once the relay answers again, resume with:"
        ),
    };
    let resume = match &ran.stopped {
        Stopped::SenderRefused { .. } | Stopped::RefusedInARow { .. } => {
            format!("{resume} --retry-failed")
        }
        _ => resume.to_string(),
    };
    format!("{why}\n  {resume}\n")
}

/// The command that resumes a send.
pub fn resume_command(
    config: &std::path::Path,
    issue: &std::path::Path,
    shard: Option<Shard>,
    tags: &[String],
) -> String {
    let mut command = format!(
        "letterpress --config {} send {}",
        config.display(),
        issue.display()
    );
    if let Some(shard) = shard {
        command.push_str(&format!(" --shard {}/{}", shard.index, shard.count));
    }
    for tag in tags {
        command.push_str(&format!(" --tag {tag}"));
    }
    command.push_str(" --yes");
    command
}
