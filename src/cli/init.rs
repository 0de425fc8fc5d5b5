//! `letterpress init [DIR]`, `letterpress completions SHELL` and
//! `letterpress man`. Wiring only.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::{bail, Result};

use crate::init::{init, Answers};

/// Creates a project in `dir`, asking on a terminal for what the flags
/// leave out.
pub fn run(
    dir: &Path,
    name: Option<String>,
    from: Option<String>,
    language: Option<String>,
) -> Result<()> {
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let ask = |what: &str, flag: &str, default: Option<&str>| -> Result<String> {
        if !terminal {
            bail!("{flag} is missing and there is no terminal to ask on\n  help: letterpress init DIR --name \"My Newsletter\" --from \"My Newsletter <letter@example.com>\"");
        }
        match default {
            Some(d) => eprint!("{what} [{d}]: "),
            None => eprint!("{what}: "),
        }
        std::io::stderr().flush()?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let line = line.trim().to_string();
        Ok(match (line.is_empty(), default) {
            (true, Some(d)) => d.to_string(),
            _ => line,
        })
    };
    let name = match name {
        Some(n) => n,
        None => ask("The newsletter's name", "--name", None)?,
    };
    let from = match from {
        Some(f) => f,
        None => ask("The sender (Name <address>)", "--from", None)?,
    };
    let language = language.unwrap_or_else(|| "en".to_string());
    let answers = Answers {
        name,
        from,
        language,
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
