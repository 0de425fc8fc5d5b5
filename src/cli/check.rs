//! `letterpress check ISSUE [--format json] [--links]`.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use super::{CheckFormat, Exit};
use crate::check::{check_issue, check_links, link_targets, Report, Scope};
use crate::project::Project;

/// Runs every check; exit 1 when there is an error.
pub fn run(config_path: &Path, issue: &Path, format: CheckFormat, links: bool) -> Result<Exit> {
    // A file that does not load is itself the finding.
    let report = load_and_check(config_path, issue, links).or_else(Report::from_load_error)?;
    match format {
        CheckFormat::Human => print!("{}", report.human()),
        CheckFormat::Json => print!("{}", report.json()),
    }
    Ok(if report.errors() > 0 {
        Exit::Refused
    } else {
        Exit::Ok
    })
}

fn load_and_check(config_path: &Path, issue: &Path, links: bool) -> Result<Report> {
    let p = Project::load(config_path, issue)?;
    let mut report = check_issue(&p.config, &p.issue, &p.theme, &p.list, Scope::All)?;
    if links {
        check_links(
            &link_targets(&p.issue)?,
            Duration::from_secs(10),
            &mut report,
        );
        report.sort();
    }
    Ok(report)
}
