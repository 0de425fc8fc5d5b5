//! Several relays in one send. Each relay is a lane with its weight, its
//! connections and its rate. Readers are spread over the lanes that are in
//! by weight. A lane that stops answering, or answers `4xx` to most of its
//! recent messages, is taken out for a cool-down that doubles each time
//! (bounded), and its readers go to the others. A lane that refuses the
//! sender or fails TLS or login is out for the run. When every lane is out
//! at once the send stops.
//!
//! A send through one relay keeps the rules it always had: nowhere else to
//! go, so no cool-down, and the run stops on what stops it (see
//! `super::run`).

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::outcome::UNANSWERED_IN_A_ROW;

/// A relay of a send: how to reach it and how much it carries.
pub struct Lane<T> {
    /// The relay (or a dry run's files).
    pub transport: T,
    /// Its name in the journal, the summary and `stats`; none for a dry
    /// run, which has no relay.
    pub label: Option<String>,
    /// Its share of the readers among the lanes of its role.
    pub weight: u32,
    /// Connections to it in parallel.
    pub concurrency: usize,
    /// Messages per second through it; 0 for no limit of its own.
    pub rate_per_second: f64,
    /// Carries readers only while every primary lane is out.
    pub fallback: bool,
}

impl<T> Lane<T> {
    /// The one lane of a send with a single way out.
    pub fn only(transport: T, label: Option<String>, concurrency: usize) -> Lane<T> {
        Lane {
            transport,
            label,
            weight: 1,
            concurrency: concurrency.max(1),
            rate_per_second: 0.0,
            fallback: false,
        }
    }
}

/// The recent outcomes a lane is judged on.
pub const WINDOW: usize = 10;
/// Outcomes in the window before their share of failures counts.
const JUDGED_AFTER: usize = 5;
/// The longest cool-down.
pub const MAX_COOLDOWN: Duration = Duration::from_secs(600);

/// What a lane's last attempt said of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// An answer about the reader (accepted, or refused for them).
    Answered,
    /// A temporary failure with a reply code (say `421`, `451`).
    Deferred,
    /// No answer: the connection was refused, dropped or timed out.
    NoAnswer,
    /// The relay refuses the sender (`5xx` to MAIL FROM): out for the run.
    RefusesSender(String),
    /// TLS or the login failed, or the relay cannot carry the sender: out
    /// for the run.
    Broken(String),
}

/// Whether a lane is in.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Out {
    In,
    /// Cooling down until then, and why.
    Until(Instant, String),
    /// Out for the rest of the run, and why.
    ForRun(String),
}

/// What a lane's worker does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Take a reader.
    Take,
    /// Wait: until then, or until woken.
    Wait(Option<Instant>),
    /// The lane is out for the run: the worker ends.
    Done,
}

/// What a lane carried in a run, for the summary, the journal and `stats`.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Its name.
    pub label: String,
    /// Readers it accepted.
    pub accepted: usize,
    /// Readers it refused for good.
    pub failed: usize,
    /// Temporary failures and connections without an answer.
    pub deferrals: usize,
    /// Milliseconds from handing a message over to its acceptance, one per
    /// reader accepted.
    pub accept_ms: Vec<u32>,
    /// Why it was taken out, when it was (the last time).
    pub out: Option<String>,
}

impl Tally {
    /// The median time to accept, in milliseconds.
    pub fn median_ms(&self) -> Option<u32> {
        let mut ms = self.accept_ms.clone();
        ms.sort_unstable();
        ms.get(ms.len() / 2).copied()
    }
}

#[derive(Debug)]
struct Standing {
    weight: u64,
    concurrency: u64,
    fallback: bool,
    /// Readers handed to it while it was in.
    taken: u64,
    /// The last [`WINDOW`] outcomes: true for a failure.
    recent: VecDeque<bool>,
    unanswered: usize,
    out: Out,
    /// Cool-downs since it last carried a clean window.
    strikes: u32,
    /// Times it was taken out: a connection opened before the last time
    /// is not used again.
    outs: u32,
}

/// How every lane of a run stands.
#[derive(Debug)]
pub struct Board {
    lanes: Vec<Standing>,
    /// The first cool-down; each further one doubles it.
    cooldown: Duration,
}

impl Board {
    /// Every lane in, nothing taken.
    pub fn new<T>(lanes: &[Lane<T>], cooldown: Duration) -> Board {
        let lanes = lanes
            .iter()
            .map(|l| Standing {
                weight: u64::from(l.weight.max(1)),
                concurrency: l.concurrency.max(1) as u64,
                fallback: l.fallback,
                taken: 0,
                recent: VecDeque::with_capacity(WINDOW),
                unanswered: 0,
                out: Out::In,
                strikes: 0,
                outs: 0,
            })
            .collect();
        Board { lanes, cooldown }
    }

    /// Whether there is more than one lane (else no lane cools down).
    pub fn several(&self) -> bool {
        self.lanes.len() > 1
    }

    /// What lane `i`'s worker does next. A lane whose cool-down is over
    /// comes back in, at the share it would have carried.
    pub fn turn(&mut self, i: usize, now: Instant) -> Turn {
        self.revive(now);
        match &self.lanes[i].out {
            Out::ForRun(_) => return Turn::Done,
            Out::Until(t, _) => return Turn::Wait(Some(*t)),
            Out::In => {}
        }
        let primaries_in = self.lanes.iter().any(|l| !l.fallback && l.out == Out::In);
        let lane = &self.lanes[i];
        if lane.fallback && primaries_in {
            return Turn::Wait(self.next_back());
        }
        // Within the lanes that carry now, no lane runs ahead of its
        // weight's share by more than the connections of them all plus 2 %
        // of the readers handed out: a tighter bound leaves connections
        // idle at every chance difference of a few messages between lanes
        // of the same speed (see docs/src/performance.md, "Several
        // relays").
        let peers = self
            .lanes
            .iter()
            .filter(|l| l.out == Out::In && l.fallback == lane.fallback);
        let (weights, taken, slack) = peers.fold((0, 0, 0), |(w, t, s), l| {
            (w + l.weight, t + l.taken, s + l.concurrency)
        });
        match lane.taken * weights > (taken + slack + taken / 50) * lane.weight {
            true => Turn::Wait(None),
            false => Turn::Take,
        }
    }

    /// How many times lane `i` was taken out: a worker drops a connection
    /// it opened before the number changed (the relay may have closed it
    /// while the lane cooled down).
    pub fn outs(&self, i: usize) -> u32 {
        self.lanes[i].outs
    }

    /// Lane `i` took a reader.
    pub fn took(&mut self, i: usize) {
        self.lanes[i].taken += 1;
    }

    /// Records what lane `i`'s last attempt said; the reason when that took
    /// the lane out.
    pub fn record(&mut self, i: usize, signal: Signal, now: Instant) -> Option<String> {
        let several = self.several();
        let cooldown = self.cooldown;
        let lane = &mut self.lanes[i];
        if lane.out != Out::In {
            return None;
        }
        let failed = match &signal {
            Signal::Answered => false,
            Signal::Deferred | Signal::NoAnswer => true,
            Signal::RefusesSender(why) | Signal::Broken(why) => {
                lane.out = Out::ForRun(why.clone());
                lane.outs += 1;
                return Some(why.clone());
            }
        };
        if lane.recent.len() == WINDOW {
            lane.recent.pop_front();
        }
        lane.recent.push_back(failed);
        match signal {
            Signal::NoAnswer => lane.unanswered += 1,
            _ => lane.unanswered = 0,
        }
        if lane.recent.len() == WINDOW && lane.recent.iter().all(|f| !f) {
            lane.strikes = 0;
        }
        let failures = lane.recent.iter().filter(|f| **f).count();
        let failing = lane.unanswered >= UNANSWERED_IN_A_ROW
            || (lane.recent.len() >= JUDGED_AFTER && failures * 2 > lane.recent.len());
        if !several || !failing {
            return None;
        }
        let pause = cooldown
            .saturating_mul(1 << lane.strikes.min(16))
            .min(MAX_COOLDOWN);
        lane.strikes += 1;
        let why = match lane.unanswered >= UNANSWERED_IN_A_ROW {
            true => format!(
                "{} connections in a row found no relay; out for {}",
                lane.unanswered,
                seconds(pause)
            ),
            false => format!(
                "{failures} of its last {} messages failed for now; out for {}",
                lane.recent.len(),
                seconds(pause)
            ),
        };
        lane.out = Out::Until(now + pause, why.clone());
        lane.outs += 1;
        Some(why)
    }

    /// Whether every lane is out now.
    pub fn all_out(&mut self, now: Instant) -> bool {
        self.revive(now);
        self.lanes.iter().all(|l| l.out != Out::In)
    }

    /// Whether a lane other than `i` is in (or comes back from its
    /// cool-down without waiting).
    pub fn another_in(&mut self, i: usize, now: Instant) -> bool {
        self.revive(now);
        self.lanes
            .iter()
            .enumerate()
            .any(|(j, l)| j != i && l.out == Out::In)
    }

    /// Why each lane is out, by index.
    pub fn why_out(&self) -> Vec<(usize, String)> {
        self.lanes
            .iter()
            .enumerate()
            .filter_map(|(i, l)| match &l.out {
                Out::In => None,
                Out::Until(_, why) | Out::ForRun(why) => Some((i, why.clone())),
            })
            .collect()
    }

    /// Brings back the lanes whose cool-down is over, each at the share of
    /// its peers it would have carried, with a fresh window.
    fn revive(&mut self, now: Instant) {
        let back: Vec<usize> = (0..self.lanes.len())
            .filter(|&i| matches!(self.lanes[i].out, Out::Until(t, _) if t <= now))
            .collect();
        for i in back {
            let fallback = self.lanes[i].fallback;
            let peers = self
                .lanes
                .iter()
                .filter(|l| l.out == Out::In && l.fallback == fallback);
            let (weights, taken) = peers.fold((0, 0), |(w, t), l| (w + l.weight, t + l.taken));
            let lane = &mut self.lanes[i];
            if let Some(share) = (taken * lane.weight).checked_div(weights) {
                lane.taken = share;
            }
            lane.out = Out::In;
            lane.recent.clear();
            lane.unanswered = 0;
        }
    }

    /// When the first primary lane cooling down comes back.
    fn next_back(&self) -> Option<Instant> {
        self.lanes
            .iter()
            .filter_map(|l| match l.out {
                Out::Until(t, _) if !l.fallback => Some(t),
                _ => None,
            })
            .min()
    }
}

fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64().round().max(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lanes(specs: &[(u32, bool)]) -> Vec<Lane<()>> {
        specs
            .iter()
            .map(|&(weight, fallback)| Lane {
                transport: (),
                label: None,
                weight,
                concurrency: 2,
                rate_per_second: 0.0,
                fallback,
            })
            .collect()
    }

    /// Hands readers to whichever lane may take one, round after round, as
    /// workers pulling from one queue do.
    fn spread(board: &mut Board, readers: usize, now: Instant) -> Vec<usize> {
        let mut carried = vec![0; board.lanes.len()];
        let mut given = 0;
        while given < readers {
            let before = given;
            for (i, carried) in carried.iter_mut().enumerate() {
                if given < readers && board.turn(i, now) == Turn::Take {
                    board.took(i);
                    *carried += 1;
                    given += 1;
                }
            }
            assert!(given > before, "no lane could take a reader");
        }
        carried
    }

    #[test]
    fn readers_are_spread_by_weight_and_fallbacks_wait() {
        let now = Instant::now();
        let mut board = Board::new(
            &lanes(&[(3, false), (1, false), (5, true)]),
            Duration::from_secs(1),
        );
        let carried = spread(&mut board, 4000, now);
        assert_eq!(carried[2], 0, "a fallback waits while a primary is in");
        let share = carried[0] as f64 / 4000.0;
        assert!((share - 0.75).abs() < 0.01, "{carried:?}");
    }

    #[test]
    fn a_failing_lane_cools_down_doubling_and_comes_back_at_its_share() {
        let now = Instant::now();
        let mut board = Board::new(&lanes(&[(1, false), (1, false)]), Duration::from_secs(10));
        for _ in 0..2 {
            assert_eq!(board.record(1, Signal::NoAnswer, now), None);
        }
        let why = board.record(1, Signal::NoAnswer, now).unwrap();
        assert!(why.contains("3 connections in a row"), "{why}");
        // Its workers drop the connections opened before it went out.
        assert_eq!((board.outs(0), board.outs(1)), (0, 1));
        assert_eq!(
            board.turn(1, now),
            Turn::Wait(Some(now + Duration::from_secs(10)))
        );
        assert!(!board.all_out(now));
        spread(&mut board, 100, now);
        // Back after its cool-down, at the share it would have carried.
        let later = now + Duration::from_secs(10);
        assert_eq!(board.turn(1, later), Turn::Take);
        assert_eq!(board.lanes[1].taken, board.lanes[0].taken);
        // Most of its window deferred: out again, twice as long.
        for signal in [
            Signal::Answered,
            Signal::Deferred,
            Signal::Deferred,
            Signal::Answered,
        ] {
            assert_eq!(board.record(1, signal, later), None);
        }
        let why = board.record(1, Signal::Deferred, later).unwrap();
        assert!(
            why.contains("3 of its last 5") && why.contains("20 s"),
            "{why}"
        );
        // The other one refuses the sender: every lane is out.
        board.record(0, Signal::RefusesSender("550 no".into()), later);
        assert!(board.all_out(later));
        assert_eq!(board.turn(0, later), Turn::Done);
    }

    #[test]
    fn one_lane_never_cools_down() {
        let now = Instant::now();
        let mut board = Board::new(&lanes(&[(1, false)]), Duration::from_secs(10));
        for _ in 0..20 {
            assert_eq!(board.record(0, Signal::NoAnswer, now), None);
        }
        assert_eq!(board.turn(0, now), Turn::Take);
        assert!(board
            .record(0, Signal::RefusesSender("550".into()), now)
            .is_some());
        assert!(board.all_out(now));
    }
}
