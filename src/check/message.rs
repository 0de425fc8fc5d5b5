//! The checks of the message a sample reader gets: sizes, the plain-text
//! part, that it builds (DKIM included), its links.

use anyhow::Result;

use super::{line_of, Level, Report};
use crate::compose::values;
use crate::compose::Composed;
use crate::config::Config;
use crate::issue::Issue;
use crate::message::{run_date, Factory, Purpose};

/// The message for a sample reader: size limits and the plain-text part.
pub(super) fn check_message(
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

/// Each local image as messages carry it: an error at the line that shows
/// one that cannot be decoded, a warning for one over `[images] max_kb`
/// after processing (an animated GIF is sent as it is).
pub(super) fn check_images(
    config: &Config,
    issue: &Issue,
    theme: &crate::compose::Theme,
    report: &mut Report,
) -> Result<()> {
    let dir = crate::images::cache_dir(config);
    let max_width = crate::compose::max_image_width(theme);
    let budget = config.file.images.max_kb;
    for image in &issue.images {
        let processed = match crate::images::prepare_one(&dir, image, max_width) {
            Ok(processed) => processed,
            Err(e) => match e.downcast::<crate::error::Located>() {
                Ok(at) => {
                    report.add(&at.path, at.line, Level::Error, at.message);
                    continue;
                }
                Err(e) => return Err(e),
            },
        };
        let kb = processed.bytes.len().div_ceil(1000);
        if kb as u64 > budget {
            let what = match processed.animated {
                true => "an animated GIF, sent as it is,",
                false => "after resizing and recompressing",
            };
            report.add(
                &image.path,
                image.line,
                Level::Warning,
                format!(
                    "the image `{}` is {kb} KB {what}, over [images] max_kb = {budget}; every reader downloads it",
                    image.src
                ),
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
}
