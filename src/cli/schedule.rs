//! `letterpress schedule` (the scheduled issues) and `letterpress schedule
//! run` (one pass). Wiring only.

use std::path::Path;

use anyhow::Result;
use jiff::Timestamp;

use super::Exit;
use crate::config::Config;
use crate::schedule::{self, Deliver, State};

/// Lists the issues with a `send_at`: time in the newsletter's zone and in
/// UTC, readers, state.
pub fn list(config_path: &Path) -> Result<Exit> {
    let config = Config::load(config_path)?;
    let zone = config.time_zone();
    let zone_name = zone.iana_name().unwrap_or("UTC").to_string();
    let entries = schedule::entries(&config, Timestamp::now())?;
    if entries.is_empty() {
        println!("No issue under issues/ has a send_at.");
        return Ok(Exit::Ok);
    }
    let width = entries
        .iter()
        .map(|e| e.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let at_header = format!("SEND AT ({zone_name})");
    println!(
        "{:width$}  {:23}  {:17}  {:>7}  STATE",
        "ISSUE", at_header, "UTC", "READERS"
    );
    let mut invalid = false;
    for e in &entries {
        let (local, utc) = match e.at {
            Some(at) => (
                at.to_zoned(zone.clone())
                    .strftime("%Y-%m-%d %H:%M %:z")
                    .to_string(),
                at.strftime("%Y-%m-%d %H:%MZ").to_string(),
            ),
            None => ("-".into(), "-".into()),
        };
        let state = match &e.state {
            State::Sending => format!("sending ({} of {} left)", e.remaining, e.readers),
            State::Waiting { until } => format!(
                "waiting for the end of the quiet hours ({}; {} of {} left)",
                until.to_zoned(zone.clone()).strftime("%Y-%m-%d %H:%M %:z"),
                e.remaining,
                e.readers
            ),
            State::Deferred { next } => format!(
                "deferred ({} of {} readers; the relay deferred them, a pass tries again from {})",
                e.deferred,
                e.readers,
                next.to_zoned(zone.clone()).strftime("%Y-%m-%d %H:%M %:z")
            ),
            State::Missed if e.remaining > 0 => {
                format!("missed ({} of {} left)", e.remaining, e.readers)
            }
            State::Invalid(why) => {
                invalid = true;
                format!("invalid: {}", why.lines().next().unwrap_or(""))
            }
            other => other.word().to_string(),
        };
        println!(
            "{:width$}  {local:23}  {utc:17}  {:>7}  {state}",
            e.name, e.readers
        );
    }
    Ok(if invalid { Exit::Refused } else { Exit::Ok })
}

/// One pass: sends what is due, reports what was missed; prints one line
/// per event and nothing when nothing happened (so cron mails only news).
pub fn run(config_path: &Path) -> Result<Exit> {
    let config = Config::load(config_path)?;
    let deliver = Deliver {
        config_path: config_path.to_path_buf(),
        signals: true,
    };
    let events = schedule::pass(&config, Timestamp::now(), &deliver)?;
    for event in events.iter().filter(|e| !e.quiet()) {
        println!("{}", event.line(&config));
    }
    Ok(match schedule::failed(&events) {
        (true, _) => Exit::Undelivered,
        (false, true) => Exit::Refused,
        (false, false) => Exit::Ok,
    })
}
