//! `letterpress new DIR`: scaffold an issue folder.

use std::path::Path;

use anyhow::{bail, Result};

use crate::fs::write_atomic;

/// Creates `dir` with an `issue.toml` and three sample sections.
pub fn run(dir: &Path) -> Result<()> {
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
    for (name, text) in &files {
        write_atomic(&dir.join(name), text.as_bytes())?;
    }
    println!("Created {}:", dir.display());
    for (name, _) in &files {
        println!("  {}", dir.join(name).display());
    }
    println!(
        "Edit the sections, then run: letterpress build {}",
        dir.display()
    );
    Ok(())
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

/// Today's date (UTC) as YYYY-MM-DD.
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 → (year, month, day), after Howard Hinnant's
/// `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_419), (2025, 11, 27));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
