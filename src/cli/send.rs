//! `letterpress send ISSUE`: to the list, to test addresses, or
//! `--dry-run` into files.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::{compose_issue, SendArgs};
use crate::check::{check_issue, Scope};
use crate::compose::Composed;
use crate::fs;
use crate::message::{run_date, Factory, Purpose};
use crate::reader;
use crate::subscribers::{parse_address, List, Severity};

/// Composes the issue, picks the readers, then writes or delivers.
pub fn run(config_path: &Path, args: &SendArgs) -> Result<u8> {
    let (config, issue, theme) = compose_issue(config_path, &args.issue)?;
    let composed = Composed::new(&config, &theme, &issue)?;
    let list = List::load(&config.resolve(&config.file.subscribers.file))?;
    let secret = reader::secret_from_env(&config)?;
    if secret.is_none() && config.file.unsubscribe.url.is_some() {
        let name = reader::secret_env_name(&config);
        bail!(
            "{}: the unsubscribe secret is not set, so no reader's unsubscribe link could be signed\n  help: export {name}=<a long random string> (keep it the same for every send; `openssl rand -hex 32` makes one)",
            config.path.display()
        );
    }
    let report = check_issue(&config, &issue, &theme, &list, Scope::BeforeSend)?;
    if !report.findings.is_empty() {
        eprint!("{}", report.human());
    }
    if report.errors() > 0 && !args.force {
        bail!(
            "`letterpress check` found {} error{}; nothing was sent\n  help: fix them, or pass --force to send anyway",
            report.errors(),
            if report.errors() == 1 { "" } else { "s" }
        );
    }
    let (mut readers, purpose) = if args.to.is_empty() {
        (list_readers(&list, &issue.audience, args)?, Purpose::List)
    } else {
        (test_readers(&list, &args.to)?, Purpose::Test)
    };
    if let Some(shard) = args.shard {
        readers.retain(|(address, _)| shard.contains(address.as_ref()));
    }
    let factory = Factory::new(&composed, secret, run_date())?;
    if !args.dry_run {
        let list = (purpose == Purpose::List).then_some(&list);
        return super::deliver::run(&config, &composed, &factory, readers, list, args);
    }
    if let Some(limit) = args.limit {
        readers.truncate(limit);
    }
    let Some(out) = &args.out else {
        bail!("--dry-run needs --out DIR: the folder to write the messages into");
    };
    std::fs::create_dir_all(out)
        .with_context(|| format!("{}: cannot create the folder", out.display()))?;
    let failed = write_all(&factory, &readers, purpose, out)?;
    let written = readers.len() - failed.len();
    println!(
        "Dry run of \"{}\": wrote {} message{} to {}; no connection was opened.",
        composed.subject(),
        written,
        if written == 1 { "" } else { "s" },
        out.display()
    );
    if purpose == Purpose::List {
        println!("{}", skipped_summary(&list, written));
    }
    for (address, why) in &failed {
        eprintln!("error: no message for {address}: {why}");
    }
    Ok(if failed.is_empty() { 0 } else { 2 })
}

/// A reader's address and name.
pub type Reader = (lettre::Address, Option<String>);

/// What one dry-run worker did.
#[derive(Default)]
struct Part {
    written: Vec<PathBuf>,
    failed: Vec<(String, String)>,
    error: Option<anyhow::Error>,
}

/// Builds and writes the messages, the readers shared among the cores. A
/// reader whose message cannot be built is reported and the rest go on
/// (returned as address and reason). A file that cannot be written (a full
/// disk) stops every worker, and the files this run wrote are removed, so
/// the folder never holds half a run.
fn write_all(
    factory: &Factory<'_>,
    readers: &[Reader],
    purpose: Purpose,
    out: &Path,
) -> Result<Vec<(String, String)>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = readers.len().div_ceil(threads).max(1);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let parts: Vec<Part> = std::thread::scope(|scope| {
        let workers: Vec<_> = readers
            .chunks(chunk)
            .map(|readers| scope.spawn(|| write_part(factory, readers, purpose, out, &stop)))
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join().unwrap_or_else(|_| Part {
                    error: Some(anyhow::anyhow!("a worker thread panicked")),
                    ..Part::default()
                })
            })
            .collect()
    });
    let mut failed = Vec::new();
    let mut written = Vec::new();
    let mut error = None;
    for part in parts {
        failed.extend(part.failed);
        written.extend(part.written);
        error = error.or(part.error);
    }
    let Some(error) = error else {
        return Ok(failed);
    };
    let kept: Vec<&PathBuf> = written
        .iter()
        .filter(|p| std::fs::remove_file(p).is_err())
        .collect();
    let cleaned = if kept.is_empty() {
        format!(
            "the {} message{} this run had written were removed again",
            written.len(),
            if written.len() == 1 { "" } else { "s" }
        )
    } else {
        format!(
            "{} of the messages this run wrote could not be removed and are still in {}",
            kept.len(),
            out.display()
        )
    };
    Err(error.context(format!("the dry run stopped; {cleaned}")))
}

fn write_part(
    factory: &Factory<'_>,
    readers: &[Reader],
    purpose: Purpose,
    out: &Path,
    stop: &std::sync::atomic::AtomicBool,
) -> Part {
    use std::sync::atomic::Ordering;
    let mut part = Part::default();
    for (address, name) in readers {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let message = match factory.build(address, name.as_deref(), purpose) {
            Ok(message) => message,
            Err(e) => {
                part.failed.push((address.to_string(), format!("{e:#}")));
                continue;
            }
        };
        let path = out.join(eml_file_name(address.as_ref()));
        match fs::replace(&path, &message.bytes) {
            Ok(()) => part.written.push(path),
            Err(e) => {
                stop.store(true, Ordering::SeqCst);
                part.error = Some(e);
                break;
            }
        }
    }
    part
}

/// The list's readers for this issue, after reporting the list's findings.
fn list_readers(list: &List, audience: &[String], args: &SendArgs) -> Result<Vec<Reader>> {
    for finding in &list.findings {
        if finding.severity == Severity::Warning || args.skip_invalid {
            let level = if finding.severity == Severity::Error {
                "skipped"
            } else {
                "warning"
            };
            eprintln!(
                "{}:{}: {level}: {}",
                list.path.display(),
                finding.line,
                finding.message
            );
        }
    }
    if !args.skip_invalid {
        if let Some(err) = list.invalid_error() {
            return Err(err);
        }
    }
    let readers: Vec<Reader> = list
        .recipients(audience, &args.tag)
        .into_iter()
        .map(|e| {
            (
                e.address.clone().expect("recipients are valid"),
                e.subscriber.name.clone(),
            )
        })
        .collect();
    if readers.is_empty() {
        bail!(
            "no reader receives this issue: {} has no active, valid reader{}{}\n  help: check the issue's `audience` and the readers' tags",
            list.path.display(),
            if audience.is_empty() { String::new() } else { format!(" tagged {}", audience.join(" or ")) },
            if args.tag.is_empty() { String::new() } else { format!(" with --tag {}", args.tag.join(", ")) },
        );
    }
    Ok(readers)
}

/// `--to` addresses; a name comes from the list when the address is in it.
fn test_readers(list: &List, to: &[String]) -> Result<Vec<Reader>> {
    to.iter()
        .map(|raw| {
            let address = parse_address(raw).map_err(|e| anyhow::anyhow!("--to {e}"))?;
            let name = list.find(raw).and_then(|e| e.subscriber.name.clone());
            Ok((address, name))
        })
        .collect()
}

/// What the list held besides the readers reached.
pub fn skipped_summary(list: &List, sent: usize) -> String {
    let c = list.counts(list.entries.iter());
    let other = list
        .entries
        .len()
        .saturating_sub(sent + c.unsubscribed + c.bounced + c.invalid + c.duplicates);
    format!(
        "{} entries in the list: {sent} written, skipped {} unsubscribed, {} bounced, {} invalid, {} duplicate, {other} outside the audience, tags or limit.",
        list.entries.len(),
        c.unsubscribed,
        c.bounced,
        c.invalid,
        c.duplicates
    )
}

/// `reader@example.com.eml`: the address in lower case, with any character
/// that is not safe in a file name percent-encoded.
pub fn eml_file_name(address: &str) -> PathBuf {
    let mut name = String::with_capacity(address.len() + 4);
    for (i, b) in crate::subscribers::identity(address).bytes().enumerate() {
        let safe = b.is_ascii_alphanumeric() || b"@+-_".contains(&b) || (b == b'.' && i > 0);
        if safe {
            name.push(b as char);
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    name.push_str(".eml");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eml_names_are_safe() {
        assert_eq!(
            eml_file_name("Reader@Example.com"),
            PathBuf::from("reader@example.com.eml")
        );
        assert_eq!(
            eml_file_name("a/b@example.com"),
            PathBuf::from("a%2Fb@example.com.eml")
        );
        assert_eq!(
            eml_file_name(".x@example.com"),
            PathBuf::from("%2Ex@example.com.eml")
        );
    }
}
