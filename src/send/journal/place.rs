//! Where an issue's journals live and whose they are.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::{read, Lock, Outcome, State};

/// Where an issue's journals and locks live, and whose they are.
#[derive(Debug, Clone)]
pub struct Place {
    /// `state_dir`.
    pub dir: PathBuf,
    /// The file name stem: the issue folder's name for an issue in the
    /// project's `issues/`; for one elsewhere, the name and a hash of its
    /// path, so that two folders of one name never share a journal.
    pub name: String,
    /// The issue's folder, relative to the project for one in `issues/`:
    /// written into the journal's header and checked on every run.
    pub owner: String,
    /// `--shard K/N`.
    pub shard: Option<(u32, u32)>,
}

impl Place {
    /// The place of the issue in `issue_dir` of the project in `project_dir`.
    pub fn new(
        state_dir: PathBuf,
        project_dir: &Path,
        issue_dir: &Path,
        shard: Option<(u32, u32)>,
    ) -> Place {
        let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let issues = real(&crate::config::issues_dir(project_dir));
        let dir = real(issue_dir);
        let folder = dir
            .file_name()
            .map_or_else(|| "issue".into(), |n| n.to_string_lossy().into_owned());
        let (name, owner) = if dir.parent() == Some(issues.as_path()) {
            (folder.clone(), format!("issues/{folder}"))
        } else {
            use sha2::Digest;
            let owner = dir.display().to_string();
            let digest = sha2::Sha256::digest(owner.as_bytes());
            let hash: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
            (format!("{folder}-{hash}"), owner)
        };
        Place {
            dir: state_dir,
            name,
            owner,
            shard,
        }
    }

    fn stem(&self) -> String {
        match self.shard {
            Some((k, n)) => format!("{}.shard-{k}-of-{n}", self.name),
            None => self.name.clone(),
        }
    }

    /// This run's journal.
    pub fn journal(&self) -> PathBuf {
        self.dir.join(format!("{}.journal", self.stem()))
    }

    /// The outcomes this run must respect: those of every journal of the
    /// issue (plain and every shard split), each checked to be this issue's.
    pub fn state(&self) -> Result<State> {
        let paths = journals_of(&self.dir, &self.name)?;
        for path in &paths {
            check_owner(path, &self.owner)?;
        }
        read_all(&paths)
    }

    /// The locks of this run: the issue's lock, exclusive for a plain send
    /// and shared among shards, and a shard's own lock.
    pub fn lock(&self) -> Result<Vec<Lock>> {
        let issue = self.dir.join(format!("{}.lock", self.name));
        match self.shard {
            None => Ok(vec![Lock::take(&issue)?]),
            Some(_) => Ok(vec![
                Lock::take_shared(&issue)?,
                Lock::take(&self.dir.join(format!("{}.lock", self.stem())))?,
            ]),
        }
    }
}

/// The line of a journal's header that names the issue it belongs to.
const OWNER: &str = "# issue: ";

/// The header of a new journal: a title and the issue it belongs to.
pub fn header(subject: &str, owner: &str) -> String {
    format!("letterpress delivery journal of \"{subject}\"\n{OWNER}{owner}")
}

/// Fails when the journal at `path` was written for another issue than
/// `owner` (two issue folders of the same name elsewhere). Journals from
/// before the owner was written down are taken as they are.
pub fn check_owner(path: &Path, owner: &str) -> Result<()> {
    let Ok(file) = File::open(path) else {
        return Ok(());
    };
    use std::io::BufRead;
    let lines = std::io::BufReader::new(file).lines().take(8);
    for line in lines.map_while(std::result::Result::ok) {
        if !line.starts_with('#') {
            break;
        }
        if let Some(theirs) = line.strip_prefix(OWNER) {
            if theirs != owner {
                bail!(
                    "{}: this journal belongs to the issue {theirs}, not to {owner}; the two folders have the same name\n  help: rename one of the issue folders, or move the journal away if {theirs} no longer exists",
                    path.display()
                );
            }
        }
    }
    Ok(())
}

/// Whether `file_name` is a journal of the issue journaled as `name`:
/// `<name>.journal` or `<name>.shard-K-of-N.journal`, exactly.
pub fn is_journal_of(file_name: &str, name: &str) -> bool {
    let Some(rest) = file_name
        .strip_prefix(name)
        .and_then(|r| r.strip_suffix(".journal"))
    else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let Some(shard) = rest.strip_prefix(".shard-") else {
        return false;
    };
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    shard
        .split_once("-of-")
        .is_some_and(|(k, n)| number(k) && number(n))
}

/// Every journal of the issue journaled as `name` in `dir`: the plain one
/// and those of every shard split, so that sends of the same issue with
/// and without `--shard` see each other's outcomes.
/// A state folder that cannot be read is an error: taken for empty, every
/// reader already sent would be sent again.
pub fn journals_of(dir: &Path, name: &str) -> Result<Vec<PathBuf>> {
    let cannot = || format!("{}: cannot read the state folder", dir.display());
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(cannot),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.with_context(cannot)?;
        if is_journal_of(&entry.file_name().to_string_lossy(), name) {
            paths.push(entry.path());
        }
    }
    paths.sort();
    Ok(paths)
}

/// The outcomes of several journals of one issue: a reader accepted in any
/// of them is accepted; one refused in any (and accepted in none) failed.
pub fn read_all(paths: &[PathBuf]) -> Result<State> {
    let rank = |o: Outcome| match o {
        Outcome::Accepted => 2,
        Outcome::Failed => 1,
        Outcome::Deferred => 0,
    };
    let mut merged = State::new();
    for path in paths {
        for (key, record) in read(path)? {
            match merged.get(&key) {
                Some(known) if rank(known.outcome) >= rank(record.outcome) => {}
                _ => {
                    merged.insert(key, record);
                }
            }
        }
    }
    Ok(merged)
}
