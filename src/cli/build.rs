//! `letterpress build ISSUE [--out DIR] [--as ADDR]`.

use std::path::Path;

use anyhow::Result;

use crate::project::Project;

/// Builds the issue for a sample reader and lists the files written.
pub fn run(config: &Path, issue: &Path, out: Option<&Path>, as_reader: Option<&str>) -> Result<()> {
    let project = Project::load(config, issue)?;
    let built = crate::build::build(&project, out, as_reader)?;
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
