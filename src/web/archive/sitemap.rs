//! `sitemap.xml` (the sitemaps.org 0.9 schema) and `robots.txt` for the
//! archive, written the way the Atom feed is: every value escaped by
//! [`crate::compose::escape_xml`].

use super::publication::archive_url;
use crate::compose::{escape_xml, values};
use crate::config::Config;
use crate::issue::Issue;

/// The sitemaps.org namespace.
pub const NAMESPACE: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";

/// The sitemap: the archive's index (its `<lastmod>` the newest issue's)
/// and every sent issue with when it came out. None without `base_url`: a
/// sitemap holds absolute addresses only.
pub fn sitemap(config: &Config, issues: &[Issue]) -> Option<String> {
    let index = archive_url(config)?;
    let newest = issues
        .iter()
        .filter_map(|i| Some((super::issued(config, i)?, i)))
        .max_by_key(|(at, _)| *at)
        .and_then(|(_, i)| super::published(config, i));
    let mut out =
        format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<urlset xmlns=\"{NAMESPACE}\">\n");
    push_url(&mut out, &index, newest.as_deref());
    for issue in issues {
        if let Some(url) = values::web_url(config, issue) {
            push_url(&mut out, &url, super::published(config, issue).as_deref());
        }
    }
    out.push_str("</urlset>\n");
    Some(out)
}

fn push_url(out: &mut String, loc: &str, lastmod: Option<&str>) {
    out.push_str(&format!("  <url>\n    <loc>{}</loc>\n", escape_xml(loc)));
    if let Some(at) = lastmod {
        out.push_str(&format!("    <lastmod>{}</lastmod>\n", escape_xml(at)));
    }
    out.push_str("  </url>\n");
}

/// `robots.txt`: every crawler may read everything; with `base_url` the
/// sitemap's absolute address.
pub fn robots(config: &Config) -> String {
    let mut out = String::from("User-agent: *\n");
    // A crawler that follows a counted link found somewhere would be
    // counted as a reader's click.
    if config.file.tracking.clicks {
        out.push_str("Disallow: /c/\n");
    }
    out.push_str("Allow: /\n");
    if let Some(index) = archive_url(config) {
        out.push_str(&format!("\nSitemap: {index}sitemap.xml\n"));
    }
    out
}
