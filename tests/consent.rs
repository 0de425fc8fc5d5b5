//! The consent mails Korean law asks of a sender of advertising (`[consent]`,
//! on by default for a newsletter in Korean): result notices after a
//! consent or a withdrawal and the two-year reminder, sent by the scheduled
//! pass through the scriptable relay on 127.0.0.1, journaled, once per
//! reader per event even when a pass is killed half-way.

use std::time::{Duration, Instant};

use crate::smtp;
use crate::subscribe::parts;
use crate::support::Project;

const SECRET: &str = "consent-test-secret-0123456789";

fn reader(email: &str, fields: &str) -> String {
    format!("\n[[subscriber]]\nemail = \"{email}\"\ntags = [\"weekly\"]\n{fields}\n")
}

fn ago(seconds: i64) -> String {
    (jiff::Timestamp::now() - jiff::SignedDuration::from_secs(seconds))
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn pass(project: &Project) -> std::process::Output {
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["schedule", "run"])
        .output()
        .unwrap()
}

fn mails_to(smtp: &smtp::Server, address: &str) -> Vec<String> {
    smtp.received()
        .into_iter()
        .filter(|m| m.to.iter().any(|t| t == address))
        .map(|m| parts(&m.data).join("\n"))
        .collect()
}

// Test that one pass mails the result notice of a fresh consent and of a
// fresh withdrawal and the reminder of a consent two years old, with when
// and how the reader agreed and how to withdraw; nothing to a bounced, an
// imported or a young reader; records consent_notified_at; and that the
// next pass mails nobody again. `check` warns of the overdue reminder
// before, not after.
#[test]
fn notices_and_the_two_year_reminder_go_out_once() {
    let smtp = smtp::Server::start(smtp::Script::default());
    let hour_ago = ago(3600);
    let list = [
        reader("old@example.net", "subscribed_at = \"2024-10-01T09:00:00Z\"\nsource = \"form\""),
        reader("recent@example.net", &format!("subscribed_at = \"{hour_ago}\"\nsource = \"form\"")),
        reader("left@example.net", &format!("status = \"unsubscribed\"\nsubscribed_at = \"2025-01-01T00:00:00Z\"\nunsubscribed_at = \"{hour_ago}\"")),
        reader("bounced@example.net", "status = \"bounced\"\nsubscribed_at = \"2020-01-01T00:00:00Z\""),
        reader("young@example.net", "subscribed_at = \"2025-06-01T00:00:00Z\"\nsource = \"form\""),
        reader("imported@example.net", &format!("subscribed_at = \"{hour_ago}\"\nsource = \"import\"")),
    ]
    .concat();
    let project = Project::with_relay(
        smtp.port,
        &list,
        "state_dir = \"../state\"\nrate_per_second = 0",
    );
    let check = project.cmd().args(["check", "example"]).output().unwrap();
    let findings = String::from_utf8_lossy(&check.stdout);
    assert!(
        findings.contains("1 reader has not been reminded of their consent, due every 730 days"),
        "{findings}"
    );

    let out = pass(&project);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("consent mails: 2 result notices and 1 reminder sent"),
        "{said}"
    );
    let reminder = mails_to(&smtp, "old@example.net");
    assert_eq!(reminder.len(), 1);
    assert!(
        reminder[0].contains("수신동의 일시: 2024-10-01 18:00 KST"),
        "{}",
        reminder[0]
    );
    assert!(
        reminder[0].contains("구독 신청 페이지에서"),
        "{}",
        reminder[0]
    );
    let token = letterpress::token(SECRET.as_bytes(), "old@example.net");
    assert!(
        reminder[0].contains(&format!(
            "https://news.example.com/unsubscribe?e=old%40example.net&t={token}"
        )),
        "{}",
        reminder[0]
    );
    let notice = mails_to(&smtp, "recent@example.net");
    assert_eq!(notice.len(), 1);
    assert!(
        notice[0].contains("처리 결과: 수신동의 완료"),
        "{}",
        notice[0]
    );
    let left = mails_to(&smtp, "left@example.net");
    assert_eq!(left.len(), 1);
    assert!(left[0].contains("처리 결과: 수신거부 완료"), "{}", left[0]);
    for nobody in [
        "bounced@example.net",
        "young@example.net",
        "imported@example.net",
    ] {
        assert!(mails_to(&smtp, nobody).is_empty(), "{nobody}");
    }
    let list = letterpress::List::load(&project.path("config/subscribers.toml")).unwrap();
    let notified = |email: &str| {
        list.entries
            .iter()
            .find(|e| e.email() == email)
            .unwrap()
            .subscriber()
            .consent_notified_at
    };
    assert!(notified("old@example.net").is_some());
    assert!(notified("left@example.net").is_some());
    assert!(notified("young@example.net").is_none());

    let out = pass(&project);
    assert!(out.status.success());
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(smtp.received().len(), 3, "a second pass mails nobody again");
    let check = project.cmd().args(["check", "example"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&check.stdout).contains("reminded of their consent"));
    let shown = project
        .cmd()
        .args(["subscribers", "show", "old@example.net"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&shown.stdout).contains(" consent accepted "));
}

// Test that a reminder pass killed half-way and run again reminds every
// reader, and nobody twice beyond the one message in flight when the
// process died.
#[test]
fn a_killed_reminder_run_and_a_rerun_remind_nobody_twice() {
    let smtp = smtp::Server::start(smtp::Script {
        delay: Duration::from_millis(3),
        ..smtp::Script::default()
    });
    let n = 300;
    let list: String = (0..n)
        .map(|i| {
            reader(
                &format!("r{i}@example.net"),
                "subscribed_at = \"2024-06-01T00:00:00Z\"\nsource = \"form\"",
            )
        })
        .collect();
    let project = Project::with_relay(
        smtp.port,
        &list,
        "state_dir = \"../state\"\nrate_per_second = 0",
    );
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("letterpress"))
        .current_dir(project.dir.path())
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .env_remove("LETTERPRESS_CONFIG")
        .args(["schedule", "run"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while smtp.received().len() < 60 {
        assert!(Instant::now() < deadline, "the pass does not send");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = smtp.received().len();
    assert!(before < n, "the pass ended before it was killed");

    let out = pass(&project);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let counts = smtp.counts();
    assert_eq!(counts.len(), n, "every reader reminded");
    let twice = counts.values().filter(|c| **c > 1).count();
    assert!(twice <= 1, "{twice} readers reminded twice");
    assert!(counts.values().all(|c| *c <= 2));
    let total = smtp.received().len();
    let out = pass(&project);
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(smtp.received().len(), total, "a third pass mails nobody");
}
