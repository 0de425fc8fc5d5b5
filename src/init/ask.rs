//! `init`'s questions: on a terminal, what the flags leave out is asked
//! for, and an answer that does not fit is asked again.

use std::io::{BufRead, IsTerminal, Read, Write};

use anyhow::{bail, Result};

use super::{check_from, check_language, check_name, check_timezone, Answers};
use crate::config::default_time_zone;

/// The answers from the flags given, asking on a terminal for the name,
/// the sender and (for a language without a usual zone) the time zone.
pub fn answers(
    name: Option<String>,
    from: Option<String>,
    language: Option<String>,
    timezone: Option<String>,
) -> Result<Answers> {
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let name = match name {
        Some(n) => n,
        None => ask(
            terminal,
            "The newsletter's name",
            "--name",
            None,
            check_name,
        )?,
    };
    let from = match from {
        Some(f) => f,
        None => ask(
            terminal,
            "The sender (Name <address>)",
            "--from",
            None,
            check_from,
        )?,
    };
    let language = language.unwrap_or_else(|| "en".to_string());
    // A flag that does not fit is refused before anything is asked.
    check_language(&language).map_err(|why| anyhow::anyhow!("--language: {why}"))?;
    let timezone = match (timezone, default_time_zone(&language)) {
        (Some(zone), _) => Some(zone),
        (None, Some(zone)) => Some(zone.to_string()),
        (None, None) if terminal => ask_time_zone()?,
        (None, None) => None,
    };
    Ok(Answers {
        name,
        from,
        language,
        timezone,
    })
}

/// The zone asked for on the terminal; `None` for UTC.
fn ask_time_zone() -> Result<Option<String>> {
    let zone = ask(
        true,
        "The newsletter's time zone (for send_at times and issue dates)",
        "--timezone",
        Some("UTC"),
        check_timezone,
    )?;
    Ok((zone != "UTC").then_some(zone))
}

/// Asks for `what` on the terminal until the answer passes `fits` (at most
/// ten times; an empty answer takes `default`). Without a terminal, the
/// missing `flag` is the error.
fn ask(
    terminal: bool,
    what: &str,
    flag: &str,
    default: Option<&str>,
    fits: fn(&str) -> std::result::Result<(), String>,
) -> Result<String> {
    if !terminal {
        bail!("{flag} is missing and there is no terminal to ask on\n  help: letterpress init DIR --name \"My Newsletter\" --from \"My Newsletter <letter@example.com>\"");
    }
    for _ in 0..10 {
        match default {
            Some(d) => eprint!("{what} [{d}]: "),
            None => eprint!("{what}: "),
        }
        std::io::stderr().flush()?;
        let mut line = String::new();
        let read = std::io::stdin()
            .lock()
            .take(64 * 1024)
            .read_line(&mut line)?;
        if read == 0 {
            bail!("no answer for {what}: the input ended");
        }
        let line = match (line.trim(), default) {
            ("", Some(d)) => d.to_string(),
            (answer, _) => answer.to_string(),
        };
        match fits(&line) {
            Ok(()) => return Ok(line),
            Err(why) => eprintln!("{why}\nPlease try again."),
        }
    }
    bail!("no fitting answer for {what} after ten tries\n  help: give it as {flag} on the command line")
}
