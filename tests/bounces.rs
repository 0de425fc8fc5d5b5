//! Bounce and complaint reports: the corpus under tests/fixtures/bounces/
//! classified as expected.toml says, `bounces import` from a file, an mbox
//! and a Maildir, the policy and its log, and the send-time rules.

use crate::support;

#[allow(dead_code)]
use crate::smtp;

use std::path::{Path, PathBuf};

use letterpress::bounces::classify::{classify, Kind, Ours};
use predicates::prelude::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Expected {
    report: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    file: String,
    kind: String,
    recipients: Vec<String>,
    status: Option<String>,
    about: String,
}

fn identity(a: &str) -> String {
    a.trim().to_lowercase()
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bounces")
}

fn ours() -> Ours {
    Ours {
        addresses: vec!["letter@example.com".into(), "bounces@example.com".into()],
    }
}

#[test]
fn the_corpus_is_classified_as_expected() {
    let expected: Expected =
        toml::from_str(&std::fs::read_to_string(corpus().join("expected.toml")).unwrap()).unwrap();
    let mut wrong = Vec::new();
    let (mut kinds_right, mut recipients_right) = (0, 0);
    for entry in &expected.report {
        let raw = std::fs::read(corpus().join(&entry.file)).unwrap();
        let report = classify(&raw, &ours());
        let mut got: Vec<String> = report
            .recipients
            .iter()
            .map(|r| identity(&r.address))
            .collect();
        got.sort();
        let mut want: Vec<String> = entry.recipients.iter().map(|r| identity(r)).collect();
        want.sort();
        let kind_ok = Some(report.kind) == Kind::parse(&entry.kind);
        let status_ok = report.status == entry.status;
        kinds_right += usize::from(kind_ok && status_ok);
        recipients_right += usize::from(got == want);
        if !(kind_ok && status_ok && got == want) {
            wrong.push(format!(
                "{} ({}): got {} {:?} {got:?}, want {} {:?} {want:?}",
                entry.file,
                entry.about,
                report.kind.as_str(),
                report.status,
                entry.kind,
                entry.status
            ));
        }
    }
    println!(
        "corpus: kinds and codes right {kinds_right}/{n}, recipients right {recipients_right}/{n}",
        n = expected.report.len()
    );
    assert!(wrong.is_empty(), "misread reports:\n{}", wrong.join("\n"));
}

const SECRET: &str = "bounces-test-secret-0123456789";

/// The example project with a list that holds some of the corpus's readers.
fn project(extra_readers: &[&str]) -> support::Project {
    let project = support::Project::example();
    let mut list = String::from("# test list\n");
    for reader in [
        "gone-postfix@example.org",
        "full-box@example.net",
        "fbl-yahoo@example.net",
        "reader@example.com",
    ]
    .iter()
    .chain(extra_readers)
    {
        list.push_str(&format!(
            "\n[[subscriber]]\nemail = \"{reader}\"\ntags = [\"weekly\"]\n"
        ));
    }
    project.write("config/subscribers.toml", list);
    // The corpus's reports carry no VERP tag or reader token (they were
    // written from the formats' documentation): act on them.
    project.edit(
        "config/newsletter.toml",
        "soft_window_days = 30",
        "soft_window_days = 30\nverify           = false",
    );
    project
}

/// A Maildir holding copies of these corpus files in new/.
fn maildir(project: &support::Project, files: &[&str]) -> PathBuf {
    let dir = project.path("Maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    for (i, file) in files.iter().enumerate() {
        std::fs::copy(
            corpus().join(file),
            dir.join("new").join(format!("17649{i:05}.M1P1.test")),
        )
        .unwrap();
    }
    dir
}

fn import(project: &support::Project, source: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["bounces", "import", source])
        .args(extra)
        .assert()
}

fn status_of(project: &support::Project, reader: &str) -> String {
    let list: toml::Table = toml::from_str(&project.read("config/subscribers.toml")).unwrap();
    let entry = list["subscriber"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["email"].as_str() == Some(reader))
        .unwrap_or_else(|| panic!("{reader} is not in the list"));
    entry
        .get("status")
        .and_then(|s| s.as_str())
        .unwrap_or("active")
        .to_string()
}

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for sub in ["new", "cur"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let entry = entry.unwrap();
            files.push((
                format!("{sub}/{}", entry.file_name().to_string_lossy()),
                std::fs::read(entry.path()).unwrap(),
            ));
        }
    }
    files.sort();
    files
}

const MIXED: &[&str] = &[
    "postfix-user-unknown.eml",
    "postfix-mailbox-full.eml",
    "arf-abuse-yahoo.eml",
    "autoreply-vacation-ko.eml",
    "human-reply-ko.eml",
    "postfix-delayed.eml",
    "qmail-no-mailbox.eml",
];

#[test]
fn a_maildir_import_applies_the_policy_once_and_marks_only_what_it_recognised() {
    let project = project(&[]);
    let dir = maildir(&project, MIXED);
    let list_before = project.read("config/subscribers.toml");
    let tree_before = tree(&dir);

    // A dry run changes nothing and says per message what it would do.
    let out = import(&project, "Maildir", &["--dry-run", "--format", "json"]).success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let objects: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), MIXED.len(), "{stdout}");
    let by_kind = |kind: &str| -> Vec<&serde_json::Value> {
        objects.iter().filter(|o| o["kind"] == kind).collect()
    };
    let hard = by_kind("hard");
    assert_eq!(hard.len(), 2, "{stdout}");
    let gone = hard
        .iter()
        .find(|o| o["recipients"][0] == "gone-postfix@example.org")
        .unwrap();
    assert_eq!(gone["status"], "5.1.1");
    assert_eq!(gone["in_list"][0], "gone-postfix@example.org");
    assert_eq!(gone["action"], "bounced");
    let qmail = hard
        .iter()
        .find(|o| o["recipients"][0] == "gone-qmail@example.net")
        .unwrap();
    assert_eq!(qmail["in_list"].as_array().unwrap().len(), 0);
    assert_eq!(qmail["action"], "none");
    assert_eq!(by_kind("soft")[0]["action"], "counted");
    assert_eq!(by_kind("complaint")[0]["action"], "unsubscribed");
    assert_eq!(by_kind("auto-reply")[0]["action"], "none");
    assert_eq!(by_kind("delayed")[0]["action"], "none");
    assert_eq!(by_kind("unrecognised")[0]["action"], "left");
    assert_eq!(project.read("config/subscribers.toml"), list_before);
    assert_eq!(tree(&dir), tree_before);
    assert!(!project.path("state/bounces.log").exists());

    // The real import.
    import(&project, "Maildir", &[]).success().stdout(
        predicates::str::contains("gone-postfix@example.org: marked bounced")
            .and(predicates::str::contains(
                "gone-qmail@example.net is not in the list",
            ))
            .and(predicates::str::contains("soft bounce 1 of 3 counted")),
    );
    assert_eq!(status_of(&project, "gone-postfix@example.org"), "bounced");
    assert_eq!(status_of(&project, "fbl-yahoo@example.net"), "unsubscribed");
    assert_eq!(status_of(&project, "full-box@example.net"), "active");
    assert_eq!(status_of(&project, "reader@example.com"), "active");
    assert!(project
        .read("config/subscribers.toml")
        .starts_with("# test list\n"));
    let log = project.read("state/bounces.log");
    let events: Vec<&str> = log.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(events.len(), 3, "{log}");
    assert!(
        events.iter().any(
            |l| l.contains(" hard gone-postfix@example.org status=5.1.1 ")
                && l.ends_with("action=bounced reason=userunknown")
        ),
        "{log}"
    );
    assert!(
        events
            .iter()
            .any(|l| l.contains(" complaint fbl-yahoo@example.net status=- ")
                && l.ends_with("action=unsubscribed reason=feedback")),
        "{log}"
    );
    assert!(
        events
            .iter()
            .any(|l| l.contains(" soft full-box@example.net status=5.2.2 ")
                && l.ends_with("action=counted reason=mailboxfull")),
        "{log}"
    );

    // Recognised messages are read (cur/, Seen); the human reply is untouched.
    let after = tree(&dir);
    let human = std::fs::read(corpus().join("human-reply-ko.eml")).unwrap();
    let untouched: Vec<&(String, Vec<u8>)> = after
        .iter()
        .filter(|(n, _)| n.starts_with("new/"))
        .collect();
    assert_eq!(
        untouched.len(),
        1,
        "{:?}",
        after.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    assert_eq!(untouched[0].1, human);
    assert_eq!(
        after
            .iter()
            .filter(|(n, _)| n.starts_with("cur/") && n.ends_with(":2,S"))
            .count(),
        MIXED.len() - 1
    );

    // Importing the same reports again (copied back in) counts nothing twice.
    let again = maildir(
        &project,
        &["postfix-mailbox-full.eml", "postfix-user-unknown.eml"],
    );
    import(&project, again.to_str().unwrap(), &[])
        .success()
        .stdout(predicates::str::contains("imported before and counts once"));
    assert_eq!(project.read("state/bounces.log"), log);
}

#[test]
fn an_mbox_is_only_read_and_a_single_file_works_too() {
    let project = project(&[]);
    let mut mbox = Vec::new();
    for file in MIXED {
        mbox.extend_from_slice(b"From MAILER-DAEMON Fri Nov 27 09:00:00 2026\n");
        mbox.extend_from_slice(&std::fs::read(corpus().join(file)).unwrap());
        mbox.extend_from_slice(b"\n");
    }
    project.write("bounces.mbox", &mbox);
    import(&project, "bounces.mbox", &[])
        .success()
        .stdout(predicates::str::contains(format!(
            "{} messages read from the mbox",
            MIXED.len()
        )));
    assert_eq!(std::fs::read(project.path("bounces.mbox")).unwrap(), mbox);
    assert_eq!(status_of(&project, "gone-postfix@example.org"), "bounced");

    let project = self::project(&[]);
    project.write(
        "one.eml",
        std::fs::read(corpus().join("arf-abuse-yahoo.eml")).unwrap(),
    );
    import(&project, "one.eml", &["--format", "json"])
        .success()
        .stdout(predicates::str::contains("\"action\":\"unsubscribed\""));
    assert_eq!(status_of(&project, "fbl-yahoo@example.net"), "unsubscribed");
}

#[test]
fn soft_bounces_mark_a_reader_only_at_the_limit_within_the_window() {
    let project = project(&[]);
    let soft = std::fs::read_to_string(corpus().join("postfix-mailbox-full.eml")).unwrap();
    let id = soft
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
        .unwrap()
        .to_string();
    let date = soft
        .lines()
        .find(|l| l.starts_with("Date:"))
        .unwrap()
        .to_string();
    for (i, day) in ["10 Nov 2026", "17 Nov 2026", "24 Nov 2026"]
        .iter()
        .enumerate()
    {
        let report = soft
            .replacen(&id, &format!("Message-ID: <soft-{i}@mx.example.net>"), 1)
            .replacen(&date, &format!("Date: Tue, {day} 09:30:00 +0000"), 1);
        project.write(&format!("soft-{i}.eml"), report);
        let expect = if i < 2 { "counted" } else { "bounced" };
        import(&project, &format!("soft-{i}.eml"), &["--format", "json"])
            .success()
            .stdout(predicates::str::contains(format!(
                "\"action\":\"{expect}\""
            )));
        let status = if i < 2 { "active" } else { "bounced" };
        assert_eq!(
            status_of(&project, "full-box@example.net"),
            status,
            "after report {i}"
        );
    }
}

#[test]
fn bad_sources_are_named_with_what_to_do() {
    let project = project(&[]);
    import(&project, "missing.mbox", &[])
        .code(1)
        .stderr(predicates::str::contains("missing.mbox: cannot read it"));
    std::fs::create_dir_all(project.path("notmaildir")).unwrap();
    import(&project, "notmaildir", &[])
        .code(1)
        .stderr(predicates::str::contains("not a Maildir"));
    import(&project, "imap://u@mail.example.com/INBOX", &[])
        .code(1)
        .stderr(predicates::str::contains(
            "only allowed towards this machine",
        ));
    import(&project, "imaps://u:pw@mail.example.com/INBOX", &[])
        .code(1)
        .stderr(predicates::str::contains("password in the URL is refused"));
    let dir = maildir(&project, &["postfix-user-unknown.eml"]);
    import(&project, dir.to_str().unwrap(), &["--move-to", "Done"])
        .code(1)
        .stderr(predicates::str::contains("--move-to is for IMAP folders"));
    project.edit(
        "config/newsletter.toml",
        "soft_limit       = 3",
        "soft_limit       = 0",
    );
    import(&project, dir.to_str().unwrap(), &[]).code(1).stderr(
        predicates::str::contains("config/newsletter.toml:46")
            .and(predicates::str::contains("soft_limit")),
    );
}

/// The example with `n` readers (reader0@example.com …) and its relay at `port`.
fn relayed(port: u16, n: usize) -> support::Project {
    let mut list = String::from("# relay test list\n");
    for i in 0..n {
        list.push_str(&format!(
            "\n[[subscriber]]\nemail = \"reader{i}@example.com\"\ntags = [\"weekly\"]\n"
        ));
    }
    support::Project::with_relay(
        port,
        &list,
        "concurrency = 1\nrate_per_second = 0\nmax_attempts = 2\nretry_delay_secs = 0.01\nstate_dir = \"../state\"\n\n[bounces]\nreturn_path = \"bounces@news.example.com\"",
    )
}

fn send(project: &support::Project) -> assert_cmd::assert::Assert {
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["send", "issues/example", "--yes"])
        .assert()
}

fn refuse(script: &mut smtp::Script, reader: &str, reply: &str) {
    script.rules.insert(
        reader.into(),
        smtp::Rule {
            stage: smtp::Stage::Rcpt,
            reply: reply.into(),
            times: None,
        },
    );
}

#[test]
fn a_reader_the_relay_says_does_not_exist_is_marked_bounced_after_the_send() {
    let mut script = smtp::Script::default();
    refuse(
        &mut script,
        "reader1@example.com",
        "550 5.1.1 <reader1@example.com>: Recipient address rejected: User unknown",
    );
    refuse(
        &mut script,
        "reader2@example.com",
        "550 5.7.1 <reader2@example.com>: message refused by policy",
    );
    let server = smtp::Server::start(script);
    let project = relayed(server.port, 6);
    send(&project).code(2).stdout(predicates::str::contains(
        "Marked bounced (the relay said the address does not exist): reader1@example.com",
    ));
    assert_eq!(status_of(&project, "reader1@example.com"), "bounced");
    assert_eq!(status_of(&project, "reader2@example.com"), "active");
    let log = project.read("state/bounces.log");
    assert!(
        log.contains(
            " hard reader1@example.com status=5.1.1 report=send:example.journal action=bounced"
        ),
        "{log}"
    );
    assert!(
        log.contains(
            " soft reader2@example.com status=5.7.1 report=send:example.journal action=none reason=securityerror"
        ),
        "{log}"
    );
    // The VERP envelope sender names each reader with the secret's tag.
    let received = server.received();
    assert_eq!(received.len(), 4);
    for message in &received {
        assert!(
            message.from.starts_with("bounces+") && message.from.ends_with("@news.example.com"),
            "{}",
            message.from
        );
        assert!(!message.from.contains("reader"), "{}", message.from);
    }
    let tags: std::collections::HashSet<&str> = received.iter().map(|m| m.from.as_str()).collect();
    assert_eq!(tags.len(), 4, "one tag per reader");
    // A retry of the refused reader counts the same refusal once.
    send(&project).code(2);
    assert_eq!(project.read("state/bounces.log"), log);
}

#[test]
fn a_relay_that_refuses_most_of_the_first_readers_stops_the_send_and_marks_nobody() {
    let mut script = smtp::Script::default();
    for i in 0..25 {
        if i % 5 != 0 {
            refuse(
                &mut script,
                &format!("reader{i}@example.com"),
                "550 5.1.1 sender rejected: your domain has no reputation",
            );
        }
    }
    let server = smtp::Server::start(script);
    let project = relayed(server.port, 40);
    let list = project.read("config/subscribers.toml");
    send(&project).code(2).stderr(
        predicates::str::contains("refused 20 of the first 25 readers")
            .and(predicates::str::contains("nobody was marked bounced"))
            .and(predicates::str::contains("--retry-failed")),
    );
    assert_eq!(
        project.read("config/subscribers.toml"),
        list,
        "nobody is marked"
    );
    assert!(!project.path("state/bounces.log").exists());
    let attempted = server.received().len() + 20;
    assert!(
        attempted <= 26,
        "the send stopped early: {attempted} attempted of 40"
    );
}

/// Outcomes come from three connections at once: the run of refusals is
/// judged in the order they arrive.
#[test]
fn a_relay_that_begins_refusing_everyone_part_way_stops_the_send_and_marks_none_of_those() {
    let mut script = smtp::Script {
        refuse_after_messages: Some(30),
        ..smtp::Script::default()
    };
    refuse(
        &mut script,
        "reader5@example.com",
        "550 5.1.1 <reader5@example.com>: Recipient address rejected: User unknown",
    );
    let server = smtp::Server::start(script);
    let project = relayed(server.port, 100);
    project.edit(
        "config/newsletter.toml",
        "concurrency = 1",
        "concurrency = 3",
    );
    send(&project).code(2).stderr(
        predicates::str::contains("readers in a row permanently")
            .and(predicates::str::contains("none of those"))
            .and(predicates::str::contains(
                "send issues/example --yes --retry-failed",
            )),
    );
    // Messages already past RCPT when the relay turned still arrive.
    let received = server.received().len();
    assert!((30..=32).contains(&received), "{received} received");
    // The reader the relay said does not exist, before it began refusing
    // everyone, is still marked; nobody from the run of refusals is.
    assert_eq!(status_of(&project, "reader5@example.com"), "bounced");
    let list = project.read("config/subscribers.toml");
    assert_eq!(list.matches("bounced").count(), 1, "{list}");
    let journal = project.read("state/example.journal");
    let refused = journal.lines().filter(|l| l.contains(" failed ")).count();
    assert!(
        (21..=24).contains(&refused),
        "the send stopped after the run of refusals: {refused} refused"
    );
}

#[test]
fn dry_run_messages_show_the_verp_return_path() {
    let project = project(&[]);
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["send", "issues/example", "--dry-run", "--out", "outbox"])
        .assert()
        .success();
    let eml = project.read("outbox/reader@example.com.eml");
    let first = eml.lines().next().unwrap();
    assert!(
        first.starts_with("Return-Path: <bounces+") && first.ends_with("@news.example.com>"),
        "{first}"
    );
    assert!(!first.contains("reader"), "{first}");
}

#[test]
fn check_prints_the_lists_bounce_figures_and_warns_above_the_limits() {
    let project = project(&[]);
    let now = jiff::Timestamp::now();
    let at = |days_ago: i64| {
        (now - jiff::SignedDuration::from_hours(24 * days_ago))
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let mut journal =
        String::from("# letterpress delivery journal of \"x\"\n# issue: issues/example\n");
    for i in 0..40 {
        journal.push_str(&format!(
            "{} accepted r{i}@example.com attempts=1 reply=\"250 ok\"\n",
            at(3)
        ));
    }
    project.write("state/old.journal", journal.clone());
    // A journal nobody wrote to in the last 30 days is not read at all (a
    // state folder of years of sends costs only the recent ones): its
    // records would make a second send here.
    project.write(
        "state/ancient.journal",
        journal.replace("issues/old", "issues/ancient"),
    );
    std::fs::File::options()
        .write(true)
        .open(project.path("state/ancient.journal"))
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(40 * 86_400))
        .unwrap();
    let log = format!(
        "# letterpress bounces log: time kind reader status report action\n{0} hard r1@example.com status=5.1.1 report=<a@x> action=bounced\n{0} complaint r2@example.com status=- report=<b@x> action=unsubscribed\n",
        at(2)
    );
    project.write("state/bounces.log", log);
    project
        .cmd()
        .args(["check", "issues/example"])
        .assert()
        .stdout(
            predicates::str::contains("note: the list in the last 30 days: 1 send, 40 messages accepted; 1 bounce (2.50 %: 1 hard, 0 soft), 1 complaint (2.50 %), 0 refusals of the sender")
                .and(predicates::str::contains("state/bounces.log:2: warning: the send of `old`"))
                .and(predicates::str::contains("above 2 %"))
                .and(predicates::str::contains("above 0.1 %")),
        );
}

/// Refusals of the sender (spam filters, blocklists, policy) are never a
/// reader's bounce: `check` counts them apart and warns that the list is
/// being blocked. A line written before reasons were logged reads with its
/// code's reason (5.7.1: a refusal of the sender).
#[test]
fn check_warns_when_the_list_is_being_blocked() {
    let project = project(&[]);
    let now = jiff::Timestamp::now();
    let at = |days_ago: i64| {
        (now - jiff::SignedDuration::from_hours(24 * days_ago))
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let mut journal =
        String::from("# letterpress delivery journal of \"x\"\n# issue: issues/example\n");
    for i in 0..40 {
        journal.push_str(&format!(
            "{} accepted r{i}@example.com attempts=1 reply=\"250 ok\"\n",
            at(3)
        ));
    }
    project.write("state/example.journal", journal);
    let log = format!(
        "# letterpress bounces log\n{0} soft r1@example.com status=5.7.1 report=<a@x> action=counted\n{0} soft r2@example.com status=5.7.1 report=<b@x> action=none reason=spamdetected\n",
        at(2)
    );
    project.write("state/bounces.log", log);
    project
        .cmd()
        .args(["check", "issues/example"])
        .assert()
        .stdout(
        predicates::str::contains(
            "0 bounces (0.00 %: 0 hard, 0 soft), 0 complaints (0.00 %), 2 refusals of the sender",
        )
        .and(predicates::str::contains(
            "state/bounces.log:2: warning: you are being blocked",
        ))
        .and(predicates::str::contains("2 of 40 messages (5.0 %)")),
    );
    // stats says the same of the send, with the reasons.
    project
        .cmd()
        .args(["stats", "issues/example"])
        .assert()
        .success()
        .stdout(
            predicates::str::contains("bounces     0 (0.0 % of the messages)")
                .and(predicates::str::contains(
                    "blocked     2 refusals of the sender, not the readers",
                ))
                .and(predicates::str::contains(
                    "  reasons   securityerror 1, spamdetected 1\n",
                )),
        );
}

use crate::rigs;

/// A real MTA: letterpress sends the example to a private Postfix on
/// loopback, which refuses one reader at RCPT and cannot deliver to three
/// others; its real DSNs go to the VERP return path's Maildir, and
/// `bounces import` on that Maildir marks exactly those readers.
#[test]
fn real_postfix_dsns_mark_exactly_the_readers_that_bounced() {
    if !rigs::available(
        &["/usr/sbin/postfix", "/usr/lib/postfix/sbin/master"],
        "postfix",
    ) {
        return;
    }
    let postfix = rigs::Postfix::start(&["alive", "alive2"]);
    let readers = [
        "alive@example.org",
        "dead1@example.org",
        "alive2@example.org",
        "dead2@example.org",
        "full@example.org",
        "refused@example.org",
    ];
    let mut list = String::from("# readers at the test MTA\n");
    for reader in readers {
        list.push_str(&format!(
            "\n[[subscriber]]\nemail = \"{reader}\"\ntags = [\"weekly\"]\n"
        ));
    }
    let project = support::Project::with_relay(
        postfix.port,
        &list,
        "concurrency = 2\nrate_per_second = 0\nstate_dir = \"../state\"\n\n[bounces]\nreturn_path = \"bounces@news.example.com\"",
    );
    send(&project)
        .code(2)
        .stdout(
            predicates::str::contains("5 accepted, 1 failed").and(predicates::str::contains(
                "Marked bounced (the relay said the address does not exist): refused@example.org",
            )),
        );
    assert_eq!(status_of(&project, "refused@example.org"), "bounced");
    postfix.wait_for(&postfix.delivered(), 2);
    let dsns = postfix.wait_for(&postfix.bounces(), 3);
    for dsn in &dsns {
        let text = std::fs::read_to_string(dsn).unwrap();
        assert!(
            text.contains("To: bounces+"),
            "the DSN goes to the VERP address:\n{text}"
        );
    }

    let bounces = postfix.bounces();
    let out = import(&project, bounces.to_str().unwrap(), &["--format", "json"]).success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert_eq!(status_of(&project, "dead1@example.org"), "bounced");
    assert_eq!(status_of(&project, "dead2@example.org"), "bounced");
    assert_eq!(
        status_of(&project, "full@example.org"),
        "active",
        "a soft bounce is counted"
    );
    assert_eq!(status_of(&project, "alive@example.org"), "active");
    assert_eq!(status_of(&project, "alive2@example.org"), "active");
    assert!(
        stdout.contains(
            "\"kind\":\"soft\",\"recipients\":[\"full@example.org\"],\"status\":\"5.2.2\""
        ),
        "{stdout}"
    );
    let log = project.read("state/bounces.log");
    assert_eq!(
        log.lines()
            .filter(|l| l.contains(" action=bounced"))
            .count(),
        3,
        "{log}"
    );
    assert_eq!(
        std::fs::read_dir(bounces.join("new")).unwrap().count(),
        0,
        "recognised DSNs are marked read"
    );

    // The VERP tag alone names the reader: a DSN whose text no longer
    // holds the address still finds dead1 by its envelope.
    let dead1 = dsns
        .iter()
        .map(|p| {
            std::fs::read_to_string(
                p.parent()
                    .unwrap()
                    .parent()
                    .unwrap()
                    .join("cur")
                    .join(format!("{}:2,S", p.file_name().unwrap().to_string_lossy())),
            )
            .unwrap()
        })
        .find(|t| t.contains("dead1@example.org"))
        .unwrap();
    let fresh = support::Project::with_relay(
        postfix.port,
        &list,
        "state_dir = \"../state\"\n\n[bounces]\nreturn_path = \"bounces@news.example.com\"",
    );
    fresh.write(
        "anonymous.eml",
        dead1.replace("dead1@example.org", "somebody@example.net"),
    );
    import(&fresh, "anonymous.eml", &["--format", "json"])
        .success()
        .stdout(predicates::str::contains(
            "\"recipients\":[\"dead1@example.org\"]",
        ));
    assert_eq!(status_of(&fresh, "dead1@example.org"), "bounced");
    // A forged tag names nobody.
    let forged = dead1
        .replace("bounces+", "bounces+0000")
        .replace("somebody", "x");
    fresh.write("forged.eml", forged);
    import(&fresh, "forged.eml", &[]).success();
    let untouched: Vec<&str> = readers
        .iter()
        .copied()
        .filter(|r| *r != "dead1@example.org")
        .collect();
    for reader in untouched {
        assert_eq!(status_of(&fresh, reader), "active", "{reader}");
    }
}

/// A real IMAP server: reports in Dovecot's INBOX over TLS with a private
/// CA; a dry run changes nothing; the import marks and moves only the
/// recognised ones and leaves a person's reply unread in the INBOX.
#[test]
fn an_imap_folder_is_read_over_tls_and_only_recognised_messages_move() {
    if !rigs::available(&["/usr/sbin/dovecot"], "dovecot-imapd") {
        return;
    }
    let project = project(&[]);
    let maildir = project.path("imap-mail");
    let dovecot = rigs::Dovecot::start(&maildir);
    for (i, file) in MIXED.iter().enumerate() {
        let path = maildir.join("new").join(format!("17649{i:05}.M1P1.rig"));
        std::fs::copy(corpus().join(file), &path).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .unwrap();
    }
    project.edit(
        "config/newsletter.toml",
        "soft_window_days = 30",
        &format!(
            "soft_window_days = 30\nca_file = \"{}\"",
            dovecot.ca.display()
        ),
    );
    let url = format!(
        "imaps://{}@127.0.0.1:{}/INBOX",
        rigs::IMAP_USER,
        dovecot.port
    );
    let imap = |extra: &[&str]| {
        project
            .cmd()
            .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
            .env("LETTERPRESS_IMAP_PASSWORD", rigs::IMAP_PASSWORD)
            .args(["bounces", "import", &url])
            .args(extra)
            .assert()
    };
    let list = project.read("config/subscribers.toml");
    imap(&["--dry-run", "--move-to", "Processed"]).success();
    assert_eq!(project.read("config/subscribers.toml"), list);
    assert!(dovecot.files("Processed", "cur").is_empty());
    assert!(
        dovecot.files("", "cur").iter().all(|n| !n.contains(":2,S")),
        "{:?}",
        dovecot.files("", "cur")
    );

    imap(&["--move-to", "Processed"])
        .success()
        .stdout(predicates::str::contains(
            "gone-postfix@example.org: marked bounced",
        ));
    assert_eq!(status_of(&project, "gone-postfix@example.org"), "bounced");
    assert_eq!(status_of(&project, "fbl-yahoo@example.net"), "unsubscribed");
    let moved = dovecot.files("Processed", "cur");
    assert_eq!(moved.len(), MIXED.len() - 1, "{moved:?}");
    assert!(
        moved
            .iter()
            .all(|n| n.contains(":2,") && n.rsplit(":2,").next().unwrap().contains('S')),
        "{moved:?}"
    );
    let left: Vec<String> = dovecot
        .files("", "cur")
        .into_iter()
        .chain(dovecot.files("", "new"))
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(
        !left[0].rsplit(":2,").next().unwrap().contains('S') || !left[0].contains(":2,"),
        "the person's reply stays unread: {left:?}"
    );

    // Wrong password, an untrusted certificate, a folder that does not exist: errors.
    project
        .cmd()
        .env("LETTERPRESS_IMAP_PASSWORD", "wrong")
        .args(["bounces", "import", &url])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("refused the login"));
    imap(&["--move-to", "Nowhere"])
        .code(1)
        .stderr(predicates::str::contains("no such folder"));
    project.edit(
        "config/newsletter.toml",
        &format!("ca_file = \"{}\"", dovecot.ca.display()),
        "",
    );
    imap(&[])
        .code(1)
        .stderr(predicates::str::contains("TLS with 127.0.0.1 failed"));
}

#[test]
fn a_forged_report_changes_nothing_unless_it_proves_whom_it_is_about() {
    let project = project(&[]);
    project.edit("config/newsletter.toml", "verify           = false", "");
    let report = std::fs::read_to_string(corpus().join("postfix-user-unknown.eml")).unwrap();
    project.write("forged.eml", &report);
    import(&project, "forged.eml", &[])
        .success()
        .stdout(predicate::str::contains(
            "gone-postfix@example.org: not verified, nothing changes",
        ));
    assert_eq!(status_of(&project, "gone-postfix@example.org"), "active");
    assert!(!project.path("state/bounces.log").exists());

    // Another reader's token proves nothing about this one.
    let line = |reader: &str| {
        format!(
            "List-Unsubscribe: <https://news.example.com/unsubscribe?e={}&t={}>\n",
            reader.replace('@', "%40"),
            letterpress::token(SECRET.as_bytes(), reader)
        )
    };
    let with = |reader: &str| {
        report.replacen(
            "Message-ID: <lp.",
            &format!("{}Message-ID: <lp.", line(reader)),
            1,
        )
    };
    assert_ne!(
        with("reader@example.com"),
        report,
        "the report has no returned Message-ID to put the line by"
    );
    project.write("other.eml", with("reader@example.com"));
    import(&project, "other.eml", &[]).success();
    assert_eq!(status_of(&project, "gone-postfix@example.org"), "active");

    // The returned original's own List-Unsubscribe token proves it.
    project.write("genuine.eml", with("gone-postfix@example.org"));
    import(&project, "genuine.eml", &[])
        .success()
        .stdout(predicate::str::contains(
            "gone-postfix@example.org: marked bounced",
        ));
    assert_eq!(status_of(&project, "gone-postfix@example.org"), "bounced");
}

/// `bounces import` of an mbox whose middle message is 300 MB, with the
/// process's data limited to 200 MB: the message is cut while it is read
/// and reported too large, and the reports around it still count.
#[test]
fn an_mbox_with_a_huge_message_is_read_in_bounded_memory() {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    let project = support::Project::example();
    let path = project.path("huge.mbox");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let small = "Subject: hello\nFrom: person@example.org\n\nhello\n";
    writeln!(
        file,
        "From person@example.org Thu Dec  3 10:00:00 2026\n{small}"
    )
    .unwrap();
    writeln!(
        file,
        "From big@example.org Thu Dec  3 10:00:00 2026\nSubject: big\n"
    )
    .unwrap();
    let line = [b'x'; 1023];
    for _ in 0..300 * 1024 {
        file.write_all(&line).unwrap();
        file.write_all(b"\n").unwrap();
    }
    writeln!(
        file,
        "From person@example.org Thu Dec  3 10:00:00 2026\n{small}"
    )
    .unwrap();
    drop(file);
    let limit: libc::rlim_t = 200 * 1024 * 1024;
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("letterpress"));
    command
        .current_dir(project.dir.path())
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["bounces", "import", "huge.mbox", "--dry-run"]);
    unsafe {
        command.pre_exec(move || {
            let rlimit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_DATA, &rlimit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = command.output().unwrap();
    let _ = std::fs::remove_file(&path);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("huge.mbox#2") && stdout.contains("too large"),
        "{stdout}"
    );
    assert!(stdout.contains("huge.mbox#3"), "{stdout}");
}

/// One row of tests/fixtures/bounces/sisimai/expected.tsv.
struct SisimaiRow {
    file: String,
    recipient: String,
    status: String,
    reason: String,
    kind: String,
}

fn sisimai_rows() -> Vec<SisimaiRow> {
    let path = corpus().join("sisimai/expected.tsv");
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 6, "{}: {l}", path.display());
            SisimaiRow {
                file: f[0].into(),
                recipient: f[1].into(),
                status: f[2].into(),
                reason: f[3].into(),
                kind: f[5].into(),
            }
        })
        .collect()
}

/// The kind letterpress gives a recipient, in the words of expected.tsv.
fn scored_kind(kind: Kind, reason: letterpress::bounces::classify::Reason) -> &'static str {
    if reason.sender_side() {
        return "blocked";
    }
    match kind {
        Kind::Hard => "hard",
        Kind::Soft | Kind::Delayed => "soft",
        Kind::Complaint => "complaint",
        Kind::AutoReply | Kind::Unrecognised => "none",
    }
}

#[derive(Default, Debug)]
struct Score {
    reports: usize,
    recipients_right: usize,
    wrong_addresses: usize,
    /// Each report that gave a wrong address, with the addresses given.
    wrong_in: Vec<(String, Vec<String>)>,
    kinds_right: usize,
    reasons_right: usize,
    temporary_called_hard: usize,
}

impl Score {
    fn line(&self, name: &str) -> String {
        let pct = |n: usize| 100.0 * n as f64 / self.reports.max(1) as f64;
        format!(
            "{name}: {} reports, recipients right {} ({:.1} %), wrong addresses given {}, \
             kinds right {} ({:.1} %), reasons right {} ({:.1} %), temporary failures called hard {}",
            self.reports,
            self.recipients_right,
            pct(self.recipients_right),
            self.wrong_addresses,
            self.kinds_right,
            pct(self.kinds_right),
            self.reasons_right,
            pct(self.reasons_right),
            self.temporary_called_hard
        )
    }
}

/// Scores one report against its rows; the misses go to `notes`.
fn score_one(file: &str, rows: &[&SisimaiRow], score: &mut Score, notes: &mut Vec<String>) {
    let raw = std::fs::read(corpus().join("sisimai").join(file)).unwrap();
    let report = classify(&raw, &Ours::default());
    let spellings = |r: &letterpress::bounces::classify::Recipient| {
        let mut all = vec![identity(&r.address)];
        all.extend(r.also.iter().map(|a| identity(a)));
        all
    };
    // An automatic reply names nobody who failed: Sisimai's "recipient" of
    // a vacation notice is its sender; letterpress names none.
    let mut want: Vec<String> = rows
        .iter()
        .filter(|r| r.kind != "none")
        .map(|r| r.recipient.clone())
        .collect();
    want.sort();
    want.dedup();
    // A recipient given in two spellings (Original- and Final-Recipient)
    // is right when either is.
    let mut got: Vec<String> = report
        .recipients
        .iter()
        .map(|r| {
            let all = spellings(r);
            all.iter()
                .find(|a| want.contains(a))
                .unwrap_or(&all[0])
                .clone()
        })
        .collect();
    got.sort();
    got.dedup();
    let wrong: Vec<&String> = got.iter().filter(|g| !want.contains(g)).collect();
    let (mut kinds, mut reasons, mut temporary) = (true, true, false);
    let mut said = Vec::new();
    for row in rows {
        let given = report
            .recipients
            .iter()
            .find(|r| spellings(r).contains(&row.recipient));
        let (kind, reason) = given.map_or((report.kind, report.reason), |r| (r.kind, r.reason));
        let k = scored_kind(kind, reason);
        kinds &= k == row.kind;
        reasons &= reason.as_str() == row.reason;
        // A temporary failure: a 4.x.x status, or a reason that passes.
        let passes = [
            "mailboxfull",
            "expired",
            "systemerror",
            "systemfull",
            "toomanyconn",
            "networkerror",
        ];
        let temporary_row = row.status.starts_with('4') || passes.contains(&row.reason.as_str());
        temporary |= temporary_row && k == "hard";
        said.push(format!("{k}/{}", reason.as_str()));
    }
    score.reports += 1;
    score.recipients_right += usize::from(got == want);
    score.wrong_addresses += usize::from(!wrong.is_empty());
    if !wrong.is_empty() {
        let given = wrong.iter().map(|w| w.to_string()).collect();
        score.wrong_in.push((file.to_string(), given));
    }
    score.kinds_right += usize::from(kinds);
    score.reasons_right += usize::from(reasons);
    score.temporary_called_hard += usize::from(temporary);
    if got != want || !kinds || !reasons {
        let expected: Vec<String> = rows
            .iter()
            .map(|r| format!("{} {}/{} {}", r.recipient, r.kind, r.reason, r.status))
            .collect();
        notes.push(format!("{file}: got {got:?} {said:?}; want {expected:?}"));
    }
}

/// Sisimai's public samples (tests/fixtures/bounces/sisimai/, made by
/// bench/sisimai-expected.py): the right recipients, never a wrong one, the
/// right kind; every fifth sample is scored apart as a held-out check.
#[test]
fn sisimai_corpus_scores() {
    let rows = sisimai_rows();
    let mut files: Vec<&str> = rows.iter().map(|r| r.file.as_str()).collect();
    files.dedup();
    let (mut all, mut held, mut notes, mut unparsed) =
        (Score::default(), Score::default(), Vec::new(), 0);
    for (i, file) in files.iter().enumerate() {
        let mine: Vec<&SisimaiRow> = rows.iter().filter(|r| r.file == *file).collect();
        // `-`: Sisimai finds nothing; `….invalid`: Sisimai's placeholder
        // for a report that names no recipient.
        if mine[0].recipient == "-" || mine[0].recipient.ends_with(".invalid") {
            unparsed += 1;
            continue;
        }
        score_one(file, &mine, &mut all, &mut notes);
        if i % 5 == 4 {
            score_one(file, &mine, &mut held, &mut Vec::new());
        }
    }
    for note in &notes {
        println!("miss: {note}");
    }
    println!("samples Sisimai finds no recipient in (left out): {unparsed}");
    println!("{}", all.line("all"));
    println!("{}", held.line("held-out (every 5th)"));
    // The floor as it stands: the test fails on any regression. The goal
    // is 97 % recipients, no wrong address, 95 % kinds, no temporary
    // failure called hard.
    let line = all.line("all");
    // The one "wrong" address is Sisimai's: lhost-apachejames-01 says
    // "RCPT TO: 000000000000@vtext.example.com" and Sisimai's ApacheJames
    // module cuts one character too many (substr at 12 after an 11-byte
    // prefix), expecting 00000000000@…; letterpress gives the address the
    // report names.
    let erratum = (
        "lhost-apachejames-01.eml".to_string(),
        vec!["000000000000@vtext.example.com".to_string()],
    );
    for wrong in &all.wrong_in {
        assert_eq!(wrong, &erratum, "a wrong address given: {line}");
    }
    assert!(all.temporary_called_hard == 0, "{line}");
    assert!(all.recipients_right * 100 >= all.reports * 97, "{line}");
    assert!(all.kinds_right * 100 >= all.reports * 96, "{line}");
}

/// Automatic replies, by header, subject or opening, in the languages
/// readers write in, are never bounces: nothing changes for the reader.
#[test]
fn automatic_replies_in_many_languages_are_never_bounces() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "X-Autoreply: yes",
            "Re: Issue 48",
            "Thanks for your message.",
        ),
        ("X-Autorespond: on", "Issue 48", "Thanks."),
        ("Precedence: auto_reply", "Issue 48", "Thanks."),
        ("X-Vacation: yes", "Issue 48", "Thanks."),
        ("", "Abwesenheitsnotiz: Issue 48", "Danke."),
        (
            "",
            "Issue 48",
            "Ich bin derzeit nicht im Büro und ab Montag wieder erreichbar.",
        ),
        ("", "Réponse automatique : Issue 48", "Merci."),
        ("", "Issue 48", "Je suis absent jusqu'au 12 décembre."),
        ("", "Respuesta automática: Issue 48", "Gracias."),
        ("", "Issue 48", "Estoy fuera de la oficina hasta el lunes."),
        ("", "Risposta automatica: Issue 48", "Grazie."),
        ("", "Issue 48", "Sono fuori ufficio fino a lunedì."),
        ("", "Resposta automática: Issue 48", "Obrigado."),
        (
            "",
            "Issue 48",
            "Estou fora do escritório até segunda-feira.",
        ),
        ("", "Automatisch antwoord: Issue 48", "Bedankt."),
        ("", "Issue 48", "Ik ben afwezig tot en met maandag."),
        ("", "부재중 자동 응답: Issue 48", "감사합니다."),
        (
            "",
            "Issue 48",
            "현재 부재중입니다. 다음 주에 답장 드리겠습니다.",
        ),
        ("", "自動返信: Issue 48", "ありがとうございます。"),
        ("", "Issue 48", "ただいま不在にしております。"),
        ("", "Out of Office: Issue 48", "Thanks."),
        ("", "Issue 48", "I am out of the office until Monday."),
    ];
    for (header, subject, body) in cases {
        let headers = match header.is_empty() {
            true => String::new(),
            false => format!("{header}\r\n"),
        };
        let raw = format!(
            "From: Reader <reader@example.org>\r\nTo: letter@example.com\r\n{headers}Subject: {subject}\r\nMessage-ID: <a@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
        );
        let report = classify(raw.as_bytes(), &ours());
        assert_eq!(
            report.kind,
            Kind::AutoReply,
            "{header} / {subject} / {body}"
        );
        assert!(!report.kind.acts());
        assert!(report.recipients.is_empty());
    }
}

/// The candidates of a plain notice: never the list's own addresses, the
/// reporting system's, the report's `To`, the returned original's sender,
/// Reply-To or Message-ID, nor an SMTP transcript's MAIL FROM; an address
/// in quotes comes without them.
#[test]
fn a_notice_never_names_the_sender_the_reporter_or_the_originals_other_addresses() {
    let raw = "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n\
To: bounces@example.com\r\n\
Subject: Undeliverable: Issue 48\r\n\
Message-ID: <n1@mx.example.net>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\n\
Your message to 'gone@example.org' could not be delivered.\r\n\
Contact postmaster@mx.example.net or MAILER-DAEMON@mx.example.net for help.\r\n\
>>> MAIL FROM:<bounces+abc@example.com>\r\n\
<<< 550 5.1.1 'gone@example.org': user unknown\r\n\
\r\n\
Original message follows.\r\n\
\r\n\
From: Letter <letter@example.com>\r\n\
Reply-To: editor@example.net\r\n\
Message-ID: <20261127091402.00000001@example.com>\r\n\
List-Id: <letter.example.com>\r\n\
Subject: Issue 48\r\n\r\n\
Write to helpdesk@example.net.\r\n";
    let report = classify(raw.as_bytes(), &ours());
    let got: Vec<&str> = report
        .recipients
        .iter()
        .map(|r| r.address.as_str())
        .collect();
    assert_eq!(got, ["gone@example.org"], "{report:?}");
    assert_eq!(report.kind, Kind::Hard);
    assert_eq!(report.reason.as_str(), "userunknown");
}

/// A blocklist refusal is the sender's problem: `bounces import` names its
/// reason, leaves the reader active, and logs it for `check`'s "you are
/// being blocked".
#[test]
fn an_import_of_a_blocklist_refusal_never_marks_the_reader() {
    let project = project(&["spam-block@example.org"]);
    project.write(
        "one.eml",
        std::fs::read(corpus().join("postfix-blocklist-5.7.1.eml")).unwrap(),
    );
    import(&project, "one.eml", &[]).success().stdout(
        predicates::str::contains("one.eml: soft 5.7.1 blocked spam-block@example.org").and(
            predicates::str::contains(
                "spam-block@example.org: refused for the sender (blocked), not for the reader: no change",
            ),
        ),
    );
    assert_eq!(status_of(&project, "spam-block@example.org"), "active");
    let log = project.read("state/bounces.log");
    assert!(
        log.contains(" soft spam-block@example.org status=5.7.1 ")
            && log.contains("action=none reason=blocked"),
        "{log}"
    );
}

/// Where a report's fields and its own words disagree about whom it is
/// about, letterpress gives the address the text names, or none: never
/// one that may not be the failed recipient.
#[test]
fn a_report_that_contradicts_itself_never_names_a_wrong_address() {
    let head = "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n\
To: bounces@example.com\r\nSubject: Mail delivery failed\r\n\
Message-ID: <n2@mx.example.net>\r\nMIME-Version: 1.0\r\n";
    // X-Failed-Recipients against the text: the text's address.
    let exim = format!(
        "{head}X-Failed-Recipients: reader@example.org\r\n\
Content-Type: text/plain\r\n\r\n\
A message that you sent could not be delivered to one or more of its\r\n\
recipients. This is a permanent error. The following address(es) failed:\r\n\r\n\
  reader@example.net\r\n    SMTP error from remote mail server after RCPT TO:<reader@example.net>:\r\n\
    550 5.1.1 No such user\r\n"
    );
    // A link shown as one address whose target is another: neither.
    let link = format!(
        "{head}Content-Type: text/plain\r\n\r\n\
Delivery has failed to these recipients:\r\n\r\n\
reader@example.org (reader@example.org)<mailto:other@example.org>\r\n\
550 5.1.1 User unknown\r\n"
    );
    // The forwarded copy's sender (the address that forwarded) is the
    // original's From and To: the address it was forwarded to failed.
    let forward = format!(
        "{head}Content-Type: text/plain\r\n\r\n\
A message that you sent could not be delivered to one or more of its\r\n\
recipients. This is a permanent error. The following address(es) failed:\r\n\r\n\
  moved@example.net\r\n    (generated from reader@example.org)\r\n\
    550 5.1.1 No such user\r\n\r\n\
------ This is a copy of the message, including all the headers. ------\r\n\r\n\
From: <reader@example.org>\r\nTo: <reader@example.org>\r\nSubject: Issue 48\r\n\r\nHello\r\n"
    );
    for (raw, want) in [
        (exim, vec!["reader@example.net"]),
        (link, vec![]),
        (forward, vec!["moved@example.net"]),
    ] {
        let report = classify(raw.as_bytes(), &ours());
        let got: Vec<&str> = report
            .recipients
            .iter()
            .map(|r| r.address.as_str())
            .collect();
        assert_eq!(got, want, "{raw}");
    }
}

/// "No such user" is a missing mailbox (hard) when the refusal answered
/// `RCPT TO`, the code says so (5.1.1) or the words are a directory's; said
/// after `DATA`, or where the report says neither, it comes from a filter
/// or a rule of the receiving server: `filtered`, a soft bounce.
#[test]
fn user_unknown_is_hard_only_when_given_for_the_mailbox() {
    let cases: &[(&str, &str, Kind, &str)] = &[
        ("", "550 <gone@example.org> No such user", Kind::Soft, "filtered"),
        (
            "",
            "host mx.example.org said: 550 <gone@example.org> No such user (in reply to RCPT TO command)",
            Kind::Hard,
            "userunknown",
        ),
        (
            "",
            "SMTP error from remote mail server after end of data:\r\n550 No such user",
            Kind::Soft,
            "filtered",
        ),
        ("", "550 5.1.1 <gone@example.org> No such user", Kind::Hard, "userunknown"),
        (
            "",
            "User gone (gone@example.org) not listed in Domino Directory",
            Kind::Hard,
            "userunknown",
        ),
        (
            "X-NAI-Header: Modified by McAfee Email Gateway\r\n",
            "550 <gone@example.org> No such user",
            Kind::Hard,
            "userunknown",
        ),
    ];
    for (header, said, kind, reason) in cases {
        let raw = format!(
            "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n\
To: bounces@example.com\r\n{header}Subject: Undeliverable: Issue 48\r\n\
Message-ID: <n3@mx.example.net>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain\r\n\r\n\
Your message could not be delivered to gone@example.org.\r\n{said}\r\n"
        );
        let report = classify(raw.as_bytes(), &ours());
        assert_eq!(report.recipients.len(), 1, "{said}");
        let r = &report.recipients[0];
        assert_eq!(
            (r.kind, r.reason.as_str()),
            (*kind, *reason),
            "{header}{said}"
        );
    }
}

/// Notices with no daemon sender or failure subject are still read as
/// failures when they return the original with words of failure (KDDI),
/// and an indented "RCPT TO:" under "MAIL FROM:" names the recipient
/// (Apache James, Verizon), even where the MIME structure does not parse.
#[test]
fn notices_without_a_daemon_sender_or_a_failure_subject_are_read() {
    let kddi = "From: no-reply@mx.example.net\r\nTo: <letter@example.com>\r\n\
Subject: Mail\r\nMessage-ID: <k1@mx.example.net>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
Content-Type: text/plain\r\n\r\nYour mail sent on: Thu, 29 Apr 2013 00:00:00 +0900\r\n\
     Could not be delivered to: <full@example.org>\r\n     As their mailbox is full.\r\n\
--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: <letter@example.com>\r\n\
To: <full@example.org>\r\nSubject: Issue 48\r\n\r\nHello\r\n--b1--\r\n";
    let james = "From: post_master@mx.example.net\r\nTo: bounces@example.com\r\n\
Subject: Re:Issue 48\r\nMessage-ID: <j1@mx.example.net>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b2\"\r\n\r\n--b2\r\n\
Content-Type: multipart/alternative;\r\nboundary=\"b3\"\r\n\r\n--b3\r\n\
Content-Type: text/plain\r\n\r\nError: Invalid user address\r\n\r\nError message below:\r\n\
550 - Requested action not taken: no such user here\r\n\r\nMessage details:\r\n\
  Subject: Issue 48\r\n  MAIL FROM: bounces@example.com\r\n  RCPT TO: gone@example.org\r\n\
  From: letter@example.com\r\n\r\n--b3--\r\n\r\n--b2--\r\n";
    for (raw, want, kind) in [
        (kddi, "full@example.org", Kind::Soft),
        (james, "gone@example.org", Kind::Soft),
    ] {
        let report = classify(raw.as_bytes(), &ours());
        let got: Vec<&str> = report
            .recipients
            .iter()
            .map(|r| r.address.as_str())
            .collect();
        assert_eq!(got, vec![want], "{raw}");
        assert_eq!(report.kind, kind, "{raw}");
    }
}

/// A notice that lists several failed recipients one per line gives each,
/// though the returned original's `To` names only one; a daemon's name
/// (`postmaster@…`) the original was sent to is its failed recipient.
#[test]
fn every_listed_recipient_and_a_postmaster_the_original_went_to_are_named() {
    let listed = "From: postmaster@mx.example.net\r\nTo: bounces@example.com\r\n\
Subject: Undeliverable: Issue 48\r\nMessage-ID: <e1@mx.example.net>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n\
Your message\r\n\r\n  Subject: Issue 48\r\n\r\ndid not reach the following recipient(s):\r\n\r\n\
one@example.org on Thu, 29 Apr 2007 16:51:51 -0500\r\n    The recipient name is not recognized\r\n    Unknown Recipient\r\n\
two@example.org on Thu, 29 Apr 2007 16:51:51 -0500\r\n    The recipient name is not recognized\r\n    Unknown Recipient\r\n\
--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: <letter@example.com>\r\n\
To: one@example.org\r\nSubject: Issue 48\r\n\r\nHello\r\n--b1--\r\n";
    let postmaster = "From: MAILER-DAEMON <>\r\nTo: bounces@example.com\r\n\
Subject: Mail delivery failed\r\nMessage-Id: <d1@mx.example.net>\r\n\r\n\
There was an error delivering your mail to <postmaster@example.org>.\r\n\r\n\
DNS lookup failure: host example.org not found\r\n\r\nMessage headers follow.\r\n\r\n\
Subject: Issue 48\r\nTo: <postmaster@example.org>\r\nFrom: <letter@example.com>\r\n";
    for (raw, want) in [
        (listed, vec!["one@example.org", "two@example.org"]),
        (postmaster, vec!["postmaster@example.org"]),
    ] {
        let report = classify(raw.as_bytes(), &ours());
        let mut got: Vec<&str> = report
            .recipients
            .iter()
            .map(|r| r.address.as_str())
            .collect();
        got.sort();
        assert_eq!(got, want, "{raw}");
        assert_eq!(report.kind, Kind::Hard, "{raw}");
    }
}

/// Reasons in the words of particular systems: Google Groups refusing a
/// post (a refusal of the sender), InterScan's "check if address is correct" (hard), a
/// Spamhaus listing (blocked) whatever the code, a failed DMARC check;
/// refusals of the sender are soft, never a mark on the reader.
#[test]
fn reasons_in_the_words_of_particular_systems() {
    let cases: &[(&str, Kind, &str)] = &[
        (
            "The group you tried to contact (letters) may not exist, or you may not have \
             permission to post messages to the group. https://groups.google.com/support/",
            Kind::Soft,
            "rejected",
        ),
        (
            "Unable to deliver message to <gone@example.org> (and other recipients in the \
             same domain). Please check if address is correct.",
            Kind::Hard,
            "userunknown",
        ),
        (
            "553 5.1.3 http://www.spamhaus.org/query/bl?ip=192.0.2.222",
            Kind::Soft,
            "blocked",
        ),
        ("550 DMARC check failed.", Kind::Soft, "authfailure"),
    ];
    for (said, kind, reason) in cases {
        let raw = format!(
            "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n\
To: bounces@example.com\r\nSubject: Undeliverable: Issue 48\r\n\
Message-ID: <n4@mx.example.net>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain\r\n\r\n\
Your message could not be delivered to gone@example.org.\r\n{said}\r\n"
        );
        let report = classify(raw.as_bytes(), &ours());
        let r = &report.recipients[0];
        assert_eq!((r.kind, r.reason.as_str()), (*kind, *reason), "{said}");
    }
}

/// A DSN read by its fields: a local mailer's own failure (`x-unix`) is a
/// mailer error whatever it prints; NTT DOCOMO's "Unknown user" after DATA
/// with a generic 5.0.0 is its filter refusing the sender (rejected),
/// while its 5.2.0 stays filtered.
#[test]
fn a_dsn_is_read_by_its_diagnostic_type_and_its_receiving_host() {
    let dsn = |status: &str, remote: &str, diagnostic: &str| {
        format!(
            "From: MAILER-DAEMON@mx.example.net\r\nTo: bounces@example.com\r\n\
Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <d2@mx.example.net>\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\
--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n\
Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: {status}\r\n\
Remote-MTA: dns; {remote}\r\nDiagnostic-Code: {diagnostic}\r\n\r\n--b--\r\n"
        )
    };
    let cases = [
        (
            dsn(
                "5.1.1",
                "mx.example.org",
                "x-unix; procmail: Couldn't create: No such user",
            ),
            Kind::Soft,
            "mailererror",
        ),
        (
            dsn(
                "5.0.0",
                "mfsmax.docomo.ne.jp",
                "smtp; 550 Unknown user gone@example.org (in reply to end of DATA command)",
            ),
            Kind::Soft,
            "rejected",
        ),
        (
            dsn(
                "5.2.0",
                "mfsmax.docomo.ne.jp",
                "smtp; 550 Unknown user gone@example.org (in reply to end of DATA command)",
            ),
            Kind::Soft,
            "filtered",
        ),
    ];
    for (raw, kind, reason) in cases {
        let report = classify(raw.as_bytes(), &ours());
        let r = &report.recipients[0];
        assert_eq!((r.kind, r.reason.as_str()), (kind, reason), "{raw}");
    }
}

/// Each recipient of a notice that lists several is read up to where the
/// notice turns to the next one; qmail's refused HELO is a refusal of the
/// sender, not an expiry; "doesn't have a … account" is a missing mailbox
/// from Yahoo's delivery daemon only.
#[test]
fn each_listed_recipient_has_its_own_reason() {
    let notice = |said: &str| {
        format!(
            "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n\
To: bounces@example.com\r\nSubject: Mail delivery failed\r\n\
Message-ID: <n5@mx.example.net>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain\r\n\r\n\
A message that you sent could not be delivered to one or more of its recipients.\r\n\r\n{said}\r\n"
        )
    };
    let two = notice(
        "\"one@example.org\":\r\nSMTP error from remote server after RCPT command:\r\n\
5.2.1 <one@example.org>... User Unknown\r\n\"two@example.org\":\r\n\
SMTP error from remote server after RCPT command:\r\n5.2.2 <two@example.org>... Mailbox Full\r\n",
    );
    let report = classify(two.as_bytes(), &ours());
    let mut got: Vec<(String, Kind, &str)> = report
        .recipients
        .iter()
        .map(|r| (r.address.clone(), r.kind, r.reason.as_str()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("one@example.org".to_string(), Kind::Hard, "userunknown"),
            ("two@example.org".to_string(), Kind::Soft, "mailboxfull"),
        ]
    );
    let cases = [
        (
            notice(
                "<gone@example.org>:\r\nConnected to 192.0.2.1 but my name was rejected.\r\n\
Remote host said: 501 5.0.0 Invalid domain name\r\n\
I'm not going to try again; this message has been in the queue too long.\r\n",
            ),
            Kind::Soft,
            "blocked",
        ),
        (
            notice("<gone@example.org>:\r\nThis user doesn't have a example.org account (gone@example.org) [0]\r\n"),
            Kind::Soft,
            "filtered",
        ),
        (
            notice("<gone@example.org>:\r\n554 delivery error: dd This user doesn't have a example.org account (gone@example.org) [0]\r\n"),
            Kind::Hard,
            "userunknown",
        ),
    ];
    for (raw, kind, reason) in cases {
        let report = classify(raw.as_bytes(), &ours());
        let r = &report.recipients[0];
        assert_eq!((r.kind, r.reason.as_str()), (kind, reason), "{raw}");
    }
}

/// A mailing-list server (fml) refusing a post names the list that
/// refused it, never its own control addresses (the report's List-* and
/// X-ML-* headers name them); a duplicate Message-ID is a system error.
#[test]
fn a_list_servers_refusal_names_the_list_not_its_own_addresses() {
    let raw = "From: letters-admin@example.org\r\nTo: bounces@example.com\r\n\
Subject: You bounces@example.com are not member (letters ML)\r\n\
Message-ID: <200504292334.FMLFFFFFF0.letters@example.org>\r\n\
X-MLServer: fml [fml 4.0.3 release (20011202/4.0.3)]\r\n\
X-ML-Info: If you have a question,\r\n\tplease contact letters-admin@example.org;\r\n\
List-Subscribe: <mailto:letters-ctl@example.org?body=subscribe>\r\n\r\n\
You are not a member of this mailing list <letters@example.org>.\r\n\r\n\
If you know the general guide of this list, please send mail with\r\nthe mail body\r\n\r\n\
\tguide\r\n\r\nto the address\r\n\r\n\tletters-ctl@example.org\r\n\r\n\
Original mail as follows:\r\n\r\nFrom: letter@example.com\r\nTo: letters@example.org\r\n\
Subject: Issue 48\r\n\r\nHello\r\n";
    let report = classify(raw.as_bytes(), &ours());
    let got: Vec<(&str, Kind, &str)> = report
        .recipients
        .iter()
        .map(|r| (r.address.as_str(), r.kind, r.reason.as_str()))
        .collect();
    assert_eq!(got, vec![("letters@example.org", Kind::Soft, "rejected")]);
}

/// A DSN about one recipient whose fields say "5.1.1 User Unknown" while
/// its own notice says the disk is full contradicts itself: the reader is
/// not marked gone on it (soft, mailboxfull).
#[test]
fn a_report_that_says_the_failure_may_pass_is_never_hard() {
    let raw = "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>\r\n\
To: bounces@example.com\r\nSubject: Returned mail: see transcript for details\r\n\
Message-ID: <d3@mx.example.net>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
--b\r\n\r\nYour message to <gone> was automatically rejected:\r\nNot enough disk space\r\n\
--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n\
Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <gone@example.org>... User Unknown\r\n\r\n--b--\r\n";
    let report = classify(raw.as_bytes(), &ours());
    let r = &report.recipients[0];
    assert_eq!((r.kind, r.reason.as_str()), (Kind::Soft, "mailboxfull"));
}
