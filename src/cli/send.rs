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
    write_all(&factory, &readers, purpose, out)?;
    println!(
        "Dry run of \"{}\": wrote {} message{} to {}; no connection was opened.",
        composed.subject(),
        readers.len(),
        if readers.len() == 1 { "" } else { "s" },
        out.display()
    );
    if purpose == Purpose::List {
        println!("{}", skipped_summary(&list, readers.len()));
    }
    Ok(0)
}

/// A reader's address and name.
pub type Reader = (lettre::Address, Option<String>);

/// Builds and writes the messages, the readers shared among the cores.
fn write_all(
    factory: &Factory<'_>,
    readers: &[Reader],
    purpose: Purpose,
    out: &Path,
) -> Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = readers.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = readers
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || -> Result<()> {
                    for (address, name) in part {
                        let message = factory.build(address, name.as_deref(), purpose)?;
                        fs::replace(&out.join(eml_file_name(address.as_ref())), &message.bytes)?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("a worker thread panicked")))
        })
    })
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
