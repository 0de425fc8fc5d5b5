//! Loading what a check looks at, and the checks of the whole message:
//! size, accessibility of the theme, deliverability and the list.

use anyhow::Result;

use super::{content, line_of, Level, Report};
use crate::compose::values;
use crate::compose::{Composed, Theme};
use crate::config::Config;
use crate::issue::Issue;
use crate::list::{List, Severity};
use crate::message::{run_date, Factory, Purpose};

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
    check_issue_file(config, issue, list, sample.from_list, &mut report)?;
    check_config(config, &mut report)?;
    check_tags_need_config(config, issue, &mut report)?;
    check_contrast(theme, &mut report);
    check_list(list, scope, &mut report);
    check_bounces(config, &mut report)?;
    match Composed::new(config, theme, issue) {
        Ok(composed) => check_message(config, issue, &composed, &sample, &mut report)?,
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
    check_config(config, report)?;
    check_contrast(theme, report);
    check_list(list, scope, report);
    check_bounces(config, report)?;
    Ok(())
}

fn check_issue_file(
    config: &Config,
    issue: &Issue,
    list: &List,
    reaches_anyone: bool,
    report: &mut Report,
) -> Result<()> {
    let path = issue.dir.join("issue.toml");
    let text = crate::error::read_input(&path)?;
    super::text::check(&path, &text, Some(0..text.len()), report);
    let at = |key: &str| line_of(&text, key);
    let width = crate::wrap::width(&issue.subject);
    if width > 60 {
        report.add(&path, at("subject"), Level::Warning, format!("the subject is {width} columns wide; phones show about 60 (a Hangul character counts two), the rest is cut off"));
    }
    match &issue.preheader {
        None => report.add(&path, 1, Level::Warning, "no preheader: the inbox shows the first words of the body instead; add preheader = \"…\""),
        Some(p) if crate::wrap::width(p) < 40 => report.add(&path, at("preheader"), Level::Warning, format!("the preheader is only {} columns; the inbox fills the rest with body text, so aim for 40 to 100", crate::wrap::width(p))),
        Some(_) => {}
    }
    if issue.advertising && !config.is_korean() && config.newsletter().ad_prefix.is_none() {
        report.add(&path, at("advertising"), Level::Error, "an advertising issue needs a subject prefix: set ad_prefix in [newsletter] for this language");
    }
    let mut unknown_tag = false;
    for tag in &issue.audience {
        let reached = list.entries.iter().any(|e| e.tags().contains(tag));
        if !reached {
            unknown_tag = true;
            report.add(
                &path,
                at("audience"),
                Level::Error,
                format!(
                    "no reader in {} carries the audience tag `{tag}`",
                    list.path.display()
                ),
            );
        }
    }
    if !unknown_tag && !issue.audience.is_empty() && !reaches_anyone {
        report.add(&path, at("audience"), Level::Error, "the send would reach nobody: no active, valid reader carries the issue's audience tags");
    }
    check_send_at(config, issue, report);
    Ok(())
}

/// `send_at`: a time that exists once in the newsletter's zone; a warning
/// when it has passed for an issue not yet sent, and when it falls inside
/// the quiet hours (the pass waits for their end). Advertising at night is
/// no error: the Korean night-time rule (정보통신망법 제50조 제3항) exempts
/// email (시행령 제61조 제3항).
fn check_send_at(config: &Config, issue: &Issue, report: &mut Report) {
    let Some(send_at) = &issue.send_at else {
        return;
    };
    let path = issue.dir.join("issue.toml");
    let at = match crate::window::instant(send_at, &config.time_zone()) {
        Ok(at) => at,
        Err(why) => return report.add(&path, send_at.line, Level::Error, why),
    };
    let state_dir = config.state_dir();
    let place =
        crate::send::journal::Place::new(state_dir.clone(), &config.project_dir, &issue.dir, None);
    let started = crate::send::journal::journals_of(&state_dir, &place.name)
        .is_ok_and(|journals| !journals.is_empty());
    let now = jiff::Timestamp::now();
    let zone = config.time_zone();
    let shown = at
        .to_zoned(zone.clone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string();
    let quiet = crate::window::Quiet::of(config);
    if at < now && !started {
        let grace =
            jiff::SignedDuration::from_mins(i64::from(config.file.sending.schedule_grace_minutes));
        let what = match now <= crate::window::deadline(quiet.as_ref(), at, grace) {
            true => "the next scheduled pass sends it (it is within the grace of [sending] schedule_grace_minutes)",
            false => "it is past the grace, so no scheduled pass sends it: send it by hand with `letterpress send`, or set a new send_at",
        };
        report.add(
            &path,
            send_at.line,
            Level::Warning,
            format!("send_at ({shown}) is in the past and the issue has not been sent; {what}"),
        );
    }
    if let Some(quiet) = quiet.as_ref().filter(|q| !started && q.inside(at)) {
        let end = quiet
            .end_after(at)
            .to_zoned(zone)
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string();
        report.add(
            &path,
            send_at.line,
            Level::Warning,
            format!(
                "send_at ({shown}) is inside the quiet hours ([sending] quiet_hours = \"{}\"): no scheduled pass sends then, so it goes out at {end}, when they end; set another send_at if that is not what you want",
                quiet.written()
            ),
        );
    }
}

/// A merge tag whose value comes from the config, reported at each line
/// that uses it when the config lacks that value.
fn check_tags_need_config(config: &Config, issue: &Issue, report: &mut Report) -> Result<()> {
    if config.newsletter().base_url.is_some() {
        return Ok(());
    }
    for (path, line) in issue.tag_lines("web_url") {
        report.add(
            &path,
            line,
            Level::Error,
            format!(
                "{{{{ web_url }}}} needs [newsletter] base_url, which {} does not set (set base_url = \"https://…\" where the web versions are published, or remove the tag)",
                config.path.display()
            ),
        );
    }
    Ok(())
}

fn check_config(config: &Config, report: &mut Report) -> Result<()> {
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
fn check_contrast(theme: &Theme, report: &mut Report) {
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
fn check_bounces(config: &Config, report: &mut Report) -> Result<()> {
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

fn check_list(list: &List, scope: Scope, report: &mut Report) {
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

/// The message for a sample reader: size limits and the plain-text part.
fn check_message(
    config: &Config,
    issue: &Issue,
    composed: &Composed<'_>,
    sample: &crate::project::Sample,
    report: &mut Report,
) -> Result<()> {
    let (email, name) = (&sample.email, &sample.name);
    let issue_toml = issue.dir.join("issue.toml");
    let values = values::values(config, issue, email, name.as_deref(), Some(b"check"));
    let html = composed.mail_html(&values);
    let kb = html.len() as f64 / 1000.0;
    if html.len() > 102_000 {
        report.add(&issue_toml, 1, Level::Error, format!("the HTML part is {kb:.0} KB: Gmail clips messages over 102 KB and hides the rest, unsubscribe link included"));
    } else if html.len() > 90_000 {
        report.add(
            &issue_toml,
            1,
            Level::Warning,
            format!("the HTML part is {kb:.0} KB, close to Gmail's 102 KB clipping limit"),
        );
    }
    for image in &issue.images {
        if image.bytes.len() > 1_000_000 {
            report.add(
                &issue_toml,
                1,
                Level::Warning,
                format!(
                    "the image {} is {:.1} MB; keep inline images under 1 MB",
                    image.src,
                    image.bytes.len() as f64 / 1e6
                ),
            );
        }
    }
    check_built(config, composed, sample, &issue_toml, report)?;
    let text = composed.text(&values);
    for href in hrefs(&html) {
        if !text.contains(&href) {
            report.add(
                &issue_toml,
                1,
                Level::Error,
                format!("the plain-text part lacks the link {href} that the HTML has"),
            );
        }
    }
    Ok(())
}

/// The whole message for the sample reader: that it builds (DKIM key
/// included) and stays under the size servers accept.
fn check_built(
    config: &Config,
    composed: &Composed<'_>,
    sample: &crate::project::Sample,
    issue_toml: &std::path::Path,
    report: &mut Report,
) -> Result<()> {
    let (email, name) = (&sample.email, &sample.name);
    let keys_fail = config
        .file
        .dkim
        .iter()
        .any(|table| crate::message::dkim::load_key(config, table).is_err());
    match Factory::new(composed, Some(b"check".to_vec()), run_date()) {
        // Each key that does not load is reported at its table.
        Err(_) if keys_fail => {}
        Err(e) => report.add(
            &config.path,
            line_of(&crate::error::read_input(&config.path)?, "[dkim]"),
            Level::Error,
            format!("{e:#}"),
        ),
        Ok(factory) => {
            let address = crate::list::parse_address(email).map_err(anyhow::Error::msg)?;
            let message = factory.build(&address, name.as_deref(), Purpose::List)?;
            if message.bytes.len() > 10_000_000 {
                report.add(
                    issue_toml,
                    1,
                    Level::Error,
                    format!(
                        "the message is {:.1} MB; many servers refuse messages over 10 MB",
                        message.bytes.len() as f64 / 1e6
                    ),
                );
            }
        }
    }
    Ok(())
}

/// The link targets of an HTML document (no in-page anchors).
fn hrefs(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in html.split("href=\"").skip(1) {
        let Some(end) = part.find('"') else { continue };
        let href = decode_html(&part[..end]);
        if !href.starts_with('#') && !out.contains(&href) {
            out.push(href);
        }
    }
    out
}

/// An attribute value as a browser reads it: character references decoded
/// (`&amp;`, `&quot;`, `&#39;`, `&#x22;`...); an unknown one is kept as written.
fn decode_html(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.get(1..).and_then(|r| {
            let end = r.find(';').filter(|e| *e <= 10)?;
            let name = &r[..end];
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let code = match name.strip_prefix('#')? {
                        hex if hex.starts_with(['x', 'X']) => {
                            u32::from_str_radix(&hex[1..], 16).ok()?
                        }
                        dec => dec.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, end + 2))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_targets_are_read_decoded() {
        let html = r#"<a href="https://example.com/?q=&quot;a&quot;&amp;b=&#39;c&#x27;&amp;d=&bogus">x</a>"#;
        assert_eq!(hrefs(html), ["https://example.com/?q=\"a\"&b='c'&d=&bogus"]);
    }

    #[test]
    fn reads_link_targets_from_html() {
        let html = r##"<a href="#section-1">x</a><a href="https://example.com/?a=1&amp;b=2">y</a><a href="mailto:u@example.com">z</a><a href="https://example.com/?a=1&amp;b=2">again</a>"##;
        assert_eq!(
            hrefs(html),
            ["https://example.com/?a=1&b=2", "mailto:u@example.com"]
        );
    }

    #[test]
    fn contrast_follows_wcag() {
        assert!((contrast("#000000", "#ffffff") - 21.0).abs() < 0.01);
        assert!((contrast("#777777", "#ffffff") - 4.48).abs() < 0.01);
        assert!((contrast("#ffffff", "#ffffff") - 1.0).abs() < 0.01);
    }
}
