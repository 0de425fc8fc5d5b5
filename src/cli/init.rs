//! `letterpress init [DIR]`, `letterpress completions SHELL` and `letterpress man`. Wiring
//! only.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use crate::init::{ask, init};

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The project folder (default: this one).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// The newsletter's name.
    #[arg(long)]
    name: Option<String>,
    /// The sender: "Name <address>" or "address".
    #[arg(long, value_name = "ADDR")]
    from: Option<String>,
    /// The language of the issues, a BCP 47 tag: ko, en, ja, … (default en).
    #[arg(long, value_name = "TAG")]
    language: Option<String>,
    /// The newsletter's IANA time zone, for send_at times and issue dates (default: Asia/Seoul
    /// for ko, Asia/Tokyo for ja; asked on a terminal for other languages, else UTC).
    #[arg(long, value_name = "ZONE")]
    timezone: Option<String>,
}

/// Creates the project, asking on a terminal for what the flags leave out.
pub fn run(args: InitArgs) -> Result<()> {
    let answers = ask::answers(args.name, args.from, args.language, args.timezone)?;
    print!("{}", init(&args.dir, &answers)?.summary(&args.dir));
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
