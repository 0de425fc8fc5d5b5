//! From `cargo install` to a first send: `init` in an empty folder with no
//! file from this repository, then build, check, a dry run and `serve`;
//! `init` never overwrites; completions and the man page.

use crate::support;

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

#[test]
fn a_language_name_or_country_code_is_refused_with_the_tag_meant() {
    for (written, meant) in [
        ("korean", "ko"),
        ("kr", "ko"),
        ("kor", "ko"),
        ("english", "en"),
        ("japanese", "ja"),
        ("chinese", "zh"),
        ("ko_KR!", ""),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = cmd(dir.path())
            .args([
                "init",
                "site",
                "--name",
                "N",
                "--from",
                "letter@example.com",
            ])
            .args(["--language", written])
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{written}: {stderr}");
        assert!(
            stderr.contains(&format!("--language: `{written}` is not a language tag")),
            "{stderr}"
        );
        if !meant.is_empty() {
            assert!(
                stderr.contains(&format!("did you mean \"{meant}\"?")),
                "{stderr}"
            );
        }
        assert!(!dir.path().join("site").exists(), "{written}: wrote files");
    }
    for good in ["ko", "en-GB", "zh-Hant-TW", "es-419"] {
        let dir = tempfile::tempdir().unwrap();
        cmd(dir.path())
            .args([
                "init",
                "site",
                "--name",
                "N",
                "--from",
                "letter@example.com",
            ])
            .args(["--language", good])
            .assert()
            .success();
    }
}

#[test]
fn a_korean_project_gets_korean_samples_in_seouls_zone_and_day() {
    let dir = tempfile::tempdir().unwrap();
    cmd(dir.path())
        .args([
            "init",
            "site",
            "--name",
            "작은 뉴스레터",
            "--from",
            "letter@example.com",
        ])
        .args(["--language", "ko"])
        .assert()
        .success();
    let project = dir.path().join("site");
    let config: toml::Table =
        toml::from_str(&std::fs::read_to_string(project.join("config/newsletter.toml")).unwrap())
            .unwrap();
    assert_eq!(
        config["newsletter"]["timezone"].as_str(),
        Some("Asia/Seoul")
    );
    // The folder and the date are Seoul's day, not UTC's (they differ from
    // 15:00 to 24:00 UTC). A run across Seoul's midnight may see either.
    let seoul = jiff::tz::TimeZone::get("Asia/Seoul").unwrap();
    let days: Vec<String> = (0..2)
        .map(|_| {
            jiff::Timestamp::now()
                .to_zoned(seoul.clone())
                .date()
                .to_string()
        })
        .collect();
    let issues: Vec<String> = std::fs::read_dir(project.join("issues"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(issues.len(), 1);
    let day = issues[0].strip_suffix("-first").unwrap();
    assert!(
        days.iter().any(|d| d == day),
        "{day} is not Seoul's {days:?}"
    );
    let issue = project.join("issues").join(&issues[0]);
    let issue_toml = std::fs::read_to_string(issue.join("issue.toml")).unwrap();
    assert!(
        issue_toml.contains(&format!("date      = {day}")),
        "{issue_toml}"
    );
    let intro = std::fs::read_to_string(issue.join("01-intro.md")).unwrap();
    assert!(intro.contains("안녕하세요"), "{intro}");
    assert!(std::fs::read_to_string(issue.join("03-note.md"))
        .unwrap()
        .contains("편집자"),);
    cmd(&project)
        .args(["check", &issues[0]])
        .assert()
        .success()
        .stdout(predicate::str::contains("0 errors"));
}

#[test]
fn a_bad_answer_on_a_terminal_is_asked_again() {
    if !support::require("/usr/bin/script", "init on a terminal") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let binary = assert_cmd::cargo::cargo_bin("letterpress");
    let mut child = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("'{}' init site", binary.display()),
            "/dev/null",
        ])
        .current_dir(dir.path())
        .env_remove("LETTERPRESS_CONFIG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        // A name, a sender that is no address, then one that is; a time
        // zone that does not exist, then the default (UTC).
        stdin
            .write_all(b"N\nnot an address\nN <letter@example.com>\nMars/Base\n\n")
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("`not an address` is not a sender address"),
        "{shown}"
    );
    assert!(shown.contains("`Mars/Base` is not a time zone"), "{shown}");
    assert!(
        !shown.contains("--from"),
        "names a flag never typed: {shown}"
    );
    let config = std::fs::read_to_string(dir.path().join("site/config/newsletter.toml")).unwrap();
    assert!(
        config.contains("from     = \"N <letter@example.com>\""),
        "{config}"
    );
}
