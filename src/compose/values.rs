//! What one reader's copy needs: the merge values and the personal links
//! (the unsubscribe link is signed with [`crate::sign::token`]).

use crate::config::Config;
use crate::issue::tags::Values;
use crate::issue::Issue;

/// The web version of `issue`, when `base_url` is set.
pub fn web_url(config: &Config, issue: &Issue) -> Option<String> {
    let base = config.newsletter().base_url.as_deref()?;
    Some(format!(
        "{}/archive/{}/",
        base.trim_end_matches('/'),
        crate::percent::encode(&issue.slug)
    ))
}

/// The merge values of one reader. Without a secret the unsubscribe link
/// carries the token `unsigned` (previews only; sending requires the secret).
pub fn values(
    config: &Config,
    issue: &Issue,
    email: &str,
    name: Option<&str>,
    secret: Option<&[u8]>,
) -> Values {
    let unsubscribe = &config.file.unsubscribe;
    let unsubscribe_url = match (&unsubscribe.url, &unsubscribe.mailto) {
        (Some(url), _) => {
            let token =
                secret.map_or_else(|| "unsigned".to_string(), |s| crate::sign::token(s, email));
            let join = if url.contains('?') { '&' } else { '?' };
            // `i` names the issue, so `stats` can count who left from it.
            format!(
                "{url}{join}e={}&t={token}&i={}",
                crate::percent::encode(email),
                crate::percent::encode(&issue.slug)
            )
        }
        (None, Some(mailto)) => format!("mailto:{mailto}?subject=unsubscribe"),
        (None, None) => String::new(),
    };
    Values {
        name: name.map(str::to_string),
        email: email.to_string(),
        unsubscribe_url,
        web_url: web_url(config, issue).unwrap_or_default(),
        preferences_url: preferences_url(config, email, secret).unwrap_or_default(),
    }
}

/// The reader's link to their preference page, with `[preferences]`:
/// `<url>?e=<address>&t=<token>`. Without a secret the token is
/// `unsigned` (previews only).
pub fn preferences_url(config: &Config, email: &str, secret: Option<&[u8]>) -> Option<String> {
    let url = &config.file.preferences.as_ref()?.url;
    let token = secret.map_or_else(
        || "unsigned".to_string(),
        |s| crate::sign::preferences_token(s, email),
    );
    let join = if url.contains('?') { '&' } else { '?' };
    Some(format!(
        "{url}{join}e={}&t={token}",
        crate::percent::encode(email)
    ))
}

/// The values of the web version, which carries no reader's data: its
/// unsubscribe link is the bare endpoint, which asks for the address.
pub fn web_values(config: &Config, issue: &Issue) -> Values {
    let unsubscribe = &config.file.unsubscribe;
    Values {
        name: None,
        email: String::new(),
        unsubscribe_url: match (&unsubscribe.url, &unsubscribe.mailto) {
            (Some(url), _) => url.clone(),
            (None, Some(mailto)) => format!("mailto:{mailto}?subject=unsubscribe"),
            (None, None) => String::new(),
        },
        web_url: web_url(config, issue).unwrap_or_default(),
        // The bare page asks for the address and mails the link.
        preferences_url: config
            .file
            .preferences
            .as_ref()
            .map(|p| p.url.clone())
            .unwrap_or_default(),
    }
}
