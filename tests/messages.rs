//! The messages of a send, written by `send --dry-run` and `build`, parsed
//! back with an independent MIME parser (mail-parser).

use crate::support;

use crate::rigs;

use std::collections::HashSet;
use std::net::TcpListener;
use std::path::PathBuf;

use mail_parser::{MessageParser, MimeHeaders};
use predicates::prelude::*;
use support::Project;

const SECRET: &str = "a-test-secret-that-never-leaks";

fn dry_run(project: &Project, extra: &[&str]) -> assert_cmd::assert::Assert {
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["send", "issues/example", "--dry-run", "--out", "outbox"])
        .args(extra)
        .assert()
}

fn read_eml(project: &Project, address: &str) -> Vec<u8> {
    std::fs::read(project.path(&format!("outbox/{address}.eml"))).unwrap()
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

#[test]
fn writes_one_message_per_reader_the_send_would_reach() {
    let project = Project::example();
    dry_run(&project, &[]).success().stdout(
        predicate::str::contains("wrote 3 messages")
            .and(predicate::str::contains("1 unsubscribed")),
    );
    assert_eq!(
        outbox(&project),
        [
            "jane.doe@example.org.eml",
            "park@example.net.eml",
            "reader@example.com.eml"
        ]
    );
}

#[test]
fn message_structure_headers_and_korean_decode() {
    let project = Project::example();
    dry_run(&project, &[]).success();
    let bytes = read_eml(&project, "reader@example.com");
    let message = MessageParser::default().parse(&bytes).unwrap();

    assert_eq!(
        message.subject(),
        Some("위기의 AI스타트업... Why를 기억하라")
    );
    let from = message.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some("뷰스레터플러스"));
    assert_eq!(from.address(), Some("letter@example.com"));
    let to = message.to().unwrap().first().unwrap();
    assert_eq!(
        (to.name(), to.address()),
        (Some("김독자"), Some("reader@example.com"))
    );
    assert_eq!(
        message.reply_to().unwrap().first().unwrap().address(),
        Some("editor@example.com")
    );
    assert!(message.date().is_some());
    assert_eq!(
        message.header_raw("MIME-Version").map(str::trim),
        Some("1.0")
    );
    assert_eq!(
        message.header_raw("List-Id").map(str::trim),
        Some("<weekly.news.example.com>")
    );

    // multipart/alternative: text/plain first, then text/html, both base64 UTF-8.
    let root = message.content_type().unwrap();
    assert_eq!(
        (root.ctype(), root.subtype()),
        ("multipart", Some("alternative"))
    );
    let text = message.part(1).unwrap();
    let html = message.part(2).unwrap();
    assert_eq!(text.content_type().unwrap().subtype(), Some("plain"));
    assert_eq!(html.content_type().unwrap().subtype(), Some("html"));
    for part in [text, html] {
        assert_eq!(part.content_transfer_encoding(), Some("base64"));
        assert_eq!(
            part.content_type().unwrap().attribute("charset"),
            Some("utf-8")
        );
    }
    assert!(message
        .body_text(0)
        .unwrap()
        .contains("안녕하세요, 김독자님."));
    assert!(message
        .body_html(0)
        .unwrap()
        .contains("안녕하세요, 김독자님."));

    // Raw form: CRLF only, no line over 998 octets, headers once each.
    let raw = String::from_utf8(bytes.clone()).unwrap();
    assert!(!raw.replace("\r\n", "").contains('\n'), "bare LF");
    assert!(raw.split("\r\n").all(|l| l.len() <= 998));
    let head = &raw[..raw.find("\r\n\r\n").unwrap()];
    for name in ["From", "To", "Subject", "Date", "Message-ID"] {
        let count = head
            .split("\r\n")
            .filter(|l| l.starts_with(&format!("{name}:")))
            .count();
        assert_eq!(count, 1, "{name} appears {count} times");
    }
    assert!(!raw.contains(SECRET), "the secret leaked into a message");
}

#[test]
fn list_unsubscribe_is_one_click_with_a_reader_token() {
    let project = Project::example();
    dry_run(&project, &[]).success();
    let mut tokens = HashSet::new();
    for address in [
        "reader@example.com",
        "jane.doe@example.org",
        "park@example.net",
    ] {
        let bytes = read_eml(&project, address);
        let raw = String::from_utf8(bytes.clone()).unwrap();
        let line = raw
            .lines()
            .find(|l| l.starts_with("List-Unsubscribe: "))
            .unwrap();
        let token = letterpress::token(SECRET.as_bytes(), address);
        let encoded = address.replace('@', "%40");
        assert_eq!(
            line,
            format!("List-Unsubscribe: <https://news.example.com/unsubscribe?e={encoded}&t={token}&i=example>, <mailto:unsubscribe@example.com?subject=unsubscribe>"),
            "not one unencoded line"
        );
        assert!(raw.contains("\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
        assert!(letterpress::verify(SECRET.as_bytes(), address, &token));
        tokens.insert(token);
        let message = MessageParser::default().parse(&bytes).unwrap();
        let html = message.body_html(0).unwrap();
        assert!(
            html.contains(&format!("unsubscribe?e={encoded}&amp;t=")),
            "visible unsubscribe link"
        );
    }
    assert_eq!(tokens.len(), 3);
}

#[test]
fn message_ids_are_unique_on_the_sender_domain_and_stable_per_reader() {
    let project = Project::example();
    dry_run(&project, &[]).success();
    let ids = |project: &Project| -> Vec<String> {
        outbox(project)
            .iter()
            .map(|f| {
                let bytes = std::fs::read(project.path(&format!("outbox/{f}"))).unwrap();
                let raw = String::from_utf8(bytes).unwrap();
                raw.lines().find(|l| l.starts_with("Message-ID: ")).unwrap()[12..].to_string()
            })
            .collect()
    };
    let first = ids(&project);
    assert_eq!(first.iter().collect::<HashSet<_>>().len(), 3);
    for id in &first {
        assert!(id.starts_with('<') && id.ends_with("@example.com>"), "{id}");
        assert!(!id.contains("localhost"));
    }
    dry_run(&project, &[]).success();
    assert_eq!(
        ids(&project),
        first,
        "a resent copy must carry the same Message-ID"
    );
}

#[test]
fn test_sends_get_fresh_message_ids() {
    let project = Project::example();
    let id = |project: &Project| {
        let raw = String::from_utf8(read_eml(project, "qa@example.net")).unwrap();
        raw.lines()
            .find(|l| l.starts_with("Message-ID: "))
            .unwrap()
            .to_string()
    };
    dry_run(&project, &["--to", "qa@example.net"])
        .success()
        .stdout(predicate::str::contains("wrote 1 message "));
    let first = id(&project);
    dry_run(&project, &["--to", "qa@example.net"]).success();
    assert_ne!(first, id(&project));
}

#[test]
fn names_with_specials_are_quoted_in_headers_and_escaped_in_html() {
    let project = Project::example();
    project.edit(
        "config/subscribers.toml",
        "name   = \"김독자\"",
        "name   = \"O'Brien, \\\"Kim\\\" <test>\"",
    );
    dry_run(&project, &[]).success();
    let bytes = read_eml(&project, "reader@example.com");
    let message = MessageParser::default().parse(&bytes).unwrap();
    let to = message.to().unwrap();
    assert_eq!(
        to.iter().count(),
        1,
        "the name split into several addresses"
    );
    let to = to.first().unwrap();
    assert_eq!(to.name(), Some("O'Brien, \"Kim\" <test>"));
    assert_eq!(to.address(), Some("reader@example.com"));
    let html = message.body_html(0).unwrap();
    assert!(html.contains("O&#39;Brien, &quot;Kim&quot; &lt;test&gt;님"));
}

#[test]
fn header_injection_through_the_list_is_refused() {
    let project = Project::example();
    project.edit(
        "config/subscribers.toml",
        "name   = \"Jane Doe\"",
        "name   = \"Jane\\r\\nBcc: victim@example.net\"",
    );
    dry_run(&project, &[]).code(1).stderr(
        predicate::str::contains("config/subscribers.toml:9: error:")
            .and(predicate::str::contains("line break")),
    );
    assert!(outbox(&project).is_empty(), "something was written");
    dry_run(&project, &["--skip-invalid"])
        .success()
        .stderr(predicate::str::contains(
            "config/subscribers.toml:9: skipped:",
        ));
    assert_eq!(outbox(&project).len(), 2);
    for file in outbox(&project) {
        let raw = std::fs::read_to_string(project.path(&format!("outbox/{file}"))).unwrap();
        assert!(!raw.to_lowercase().contains("bcc:"), "{file}");
    }
}

#[test]
fn header_injection_through_content_and_config_is_refused() {
    let project = Project::example();
    project.edit(
        "issues/example/issue.toml",
        "Why를 기억하라\"",
        "Why를 기억하라\\r\\nBcc: victim@example.net\"",
    );
    dry_run(&project, &[])
        .code(1)
        .stderr(predicate::str::contains(
            "issues/example/issue.toml:1:13: error: the subject contains a line break",
        ));

    let project = Project::example();
    project.edit(
        "config/newsletter.toml",
        "list_id        = \"weekly.news.example.com\"",
        "list_id = \"weekly\\nBcc: victim@example.net\"",
    );
    dry_run(&project, &[])
        .code(1)
        .stderr(predicate::str::contains("List-Id header"));

    let project = Project::example();
    project.edit(
        "config/newsletter.toml",
        "from           = \"뷰스레터플러스 <letter@example.com>\"",
        "from = \"x <letter@example.com>\\r\\nBcc: v@example.net\"",
    );
    dry_run(&project, &[])
        .code(1)
        .stderr(predicate::str::contains("`from`"));
    assert!(outbox(&project).is_empty());
}

#[test]
fn invalid_addresses_stop_the_send_and_are_all_named() {
    let project = Project::example();
    let list = project.read("config/subscribers.toml");
    project.write(
        "config/subscribers.toml",
        format!("{list}\n[[subscriber]]\nemail = \"not-an-address\"\n\n[[subscriber]]\nemail = \"two@@example.com\"\n"),
    );
    dry_run(&project, &[]).code(1).stderr(
        predicate::str::contains(
            "config/subscribers.toml:24: error: `not-an-address` is not a valid email address",
        )
        .and(predicate::str::contains(
            "config/subscribers.toml:27: error: `two@@example.com`",
        ))
        .and(predicate::str::contains("--skip-invalid")),
    );
    assert!(outbox(&project).is_empty());
}

#[test]
fn duplicates_are_reported_and_sent_once() {
    let project = Project::example();
    let list = project.read("config/subscribers.toml");
    project.write(
        "config/subscribers.toml",
        format!("{list}\n[[subscriber]]\nemail = \"Reader@Example.COM\"\ntags = [\"weekly\"]\n"),
    );
    dry_run(&project, &[])
        .success()
        .stderr(predicate::str::contains(
        "config/subscribers.toml:24: warning: `Reader@Example.COM` duplicates the entry on line 4",
    ));
    assert_eq!(outbox(&project).len(), 3);
}

#[test]
fn tag_limit_and_audience_select_readers() {
    let project = Project::example();
    dry_run(&project, &["--tag", "english"]).success();
    assert_eq!(outbox(&project), ["jane.doe@example.org.eml"]);
    let project = Project::example();
    dry_run(&project, &["--limit", "2"]).success();
    assert_eq!(outbox(&project).len(), 2);
    let project = Project::example();
    project.edit(
        "issues/example/issue.toml",
        "audience  = [\"weekly\"]",
        "audience  = [\"monthly\"]",
    );
    dry_run(&project, &[]).code(1).stderr(
        predicate::str::contains("issues/example/issue.toml:6: error: no reader in config/subscribers.toml carries the audience tag `monthly`")
            .and(predicate::str::contains("nothing was sent")),
    );
    dry_run(&project, &["--force"])
        .code(1)
        .stderr(predicate::str::contains("no reader receives this issue"));
}

#[test]
fn dry_run_opens_no_connection_and_needs_the_secret() {
    let project = Project::example();
    // A listener that would see any connection attempt on the configured port.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    project.edit(
        "config/newsletter.toml",
        "port         = 2525",
        &format!("port         = {port}"),
    );
    dry_run(&project, &[]).success();
    assert_eq!(outbox(&project).len(), 3);
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the dry run connected to the relay: {other:?}"),
    }
    project
        .cmd()
        .args(["send", "issues/example", "--dry-run", "--out", "outbox2"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("LETTERPRESS_UNSUBSCRIBE_SECRET"));
}

#[test]
fn advertising_prefixes_the_korean_subject() {
    let project = Project::example();
    project.edit(
        "issues/example/issue.toml",
        "toc       = true",
        "toc       = true\nadvertising = true",
    );
    dry_run(&project, &[]).success();
    let bytes = read_eml(&project, "park@example.net");
    let message = MessageParser::default().parse(&bytes).unwrap();
    assert_eq!(
        message.subject(),
        Some("(광고) 위기의 AI스타트업... Why를 기억하라")
    );
}

#[test]
fn local_images_travel_inline_as_related_parts() {
    let project = Project::example();
    // A 1×1 PNG already as small as it gets: sent as it is.
    let png: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
        0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8,
        0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00,
        0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    project.write("issues/example/img/chart.png", png);
    project.edit(
        "issues/example/05-olympus.md",
        "`Olympus`가",
        "![올림푸스 매개변수 비교 차트](img/chart.png)\n\n`Olympus`가",
    );
    dry_run(&project, &[]).success();
    let bytes = read_eml(&project, "reader@example.com");
    let message = MessageParser::default().parse(&bytes).unwrap();
    let related = message.part(2).unwrap();
    assert_eq!(related.content_type().unwrap().subtype(), Some("related"));
    let html = message.body_html(0).unwrap();
    let image = message.part(4).unwrap();
    assert_eq!(image.content_type().unwrap().subtype(), Some("png"));
    let cid = image.content_id().unwrap();
    assert!(
        html.contains(&format!("src=\"cid:{cid}\"")),
        "html does not refer to {cid}"
    );
    assert_eq!(image.contents(), png);
    // A client that lists the parts shows the file's name, not "no name".
    assert_eq!(image.attachment_name(), Some("chart.png"));
    assert!(image
        .content_disposition()
        .is_some_and(|d| d.ctype() == "inline"));

    // build copies the image next to email.html, which refers to it by path.
    project
        .cmd()
        .args(["build", "issues/example", "--out", "out"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read(project.path("out/img/chart.png")).unwrap(),
        png
    );
    assert!(project
        .read("out/email.html")
        .contains("src=\"img/chart.png\""));
}

#[test]
fn image_outside_the_issue_is_refused_with_its_line() {
    let project = Project::example();
    project.edit(
        "issues/example/05-olympus.md",
        "`Olympus`가",
        "![secret](../../config/newsletter.toml)\n\n`Olympus`가",
    );
    project
        .cmd()
        .args(["build", "issues/example"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("05-olympus.md:8:")
                .and(predicate::str::contains("outside the issue folder")),
        );
}

#[test]
fn dkim_signature_covers_the_unsubscribe_headers() {
    let project = Project::example();
    // An Ed25519 key is the base64 of a 32-byte seed.
    project.write(
        "config/dkim.key",
        "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=\n",
    );
    let config = project.read("config/newsletter.toml");
    project.write(
        "config/newsletter.toml",
        format!("{config}\n[dkim]\ndomain = \"example.com\"\nselector = \"lp2026\"\nprivate_key_file = \"dkim.key\"\nalgorithm = \"ed25519\"\n"),
    );
    dry_run(&project, &[]).success();
    let raw = String::from_utf8(read_eml(&project, "reader@example.com")).unwrap();
    let head = &raw[..raw.find("\r\n\r\n").unwrap()];
    let signature: String = head
        .split("\r\n")
        .skip_while(|l| !l.starts_with("DKIM-Signature:"))
        .take_while(|l| l.starts_with("DKIM-Signature:") || l.starts_with([' ', '\t']))
        .collect();
    assert!(signature.contains("a=ed25519-sha256"), "{signature}");
    assert!(
        signature.contains("d=example.com") && signature.contains("s=lp2026"),
        "{signature}"
    );
    assert!(signature.contains("c=relaxed/relaxed"), "{signature}");
    let h = signature
        .split("h=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_lowercase();
    for name in [
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "list-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "reply-to",
    ] {
        assert!(
            h.split(':').any(|n| n.trim() == name),
            "{name} not signed: {h}"
        );
    }

    project.write("config/dkim.key", "not a key");
    dry_run(&project, &[])
        .code(1)
        .stderr(predicate::str::contains(
            "config/dkim.key: not an Ed25519 DKIM private key ([dkim] private_key_file)",
        ));
}

/// Verifies a message's DKIM signature with dkimpy (Debian's python3-dkim),
/// answering its DNS query with `record`.
const VERIFY: &str = r#"
import sys, dkim
message = open(sys.argv[1], 'rb').read()
record = open(sys.argv[2], 'rb').read()
ok = dkim.verify(message, dnsfunc=lambda name, timeout=5: record)
print('dkim verify:', ok)
sys.exit(0 if ok else 1)
"#;

fn dkim_config(project: &Project, algorithm: &str) {
    let config = project.read("config/newsletter.toml");
    project.write(
        "config/newsletter.toml",
        format!("{config}\n[dkim]\ndomain = \"example.com\"\nselector = \"lp2026\"\nprivate_key_file = \"dkim.key\"\nalgorithm = \"{algorithm}\"\n"),
    );
}

fn assert_verifies(project: &Project, record: &str) {
    project.write("record.txt", record);
    project.write("verify.py", VERIFY);
    for address in ["reader@example.com", "jane.doe@example.org"] {
        let output = std::process::Command::new("/usr/bin/python3")
            .arg(project.path("verify.py"))
            .arg(project.path(&format!("outbox/{address}.eml")))
            .arg(project.path("record.txt"))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "the DKIM signature of {address} does not verify: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn have_dkimpy() -> bool {
    let found = support::require(
        "/usr/bin/python3",
        "apt-get install -y python3 python3-dkim python3-nacl",
    ) && std::process::Command::new("/usr/bin/python3")
        .args(["-c", "import dkim, nacl"])
        .status()
        .is_ok_and(|s| s.success());
    if !found && std::env::var_os("CI").is_some() {
        panic!("python3-dkim and python3-nacl are missing and CI is set");
    }
    if !found {
        eprintln!("skipping: python3-dkim or python3-nacl is not installed");
    }
    found
}

#[test]
fn rsa_dkim_signatures_verify_independently() {
    if !have_dkimpy() || !support::require("/usr/bin/openssl", "apt-get install -y openssl") {
        return;
    }
    let project = Project::example();
    let public = rsa_key(&project);
    dkim_config(&project, "rsa");
    dry_run(&project, &[]).success();
    let record = format!("v=DKIM1; k=rsa; p={public}");
    assert_verifies(&project, &record);
    // The signature covers the MIME headers too: a changed Content-Type (a
    // swapped boundary or charset in transit) breaks it.
    let eml = project.path("outbox/reader@example.com.eml");
    let raw = std::fs::read_to_string(&eml).unwrap();
    let tampered = raw.replacen(
        "Content-Type: multipart/alternative;",
        "Content-Type: multipart/mixed;",
        1,
    );
    assert_ne!(raw, tampered);
    std::fs::write(&eml, tampered).unwrap();
    let output = std::process::Command::new("/usr/bin/python3")
        .arg(project.path("verify.py"))
        .arg(&eml)
        .arg(project.path("record.txt"))
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "a changed Content-Type still verifies"
    );
}

#[test]
fn ed25519_dkim_signatures_verify_independently() {
    if !have_dkimpy() {
        return;
    }
    let project = Project::example();
    let seed = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
    project.write("config/dkim.key", seed);
    project.edit(
        "config/newsletter.toml",
        "list_id        = \"weekly.news.example.com\"",
        "list_id        = \"weekly.news.example.com\"\nfeedback_id    = \"48:weekly:letterpress:news\"",
    );
    dkim_config(&project, "ed25519");
    dry_run(&project, &[]).success();
    let output = std::process::Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import base64, sys, nacl.signing; print(base64.b64encode(bytes(nacl.signing.SigningKey(base64.b64decode(sys.argv[1])).verify_key)).decode())",
            seed,
        ])
        .output()
        .unwrap();
    let p = String::from_utf8(output.stdout).unwrap();
    assert_verifies(&project, &format!("v=DKIM1; k=ed25519; p={}", p.trim()));
    let raw = String::from_utf8(read_eml(&project, "reader@example.com")).unwrap();
    assert!(raw.contains("\r\nFeedback-ID: 48:weekly:letterpress:news\r\n"));
}

/// Verifies every DKIM signature of a message with dkimpy, each against
/// the record of its selector (`records.json`: selector -> record); fails
/// unless there are exactly `argv[3]` signatures and each verifies.
const VERIFY_EACH: &str = r#"
import sys, json, dkim
message = open(sys.argv[1], 'rb').read()
records = json.load(open(sys.argv[2]))
def dns(name, timeout=5):
    return records[name.decode().split('.')[0]].encode()
d = dkim.DKIM(message)
count = sum(1 for name, _ in d.headers if name.lower() == b'dkim-signature')
results = [d.verify(idx=i, dnsfunc=dns) for i in range(count)]
print('signatures:', count, 'verified:', results)
sys.exit(0 if count == int(sys.argv[3]) and all(results) else 1)
"#;

/// `[[dkim]]` tables, one per (selector, algorithm, key file).
fn dkim_tables(project: &Project, tables: &[(&str, &str, &str)]) {
    let mut config = project.read("config/newsletter.toml");
    for (selector, algorithm, key) in tables {
        config.push_str(&format!("\n[[dkim]]\ndomain = \"example.com\"\nselector = \"{selector}\"\nprivate_key_file = \"{key}\"\nalgorithm = \"{algorithm}\"\n"));
    }
    project.write("config/newsletter.toml", config);
}

const ED25519_SEED: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";

/// The DKIM record of the Ed25519 key [`ED25519_SEED`].
fn ed25519_record() -> String {
    let output = std::process::Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import base64, sys, nacl.signing; print(base64.b64encode(bytes(nacl.signing.SigningKey(base64.b64decode(sys.argv[1])).verify_key)).decode())",
            ED25519_SEED,
        ])
        .output()
        .unwrap();
    format!(
        "v=DKIM1; k=ed25519; p={}",
        String::from_utf8(output.stdout).unwrap().trim()
    )
}

/// Writes the records and the verifier; asserts every file's `count`
/// signatures verify.
fn assert_each_verifies(
    project: &Project,
    records: &[(&str, String)],
    files: &[PathBuf],
    count: usize,
) {
    let json: Vec<String> = records
        .iter()
        .map(|(selector, record)| format!("{selector:?}: {record:?}"))
        .collect();
    project.write("records.json", format!("{{{}}}", json.join(", ")));
    project.write("verify_each.py", VERIFY_EACH);
    for file in files {
        let output = std::process::Command::new("/usr/bin/python3")
            .arg(project.path("verify_each.py"))
            .arg(file)
            .arg(project.path("records.json"))
            .arg(count.to_string())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "the DKIM signatures of {} do not all verify: {}{}",
            file.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// `[[dkim]]` tables sign each message once per table: RSA and Ed25519
/// side by side (RFC 8463), each verified by dkimpy against its record.
#[test]
fn rsa_and_ed25519_signatures_side_by_side_each_verify() {
    if !have_dkimpy() || !support::require("/usr/bin/openssl", "apt-get install -y openssl") {
        return;
    }
    let project = Project::example();
    let public = rsa_key(&project);
    project.write("config/ed25519.key", ED25519_SEED);
    dkim_tables(
        &project,
        &[
            ("rsa2026", "rsa", "dkim.key"),
            ("ed2026", "ed25519", "ed25519.key"),
        ],
    );
    dry_run(&project, &[]).success();
    let raw = String::from_utf8(read_eml(&project, "reader@example.com")).unwrap();
    let rsa = raw.find("a=rsa-sha256").unwrap();
    let ed = raw.find("a=ed25519-sha256").unwrap();
    assert!(rsa < ed, "the first table's signature is not on top");
    let files: Vec<PathBuf> = ["reader@example.com", "jane.doe@example.org"]
        .iter()
        .map(|a| project.path(&format!("outbox/{a}.eml")))
        .collect();
    assert_each_verifies(
        &project,
        &[
            ("rsa2026", format!("v=DKIM1; k=rsa; p={public}")),
            ("ed2026", ed25519_record()),
        ],
        &files,
        2,
    );
}

/// An RSA key in PKCS#8 PEM (BEGIN PRIVATE KEY, what `openssl genpkey`
/// writes) signs as a PKCS#1 one does, and so does an Ed25519 key in
/// PKCS#8 PEM.
#[test]
fn pkcs8_dkim_keys_sign_like_pkcs1_and_seeds() {
    if !have_dkimpy() || !support::require("/usr/bin/openssl", "apt-get install -y openssl") {
        return;
    }
    let project = Project::example();
    let key = project.path("config/dkim.key");
    let openssl = |args: &[&str]| {
        let output = std::process::Command::new("/usr/bin/openssl")
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    };
    let key_path = key.to_str().unwrap();
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        key_path,
    ]);
    assert!(project
        .read("config/dkim.key")
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    let public = base64_encode(&openssl(&[
        "pkey", "-in", key_path, "-pubout", "-outform", "DER",
    ]));
    let ed = project.path("config/ed25519.pem");
    let ed_path = ed.to_str().unwrap();
    openssl(&["genpkey", "-algorithm", "ed25519", "-out", ed_path]);
    // The raw 32-byte public key is the last 32 bytes of its DER.
    let ed_der = openssl(&["pkey", "-in", ed_path, "-pubout", "-outform", "DER"]);
    let ed_public = base64_encode(&ed_der[ed_der.len() - 32..]);
    dkim_tables(
        &project,
        &[
            ("rsa2026", "rsa", "dkim.key"),
            ("ed2026", "ed25519", "ed25519.pem"),
        ],
    );
    dry_run(&project, &[]).success();
    assert_each_verifies(
        &project,
        &[
            ("rsa2026", format!("v=DKIM1; k=rsa; p={public}")),
            ("ed2026", format!("v=DKIM1; k=ed25519; p={ed_public}")),
        ],
        &[project.path("outbox/reader@example.com.eml")],
        2,
    );
}

/// A key cut short, a key of the other algorithm, or no key at all is an
/// error before anything is sent, naming the file and the table; never a
/// panic, and no message is written.
#[test]
fn a_truncated_or_wrong_dkim_key_is_an_error_naming_the_file_and_table() {
    if !support::require("/usr/bin/openssl", "apt-get install -y openssl") {
        return;
    }
    let project = Project::example();
    rsa_key(&project);
    let pem = project.read("config/dkim.key");
    project.write("config/ed25519.key", ED25519_SEED);
    dkim_tables(
        &project,
        &[
            ("rsa2026", "rsa", "dkim.key"),
            ("ed2026", "ed25519", "ed25519.key"),
        ],
    );
    let cut = &pem[..pem.len() / 2];
    let damaged = pem.replacen("MII", "MIA", 1);
    let rsa_table = "private_key_file of the [[dkim]] table with selector = \"rsa2026\"";
    let ed_table = "private_key_file of the [[dkim]] table with selector = \"ed2026\"";
    for (file, text, table, why) in [
        (
            "config/dkim.key",
            cut,
            rsa_table,
            "not an RSA DKIM private key",
        ),
        (
            "config/dkim.key",
            &damaged,
            rsa_table,
            "not an RSA DKIM private key",
        ),
        (
            "config/dkim.key",
            ED25519_SEED,
            rsa_table,
            "not an RSA DKIM private key",
        ),
        (
            "config/dkim.key",
            "",
            rsa_table,
            "not an RSA DKIM private key",
        ),
        (
            "config/ed25519.key",
            &pem,
            ed_table,
            "not an Ed25519 DKIM private key",
        ),
        (
            "config/ed25519.key",
            &ED25519_SEED[..20],
            ed_table,
            "not an Ed25519 DKIM private key",
        ),
    ] {
        project.write("config/dkim.key", &pem);
        project.write("config/ed25519.key", ED25519_SEED);
        project.write(file, text);
        let output = dry_run(&project, &[]).code(1).get_output().clone();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("{file}: {why} ({table})")) && !stderr.contains("panicked"),
            "{file} as {text:?}: {stderr}"
        );
        assert!(
            !project.path("outbox/reader@example.com.eml").exists(),
            "a message was written with a bad key"
        );
    }
}

/// A fresh 2048-bit RSA key in `config/dkim.key` (PKCS#1 PEM, made with
/// openssl); its public key as the base64 of a DKIM record's `p=`.
fn rsa_key(project: &Project) -> String {
    let key = project.path("config/dkim.key");
    let run = |args: &[&str]| {
        let output = std::process::Command::new("/usr/bin/openssl")
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    };
    run(&[
        "genrsa",
        "-traditional",
        "-out",
        key.to_str().unwrap(),
        "2048",
    ]);
    let public = run(&[
        "rsa",
        "-in",
        key.to_str().unwrap(),
        "-pubout",
        "-outform",
        "DER",
    ]);
    base64_encode(&public)
}

/// Through a real MTA: Postfix on loopback takes the signed messages and
/// delivers them into a Maildir (adding Return-Path, Received and
/// Delivered-To); every delivered copy still verifies.
#[test]
fn dkim_signatures_still_verify_after_a_hop_through_postfix() {
    if !have_dkimpy()
        || !support::require("/usr/bin/openssl", "apt-get install -y openssl")
        || !rigs::available(
            &["/usr/sbin/postfix", "/usr/lib/postfix/sbin/master"],
            "postfix",
        )
    {
        return;
    }
    let postfix = rigs::Postfix::start(&["alive", "alive2", "alive3"]);
    let list = "[[subscriber]]\nemail = \"alive@example.org\"\nname = \"김독자\"\ntags = [\"weekly\"]\n\n[[subscriber]]\nemail = \"alive2@example.org\"\nname = \"Jane Doe\"\ntags = [\"weekly\"]\n\n[[subscriber]]\nemail = \"alive3@example.org\"\ntags = [\"weekly\"]\n";
    let project = Project::with_relay(
        postfix.port,
        list,
        "rate_per_second = 0\nstate_dir = \"../state\"",
    );
    let public = rsa_key(&project);
    dkim_config(&project, "rsa");
    project
        .cmd()
        .env(
            "LETTERPRESS_UNSUBSCRIBE_SECRET",
            "postfix-hop-secret-0123456789",
        )
        .args(["send", "issues/example", "--yes"])
        .assert()
        .success();
    let delivered = postfix.wait_for(&postfix.delivered(), 3);
    project.write("record.txt", format!("v=DKIM1; k=rsa; p={public}"));
    project.write("verify.py", VERIFY);
    for file in delivered {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains("\nReceived: from ") && text.contains("Delivered-To: alive"),
            "not delivered by Postfix:\n{text}"
        );
        let output = std::process::Command::new("/usr/bin/python3")
            .arg(project.path("verify.py"))
            .arg(&file)
            .arg(project.path("record.txt"))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{} does not verify after Postfix: {}{}",
            file.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Through a real MTA with two signatures: RSA and Ed25519 side by side
/// each still verify after Postfix took the message and delivered it.
#[test]
fn rsa_and_ed25519_signatures_verify_after_a_hop_through_postfix() {
    if !have_dkimpy()
        || !support::require("/usr/bin/openssl", "apt-get install -y openssl")
        || !rigs::available(
            &["/usr/sbin/postfix", "/usr/lib/postfix/sbin/master"],
            "postfix",
        )
    {
        return;
    }
    let postfix = rigs::Postfix::start(&["alive", "alive2", "alive3"]);
    let list = "[[subscriber]]\nemail = \"alive@example.org\"\nname = \"김독자\"\ntags = [\"weekly\"]\n\n[[subscriber]]\nemail = \"alive2@example.org\"\nname = \"Jane Doe\"\ntags = [\"weekly\"]\n\n[[subscriber]]\nemail = \"alive3@example.org\"\ntags = [\"weekly\"]\n";
    let project = Project::with_relay(
        postfix.port,
        list,
        "rate_per_second = 0\nstate_dir = \"../state\"",
    );
    let public = rsa_key(&project);
    project.write("config/ed25519.key", ED25519_SEED);
    dkim_tables(
        &project,
        &[
            ("rsa2026", "rsa", "dkim.key"),
            ("ed2026", "ed25519", "ed25519.key"),
        ],
    );
    project
        .cmd()
        .env(
            "LETTERPRESS_UNSUBSCRIBE_SECRET",
            "postfix-hop-secret-0123456789",
        )
        .args(["send", "issues/example", "--yes"])
        .assert()
        .success();
    let delivered = postfix.wait_for(&postfix.delivered(), 3);
    for file in &delivered {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            text.contains("\nReceived: from ") && text.contains("Delivered-To: alive"),
            "not delivered by Postfix:\n{text}"
        );
    }
    assert_each_verifies(
        &project,
        &[
            ("rsa2026", format!("v=DKIM1; k=rsa; p={public}")),
            ("ed2026", ed25519_record()),
        ],
        &delivered,
        2,
    );
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn build_writes_a_preview_message() {
    let project = Project::example();
    project.build();
    let bytes = std::fs::read(project.path("out/preview.eml")).unwrap();
    let message = MessageParser::default().parse(&bytes).unwrap();
    assert_eq!(
        message.to().unwrap().first().unwrap().address(),
        Some("reader@example.com")
    );
    assert!(message.body_text(0).unwrap().contains("김독자님"));
}

#[test]
fn the_same_test_address_given_twice_gets_one_message() {
    let project = Project::example();
    dry_run(
        &project,
        &[
            "--to",
            "tester@example.com",
            "--to",
            "Tester@Example.com",
            "--to",
            "tester@example.com",
        ],
    )
    .success();
    assert_eq!(outbox(&project), ["tester@example.com.eml"]);
}
