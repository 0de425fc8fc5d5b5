//! `letterpress schedule` (the scheduled issues) and `letterpress schedule run` (one pass).
//! Wiring only.

use std::path::Path;

use anyhow::Result;
use jiff::Timestamp;

use super::Exit;
use crate::args::ScheduleCommand;
use crate::config::Config;
use crate::schedule::{self, Deliver};

/// The listing, or with `run` one pass.
pub fn run(command: Option<ScheduleCommand>, config: &Path) -> Result<Exit> {
    match command {
        None => list(config),
        Some(ScheduleCommand::Run) => pass(config),
    }
}

/// Lists the issues with a `send_at`: time in the newsletter's zone and in UTC, readers, state.
fn list(config_path: &Path) -> Result<Exit> {
    let config = Config::load(config_path)?;
    let (table, invalid) = crate::timetable::table(&config, Timestamp::now())?;
    print!("{table}");
    Ok(if invalid { Exit::Refused } else { Exit::Ok })
}

/// One pass: sends what is due, reports what was missed; prints one line per event and nothing
/// when nothing happened (so cron mails only news).
fn pass(config_path: &Path) -> Result<Exit> {
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
