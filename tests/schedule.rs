//! Scheduled sends: `send_at` in the newsletter's time zone, `schedule`
//! and `schedule run` against the scriptable relay on 127.0.0.1, exactly
//! once under concurrent passes and a kill, the grace, DST, quiet hours
//! and deferred readers.

use crate::support;

#[allow(dead_code)]
use crate::smtp;

use std::time::{Duration, Instant};

use predicates::prelude::*;
use support::Project;

const SECRET: &str = "schedule-test-secret-0123456789";

/// The example with `n` readers, its relay at `port` and `send_at`.
fn project(port: u16, n: usize, sending: &str, send_at: &str) -> Project {
    let mut list = String::from("# scheduled readers\n");
    for i in 0..n {
        list.push_str(&format!(
            "\n[[subscriber]]\nemail = \"reader{i}@example.com\"\ntags = [\"weekly\"]\n"
        ));
    }
    let project = Project::with_relay(port, &list, &format!("state_dir = \"../state\"\n{sending}"));
    let toml = project.read("issues/example/issue.toml");
    project.write(
        "issues/example/issue.toml",
        format!("{toml}send_at = {send_at}\n"),
    );
    project
}

/// `now + seconds` as an offset datetime.
fn in_seconds(seconds: i64) -> String {
    (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(seconds))
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn pass(project: &Project) -> assert_cmd::assert::Assert {
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["schedule", "run"])
        .assert()
}

fn check(project: &Project) -> assert_cmd::assert::Assert {
    project.cmd().args(["check", "example"]).assert()
}

fn listing(project: &Project) -> String {
    let out = project.cmd().arg("schedule").output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

fn pass_process(project: &Project) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("letterpress"))
        .current_dir(project.dir.path())
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .env_remove("LETTERPRESS_CONFIG")
        .args(["schedule", "run"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_scheduled_issue_is_sent_once_when_its_time_comes() {
    let server = smtp::Server::start(smtp::Script::default());
    let due = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3);
    let project = project(
        server.port,
        5,
        "rate_per_second = 0",
        &due.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    );
    pass(&project).success().stdout(predicate::str::is_empty());
    assert_eq!(
        server.received().len(),
        0,
        "a pass before its time sends nothing"
    );
    assert!(
        listing(&project).contains("scheduled"),
        "{}",
        listing(&project)
    );
    let wait = due.as_millisecond() - jiff::Timestamp::now().as_millisecond() + 100;
    std::thread::sleep(Duration::from_millis(wait.max(0) as u64));
    pass(&project).success().stdout(predicate::str::contains(
        "example: sent: 5 accepted, 0 failed",
    ));
    assert_eq!(server.received().len(), 5);
    pass(&project).success().stdout(predicate::str::is_empty());
    assert_eq!(server.received().len(), 5, "another pass sends nothing");
    for (reader, n) in server.counts() {
        assert_eq!(n, 1, "{reader}");
    }
    assert!(
        listing(&project).contains("  sent"),
        "{}",
        listing(&project)
    );
}

#[test]
fn two_passes_at_once_send_each_reader_once() {
    let server = smtp::Server::start(smtp::Script::default());
    let project = project(
        server.port,
        30,
        "rate_per_second = 40\nconcurrency = 2",
        &in_seconds(-10),
    );
    let (a, b) = (pass_process(&project), pass_process(&project));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success(), "{a:?} {b:?}");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&a.stdout),
        String::from_utf8_lossy(&b.stdout)
    );
    assert!(said.contains("sent: 30 accepted"), "{said}");
    let counts = server.counts();
    assert_eq!(counts.len(), 30, "{said}");
    assert!(
        counts.values().all(|n| *n == 1),
        "a reader got two copies: {counts:?}"
    );
}

#[test]
fn a_scheduled_send_killed_midway_is_resumed_by_the_next_pass() {
    let server = smtp::Server::start(smtp::Script::default());
    let project = project(
        server.port,
        40,
        "rate_per_second = 20\nconcurrency = 2",
        &in_seconds(-5),
    );
    let mut child = pass_process(&project);
    let start = Instant::now();
    while server.received().len() < 10 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the pass sent nothing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = server.received().len();
    assert!(
        before < 40,
        "the kill came too late to test anything: {before}"
    );
    assert!(
        listing(&project).contains("sending"),
        "{}",
        listing(&project)
    );
    pass(&project)
        .success()
        .stdout(predicate::str::contains("example: sent:"));
    let counts = server.counts();
    assert_eq!(counts.len(), 40, "nobody is missed");
    let twice = counts.values().filter(|n| **n > 1).count();
    assert!(
        twice <= 2,
        "{twice} readers twice, more than the 2 in flight"
    );
    pass(&project).success().stdout(predicate::str::is_empty());
}

#[test]
fn an_issue_past_its_grace_is_missed_reported_once_and_sent_only_by_hand() {
    let server = smtp::Server::start(smtp::Script::default());
    let project = project(
        server.port,
        3,
        "rate_per_second = 0",
        &in_seconds(-2 * 3600),
    );
    pass(&project).success().stdout(
        predicate::str::contains("example: missed")
            .and(predicate::str::contains("letterpress send example")),
    );
    pass(&project).success().stdout(predicate::str::is_empty());
    assert_eq!(server.received().len(), 0);
    assert!(
        listing(&project).contains("missed"),
        "{}",
        listing(&project)
    );
    project
        .cmd()
        .args(["check", "issues/example"])
        .assert()
        .stdout(predicate::str::contains(
            "is in the past and the issue has not been sent; it is past the grace",
        ));
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["send", "example", "--yes"])
        .assert()
        .success();
    assert_eq!(server.received().len(), 3);
}

#[test]
fn a_due_issue_with_check_errors_is_not_sent_and_the_pass_says_why() {
    let server = smtp::Server::start(smtp::Script::default());
    let project = project(server.port, 3, "rate_per_second = 0", &in_seconds(-5));
    project.write(
        "issues/example/07-relative.md",
        "+++\ntitle = \"링크\"\n+++\n[자료](docs/olympus.pdf)\n",
    );
    pass(&project).code(2).stdout(
        predicate::str::contains("example: not sent: `letterpress check` found errors").and(
            predicate::str::contains("the link docs/olympus.pdf is relative"),
        ),
    );
    assert_eq!(server.received().len(), 0);
}

/// The wall-clock time in Seoul (the example's zone) `minutes` from now,
/// as HH:MM, the seconds cut off.
fn seoul(minutes: i64) -> String {
    let seoul = jiff::tz::TimeZone::get("Asia/Seoul").unwrap();
    (jiff::Timestamp::now() + jiff::SignedDuration::from_mins(minutes))
        .to_zoned(seoul)
        .strftime("%H:%M")
        .to_string()
}

#[test]
fn advertising_at_night_is_no_error_and_quiet_hours_hold_a_due_issue_until_they_end() {
    let server = smtp::Server::start(smtp::Script::default());
    let project = project(server.port, 3, "rate_per_second = 0", &in_seconds(-5));
    project.edit(
        "issues/example/issue.toml",
        "send_at",
        "advertising = true\nsend_at",
    );
    // Quiet hours around this moment, whatever the hour (night included).
    let (start, end) = (seoul(-60), seoul(60));
    project.edit(
        "config/newsletter.toml",
        "[sending]",
        &format!("[sending]\nquiet_hours = \"{start}-{end}\""),
    );
    check(&project).success().stdout(
        predicate::str::contains("is inside the quiet hours")
            .and(predicate::str::contains("제50조").not()),
    );
    pass(&project).success().stdout(predicate::str::contains(format!(
        "example: waits for the end of the quiet hours ([sending] quiet_hours = \"{start}-{end}\"): the first pass from "
    )).and(predicate::str::contains(format!("{end} KST sends it"))));
    assert_eq!(
        server.received().len(),
        0,
        "a pass inside quiet hours sends nothing"
    );
    pass(&project).success().stdout(predicate::str::is_empty());
    assert!(
        listing(&project).contains("waiting for the end of the quiet hours"),
        "{}",
        listing(&project)
    );
    // The quiet hours ended a minute ago: the pass of this moment sends.
    let ended = seoul(-1);
    project.edit(
        "config/newsletter.toml",
        &format!("\"{start}-{end}\""),
        &format!("\"{start}-{ended}\""),
    );
    pass(&project).success().stdout(predicate::str::contains(
        "example: sent: 3 accepted, 0 failed",
    ));
    assert_eq!(server.received().len(), 3);
}

#[test]
fn the_grace_runs_only_outside_quiet_hours() {
    let server = smtp::Server::start(smtp::Script::default());
    // Due two hours ago with an hour of grace: missed without quiet hours.
    // With quiet hours from 30 minutes after its time until a minute ago,
    // only about 31 minutes of grace are used up: the pass sends it.
    let sent = project(
        server.port,
        2,
        "rate_per_second = 0",
        &in_seconds(-2 * 3600),
    );
    sent.edit(
        "config/newsletter.toml",
        "[sending]",
        &format!(
            "[sending]\nschedule_grace_minutes = 60\nquiet_hours = \"{}-{}\"",
            seoul(-90),
            seoul(-1)
        ),
    );
    pass(&sent)
        .success()
        .stdout(predicate::str::contains("example: sent: 2 accepted"));
    assert_eq!(server.received().len(), 2);

    // Quiet hours that ended 40 minutes ago leave 30 + 40 minutes outside
    // them: more than the grace, so the issue is missed.
    let server = smtp::Server::start(smtp::Script::default());
    let missed = project(
        server.port,
        2,
        "rate_per_second = 0",
        &in_seconds(-2 * 3600),
    );
    missed.edit(
        "config/newsletter.toml",
        "[sending]",
        &format!(
            "[sending]\nschedule_grace_minutes = 60\nquiet_hours = \"{}-{}\"",
            seoul(-90),
            seoul(-40)
        ),
    );
    pass(&missed)
        .success()
        .stdout(predicate::str::contains("example: missed"));
    assert_eq!(server.received().len(), 0);
}

#[test]
fn quiet_hours_and_a_grace_of_zero_are_checked_at_their_line() {
    let project = Project::example();
    let config = project.read("config/newsletter.toml");
    for (value, said) in [
        (
            "schedule_grace_minutes = 0",
            "`sending.schedule_grace_minutes`: 0 would let no scheduled pass ever send",
        ),
        (
            "quiet_hours = \"25:00-08:00\"",
            "`sending.quiet_hours`: `25:00-08:00` is not a span of hours",
        ),
        (
            "quiet_hours = \"21:00-21:00\"",
            "`sending.quiet_hours`: `21:00-21:00` starts and ends at the same time",
        ),
    ] {
        project.write(
            "config/newsletter.toml",
            config.replace("[sending]", &format!("[sending]\n{value}")),
        );
        let line = config.lines().position(|l| l == "[sending]").unwrap() + 2;
        project
            .cmd()
            .args(["schedule", "run"])
            .assert()
            .failure()
            .stderr(
                predicate::str::contains(format!("config/newsletter.toml:{line}:"))
                    .and(predicate::str::contains(said)),
            );
    }
}

#[test]
fn deferred_readers_are_tried_again_by_later_passes_for_a_day() {
    let mut script = smtp::Script::default();
    for i in 0..3 {
        script.rules.insert(
            format!("reader{i}@example.com"),
            smtp::Rule {
                stage: smtp::Stage::Rcpt,
                reply: "451 4.7.1 Greylisted, try again later".into(),
                times: Some(1),
            },
        );
    }
    let server = smtp::Server::start(script);
    let project = project(
        server.port,
        3,
        "rate_per_second = 0\nmax_attempts = 1",
        &in_seconds(-5),
    );
    pass(&project).code(2).stdout(predicate::str::contains(
        "example: sent: 0 accepted, 0 failed, 3 deferred",
    ));
    assert_eq!(server.received().len(), 0);
    let list = listing(&project);
    assert!(list.contains("deferred (3 of 3 readers"), "{list}");
    // Too soon for another try: the next pass leaves them, quietly.
    pass(&project).success().stdout(predicate::str::is_empty());
    assert_eq!(server.received().len(), 0);
    // Ten minutes later (the journal last written 11 minutes ago).
    let journal = project.path("state/example.journal");
    std::fs::File::options()
        .append(true)
        .open(&journal)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(11 * 60))
        .unwrap();
    pass(&project).success().stdout(predicate::str::contains(
        "example: sent: 3 accepted, 0 failed, 0 deferred",
    ));
    assert_eq!(server.received().len(), 3);
    assert!(
        listing(&project).contains("  sent"),
        "{}",
        listing(&project)
    );
    pass(&project).success().stdout(predicate::str::is_empty());

    // Readers still deferred a day after the first try are left to a person.
    let server = smtp::Server::start(smtp::Script::default());
    let old = project_with_old_deferrals(server.port);
    pass(&old).success().stdout(predicate::str::contains(
        "example: 2 readers still deferred by the relay 24 hours after the first try; passes no longer try them: `letterpress send example` does",
    ));
    pass(&old).success().stdout(predicate::str::is_empty());
    assert_eq!(server.received().len(), 0);
    assert!(
        listing(&old).contains("missed (2 of 2 left)"),
        "{}",
        listing(&old)
    );
}

/// Two readers the relay deferred 25 hours ago, in an issue due then.
fn project_with_old_deferrals(port: u16) -> Project {
    let project = project(
        port,
        2,
        "rate_per_second = 0\nschedule_grace_minutes = 10080",
        &in_seconds(-25 * 3600),
    );
    let then = in_seconds(-25 * 3600);
    project.write(
        "state/example.journal",
        format!("{then} deferred reader0@example.com attempts=5 reply=\"451 later\"\n{then} deferred reader1@example.com attempts=5 reply=\"451 later\"\n"),
    );
    project
}

#[test]
fn local_times_follow_the_newsletters_zone_and_dst_changes_are_refused() {
    let project = Project::example();
    // The example's zone is Asia/Seoul.
    let toml = project.read("issues/example/issue.toml");
    let line = toml.lines().count() + 1;
    project.write(
        "issues/example/issue.toml",
        format!("{toml}send_at = 2027-12-03T09:00:00\n"),
    );
    let list = listing(&project);
    assert!(list.contains("SEND AT (Asia/Seoul)"), "{list}");
    assert!(
        list.contains("2027-12-03 09:00 +09:00  2027-12-03 00:00Z"),
        "{list}"
    );
    assert!(list.contains("scheduled"), "{list}");

    project.edit("config/newsletter.toml", "Asia/Seoul", "America/New_York");
    project.edit(
        "issues/example/issue.toml",
        "2027-12-03T09:00:00",
        "2027-03-14T02:30:00",
    );
    check(&project).code(1).stdout(predicate::str::contains(format!("issues/example/issue.toml:{line}: error: `send_at = 2027-03-14T02:30:00` does not exist in America/New_York")));
    project.edit(
        "issues/example/issue.toml",
        "2027-03-14T02:30:00",
        "2026-11-01T01:30:00",
    );
    check(&project).code(1).stdout(
        predicate::str::contains("happens twice in America/New_York").and(
            predicate::str::contains("2026-11-01T01:30:00-04:00 (the first)"),
        ),
    );
    assert!(
        listing(&project).contains("invalid"),
        "{}",
        listing(&project)
    );
    project
        .cmd()
        .args(["schedule", "run"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("cannot be scheduled"));

    project.edit(
        "issues/example/issue.toml",
        "2026-11-01T01:30:00",
        "2026-12-04",
    );
    check(&project).code(1).stdout(predicate::str::contains(
        "`send_at` needs a date and a time",
    ));
    project.edit("config/newsletter.toml", "America/New_York", "Asia/Sol");
    check(&project)
        .code(1)
        .stdout(
            predicate::str::contains("config/newsletter.toml:").and(predicate::str::contains(
                "`Asia/Sol` is not an IANA time zone name",
            )),
        );
}

#[test]
fn serve_with_schedule_sends_a_due_issue_once() {
    let server = smtp::Server::start(smtp::Script::default());
    let project = project(server.port, 4, "rate_per_second = 0", &in_seconds(-5));
    let served = support::Served::start(&project, SECRET, &["--schedule"]);
    let start = Instant::now();
    // The relay has a message before its reply reaches the send and the
    // journal: wait for the journal, not for the relay.
    while server.received().len() < 4 || !listing(&project).contains("  sent") {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "serve --schedule did not finish the send: {}",
            listing(&project)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Another pass or two (every 30 s, and at start) sends nobody again.
    std::thread::sleep(Duration::from_millis(500));
    drop(served);
    assert_eq!(server.received().len(), 4);
    assert!(server.counts().values().all(|n| *n == 1));
}

#[test]
fn a_pass_during_a_manual_send_leaves_the_issue_to_it() {
    let server = smtp::Server::start(smtp::Script::default());
    let project = project(
        server.port,
        30,
        "rate_per_second = 20\nconcurrency = 2",
        &in_seconds(-5),
    );
    let manual = std::process::Command::new(assert_cmd::cargo::cargo_bin("letterpress"))
        .current_dir(project.dir.path())
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .env_remove("LETTERPRESS_CONFIG")
        .args(["send", "example", "--yes"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while server.received().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the send sent nothing"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // The send holds the issue's lock: the pass leaves it alone, quietly.
    pass(&project).success().stdout(predicate::str::is_empty());
    let out = manual.wait_with_output().unwrap();
    assert!(out.status.success());
    let counts = server.counts();
    assert_eq!(counts.len(), 30);
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    pass(&project).success().stdout(predicate::str::is_empty());
    assert_eq!(server.received().len(), 30);
}
