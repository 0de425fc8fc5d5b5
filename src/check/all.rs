//! `letterpress check` on a project: every file that loads is checked, and
//! every one that does not is reported with all its problems, in one run.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use super::{
    check_dns, check_issue, check_links, check_setup, link_targets, DnsOptions, Report, Scope,
};
use crate::compose::Theme;
use crate::config::{project_dir, Config};
use crate::issue::Issue;
use crate::list::List;
use crate::project::{issue_dir, issue_dir_in};

/// `letterpress check`: loads every file it can and checks what loaded: a file that
/// does not load is reported with all its problems, and the other files
/// are still read and their problems reported in the same run. With `dns`,
/// the records receivers look up are checked too.
pub fn check_all(
    config_path: &Path,
    issue: &Path,
    links: bool,
    dns: Option<DnsOptions>,
) -> Result<Report> {
    let mut report = Report::default();
    let config = loaded(&mut report, Config::load(config_path))?;
    let dir = match &config {
        Some(config) => issue_dir(config, issue),
        None => issue_dir_in(&project_dir(config_path), issue),
    };
    let issue = loaded(&mut report, Issue::load(&dir))?;
    let (theme, list) = match &config {
        Some(config) => (
            loaded(&mut report, Theme::load(config))?,
            loaded(&mut report, List::load(&config.list_path()))?,
        ),
        None => (None, None),
    };
    let (Some(config), Some(theme), Some(list)) = (config, theme, list) else {
        report.sort();
        return Ok(report);
    };
    let Some(issue) = issue else {
        // What did load is still checked.
        check_setup(&config, &theme, &list, Scope::All, &mut report)?;
        report.sort();
        return Ok(report);
    };
    let mut checked = check_issue(&config, &issue, &theme, &list, Scope::All)?;
    checked.findings.append(&mut report.findings);
    let mut report = checked;
    if links {
        check_links(&link_targets(&issue)?, Duration::from_secs(10), &mut report);
    }
    if let Some(dns) = dns {
        check_dns(&config, dns, &mut report)?;
    }
    report.sort();
    Ok(report)
}

/// `Some` of what loaded; a file that did not load adds its problems to
/// `report` and gives `None`.
fn loaded<T>(report: &mut Report, result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) => report.add_load_error(e).map(|()| None),
    }
}
