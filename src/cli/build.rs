//! `letterpress build ISSUE [--out DIR] [--as ADDR]`.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::compose::Composed;
use crate::fs;
use crate::message::{reader, run_date, Factory, Purpose};
use crate::project::Project;
use crate::subscribers::parse_address;

/// Composes the issue for a sample reader and writes the files, plus
/// `preview.eml`, the message that reader would get.
pub fn run(
    config_path: &Path,
    issue: &Path,
    out: Option<PathBuf>,
    as_reader: Option<&str>,
) -> Result<()> {
    let project = Project::load(config_path, issue)?;
    let (config, issue) = (&project.config, &project.issue);
    let composed = Composed::new(config, &project.theme, issue)?;
    let sample = project.sample_strict(as_reader)?;
    if !sample.from_list {
        eprintln!(
            "note: no active reader in {} receives this issue; rendering for {}",
            project.list.path.display(),
            sample.email
        );
    }
    let secret = reader::secret_from_env(config)?;
    if secret.is_none() && config.file.unsubscribe.url.is_some() {
        eprintln!("note: the unsubscribe secret is not set; preview unsubscribe links carry the token `unsigned`");
    }
    let values = reader::values(
        config,
        issue,
        &sample.email,
        sample.name.as_deref(),
        secret.as_deref(),
    );
    let out = out.unwrap_or_else(|| issue.dir.join("build"));
    std::fs::create_dir_all(&out)
        .map_err(|e| anyhow::anyhow!("{}: cannot create the output folder: {e}", out.display()))?;
    let address = parse_address(&sample.email).map_err(anyhow::Error::msg)?;
    let preview = Factory::new(&composed, secret, run_date())?.build(
        &address,
        sample.name.as_deref(),
        Purpose::List,
    )?;
    println!("Built \"{}\" for {}", composed.subject(), sample.email);
    let files = [
        ("email.html", composed.html(&values).into_bytes()),
        ("email.txt", composed.text(&values).into_bytes()),
        (
            "web.html",
            composed
                .html(&reader::web_values(config, issue))
                .into_bytes(),
        ),
        ("preview.eml", preview.bytes),
    ];
    for (name, bytes) in files {
        let path = out.join(name);
        fs::replace(&path, &bytes)?;
        println!(
            "  {:<40} {:>7.1} KB",
            path.display(),
            bytes.len() as f64 / 1000.0
        );
    }
    // The HTML files refer to the issue's own images by relative path.
    for image in &issue.images {
        fs::replace_creating(&out.join(&image.src), &image.bytes)?;
    }
    Ok(())
}
