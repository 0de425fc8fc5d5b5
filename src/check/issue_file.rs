//! The checks of `issue.toml`: subject, preheader, audience, `send_at`,
//! and merge tags that need a config value.

use anyhow::Result;

use super::{line_of, Level, Report};
use crate::config::Config;
use crate::issue::Issue;
use crate::list::List;

pub(super) fn check_issue_file(
    config: &Config,
    issue: &Issue,
    list: &List,
    reaches_anyone: bool,
    report: &mut Report,
) -> Result<()> {
    let path = issue.dir.join("issue.toml");
    let text = crate::error::read_input(&path)?;
    super::text::check(&path, &text, Some(0..text.len()), report);
    let at = |key: &str| line_of(&text, key);
    let width = crate::compose::wrap::width(&issue.subject);
    if width > 60 {
        report.add(&path, at("subject"), Level::Warning, format!("the subject is {width} columns wide; phones show about 60 (a Hangul character counts two), the rest is cut off"));
    }
    match &issue.preheader {
        None => report.add(&path, 1, Level::Warning, "no preheader: the inbox shows the first words of the body instead; add preheader = \"…\""),
        Some(p) if crate::compose::wrap::width(p) < 40 => report.add(&path, at("preheader"), Level::Warning, format!("the preheader is only {} columns; the inbox fills the rest with body text, so aim for 40 to 100", crate::compose::wrap::width(p))),
        Some(_) => {}
    }
    if issue.advertising && !config.is_korean() && config.newsletter().ad_prefix.is_none() {
        report.add(&path, at("advertising"), Level::Error, "an advertising issue needs a subject prefix: set ad_prefix in [newsletter] for this language");
    }
    let mut unknown_tag = false;
    for tag in &issue.audience {
        let reached = list.entries.iter().any(|e| e.tags().contains(tag));
        if !reached {
            unknown_tag = true;
            report.add(
                &path,
                at("audience"),
                Level::Error,
                format!(
                    "no reader in {} carries the audience tag `{tag}`",
                    list.path.display()
                ),
            );
        }
    }
    if !unknown_tag && !issue.audience.is_empty() && !reaches_anyone {
        report.add(&path, at("audience"), Level::Error, "the send would reach nobody: no active, valid reader carries the issue's audience tags");
    }
    check_send_at(config, issue, report);
    Ok(())
}

/// `send_at`: a time that exists once in the newsletter's zone; a warning
/// when it has passed for an issue not yet sent, and when it falls inside
/// the quiet hours (the pass waits for their end). Advertising at night is
/// no error: the Korean night-time rule (정보통신망법 제50조 제3항) exempts
/// email (시행령 제61조 제3항).
fn check_send_at(config: &Config, issue: &Issue, report: &mut Report) {
    let Some(send_at) = &issue.send_at else {
        return;
    };
    let path = issue.dir.join("issue.toml");
    let at = match crate::window::instant(send_at, &config.time_zone()) {
        Ok(at) => at,
        Err(why) => return report.add(&path, send_at.line, Level::Error, why),
    };
    let state_dir = config.state_dir();
    let place =
        crate::send::journal::Place::new(state_dir.clone(), &config.project_dir, &issue.dir, None);
    let started = crate::send::journal::journals_of(&state_dir, &place.name)
        .is_ok_and(|journals| !journals.is_empty());
    let now = jiff::Timestamp::now();
    let zone = config.time_zone();
    let shown = at
        .to_zoned(zone.clone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string();
    let quiet = crate::window::Quiet::of(config);
    if at < now && !started {
        let grace =
            jiff::SignedDuration::from_mins(i64::from(config.file.sending.schedule_grace_minutes));
        let what = match now <= crate::window::deadline(quiet.as_ref(), at, grace) {
            true => "the next scheduled pass sends it (it is within the grace of [sending] schedule_grace_minutes)",
            false => "it is past the grace, so no scheduled pass sends it: send it by hand with `letterpress send`, or set a new send_at",
        };
        report.add(
            &path,
            send_at.line,
            Level::Warning,
            format!("send_at ({shown}) is in the past and the issue has not been sent; {what}"),
        );
    }
    if let Some(quiet) = quiet.as_ref().filter(|q| !started && q.inside(at)) {
        let end = quiet
            .end_after(at)
            .to_zoned(zone)
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string();
        report.add(
            &path,
            send_at.line,
            Level::Warning,
            format!(
                "send_at ({shown}) is inside the quiet hours ([sending] quiet_hours = \"{}\"): no scheduled pass sends then, so it goes out at {end}, when they end; set another send_at if that is not what you want",
                quiet.written()
            ),
        );
    }
}

/// A merge tag whose value comes from the config, reported at each line
/// that uses it when the config lacks that value.
pub(super) fn check_tags_need_config(
    config: &Config,
    issue: &Issue,
    report: &mut Report,
) -> Result<()> {
    let needs = [
        (
            "web_url",
            config.newsletter().base_url.is_none(),
            "[newsletter] base_url",
            "set base_url = \"https://…\" where the web versions are published",
        ),
        (
            "preferences_url",
            config.file.preferences.is_none(),
            "[preferences] url",
            "add [preferences] with url = \"https://…/preferences\" (served by `serve`)",
        ),
    ];
    for (tag, missing, key, fix) in needs {
        if !missing {
            continue;
        }
        for (path, line) in issue.tag_lines(tag) {
            report.add(
                &path,
                line,
                Level::Error,
                format!(
                    "{{{{ {tag} }}}} needs {key}, which {} does not set ({fix}, or remove the tag)",
                    config.path.display()
                ),
            );
        }
    }
    Ok(())
}
