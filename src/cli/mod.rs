//! The command line: argument definitions (their doc comments are the `--help`), one function
//! per command, and exit codes.

mod bounces;
mod init;
mod issue;
mod schedule;
mod send;
mod subscribers;
mod web;

use std::process::ExitCode;

use crate::args::{Cli, Command};
use clap::FromArgMatches;

pub use crate::send::Shard;

/// How a command ended, for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done.
    Ok,
    /// Findings or input errors: nothing was done (`check` with errors).
    Refused,
    /// The run finished or stopped with some readers not delivered.
    Undelivered,
    /// Interrupted; the same command resumes.
    Interrupted,
}

/// The exit status, from one place: 0 success; 1 an error in input, config or arguments (usage
/// errors included), nothing done; 2 some readers not delivered (refused, deferred, or a fatal
/// relay error after some were accepted); 130 interrupted (resumable).
pub fn exit_code(outcome: &anyhow::Result<Exit>) -> u8 {
    match outcome {
        Ok(Exit::Ok) => 0,
        Ok(Exit::Refused) | Err(_) => 1,
        Ok(Exit::Undelivered) => 2,
        Ok(Exit::Interrupted) => 130,
    }
}

/// The command line as `--help`, completions and the man page show it: `init` makes the
/// configuration, so it does not list `--config`.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    // A hidden `--config` of its own keeps the global one out of `init` (and out of its help),
    // while `init --config …` still parses.
    Cli::command().mut_subcommand("init", |init| {
        init.arg(
            clap::Arg::new("config")
                .long("config")
                .value_name("CONFIG")
                .value_parser(clap::value_parser!(std::path::PathBuf))
                .hide(true),
        )
    })
}

/// Runs the command line.
pub fn main() -> ExitCode {
    let cli = match command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print to stdout and succeed; a usage error is an error in
            // the arguments like any other.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    let outcome = run(cli);
    if let Err(err) = &outcome {
        eprint!("{}", crate::error::render(err));
    }
    ExitCode::from(exit_code(&outcome))
}

/// Runs one command.
fn run(cli: Cli) -> anyhow::Result<Exit> {
    let config = cli.config.as_path();
    let done = |r: anyhow::Result<()>| r.map(|()| Exit::Ok);
    match cli.command {
        Command::Init(args) => done(init::run(args)),
        Command::New(args) => done(issue::new(args, config)),
        Command::Completions { shell } => done(init::completions(shell)),
        Command::Man => done(init::man()),
        Command::Build(args) => done(issue::build(args, config)),
        Command::Check(args) => issue::check(args, config),
        Command::Stats(args) => done(issue::stats(args, config)),
        Command::Serve(args) => done(web::serve(args, config)),
        Command::Schedule { command } => schedule::run(command, config),
        Command::Archive(args) => done(web::archive(args, config)),
        Command::Send(args) => send::run(config, &args),
        Command::Subscribers { command } => done(subscribers::run(command, config)),
        Command::Bounces { command } => done(bounces::import(command, config)),
    }
}
