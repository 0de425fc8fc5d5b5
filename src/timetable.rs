//! The schedule as `letterpress schedule` shows it: one row per issue with
//! a `send_at`, its time in the newsletter's zone and in UTC, its readers
//! and its state.

use anyhow::Result;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::config::Config;
use crate::schedule::{self, ScheduledIssue, Standing};

/// The listing as of `now`, and whether an issue's `send_at` is invalid.
pub fn table(config: &Config, now: Timestamp) -> Result<(String, bool)> {
    let zone = config.time_zone();
    let zone_name = zone.iana_name().unwrap_or("UTC").to_string();
    let entries = schedule::entries(config, now)?;
    if entries.is_empty() {
        return Ok(("No issue under issues/ has a send_at.\n".into(), false));
    }
    let width = entries
        .iter()
        .map(|e| e.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let at_header = format!("SEND AT ({zone_name})");
    let mut out = format!(
        "{:width$}  {:23}  {:17}  {:>7}  STATE\n",
        "ISSUE", at_header, "UTC", "READERS"
    );
    for e in &entries {
        let (local, utc) = match e.at {
            Some(at) => (
                local_time(at, &zone),
                at.strftime("%Y-%m-%d %H:%MZ").to_string(),
            ),
            None => ("-".into(), "-".into()),
        };
        let state = state(e, &zone);
        out.push_str(&format!(
            "{:width$}  {local:23}  {utc:17}  {:>7}  {state}\n",
            e.name, e.readers
        ));
    }
    let invalid = entries
        .iter()
        .any(|e| matches!(e.state, Standing::Invalid(_)));
    Ok((out, invalid))
}

/// `at` in the newsletter's zone, with its offset.
fn local_time(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned(zone.clone())
        .strftime("%Y-%m-%d %H:%M %:z")
        .to_string()
}

/// The STATE column: the state's word, with what is left and when the
/// next try is where that matters.
fn state(e: &ScheduledIssue, zone: &TimeZone) -> String {
    match &e.state {
        Standing::Sending => format!("sending ({} of {} left)", e.remaining, e.readers),
        Standing::Waiting { until } => format!(
            "waiting for the end of the quiet hours ({}; {} of {} left)",
            local_time(*until, zone),
            e.remaining,
            e.readers
        ),
        Standing::Deferred { next } => format!(
            "deferred ({} of {} readers; the relay deferred them, a pass tries again from {})",
            e.deferred,
            e.readers,
            local_time(*next, zone)
        ),
        Standing::Missed if e.remaining > 0 => {
            format!("missed ({} of {} left)", e.remaining, e.readers)
        }
        Standing::Invalid(why) => format!("invalid: {}", why.lines().next().unwrap_or("")),
        other => other.word().to_string(),
    }
}
