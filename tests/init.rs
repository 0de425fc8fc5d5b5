//! From `cargo install` to a first send: `init` in an empty folder with no
//! file from this repository, then build, check, a dry run and `serve`;
//! `init` never overwrites; completions and the man page.

mod support;

use std::time::{Duration, Instant};

use predicates::prelude::*;

/// `letterpress` in `dir`, with no inherited configuration or secrets.
fn cmd(dir: &std::path::Path) -> assert_cmd::Command {
    let mut cmd = support::letterpress();
    cmd.current_dir(dir);
    cmd
}

#[test]
fn a_new_user_gets_from_an_empty_folder_to_a_dry_run_and_a_served_archive() {
    let empty = tempfile::tempdir().unwrap();
    let out = cmd(empty.path())
        .args([
            "init",
            "뉴스레터",
            "--name",
            "작은 뉴스레터",
            "--from",
            "작은 뉴스레터 <letter@example.com>",
            "--language",
            "ko",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("cd 뉴스레터")
                .and(predicate::str::contains("letterpress send issues/")),
        );
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let issue = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("letterpress build "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_string();
    let project = empty.path().join("뉴스레터");
    for file in [
        "config/newsletter.toml",
        "config/subscribers.toml",
        ".gitignore",
    ] {
        assert!(project.join(file).is_file(), "{file}");
    }
    cmd(&project).args(["build", &issue]).assert().success();
    assert!(project.join(&issue).join("build/email.html").is_file());
    cmd(&project)
        .args(["check", &issue])
        .assert()
        .success()
        .stdout(predicate::str::contains("0 errors"));
    cmd(&project)
        .args(["send", &issue, "--dry-run", "--out", "outbox"])
        .assert()
        .success();
    let eml = std::fs::read_to_string(project.join("outbox/letter@example.com.eml")).unwrap();
    assert!(
        eml.contains("\r\nTo: letter@example.com\r\n")
            || eml.contains("\r\nTo: <letter@example.com>\r\n"),
        "{eml}"
    );
    assert!(eml.contains("List-Unsubscribe: <mailto:letter@example.com?subject=unsubscribe>"));

    // serve answers /archive/ and logs the request without its query.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("letterpress"))
        .current_dir(&project)
        .env_remove("LETTERPRESS_CONFIG")
        .env(
            "LETTERPRESS_UNSUBSCRIBE_SECRET",
            "first-secret-0123456789abcdef",
        )
        .args(["serve", "--port", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = http_get(port, "/archive/?t=secret-token-value");
    assert_eq!(status, 200);
    assert_eq!(http_get(port, "/nothing/reader@example.com"), 404);
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains(" GET /archive/ 200 "), "{log}");
    assert!(log.contains(" GET /nothing/… 404 "), "{log}");
    assert!(
        !log.contains("secret-token-value") && !log.contains("reader@example.com"),
        "{log}"
    );
}

/// The status of `GET path` on 127.0.0.1:port.
fn http_get(port: u16, path: &str) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.split(' ').nth(1).unwrap().parse().unwrap()
}

#[test]
fn init_never_overwrites_and_needs_the_flags_without_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "init",
        ".",
        "--name",
        "N",
        "--from",
        "N <letter@example.com>",
    ];
    cmd(dir.path()).args(args).assert().success();
    let before = std::fs::read(dir.path().join("config/newsletter.toml")).unwrap();
    std::fs::write(dir.path().join("config/subscribers.toml"), "# mine\n").unwrap();
    cmd(dir.path()).args(args).assert().code(1).stderr(
        predicate::str::contains("config/newsletter.toml: already exists")
            .and(predicate::str::contains("nothing was written")),
    );
    assert_eq!(
        std::fs::read(dir.path().join("config/newsletter.toml")).unwrap(),
        before
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("config/subscribers.toml")).unwrap(),
        "# mine\n"
    );

    let other = tempfile::tempdir().unwrap();
    cmd(other.path())
        .args(["init", "site", "--from", "letter@example.com"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "--name is missing and there is no terminal",
        ));
    cmd(other.path())
        .args(["init", "site", "--name", "N", "--from", "not an address"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "--from: `not an address` is not a sender address",
        ));
    cmd(other.path())
        .args([
            "init",
            "site",
            "--name",
            "Quote \" and \\ backslash",
            "--from",
            "letter@example.com",
        ])
        .assert()
        .success();
    let config = std::fs::read_to_string(other.path().join("site/config/newsletter.toml")).unwrap();
    let parsed: toml::Table = toml::from_str(&config).unwrap();
    assert_eq!(
        parsed["newsletter"]["name"].as_str(),
        Some("Quote \" and \\ backslash")
    );
}

#[test]
fn completions_and_the_man_page_cover_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = cmd(dir.path())
            .args(["completions", shell])
            .assert()
            .success();
        let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        for command in ["init", "schedule", "bounces", "completions"] {
            assert!(text.contains(command), "{shell} completions lack {command}");
        }
    }
    if std::path::Path::new("/bin/bash").exists() {
        let out = cmd(dir.path())
            .args(["completions", "bash"])
            .assert()
            .success();
        std::fs::write(
            dir.path().join("letterpress.bash"),
            &out.get_output().stdout,
        )
        .unwrap();
        let check = std::process::Command::new("/bin/bash")
            .args(["-n", dir.path().join("letterpress.bash").to_str().unwrap()])
            .status()
            .unwrap();
        assert!(check.success(), "bash cannot parse the completions");
    }
    cmd(dir.path()).arg("man").assert().success().stdout(
        predicate::str::starts_with(".ie")
            .or(predicate::str::starts_with(".TH"))
            .and(predicate::str::contains("schedule"))
            .and(predicate::str::contains("bounces")),
    );
    cmd(dir.path())
        .args(["completions", "tcsh"])
        .assert()
        .code(1);
}

#[test]
fn a_sender_on_an_international_domain_gets_a_project_that_checks() {
    let empty = tempfile::tempdir().unwrap();
    let out = cmd(empty.path())
        .args([
            "init",
            "site",
            "--name",
            "Bücher",
            "--from",
            "N <n@bücher.example.com>",
        ])
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let issue = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("letterpress build "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_string();
    let project = empty.path().join("site");
    let config = std::fs::read_to_string(project.join("config/newsletter.toml")).unwrap();
    let parsed: toml::Table = toml::from_str(&config).unwrap();
    assert_eq!(
        parsed["unsubscribe"]["mailto"].as_str(),
        Some("n@xn--bcher-kva.example.com"),
        "{config}"
    );
    cmd(&project)
        .args(["check", &issue])
        .assert()
        .success()
        .stdout(predicate::str::contains("0 errors"));
    cmd(&project)
        .args(["send", &issue, "--dry-run", "--out", "outbox"])
        .env(
            "LETTERPRESS_UNSUBSCRIBE_SECRET",
            "init-test-secret-0123456789",
        )
        .assert()
        .success();
    cmd(empty.path())
        .args(["init", "other", "--name", "N", "--from", "편집@example.com"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot stand in a mailto: link"));
    assert!(!empty.path().join("other").exists());
}
