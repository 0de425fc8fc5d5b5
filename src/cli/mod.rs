//! The command line: argument definitions (their doc comments are the
//! `--help`), one function per command, and exit codes.

mod bounces;
mod build;
mod check;
mod init;
mod schedule;
mod send;
mod subscribers;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{FromArgMatches, Parser, Subcommand};

use crate::config::Config;
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
    /// Create a project that builds at once: config/newsletter.toml,
    /// config/subscribers.toml, a first issue and a .gitignore. Asks for
    /// the name and sender on a terminal when the flags leave them out;
    /// never overwrites a file.
    Init {
        /// The project folder (default: this one).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The newsletter's name.
        #[arg(long)]
        name: Option<String>,
        /// The sender: "Name <address>" or "address".
        #[arg(long, value_name = "ADDR")]
        from: Option<String>,
        /// The language of the issues, a BCP 47 tag: ko, en, ja, …
        /// (default en).
        #[arg(long, value_name = "TAG")]
        language: Option<String>,
        /// The newsletter's IANA time zone, for send_at times and issue
        /// dates (default: Asia/Seoul for ko, Asia/Tokyo for ja; asked on
        /// a terminal for other languages, else UTC).
        #[arg(long, value_name = "ZONE")]
        timezone: Option<String>,
    },
    /// Scaffold a new issue folder with issue.toml and sample sections in
    /// the newsletter's language.
    New {
        /// The issue's name, made under the project's issues/ (e.g.
        /// 2026-12-04-vol1), or a path with a `/`, taken as given.
        dir: PathBuf,
    },
    /// Compose an issue: write email.html, email.txt, web.html and
    /// preview.eml (the message the sample reader would get, to open in a
    /// mail client), with the issue's local images.
    Build {
        /// The issue folder (or its name under the project's issues/).
        issue: PathBuf,
        /// Where to write the files (default: ISSUE/build).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Render for this subscriber instead of the first active one.
        #[arg(long = "as", value_name = "ADDR")]
        as_reader: Option<String>,
    },
    /// Check an issue, its config, theme and list for what would embarrass
    /// a send; exit 1 if anything is an error.
    Check {
        /// The issue folder (or its name under the project's issues/).
        issue: PathBuf,
        /// human (default) or json.
        #[arg(long, value_enum, default_value = "human")]
        format: CheckFormat,
        /// Also ask every link target over the network whether it exists.
        #[arg(long)]
        links: bool,
    },
    /// Deliver an issue to the list (or --to test addresses) through the
    /// relay, resuming where an earlier run stopped; --dry-run writes the
    /// messages to files instead.
    Send(SendArgs),
    /// What happened to a sent issue: delivery, bounces and complaints,
    /// unsubscribes from its links and, with [tracking] clicks, clicks per
    /// link. Aggregates only, never a reader.
    Stats {
        /// The issue folder (or its name under the project's issues/).
        issue: PathBuf,
        /// table (default) or json.
        #[arg(long, value_enum, default_value = "table")]
        format: StatsFormat,
    },
    /// Serve /unsubscribe (one-click, RFC 8058), the web archive of sent
    /// issues and, with [subscribe], the sign-up form (double opt-in).
    Serve {
        /// The port to listen on.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// The address to listen on; the default serves this machine only
        /// (put a reverse proxy with TLS in front for the world).
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// Also serve /preview/: the drafts in issues/, reloading on save.
        #[arg(long)]
        preview: bool,
        /// Behind a reverse proxy: count subscribe requests per client by
        /// the first X-Forwarded-For hop instead of the peer address.
        #[arg(long)]
        trust_proxy: bool,
        /// Also send scheduled issues when due (a pass every 30 seconds).
        #[arg(long)]
        schedule: bool,
    },
    /// List the issues with a send_at (time, readers, state); `schedule
    /// run` sends those that are due, once (for cron or a systemd timer).
    Schedule {
        /// `run`: one pass.
        #[command(subcommand)]
        command: Option<ScheduleCommand>,
    },
    /// Write the web archive of sent issues (index, Atom feed, one page per
    /// issue) as static files for any web host.
    Archive {
        /// The folder to write.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Print shell completions (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `letterpress man > letterpress.1`.
    Man,
    /// Bounce and complaint reports: they change readers' status by the
    /// list's policy ([bounces] in the config).
    Bounces {
        /// What to do.
        #[command(subcommand)]
        command: BouncesCommand,
    },
    /// Manage the subscriber list (comments and layout of the file are kept).
    Subscribers {
        /// What to do with the list.
        #[command(subcommand)]
        command: SubscribersCommand,
    },
}

/// Output of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    /// `file:line: level: message` lines and counts.
    Human,
    /// One JSON document.
    Json,
}

/// Output of `stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatsFormat {
    /// A table for the terminal.
    Table,
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
    /// Only the readers whose address hashes to shard K of N, with a journal
    /// of its own, so N machines can share a list.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
}

/// `subscribers` subcommands.
#[derive(Debug, Subcommand)]
pub enum SubscribersCommand {
    /// Print the readers (tab-separated) and their counts.
    List {
        /// Print only the counts.
        #[arg(long)]
        count: bool,
        /// Only readers carrying one of these tags.
        #[arg(long, value_name = "TAG")]
        tag: Vec<String>,
    },
    /// Add a reader.
    Add {
        /// The address.
        address: String,
        /// The reader's name.
        #[arg(long)]
        name: Option<String>,
        /// Tags (repeat for several).
        #[arg(long, value_name = "TAG")]
        tag: Vec<String>,
        /// Send the confirmation mail of the subscribe form instead: the
        /// reader is added (with the [subscribe] tags) once they confirm.
        #[arg(long, conflicts_with = "tag")]
        confirm: bool,
    },
    /// Remove a reader's entry entirely.
    Remove {
        /// The address.
        address: String,
    },
    /// Mark a reader unsubscribed (the entry stays, so a re-import cannot re-add it).
    Unsubscribe {
        /// The address.
        address: String,
    },
    /// Add the readers of a CSV export (Mailchimp, Stibee, a spreadsheet).
    Import {
        /// The CSV file, UTF-8, with a header row.
        file: PathBuf,
        /// The header of the address column, when it is not one of email,
        /// Email Address, 이메일.
        #[arg(long, value_name = "HEADER")]
        email_column: Option<String>,
        /// Tags for every imported reader.
        #[arg(long, value_name = "TAG")]
        tag: Vec<String>,
    },
    /// Fold the change log (`<list>.changes`: unsubscribes and confirmed
    /// subscriptions recorded by `serve`) into the list file, comments kept.
    Compact,
    /// Write the list as CSV (email, name, status, tags).
    Export {
        /// A file to write instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// `schedule` subcommands.
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// One pass: check and send each issue that is due, report those
    /// missed, then exit (0 nothing failed, 2 an issue could not be sent,
    /// 1 bad input).
    Run,
}

/// `bounces` subcommands.
#[derive(Debug, Subcommand)]
pub enum BouncesCommand {
    /// Read bounce, complaint and auto-reply messages and apply the policy:
    /// hard bounces and complaints act at once, soft bounces count within
    /// the window. Only recognised messages are marked as handled.
    Import {
        /// A message file, an mbox file, a Maildir folder, or
        /// imaps://user@host[:port]/FOLDER (password in LETTERPRESS_IMAP_PASSWORD).
        source: String,
        /// Change nothing; print what each message would do.
        #[arg(long)]
        dry_run: bool,
        /// human (default) or json (one object per message and line).
        #[arg(long, value_enum, default_value = "human")]
        format: CheckFormat,
        /// IMAP: move recognised messages to this folder.
        #[arg(long, value_name = "FOLDER")]
        move_to: Option<String>,
    },
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

/// The exit status, from one place: 0 success; 1 an error in input, config
/// or arguments (usage errors included), nothing done; 2 some readers not
/// delivered (refused, deferred, or a fatal relay error after some were
/// accepted); 130 interrupted (resumable).
pub fn exit_code(outcome: &anyhow::Result<Exit>) -> u8 {
    match outcome {
        Ok(Exit::Ok) => 0,
        Ok(Exit::Refused) | Err(_) => 1,
        Ok(Exit::Undelivered) => 2,
        Ok(Exit::Interrupted) => 130,
    }
}

/// The command line as `--help`, completions and the man page show it:
/// `init` makes the configuration, so it does not list `--config`.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    // A hidden `--config` of its own keeps the global one out of `init`
    // (and out of its help), while `init --config …` still parses.
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
            // --help and --version print to stdout and succeed; a usage
            // error is an error in the arguments like any other.
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

fn run(cli: Cli) -> anyhow::Result<Exit> {
    let config = cli.config.as_path();
    let done = |r: anyhow::Result<()>| r.map(|()| Exit::Ok);
    match cli.command {
        Command::New { dir } => done(new(config, &dir)),
        Command::Init {
            dir,
            name,
            from,
            language,
            timezone,
        } => done(init::run(&dir, name, from, language, timezone)),
        Command::Completions { shell } => done(init::completions(shell)),
        Command::Man => done(init::man()),
        Command::Build {
            issue,
            out,
            as_reader,
        } => done(build::run(
            config,
            &issue,
            out.as_deref(),
            as_reader.as_deref(),
        )),
        Command::Check {
            issue,
            format,
            links,
        } => check::run(config, &issue, format, links),
        Command::Stats { issue, format } => done(stats(config, &issue, format)),
        Command::Serve {
            port,
            bind,
            preview,
            trust_proxy,
            schedule,
        } => done(serve(
            config,
            std::net::SocketAddr::new(bind, port),
            crate::web::Options {
                preview,
                trust_proxy,
                schedule,
            },
        )),
        Command::Schedule { command: None } => schedule::list(config),
        Command::Schedule {
            command: Some(ScheduleCommand::Run),
        } => schedule::run(config),
        Command::Archive { out } => done(archive(config, &out)),
        Command::Send(args) => send::run(config, &args),
        Command::Subscribers { command } => done(subscribers::run(config, &command)),
        Command::Bounces {
            command:
                BouncesCommand::Import {
                    source,
                    dry_run,
                    format,
                    move_to,
                },
        } => bounces::import(config, &source, dry_run, format, move_to.as_deref()),
    }
}

/// `letterpress new DIR`.
/// `letterpress new NAME`: a plain name is a folder under the project's
/// `issues/`, a path (with a `/`) is taken as given. The samples are in the
/// newsletter's language and dated by its time zone.
fn new(config_path: &Path, name: &Path) -> anyhow::Result<()> {
    let config = Config::load(config_path).ok();
    let dir = match name.components().count() {
        1 if !name.is_absolute() && name.to_str().is_some_and(|n| !n.contains('/')) => {
            crate::config::issues_dir(&crate::config::project_dir(config_path)).join(name)
        }
        _ => name.to_path_buf(),
    };
    let dir = dir.as_path();
    let (language, zone) = match &config {
        Some(c) => (c.newsletter().language.clone(), c.time_zone()),
        None => ("en".to_string(), jiff::tz::TimeZone::UTC),
    };
    let today = crate::time::today_in(&zone);
    let files = crate::issue::scaffold::scaffold(dir, &language, &today)?;
    println!("Created {}:", dir.display());
    for file in files {
        println!("  {}", file.display());
    }
    println!(
        "Edit the sections, then run: letterpress build {}",
        dir.display()
    );
    Ok(())
}

fn serve(
    config: &Path,
    bind: std::net::SocketAddr,
    options: crate::web::Options,
) -> anyhow::Result<()> {
    let config = Config::load(config)?;
    crate::web::serve(config, bind, options)
}

/// `letterpress archive --out DIR`.
fn archive(config_path: &Path, out: &Path) -> anyhow::Result<()> {
    let config = Config::load(config_path)?;
    let written = crate::web::archive::write(&config, out)?;
    println!(
        "Wrote the archive of {written} issue{} to {}",
        plural(written),
        out.display()
    );
    Ok(())
}

use crate::plural;

/// `letterpress stats ISSUE`.
fn stats(config_path: &Path, issue: &Path, format: StatsFormat) -> anyhow::Result<()> {
    let config = crate::config::Config::load(config_path)?;
    let dir = crate::project::issue_dir(&config, issue);
    let stats = crate::stats::gather(&config, &dir)?;
    match format {
        StatsFormat::Table => print!("{}", stats.table()),
        StatsFormat::Json => println!("{}", serde_json::to_string_pretty(&stats)?),
    }
    Ok(())
}
