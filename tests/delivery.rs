//! Delivery over real TCP on 127.0.0.1 to the scriptable server in
//! tests/support/smtp.rs: every reader exactly once, failures classified by
//! reply code, retries, the journal and resuming, the rate limit, the lock.

use crate::support;

use crate::smtp;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use predicates::prelude::*;
use smtp::{Rule, Script, Server, Stage};
use support::Project;

const SECRET: &str = "delivery-test-secret";

/// The example project with `readers` active readers (reader0@example.com …),
/// two inactive ones, and the relay at `port`.
fn project(port: u16, readers: usize, sending: &str) -> Project {
    let mut list = String::from("# test list\n");
    for i in 0..readers {
        list.push_str(&format!("\n[[subscriber]]\nemail = \"reader{i}@example.com\"\nname = \"독자{i}\"\ntags = [\"weekly\"]\n"));
    }
    list.push_str("\n[[subscriber]]\nemail = \"gone@example.com\"\nstatus = \"unsubscribed\"\ntags = [\"weekly\"]\n");
    list.push_str("\n[[subscriber]]\nemail = \"bounced@example.com\"\nstatus = \"bounced\"\ntags = [\"weekly\"]\n");
    Project::with_relay(port, &list, &format!("state_dir = \"../state\"\n{sending}"))
}

fn send(project: &Project, extra: &[&str]) -> assert_cmd::assert::Assert {
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["send", "issues/example", "--yes"])
        .args(extra)
        .assert()
}

/// Each reader's last record, as `outcome attempts=N reply="…"`: the relay
/// that gave it and the time to accept are checked, then left out.
fn journal(project: &Project) -> HashMap<String, String> {
    let text = project.read("state/example.journal");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let mut f = l.split(' ');
            let outcome = f.nth(1).unwrap().to_string();
            let reader = f.next().unwrap().to_string();
            let rest: Vec<&str> = f.collect();
            let relay = rest
                .iter()
                .find(|w| w.starts_with("relay="))
                .unwrap_or_else(|| panic!("no relay in {l}"));
            assert!(relay.starts_with("relay=127.0.0.1:"), "{l}");
            let timed = rest.iter().any(|w| w.starts_with("ms="));
            assert_eq!(timed, outcome == "accepted", "{l}");
            let rest: Vec<&str> = rest
                .into_iter()
                .filter(|w| !w.starts_with("relay=") && !w.starts_with("ms="))
                .collect();
            (reader, format!("{outcome} {}", rest.join(" ")))
        })
        .collect()
}

fn all_readers(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("reader{i}@example.com")).collect()
}

#[test]
fn delivers_to_every_reader_once_over_few_connections() {
    let server = Server::start(Script::default());
    let project = project(
        server.port,
        60,
        "concurrency = 3\nrate_per_second = 0\nmax_messages_per_connection = 25",
    );
    send(&project, &[])
        .success()
        .stdout(predicate::str::contains(
            "60 accepted, 0 failed, 0 deferred",
        ));
    let counts = server.counts();
    assert_eq!(counts.len(), 60);
    for reader in all_readers(60) {
        assert_eq!(counts.get(&reader), Some(&1), "{reader}");
    }
    assert!(
        !counts.contains_key("gone@example.com") && !counts.contains_key("bounced@example.com")
    );
    assert!(server
        .received()
        .iter()
        .all(|m| m.from == "letter@example.com"));
    // What arrived is the reader's own message, ended by CRLF.
    for message in server.received() {
        let to = &message.to[0];
        let data = String::from_utf8(message.data.clone()).unwrap();
        let token = letterpress::token(SECRET.as_bytes(), to);
        let link = format!(
            "<https://news.example.com/unsubscribe?e={}&t={token}&i=example>",
            to.replace('@', "%40")
        );
        assert!(
            data.contains(&format!("\r\nList-Unsubscribe: {link}, <mailto:")),
            "{to}"
        );
        assert!(data.ends_with("\r\n"));
    }
    let connections = server.connections();
    assert!(
        (3..=6).contains(&connections),
        "{connections} connections for 60 messages"
    );
    let journal = journal(&project);
    assert_eq!(journal.len(), 60);
    assert!(journal
        .values()
        .all(|o| o.starts_with("accepted attempts=1 reply=\"250 2.0.0 Ok: queued\"")));

    // Running again sends nothing: every reader is in the journal.
    send(&project, &[])
        .success()
        .stdout(predicate::str::contains("Nothing to send"));
    assert_eq!(server.received().len(), 60);
}

#[test]
fn failures_are_classified_by_reply_code_and_resumed() {
    let mut script = Script::default();
    let rule = |stage, reply: &str, times| Rule {
        stage,
        reply: reply.into(),
        times,
    };
    script.rules.insert(
        "reader1@example.com".into(),
        rule(
            Stage::Rcpt,
            "550 5.7.1 <reader1@example.com>: message refused by policy",
            None,
        ),
    );
    script.rules.insert(
        "reader2@example.com".into(),
        rule(Stage::Data, "451 4.7.1 try again later", Some(2)),
    );
    script.rules.insert(
        "reader3@example.com".into(),
        rule(Stage::Data, "454 4.7.0 Throttling failure", None),
    );
    script.rules.insert(
        "reader4@example.com".into(),
        rule(
            Stage::Rcpt,
            "421 4.7.0 too many messages in this connection",
            Some(1),
        ),
    );
    let server = Server::start(script);
    let project = project(
        server.port,
        8,
        "concurrency = 2\nrate_per_second = 0\nmax_attempts = 3\nretry_delay_secs = 0.05",
    );
    send(&project, &[]).code(2).stdout(
        predicate::str::contains("6 accepted, 1 failed, 1 deferred")
            .and(predicate::str::contains(
                "reader1@example.com: permanent error (550)",
            ))
            .and(predicate::str::contains("reader3@example.com:")),
    );
    let counts = server.counts();
    for (reader, expected) in [
        ("reader0", 1),
        ("reader1", 0),
        ("reader2", 1),
        ("reader3", 0),
        ("reader4", 1),
        ("reader7", 1),
    ] {
        assert_eq!(
            counts
                .get(&format!("{reader}@example.com"))
                .copied()
                .unwrap_or(0),
            expected,
            "{reader}"
        );
    }
    let j = journal(&project);
    assert!(
        j["reader1@example.com"].starts_with("failed attempts=1 reply=\"permanent error (550)"),
        "{}",
        j["reader1@example.com"]
    );
    assert!(
        j["reader2@example.com"].starts_with("accepted attempts=3"),
        "{}",
        j["reader2@example.com"]
    );
    assert!(
        j["reader3@example.com"].starts_with("deferred attempts=3"),
        "{}",
        j["reader3@example.com"]
    );
    assert!(
        j["reader3@example.com"].contains("454"),
        "{}",
        j["reader3@example.com"]
    );
    assert!(
        j["reader4@example.com"].starts_with("accepted attempts=2"),
        "{}",
        j["reader4@example.com"]
    );

    // The next run retries the deferred reader only; the refused one waits
    // for --retry-failed.
    send(&project, &[]).code(2).stdout(predicate::str::contains(
        "Resuming: 6 readers already accepted, 1 failed permanently earlier",
    ));
    assert_eq!(server.counts().get("reader1@example.com"), None);
    send(&project, &["--retry-failed"]).code(2);
    assert_eq!(
        server.received().len(),
        6,
        "an accepted reader was sent twice"
    );
}

#[test]
fn dropped_connections_and_random_4xx_lose_and_double_nobody() {
    let script = Script {
        drop_every: Some(4),
        random_4xx: Some((0.2, 7)),
        ..Script::default()
    };
    let server = Server::start(script);
    let project = project(
        server.port,
        50,
        "concurrency = 4\nrate_per_second = 0\nmax_attempts = 12\nretry_delay_secs = 0.01",
    );
    send(&project, &[])
        .success()
        .stdout(predicate::str::contains("50 accepted"));
    let counts = server.counts();
    for reader in all_readers(50) {
        assert_eq!(counts.get(&reader), Some(&1), "{reader}");
    }
}

#[test]
fn rate_limit_spaces_messages_evenly() {
    let server = Server::start(Script::default());
    let project = project(server.port, 200, "concurrency = 8\nrate_per_second = 50");
    let started = Instant::now();
    send(&project, &[]).success();
    let received = server.received();
    assert_eq!(received.len(), 200);
    let first = received.iter().map(|m| m.at).min().unwrap();
    let last = received.iter().map(|m| m.at).max().unwrap();
    let span = (last - first).as_secs_f64();
    // 200 messages at 50/s: (200 − 1) / 50 = 3.98 s, within 10 %.
    assert!(
        (3.58..=4.38).contains(&span),
        "200 messages at 50/s took {span:.2} s"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    // No bursts: no second holds more than its share.
    let mut per_second: HashMap<u64, usize> = HashMap::new();
    for m in &received {
        *per_second.entry((m.at - first).as_secs()).or_insert(0) += 1;
    }
    assert!(per_second.values().all(|n| *n <= 53), "{per_second:?}");
}

#[test]
fn logs_in_with_the_password_from_the_environment() {
    let script = Script {
        auth: Some(("letter@example.com".into(), "pa55-word".into())),
        ..Script::default()
    };
    let server = Server::start(script);
    let project = project(server.port, 3, "rate_per_second = 0");
    project.edit(
        "config/newsletter.toml",
        "timeout_secs = 30",
        "timeout_secs = 30\nusername = \"letter@example.com\"\npassword_env = \"TEST_SMTP_PASSWORD\"",
    );
    send(&project, &[]).code(1).stderr(predicate::str::contains(
        "TEST_SMTP_PASSWORD, which is not set",
    ));
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .env("TEST_SMTP_PASSWORD", "wrong")
        .args(["send", "issues/example", "--yes"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("refused the connection").and(predicate::str::contains("535")),
        );
    assert!(server.received().is_empty());
    let output = project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .env("TEST_SMTP_PASSWORD", "pa55-word")
        .args(["send", "issues/example", "--yes"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(server.received().len(), 3);
    let everything = format!(
        "{}{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        project.read("state/example.journal")
    );
    assert!(!everything.contains("pa55-word") && !everything.contains(SECRET));
}

#[test]
fn refuses_clear_text_to_a_remote_relay_and_sending_without_confirmation() {
    let project = project(2525, 3, "");
    project.edit(
        "config/newsletter.toml",
        "host         = \"127.0.0.1\"",
        "host         = \"smtp.example.com\"",
    );
    send(&project, &[]).code(1).stderr(predicate::str::contains(
        "only allowed towards this machine",
    ));

    let server = Server::start(Script::default());
    let project = self::project(server.port, 3, "");
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["send", "issues/example"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("There is no terminal to confirm on")
                .and(predicate::str::contains("--yes")),
        );
    assert!(server.received().is_empty());
}

#[test]
fn test_sends_reach_only_the_given_addresses_and_are_not_journaled() {
    let server = Server::start(Script::default());
    let project = project(server.port, 5, "rate_per_second = 0");
    send(&project, &["--to", "editor@example.org"]).success();
    assert_eq!(
        server.counts().keys().collect::<Vec<_>>(),
        ["editor@example.org"]
    );
    assert!(!project.path("state/example.journal").exists());
    send(&project, &[])
        .success()
        .stdout(predicate::str::contains("5 accepted"));
}

#[test]
fn a_second_send_of_the_same_issue_is_locked_out() {
    let script = Script {
        delay: Duration::from_millis(300),
        ..Script::default()
    };
    let server = Server::start(script);
    let project = project(server.port, 4, "concurrency = 1\nrate_per_second = 0");
    let mut first = std::process::Command::new(assert_cmd::cargo::cargo_bin("letterpress"))
        .current_dir(project.dir.path())
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["send", "issues/example", "--yes"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    send(&project, &[]).code(1).stderr(predicate::str::contains(
        "another letterpress send of this issue is running",
    ));
    assert!(first.wait().unwrap().success());
    assert_eq!(server.received().len(), 4);
}

#[test]
fn shards_split_the_list_without_overlap() {
    let server = Server::start(Script::default());
    let project = project(server.port, 30, "rate_per_second = 0");
    for k in 1..=3 {
        send(&project, &["--shard", &format!("{k}/3")]).success();
        assert!(project
            .path(&format!("state/example.shard-{k}-of-3.journal"))
            .is_file());
    }
    let counts = server.counts();
    assert_eq!(counts.len(), 30);
    assert!(counts.values().all(|n| *n == 1));
    send(&project, &["--shard", "4/3"])
        .code(1)
        .stderr(predicate::str::contains("K must be between 1 and N"));
}

/// Runs a send as a child process and interrupts it after `after`.
fn interrupted_send(project: &Project, after: Duration, signal: &str) -> std::process::Output {
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("letterpress"))
        .current_dir(project.dir.path())
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["send", "issues/example", "--yes"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    let status = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait_with_output().unwrap()
}

// Test that a send killed at any moment and run again misses nobody and
// sends at most the messages that were in flight twice.
#[test]
fn a_killed_send_resumes_without_loss_and_few_duplicates() {
    for after in [150, 600, 1100] {
        let script = Script {
            delay: Duration::from_millis(2),
            ..Script::default()
        };
        let server = Server::start(script);
        let concurrency = 4;
        let project = project(
            server.port,
            150,
            &format!("concurrency = {concurrency}\nrate_per_second = 100"),
        );
        let output = interrupted_send(&project, Duration::from_millis(after), "-KILL");
        assert!(!output.status.success());
        let before = server.received().len();
        assert!(
            before < 150,
            "the send finished before the kill at {after} ms"
        );
        send(&project, &[]).success();
        let counts = server.counts();
        assert_eq!(
            counts.len(),
            150,
            "a reader was missed after a kill at {after} ms"
        );
        let duplicates: usize = counts.values().map(|n| n - 1).sum();
        assert!(
            duplicates <= concurrency,
            "{duplicates} duplicates after a kill at {after} ms"
        );
    }
}

// Test that a signed send (RSA and Ed25519, one signing thread per core)
// killed at any moment and run again misses nobody, sends at most the
// messages in flight twice, and every message carries both signatures.
#[test]
fn a_killed_signed_send_resumes_without_loss_and_few_duplicates() {
    if !support::require("/usr/bin/openssl", "apt-get install -y openssl") {
        return;
    }
    for after in [150, 600, 1100] {
        let script = Script {
            delay: Duration::from_millis(2),
            ..Script::default()
        };
        let server = Server::start(script);
        let concurrency = 4;
        let project = project(
            server.port,
            150,
            &format!("concurrency = {concurrency}\nrate_per_second = 100"),
        );
        let key = project.path("config/rsa.key");
        let made = std::process::Command::new("/usr/bin/openssl")
            .args(["genrsa", "-out", key.to_str().unwrap(), "2048"])
            .output()
            .unwrap();
        assert!(made.status.success());
        project.write(
            "config/ed25519.key",
            "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=",
        );
        let mut config = project.read("config/newsletter.toml");
        for (selector, algorithm, file) in [
            ("rsa2026", "rsa", "rsa.key"),
            ("ed2026", "ed25519", "ed25519.key"),
        ] {
            config.push_str(&format!("\n[[dkim]]\ndomain = \"example.com\"\nselector = \"{selector}\"\nprivate_key_file = \"{file}\"\nalgorithm = \"{algorithm}\"\n"));
        }
        project.write("config/newsletter.toml", config);
        let output = interrupted_send(&project, Duration::from_millis(after), "-KILL");
        assert!(!output.status.success());
        let before = server.received().len();
        assert!(
            before < 150,
            "the send finished before the kill at {after} ms"
        );
        send(&project, &[]).success();
        let counts = server.counts();
        assert_eq!(
            counts.len(),
            150,
            "a reader was missed after a kill at {after} ms"
        );
        let duplicates: usize = counts.values().map(|n| n - 1).sum();
        assert!(
            duplicates <= concurrency,
            "{duplicates} duplicates after a kill at {after} ms"
        );
        for message in server.received() {
            let text = String::from_utf8_lossy(&message.data);
            assert!(
                text.starts_with("DKIM-Signature: ")
                    && text.contains("a=rsa-sha256")
                    && text.contains("a=ed25519-sha256"),
                "a message without both signatures:\n{text}"
            );
        }
    }
}

// Test that Ctrl-C lets the messages in flight finish, saves the journal,
// says how to resume and exits 130; the rerun sends nobody twice.
#[test]
fn an_interrupted_send_stops_cleanly_and_resumes_without_duplicates() {
    let server = Server::start(Script::default());
    let project = project(server.port, 100, "concurrency = 4\nrate_per_second = 50");
    let output = interrupted_send(&project, Duration::from_millis(700), "-INT");
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Resume with:") && stderr.contains("send issues/example --yes"),
        "{stderr}"
    );
    let sent = server.received().len();
    assert!(
        (10..100).contains(&sent),
        "{sent} sent before the interrupt"
    );
    assert_eq!(
        journal(&project).len(),
        sent,
        "the journal does not hold every accepted reader"
    );
    send(&project, &[]).success();
    let counts = server.counts();
    assert_eq!(counts.len(), 100);
    assert!(
        counts.values().all(|n| *n == 1),
        "a reader got the issue twice"
    );
}

// Test interop with a real MTA: Postfix's smtp-sink receives the example.
#[test]
fn delivers_to_postfix_smtp_sink() {
    const SINK: &str = "/usr/sbin/smtp-sink";
    if !support::require(SINK, "apt-get install -y postfix") {
        return;
    }
    let dump = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        dump.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut sink = std::process::Command::new(SINK)
        .args(["-u", "nobody", "-d"])
        .arg(format!("{}/%M.", dump.path().display()))
        .arg(format!("127.0.0.1:{port}"))
        .arg("100")
        .spawn()
        .expect("start smtp-sink");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "smtp-sink did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let project = Project::example();
    project.edit(
        "config/newsletter.toml",
        "port         = 2525",
        &format!("port         = {port}"),
    );
    let result = send(&project, &[]).try_success();
    let _ = sink.kill();
    let _ = sink.wait();
    result
        .unwrap()
        .stdout(predicate::str::contains("3 accepted"));
    let mut dumped: Vec<String> = std::fs::read_dir(dump.path())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    dumped.sort();
    assert_eq!(
        dumped.len(),
        3,
        "smtp-sink dumped {} messages",
        dumped.len()
    );
    for reader in [
        "reader@example.com",
        "jane.doe@example.org",
        "park@example.net",
    ] {
        let message = dumped
            .iter()
            .find(|m| m.contains(&format!("X-Rcpt-Args: <{reader}>")))
            .unwrap();
        // The envelope sender is the VERP return path of [bounces].
        assert!(message.contains("X-Mail-Args: <bounces+"), "{message}");
        assert!(message.contains("\nList-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(message.contains("\nContent-Type: multipart/alternative;"));
    }
}

/// A CA and a certificate for 127.0.0.1 signed by it: (CA PEM, server config).
fn test_tls() -> (String, std::sync::Arc<rustls::ServerConfig>) {
    let (ca_pem, cert, key) = support::private_ca();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    (ca_pem, std::sync::Arc::new(config))
}

// Test STARTTLS against a private CA given as ca_file, with AUTH LOGIN.
#[test]
fn starttls_with_a_private_ca_and_auth_login() {
    let (ca_pem, tls) = test_tls();
    let script = Script {
        tls: Some(tls),
        auth: Some(("letter@example.com".into(), "s3cret-pass".into())),
        mechanisms: Some("LOGIN".into()),
        ..Script::default()
    };
    let server = Server::start(script);
    let project = project(server.port, 5, "rate_per_second = 0");
    project.edit(
        "config/newsletter.toml",
        "security     = \"none\"",
        "security     = \"starttls\"\nusername = \"letter@example.com\"\npassword_env = \"TEST_SMTP_PASSWORD\"",
    );
    // Without the private CA the certificate is not trusted: nothing is sent.
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .env("TEST_SMTP_PASSWORD", "s3cret-pass")
        .args(["send", "issues/example", "--yes"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("TLS"));
    assert!(server.received().is_empty());
    project.write("config/relay-ca.pem", &ca_pem);
    project.edit(
        "config/newsletter.toml",
        "timeout_secs = 30",
        "timeout_secs = 30\nca_file = \"relay-ca.pem\"",
    );
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .env("TEST_SMTP_PASSWORD", "s3cret-pass")
        .args(["send", "issues/example", "--yes"])
        .assert()
        .success()
        .stdout(predicate::str::contains("5 accepted"));
    let received = server.received();
    assert_eq!(received.len(), 5);
    assert!(
        received.iter().all(|m| m.tls),
        "a message travelled in clear text"
    );
}

// Test that a relay that stops answering cannot hang a send: every step
// times out, the readers are deferred, and the run ends.
#[test]
fn a_silent_relay_cannot_hang_the_send() {
    let script = Script {
        delay: Duration::from_secs(30),
        ..Script::default()
    };
    let server = Server::start(script);
    let project = project(
        server.port,
        2,
        "rate_per_second = 0\nmax_attempts = 2\nretry_delay_secs = 0.05",
    );
    project.edit(
        "config/newsletter.toml",
        "timeout_secs = 30",
        "timeout_secs = 1",
    );
    let started = Instant::now();
    send(&project, &[])
        .code(2)
        .stdout(predicate::str::contains(
            "0 accepted, 0 failed, 0 deferred, 2 not attempted",
        ))
        .stderr(predicate::str::contains("timed out"));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

// Test that --limit sends the next readers not yet accepted.
#[test]
fn limit_takes_the_next_readers_in_list_order() {
    let server = Server::start(Script::default());
    let project = project(server.port, 5, "rate_per_second = 0");
    send(&project, &["--limit", "2"])
        .success()
        .stdout(predicate::str::contains("2 accepted"));
    assert_eq!(server.counts().len(), 2);
    assert!(
        server.counts().contains_key("reader0@example.com")
            && server.counts().contains_key("reader1@example.com")
    );
    send(&project, &["--limit", "2"]).success();
    send(&project, &[])
        .success()
        .stdout(predicate::str::contains("1 accepted"));
    assert_eq!(server.counts().len(), 5);
    assert!(server.counts().values().all(|n| *n == 1));
}

// Test TLS from the first byte (port 465 style) against a private CA.
#[test]
fn implicit_tls_with_a_private_ca() {
    let (ca_pem, tls) = test_tls();
    let script = Script {
        tls: Some(tls),
        implicit_tls: true,
        ..Script::default()
    };
    let server = Server::start(script);
    let project = project(server.port, 4, "rate_per_second = 0");
    project.edit(
        "config/newsletter.toml",
        "security     = \"none\"",
        "security     = \"tls\"",
    );
    send(&project, &[])
        .code(1)
        .stderr(predicate::str::contains("TLS with the relay failed"));
    assert!(server.received().is_empty());
    project.write("config/relay-ca.pem", &ca_pem);
    project.edit(
        "config/newsletter.toml",
        "timeout_secs = 30",
        "timeout_secs = 30\nca_file = \"relay-ca.pem\"",
    );
    send(&project, &[])
        .success()
        .stdout(predicate::str::contains("4 accepted"));
    assert!(server.received().iter().all(|m| m.tls));
}

#[test]
fn a_relay_without_pipelining_gets_one_command_at_a_time() {
    let server = Server::start(Script {
        no_pipelining: true,
        ..Script::default()
    });
    let project = project(server.port, 12, "concurrency = 2\nrate_per_second = 0");
    send(&project, &[])
        .success()
        .stdout(predicate::str::contains(
            "12 accepted, 0 failed, 0 deferred",
        ));
    let counts = server.counts();
    assert_eq!(counts.len(), 12);
    assert!(all_readers(12).iter().all(|r| counts.get(r) == Some(&1)));
}

// Test that a reply's code decides, never its text: a relay whose every
// reply carries bytes that are not UTF-8 (in clear text, and after
// STARTTLS) gets each message once, the journal records each reader
// accepted, and a rerun sends nobody.
#[test]
fn replies_that_are_not_utf8_are_judged_by_their_code() {
    let (ca_pem, tls) = test_tls();
    for starttls in [false, true] {
        let server = Server::start(Script {
            garble: true,
            tls: starttls.then(|| tls.clone()),
            ..Script::default()
        });
        let project = project(
            server.port,
            20,
            "concurrency = 2\nrate_per_second = 0\nmax_attempts = 3\nretry_delay_secs = 0.01",
        );
        if starttls {
            project.write("config/relay-ca.pem", &ca_pem);
            project.edit(
                "config/newsletter.toml",
                "security     = \"none\"",
                "security     = \"starttls\"\nca_file = \"relay-ca.pem\"",
            );
        }
        send(&project, &[])
            .success()
            .stdout(predicate::str::contains(
                "20 accepted, 0 failed, 0 deferred",
            ));
        let counts = server.counts();
        assert!(
            all_readers(20).iter().all(|r| counts.get(r) == Some(&1)),
            "starttls {starttls}: {counts:?}"
        );
        assert_eq!(server.received().len(), 20);
        assert!(server.received().iter().all(|m| m.tls == starttls));
        let journal = journal(&project);
        assert_eq!(journal.len(), 20);
        for (reader, outcome) in &journal {
            assert!(
                outcome.starts_with("accepted attempts=1 reply=\"250 2.0.0 Ok: queued \u{fffd}"),
                "{reader}: {outcome}"
            );
        }
        send(&project, &[])
            .success()
            .stdout(predicate::str::contains("Nothing to send"));
        assert_eq!(server.received().len(), 20);
    }
}

// Test that a relay which takes connections but never greets is taken for
// down after a few of them: the send stops within a few timeouts instead
// of waiting attempts × timeout for every reader, exits 2 with the resume
// command, and the rerun sends every reader once.
#[test]
fn a_relay_that_never_greets_stops_the_send_after_a_few_timeouts() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        // Holds every connection open without a word.
        let held: Vec<_> = listener.incoming().take(100).collect();
        std::thread::sleep(Duration::from_secs(60));
        drop(held);
    });
    let readers = 100;
    let project = project(
        port,
        readers,
        "concurrency = 2\nrate_per_second = 0\nmax_attempts = 5\nretry_delay_secs = 0.05",
    );
    project.edit(
        "config/newsletter.toml",
        "timeout_secs = 30",
        "timeout_secs = 1",
    );
    let started = Instant::now();
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["send", "issues/example", "--yes"])
        .timeout(Duration::from_secs(30))
        .assert()
        .code(2)
        .stdout(predicate::str::contains(format!(
            "0 accepted, 0 failed, 0 deferred, {readers} not attempted"
        )))
        .stderr(
            predicate::str::contains("did not answer")
                .and(predicate::str::contains("timed out"))
                .and(predicate::str::contains("send issues/example --yes")),
        );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(8), "took {took:?}");

    // The relay is back: the rerun sends everyone, once.
    let server = Server::start(Script::default());
    project.edit(
        "config/newsletter.toml",
        &format!("port         = {port}"),
        &format!("port         = {}", server.port),
    );
    send(&project, &[])
        .success()
        .stdout(predicate::str::contains(format!("{readers} accepted")));
    let counts = server.counts();
    assert!(all_readers(readers)
        .iter()
        .all(|r| counts.get(r) == Some(&1)));
}

/// The header section of a message, its folded lines unfolded.
fn headers(message: &str) -> String {
    let end = message.find("\r\n\r\n").expect("a header section");
    message[..end].replace("\r\n ", " ").replace("\r\n\t", " ")
}

// Test that a reader at an internationalised domain gets headers in ASCII
// through a relay without SMTPUTF8: the To header carries the domain in
// punycode, as the envelope does, and the dry run writes the same header.
#[test]
fn a_reader_at_an_idn_domain_gets_ascii_headers_from_a_relay_without_smtputf8() {
    let server = Server::start(Script::default());
    let list = "[[subscriber]]\nemail = \"leser@bücher.example.com\"\nname = \"Leser Müller\"\ntags = [\"weekly\"]\n";
    let project = Project::with_relay(
        server.port,
        list,
        "state_dir = \"../state\"\nrate_per_second = 0",
    );
    send(&project, &[])
        .success()
        .stdout(predicate::str::contains("1 accepted, 0 failed"));
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, ["leser@xn--bcher-kva.example.com"]);
    let sent = headers(&String::from_utf8(received[0].data.clone()).unwrap());
    assert!(sent.is_ascii(), "{sent}");
    let to = sent.lines().find(|l| l.starts_with("To: ")).unwrap();
    assert!(to.ends_with(" <leser@xn--bcher-kva.example.com>"), "{to}");

    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["send", "issues/example", "--dry-run", "--out", "outbox"])
        .assert()
        .success();
    let written: Vec<_> = std::fs::read_dir(project.path("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    let eml = headers(&std::fs::read_to_string(&written[0]).unwrap());
    assert!(eml.lines().any(|l| l == to), "{eml}");
}

#[test]
fn a_paused_reader_is_skipped_until_the_pause_has_passed() {
    let server = Server::start(Script::default());
    let reader = |email: &str, paused: &str| {
        format!("\n[[subscriber]]\nemail = \"{email}\"\ntags = [\"weekly\"]\npaused_until = \"{paused}\"\n")
    };
    let list = [
        reader("away@example.com", "2098-06-01T00:00:00Z"),
        reader("longer@example.com", "2099-01-15T09:00:00+09:00"),
        reader("back@example.com", "2020-01-15T00:00:00Z"),
    ]
    .concat();
    let project = Project::with_relay(
        server.port,
        &list,
        "state_dir = \"../state\"\nrate_per_second = 0",
    );
    let said = "2 readers paused (until 2099-01-15 at the latest)";
    project
        .cmd()
        .args(["check", "issues/example"])
        .assert()
        .stdout(predicate::str::contains(said));
    send(&project, &[])
        .success()
        .stdout(predicate::str::contains(format!("Skipped: {said}.")))
        .stdout(predicate::str::contains("1 accepted, 0 failed, 0 deferred"));
    let counts = server.counts();
    assert_eq!(counts.len(), 1, "{counts:?}");
    assert_eq!(counts.get("back@example.com"), Some(&1));

    // The list and the reader's own record say so.
    project
        .cmd()
        .args(["subscribers", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "away@example.com\t\tactive\tweekly\tpaused until 2098-06-01T00:00:00Z\n",
        ))
        .stdout(predicate::str::contains(format!(
            "3 readers: 3 active ({said}),"
        )));
    project
        .cmd()
        .args(["subscribers", "show", "longer@example.com"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "paused until 2099-01-15T09:00:00+09:00",
        ));
}
