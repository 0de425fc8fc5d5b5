//! Several relays in one send, each a real SMTP server on 127.0.0.1: one
//! goes down in the middle (refusing connections), one answers `421` to
//! everything, one refuses the sender; the send finishes through the
//! others, each reader once, and the journal, the summary and `stats` say
//! which relay carried whom. With every relay out, the send stops with
//! exit 2 and a second run resumes it.

use std::collections::HashMap;

use predicates::prelude::*;

use crate::smtp::{Script, Server};
use crate::support::Project;

const SECRET: &str = "relays-test-secret-0123456789";

/// The example with `readers` readers and `relays` (name, port, extra keys)
/// as its `[[smtp]]` tables.
fn project(relays: &[(&str, u16, &str)], readers: usize, sending: &str) -> Project {
    let mut list = String::from("# test list\n");
    for i in 0..readers {
        list.push_str(&format!(
            "\n[[subscriber]]\nemail = \"reader{i}@example.com\"\ntags = [\"weekly\"]\n"
        ));
    }
    let project = Project::with_relay(
        relays[0].1,
        &list,
        &format!("state_dir = \"../state\"\nrate_per_second = 0\n{sending}"),
    );
    let config = project.read("config/newsletter.toml");
    let start = config.find("[smtp]").unwrap();
    let end = start + config[start..].find("[sending]").unwrap();
    let tables: String = relays
        .iter()
        .map(|(name, port, extra)| {
            format!("[[smtp]]\nname = \"{name}\"\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\ntimeout_secs = 5\n{extra}\n")
        })
        .collect();
    project.write(
        "config/newsletter.toml",
        format!("{}{tables}{}", &config[..start], &config[end..]),
    );
    project
}

fn send(project: &Project) -> assert_cmd::assert::Assert {
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["send", "issues/example", "--yes"])
        .assert()
}

/// Each reader's last record: (outcome, relay).
fn journal(project: &Project) -> HashMap<String, (String, String)> {
    project
        .read("state/example.journal")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let fields: Vec<&str> = l.split(' ').collect();
            let relay = fields
                .iter()
                .find_map(|f| f.strip_prefix("relay="))
                .unwrap_or_else(|| panic!("no relay in {l}"));
            (
                fields[2].to_string(),
                (fields[1].to_string(), relay.to_string()),
            )
        })
        .collect()
}

/// How many messages each reader got over every server.
fn received(servers: &[&Server]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for server in servers {
        for (reader, n) in server.counts() {
            *counts.entry(reader).or_insert(0) += n;
        }
    }
    counts
}

fn carried_by(journal: &HashMap<String, (String, String)>, relay: &str) -> usize {
    journal
        .values()
        .filter(|(o, r)| o == "accepted" && r == relay)
        .count()
}

#[test]
fn a_relay_going_down_and_one_in_a_421_storm_leave_their_readers_to_the_others() {
    let down = Server::start(Script {
        down_after_messages: Some(30),
        ..Script::default()
    });
    let storm = Server::start(Script {
        storm_after_messages: Some(30),
        ..Script::default()
    });
    let steady = Server::start(Script::default());
    let readers = 300;
    let project = project(
        &[
            ("down", down.port, "concurrency = 2"),
            ("storm", storm.port, "concurrency = 2"),
            ("steady", steady.port, "concurrency = 2"),
        ],
        readers,
        "max_attempts = 5\nretry_delay_secs = 0.05\nrelay_cooldown_secs = 0.5",
    );
    let out = send(&project).success().get_output().stdout.clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains(&format!(
            "{readers} accepted, 0 failed, 0 deferred, 0 not attempted"
        )),
        "{out}"
    );
    // Every reader once, over the three relays.
    let counts = received(&[&down, &storm, &steady]);
    assert_eq!(counts.len(), readers, "{out}");
    assert!(
        counts.values().all(|n| *n == 1),
        "a reader got two: {counts:?}"
    );
    // Each failing relay took its 30, and the messages in flight on its two
    // connections as it turned.
    let (d, s, rest) = (
        down.received().len(),
        storm.received().len(),
        steady.received().len(),
    );
    assert!((30..=32).contains(&d) && (30..=32).contains(&s), "{d} {s}");
    assert_eq!(d + s + rest, readers);
    // The journal names the relay that accepted each, as the servers saw.
    let journal = journal(&project);
    assert_eq!(journal.len(), readers);
    assert!(journal.values().all(|(o, _)| o == "accepted"));
    assert_eq!(carried_by(&journal, "down"), d);
    assert_eq!(carried_by(&journal, "storm"), s);
    assert_eq!(carried_by(&journal, "steady"), rest);
    // The summary says what each relay did and why two were taken out.
    for line in [
        format!("Relays:\n  down: {d} accepted, 0 failed,"),
        format!("\n  storm: {s} accepted, 0 failed,"),
        format!("\n  steady: {rest} accepted, 0 failed, 0 deferrals"),
    ] {
        assert!(out.contains(&line), "{line}: {out}");
    }
    assert!(
        out.contains("connections in a row found no relay; out for"),
        "{out}"
    );
    assert!(
        out.contains("of its last") && out.contains("messages failed for now; out for"),
        "{out}"
    );
    // stats reads the same per relay from the journal.
    let stats = project
        .cmd()
        .args(["stats", "issues/example"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let stats = String::from_utf8(stats).unwrap();
    for line in [
        format!("relay     down: {d} accepted, 0 refused,"),
        format!("relay     storm: {s} accepted, 0 refused,"),
        format!("relay     steady: {rest} accepted, 0 refused, 0 deferrals, median"),
    ] {
        assert!(stats.contains(&line), "{line}: {stats}");
    }
}

#[test]
fn with_every_relay_down_the_send_stops_with_exit_2_and_a_second_run_resumes() {
    let first = Server::start(Script {
        down_after_messages: Some(20),
        ..Script::default()
    });
    let second = Server::start(Script {
        down_after_messages: Some(20),
        ..Script::default()
    });
    let readers = 200;
    let project = project(
        &[("one", first.port, ""), ("two", second.port, "weight = 2")],
        readers,
        "concurrency = 2\nrelay_cooldown_secs = 60",
    );
    let list = project.read("config/subscribers.toml");
    send(&project).code(2).stderr(
        predicate::str::contains("every relay was out: one (")
            .and(predicate::str::contains("two ("))
            .and(predicate::str::contains("nobody was marked bounced"))
            .and(predicate::str::contains("resume with:")),
    );
    assert_eq!(project.read("config/subscribers.toml"), list);
    let journal_before = journal(&project);
    let (one, two) = (first.received().len(), second.received().len());
    assert!(
        (20..=22).contains(&one) && (20..=22).contains(&two),
        "{one} {two}"
    );
    assert_eq!(carried_by(&journal_before, "one"), one);
    assert_eq!(carried_by(&journal_before, "two"), two);
    assert!(journal_before.values().all(|(o, _)| o != "failed"));

    // Both relays back (on new ports): the rerun sends only the rest.
    let third = Server::start(Script::default());
    let fourth = Server::start(Script::default());
    let config = project
        .read("config/newsletter.toml")
        .replace(
            &format!("port = {}", first.port),
            &format!("port = {}", third.port),
        )
        .replace(
            &format!("port = {}", second.port),
            &format!("port = {}", fourth.port),
        );
    project.write("config/newsletter.toml", config);
    let rest = readers - one - two;
    send(&project)
        .success()
        .stdout(predicate::str::contains(format!(
            "{rest} accepted, 0 failed"
        )));
    let counts = received(&[&first, &second, &third, &fourth]);
    assert_eq!(counts.len(), readers);
    assert!(
        counts.values().all(|n| *n == 1),
        "a reader got two: {counts:?}"
    );
    // Weight 2 against 1: the second relay carried about twice as many.
    let (three, four) = (third.received().len(), fourth.received().len());
    assert_eq!(three + four, rest);
    assert!(
        four > three * 3 / 2 && four < three * 5 / 2,
        "{three} / {four}"
    );
}

#[test]
fn a_relay_refusing_the_sender_is_out_for_the_run_and_a_fallback_carries_the_send() {
    let refusing = Server::start(Script {
        mail_reply: Some("550 5.7.1 sender not allowed from this account".into()),
        ..Script::default()
    });
    let fallback = Server::start(Script::default());
    let project = project(
        &[
            ("esp", refusing.port, ""),
            ("own-mta", fallback.port, "role = \"fallback\""),
        ],
        60,
        "concurrency = 2",
    );
    let list = project.read("config/subscribers.toml");
    send(&project).success().stdout(
        predicate::str::contains("60 accepted, 0 failed, 0 deferred")
            .and(predicate::str::contains(
                "esp: 0 accepted, 0 failed, 0 deferrals; taken out: the relay refuses the sender: permanent error (550): 5.7.1",
            ))
            .and(predicate::str::contains("own-mta: 60 accepted")),
    );
    assert_eq!(fallback.received().len(), 60);
    assert!(refusing.received().is_empty());
    assert_eq!(
        project.read("config/subscribers.toml"),
        list,
        "nobody marked"
    );
    assert_eq!(carried_by(&journal(&project), "own-mta"), 60);
}

#[test]
fn one_relay_refusing_the_sender_stops_the_send_and_marks_nobody() {
    let refusing = Server::start(Script {
        mail_reply: Some("553 5.7.1 sender address rejected: not owned by user".into()),
        ..Script::default()
    });
    let project = project(&[("only", refusing.port, "")], 30, "concurrency = 2");
    let list = project.read("config/subscribers.toml");
    send(&project).code(2).stderr(
        predicate::str::contains(
            "every relay was out: only (the relay refuses the sender: permanent error (553)",
        )
        .and(predicate::str::contains("30 readers not sent yet")),
    );
    assert_eq!(project.read("config/subscribers.toml"), list);
    assert!(!project.path("state/example.journal").exists() || journal(&project).is_empty());
}

#[test]
fn relay_tables_are_checked_at_their_line() {
    let project = project(&[("same", 2525, ""), ("same", 2526, "weight = 0")], 1, "");
    let text = project.read("config/newsletter.toml");
    let line_of = |needle: &str| text[..text.rfind(needle).unwrap()].lines().count() + 1;
    project
        .cmd()
        .args(["check", "issues/example"])
        .assert()
        .failure()
        .stdout(
            predicate::str::contains(format!("newsletter.toml:{}:", line_of("name = \"same\"")))
                .and(predicate::str::contains(
                    "a relay named `same` is listed already",
                ))
                .and(predicate::str::contains(format!(
                    "newsletter.toml:{}:",
                    line_of("weight = 0")
                )))
                .and(predicate::str::contains("smtp[1].weight")),
        );
    let fallbacks = Project::example();
    fallbacks.edit(
        "config/newsletter.toml",
        "timeout_secs = 30",
        "timeout_secs = 30\nrole         = \"fallback\"",
    );
    fallbacks
        .cmd()
        .args(["check", "issues/example"])
        .assert()
        .failure()
        .stdout(predicate::str::contains("every relay is a fallback"));
}
