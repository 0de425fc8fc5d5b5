//! `letterpress check ISSUE [--format json] [--links]`.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{CheckFormat, Exit};

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

impl CheckArgs {
    /// Runs every check; exit 1 when there is an error.
    pub fn run(self, config: &Path) -> Result<Exit> {
        let report = crate::project::check(config, &self.issue, self.links)?;
        match self.format {
            CheckFormat::Human => print!("{}", report.human()),
            CheckFormat::Json => print!("{}", report.json()),
        }
        Ok(if report.errors() > 0 {
            Exit::Refused
        } else {
            Exit::Ok
        })
    }
}
