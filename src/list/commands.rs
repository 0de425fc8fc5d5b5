//! The `letterpress subscribers …` commands on the list file at `path`:
//! each does its edit and writes what it did to `out` (standard output),
//! notes to `notes` (standard error).

use std::io::Write;
use std::path::Path;

use anyhow::Result;

use super::{changes, export_csv, import_into, report, Editor, List, Source, Status, Subscriber};

/// `list`: the list's findings as notes, then the readers (or their counts).
pub fn list(
    path: &Path,
    tags: &[String],
    count_only: bool,
    out: &mut dyn Write,
    notes: &mut dyn Write,
) -> Result<()> {
    let list = List::load(path)?;
    write!(notes, "{}", report::findings(&list, Some("error")))?;
    report::table(&list, tags, count_only, out)
}

/// `add ADDR`: a reader added from the command line.
pub fn add(
    path: &Path,
    address: &str,
    name: Option<String>,
    tags: Vec<String>,
    out: &mut dyn Write,
) -> Result<()> {
    let reader = Subscriber::active(address, name, tags, Source::Cli);
    Editor::apply(path, |e| e.add(&reader).map(|()| true))?;
    writeln!(out, "Added {} to {}", reader.email, path.display())?;
    Ok(())
}

/// `remove ADDR`: the reader's entry taken out.
pub fn remove(path: &Path, address: &str, out: &mut dyn Write) -> Result<()> {
    Editor::apply(path, |e| e.remove(address).map(|()| true))?;
    writeln!(out, "Removed {address} from {}", path.display())?;
    Ok(())
}

/// `unsubscribe ADDR`: the entry stays, marked unsubscribed.
pub fn unsubscribe(path: &Path, address: &str, out: &mut dyn Write) -> Result<()> {
    match Editor::apply(path, |e| e.set_status(address, Status::Unsubscribed))? {
        true => writeln!(out, "Unsubscribed {address} in {}", path.display())?,
        false => writeln!(out, "{address} was already unsubscribed")?,
    }
    Ok(())
}

/// `import FILE`: the rows skipped as notes, then the counts.
pub fn import(
    path: &Path,
    csv: &Path,
    email_column: Option<&str>,
    tags: &[String],
    forgotten: &dyn Fn(&str) -> bool,
    out: &mut dyn Write,
    notes: &mut dyn Write,
) -> Result<()> {
    let done = import_into(path, csv, email_column, tags, forgotten)?;
    write!(notes, "{}", done.skipped(csv))?;
    writeln!(out, "{}", done.summary(path))?;
    Ok(())
}

/// `compact`: the change log folded into the list.
pub fn compact(path: &Path, out: &mut dyn Write) -> Result<()> {
    let shown = path.display();
    match super::compact(path)? {
        0 => writeln!(out, "{shown}: no changes to fold in")?,
        n => writeln!(
            out,
            "{shown}: folded in {n} change{} from {}",
            crate::text::plural(n),
            changes::log_path(path).display()
        )?,
    }
    Ok(())
}

/// `export [--out FILE]`: the list as CSV on `out`, or into `file` with a
/// note of how many readers it holds.
pub fn export(
    path: &Path,
    file: Option<&Path>,
    out: &mut dyn Write,
    notes: &mut dyn Write,
) -> Result<()> {
    let list = List::load(path)?;
    let Some(file) = file else {
        return export_csv(&list, out);
    };
    let mut bytes = Vec::new();
    export_csv(&list, &mut bytes)?;
    crate::fs::write_atomic(file, &bytes)?;
    writeln!(
        notes,
        "Exported {} readers to {}",
        list.entries.len(),
        file.display()
    )?;
    Ok(())
}
