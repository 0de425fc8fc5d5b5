//! Scheduled sends: `send_at` in the newsletter's time zone, `schedule`
//! and `schedule run` against the scriptable relay on 127.0.0.1, exactly
//! once under concurrent passes and a kill, the grace, DST and the Korean
//! night-time rule for advertising.

mod support;

#[allow(dead_code)]
#[path = "support/smtp.rs"]
mod smtp;

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
    // Advertising at 23:00 Korean time, the last one that has passed:
    // 정보통신망법 제50조 제3항.
    let seoul = jiff::tz::TimeZone::get("Asia/Seoul").unwrap();
    let mut night = jiff::Timestamp::now()
        .to_zoned(seoul)
        .with()
        .hour(23)
        .minute(0)
        .second(0)
        .build()
        .unwrap()
        .timestamp();
    if night > jiff::Timestamp::now() {
        night -= jiff::SignedDuration::from_hours(24);
    }
    let project = project(
        server.port,
        3,
        "rate_per_second = 0",
        &night.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    );
    project.edit(
        "issues/example/issue.toml",
        "send_at",
        "advertising = true\nsend_at",
    );
    project.edit(
        "config/newsletter.toml",
        "[sending]",
        "[sending]\nschedule_grace_minutes = 10080",
    );
    pass(&project).code(2).stdout(
        predicate::str::contains("example: not sent: `letterpress check` found errors")
            .and(predicate::str::contains("제50조 제3항")),
    );
    assert_eq!(server.received().len(), 0);
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
