//! `[smtp]`: the relay, with its checks.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::checks::{env_name, host_name, int_in, one_line, present, rule, Rule};
use crate::error::Located;

/// How to talk to the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain connection upgraded with STARTTLS (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only allowed towards loopback.
    None,
}

/// `[smtp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    /// Relay host name or address.
    pub host: String,
    /// Relay port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// `starttls`, `tls` or `none`.
    #[serde(default = "default_security")]
    pub security: Security,
    /// Login name, when the relay wants AUTH.
    pub username: Option<String>,
    /// The environment variable holding the password.
    pub password_env: Option<String>,
    /// Refused: a password written into the file.
    pub password: Option<Spanned<toml::Value>>,
    /// Timeout of every network step, in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// A PEM file of extra CA certificates to trust.
    pub ca_file: Option<PathBuf>,
}

fn default_port() -> u16 {
    587
}

fn default_security() -> Security {
    Security::Starttls
}

fn default_timeout() -> u64 {
    30
}

impl Smtp {
    /// A password written into the file, at its place in `source`.
    pub(super) fn check(&self, path: &Path, source: &str) -> Vec<Located> {
        let Some(password) = &self.password else {
            return Vec::new();
        };
        vec![Located::at(
            path,
            source,
            password.span().start,
            "a password written into the configuration is refused",
        )
        .help("remove `password` and set `password_env = \"LETTERPRESS_SMTP_PASSWORD\"`, then export that variable")]
    }

    pub(super) fn rules(&self) -> Vec<Rule> {
        let mut rules = present(vec![
            (
                &["smtp", "password_env"],
                self.password_env.as_deref(),
                env_name,
            ),
            (&["smtp", "username"], self.username.as_deref(), |v| {
                one_line(v, 256)
            }),
        ]);
        rules.push(rule(&["smtp", "host"], host_name(&self.host)));
        rules.push(rule(
            &["smtp", "timeout_secs"],
            int_in(self.timeout_secs, 1, 3600),
        ));
        rules
    }
}
