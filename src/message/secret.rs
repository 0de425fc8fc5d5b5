//! The unsubscribe secret: the key of every reader's link, VERP tag and
//! click signature, read from the environment variable the config names.

use crate::config::Config;

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
