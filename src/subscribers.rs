//! `subscribers.toml`: the readers, their status and tags.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Deserialize;
use toml::Spanned;

use crate::error::{line_col, read_text, Located};

/// Where a reader stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Receives issues.
    #[default]
    Active,
    /// Asked to stop.
    Unsubscribed,
    /// The address does not accept mail.
    Bounced,
}

/// One `[[subscriber]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscriber {
    /// The address.
    pub email: String,
    /// Display name, used by `{{ name }}`.
    pub name: Option<String>,
    /// active, unsubscribed or bounced.
    #[serde(default)]
    pub status: Status,
    /// Tags matched against an issue's `audience`.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A reader with the line of its entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The entry.
    pub subscriber: Subscriber,
    /// 1-based line of the `[[subscriber]]` table.
    pub line: usize,
}

/// The loaded list.
#[derive(Debug, Clone)]
pub struct List {
    /// The file it came from.
    pub path: PathBuf,
    /// The entries in file order.
    pub entries: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListFile {
    #[serde(default)]
    subscriber: Vec<Spanned<Subscriber>>,
}

impl List {
    /// Loads `path`.
    pub fn load(path: &Path) -> Result<List> {
        let source = read_text(path)?;
        let file: ListFile =
            toml::from_str(&source).map_err(|e| Located::from_toml(path, &source, 0, &e))?;
        let entries = file
            .subscriber
            .into_iter()
            .map(|spanned| {
                let line = line_col(&source, spanned.span().start).0;
                Entry {
                    subscriber: spanned.into_inner(),
                    line,
                }
            })
            .collect();
        Ok(List {
            path: path.to_path_buf(),
            entries,
        })
    }

    /// Active readers carrying one of `audience` (all active ones when empty).
    pub fn audience<'a>(&'a self, audience: &'a [String]) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |e| {
            e.subscriber.status == Status::Active
                && (audience.is_empty() || e.subscriber.tags.iter().any(|t| audience.contains(t)))
        })
    }

    /// The entry for `address`, compared case-insensitively.
    pub fn find(&self, address: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.subscriber.email.eq_ignore_ascii_case(address))
    }
}
