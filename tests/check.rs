//! `letterpress check`: one fixture per finding under tests/fixtures/check/.
//! Each fixture's `overlay/` replaces files of the example project; its
//! `expected.txt` lists the exact findings (file, line, level, message) the
//! check must print, and no other error may appear.

use crate::support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;

use predicates::prelude::*;
use support::Project;

fn copy_overlay(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_overlay(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn check(project: &Project, extra: &[&str]) -> (i32, String) {
    let output = project
        .cmd()
        .args(["check", "issues/example"])
        .args(extra)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

#[test]
fn every_fixture_yields_its_exact_findings() {
    let fixtures = support::repo().join("tests/fixtures/check");
    let mut cases: Vec<_> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "only {} fixtures", cases.len());
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let project = Project::example();
        copy_overlay(&case.join("overlay"), project.dir.path());
        let expected = std::fs::read_to_string(case.join("expected.txt")).unwrap();
        assert!(!expected.trim().is_empty(), "{name}: expected.txt is empty");
        let (code, out) = check(&project, &[]);
        for line in expected.lines() {
            assert!(
                out.lines().any(|l| l == line),
                "{name}: missing\n  {line}\nin\n{out}"
            );
        }
        let expected_errors = expected.lines().filter(|l| l.contains(": error: ")).count();
        let errors = out.lines().filter(|l| l.contains(": error: ")).count();
        assert_eq!(errors, expected_errors, "{name}: other errors in\n{out}");
        assert_eq!(code, i32::from(expected_errors > 0), "{name}: exit code");
    }
}

#[test]
fn the_example_has_no_error() {
    let project = Project::example();
    let (code, out) = check(&project, &[]);
    assert_eq!(code, 0, "{out}");
    insta::assert_snapshot!("check_example_human", out);
}

#[test]
fn several_findings_are_grouped_and_counted() {
    let project = Project::example();
    for case in ["http-link", "long-subject", "list-problems"] {
        copy_overlay(
            &support::repo()
                .join("tests/fixtures/check")
                .join(case)
                .join("overlay"),
            project.dir.path(),
        );
    }
    let (code, out) = check(&project, &[]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("check_grouped_human", out);
    let (_, json) = check(&project, &["--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["errors"], 1);
    assert_eq!(value["warnings"], 6);
    let first = &value["findings"][0];
    assert_eq!(first["file"], "config/newsletter.toml");
    assert_eq!(first["level"], "warning");
    assert!(value["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["file"] == "config/subscribers.toml"
            && f["line"] == 24
            && f["level"] == "error"));
}

#[test]
fn an_html_part_near_gmails_limit_is_reported() {
    let project = Project::example();
    let paragraph = "오픈AI는 이번 발표에서 가격을 내리고 성능을 올렸습니다. ".repeat(20);
    let body: String = (0..70).map(|_| format!("{paragraph}\n\n")).collect();
    project.write(
        "issues/example/07-long.md",
        format!("+++\ntitle = \"긴 글\"\n+++\n{body}"),
    );
    let (code, out) = check(&project, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("issues/example/issue.toml:1: error: the HTML part is"),
        "{out}"
    );
    assert!(out.contains("Gmail clips messages over 102 KB"), "{out}");
}

/// A one-request-at-a-time HTTP server on 127.0.0.1: /ok answers 200,
/// /gone 404, /nohead 405 to HEAD and 200 to GET.
fn http_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]);
            let mut parts = request.split_whitespace();
            let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let status = match (method, path) {
                (_, "/ok") => "200 OK",
                ("HEAD", "/nohead") => "405 Method Not Allowed",
                ("GET", "/nohead") => "200 OK",
                _ => "404 Not Found",
            };
            let _ = stream.write_all(
                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .as_bytes(),
            );
        }
    });
    port
}

#[test]
fn links_are_checked_on_request_only() {
    let port = http_server();
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let project = Project::example();
    project.write(
        "issues/example/07-links.md",
        format!(
            "+++\ntitle = \"링크\"\n+++\n- [살아 있는 링크](http://127.0.0.1:{port}/ok)\n- [사라진 링크](http://127.0.0.1:{port}/gone)\n- [HEAD를 거절하는 링크](http://127.0.0.1:{port}/nohead)\n- [닫힌 포트](http://127.0.0.1:{closed}/x)\n"
        ),
    );
    let (_, offline) = check(&project, &[]);
    assert!(
        !offline.contains("answers HTTP"),
        "links checked without --links:\n{offline}"
    );
    let (code, out) = check(&project, &["--links"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("issues/example/07-links.md:5: error: the link http://127.0.0.1:{port}/gone answers HTTP 404")), "{out}");
    assert!(out.contains(&format!("issues/example/07-links.md:7: error: the link http://127.0.0.1:{closed}/x is unreachable")), "{out}");
    assert!(
        !out.contains("/ok answers") && !out.contains("/nohead answers"),
        "{out}"
    );
}

#[test]
fn send_prints_the_findings_and_refuses_errors_unless_forced() {
    let project = Project::example();
    copy_overlay(
        &support::repo().join("tests/fixtures/check/relative-link/overlay"),
        project.dir.path(),
    );
    let send = |extra: &[&str]| {
        project
            .cmd()
            .env("LETTERPRESS_UNSUBSCRIBE_SECRET", "check-test-secret-0123")
            .args(["send", "issues/example", "--dry-run", "--out", "outbox"])
            .args(extra)
            .assert()
    };
    send(&[]).code(1).stderr(
        predicate::str::contains(
            "issues/example/05-olympus.md:8: error: the link docs/olympus.pdf is relative",
        )
        .and(predicate::str::contains("nothing was sent")),
    );
    assert!(!project.path("outbox").exists());
    send(&["--force"])
        .success()
        .stderr(predicate::str::contains("05-olympus.md:8: error:"));
}

#[test]
fn an_encoded_link_is_reported_at_its_own_line() {
    let project = Project::example();
    project.write(
        "issues/example/07-encoded.md",
        "+++\ntitle = \"미리 보기\"\n+++\n첫 줄입니다.\n\n둘째 문단: [미리 보기](&#106;avascript:alert(1)) 그리고\n[다시](javascript&#58;alert(2)).\n",
    );
    let (code, out) = check(&project, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("issues/example/07-encoded.md:6: error: the link javascript:alert(1) is not http(s) or mailto"), "{out}");
    assert!(out.contains("issues/example/07-encoded.md:7: error: the link javascript:alert(2) is not http(s) or mailto"), "{out}");
}

#[test]
fn a_link_with_a_quote_in_it_is_found_in_the_plain_text() {
    let project = Project::example();
    project.write(
        "issues/example/07-quote.md",
        "+++\ntitle = \"검색\"\n+++\n[검색 결과 보기](https://example.com/search?q=\"ai\"&lang='ko')\n",
    );
    let (code, out) = check(&project, &[]);
    assert!(!out.contains("lacks the link"), "{out}");
    assert_eq!(code, 0, "{out}");
}

#[test]
fn an_input_file_over_the_limit_is_refused_with_its_name_size_and_limit() {
    let limit = 1024 * 1024;
    let project = Project::example();
    // Just over the limit, and still a valid section.
    let head = "+++\ntitle = \"긴 글\"\n+++\n";
    let body = "가".repeat((limit - head.len()) / 3 + 1);
    project.write("issues/example/07-long.md", format!("{head}{body}"));
    let run = |args: &[&str]| {
        let out = project.cmd().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        String::from_utf8(out.stderr).unwrap() + &String::from_utf8(out.stdout).unwrap()
    };
    let said = run(&["check", "issues/example"]);
    assert!(
        said.contains("issues/example/07-long.md:1: error: the file is 1.0 MiB (1048577 bytes), more than the 1 MiB letterpress reads of such a file"),
        "{said}"
    );
    let said = run(&["build", "issues/example"]);
    assert!(
        said.contains("07-long.md:1: error: the file is 1.0 MiB"),
        "{said}"
    );
    std::fs::remove_file(project.path("issues/example/07-long.md")).unwrap();

    let config = project.read("config/newsletter.toml");
    let padding = "#".repeat(limit + 1 - config.len());
    project.write("config/newsletter.toml", format!("{config}{padding}"));
    let said = run(&["check", "issues/example"]);
    assert!(
        said.contains("config/newsletter.toml:1: error: the file is 1.0 MiB (1048577 bytes), more than the 1 MiB"),
        "{said}"
    );
    project.write("config/newsletter.toml", config);

    let image_limit = 10 * 1024 * 1024;
    project.write("issues/example/big.png", vec![0u8; image_limit + 1]);
    project.write(
        "issues/example/07-image.md",
        "+++\ntitle = \"그림\"\n+++\n첫 줄.\n\n![큰 그림](big.png)\n",
    );
    let said = run(&["check", "issues/example"]);
    assert!(
        said.contains("07-image.md:6:") && said.contains("the image `big.png`: the file is 10.0 MiB (10485761 bytes), more than the 10 MiB letterpress reads of such a file"),
        "{said}"
    );
}

#[test]
fn control_characters_that_would_reach_a_page_or_the_feed_are_errors_at_their_line() {
    let project = Project::example();
    project.write(
        "issues/example/07-control.md",
        "+++\ntitle = \"제목\\u0001\"\nlink_text = \"fine\\tword\"\n+++\n첫 줄.\n\n둘째\u{7}줄, 탭\t은 괜찮습니다.\n",
    );
    let (code, out) = check(&project, &[]);
    assert_eq!(code, 1, "{out}");
    for line in [2, 7] {
        assert!(
            out.contains(&format!(
                "issues/example/07-control.md:{line}: error: the text holds the control character"
            )),
            "line {line}:\n{out}"
        );
    }
    assert!(!out.contains("07-control.md:3:"), "a tab is text:\n{out}");
}

#[test]
fn typos_in_three_files_are_all_reported_in_one_run() {
    let project = Project::example();
    project
        .edit(
            "config/newsletter.toml",
            "postal_address =",
            "postal_adress =",
        )
        .edit(
            "issues/example/issue.toml",
            "toc       = true",
            "tco = true",
        )
        .edit(
            "config/newsletter.toml",
            "concurrency     = 4",
            "concurrency = 0",
        )
        .edit(
            "issues/example/issue.toml",
            "number    = 48",
            "number = \"x\"",
        )
        .edit("issues/example/02-openai.md", "link_text =", "link_txt =");
    let (code, out) = check(&project, &[]);
    assert_eq!(code, 1, "{out}");
    for line in [
        "config/newsletter.toml:11: error: unknown field `postal_adress`; did you mean `postal_address`?",
        "config/newsletter.toml:34: error: `sending.concurrency`: 0 is out of range",
        "issues/example/issue.toml:4: error: invalid type: string \"x\", expected u32",
        "issues/example/issue.toml:5: error: unknown field `tco`; did you mean `toc`?",
        "issues/example/02-openai.md:4: error: unknown field `link_txt`; did you mean `link_text`?",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(line)),
            "missing\n  {line}\nin\n{out}"
        );
    }
}

#[test]
fn every_unknown_key_of_one_front_matter_is_reported_with_its_nearest_key() {
    let project = Project::example();
    project
        .edit("issues/example/02-openai.md", "link_text =", "link_txt =")
        .edit("issues/example/02-openai.md", "image_alt =", "imgae_alt =")
        .edit("issues/example/05-olympus.md", "link_text =", "linktext =");
    let (code, out) = check(&project, &[]);
    assert_eq!(code, 1, "{out}");
    for line in [
        "issues/example/02-openai.md:4: error: unknown field `link_txt`; did you mean `link_text`?",
        "issues/example/02-openai.md:6: error: unknown field `imgae_alt`; did you mean `image_alt`?",
        "issues/example/05-olympus.md:4: error: unknown field `linktext`; did you mean `link_text`?",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(line)),
            "missing\n  {line}\nin\n{out}"
        );
    }
    assert!(out.contains("`attribution`"), "the known keys: {out}");
}

#[test]
fn web_url_without_base_url_is_reported_at_the_line_that_uses_it() {
    let project = Project::example();
    project.edit(
        "config/newsletter.toml",
        "base_url       = \"https://news.example.com\"\n",
        "",
    );
    project.edit(
        "config/newsletter.toml",
        "[preferences]\nurl = \"https://news.example.com/preferences\"\n",
        "",
    );
    let note = project.read("issues/example/06-note.md");
    project.write(
        "issues/example/06-note.md",
        format!("{note}\n[Your settings]({{{{ preferences_url }}}})\n"),
    );
    let line = note.lines().count() + 2;
    let (code, out) = check(&project, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.lines().any(|l| l.starts_with(&format!(
            "issues/example/06-note.md:{line}: error: {{{{ preferences_url }}}} needs [preferences] url"
        ))),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.starts_with(
            "issues/example/06-note.md:5: error: {{ web_url }} needs [newsletter] base_url"
        )),
        "{out}"
    );
    assert!(
        !out.lines()
            .any(|l| l.starts_with("config/newsletter.toml:1: error:")),
        "{out}"
    );
}

#[test]
fn an_issue_that_does_not_load_still_lets_the_list_and_config_be_checked() {
    let project = Project::example();
    copy_overlay(
        &support::repo().join("tests/fixtures/check/list-problems/overlay"),
        project.dir.path(),
    );
    project.edit("issues/example/02-openai.md", "link_text =", "link_txt =");
    let (code, out) = check(&project, &[]);
    assert_eq!(code, 1, "{out}");
    let expected = std::fs::read_to_string(
        support::repo().join("tests/fixtures/check/list-problems/expected.txt"),
    )
    .unwrap();
    for line in expected.lines() {
        assert!(
            out.lines().any(|l| l == line),
            "missing\n  {line}\nin\n{out}"
        );
    }
    assert!(
        out.contains("issues/example/02-openai.md:4: error: unknown field `link_txt`"),
        "{out}"
    );
}

#[test]
fn a_link_whose_text_is_a_long_address_is_a_warning_at_its_line() {
    let project = Project::example();
    project.write(
        "issues/example/07-links.md",
        "+++\ntitle = \"Links\"\n+++\nShort: <https://example.com/a>.\n\n\
         Long: [https://example.com/articles/2026/12/a-very-long-address-as-its-own-text](https://example.com/articles/2026/12/a-very-long-address-as-its-own-text)\n\n\
         Named: [the essay](https://example.com/articles/2026/12/a-very-long-address-as-its-own-text)\n",
    );
    let (_, out) = check(&project, &[]);
    let found: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("07-links.md") && l.contains("the address itself"))
        .collect();
    assert_eq!(found.len(), 1, "{out}");
    assert!(
        found[0].starts_with("issues/example/07-links.md:6: warning:"),
        "{out}"
    );
}

/// `[[dkim]]` tables to the example's config, one per (selector,
/// algorithm, key file).
fn dkim_tables(project: &Project, tables: &[(&str, &str, &str)]) {
    let mut config = project.read("config/newsletter.toml");
    for (selector, algorithm, key) in tables {
        config.push_str(&format!("\n[[dkim]]\ndomain = \"example.com\"\nselector = \"{selector}\"\nprivate_key_file = \"{key}\"\nalgorithm = \"{algorithm}\"\n"));
    }
    project.write("config/newsletter.toml", config);
}

fn chmod(project: &Project, file: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(project.path(file), std::fs::Permissions::from_mode(mode)).unwrap();
}

const ED25519_SEED: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";

/// A DKIM key others can read is a warning naming the file and how to fix
/// it; a key only its owner reads is not.
#[test]
fn a_dkim_key_readable_by_others_is_a_warning() {
    let project = Project::example();
    project.write("config/dkim.key", ED25519_SEED);
    dkim_tables(&project, &[("ed2026", "ed25519", "dkim.key")]);
    chmod(&project, "config/dkim.key", 0o644);
    let (_, out) = check(&project, &[]);
    assert!(
        out.contains("config/dkim.key: the DKIM private key is readable by others (mode 644)")
            && out.contains("chmod 600 config/dkim.key"),
        "{out}"
    );
    chmod(&project, "config/dkim.key", 0o600);
    let (_, out) = check(&project, &[]);
    assert!(!out.contains("readable by others"), "{out}");
}

/// `check` says which receivers verify which signature: Ed25519 alone is
/// not verified by Gmail, Yahoo or Outlook.com; beside RSA it is fine.
#[test]
fn an_ed25519_signature_alone_is_a_warning_that_names_the_receivers() {
    let project = Project::example();
    project.write("config/dkim.key", ED25519_SEED);
    chmod(&project, "config/dkim.key", 0o600);
    dkim_tables(&project, &[("ed2026", "ed25519", "dkim.key")]);
    let (_, out) = check(&project, &[]);
    assert!(
        out.contains("only an Ed25519 DKIM signature: Gmail, Yahoo and Outlook.com do not verify"),
        "{out}"
    );
    if !support::require("/usr/bin/openssl", "apt-get install -y openssl") {
        return;
    }
    let key = project.path("config/rsa.key");
    let status = std::process::Command::new("/usr/bin/openssl")
        .args(["genrsa", "-out", key.to_str().unwrap(), "2048"])
        .output()
        .unwrap()
        .status;
    assert!(status.success());
    chmod(&project, "config/rsa.key", 0o600);
    dkim_tables(&project, &[("rsa2026", "rsa", "rsa.key")]);
    let (code, out) = check(&project, &[]);
    assert!(!out.contains("Ed25519"), "{out}");
    assert!(!out.contains("DKIM"), "{out}");
    assert_eq!(code, 0, "{out}");
}

/// Every `[[dkim]]` key is checked against its algorithm, each error at
/// its own table and naming its file.
#[test]
fn each_dkim_key_is_checked_against_its_algorithm() {
    let project = Project::example();
    project.write("config/rsa.key", ED25519_SEED);
    project.write("config/ed.key", "-----BEGIN PRIVATE KEY-----\nMIIE\n");
    chmod(&project, "config/rsa.key", 0o600);
    chmod(&project, "config/ed.key", 0o600);
    let before = project.read("config/newsletter.toml").lines().count();
    dkim_tables(
        &project,
        &[
            ("rsa2026", "rsa", "rsa.key"),
            ("ed2026", "ed25519", "ed.key"),
        ],
    );
    let (code, out) = check(&project, &[]);
    assert_eq!(code, 1, "{out}");
    let rsa_line = before + 2;
    let ed_line = before + 8;
    assert!(
        out.contains(&format!("config/newsletter.toml:{rsa_line}: error: config/rsa.key: not an RSA DKIM private key (private_key_file of the [[dkim]] table with selector = \"rsa2026\")")),
        "{out}"
    );
    assert!(
        out.contains(&format!("config/newsletter.toml:{ed_line}: error: config/ed.key: not an Ed25519 DKIM private key (private_key_file of the [[dkim]] table with selector = \"ed2026\")")),
        "{out}"
    );
    assert_eq!(out.matches("DKIM private key").count(), 2, "{out}");
}
