//! When an issue may go out: the instant of its `send_at` in the
//! newsletter's time zone, the quiet hours (`[sending] quiet_hours`), and
//! when a grace runs out with the quiet hours not counted. `schedule`
//! decides by these rules and `check` warns by the same ones.

use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};

use crate::config::Config;
use crate::issue::{SendAt, When};

/// The newsletter's quiet hours: wall-clock times of its zone.
#[derive(Debug, Clone)]
pub struct Quiet {
    start: jiff::civil::Time,
    end: jiff::civil::Time,
    zone: TimeZone,
}

impl Quiet {
    /// `[sending] quiet_hours`, if set.
    pub fn of(config: &Config) -> Option<Quiet> {
        let (start, end) = config.quiet_hours()?;
        Some(Quiet {
            start,
            end,
            zone: config.time_zone(),
        })
    }

    /// As written in the config, for messages.
    pub fn written(&self) -> String {
        format!(
            "{}-{}",
            self.start.strftime("%H:%M"),
            self.end.strftime("%H:%M")
        )
    }

    /// Whether `t` is inside the quiet hours.
    pub fn inside(&self, t: Timestamp) -> bool {
        let now = t.to_zoned(self.zone.clone()).time();
        match self.start < self.end {
            true => self.start <= now && now < self.end,
            false => now >= self.start || now < self.end,
        }
    }

    /// The first moment after `t` at which the wall clock shows `time`.
    fn next(&self, t: Timestamp, time: jiff::civil::Time) -> Timestamp {
        let today = t.to_zoned(self.zone.clone()).date();
        (0..3)
            .filter_map(|days| today.checked_add(jiff::Span::new().days(days)).ok())
            .filter_map(|day| day.to_datetime(time).to_zoned(self.zone.clone()).ok())
            .map(|z| z.timestamp())
            .find(|at| *at > t)
            .unwrap_or(t + SignedDuration::from_hours(24))
    }

    /// When the quiet hours that `t` is inside end (or the next ones do).
    pub fn end_after(&self, t: Timestamp) -> Timestamp {
        self.next(t, self.end)
    }

    /// The end of the quiet hours if `t` is inside them.
    pub fn until(&self, t: Timestamp) -> Option<Timestamp> {
        self.inside(t).then(|| self.end_after(t))
    }
}

/// When `grace`, counted from `from`, runs out: quiet hours do not count,
/// so a grace never ends inside them.
pub fn deadline(quiet: Option<&Quiet>, from: Timestamp, grace: SignedDuration) -> Timestamp {
    let Some(quiet) = quiet else {
        return from + grace;
    };
    let (mut t, mut left) = (from, grace);
    // A grace is at most a week: a few turns of the clock.
    for _ in 0..64 {
        if quiet.inside(t) {
            t = quiet.end_after(t);
        }
        let next_start = quiet.next(t, quiet.start);
        if t + left <= next_start {
            return t + left;
        }
        left -= next_start.duration_since(t);
        t = next_start;
    }
    t + left
}

/// The instant of a `send_at`: an offset time as written; a local time in
/// `zone`. A local time that does not exist (clocks jump forward) or
/// happens twice (clocks fall back) is refused, naming both choices.
pub fn instant(send_at: &SendAt, zone: &TimeZone) -> std::result::Result<Timestamp, String> {
    let civil = match send_at.when {
        When::Instant(at) => return Ok(at),
        When::Local(civil) => civil,
    };
    let name = zone.iana_name().unwrap_or("UTC");
    // As TOML writes an offset datetime, so it can be copied as it is.
    let show = |offset: jiff::tz::Offset| {
        let secs = offset.seconds();
        let sign = if secs < 0 { '-' } else { '+' };
        let (h, m) = (secs.abs() / 3600, secs.abs() / 60 % 60);
        format!("{}{sign}{h:02}:{m:02}", civil.strftime("%Y-%m-%dT%H:%M:%S"))
    };
    match zone.to_ambiguous_timestamp(civil).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset
            .to_timestamp(civil)
            .map_err(|e| format!("`send_at` is out of range: {e}")),
        AmbiguousOffset::Gap { before, after } => Err(format!(
            "`send_at = {}` does not exist in {name}: the clocks jump from {before} to {after} that night (daylight saving time); write a time that exists, or an offset time such as {} or {}",
            send_at.written,
            show(before),
            show(after)
        )),
        AmbiguousOffset::Fold { before, after } => Err(format!(
            "`send_at = {}` happens twice in {name}: the clocks go back from {before} to {after} that night; write the offset to say which: {} (the first) or {} (the second)",
            send_at.written,
            show(before),
            show(after)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(text: &str) -> SendAt {
        SendAt {
            when: When::Local(text.parse().unwrap()),
            line: 1,
            written: text.into(),
        }
    }

    #[test]
    fn local_times_land_on_the_wall_clock_time_written() {
        let seoul = TimeZone::get("Asia/Seoul").unwrap();
        assert_eq!(
            instant(&local("2026-12-04T09:00:00"), &seoul).unwrap(),
            "2026-12-04T00:00:00Z".parse::<Timestamp>().unwrap()
        );
        let york = TimeZone::get("America/New_York").unwrap();
        // Before and after the spring change, 09:00 stays 09:00.
        assert_eq!(
            instant(&local("2027-03-11T09:00:00"), &york).unwrap(),
            "2027-03-11T14:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            instant(&local("2027-03-18T09:00:00"), &york).unwrap(),
            "2027-03-18T13:00:00Z".parse::<Timestamp>().unwrap()
        );
    }

    #[test]
    fn the_moment_of_the_pass_decides_and_the_grace_pauses_in_quiet_hours() {
        let seoul = TimeZone::get("Asia/Seoul").unwrap();
        let quiet = Quiet {
            start: jiff::civil::time(21, 0, 0, 0),
            end: jiff::civil::time(8, 0, 0, 0),
            zone: seoul.clone(),
        };
        let kst = |s: &str| instant(&local(s), &seoul).unwrap();
        let due = kst("2026-12-04T20:30:00");
        // The pass at 02:40 is inside: it waits until 08:00.
        assert_eq!(
            quiet.until(kst("2026-12-05T02:40:00")),
            Some(kst("2026-12-05T08:00:00"))
        );
        assert_eq!(quiet.until(kst("2026-12-04T20:30:00")), None);
        assert_eq!(quiet.until(kst("2026-12-05T08:00:00")), None);
        // 12 hours of grace: 30 minutes before 21:00, 11.5 hours after 08:00.
        let grace = SignedDuration::from_hours(12);
        assert_eq!(
            deadline(Some(&quiet), due, grace),
            kst("2026-12-05T19:30:00")
        );
        // An hour of grace that would end inside them ends at 08:30.
        assert_eq!(
            deadline(Some(&quiet), due, SignedDuration::from_hours(1)),
            kst("2026-12-05T08:30:00")
        );
        // Due inside them: the grace starts at their end.
        assert_eq!(
            deadline(Some(&quiet), kst("2026-12-05T02:00:00"), grace),
            kst("2026-12-05T20:00:00")
        );
        assert_eq!(deadline(None, due, grace), due + grace);
    }

    #[test]
    fn missing_and_doubled_local_times_are_refused_with_both_choices() {
        let york = TimeZone::get("America/New_York").unwrap();
        let gap = instant(&local("2027-03-14T02:30:00"), &york).unwrap_err();
        assert!(gap.contains("does not exist in America/New_York"), "{gap}");
        assert!(gap.contains("2027-03-14T02:30:00-05:00"), "{gap}");
        let fold = instant(&local("2026-11-01T01:30:00"), &york).unwrap_err();
        assert!(fold.contains("happens twice"), "{fold}");
        assert!(
            fold.contains("2026-11-01T01:30:00-04:00")
                && fold.contains("2026-11-01T01:30:00-05:00"),
            "{fold}"
        );
    }
}
