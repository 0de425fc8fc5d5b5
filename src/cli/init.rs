//! `letterpress init [DIR]`, `letterpress completions SHELL` and `letterpress man`. Wiring
//! only.

use std::io::Write;

use anyhow::Result;

use crate::args::InitArgs;
use crate::init::{ask, init};

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
