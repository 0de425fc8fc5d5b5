//! `[sending]`: throughput, retries, the state folder, the schedule's
//! grace and quiet hours, with their checks.

use std::path::PathBuf;

use serde::Deserialize;

use super::checks::{float_in, int_in, rule, Rule, RuleResult};

/// `[sending]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sending {
    /// SMTP connections in parallel.
    pub concurrency: usize,
    /// Messages per second across all connections; 0 means unlimited.
    pub rate_per_second: f64,
    /// Attempts per reader for temporary failures.
    pub max_attempts: u32,
    /// Reconnect after this many messages on one connection.
    pub max_messages_per_connection: usize,
    /// Seconds before the first retry of a temporary failure; each further
    /// retry waits twice as long (with jitter).
    pub retry_delay_secs: f64,
    /// With several relays, seconds a failing relay is taken out for the
    /// first time; each further time twice as long, up to ten minutes.
    pub relay_cooldown_secs: f64,
    /// Delivery journals, relative to the config file.
    pub state_dir: PathBuf,
    /// How long after its `send_at` a scheduled pass still sends an issue
    /// (quiet hours do not count).
    pub schedule_grace_minutes: u32,
    /// `"21:00-08:00"`: hours of the newsletter's zone in which no
    /// scheduled pass sends; an issue due in them waits for their end.
    pub quiet_hours: Option<String>,
}

impl Default for Sending {
    fn default() -> Self {
        Sending {
            concurrency: 4,
            rate_per_second: 10.0,
            max_attempts: 5,
            max_messages_per_connection: 100,
            retry_delay_secs: 2.0,
            relay_cooldown_secs: 30.0,
            state_dir: PathBuf::from("../state"),
            schedule_grace_minutes: 60,
            quiet_hours: None,
        }
    }
}

impl Sending {
    pub(super) fn rules(&self) -> Vec<Rule> {
        let mut rules = vec![
            rule(
                &["sending", "rate_per_second"],
                float_in(self.rate_per_second, 0.001, 100_000.0, true),
            ),
            rule(
                &["sending", "retry_delay_secs"],
                float_in(self.retry_delay_secs, 0.0, 3600.0, false),
            ),
            rule(
                &["sending", "relay_cooldown_secs"],
                float_in(self.relay_cooldown_secs, 0.1, 600.0, false),
            ),
            rule(
                &["sending", "concurrency"],
                int_in(self.concurrency as u64, 1, 1000),
            ),
            rule(
                &["sending", "max_attempts"],
                int_in(u64::from(self.max_attempts), 1, 100),
            ),
            rule(
                &["sending", "max_messages_per_connection"],
                int_in(self.max_messages_per_connection as u64, 1, 1_000_000),
            ),
            rule(
                &["sending", "schedule_grace_minutes"],
                grace_minutes(self.schedule_grace_minutes),
            ),
        ];
        if let Some(quiet) = &self.quiet_hours {
            rules.push(rule(
                &["sending", "quiet_hours"],
                parse_quiet_hours(quiet).map(|_| ()),
            ));
        }
        rules
    }
}

/// The grace of scheduled sends. 0 would let a pass send only when it runs
/// at the very second of `send_at`, that is never.
fn grace_minutes(value: u32) -> RuleResult {
    match value {
        0 => Err((
            "0 would let no scheduled pass ever send: a pass runs every minute (cron) or every 30 seconds (`serve --schedule`), always a little after the issue's time".into(),
            "write at least 1 (a few minutes if the passes may be late), or remove the line for the default of 60",
        )),
        _ => int_in(u64::from(value), 1, 10_080),
    }
}

/// `[sending] quiet_hours = "21:00-08:00"`: the start and the end, wall
/// clock times of the newsletter's zone; the end may be on the next day.
pub fn parse_quiet_hours(
    value: &str,
) -> std::result::Result<(jiff::civil::Time, jiff::civil::Time), (String, &'static str)> {
    let help = "write the start and the end as HH:MM-HH:MM in the newsletter's time zone, such as \"21:00-08:00\"";
    let time = |part: &str| -> Option<jiff::civil::Time> {
        let (h, m) = part.trim().split_once(':')?;
        let ok = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
        if !ok(h) || !ok(m) {
            return None;
        }
        jiff::civil::Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok()
    };
    let parsed = value
        .split_once('-')
        .and_then(|(a, b)| Some((time(a)?, time(b)?)));
    match parsed {
        Some((start, end)) if start != end => Ok((start, end)),
        Some(_) => Err((
            format!("`{}` starts and ends at the same time", value.escape_debug()),
            "quiet hours need a start and a different end, such as \"21:00-08:00\"; remove the line for none",
        )),
        None => Err((
            format!("`{}` is not a span of hours", value.escape_debug()),
            help,
        )),
    }
}
