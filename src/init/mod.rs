//! `letterpress init [DIR]`: a project that builds, checks and dry-runs at
//! once: a commented `config/newsletter.toml`, `config/subscribers.toml`
//! with the editor as its first reader, a first issue and a `.gitignore`.
//! The themes are in the binary, so nothing else is needed.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::config::Config;
use crate::fs::write_atomic;
use crate::list::mailbox_address;

pub mod ask;

/// What the project is called and who sends it.
#[derive(Debug, Clone)]
pub struct Answers {
    /// The newsletter's name.
    pub name: String,
    /// The From header, `Name <address>` or `address`.
    pub from: String,
    /// The language tag (`ko`, `en`, …).
    pub language: String,
    /// The IANA time zone of the newsletter (`Asia/Seoul`), if not UTC.
    pub timezone: Option<String>,
}

/// What `init` wrote.
pub struct Created {
    /// The files, relative to the project folder.
    pub files: Vec<PathBuf>,
    /// The first issue's folder, relative to the project folder.
    pub issue: PathBuf,
}

impl Created {
    /// What was written into `dir` and the commands to run next.
    pub fn summary(&self, dir: &Path) -> String {
        let mut out = format!("Created a letterpress project in {}:\n", dir.display());
        for file in &self.files {
            out.push_str(&format!("  {}\n", file.display()));
        }
        let issue = self.issue.display();
        let cd = match dir == Path::new(".") {
            true => String::new(),
            false => format!("  cd {}\n", dir.display()),
        };
        out.push_str(&format!(
            "\nNext:\n{cd}  letterpress build {issue}          # compose it; open {issue}/build/email.html\n  letterpress check {issue}          # what would embarrass a send\n  letterpress send {issue} --dry-run --out outbox   # every message as a file\n  letterpress serve --preview        # the live preview at http://127.0.0.1:8080/preview/\nBefore the first real send, add [smtp] to config/newsletter.toml (see the comments there).\n"
        ));
        out
    }
}

/// Checks the answers as the config will: one line, an address, a
/// language tag, a time zone. Each error names the flag that gave it.
pub fn check(answers: &Answers) -> Result<()> {
    let fields = [
        ("--name", check_name(&answers.name)),
        ("--from", check_from(&answers.from)),
        ("--language", check_language(&answers.language)),
        (
            "--timezone",
            answers.timezone.as_deref().map_or(Ok(()), check_timezone),
        ),
    ];
    for (flag, verdict) in fields {
        if let Err(why) = verdict {
            bail!("{flag}: {why}");
        }
    }
    Ok(())
}

/// The newsletter's name: one line of 1 to 200 characters.
pub fn check_name(name: &str) -> std::result::Result<(), String> {
    if name.trim().is_empty() || name.chars().any(char::is_control) || name.chars().count() > 200 {
        return Err("the newsletter's name must be one line of 1 to 200 characters".into());
    }
    Ok(())
}

/// The sender: an address (with a name or not) that can also stand in the
/// `mailto:` unsubscribe link.
pub fn check_from(from: &str) -> std::result::Result<(), String> {
    let address = mailbox_address(from);
    if from.contains(['\r', '\n'])
        || crate::list::parse_address(address).is_err()
        || from.parse::<lettre::message::Mailbox>().is_err()
    {
        return Err(format!(
            "`{}` is not a sender address\n  help: write it as \"Name <letter@example.com>\" or \"letter@example.com\"",
            from.escape_debug()
        ));
    }
    unsubscribe_address(from).map(|_| ())
}

/// A BCP 47 language tag, with the tag meant for a common slip.
pub fn check_language(language: &str) -> std::result::Result<(), String> {
    crate::config::language_tag(language)
        .map_err(|(why, help)| format!("`{}` {why}\n  help: {help}", language.escape_debug()))
}

/// An IANA time zone name such as Asia/Seoul.
pub fn check_timezone(zone: &str) -> std::result::Result<(), String> {
    match jiff::tz::TimeZone::get(zone) {
        Ok(_) => Ok(()),
        Err(_) => Err(format!(
            "`{}` is not a time zone\n  help: write an IANA zone name such as Asia/Seoul, Europe/Berlin or America/New_York, or UTC",
            zone.escape_debug()
        )),
    }
}

/// The sender's address as it can stand in a `mailto:` link and in the
/// other places that take ASCII only: an international domain as punycode.
/// A local part that is not ASCII (or holds `?`, `&` or `%`) cannot, so it
/// is refused rather than written into a project whose check fails.
fn unsubscribe_address(from: &str) -> std::result::Result<String, String> {
    let address = crate::list::parse_address(mailbox_address(from))?;
    match crate::list::ascii_form(&address) {
        Some(ascii) if !ascii.to_string().contains(['?', '&', '%']) => Ok(ascii.to_string()),
        _ => Err(format!(
            "`{}` cannot stand in a mailto: link, which readers use to unsubscribe by mail\n  help: use an address whose part before the @ is plain ASCII without ?, & or %, such as letter@example.com",
            mailbox_address(from).escape_debug()
        )),
    }
}

/// Writes the project into `dir` (created when missing). Refuses, writing
/// nothing, when any of its files is already there.
pub fn init(dir: &Path, answers: &Answers) -> Result<Created> {
    check(answers)?;
    // The first issue is named and dated by the newsletter's own day.
    let zone = answers
        .timezone
        .as_deref()
        .and_then(|z| jiff::tz::TimeZone::get(z).ok())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let today = crate::time::today_in(&zone);
    let issue = PathBuf::from("issues").join(format!("{today}-first"));
    let files: Vec<(PathBuf, String)> = vec![
        (
            PathBuf::from("config/newsletter.toml"),
            newsletter_toml(answers)?,
        ),
        (
            PathBuf::from("config/subscribers.toml"),
            subscribers_toml(answers),
        ),
        (PathBuf::from(".gitignore"), GITIGNORE.to_string()),
    ];
    for path in files.iter().map(|(p, _)| p).chain([&issue]) {
        if dir.join(path).exists() {
            bail!(
                "{}: already exists; letterpress init never overwrites a file, so nothing was written\n  help: init a new folder (`letterpress init my-newsletter`), or move the file away",
                dir.join(path).display()
            );
        }
    }
    let mut written = Vec::new();
    for (path, text) in &files {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                anyhow::anyhow!("{}: cannot create the folder: {e}", parent.display())
            })?;
        }
        write_atomic(&target, text.as_bytes())?;
        written.push(path.clone());
    }
    for file in crate::issue::scaffold::scaffold(&dir.join(&issue), &answers.language, &today)? {
        written.push(
            file.strip_prefix(dir)
                .map(Path::to_path_buf)
                .unwrap_or(file),
        );
    }
    Ok(Created {
        files: written,
        issue,
    })
}

/// A TOML string literal (quotes and escapes as TOML wants them).
fn quoted(value: &str) -> String {
    toml::Value::String(value.to_string()).to_string()
}

/// `config/newsletter.toml`: the answers, and the rest commented out.
fn newsletter_toml(a: &Answers) -> Result<String> {
    let address = unsubscribe_address(&a.from).map_err(anyhow::Error::msg)?;
    Ok(format!(
        "{}{}",
        newsletter_table(a),
        delivery_tables(&quoted(&address))
    ))
}

/// The file's head and its `[newsletter]` table.
fn newsletter_table(a: &Answers) -> String {
    let timezone = match &a.timezone {
        Some(zone) => format!(
            "timezone = {}       # send_at times and issue dates",
            quoted(zone)
        ),
        None => {
            "# timezone = \"Asia/Seoul\"       # send_at times and issue dates (default UTC)".into()
        }
    };
    format!(
        r#"# letterpress configuration. Paths are relative to this file. Secrets never
# live here: they are read from the environment variables the *_env keys name.
# Every key is described in letterpress's README.

[newsletter]
name     = {name}
from     = {from}
language = {language}                # <html lang>, labels, line wrapping
# reply_to       = "editor@example.com"
# base_url       = "https://news.example.com"   # web versions and the archive
# postal_address = "Your postal address"        # anti-spam laws ask for it
# theme          = "default"                    # or "letter", or a path
{timezone}
"#,
        name = quoted(&a.name),
        from = quoted(&a.from),
        language = quoted(&a.language),
        timezone = timezone,
    )
}

/// The tables after `[newsletter]`; `mailto` is the sender's address as a
/// TOML string.
fn delivery_tables(mailto: &str) -> String {
    format!(
        r#"
[subscribers]
file = "subscribers.toml"

[unsubscribe]
mailto = {mailto}                # readers can always leave by mail
# One-click unsubscribe (Gmail and Yahoo want it for bulk senders): run
# `letterpress serve` behind your site and set
# url        = "https://news.example.com/unsubscribe"
# secret_env = "LETTERPRESS_UNSUBSCRIBE_SECRET"

# Each reader's own page (topics, name, a pause, their data by mail),
# served by `letterpress serve`; every issue links to it:
# [preferences]
# url = "https://news.example.com/preferences"

# Topics readers choose on the form and their page; issues pick readers
# by `audience` tags:
# [[topics]]
# tag  = "weekly"
# name = "Every week"

# The consent notices and two-year reminders Korean law asks of senders of
# advertising, sent by `letterpress schedule run` (on by default when
# language = "ko"):
# [consent]
# enabled           = true
# remind_every_days = 730

# The relay that delivers the mail. Add it before the first real send:
# [smtp]
# host         = "smtp.example.com"
# port         = 587
# security     = "starttls"      # starttls | tls | none (none: this machine only)
# username     = {mailto}
# password_env = "LETTERPRESS_SMTP_PASSWORD"

[sending]
concurrency     = 4
rate_per_second = 10
state_dir       = "../state"     # delivery journals: keep them

# Sign with DKIM (mailbox providers want it):
# [dkim]
# domain           = "example.com"
# selector         = "letterpress"
# private_key_file = "dkim.pem"
"#
    )
}

/// `letterpress new NAME`: a plain name is a folder under the project's
/// `issues/`, a path (with a `/`) is taken as given. The samples are in the
/// newsletter's language and dated by its time zone. What was written and
/// what to do next.
pub fn new_issue(config_path: &Path, name: &Path) -> Result<String> {
    let config = Config::load(config_path).ok();
    let dir = match name.components().count() {
        1 if !name.is_absolute() && name.to_str().is_some_and(|n| !n.contains('/')) => {
            crate::config::issues_dir(&crate::config::project_dir(config_path)).join(name)
        }
        _ => name.to_path_buf(),
    };
    let (language, zone) = match &config {
        Some(c) => (c.newsletter().language.clone(), c.time_zone()),
        None => ("en".to_string(), jiff::tz::TimeZone::UTC),
    };
    let today = crate::time::today_in(&zone);
    let files = crate::issue::scaffold::scaffold(&dir, &language, &today)?;
    let mut out = format!("Created {}:\n", dir.display());
    for file in files {
        out.push_str(&format!("  {}\n", file.display()));
    }
    out.push_str(&format!(
        "Edit the sections, then run: letterpress build {}\n",
        dir.display()
    ));
    Ok(out)
}

fn subscribers_toml(a: &Answers) -> String {
    format!(
        r#"# The readers, one [[subscriber]] table each.
# status: active (default) | unsubscribed | bounced

# You, so that `send --dry-run` shows what readers get.
[[subscriber]]
email         = {email}
subscribed_at = {at}
source        = "cli"
"#,
        email = quoted(mailbox_address(&a.from)),
        at = quoted(&crate::time::rfc3339(std::time::SystemTime::now())),
    )
}

const GITIGNORE: &str = "# letterpress: build output, dry runs and the send state
issues/*/build/
/out/
/outbox/
/state/
*.toml.lock
";
