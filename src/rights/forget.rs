//! `subscribers forget ADDR`: a reader erased from every file letterpress
//! keeps. The list's entries go (the change log is folded in first, so
//! nothing of theirs waits there); every journal record and bounce event
//! of theirs keeps a pseudonym instead of the address (see
//! [`crate::erasure`]); the dry-run messages written to them are deleted;
//! the erasure log records when, and the pseudonym. Then the project and
//! the state folder are searched for the address in any spelling, and a
//! file that still holds it (one letterpress did not write: an import's
//! CSV, a note) is named, and the command fails.
//!
//! Every journal's send lock is taken first: while a send runs, nothing
//! changes. Run again after a failure, it finishes the work.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::config::Config;
use crate::list::{identity, Editor};
use crate::send::journal;

/// What an erasure changed.
#[derive(Debug, Default)]
pub struct Forgotten {
    /// The list's entries removed.
    pub entries: usize,
    /// Journal records that now carry the pseudonym.
    pub records: usize,
    /// Journals that held the reader.
    pub journals: usize,
    /// Bounce events that now carry the pseudonym.
    pub bounces: usize,
    /// Dry-run messages deleted.
    pub messages: Vec<PathBuf>,
    /// The pseudonym kept where the promises need the reader.
    pub pseudonym: String,
    /// Files that still hold the address.
    pub left: Vec<PathBuf>,
}

/// How deep, and through how many entries, the search for files goes.
const MAX_DEPTH: usize = 16;
const MAX_ENTRIES: usize = 1_000_000;

/// Erases `address` from the list, the change log, the journals, the
/// bounce log and the dry-run messages of `config`'s project.
pub fn forget(config: &Config, address: &str) -> Result<Forgotten> {
    let key = identity(address);
    if !key.contains('@') || key.chars().any(char::is_control) {
        bail!(
            "`{}` is not an address\n  help: give the reader's address, such as reader@example.com",
            address.escape_debug()
        );
    }
    let state = config.state_dir();
    let mut journals = journals_in(&state)?;
    journals.extend(journals_in(&config.consent_dir())?);
    // Held to the end: no send of any issue runs while its journal changes.
    let _locks = journals
        .iter()
        .filter_map(|path| journal::lock_of(path))
        .collect::<std::collections::BTreeSet<_>>()
        .iter()
        .map(|lock| journal::Lock::take(lock))
        .collect::<Result<Vec<_>>>()?;
    let secret = crate::erasure::key(&state)?;
    let mut done = Forgotten {
        pseudonym: crate::erasure::pseudonym(&secret, &key),
        ..Forgotten::default()
    };
    done.entries = remove_from_list(&config.list_path(), &key)?;
    for path in &journals {
        let changed = journal::erase(path, &key, &done.pseudonym)?;
        done.records += changed;
        done.journals += usize::from(changed > 0);
    }
    done.bounces =
        crate::bounces::log::erase(&crate::bounces::log::path(&state), &key, &done.pseudonym)?;
    let root = |dir: &Path| match dir.as_os_str().is_empty() {
        true => PathBuf::from("."),
        false => dir.to_path_buf(),
    };
    let roots = [root(&config.project_dir), root(&state)];
    let eml = crate::send::eml_file_name(&key);
    for root in &roots {
        walk(root, &mut |path| {
            if path.file_name() == Some(eml.as_os_str()) && std::fs::remove_file(path).is_ok() {
                done.messages.push(path.to_path_buf());
            }
        });
    }
    crate::erasure::record(&state, &done.pseudonym)?;
    let needles = spellings(address);
    for root in &roots {
        walk(root, &mut |path| {
            if holds(path, &needles) && !done.left.iter().any(|p| p == path) {
                done.left.push(path.to_path_buf());
            }
        });
    }
    Ok(done)
}

/// Removes every entry of `key`, with the change log folded in first;
/// how many entries there were.
fn remove_from_list(path: &Path, key: &str) -> Result<usize> {
    if !path.exists() {
        return Ok(0);
    }
    let (mut editor, list) = Editor::open_listed(path)?;
    let entries = list.entries.iter().filter(|e| e.key() == key).count();
    if editor.contains(key) {
        editor.remove(key)?;
    }
    if entries > 0 || editor.folded() > 0 {
        editor.save()?;
    }
    Ok(entries)
}

/// Every journal in the folder `state`.
fn journals_in(state: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(state) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(anyhow::Error::new(e)
                .context(format!("{}: cannot read the state folder", state.display())))
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "journal") && p.is_file())
        .collect();
    paths.sort();
    Ok(paths)
}

/// The address as files may hold it: as given and as its identity, in
/// lower case, its domain in ASCII (punycode), and percent-encoded as a
/// link or a file name carries it.
fn spellings(address: &str) -> Vec<Vec<u8>> {
    let key = identity(address);
    let mut forms = vec![address.trim().to_string(), key.clone()];
    if let Some(ascii) = key
        .parse::<lettre::Address>()
        .ok()
        .and_then(|a| crate::address::ascii_form(&a))
    {
        forms.push(ascii.to_string());
    }
    for form in forms.clone() {
        forms.push(crate::percent::encode(&form));
        forms.push(
            crate::send::eml_file_name(&form)
                .to_string_lossy()
                .trim_end_matches(".eml")
                .to_string(),
        );
    }
    let mut needles: Vec<Vec<u8>> = forms
        .into_iter()
        .map(|f| f.to_ascii_lowercase().into_bytes())
        .collect();
    needles.sort();
    needles.dedup();
    needles
}

/// Whether the file at `path` holds one of `needles` (ASCII case
/// ignored), read a block at a time.
fn holds(path: &Path, needles: &[Vec<u8>]) -> bool {
    use std::io::Read;
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let longest = needles.iter().map(Vec::len).max().unwrap_or(0);
    let finders: Vec<_> = needles.iter().map(memchr::memmem::Finder::new).collect();
    let mut block = vec![0u8; 1 << 20];
    let mut carried = 0;
    loop {
        let read = match file.read(&mut block[carried..]) {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        let filled = carried + read;
        block[carried..filled].make_ascii_lowercase();
        if finders.iter().any(|f| f.find(&block[..filled]).is_some()) {
            return true;
        }
        carried = longest.min(filled);
        block.copy_within(filled - carried..filled, 0);
    }
}

/// Calls `each` with every regular file under `root` (links not followed;
/// `.git` and `target` left out), within [`MAX_DEPTH`] and [`MAX_ENTRIES`].
fn walk(root: &Path, each: &mut dyn FnMut(&Path)) {
    let mut stack = vec![(root.to_path_buf(), 0)];
    let mut seen = 0;
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                return;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            let name = entry.file_name();
            if kind.is_dir() && depth < MAX_DEPTH && name != ".git" && name != "target" {
                stack.push((path, depth + 1));
            } else if kind.is_file() {
                each(&path);
            }
        }
    }
}
