//! `letterpress build ISSUE [--out DIR] [--as ADDR]`.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::project::Project;

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

impl BuildArgs {
    /// Builds the issue for a sample reader and lists the files written.
    pub fn run(self, config: &Path) -> Result<()> {
        let project = Project::load(config, &self.issue)?;
        let built = crate::build::build(&project, self.out.as_deref(), self.as_reader.as_deref())?;
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
}
