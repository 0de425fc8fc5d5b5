//! The command line: argument definitions (their doc comments are the `--help`), one function
//! per command, and exit codes.

mod bounces;
mod init;
mod issue;
mod schedule;
mod send;
mod subscribers;
mod web;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{FromArgMatches, Parser, Subcommand};

pub use crate::send::Shard;

/// Compose Markdown issues into responsive HTML email and send them.
#[derive(Debug, Parser)]
#[command(name = "letterpress", version, about)]
pub struct Cli {
    /// The configuration file.
    #[arg(
        long,
        global = true,
        env = "LETTERPRESS_CONFIG",
        default_value = "config/newsletter.toml"
    )]
    pub config: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a project that builds at once: config/newsletter.toml, config/subscribers.toml, a
    /// first issue and a .gitignore. Asks for the name and sender on a terminal when the flags
    /// leave them out; never overwrites a file.
    Init(init::InitArgs),
    /// Scaffold a new issue folder with issue.toml and sample sections in the newsletter's
    /// language.
    New(issue::NewArgs),
    /// Compose an issue: write email.html, email.txt, web.html and preview.eml (the message the
    /// sample reader would get, to open in a mail client), with the issue's local images.
    Build(issue::BuildArgs),
    /// Check an issue, its config, theme and list for what would embarrass a send; exit 1 if
    /// anything is an error.
    Check(issue::CheckArgs),
    /// Deliver an issue to the list (or --to test addresses) through the relay, resuming where an
    /// earlier run stopped; --dry-run writes the messages to files instead.
    Send(SendArgs),
    /// What happened to a sent issue: delivery, bounces and complaints, unsubscribes from its
    /// links and, with [tracking] clicks, clicks per link. Aggregates only, never a reader.
    Stats(issue::StatsArgs),
    /// Serve /unsubscribe (one-click, RFC 8058), the web archive of sent issues and, with
    /// [subscribe], the sign-up form (double opt-in).
    Serve(web::ServeArgs),
    /// List the issues with a send_at (time, readers, state); `schedule run` sends those that are
    /// due, once (for cron or a systemd timer).
    Schedule {
        /// `run`: one pass.
        #[command(subcommand)]
        command: Option<schedule::ScheduleCommand>,
    },
    /// Write the web archive of sent issues (index, Atom feed, one page per issue) as static
    /// files for any web host.
    Archive(web::ArchiveArgs),
    /// Print shell completions (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `letterpress man > letterpress.1`.
    Man,
    /// Bounce and complaint reports: they change readers' status by the list's policy
    /// ([bounces] in the config).
    Bounces {
        /// What to do.
        #[command(subcommand)]
        command: bounces::BouncesCommand,
    },
    /// Manage the subscriber list (comments and layout of the file are kept).
    Subscribers {
        /// What to do with the list.
        #[command(subcommand)]
        command: subscribers::SubscribersCommand,
    },
}

/// `--format` of `check` and `bounces import`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    /// `file:line: level: message` lines and counts.
    Human,
    /// One JSON document.
    Json,
}

/// `send` options.
#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// The issue folder (or its name under the project's issues/).
    pub issue: PathBuf,
    /// Write the messages to files (--out DIR) instead of delivering them.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: the folder for the .eml files.
    #[arg(long, value_name = "DIR", requires = "dry_run")]
    pub out: Option<PathBuf>,
    /// Test send: only these addresses, with a fresh Message-ID, not journaled.
    #[arg(long, value_name = "ADDR")]
    pub to: Vec<String>,
    /// Only readers carrying one of these tags (on top of the issue's audience).
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,
    /// At most this many readers this run, in list order.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Leave out invalid list entries instead of refusing to send.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Send even when `check` finds errors.
    #[arg(long)]
    pub force: bool,
    /// Try again the readers the relay refused permanently in an earlier run.
    #[arg(long)]
    pub retry_failed: bool,
    /// Only the readers whose address hashes to shard K of N, with a journal of its own, so N
    /// machines can share a list.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
}

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
