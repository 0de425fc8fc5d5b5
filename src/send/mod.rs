//! Sending an issue: who gets it ([`plan`]), how it travels ([`Transport`]:
//! the relay over SMTP, or the dry run's files), the one delivery loop for
//! both ([`run()`]), the list watched while it runs ([`watch`]) and what it
//! did ([`outcome`]). Applying the relay's refusals to the list is the
//! caller's: see `crate::dispatch`.

mod dryrun;
mod failover;
pub mod journal;
pub mod outcome;
pub mod plan;
mod relays;
pub mod report;
mod run;
mod signals;
mod smtp;
mod transport;
pub mod watch;
mod wire;

use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::ProgressBar;
use lettre::Address;

use crate::config::Config;
use crate::message::Factory;
pub use dryrun::{eml_file_name, DryRun};
pub use failover::{Failover, Via};
pub use outcome::{
    Failure, Ran, Stopped, Summary, FIRST, REFUSED_IN_A_ROW, REFUSED_OF_FIRST, UNANSWERED_IN_A_ROW,
};
pub use plan::{NoReaders, Plan, Selection, Shard};
pub use relays::{Lane, Tally};
pub use run::run;
pub use smtp::{Relay, ServiceRelay};
pub use transport::{Error, Transport};
pub use watch::{ListUnreadable, ListWatch, RELOAD_EVERY};

/// Throughput and retry settings (`[sending]`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Connections in parallel.
    pub concurrency: usize,
    /// Messages per second across all connections; 0 means unlimited.
    pub rate_per_second: f64,
    /// Attempts per reader for temporary failures.
    pub max_attempts: u32,
    /// Messages per connection before reconnecting.
    pub max_per_connection: usize,
    /// The first retry's delay; each further one doubles it.
    pub retry_delay: Duration,
    /// OS threads the connections are spread over (building messages is
    /// the work a dry run spends its time on).
    pub threads: usize,
    /// Whether Ctrl-C and SIGTERM stop the run gracefully.
    pub signals: bool,
    /// With several relays, the first cool-down of one that fails; each
    /// further one doubles it (up to ten minutes).
    pub cooldown: Duration,
}

impl Settings {
    /// `[sending]` for a send through the relay, signals handled. Unsigned,
    /// one thread carries every connection (the relay is the bottleneck);
    /// with `[dkim]`, signing is the work, so the connections are spread
    /// over one thread per core (never more threads than connections).
    pub fn from_config(config: &Config) -> Settings {
        let sending = &config.file.sending;
        let relays = &config.file.smtp;
        let connections = match relays.is_empty() {
            true => sending.concurrency.max(1),
            false => relays
                .iter()
                .map(|r| r.concurrency.unwrap_or(sending.concurrency).max(1))
                .sum(),
        };
        let threads = if config.file.dkim.is_empty() {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        };
        Settings {
            concurrency: sending.concurrency.max(1),
            rate_per_second: sending.rate_per_second,
            max_attempts: sending.max_attempts.max(1),
            max_per_connection: sending.max_messages_per_connection.max(1),
            retry_delay: Duration::from_secs_f64(sending.retry_delay_secs.max(0.0)),
            threads: threads.min(connections),
            signals: true,
            cooldown: Duration::from_secs_f64(sending.relay_cooldown_secs.max(0.0)),
        }
    }

    /// A dry run: one writer per core, no rate limit, no retries.
    pub fn dry_run() -> Settings {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Settings {
            concurrency: cores,
            rate_per_second: 0.0,
            max_attempts: 1,
            max_per_connection: usize::MAX,
            retry_delay: Duration::ZERO,
            threads: cores,
            signals: false,
            cooldown: Duration::ZERO,
        }
    }
}

/// A reader to deliver to.
#[derive(Debug, Clone)]
pub struct Job {
    /// The address.
    pub address: Address,
    /// The name for `{{ name }}` and the To header.
    pub name: Option<Box<str>>,
    pub(crate) attempts: u32,
    /// The lane that last failed this reader: another takes it while one is in.
    pub(crate) avoid: Option<usize>,
    /// Times it was handed to another lane without an attempt counted.
    pub(crate) hops: u8,
}

impl Job {
    /// A reader not yet tried.
    pub fn new(address: Address, name: Option<String>) -> Job {
        Job {
            address,
            name: name.map(String::into_boxed_str),
            attempts: 0,
            avoid: None,
            hops: 0,
        }
    }
}

/// A dry run of the plan into `out` (created when missing): each message
/// as a file. When a file cannot be written the run stops and takes back
/// what it wrote, and says so in the error.
pub fn dry_run(plan: &Plan, factory: &Factory<'_>, out: &std::path::Path) -> Result<Ran> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("{}: cannot create the folder", out.display()))?;
    let settings = Settings::dry_run();
    let lanes = [Lane::only(DryRun::new(out), None, settings.concurrency)];
    let hidden = ProgressBar::hidden();
    let ran = run(plan, factory, &lanes, &settings, &hidden, factory.subject())?;
    match ran.stopped {
        Stopped::Fatal(e) => Err(e.context(lanes[0].transport.take_back())),
        _ => Ok(ran),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unsigned, one thread carries the connections; signed, one thread
    /// per core, never more threads than connections.
    #[test]
    fn a_signed_send_spreads_its_connections_over_the_cores() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newsletter.toml");
        let threads = |concurrency: usize, dkim: bool| {
            let mut text = format!("[newsletter]\nname = \"N\"\nfrom = \"N <a@example.com>\"\n\n[subscribers]\nfile = \"s.toml\"\n\n[sending]\nconcurrency = {concurrency}\n");
            if dkim {
                text.push_str("\n[dkim]\ndomain = \"example.com\"\nselector = \"s1\"\nprivate_key_file = \"k.pem\"\n");
            }
            std::fs::write(&path, text).unwrap();
            Settings::from_config(&Config::load(&path).unwrap()).threads
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(threads(4, false), 1);
        assert_eq!(threads(4, true), cores.min(4));
        assert_eq!(threads(64, true), cores.min(64));
        assert_eq!(threads(1, true), 1);
    }
}
