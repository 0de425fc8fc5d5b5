//! `letterpress init [DIR]`, `letterpress completions SHELL` and
//! `letterpress man`. Wiring only.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;

use anyhow::{bail, Result};

use crate::config::default_time_zone;
use crate::init::{check_from, check_language, check_name, check_timezone, init, Answers};

/// Creates a project in `dir`, asking on a terminal for what the flags
/// leave out; an answer that does not fit is asked again.
pub fn run(
    dir: &Path,
    name: Option<String>,
    from: Option<String>,
    language: Option<String>,
    timezone: Option<String>,
) -> Result<()> {
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
        (None, None) if terminal => {
            let zone = ask(
                terminal,
                "The newsletter's time zone (for send_at times and issue dates)",
                "--timezone",
                Some("UTC"),
                check_timezone,
            )?;
            (zone != "UTC").then_some(zone)
        }
        (None, None) => None,
    };
    let answers = Answers {
        name,
        from,
        language,
        timezone,
    };
    let created = init(dir, &answers)?;
    println!("Created a letterpress project in {}:", dir.display());
    for file in &created.files {
        println!("  {}", file.display());
    }
    let issue = created.issue.display();
    let cd = match dir == Path::new(".") {
        true => String::new(),
        false => format!("  cd {}\n", dir.display()),
    };
    println!(
        "\nNext:\n{cd}  letterpress build {issue}          # compose it; open {issue}/build/email.html\n  letterpress check {issue}          # what would embarrass a send\n  letterpress send {issue} --dry-run --out outbox   # every message as a file\n  letterpress serve --preview        # the live preview at http://127.0.0.1:8080/preview/\nBefore the first real send, add [smtp] to config/newsletter.toml (see the comments there)."
    );
    Ok(())
}

/// Shell completions on standard output.
pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut command = super::command();
    clap_complete::generate(shell, &mut command, "letterpress", &mut std::io::stdout());
    Ok(())
}

/// The man page (roff) on standard output: every command and option.
pub fn man() -> Result<()> {
    let mut out = Vec::new();
    clap_mangen::Man::new(super::command()).render(&mut out)?;
    std::io::stdout().write_all(&out)?;
    Ok(())
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
