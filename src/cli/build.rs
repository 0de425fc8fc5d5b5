//! `letterpress build ISSUE [--out DIR] [--as ADDR]`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::compose::Composed;
use crate::fs;
use crate::issue::Issue;
use crate::message::{run_date, Factory, Purpose};
use crate::reader;
use crate::subscribers::{parse_address, List};

/// Composes the issue for a sample reader and writes the files, plus
/// `preview.eml`, the message that reader would get.
pub fn run(
    config_path: &Path,
    issue: &Path,
    out: Option<PathBuf>,
    as_reader: Option<&str>,
) -> Result<()> {
    let (config, issue, theme) = super::compose_issue(config_path, issue)?;
    let composed = Composed::new(&config, &theme, &issue)?;
    let list = List::load(&config.resolve(&config.file.subscribers.file))?;
    let (email, name) = sample_reader(&list, &issue, as_reader)?;
    let secret = reader::secret_from_env(&config)?;
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
    let address = parse_address(&email).map_err(|e| anyhow::anyhow!("{e}"))?;
    let factory = Factory::new(&composed, secret, run_date())?;
    let preview = factory.build(&address, name.as_deref(), Purpose::List)?;
    println!("Built \"{}\" for {email}", composed.subject());
    let files = files
        .iter()
        .map(|(name, text)| (*name, text.as_bytes()))
        .chain([("preview.eml", preview.bytes.as_slice())]);
    for (name, bytes) in files {
        let path = out.join(name);
        fs::replace(&path, bytes)?;
        println!(
            "  {:<40} {:>7.1} KB",
            path.display(),
            bytes.len() as f64 / 1000.0
        );
    }
    // The HTML files refer to the issue's own images by relative path.
    for image in &issue.images {
        let path = out.join(&image.src);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        fs::replace(&path, &image.bytes)?;
    }
    Ok(())
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
    match list.recipients(&issue.audience, &[]).first() {
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
