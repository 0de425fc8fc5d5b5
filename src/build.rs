//! `letterpress build`: the files of an issue for one sample reader:
//! `email.html`, `email.txt`, `web.html` (nobody's data) and
//! `preview.eml`, the message that reader would get, plus the issue's own
//! images for the HTML files.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::compose::values;
use crate::compose::Composed;
use crate::fs;
use crate::list::parse_address;
use crate::message::{run_date, secret, Factory, Purpose};
use crate::project::Project;

/// What a build wrote.
pub struct Built {
    /// The subject.
    pub subject: String,
    /// The sample reader's address.
    pub reader: String,
    /// Notes for the user (a stand-in reader, unsigned links).
    pub notes: Vec<String>,
    /// Each file written, with its size in bytes.
    pub files: Vec<(PathBuf, usize)>,
    /// How the images travel ("images: 2 attached as cid: parts (…)").
    pub images: Option<String>,
    /// The size of the sample reader's message, bytes.
    pub message_bytes: usize,
}

/// Builds `project`'s issue into `out` (default `ISSUE/build`) for the
/// reader `as_reader` (default: the first the issue reaches).
pub fn build(project: &Project, out: Option<&Path>, as_reader: Option<&str>) -> Result<Built> {
    let (config, issue) = (&project.config, &project.issue);
    let composed = Composed::new(config, &project.theme, issue)?;
    let sample = project.sample_strict(as_reader)?;
    let secret = secret::secret_from_env(config)?;
    let mut notes = Vec::new();
    if !sample.from_list {
        notes.push(format!(
            "note: no active reader in {} receives this issue; rendering for {}",
            project.list.path.display(),
            sample.email
        ));
    }
    if secret.is_none() && config.file.unsubscribe.url.is_some() {
        notes.push("note: the unsubscribe secret is not set; preview unsubscribe links carry the token `unsigned`".into());
    }
    let name = sample.name.as_deref();
    let values = values::values(config, issue, &sample.email, name, secret.as_deref());
    let address = parse_address(&sample.email).map_err(anyhow::Error::msg)?;
    let preview =
        Factory::new(&composed, secret, run_date())?.build(&address, name, Purpose::List)?;
    let message_bytes = preview.bytes.len();
    let out = out.map_or_else(|| issue.dir.join("build"), Path::to_path_buf);
    let documents = [
        ("email.html", composed.html(&values).into_bytes()),
        ("email.txt", composed.text(&values).into_bytes()),
        ("web.html", composed.web_html()?.into_bytes()),
        ("preview.eml", preview.bytes),
    ];
    let mut files = Vec::with_capacity(documents.len());
    for (file, bytes) in documents {
        let path = out.join(file);
        fs::replace_creating(&path, &bytes)?;
        files.push((path, bytes.len()));
    }
    // The HTML files refer to the issue's own images by relative path.
    for image in &issue.images {
        fs::replace_creating(&out.join(&image.src), &image.bytes)?;
    }
    Ok(Built {
        subject: composed.subject().to_string(),
        reader: sample.email,
        notes,
        files,
        images: composed.images_line(),
        message_bytes,
    })
}
