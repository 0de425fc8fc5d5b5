//! Who a run sends to: the list's readers of an issue (its audience, the
//! `--tag` values, one shard) or test addresses; less those the issue's
//! journals have already settled; at most `--limit` of them.

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::Result;

use super::journal::{Lock, Outcome, Place, State};
use super::Job;
use crate::list::{identity, parse_address, Paused};
use crate::message::Purpose;
use crate::project::Project;

/// Shard K of N (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, 1..=count.
    pub index: u32,
    /// How many shards.
    pub count: u32,
}

impl Shard {
    /// Whether `address` belongs to this shard: a hash of the address's
    /// identity, so the split is the same on every machine and every run.
    pub fn contains(&self, address: &str) -> bool {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(identity(address).as_bytes());
        let n = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
        n % u64::from(self.count) == u64::from(self.index - 1)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `K/N`, such as `1/4`.
    fn from_str(value: &str) -> Result<Shard, String> {
        let (k, n) = value
            .split_once('/')
            .ok_or("write the shard as K/N, e.g. 1/4")?;
        let number = |s: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| format!("`{s}` is not a number"))
        };
        let (index, count) = (number(k)?, number(n)?);
        if count == 0 || index == 0 || index > count {
            return Err(format!("shard {index}/{count}: K must be between 1 and N"));
        }
        Ok(Shard { index, count })
    }
}

/// What the user asked for.
#[derive(Debug, Default)]
pub struct Selection<'a> {
    /// `--to`: test addresses instead of the list.
    pub to: &'a [String],
    /// `--tag`: only readers carrying one of these.
    pub tags: &'a [String],
    /// `--shard K/N`.
    pub shard: Option<Shard>,
    /// `--limit N`.
    pub limit: Option<usize>,
    /// `--skip-invalid`.
    pub skip_invalid: bool,
    /// `--retry-failed`.
    pub retry_failed: bool,
    /// A real send to the list keeps a journal, and resumes from it.
    pub journaled: bool,
    /// Only these readers of the list, by address identity (the welcome
    /// issue goes to each reader who confirms).
    pub only: Option<&'a std::collections::HashSet<String>>,
}

/// The readers of one run, and where its outcomes are kept.
pub struct Plan {
    /// The readers to try, in list order.
    pub jobs: Vec<Job>,
    /// To the list, or a test.
    pub purpose: Purpose,
    /// The journal of a send to the list.
    pub place: Option<Place>,
    /// The list file, watched during a send to the list.
    pub list_path: Option<PathBuf>,
    /// Readers an earlier run already handed over.
    pub accepted_before: usize,
    /// Readers an earlier run saw refused (skipped without `--retry-failed`).
    pub failed_before: usize,
    /// Readers of the issue skipped because their `paused_until` is still
    /// to come.
    pub paused: Paused,
    /// Held while the plan lives: one send of an issue at a time.
    _locks: Vec<Lock>,
}

impl Plan {
    /// Plans a run of `project`'s issue. A journaled plan takes the issue's
    /// lock first, then reads its journals in `state_dir`.
    pub fn new(project: &Project, request: &Selection<'_>) -> Result<Plan> {
        if !request.to.is_empty() {
            return Plan::tests(project, request.to);
        }
        let (mut readers, paused) = list_readers(project, request)?;
        if let Some(shard) = request.shard {
            readers.retain(|job| shard.contains(job.address.as_ref()));
        }
        let config = &project.config;
        let place = request.journaled.then(|| {
            Place::new(
                config.state_dir(),
                &config.project_dir,
                &project.issue.dir,
                request.shard.map(|s| (s.index, s.count)),
            )
        });
        let locks = place
            .as_ref()
            .map(Place::lock)
            .transpose()?
            .unwrap_or_default();
        let state = match &place {
            Some(place) => place.state()?,
            None => State::new(),
        };
        let mut plan = Plan {
            jobs: Vec::with_capacity(readers.len()),
            purpose: Purpose::List,
            list_path: request.journaled.then(|| project.list.path.clone()),
            place,
            accepted_before: 0,
            failed_before: 0,
            paused,
            _locks: locks,
        };
        // Readers forgotten since keep a pseudonym in the journal: one who
        // came back is still not mailed this issue twice.
        let erasures = match state.keys().any(|k| crate::erasure::is_pseudonym(k)) {
            true => Some(crate::erasure::Erasures::load(&config.state_dir())?),
            false => None,
        };
        for job in readers {
            let key = identity(job.address.as_ref());
            let known = state
                .get(&key)
                .or_else(|| state.get(&erasures.as_ref()?.pseudonym(&key)?));
            match known.map(|r| r.outcome) {
                Some(Outcome::Accepted) => plan.accepted_before += 1,
                Some(Outcome::Failed) if !request.retry_failed => plan.failed_before += 1,
                _ => plan.jobs.push(job),
            }
        }
        if let Some(limit) = request.limit {
            plan.jobs.truncate(limit);
        }
        Ok(plan)
    }

    /// What earlier runs settled, when they settled anything.
    pub fn resuming(&self) -> String {
        if self.accepted_before + self.failed_before == 0 {
            return String::new();
        }
        format!(
            "Resuming: {} reader{} already accepted, {} failed permanently earlier{}.\n",
            self.accepted_before,
            crate::text::plural(self.accepted_before),
            self.failed_before,
            if self.failed_before > 0 {
                " (--retry-failed tries them again)"
            } else {
                ""
            }
        )
    }

    /// `--to` addresses, each once however often it is given; a name
    /// comes from the list when the address is in it.
    fn tests(project: &Project, to: &[String]) -> Result<Plan> {
        let mut seen = std::collections::HashSet::new();
        let jobs = to
            .iter()
            .filter(|raw| seen.insert(crate::list::identity(raw)))
            .map(|raw| {
                let address = parse_address(raw).map_err(|e| anyhow::anyhow!("--to {e}"))?;
                let name = project
                    .list
                    .find(raw)
                    .and_then(|e| e.name().map(str::to_string));
                Ok(Job::new(address, name))
            })
            .collect::<Result<Vec<Job>>>()?;
        Ok(Plan {
            jobs,
            purpose: Purpose::Test,
            place: None,
            list_path: None,
            accepted_before: 0,
            failed_before: 0,
            paused: Paused::default(),
            _locks: Vec::new(),
        })
    }
}

/// The list's readers of the issue, less those paused now (counted); an
/// error when the list has invalid entries (without `--skip-invalid`) or
/// the issue reaches nobody.
fn list_readers(project: &Project, request: &Selection<'_>) -> Result<(Vec<Job>, Paused)> {
    let list = &project.list;
    if !request.skip_invalid {
        if let Some(err) = list.invalid_error() {
            return Err(err);
        }
    }
    let audience = &project.issue.audience;
    let (readers, paused) = list.reached(audience, request.tags, jiff::Timestamp::now());
    let jobs: Vec<Job> = readers
        .into_iter()
        .filter(|e| request.only.is_none_or(|only| only.contains(e.key())))
        .filter_map(|e| Some(Job::new(e.address()?, e.name().map(str::to_string))))
        .collect();
    if jobs.is_empty() {
        let tagged = |what: &str, tags: &[String], joiner: &str| match tags.is_empty() {
            true => String::new(),
            false => format!(" {what} {}", tags.join(joiner)),
        };
        let paused = paused
            .describe()
            .map_or(String::new(), |p| format!(" that is not paused ({p})"));
        return Err(NoReaders(format!(
            "no reader receives this issue: {} has no active, valid reader{}{}{paused}\n  help: check the issue's `audience` and the readers' tags",
            list.path.display(),
            tagged("tagged", audience, " or "),
            tagged("with --tag", request.tags, ", "),
        ))
        .into());
    }
    Ok((jobs, paused))
}

/// No reader of the list is in the issue's audience (with the request's
/// tags and readers): why, and what to check.
#[derive(Debug)]
pub struct NoReaders(pub String);

impl std::fmt::Display for NoReaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NoReaders {}
