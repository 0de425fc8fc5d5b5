//! The commands on one issue: `letterpress new NAME`, `build ISSUE [--out DIR] [--as ADDR]`,
//! `check ISSUE [--format json] [--links]` and `stats ISSUE [--format json]`. Wiring only.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{CheckFormat, Exit};
use crate::config::Config;
use crate::project::Project;

#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// The issue's name, made under the project's issues/ (e.g. 2026-12-04-vol1), or a path with
    /// a `/`, taken as given.
    dir: PathBuf,
}

/// Scaffolds the issue and lists its files.
pub fn new(args: NewArgs, config: &Path) -> Result<()> {
    print!("{}", crate::init::new_issue(config, &args.dir)?);
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The issue folder (or its name under the project's issues/).
    issue: PathBuf,
    /// Where to write the files (default: ISSUE/build).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Render for this subscriber instead of the first active one.
    #[arg(long = "as", value_name = "ADDR")]
    as_reader: Option<String>,
}

/// Builds the issue for a sample reader and lists the files written.
pub fn build(args: BuildArgs, config: &Path) -> Result<()> {
    let project = Project::load(config, &args.issue)?;
    let built = crate::build::build(&project, args.out.as_deref(), args.as_reader.as_deref())?;
    for note in &built.notes {
        eprintln!("{note}");
    }
    println!("Built \"{}\" for {}", built.subject, built.reader);
    for (path, bytes) in &built.files {
        println!(
            "  {:<40} {:>7.1} KB",
            path.display(),
            *bytes as f64 / 1000.0
        );
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The issue folder (or its name under the project's issues/).
    issue: PathBuf,
    /// human (default) or json.
    #[arg(long, value_enum, default_value = "human")]
    format: CheckFormat,
    /// Also ask every link target over the network whether it exists.
    #[arg(long)]
    links: bool,
}

/// Runs every check; exit 1 when there is an error.
pub fn check(args: CheckArgs, config: &Path) -> Result<Exit> {
    let report = crate::check::check_all(config, &args.issue, args.links)?;
    match args.format {
        CheckFormat::Human => print!("{}", report.human()),
        CheckFormat::Json => print!("{}", report.json()),
    }
    Ok(if report.errors() > 0 {
        Exit::Refused
    } else {
        Exit::Ok
    })
}

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// The issue folder (or its name under the project's issues/).
    issue: PathBuf,
    /// table (default) or json.
    #[arg(long, value_enum, default_value = "table")]
    format: StatsFormat,
}

/// Output of `stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum StatsFormat {
    /// A table for the terminal.
    Table,
    /// One JSON document.
    Json,
}

pub fn stats(args: StatsArgs, config: &Path) -> Result<()> {
    let config = Config::load(config)?;
    let stats = crate::stats::gather(&config, &crate::project::issue_dir(&config, &args.issue))?;
    match args.format {
        StatsFormat::Table => print!("{}", stats.table()),
        StatsFormat::Json => println!("{}", serde_json::to_string_pretty(&stats)?),
    }
    Ok(())
}
