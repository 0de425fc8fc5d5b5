//! `letterpress check ISSUE [--format json] [--links]`.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use super::{compose_issue, CheckFormat};
use crate::check::{check_issue, check_links, link_targets, Level, Report, Scope};
use crate::error::Located;
use crate::subscribers::List;

/// Runs every check; exit 1 when there is an error.
pub fn run(config_path: &Path, issue: &Path, format: CheckFormat, links: bool) -> Result<u8> {
    let report = match load_and_check(config_path, issue, links) {
        Ok(report) => report,
        // A file that does not load is itself the finding.
        Err(e) => match e.chain().find_map(|c| c.downcast_ref::<Located>()) {
            Some(located) => {
                let mut report = Report::default();
                report.findings.push(crate::check::Finding {
                    file: located.path.clone(),
                    line: located.line,
                    level: Level::Error,
                    message: located.help.as_ref().map_or_else(
                        || located.message.clone(),
                        |h| format!("{} ({h})", located.message),
                    ),
                });
                report
            }
            None => return Err(e),
        },
    };
    match format {
        CheckFormat::Human => print!("{}", report.human()),
        CheckFormat::Json => print!("{}", report.json()),
    }
    Ok(if report.errors() > 0 { 1 } else { 0 })
}

fn load_and_check(config_path: &Path, issue: &Path, links: bool) -> Result<Report> {
    let (config, issue, theme) = compose_issue(config_path, issue)?;
    let list = List::load(&config.resolve(&config.file.subscribers.file))?;
    let mut report = check_issue(&config, &issue, &theme, &list, Scope::All)?;
    if links {
        check_links(&link_targets(&issue)?, Duration::from_secs(10), &mut report);
        report.sort();
    }
    Ok(report)
}
