//! `letterpress build ISSUE [--out DIR] [--as ADDR]`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::compose::{Composed, Theme};
use crate::config::Config;
use crate::fs;
use crate::issue::Issue;
use crate::reader;
use crate::subscribers::List;

/// Composes the issue for a sample reader and writes the files.
pub fn run(
    config_path: &Path,
    issue: &Path,
    out: Option<PathBuf>,
    as_reader: Option<&str>,
) -> Result<()> {
    let config = Config::load(config_path)?;
    let issue = Issue::load(&locate_issue(&config, issue))?;
    let theme = Theme::load(&config)?;
    let composed = Composed::new(&config, &theme, &issue)?;
    let list = List::load(&config.resolve(&config.file.subscribers.file))?;
    let (email, name) = sample_reader(&list, &issue, as_reader)?;
    let secret = reader::secret_from_env(&config);
    if secret.is_none() && config.file.unsubscribe.url.is_some() {
        eprintln!(
            "note: the unsubscribe secret is not set; preview unsubscribe links carry the token `unsigned`"
        );
    }
    let values = reader::values(&config, &issue, &email, name.as_deref(), secret.as_deref());
    let web_values = reader::web_values(&config, &issue);

    let out = out.unwrap_or_else(|| issue.dir.join("build"));
    std::fs::create_dir_all(&out)
        .map_err(|e| anyhow::anyhow!("{}: cannot create the output folder: {e}", out.display()))?;
    let files = [
        ("email.html", composed.html(&values)),
        ("email.txt", composed.text(&values)),
        ("web.html", composed.html(&web_values)),
    ];
    println!("Built \"{}\" for {email}", composed.subject());
    for (name, content) in &files {
        let path = out.join(name);
        fs::replace(&path, content.as_bytes())?;
        println!(
            "  {:<40} {:>7.1} KB",
            path.display(),
            content.len() as f64 / 1000.0
        );
    }
    Ok(())
}

/// An issue named as a path, or by its folder name under `issues/`.
fn locate_issue(config: &Config, issue: &Path) -> PathBuf {
    let in_project = config.project_dir.join("issues").join(issue);
    if !issue.exists() && issue.components().count() == 1 && in_project.is_dir() {
        in_project
    } else {
        issue.to_path_buf()
    }
}

/// `--as ADDR`, or the first active reader the issue's audience reaches.
fn sample_reader(
    list: &List,
    issue: &Issue,
    as_reader: Option<&str>,
) -> Result<(String, Option<String>)> {
    if let Some(address) = as_reader {
        let Some(entry) = list.find(address) else {
            bail!(
                "{address} is not in {}\n  help: add it with `letterpress subscribers add {address}` or pick an address from the list",
                list.path.display()
            );
        };
        return Ok((
            entry.subscriber.email.clone(),
            entry.subscriber.name.clone(),
        ));
    }
    match list.audience(&issue.audience).next() {
        Some(entry) => Ok((
            entry.subscriber.email.clone(),
            entry.subscriber.name.clone(),
        )),
        None => {
            eprintln!(
                "note: no active reader in {} receives this issue; rendering for reader@example.com",
                list.path.display()
            );
            Ok(("reader@example.com".into(), None))
        }
    }
}
