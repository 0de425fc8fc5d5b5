//! The checks of the setup: the config (DKIM keys included), the theme's
//! contrast, the list and its bounce figures.

use anyhow::Result;

use super::{line_of, Level, Report, Scope};
use crate::compose::Theme;
use crate::config::Config;
use crate::list::{List, Severity};

pub(super) fn check_config(config: &Config, report: &mut Report) -> Result<()> {
    let text = crate::error::read_input(&config.path)?;
    super::text::check(&config.path, &text, Some(0..text.len()), report);
    let at = |key: &str| line_of(&text, key);
    let newsletter = config.newsletter();
    if newsletter
        .postal_address
        .as_deref()
        .is_none_or(|a| a.trim().is_empty())
    {
        report.add(&config.path, at("[newsletter]"), Level::Warning, "no postal_address: anti-spam laws (CAN-SPAM, 정보통신망법) ask for the sender's address in every issue");
    }
    let unsubscribe = &config.file.unsubscribe;
    if unsubscribe.url.is_none() && unsubscribe.mailto.is_none() {
        report.add(
            &config.path,
            at("[unsubscribe]").max(1),
            Level::Error,
            "no List-Unsubscribe is possible: set [unsubscribe] url (one-click) and/or mailto",
        );
    } else if unsubscribe.url.is_none() {
        report.add(&config.path, at("[unsubscribe]"), Level::Warning, "no one-click unsubscribe URL: Gmail and Yahoo require RFC 8058 one-click for bulk senders; set [unsubscribe] url");
    }
    if config.file.dkim.is_empty() {
        report.add(&config.path, 1, Level::Warning, "no [dkim]: bulk senders (over 5,000 a day to Gmail) must sign with DKIM aligned with the From domain");
    }
    check_dkim(config, &text, report);
    Ok(())
}

/// Each `[dkim]` table: its key loads and is of its algorithm, its domain
/// is aligned with From, its key file is kept private, and what its
/// algorithm means to receivers.
fn check_dkim(config: &Config, text: &str, report: &mut Report) {
    use crate::message::dkim;
    // The line of each table: `[dkim]`, or the n-th `[[dkim]]`.
    let tables: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| matches!(l.trim(), "[dkim]" | "[[dkim]]"))
        .map(|(i, _)| i + 1)
        .collect();
    let from_domain = config.from_domain();
    let mut rsa = false;
    let mut ed25519 = false;
    for (i, table) in config.file.dkim.iter().enumerate() {
        let line = tables.get(i).copied().unwrap_or(1);
        let domain = table.domain.to_lowercase();
        let aligned = from_domain == domain || from_domain.ends_with(&format!(".{domain}"));
        if !aligned {
            let at = text
                .lines()
                .enumerate()
                .skip(line)
                .find(|(_, l)| l.trim_start().starts_with("domain"))
                .map_or(line, |(n, _)| n + 1);
            report.add(&config.path, at, Level::Warning, format!("the DKIM domain {} does not match the From domain {from_domain}: DMARC alignment fails", table.domain));
        }
        let path = dkim::key_path(config, table);
        if let Some(mode) = dkim::readable_by_others(&path) {
            report.add(&config.path, line, Level::Warning, format!("{}: the DKIM private key is readable by others (mode {mode:o}): anyone who reads it can sign mail as {}\n  help: chmod 600 {}", path.display(), table.domain, path.display()));
        }
        match dkim::load_key(config, table) {
            Ok(dkim::Key::SmallRsa(_)) => {
                rsa = true;
                report.add(&config.path, line, Level::Warning, format!("{}: the RSA key is under 2048 bits: receivers accept 1024 bits but ask for 2048 (RFC 8301), and letterpress signs it about 5 times slower\n  help: make a 2048-bit key (openssl genrsa 2048) and publish it under a new selector", path.display()));
            }
            Ok(dkim::Key::Rsa(_)) => rsa = true,
            Ok(dkim::Key::Ed25519(_)) => ed25519 = true,
            Err(e) => report.add(&config.path, line, Level::Error, format!("{e:#}")),
        }
    }
    if ed25519 && !rsa {
        report.add(&config.path, tables.first().copied().unwrap_or(1), Level::Warning, "only an Ed25519 DKIM signature: Gmail, Yahoo and Outlook.com do not verify Ed25519 (RFC 8463) today, so to them the mail is unsigned\n  help: add an RSA key in a second [[dkim]] table; receivers verify the signatures they know and skip the others");
    }
}

/// WCAG AA asks 4.5:1 between text and its background.
pub(super) fn check_contrast(theme: &Theme, report: &mut Report) {
    let path = theme.origin.join("theme.toml");
    let text = theme.toml_text.as_str();
    super::text::check(&path, text, Some(0..text.len()), report);
    for (table, colors) in [
        ("[colors]", &theme.file.colors),
        ("[dark]", &theme.file.dark),
    ] {
        let start = text.find(table).unwrap_or(0);
        let line = |key: &str| {
            line_of(&text[start..], &format!("\n{key}")) + 1 + text[..start].matches('\n').count()
        };
        for (fg, bg, fg_key, what) in [
            (&colors.text, &colors.surface, "text", "body text"),
            (
                &colors.muted,
                &colors.surface,
                "muted",
                "dates and footer text",
            ),
            (
                &colors.button_text,
                &colors.accent,
                "button_text",
                "button labels",
            ),
            (&colors.accent, &colors.surface, "accent", "links"),
        ] {
            let ratio = contrast(fg, bg);
            if ratio < 4.5 {
                report.add(
                    &path,
                    line(fg_key),
                    Level::Warning,
                    format!("{table} {what}: contrast {ratio:.1}:1 is below WCAG AA 4.5:1"),
                );
            }
        }
    }
}

fn contrast(a: &str, b: &str) -> f64 {
    let luminance = |hex: &str| {
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0)) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    };
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// Role addresses reach a team or nobody, rarely a reader.
const ROLES: &[&str] = &[
    "noreply",
    "no-reply",
    "donotreply",
    "do-not-reply",
    "postmaster",
    "abuse",
    "mailer-daemon",
    "hostmaster",
    "webmaster",
    "root",
];

/// The list's bounce and complaint figures of the last 30 days, and a
/// warning for each send over 2 % bounces or 0.1 % complaints.
pub(super) fn check_bounces(config: &Config, report: &mut Report) -> Result<()> {
    let health = crate::bounces::health::figures(config, jiff::Timestamp::now())?;
    if health.sends.is_empty() && health.hard + health.soft + health.complaints == 0 {
        return Ok(());
    }
    report.notes.push(health.summary());
    for (line, message) in health.warnings() {
        report.add(&health.log, line, Level::Warning, message);
    }
    Ok(())
}

pub(super) fn check_list(list: &List, scope: Scope, report: &mut Report) {
    for f in &list.findings {
        let level = match f.severity {
            Severity::Error if scope == Scope::BeforeSend => continue,
            Severity::Error => Level::Error,
            Severity::Warning => Level::Warning,
        };
        report.add(&list.path, f.line, level, f.message.clone());
    }
    for entry in &list.entries {
        let local = entry.email().split('@').next().unwrap_or("").to_lowercase();
        if ROLES.contains(&local.as_str()) {
            report.add(
                &list.path,
                entry.line,
                Level::Warning,
                format!(
                    "`{}` is a role address; it rarely belongs to a reader",
                    entry.email()
                ),
            );
        }
    }
}

/// With `[consent]`: the readers whose reminder of their consent fell due
/// more than a day ago and has not gone out, as one warning at the entry
/// of the one waiting longest.
pub(super) fn check_consent(config: &Config, list: &List, report: &mut Report) -> Result<()> {
    let Some((days, notify)) = config.consent() else {
        return Ok(());
    };
    let now = jiff::Timestamp::now();
    let settled = crate::send::journal::settled_times(&config.consent_dir())?;
    let every = jiff::SignedDuration::from_hours(i64::from(days) * 24);
    let day_ago = now - jiff::SignedDuration::from_hours(24);
    let overdue: Vec<_> = list
        .consent_due(every, notify, now, &settled)
        .into_iter()
        .filter_map(|(entry, mail)| match mail {
            crate::list::ConsentMail::Reminder { since, .. } if since < day_ago => {
                Some((entry, since))
            }
            _ => None,
        })
        .collect();
    let Some((oldest, since)) = overdue.iter().min_by_key(|(_, since)| *since) else {
        return Ok(());
    };
    let n = overdue.len();
    report.add(
        &list.path,
        oldest.line,
        Level::Warning,
        format!(
            "{n} reader{} {} not been reminded of their consent, due every {days} days ([consent], 정보통신망법 제50조 제8항); the oldest fell due on {}: `letterpress schedule run` (or `serve --schedule`) sends the reminders",
            crate::text::plural(n),
            if n == 1 { "has" } else { "have" },
            since.strftime("%Y-%m-%d")
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_follows_wcag() {
        assert!((contrast("#000000", "#ffffff") - 21.0).abs() < 0.01);
        assert!((contrast("#777777", "#ffffff") - 4.48).abs() < 0.01);
        assert!((contrast("#ffffff", "#ffffff") - 1.0).abs() < 0.01);
    }
}
