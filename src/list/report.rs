//! What the `subscribers` commands print: the list as a table with its
//! counts, and what an import did.

use std::io::Write;
use std::path::Path;

use anyhow::Result;

use super::{ImportReport, List, Paused, Severity, Status};
use crate::text::plural;

/// The list's findings, one `file:line: level: message` line each; invalid
/// entries with the level `errors` ("error", or "skipped" for a send with
/// `--skip-invalid`), or left out when it is `None`.
pub fn findings(list: &List, errors: Option<&str>) -> String {
    let mut out = String::new();
    for f in &list.findings {
        let level = match (f.severity, errors) {
            (Severity::Error, Some(level)) => level,
            (Severity::Error, None) => continue,
            (Severity::Warning, _) => "warning",
        };
        out.push_str(&format!(
            "{}:{}: {level}: {}\n",
            list.path.display(),
            f.line,
            f.message
        ));
    }
    out
}

/// The readers carrying one of `tags` (all when empty), tab-separated,
/// unless `count_only`; then their counts.
pub fn table(list: &List, tags: &[String], count_only: bool, out: &mut dyn Write) -> Result<()> {
    let shown: Vec<_> = list
        .entries
        .iter()
        .filter(|e| tags.is_empty() || e.tags().iter().any(|t| tags.contains(t)))
        .collect();
    let mut out = std::io::BufWriter::new(out);
    if !count_only {
        for e in &shown {
            let s = &e.subscriber();
            let name = s.name.as_deref().unwrap_or("");
            // A fifth column for a reader with a pause, ended or not.
            let paused = s
                .paused_until
                .as_deref()
                .map_or(String::new(), |at| format!("\tpaused until {at}"));
            writeln!(
                out,
                "{}\t{name}\t{}\t{}{paused}",
                s.email,
                s.status.as_str(),
                s.tags.join(",")
            )?;
        }
    }
    let c = list.counts(shown.iter().copied());
    let now = jiff::Timestamp::now();
    let mut paused = Paused::default();
    for e in shown.iter().filter(|e| e.status() == Status::Active) {
        if let Some(until) = e.paused(now) {
            paused.add(until);
        }
    }
    let paused = paused
        .describe()
        .map_or(String::new(), |p| format!(" ({p})"));
    writeln!(
        out,
        "{} readers: {} active{paused}, {} unsubscribed, {} bounced; {} invalid, {} duplicate",
        shown.len(),
        c.active,
        c.unsubscribed,
        c.bounced,
        c.invalid,
        c.duplicates
    )?;
    Ok(())
}

impl ImportReport {
    /// The rows skipped, one `file:line: skipped: why` line each.
    pub fn skipped(&self, csv: &Path) -> String {
        let mut out = String::new();
        for (line, why) in &self.invalid {
            out.push_str(&format!("{}:{line}: skipped: {why}\n", csv.display()));
        }
        for (line, email) in &self.duplicates {
            out.push_str(&format!(
                "{}:{line}: skipped: {email} is already in the list\n",
                csv.display()
            ));
        }
        for line in &self.forgotten {
            out.push_str(&format!(
                "{}:{line}: skipped: this reader asked to be forgotten (subscribers forget); they come back only by subscribing themselves\n",
                csv.display()
            ));
        }
        out
    }

    /// One line on what the import did to `list`.
    pub fn summary(&self, list: &Path) -> String {
        let forgotten = match self.forgotten.len() {
            0 => String::new(),
            n => format!(" and {n} of readers who asked to be forgotten"),
        };
        format!(
            "Imported {} reader{} into {}; skipped {} invalid and {} duplicate row{}{forgotten}.",
            self.added,
            plural(self.added),
            list.display(),
            self.invalid.len(),
            self.duplicates.len(),
            plural(self.duplicates.len())
        )
    }
}
