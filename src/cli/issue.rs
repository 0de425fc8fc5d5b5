//! The commands on one issue: `letterpress new NAME`, `build ISSUE [--out DIR] [--as ADDR]`,
//! `check ISSUE [--format json] [--links] [--dns [--dns-server HOST:PORT]]` and `stats ISSUE [--format json]`. Wiring only.

use std::path::Path;

use anyhow::Result;

use super::Exit;
use crate::args::{BuildArgs, CheckArgs, CheckFormat, NewArgs, StatsArgs, StatsFormat};
use crate::config::Config;
use crate::project::Project;

/// Scaffolds the issue and lists its files.
pub fn new(args: NewArgs, config: &Path) -> Result<()> {
    print!("{}", crate::init::new_issue(config, &args.dir)?);
    Ok(())
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
    if let Some(images) = &built.images {
        println!("{images}");
    }
    println!("message per reader: {} bytes", built.message_bytes);
    Ok(())
}

/// Runs every check; exit 1 when there is an error.
pub fn check(args: CheckArgs, config: &Path) -> Result<Exit> {
    let dns = (args.dns || args.dns_server.is_some()).then_some(crate::check::DnsOptions {
        server: args.dns_server,
    });
    let report = crate::check::check_all(config, &args.issue, args.links, dns)?;
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

pub fn stats(args: StatsArgs, config: &Path) -> Result<()> {
    let config = Config::load(config)?;
    let stats = crate::stats::gather(&config, &crate::project::issue_dir(&config, &args.issue))?;
    match args.format {
        StatsFormat::Table => print!("{}", stats.table()),
        StatsFormat::Json => println!("{}", serde_json::to_string_pretty(&stats)?),
    }
    Ok(())
}
