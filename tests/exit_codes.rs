//! The exit status, one real scenario per row: 0 done; 1 nothing done
//! because of input, config or arguments (usage errors included); 2 some
//! readers not delivered (refused, or a relay that stops accepting after
//! some were accepted, with the resume command); 130 interrupted. No
//! message says `error:` twice.

use crate::support;

use crate::smtp;

use std::collections::HashMap;
use std::time::Duration;

use smtp::{Rule, Script, Server, Stage};
use support::Project;

const SECRET: &str = "exit-codes-test-secret-0123";

/// The example with `n` readers and its relay at `port`.
fn project(port: u16, n: usize, sending: &str) -> Project {
    let list: String = (0..n)
        .map(|i| format!("[[subscriber]]\nemail = \"r{i}@example.com\"\ntags = [\"weekly\"]\n\n"))
        .collect();
    Project::with_relay(port, &list, &format!("state_dir = \"../state\"\n{sending}"))
}

struct Case {
    name: &'static str,
    args: Vec<String>,
    code: i32,
    stderr: &'static str,
}

fn case(name: &'static str, args: &[&str], code: i32, stderr: &'static str) -> Case {
    Case {
        name,
        args: args.iter().map(|a| a.to_string()).collect(),
        code,
        stderr,
    }
}

fn run(project: &Project, case: &Case) {
    let output = project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(&case.args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(case.code),
        "{}: {stderr}",
        case.name
    );
    assert!(
        stderr.contains(case.stderr),
        "{}: {:?} not in {stderr}",
        case.name,
        case.stderr
    );
    for line in stderr.lines() {
        assert!(
            line.matches("error:").count() <= 1,
            "{}: `error:` twice in {line:?}",
            case.name
        );
    }
}

#[test]
fn each_exit_status_comes_from_a_real_scenario() {
    let refusing = Server::start(Script {
        rules: HashMap::from([(
            "r1@example.com".to_string(),
            Rule {
                stage: Stage::Rcpt,
                // A refusal that says nothing of the address: the reader stays
                // in the list, refused, for the "nothing left" case below.
                reply: "550 5.7.1 message refused by policy".into(),
                times: None,
            },
        )]),
        ..Script::default()
    });
    let stopping = Server::start(Script {
        refuse_after_connections: Some(1),
        ..Script::default()
    });
    let refused = project(refusing.port, 3, "rate_per_second = 0");
    let relay_stops = project(
        stopping.port,
        6,
        "rate_per_second = 0\nconcurrency = 1\nmax_messages_per_connection = 2",
    );
    let plain = Project::example();
    plain.write(
        "issues/example/99-broken.md",
        "+++\ntitle = \"x\"\n+++\n{{ nmae }}\n",
    );
    let send = ["send", "issues/example", "--yes"];
    let cases = [
        (
            &plain,
            case(
                "an unknown merge tag",
                &[
                    "send",
                    "issues/example",
                    "--dry-run",
                    "--out",
                    "o",
                    "--force",
                ],
                1,
                "issues/example/99-broken.md:4:1: error:",
            ),
        ),
        (
            &plain,
            case(
                "an unknown flag",
                &["--bogus"],
                1,
                "unexpected argument '--bogus'",
            ),
        ),
        (
            &plain,
            case(
                "a missing argument",
                &["send"],
                1,
                "required arguments were not provided",
            ),
        ),
        (
            &plain,
            case("check with errors", &["check", "issues/example"], 1, ""),
        ),
        (
            &plain,
            case(
                "bad config",
                &["--config", "nope.toml", "build", "issues/example"],
                1,
                "nope.toml: cannot read the file",
            ),
        ),
        (&refused, case("one reader refused", &send, 2, "")),
        (
            &relay_stops,
            case("the relay stops after two", &send, 2, "resume with:"),
        ),
        (
            &refused,
            case(
                "nothing left to send",
                &["send", "issues/example", "--yes", "--limit", "1"],
                2,
                "",
            ),
        ),
    ];
    for (project, case) in &cases {
        run(project, case);
    }
    let built = Project::example();
    run(
        &built,
        &case("a build", &["build", "issues/example"], 0, ""),
    );
    run(
        &built,
        &case(
            "a dry run",
            &["send", "issues/example", "--dry-run", "--out", "o"],
            0,
            "",
        ),
    );
    run(&built, &case("help", &["--help"], 0, ""));
    let journal = relay_stops.read("state/example.journal");
    assert_eq!(journal.matches(" accepted ").count(), 2, "{journal}");
}

#[test]
fn an_interrupted_send_exits_130() {
    let server = Server::start(Script::default());
    let project = project(server.port, 200, "rate_per_second = 20");
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("letterpress"))
        .current_dir(project.dir.path())
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["send", "issues/example", "--yes"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("Resume with:"), "{stderr}");
}

#[test]
#[should_panic(expected = "scripted rules that were never hit")]
fn the_test_relay_fails_a_test_whose_scripted_rule_was_never_hit() {
    let _server = Server::start(Script {
        rules: HashMap::from([(
            "nobody@example.com".to_string(),
            Rule {
                stage: Stage::Rcpt,
                // A refusal that says nothing of the address: the reader stays
                // in the list, refused, for the "nothing left" case below.
                reply: "550 5.7.1 message refused by policy".into(),
                times: None,
            },
        )]),
        ..Script::default()
    });
}
