//! The command line's words: every command, argument and option, as clap
//! derives them. Their doc comments are `--help`, the man page and the
//! completions; `cli` wires each command to the function that does it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::send::Shard;

/// `bounces` subcommands.
#[derive(Debug, Subcommand)]
pub enum BouncesCommand {
    /// Read bounce, complaint and auto-reply messages and apply the policy: hard bounces and
    /// complaints act at once, soft bounces count within the window. Only recognised messages
    /// are marked as handled.
    Import {
        /// A message file, an mbox file, a Maildir folder, or imaps://user@host[:port]/FOLDER
        /// (password in LETTERPRESS_IMAP_PASSWORD).
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

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The project folder (default: this one).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The newsletter's name.
    #[arg(long)]
    pub name: Option<String>,
    /// The sender: "Name <address>" or "address".
    #[arg(long, value_name = "ADDR")]
    pub from: Option<String>,
    /// The language of the issues, a BCP 47 tag: ko, en, ja, … (default en).
    #[arg(long, value_name = "TAG")]
    pub language: Option<String>,
    /// The newsletter's IANA time zone, for send_at times and issue dates (default: Asia/Seoul
    /// for ko, Asia/Tokyo for ja; asked on a terminal for other languages, else UTC).
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// The issue's name, made under the project's issues/ (e.g. 2026-12-04-vol1), or a path with
    /// a `/`, taken as given.
    pub dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The issue folder (or its name under the project's issues/).
    pub issue: PathBuf,
    /// Where to write the files (default: ISSUE/build).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Render for this subscriber instead of the first active one.
    #[arg(long = "as", value_name = "ADDR")]
    pub as_reader: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The issue folder (or its name under the project's issues/).
    pub issue: PathBuf,
    /// human (default) or json.
    #[arg(long, value_enum, default_value = "human")]
    pub format: CheckFormat,
    /// Also ask every link target over the network whether it exists.
    #[arg(long)]
    pub links: bool,
    /// Also look up the DNS records receivers check: SPF, DKIM, DMARC, the
    /// bounce domain's MX and the relay's reverse DNS.
    #[arg(long)]
    pub dns: bool,
    /// Ask only this DNS server (UDP and TCP) instead of the system's
    /// resolver; implies --dns.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_dns_server)]
    pub dns_server: Option<std::net::SocketAddr>,
}

/// `--dns-server`: an address and port, or a name the system resolves.
fn parse_dns_server(value: &str) -> Result<std::net::SocketAddr, String> {
    use std::net::ToSocketAddrs;
    if let Ok(addr) = value.parse() {
        return Ok(addr);
    }
    let help = "give HOST:PORT, e.g. 127.0.0.1:53 or [::1]:53";
    if !value.contains(':') {
        return Err(format!("no port in `{value}`: {help}"));
    }
    value
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve `{value}` ({e}): {help}"))?
        .next()
        .ok_or_else(|| format!("`{value}` has no address: {help}"))
}

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// The issue folder (or its name under the project's issues/).
    pub issue: PathBuf,
    /// table (default) or json.
    #[arg(long, value_enum, default_value = "table")]
    pub format: StatsFormat,
}

/// Output of `stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatsFormat {
    /// A table for the terminal.
    Table,
    /// One JSON document.
    Json,
}

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
    Init(InitArgs),
    /// Scaffold a new issue folder with issue.toml and sample sections in the newsletter's
    /// language.
    New(NewArgs),
    /// Compose an issue: write email.html, email.txt, web.html and preview.eml (the message the
    /// sample reader would get, to open in a mail client), with the issue's local images.
    Build(BuildArgs),
    /// Check an issue, its config, theme and list for what would embarrass a send; exit 1 if
    /// anything is an error.
    Check(CheckArgs),
    /// Deliver an issue to the list (or --to test addresses) through the relay, resuming where an
    /// earlier run stopped; --dry-run writes the messages to files instead.
    Send(SendArgs),
    /// What happened to a sent issue: delivery, bounces and complaints, unsubscribes from its
    /// links and, with [tracking] clicks, clicks per link. Aggregates only, never a reader.
    Stats(StatsArgs),
    /// Serve /unsubscribe (one-click, RFC 8058), the web archive of sent issues and, with
    /// [subscribe], the sign-up form (double opt-in).
    Serve(ServeArgs),
    /// List the issues with a send_at (time, readers, state); `schedule run` sends those that are
    /// due, once (for cron or a systemd timer).
    Schedule {
        /// `run`: one pass.
        #[command(subcommand)]
        command: Option<ScheduleCommand>,
    },
    /// Write the web archive of sent issues (index, Atom feed, sitemap.xml, robots.txt, one page
    /// per issue) as static files for any web host.
    Archive(ArchiveArgs),
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
        command: BouncesCommand,
    },
    /// Manage the subscriber list (comments and layout of the file are kept).
    Subscribers {
        /// What to do with the list.
        #[command(subcommand)]
        command: SubscribersCommand,
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

/// `schedule` subcommands.
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// One pass: check and send each issue that is due, report those missed, then exit (0
    /// nothing failed, 2 an issue could not be sent, 1 bad input).
    Run,
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
        /// Send the confirmation mail of the subscribe form instead: the reader is added (with
        /// the [subscribe] tags) once they confirm.
        #[arg(long, conflicts_with = "tag")]
        confirm: bool,
    },
    /// Remove a reader's entry entirely.
    Remove {
        /// The address.
        address: String,
    },
    /// Print everything letterpress holds about a reader: the list's entries (with how and
    /// when they joined or left), the change log's events, every send in the journals, and the
    /// bounces recorded.
    Show {
        /// The address (any spelling of it).
        address: String,
        /// human (default) or json (one document, for an export).
        #[arg(long, value_enum, default_value = "human")]
        format: CheckFormat,
    },
    /// Erase a reader everywhere letterpress keeps them: the list, the change log, the journals,
    /// bounces.log and dry-run messages. What the promises need (no issue twice, no re-import)
    /// keeps a keyed hash; erasures.log records when, never the address.
    Forget {
        /// The address (any spelling of it).
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
        /// The header of the address column, when it is not one of email, Email Address, 이메일.
        #[arg(long, value_name = "HEADER")]
        email_column: Option<String>,
        /// Tags for every imported reader.
        #[arg(long, value_name = "TAG")]
        tag: Vec<String>,
    },
    /// Fold the change log (`<list>.changes`: unsubscribes and confirmed subscriptions recorded
    /// by `serve`) into the list file, comments kept.
    Compact,
    /// Write the list as CSV (email, name, status, tags).
    Export {
        /// A file to write instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The port to listen on.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The address to listen on; the default serves this machine only (put a reverse proxy with
    /// TLS in front for the world).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// Also serve /preview/: the drafts in issues/, reloading on save.
    #[arg(long)]
    pub preview: bool,
    /// Behind a reverse proxy: count subscribe requests per client by the first X-Forwarded-For
    /// hop instead of the peer address.
    #[arg(long)]
    pub trust_proxy: bool,
    /// Also send scheduled issues when due (a pass every 30 seconds).
    #[arg(long)]
    pub schedule: bool,
}

#[derive(Debug, clap::Args)]
pub struct ArchiveArgs {
    /// The folder to write.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}
