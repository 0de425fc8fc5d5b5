//! What one reader's copy needs: the merge values and the personal links.
//!
//! The unsubscribe link is `<[unsubscribe].url>?e=<address>&t=<token>&i=<issue>`,
//! where the token is the first 16 bytes of
//! HMAC-SHA256(secret, lowercased address), as 32 lowercase hex digits.
//! Anybody holding the secret can verify it; nobody without it can forge a
//! link that unsubscribes someone else.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::config::Config;
use crate::issue::tags::Values;
use crate::issue::Issue;

/// The token of `address` under `secret`.
pub fn token(secret: &[u8], address: &str) -> String {
    mac_hex(secret, &crate::subscribers::identity(address))
}

fn mac_hex(secret: &[u8], key: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(key.as_bytes());
    let digest = mac.finalize().into_bytes();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `token` is the token of `address` under `secret` (constant time).
/// Links sent before addresses had one identity were signed over the
/// address in lower case; for an internationalised domain written as
/// punycode that differs, and those links keep working.
pub fn verify(secret: &[u8], address: &str, token: &str) -> bool {
    let same = |expected: String| same_bytes(expected.as_bytes(), token.as_bytes());
    let legacy = address.trim().to_lowercase();
    same(self::token(secret, address))
        || (legacy != crate::subscribers::identity(address) && same(mac_hex(secret, &legacy)))
}

/// Whether `a` and `b` are equal, in a time that does not depend on where
/// they differ: every check of a token, stamp or signature goes through it.
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The environment variable that holds the unsubscribe secret.
pub fn secret_env_name(config: &Config) -> &str {
    config
        .file
        .unsubscribe
        .secret_env
        .as_deref()
        .unwrap_or("LETTERPRESS_UNSUBSCRIBE_SECRET")
}

/// The shortest secret accepted: a shorter key can be guessed.
pub const MIN_SECRET_BYTES: usize = 16;

/// The secret named by `[unsubscribe].secret_env`, if set and not empty;
/// an error when it is shorter than [`MIN_SECRET_BYTES`].
pub fn secret_from_env(config: &Config) -> anyhow::Result<Option<Vec<u8>>> {
    let name = secret_env_name(config);
    let Some(secret) = std::env::var_os(name).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let secret = secret.into_encoded_bytes();
    if secret.len() < MIN_SECRET_BYTES {
        anyhow::bail!(
            "the unsubscribe secret in {name} is {} byte{} long; it must be at least {MIN_SECRET_BYTES}, or anybody could guess the links\n  help: `openssl rand -hex 32` makes a good one (keep it the same for every send)",
            secret.len(),
            if secret.len() == 1 { "" } else { "s" }
        );
    }
    Ok(Some(secret))
}

/// The secret for a send: every reader's unsubscribe link is signed, so
/// with `[unsubscribe] url` set the secret must be.
pub fn secret_for_links(config: &Config) -> anyhow::Result<Option<Vec<u8>>> {
    let secret = secret_from_env(config)?;
    if secret.is_none() && config.bounces().return_path.is_some() {
        anyhow::bail!(
            "{}: the unsubscribe secret is not set, so no reader's VERP return path ([bounces] return_path) could be tagged\n  help: export {}=<a long random string> (keep it the same for every send; `openssl rand -hex 32` makes one)",
            config.path.display(),
            secret_env_name(config)
        );
    }
    if secret.is_none() && config.file.unsubscribe.url.is_some() {
        anyhow::bail!(
            "{}: the unsubscribe secret is not set, so no reader's unsubscribe link could be signed\n  help: export {}=<a long random string> (keep it the same for every send; `openssl rand -hex 32` makes one)",
            config.path.display(),
            secret_env_name(config)
        );
    }
    Ok(secret)
}

/// The web version of `issue`, when `base_url` is set.
pub fn web_url(config: &Config, issue: &Issue) -> Option<String> {
    let base = config.newsletter().base_url.as_deref()?;
    Some(format!(
        "{}/archive/{}/",
        base.trim_end_matches('/'),
        percent_encode(&issue.slug)
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
            let token = secret.map_or_else(|| "unsigned".to_string(), |s| token(s, email));
            let join = if url.contains('?') { '&' } else { '?' };
            // `i` names the issue, so `stats` can count who left from it.
            format!(
                "{url}{join}e={}&t={token}&i={}",
                percent_encode(email),
                percent_encode(&issue.slug)
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
    }
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
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_per_reader_and_case_insensitive() {
        let a = token(b"secret", "Reader@Example.com");
        assert_eq!(a.len(), 32);
        assert_eq!(a, token(b"secret", "reader@example.com"));
        assert_ne!(a, token(b"secret", "other@example.com"));
        assert_ne!(a, token(b"other secret", "reader@example.com"));
        assert!(verify(b"secret", "reader@example.com", &a));
        assert!(!verify(b"secret", "other@example.com", &a));
    }

    #[test]
    fn percent_encodes_addresses() {
        assert_eq!(percent_encode("a+b@example.com"), "a%2Bb%40example.com");
    }
}
