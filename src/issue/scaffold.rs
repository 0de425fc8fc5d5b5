//! `letterpress new DIR`: a new issue folder with sample sections.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::fs::write_atomic;
use crate::time::today;

/// Creates `dir` with an `issue.toml` and three sample sections; the
/// files written.
pub fn scaffold(dir: &Path) -> Result<Vec<PathBuf>> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "{}: the folder already exists and is not empty\n  help: pick a new folder name, e.g. issues/{}",
            dir.display(),
            today()
        );
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("{}: cannot create the folder: {e}", dir.display()))?;
    let files = [
        ("issue.toml", issue_toml(&today())),
        ("01-intro.md", INTRO.to_string()),
        ("02-story.md", STORY.to_string()),
        ("03-note.md", NOTE.to_string()),
    ];
    let mut written = Vec::with_capacity(files.len());
    for (name, text) in &files {
        let path = dir.join(name);
        write_atomic(&path, text.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

fn issue_toml(date: &str) -> String {
    format!(
        r#"subject   = "The subject line readers see"
preheader = "The preview text shown after the subject in the inbox"
date      = {date}
# number    = 1            # shown in the masthead
# toc       = true         # list the story titles at the top
# audience  = ["weekly"]   # only readers carrying one of these tags
# advertising = false      # true prefixes the subject with (광고) / ad_prefix
# sections  = ["01-intro.md", "02-story.md", "03-note.md"]   # explicit order
"#
    )
}

const INTRO: &str = r#"+++
kind = "intro"
+++
Hello {{ name | "reader" }}, welcome to this issue.
"#;

const STORY: &str = r#"+++
title     = "A story title"
link      = "https://example.com/articles/story"
# link_text = "Read the article"
# image     = "https://example.com/img/story.jpg"
# image_alt = "What the image shows"
+++
Write the story in Markdown: **bold**, *italic*, [links](https://example.com),
lists, tables and footnotes all work.
"#;

const NOTE: &str = r#"+++
kind  = "note"
title = "From the editor"
+++
Thanks for reading. Reply to this email to tell us what you think.
"#;
