//! One loading path for `build`, `check`, `send` and the preview: the
//! config, the issue (a path, or a folder name under the project's
//! `issues/`), the theme and the list, and the one sample reader.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::compose::Theme;
use crate::config::Config;
use crate::issue::Issue;
use crate::list::List;

/// Everything an issue is composed, checked and sent from.
pub struct Project {
    /// `newsletter.toml`.
    pub config: Config,
    /// The issue.
    pub issue: Issue,
    /// The theme the config names.
    pub theme: Theme,
    /// `subscribers.toml`.
    pub list: List,
}

/// The reader a preview or build is rendered for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// The address.
    pub email: String,
    /// The name, if the list has one.
    pub name: Option<String>,
    /// Whether the reader is from the list (else the stand-in
    /// `reader@example.com`, when the issue reaches nobody).
    pub from_list: bool,
}

/// The address used when no reader of the list receives the issue.
pub const STAND_IN: &str = "reader@example.com";

impl Project {
    /// Loads the config at `config_path` and the issue `issue`: a folder,
    /// or the name of a folder under the project's `issues/`.
    pub fn load(config_path: &Path, issue: &Path) -> Result<Project> {
        let config = Config::load(config_path)?;
        let dir = issue_dir(&config, issue);
        Project::with_config(config, &dir)
    }

    /// Loads the issue in `dir`, its theme and list, for `config`.
    pub fn with_config(config: Config, dir: &Path) -> Result<Project> {
        let issue = Issue::load(dir)?;
        let theme = Theme::load(&config)?;
        let list = List::load(&config.list_path())?;
        Ok(Project {
            config,
            issue,
            theme,
            list,
        })
    }

    /// The sample reader: `wanted` when it is in the list, else the first
    /// reader the issue reaches, else the stand-in address.
    pub fn sample(&self, wanted: Option<&str>) -> Sample {
        sample(&self.list, &self.issue, wanted)
    }

    /// Like [`Project::sample`], but a `wanted` address that is not in the
    /// list is an error (`build --as`).
    pub fn sample_strict(&self, wanted: Option<&str>) -> Result<Sample> {
        if let Some(address) = wanted {
            if self.list.find(address).is_none() {
                bail!(
                    "{address} is not in {}\n  help: add it with `letterpress subscribers add {address}` or pick an address from the list",
                    self.list.path.display()
                );
            }
        }
        Ok(self.sample(wanted))
    }
}

/// The sample reader of `issue` in `list`: `wanted` when it is in the
/// list, else the first reader the issue reaches, else the stand-in.
pub fn sample(list: &List, issue: &Issue, wanted: Option<&str>) -> Sample {
    let entry = wanted
        .and_then(|w| list.find(w))
        .or_else(|| list.recipients(&issue.audience, &[]).first().copied());
    match entry {
        Some(e) => Sample {
            email: e.email().to_string(),
            name: e.name().map(str::to_string),
            from_list: true,
        },
        None => Sample {
            email: STAND_IN.into(),
            name: None,
            from_list: false,
        },
    }
}

/// The issue folder `issue` names: a path as given, or a folder name under
/// the project's `issues/` when no such path exists.
pub fn issue_dir(config: &Config, issue: &Path) -> PathBuf {
    issue_dir_in(&config.project_dir, issue)
}

/// [`issue_dir`] for the project in `project_dir`.
pub fn issue_dir_in(project_dir: &Path, issue: &Path) -> PathBuf {
    let in_project = crate::config::issues_dir(project_dir).join(issue);
    if !issue.exists() && issue.components().count() == 1 && in_project.is_dir() {
        in_project
    } else {
        issue.to_path_buf()
    }
}
