//! The promises under faults and hostile input: an unsubscribed reader is
//! never mailed, one odd address never stops a send, two issues never share
//! a journal, every config value that reaches a header, URL or timer is
//! checked at load with its line, and whatever letterpress writes it reads
//! back.

use crate::support;

use crate::smtp;

use predicates::prelude::*;
use smtp::{Script, Server};
use support::Project;

const SECRET: &str = "promises-test-secret-0123456789";

fn dry_run(project: &Project, extra: &[&str]) -> assert_cmd::assert::Assert {
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["send", "issues/example", "--dry-run", "--out", "outbox"])
        .args(extra)
        .assert()
}

fn outbox(project: &Project) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(project.path("outbox"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn list(entries: &[(&str, &str)]) -> String {
    let mut text = String::from("# test list\n");
    for (email, status) in entries {
        text.push_str(&format!(
            "\n[[subscriber]]\nemail = \"{email}\"\nstatus = \"{status}\"\ntags = [\"weekly\"]\n"
        ));
    }
    text
}

/// The example with its relay at `port`, unlimited rate, state in state/.
fn relayed(port: u16, entries: &[(&str, &str)]) -> Project {
    let sending = "state_dir = \"../state\"\nrate_per_second = 0\nconcurrency = 2\nmax_attempts = 2\nretry_delay_secs = 0.05";
    Project::with_relay(port, &list(entries), sending)
}

fn send(project: &Project, issue: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["send", issue, "--yes"])
        .args(extra)
        .assert()
}

#[test]
fn every_entry_of_an_address_is_unsubscribed_and_none_is_mailed() {
    let project = Project::example();
    project.write(
        "config/subscribers.toml",
        list(&[("dup@example.com", "active"), ("DUP@example.com", "active")]),
    );
    project
        .cmd()
        .args(["subscribers", "unsubscribe", "DUP@example.com"])
        .assert()
        .success()
        .stdout(predicate::str::contains("already").not());
    let text = project.read("config/subscribers.toml");
    assert_eq!(
        text.matches("status = \"unsubscribed\"").count(),
        2,
        "{text}"
    );

    // Hand-edited: only the second spelling is unsubscribed.
    project.write(
        "config/subscribers.toml",
        list(&[
            ("dup@example.com", "active"),
            ("DUP@example.com", "unsubscribed"),
            ("other@example.com", "active"),
        ]),
    );
    dry_run(&project, &[]).success();
    assert_eq!(outbox(&project), ["other@example.com.eml"]);
}

#[test]
fn import_never_brings_back_a_reader_spelled_in_another_case() {
    let project = Project::example();
    project.write(
        "config/subscribers.toml",
        list(&[("Élise@example.com", "unsubscribed")]),
    );
    project.write(
        "import.csv",
        "email,name\nélise@example.com,Élise\nÉLISE@EXAMPLE.COM,Élise\nnew@example.com,New\n",
    );
    project
        .cmd()
        .args(["subscribers", "import", "import.csv", "--tag", "weekly"])
        .assert()
        .success();
    let text = project.read("config/subscribers.toml");
    assert_eq!(text.to_lowercase().matches("élise@example.com").count(), 1);
    assert!(text.contains("new@example.com"));
    dry_run(&project, &[]).success();
    assert_eq!(outbox(&project), ["new@example.com.eml"]);
}

#[test]
fn an_address_no_message_can_carry_is_an_invalid_entry_with_its_line() {
    let project = Project::example();
    project.write(
        "config/subscribers.toml",
        list(&[
            ("a@example.com", "active"),
            ("\\\"john doe\\\"@example.com", "active"),
            ("b@example.com", "active"),
        ]),
    );
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["check", "issues/example"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "config/subscribers.toml:8: error: `\"john doe\"@example.com` cannot be written into a message header",
        ));
    dry_run(&project, &[])
        .code(1)
        .stderr(predicate::str::contains(
            "config/subscribers.toml:8: error:",
        ));
    dry_run(&project, &["--skip-invalid"]).success();
    assert_eq!(outbox(&project), ["a@example.com.eml", "b@example.com.eml"]);
}

#[test]
fn a_name_too_long_for_a_header_line_is_refused_at_load() {
    let project = Project::example();
    let long = "x".repeat(2000);
    project.write(
        "config/subscribers.toml",
        format!("[[subscriber]]\nemail = \"a@example.com\"\nname = \"{long}\"\ntags = [\"weekly\"]\n\n[[subscriber]]\nemail = \"b@example.com\"\ntags = [\"weekly\"]\n"),
    );
    dry_run(&project, &[])
        .code(1)
        .stderr(predicate::str::contains(
            "config/subscribers.toml:1: error: the name of `a@example.com` is 2000 characters long",
        ));
    dry_run(&project, &["--skip-invalid"]).success();
    for file in outbox(&project) {
        let raw = std::fs::read(project.path(&format!("outbox/{file}"))).unwrap();
        for line in raw.split(|b| *b == b'\n') {
            assert!(line.len() <= 998, "{file} has a line of {}", line.len());
        }
    }
}

#[test]
fn out_of_range_numbers_in_the_config_are_refused_with_their_line() {
    for (value, line) in [
        ("rate_per_second = nan", "rate_per_second"),
        ("rate_per_second = 1e-300", "rate_per_second"),
        ("rate_per_second = -1", "rate_per_second"),
        ("retry_delay_secs = inf", "retry_delay_secs"),
        ("retry_delay_secs = 1e30", "retry_delay_secs"),
        ("concurrency = 0", "concurrency"),
        ("max_attempts = 100000", "max_attempts"),
    ] {
        let project = Project::example();
        let config = project.read("config/newsletter.toml");
        let start = config.find("[sending]").unwrap();
        let number = config[..start].lines().count() + 3;
        project.write(
            "config/newsletter.toml",
            format!(
                "{}[sending]\nstate_dir = \"../state\"\n{value}\n",
                &config[..start]
            ),
        );
        dry_run(&project, &[]).code(1).stderr(
            predicate::str::contains(format!("config/newsletter.toml:{number}:"))
                .and(predicate::str::contains(format!("sending.{line}"))),
        );
    }
}

#[test]
fn values_that_reach_headers_and_links_are_checked_at_load() {
    for (from, to, key) in [
        (
            "url        = \"https://news.example.com/unsubscribe\"",
            "url = \"javascript:alert(1)\"",
            "unsubscribe.url",
        ),
        (
            "base_url       = \"https://news.example.com\"",
            "base_url = \"https://news.example.com/\\\"><script>\"",
            "newsletter.base_url",
        ),
        (
            "mailto     = \"unsubscribe@example.com\"",
            "mailto = \"unsubscribe@example.com?body=x\"",
            "unsubscribe.mailto",
        ),
        (
            "list_id        = \"weekly.news.example.com\"",
            "list_id = \"weekly; x=y\"",
            "newsletter.list_id",
        ),
        (
            "theme          = \"default\"",
            "theme = \"default\"\nad_prefix = \"[Ad]\\r\\nBcc: v@example.net\"",
            "newsletter.ad_prefix",
        ),
        (
            "state_dir       = \"../state\"",
            "state_dir = \"../state\"\n\n[dkim]\ndomain = \"example.com\"\nselector = \"s1; h=from\"\nprivate_key_file = \"dkim.pem\"",
            "dkim.selector",
        ),
        (
            "state_dir       = \"../state\"",
            "state_dir = \"../state\"\n\n[dkim]\ndomain = \"example.com\\r\\nX: y\"\nselector = \"s1\"\nprivate_key_file = \"dkim.pem\"",
            "dkim.domain",
        ),
    ] {
        let project = Project::example();
        project.edit("config/newsletter.toml", from, to);
        project
            .cmd()
            .args(["check", "issues/example"])
            .assert()
            .code(1)
            .stdout(
                predicate::str::contains("config/newsletter.toml:")
                    .and(predicate::str::contains(format!("`{key}`"))),
            );
    }
}

#[test]
fn an_unsubscribe_secret_must_be_long_enough_to_resist_guessing() {
    let project = Project::example();
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", "x")
        .args(["send", "issues/example", "--dry-run", "--out", "outbox"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("it must be at least 16"));
    assert!(outbox(&project).is_empty());
}

#[test]
fn a_subject_that_looks_encoded_reaches_readers_as_written() {
    let project = Project::example();
    project.edit(
        "issues/example/issue.toml",
        "Why를 기억하라\"",
        "Why를 기억하라 =?utf-8?b?SGFja2Vk?=\"",
    );
    dry_run(&project, &[]).success();
    let raw = std::fs::read(project.path("outbox/reader@example.com.eml")).unwrap();
    let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert_eq!(
        message.subject().unwrap(),
        "위기의 AI스타트업... Why를 기억하라 =?utf-8?b?SGFja2Vk?="
    );
}

#[test]
fn an_empty_sections_list_and_an_image_link_out_of_the_folder_are_refused() {
    let project = Project::example();
    project.edit(
        "issues/example/issue.toml",
        "subject",
        "sections = []\nsubject",
    );
    project
        .cmd()
        .args(["check", "issues/example"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "issues/example/issue.toml:1: error: `sections = []` lists no section",
        ));
    project
        .cmd()
        .args(["build", "issues/example"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "issues/example/issue.toml:1:12: error: `sections = []` lists no section",
        ));

    let project = Project::example();
    project.write("secret.png", b"\x89PNG\r\n\x1a\nnot for the mail");
    std::os::unix::fs::symlink(
        project.path("secret.png"),
        project.path("issues/example/leak.png"),
    )
    .unwrap();
    let section = project.read("issues/example/01-intro.md");
    project.write(
        "issues/example/01-intro.md",
        format!("{section}\n![leak](leak.png)\n"),
    );
    project
        .cmd()
        .args(["build", "issues/example", "--out", "out"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("is a link to")
                .and(predicate::str::contains("outside the issue folder")),
        );
}

#[test]
fn merge_values_in_links_are_percent_encoded_and_check_agrees() {
    let project = Project::example();
    project.write(
        "config/subscribers.toml",
        list(&[("o'brien@example.com", "active")]),
    );
    let section = project.read("issues/example/01-intro.md");
    project.write(
        "issues/example/01-intro.md",
        format!("{section}\n[manage](https://news.example.com/manage?e={{{{ email }}}}&n={{{{ name | \"a b\" }}}})\n"),
    );
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["check", "issues/example"])
        .assert()
        .success();
    dry_run(&project, &[]).success();
    let raw = std::fs::read(project.path("outbox/o%27brien@example.com.eml")).unwrap();
    let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let text = message.body_text(0).unwrap();
    assert!(
        text.contains("https://news.example.com/manage?e=o%27brien%40example.com&n=a%20b"),
        "{text}"
    );
    let html = message.body_html(0).unwrap();
    assert!(
        html.contains("https://news.example.com/manage?e=o%27brien%40example.com&amp;n=a%20b"),
        "{html}"
    );
}

#[test]
fn deep_nesting_is_an_error_at_its_line_not_a_crash() {
    for start in ["> ", "- ", "1. ", "* "] {
        let project = Project::example();
        project.write(
            "issues/example/07-deep.md",
            format!("+++\ntitle = \"deep\"\n+++\n{}x\n", start.repeat(10_000)),
        );
        project
            .cmd()
            .args(["build", "issues/example"])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("issues/example/07-deep.md:4:"))
            .stderr(predicate::str::contains("nested more than 32 levels"));
        project
            .cmd()
            .args(["check", "issues/example"])
            .assert()
            .code(1)
            .stdout(predicate::str::contains(
                "issues/example/07-deep.md:4: error: quotes, lists or emphasis are nested more than 32 levels",
            ));
    }
}

#[test]
fn whatever_import_writes_the_list_reads_back() {
    let project = Project::example();
    project.write(
        "import.csv",
        "email,name,tags\nnl@example.com,New,\"weekly\n[[subscriber]]\"\nok@example.com,Ok,weekly\n",
    );
    project
        .cmd()
        .args(["subscribers", "import", "import.csv"])
        .assert()
        .success();
    project
        .cmd()
        .args(["subscribers", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ok@example.com"));
    // Valid TOML the line-by-line reader would split in the wrong place.
    let hand = "[[subscriber]]\nemail = \"a@example.com\"\nname = \"\"\"Kim \\\n[[subscriber]]#\\\n Lee\"\"\"\n\n[[subscriber]]\nemail = \"b@example.com\"\n";
    project.write("config/subscribers.toml", hand);
    project
        .cmd()
        .args(["subscribers", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "a@example.com\tKim [[subscriber]]#Lee",
        ))
        .stdout(predicate::str::contains("b@example.com"));
}

#[test]
fn two_issue_folders_of_one_name_never_share_a_journal() {
    let server = Server::start(Script::default());
    let project = relayed(server.port, &[("a@example.com", "active")]);
    support::copy_tree(
        &project.path("issues/example"),
        &project.path("elsewhere/example"),
    );
    project.edit(
        "elsewhere/example/issue.toml",
        "Why를 기억하라",
        "another issue",
    );
    send(&project, "issues/example", &[]).success();
    send(&project, "elsewhere/example", &[])
        .success()
        .stdout(predicate::str::contains("1 accepted"));
    assert_eq!(server.counts()["a@example.com"], 2);
    // Each run again finds its own journal.
    send(&project, "elsewhere/example", &[])
        .success()
        .stdout(predicate::str::contains("Nothing to send"));
    // A journal written for another folder is refused, not reused.
    let journal = project.read("state/example.journal");
    assert!(journal.contains("\n# issue: issues/example\n"), "{journal}");
    project.write(
        "state/example.journal",
        journal.replace("# issue: issues/example", "# issue: /old/place/example"),
    );
    send(&project, "issues/example", &[])
        .code(1)
        .stderr(predicate::str::contains(
            "this journal belongs to the issue /old/place/example",
        ));
}

#[test]
fn shards_and_a_plain_send_see_each_other() {
    let server = Server::start(Script::default());
    let readers: Vec<String> = (0..6).map(|i| format!("r{i}@example.com")).collect();
    let entries: Vec<(&str, &str)> = readers.iter().map(|r| (r.as_str(), "active")).collect();
    let project = relayed(server.port, &entries);
    send(&project, "issues/example", &["--shard", "1/1"]).success();
    send(&project, "issues/example", &[])
        .success()
        .stdout(predicate::str::contains("Nothing to send"));
    send(&project, "issues/example", &["--shard", "2/3"])
        .success()
        .stdout(predicate::str::contains("Nothing to send"));
    for reader in &readers {
        assert_eq!(server.counts()[reader], 1, "{reader}");
    }
}

#[test]
fn a_relay_without_smtputf8_gets_punycode_and_refuses_local_parts_at_once() {
    let server = Server::start(Script::default());
    let project = relayed(
        server.port,
        &[
            ("독자@example.com", "active"),
            ("reader@bücher.example", "active"),
        ],
    );
    send(&project, "issues/example", &[])
        .code(2)
        .stdout(predicate::str::contains("1 accepted, 1 failed, 0 deferred"))
        .stdout(predicate::str::contains("does not offer SMTPUTF8"));
    let counts = server.counts();
    assert_eq!(
        counts.get("reader@xn--bcher-kva.example"),
        Some(&1),
        "{counts:?}"
    );
    let journal = project.read("state/example.journal");
    assert!(
        journal.contains(" failed 독자@example.com attempts=1 "),
        "{journal}"
    );
}

#[test]
fn the_archive_matches_journals_exactly_and_survives_a_broken_issue() {
    let project = Project::example();
    support::copy_tree(
        &project.path("issues/example"),
        &project.path("issues/weekly"),
    );
    support::copy_tree(
        &project.path("issues/example"),
        &project.path("issues/broken"),
    );
    project.write("issues/broken/issue.toml", "subject = 1\n");
    project.write("state/weekly.2.journal", "# another issue\n");
    project.write("state/broken.journal", "# sent, then broken\n");
    project.write("state/example.shard-1-of-2.journal", "# sent in shards\n");
    project
        .cmd()
        .args(["archive", "--out", "site"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "issues/broken is left out of the archive",
        ));
    let index = project.read("site/index.html");
    assert!(index.contains("href=\"example/\""), "{index}");
    assert!(!index.contains("weekly/"), "{index}");
    assert!(!project.path("site/weekly").exists());
}
