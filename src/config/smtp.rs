//! `[smtp]` or `[[smtp]]`: the relays, with their checks.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::checks::{
    env_name, float_in, header_token, host_name, int_in, one_line, present, rule, Rule,
};
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

/// Whether a relay carries traffic from the start or only when every
/// primary one is out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Carries its weight's share from the start.
    #[default]
    Primary,
    /// Carries traffic only while every primary relay is out.
    Fallback,
}

/// `[smtp]`, or one `[[smtp]]` table of several.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    /// A short name for the journal, `stats` and messages; `host:port`
    /// when absent.
    pub name: Option<String>,
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
    /// Connections to this relay in parallel; `[sending] concurrency` when
    /// absent.
    pub concurrency: Option<usize>,
    /// Messages per second through this relay (0: no limit of its own).
    pub rate_per_second: Option<f64>,
    /// Its share of the traffic among the relays of its role.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// `primary` (the default) or `fallback`.
    #[serde(default)]
    pub role: Role,
}

fn default_weight() -> u32 {
    1
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

    /// The name in the journal, `stats` and messages.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => format!("{}:{}", self.host, self.port),
        }
    }

    pub(super) fn rules(&self, index: usize) -> Vec<Rule> {
        let mut rules = present(vec![
            (&["smtp", "name"], self.name.as_deref(), |v| {
                header_token(v, 64, ".-_:", "journal's relay")
            }),
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
        if let Some(concurrency) = self.concurrency {
            rules.push(rule(
                &["smtp", "concurrency"],
                int_in(concurrency as u64, 1, 1000),
            ));
        }
        if let Some(rate) = self.rate_per_second {
            rules.push(rule(
                &["smtp", "rate_per_second"],
                float_in(rate, 0.001, 100_000.0, true),
            ));
        }
        rules.push(rule(
            &["smtp", "weight"],
            int_in(u64::from(self.weight), 1, 1000),
        ));
        rules.into_iter().map(|r| r.at(index)).collect()
    }
}

/// What holds across the relays: distinct names (each is its own line in
/// the journal and `stats`) and at least one primary.
pub(super) fn across(relays: &[Smtp]) -> Vec<Rule> {
    let mut rules = Vec::new();
    for (i, relay) in relays.iter().enumerate() {
        let label = relay.label();
        if relays[..i].iter().any(|r| r.label() == label) {
            let why = format!("a relay named `{label}` is listed already");
            let key: &'static [&'static str] = match relay.name {
                Some(_) => &["smtp", "name"],
                None => &["smtp", "host"],
            };
            rules.push(
                rule(
                    key,
                    Err((why, "give each relay its own `name` (two accounts at one provider need one each)")),
                )
                .at(i),
            );
        }
    }
    if !relays.is_empty() && relays.iter().all(|r| r.role == Role::Fallback) {
        rules.push(
            rule(
                &["smtp", "role"],
                Err((
                    "every relay is a fallback, so none carries the send".to_string(),
                    "make at least one relay `role = \"primary\"` (the default)",
                )),
            )
            .at(0),
        );
    }
    rules
}
