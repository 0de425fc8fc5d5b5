//! `letterpress check`: everything that would embarrass a send, found
//! before it goes out: content, size, accessibility, deliverability and the
//! list. Each finding names the file and line that cause it.

mod all;
mod content;
mod dns;
mod issue_file;
mod links;
mod message;
mod setup;
mod text;

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use crate::compose::{Composed, Theme};
use crate::config::Config;
use crate::issue::Issue;
use crate::list::List;

pub use all::check_all;
pub use content::link_targets;
pub use dns::{check_dns, DnsOptions};
pub use links::check_links;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Stops a send (unless `--force`).
    Error,
    /// Worth fixing; the send goes on.
    Warning,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The file that causes it.
    pub file: PathBuf,
    /// 1-based line in that file.
    pub line: usize,
    /// Error or warning.
    pub level: Level,
    /// What is wrong and what to do.
    pub message: String,
}

/// All findings of a check.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// The findings, by file and line.
    pub findings: Vec<Finding>,
    /// Figures worth knowing that are not findings (the list's bounce and
    /// complaint rates).
    pub notes: Vec<String>,
}

impl Report {
    /// Adds the problems of a file that does not load, each at its place;
    /// an error about no place is given back.
    pub fn add_load_error(&mut self, e: anyhow::Error) -> anyhow::Result<()> {
        let found = match crate::error::located_parts(e) {
            Ok(found) => found,
            // A located error under a context (a theme's file).
            Err(e) => match e
                .chain()
                .find_map(|c| c.downcast_ref::<crate::error::Located>())
            {
                Some(located) => vec![located.clone()],
                None => return Err(e),
            },
        };
        for located in found {
            let message = located.help.as_ref().map_or_else(
                || located.message.clone(),
                |h| format!("{} ({h})", located.message),
            );
            self.add(&located.path, located.line, Level::Error, message);
        }
        Ok(())
    }

    fn add(&mut self, file: &Path, line: usize, level: Level, message: impl Into<String>) {
        self.findings.push(Finding {
            file: file.to_path_buf(),
            line,
            level,
            message: message.into(),
        });
    }

    /// [`Report::human`], or nothing when there are no findings.
    pub fn human_if_any(&self) -> String {
        match self.findings.is_empty() {
            true => String::new(),
            false => self.human(),
        }
    }

    /// Number of errors.
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.level == Level::Error)
            .count()
    }

    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.findings.len() - self.errors()
    }

    /// Sorts by file, then line, errors first; drops repeats.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (&a.file, a.line, a.level, &a.message).cmp(&(&b.file, b.line, b.level, &b.message))
        });
        self.findings.dedup();
    }

    /// `file:line: level: message` lines grouped by file, then the counts.
    pub fn human(&self) -> String {
        let mut out = String::new();
        let mut last: Option<&Path> = None;
        for f in &self.findings {
            if last.is_some_and(|l| l != f.file) {
                out.push('\n');
            }
            last = Some(&f.file);
            let level = match f.level {
                Level::Error => "error",
                Level::Warning => "warning",
            };
            out.push_str(&format!(
                "{}:{}: {level}: {}\n",
                f.file.display(),
                f.line,
                f.message
            ));
        }
        let (e, w) = (self.errors(), self.warnings());
        if !self.findings.is_empty() {
            out.push('\n');
        }
        for note in &self.notes {
            out.push_str(&format!("note: {note}\n"));
        }
        out.push_str(&format!(
            "{e} error{}, {w} warning{}\n",
            plural(e),
            plural(w)
        ));
        out
    }

    /// The report as JSON, for tools.
    pub fn json(&self) -> String {
        #[derive(Serialize)]
        struct Out<'a> {
            findings: &'a [Finding],
            notes: &'a [String],
            errors: usize,
            warnings: usize,
        }
        let out = Out {
            findings: &self.findings,
            notes: &self.notes,
            errors: self.errors(),
            warnings: self.warnings(),
        };
        serde_json::to_string_pretty(&out).expect("findings serialise") + "\n"
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// 1-based line of the first occurrence of `needle` in `text` (1 if absent).
fn line_of(text: &str, needle: &str) -> usize {
    text.find(needle)
        .map_or(1, |i| text[..i].matches('\n').count() + 1)
}

/// What to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything, the list's invalid entries included (`check`).
    All,
    /// Everything but the list's invalid entries, which `send` handles with
    /// `--skip-invalid`.
    BeforeSend,
}

/// Checks an issue with its config, theme and list. A file that cannot be
/// loaded at all is reported as one error finding at its place.
pub fn check_issue(
    config: &Config,
    issue: &Issue,
    theme: &Theme,
    list: &List,
    scope: Scope,
) -> Result<Report> {
    let mut report = Report::default();
    // The sample reader: proof that the issue reaches anyone, and the
    // reader of the message checks.
    let sample = crate::project::sample(list, issue, None);
    content::check_sections(issue, &mut report)?;
    issue_file::check_issue_file(config, issue, list, sample.from_list, &mut report)?;
    setup::check_config(config, &mut report)?;
    issue_file::check_tags_need_config(config, issue, &mut report)?;
    setup::check_contrast(theme, &mut report);
    setup::check_list(list, scope, &mut report);
    setup::check_bounces(config, &mut report)?;
    setup::check_consent(config, list, &mut report)?;
    let (_, paused) = list.reached(&issue.audience, &[], jiff::Timestamp::now());
    if let Some(paused) = paused.describe() {
        report
            .notes
            .push(format!("{paused}: a send now skips them"));
    }
    message::check_images(config, issue, theme, &mut report)?;
    match Composed::new(config, theme, issue) {
        Ok(composed) => message::check_message(config, issue, &composed, &sample, &mut report)?,
        // The checks above name the cause at its line; this is the fallback.
        Err(e) if report.errors() == 0 => {
            report.add(&config.path, 1, Level::Error, format!("{e:#}"))
        }
        Err(_) => {}
    }
    report.sort();
    Ok(report)
}

/// The checks of the config, the theme and the list alone, for a run in
/// which the issue did not load: their findings still show in that run.
pub fn check_setup(
    config: &Config,
    theme: &Theme,
    list: &List,
    scope: Scope,
    report: &mut Report,
) -> Result<()> {
    setup::check_config(config, report)?;
    setup::check_contrast(theme, report);
    setup::check_list(list, scope, report);
    setup::check_bounces(config, report)?;
    Ok(())
}
