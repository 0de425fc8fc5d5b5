//! `letterpress stats ISSUE`: what happened to an issue, from what
//! letterpress already keeps: the delivery journal, `bounces.log`, the
//! unsubscribes that came from the issue's links and, with `[tracking]
//! clicks`, the clicks per link. Aggregates only: nothing here names a
//! reader.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Result;
use jiff::Timestamp;
use serde::Serialize;

use crate::config::Config;
use crate::issue::Issue;
use crate::send::journal::{each_journal, Outcome, Place};
use crate::tracking::{self, Agent, Links};

/// A click this soon after a delivery of the issue counts as likely
/// automated: security scanners fetch links as a message arrives.
pub const EARLY_SECS: i64 = 10;

/// The figures of one issue.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stats {
    /// The issue folder's name.
    pub issue: String,
    /// Its subject.
    pub subject: String,
    /// The first and last delivery outcome (RFC 3339), if it was sent.
    pub first_outcome: Option<String>,
    /// See `first_outcome`.
    pub last_outcome: Option<String>,
    /// Readers the relay accepted.
    pub accepted: usize,
    /// Readers it refused permanently.
    pub refused: usize,
    /// Readers whose temporary failures used up every attempt.
    pub deferred: usize,
    /// Hard and soft bounces that followed this send.
    pub bounces: usize,
    /// Complaints that followed this send.
    pub complaints: usize,
    /// Refusals of the sender that followed this send (blocklists, spam
    /// filters, policy): never a mark on a reader.
    pub blocked: usize,
    /// Bounces, complaints and refusals of the sender by reason (Sisimai's
    /// words), most first.
    pub reasons: Vec<(String, usize)>,
    /// Readers who left through this issue's unsubscribe link.
    pub unsubscribes: usize,
    /// Whether `[tracking] clicks` is on.
    pub clicks_counted: bool,
    /// Clicks per link, in the issue's order.
    pub links: Vec<LinkClicks>,
    /// Accepted messages over the send, cumulative, per minute:
    /// (seconds since 1970 at the minute's end, accepted so far).
    pub accepted_over_time: Vec<(i64, usize)>,
    /// Per relay, as the journals name them; empty for journals written
    /// before relays were recorded.
    pub relays: Vec<RelayFigures>,
}

/// What one relay carried of the issue.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RelayFigures {
    /// Its name (`[[smtp]]`'s `name`, else `host:port`).
    pub relay: String,
    /// Readers it accepted.
    pub accepted: usize,
    /// Readers it refused for good.
    pub refused: usize,
    /// Temporary failures it gave, over every attempt recorded.
    pub deferrals: usize,
    /// The median time from handing a message over to its acceptance.
    pub median_accept_ms: Option<u32>,
}

/// A send's events by reason, most first (then by name).
fn by_count(send: &crate::bounces::health::Send) -> Vec<(String, usize)> {
    let mut reasons: Vec<(String, usize)> = send
        .reasons
        .iter()
        .map(|(reason, n)| (reason.to_string(), *n))
        .collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    reasons
}

/// Each reader's last outcome and its time, by identity.
type Last = HashMap<String, (i64, Outcome)>;

/// Each reader's last outcome of the issue (an acceptance stands) with its
/// time, over the issue's journals and its shards', and the figures per
/// relay.
fn outcomes(state: &Path, place: &Place) -> Result<(Last, Vec<RelayFigures>)> {
    let mut last: HashMap<String, (i64, Outcome)> = HashMap::new();
    // Each reader's last settled record with its relay, for the per-relay
    // figures; deferrals count as they come.
    let mut settled_by: HashMap<String, (String, Outcome, Option<u32>)> = HashMap::new();
    let mut by_relay = ByRelay::default();
    let shards = format!("{}.shard-", place.name);
    each_journal(state, std::time::SystemTime::UNIX_EPOCH, |name, r| {
        if name != place.name && !name.starts_with(&shards) {
            return;
        }
        let kept = last
            .get(&r.key)
            .is_some_and(|(_, o)| *o == Outcome::Accepted);
        if let Some(relay) = &r.relay {
            match r.outcome {
                Outcome::Deferred => by_relay.add(relay, r.outcome, None, false),
                _ if !kept => {
                    settled_by.insert(r.key.clone(), (relay.clone(), r.outcome, r.accept_ms));
                }
                _ => {}
            }
        }
        if !kept {
            last.insert(r.key, (r.at, r.outcome));
        }
    })?;
    for (relay, outcome, ms) in settled_by.into_values() {
        by_relay.add(&relay, outcome, ms, true);
    }
    Ok((last, by_relay.done()))
}

/// Per relay, from every record of the issue's journals, by name.
#[derive(Default)]
struct ByRelay {
    figures: std::collections::BTreeMap<String, (RelayFigures, Vec<u32>)>,
}

impl ByRelay {
    /// A reader's last record counts as accepted or refused by its relay;
    /// every deferral counts.
    fn add(&mut self, relay: &str, outcome: Outcome, accept_ms: Option<u32>, last: bool) {
        let (figures, ms) = self.figures.entry(relay.to_string()).or_default();
        figures.relay = relay.to_string();
        match outcome {
            Outcome::Deferred => figures.deferrals += 1,
            Outcome::Accepted if last => {
                figures.accepted += 1;
                ms.extend(accept_ms);
            }
            Outcome::Failed if last => figures.refused += 1,
            _ => {}
        }
    }

    fn done(self) -> Vec<RelayFigures> {
        self.figures
            .into_values()
            .map(|(mut figures, mut ms)| {
                ms.sort_unstable();
                figures.median_accept_ms = ms.get(ms.len() / 2).copied();
                figures
            })
            .collect()
    }
}

/// The clicks of one link.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LinkClicks {
    /// Its number in the counting address.
    pub n: usize,
    /// Where it goes.
    pub url: String,
    /// Clicks that look like a person's.
    pub people: usize,
    /// HEAD requests, known scanners and clicks within [`EARLY_SECS`] of a
    /// delivery.
    pub likely_automated: usize,
}

/// Gathers the figures of the issue in `dir`.
pub fn gather(config: &Config, dir: &Path) -> Result<Stats> {
    let issue = Issue::load(dir)?;
    let state = config.state_dir();
    let place = Place::new(state.clone(), &config.project_dir, dir, None);
    let (last, relays) = outcomes(&state, &place)?;
    let count = |o: Outcome| last.values().filter(|(_, x)| *x == o).count();
    let mut accepted_at: Vec<i64> = last
        .values()
        .filter(|(_, o)| *o == Outcome::Accepted)
        .map(|(at, _)| *at)
        .collect();
    accepted_at.sort_unstable();
    let times = last.values().map(|(at, _)| *at);
    let (first, latest) = (times.clone().min(), times.max());
    let rfc = |at: Option<i64>| {
        at.and_then(|s| Timestamp::from_second(s).ok())
            .map(|t| t.to_string())
    };
    let health =
        crate::bounces::health::figures_since(config, Timestamp::UNIX_EPOCH, Timestamp::now())?;
    let send = health.sends.iter().find(|s| s.name == place.name);
    let links = link_clicks(config, &issue, &state, &accepted_at)?;
    Ok(Stats {
        issue: issue.slug.clone(),
        subject: issue.subject.clone(),
        first_outcome: rfc(first),
        last_outcome: rfc(latest),
        accepted: count(Outcome::Accepted),
        refused: count(Outcome::Failed),
        deferred: count(Outcome::Deferred),
        bounces: send.map_or(0, |s| s.bounces),
        complaints: send.map_or(0, |s| s.complaints),
        blocked: send.map_or(0, |s| s.blocked),
        reasons: send.map_or_else(Vec::new, by_count),
        unsubscribes: tracking::unsubscribes(&state, &issue.slug)?.len(),
        clicks_counted: config.file.tracking.clicks,
        links,
        accepted_over_time: per_minute(&accepted_at),
        relays,
    })
}

/// The clicks of each of the issue's counted links, people apart from
/// what is likely automated.
fn link_clicks(
    config: &Config,
    issue: &Issue,
    state: &Path,
    accepted_at: &[i64],
) -> Result<Vec<LinkClicks>> {
    let links = Links::of(issue);
    let mut out: Vec<LinkClicks> = links
        .urls
        .iter()
        .enumerate()
        .map(|(i, url)| LinkClicks {
            n: i + 1,
            url: url.clone(),
            people: 0,
            likely_automated: 0,
        })
        .collect();
    if !config.file.tracking.clicks && !tracking::log_path(state).exists() {
        return Ok(out);
    }
    tracking::each_click(state, &issue.slug, |click| {
        let Some(link) = out.get_mut(click.link.wrapping_sub(1)) else {
            return;
        };
        // The latest delivery at or before the click.
        let before = accepted_at.partition_point(|&at| at <= click.at);
        let early = before > 0 && click.at - accepted_at[before - 1] <= EARLY_SECS;
        match click.agent {
            Agent::Person if !early => link.people += 1,
            _ => link.likely_automated += 1,
        }
    })?;
    Ok(out)
}

/// Cumulative counts at the end of each minute from the first delivery to
/// the last, at most 1,440 points (longer sends are sampled evenly).
fn per_minute(sorted: &[i64]) -> Vec<(i64, usize)> {
    let (Some(&first), Some(&last)) = (sorted.first(), sorted.last()) else {
        return Vec::new();
    };
    let start = first - first.rem_euclid(60);
    let minutes = (last - start) / 60 + 1;
    let step = (minutes / 1440 + 1) * 60;
    let mut points = Vec::new();
    let mut end = start + step;
    loop {
        points.push((end, sorted.partition_point(|&at| at < end)));
        if end > last {
            break;
        }
        end += step;
    }
    points
}

impl Stats {
    /// The report as a table for the terminal.
    pub fn table(&self) -> String {
        let mut out = format!("{} — {}\n", self.issue, self.subject);
        let attempted = self.accepted + self.refused + self.deferred;
        match (&self.first_outcome, &self.last_outcome) {
            (Some(first), Some(last)) => out.push_str(&format!("sent        {first} to {last}\n")),
            _ => out.push_str("sent        not yet (no journal)\n"),
        }
        out.push_str(&format!(
            "delivery    {} accepted, {} refused, {} deferred ({attempted} readers)\n",
            self.accepted, self.refused, self.deferred
        ));
        out.push_str(&self.relay_lines());
        out.push_str(&self.bounce_lines(attempted));
        out.push_str(&format!(
            "left        {} through this issue's unsubscribe link\n",
            self.unsubscribes
        ));
        if !self.clicks_counted
            && self
                .links
                .iter()
                .all(|l| l.people + l.likely_automated == 0)
        {
            out.push_str("clicks      not counted ([tracking] clicks = false)\n");
            return out;
        }
        out.push_str("clicks      people / likely automated, per link (never per reader)\n");
        for link in &self.links {
            out.push_str(&format!(
                "  {:>3}  {:>6} / {:<6} {}\n",
                link.n, link.people, link.likely_automated, link.url
            ));
        }
        out
    }

    /// A line per relay of the send, from its journals.
    fn relay_lines(&self) -> String {
        let mut out = String::new();
        for r in &self.relays {
            let median = r
                .median_accept_ms
                .map_or(String::new(), |ms| format!(", median {ms} ms to accept"));
            out.push_str(&format!(
                "  relay     {}: {} accepted, {} refused, {} deferral{}{median}\n",
                r.relay,
                r.accepted,
                r.refused,
                r.deferrals,
                if r.deferrals == 1 { "" } else { "s" }
            ));
        }
        out
    }

    /// Bounces and complaints, refusals of the sender, and their reasons.
    fn bounce_lines(&self, attempted: usize) -> String {
        let share = |n: usize, of: usize| match of {
            0 => "-".to_string(),
            _ => format!("{:.1} %", 100.0 * n as f64 / of as f64),
        };
        let mut out = String::new();
        out.push_str(&format!(
            "bounces     {} ({} of the messages); complaints {} ({} of the accepted)\n",
            self.bounces,
            share(self.bounces, attempted),
            self.complaints,
            share(self.complaints, self.accepted)
        ));
        if self.blocked > 0 {
            out.push_str(&format!(
                "blocked     {} refusal{} of the sender, not the readers (blocklists, spam filters, policy): nobody marked; see `letterpress check --dns`\n",
                self.blocked,
                if self.blocked == 1 { "" } else { "s" }
            ));
        }
        if !self.reasons.is_empty() {
            let each: Vec<String> = self
                .reasons
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect();
            out.push_str(&format!("  reasons   {}\n", each.join(", ")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_over_time_is_cumulative_per_minute() {
        let at = [120, 130, 179, 180, 300];
        assert_eq!(per_minute(&at), [(180, 3), (240, 4), (300, 4), (360, 5)]);
        assert!(per_minute(&[]).is_empty());
        let long: Vec<i64> = (0..10 * 86_400).step_by(30).collect();
        assert!(per_minute(&long).len() <= 1441);
    }
}
