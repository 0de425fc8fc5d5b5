//! Double opt-in over HTTP on 127.0.0.1: `serve` with `[subscribe]`, its
//! confirmation mails delivered to the in-process SMTP server (and once to
//! Postfix's smtp-sink), a real subscribers.toml, the abuse limits, and
//! many readers joining while other edits go on.

use crate::support;

use crate::smtp;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use letterpress::signup::token::{self, Confirmation};
use letterpress::signup::Source;
use predicates::prelude::*;
use support::{Project, Served};

pub(crate) const SECRET: &str = "subscribe-test-secret";
const LIST: &str = "config/subscribers.toml";

pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// The example with its relay at `port` and `extra` lines in [subscribe].
pub(crate) fn project(port: u16, extra: &str) -> Project {
    let project = Project::example();
    project.edit(
        "config/newsletter.toml",
        "port         = 2525",
        &format!("port         = {port}"),
    );
    project.edit(
        "config/newsletter.toml",
        "rate_per_second = 10",
        "rate_per_second = 0",
    );
    let config = project.read("config/newsletter.toml");
    project.write("config/newsletter.toml", format!("{config}{extra}\n"));
    project
}

pub(crate) fn get(url: &str) -> (u16, String) {
    let mut response = agent().get(url).call().unwrap();
    let status = response.status().as_u16();
    (status, response.body_mut().read_to_string().unwrap())
}

pub(crate) fn post(
    agent: &ureq::Agent,
    url: &str,
    body: &str,
    forwarded: Option<&str>,
) -> (u16, String) {
    let mut request = agent
        .post(url)
        .content_type("application/x-www-form-urlencoded");
    if let Some(hop) = forwarded {
        request = request.header("X-Forwarded-For", hop);
    }
    let mut response = request.send(body).unwrap();
    let status = response.status().as_u16();
    (status, response.body_mut().read_to_string().unwrap())
}

/// Percent-encodes a form value.
pub(crate) fn encode(value: &str) -> String {
    value
        .bytes()
        .map(
            |b| match b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                true => (b as char).to_string(),
                false => format!("%{b:02X}"),
            },
        )
        .collect()
}

/// The form's stamp, from a served form.
pub(crate) fn stamp(base: &str) -> String {
    let (status, page) = get(&format!("{base}/subscribe"));
    assert_eq!(status, 200, "{page}");
    let at = page
        .find("name=\"f\" value=\"")
        .expect("the form has a stamp")
        + 16;
    page[at..at + page[at..].find('"').unwrap()].to_string()
}

fn form_body(email: &str, name: &str, stamp: &str) -> String {
    format!(
        "email={}&name={}&website=&f={}",
        encode(email),
        encode(name),
        encode(stamp)
    )
}

/// The decoded text and HTML parts of a message, parsed by mail-parser.
pub(crate) fn parts(data: &[u8]) -> Vec<String> {
    let message = mail_parser::MessageParser::default()
        .parse(data)
        .expect("a MIME message");
    let mut out: Vec<String> = (0..message.text_body.len())
        .filter_map(|i| message.body_text(i).map(|t| t.into_owned()))
        .collect();
    out.extend(
        (0..message.html_body.len()).filter_map(|i| message.body_html(i).map(|t| t.into_owned())),
    );
    out
}

pub(crate) fn mails_to(smtp: &smtp::Server, address: &str) -> Vec<smtp::Received> {
    smtp.received()
        .into_iter()
        .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
        .collect()
}

/// The confirmation token in a mail.
fn token_in(mail: &smtp::Received) -> String {
    let text = parts(&mail.data).join("\n");
    let at = text
        .find("/subscribe/confirm?t=")
        .expect("the mail has the link")
        + 21;
    text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

pub(crate) fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn entry(project: &Project, email: &str) -> Option<letterpress::Subscriber> {
    let list = letterpress::List::load(&project.path(LIST)).unwrap();
    list.entries
        .into_iter()
        .find(|e| e.email().eq_ignore_ascii_case(email))
        .map(|e| e.subscriber())
}

#[test]
fn a_reader_joins_through_form_mail_and_button_and_gets_the_welcome_once() {
    let smtp = smtp::Server::start(smtp::Script::default());
    let project = project(smtp.port, "");
    let served = Served::start(&project, SECRET, &[]);
    let base = &served.base;
    let original = project.read(LIST);
    let form = format!("{base}/subscribe");

    let (status, page) = get(&form);
    assert_eq!(status, 200);
    assert!(page.contains("<html lang=\"ko\">"), "{page}");
    assert!(
        page.contains("이메일 주소") && page.contains("구독 신청"),
        "{page}"
    );
    assert!(!page.contains("<script"), "the form needs no JavaScript");
    assert!(
        !page.contains("checkbox"),
        "no [[topics]], no boxes: {page}"
    );

    // Submitted at once: a bot. Refused, and no mail.
    let fresh = stamp(base);
    let (status, page) = post(
        &agent(),
        &form,
        &form_body("new@example.net", "", &fresh),
        None,
    );
    assert_eq!(status, 400);
    assert!(page.contains("잠시 후 다시 시도해 주세요"), "{page}");
    std::thread::sleep(Duration::from_millis(2100));
    // The honeypot filled in: refused, no mail.
    let trap = form_body("new@example.net", "", &fresh)
        .replace("website=", "website=http%3A%2F%2Fspam.example.net");
    assert_eq!(post(&agent(), &form, &trap, None).0, 400);
    assert!(smtp.received().is_empty());

    // A name carrying markup and a link reaches neither the mail nor a page as code.
    let hostile = "<script>alert(1)</script> visit https://spam.example.net/win";
    let body = form_body("New@Example.net", hostile, &fresh);
    let (status, page) = post(&agent(), &form, &body, None);
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("메일함을 확인해 주세요") && page.contains("New@Example.net"),
        "{page}"
    );
    assert!(
        !page.contains("<script>alert") && !page.contains("spam.example.net"),
        "{page}"
    );
    // The same address again within ten minutes: the same page, no second mail.
    let (status, again) = post(
        &agent(),
        &form,
        &form_body("new@example.net", "", &fresh),
        None,
    );
    assert_eq!(status, 200);
    assert!(again.contains("메일함을 확인해 주세요"));
    let mails = mails_to(&smtp, "new@example.net");
    assert_eq!(mails.len(), 1, "one confirmation mail");
    let mail = &mails[0];
    let raw = String::from_utf8_lossy(&mail.data);
    assert!(
        raw.contains("Content-Type: multipart/alternative;"),
        "{raw}"
    );
    assert!(raw.contains("Auto-Submitted: auto-generated"), "{raw}");
    assert!(!raw.contains("List-Unsubscribe"), "not a list message");
    let decoded = parts(&mail.data);
    assert_eq!(decoded.len(), 2, "a text and an HTML part");
    for part in &decoded {
        assert!(
            part.contains("뷰스레터플러스") && part.contains("New@Example.net"),
            "{part}"
        );
        assert!(
            part.contains("https://news.example.com/subscribe/confirm?t="),
            "{part}"
        );
        for submitted in ["script", "alert", "spam.example.net", "visit"] {
            assert!(
                !part.contains(submitted),
                "the mail carries {submitted:?}:\n{part}"
            );
        }
    }
    assert_eq!(
        project.read(LIST),
        original,
        "nothing is stored before confirming"
    );

    // GET of the link asks and changes nothing; the name is shown escaped.
    let token = token_in(mail);
    let link = format!("{base}/subscribe/confirm?t={token}");
    let (status, page) = get(&link);
    assert_eq!(status, 200);
    assert!(
        page.contains("구독 확인") && page.contains("<form method=\"post\">"),
        "{page}"
    );
    assert!(
        page.contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(!page.contains("<script>"), "{page}");
    assert_eq!(project.read(LIST), original, "GET changed the list");

    // Tampered and expired tokens: 400, nothing changes.
    let confirm = format!("{base}/subscribe/confirm");
    let mut tampered = token.clone().into_bytes();
    tampered[12] = if tampered[12] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let expired = token::sign(
        SECRET.as_bytes(),
        &Confirmation {
            address: "late@example.net".into(),
            name: None,
            source: Source::Form,
            issued: jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() - 8 * 86_400)
                .unwrap(),
            topics: Vec::new(),
        },
    );
    for bad in [&tampered, &expired, &"x".repeat(5000), &String::new()] {
        let (status, page) = post(&agent(), &confirm, &format!("t={bad}"), None);
        assert_eq!(status, 400, "{page}");
        assert!(page.contains("유효하지 않은 링크입니다"), "{page}");
        assert_eq!(get(&format!("{confirm}?t={bad}")).0, 400);
    }
    assert_eq!(project.read(LIST), original);

    // The button: the reader is on the list, active, with the consent record.
    let (status, page) = post(&agent(), &confirm, &format!("t={token}"), None);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("구독되었습니다"), "{page}");
    let text = project.read(LIST);
    assert!(text.starts_with(&original), "the user's text changed");
    let reader = entry(&project, "new@example.net").expect("the reader was added");
    assert_eq!(reader.status, letterpress::Status::Active);
    assert_eq!(reader.source.as_deref(), Some("form"));
    assert_eq!(reader.tags, vec!["weekly".to_string()]);
    assert_eq!(reader.name.as_deref(), Some(hostile));
    let joined = reader.joined().expect("subscribed_at is RFC 3339");
    assert!((jiff::Timestamp::now().as_second() - joined.as_second()).abs() < 60);

    // The welcome issue arrives, once.
    wait_for("the welcome mail", || {
        mails_to(&smtp, "new@example.net").len() == 2
    });
    let welcome = &mails_to(&smtp, "new@example.net")[1];
    let welcome_parts = parts(&welcome.data);
    assert!(
        welcome_parts[0].contains("구독을 환영합니다"),
        "{}",
        welcome_parts[0]
    );
    let html = &welcome_parts[1];
    assert!(
        html.contains("&lt;script&gt;alert(1)") && !html.contains("<script>"),
        "{html}"
    );

    // A repeat is harmless: one entry, no second welcome.
    let (status, _) = post(&agent(), &confirm, &format!("t={token}"), None);
    assert_eq!(status, 200);
    std::thread::sleep(Duration::from_millis(1500));
    let list = letterpress::List::load(&project.path(LIST)).unwrap();
    let entries = list.entries.iter().filter(|e| e.key() == "new@example.net");
    assert_eq!(entries.count(), 1);
    assert_eq!(mails_to(&smtp, "new@example.net").len(), 2);

    // After an unsubscribe the old link cannot bring the reader back.
    project
        .cmd()
        .args(["subscribers", "unsubscribe", "new@example.net"])
        .assert()
        .success();
    let (status, page) = post(&agent(), &confirm, &format!("t={token}"), None);
    assert_eq!(status, 200);
    assert!(page.contains("이미 사용된 링크입니다"), "{page}");
    assert_eq!(
        entry(&project, "new@example.net").unwrap().status,
        letterpress::Status::Unsubscribed
    );
}

#[test]
fn an_unsubscribed_reader_who_confirms_again_is_active_again() {
    let smtp = smtp::Server::start(smtp::Script::default());
    let project = project(smtp.port, "");
    let served = Served::start(&project, SECRET, &[]);
    let stamp = stamp(&served.base);
    std::thread::sleep(Duration::from_millis(2100));
    let form = format!("{}/subscribe", served.base);
    let (status, _) = post(
        &agent(),
        &form,
        &form_body("FORMER@example.com", "", &stamp),
        None,
    );
    assert_eq!(status, 200);
    let token = token_in(&mails_to(&smtp, "former@example.com")[0]);
    let confirm = format!("{}/subscribe/confirm", served.base);
    assert_eq!(post(&agent(), &confirm, &format!("t={token}"), None).0, 200);
    let reader = entry(&project, "former@example.com").unwrap();
    assert_eq!(reader.status, letterpress::Status::Active);
    assert_eq!(reader.source.as_deref(), Some("form"));
    assert_eq!(
        reader.name.as_deref(),
        Some("이전 구독자"),
        "the name is kept"
    );
    assert!(reader.joined().is_some());
    assert_eq!(project.read(LIST).matches("former@example.com").count(), 1);
}

#[test]
fn a_form_from_another_site_asks_once_more_and_bad_input_is_named() {
    let smtp = smtp::Server::start(smtp::Script::default());
    let project = project(smtp.port, "");
    let served = Served::start(&project, SECRET, &[]);
    let form = format!("{}/subscribe", served.base);
    // No stamp (a website's own form): this server's form, filled in.
    let (status, page) = post(&agent(), &form, "email=%22%3E%3Cb%3Ex%40example.net", None);
    assert_eq!(status, 200);
    assert!(page.contains("한 단계만 더"), "{page}");
    assert!(
        page.contains("value=\"&quot;&gt;&lt;b&gt;x@example.net\""),
        "{page}"
    );
    assert!(smtp.received().is_empty());
    let stamp = stamp(&served.base);
    std::thread::sleep(Duration::from_millis(2100));
    for (email, name, says) in [
        ("not-an-address", "", "이메일 주소가 아닙니다"),
        ("ok@example.net", "two\nlines", "한 줄"),
    ] {
        let (status, page) = post(&agent(), &form, &form_body(email, name, &stamp), None);
        assert_eq!(status, 400);
        assert!(page.contains(says), "{page}");
    }
    // Oversized bodies are refused before they are read whole.
    let (status, _) = post(&agent(), &form, &"a".repeat(64 * 1024), None);
    assert_eq!(status, 413);
    assert!(smtp.received().is_empty());
}

#[test]
fn each_client_gets_a_bounded_number_of_mails_per_hour() {
    let smtp = smtp::Server::start(smtp::Script::default());
    let project = project(smtp.port, "per_client_per_hour = 3");
    let direct = Served::start(&project, SECRET, &[]);
    let proxied = Served::start(&project, SECRET, &["--trust-proxy"]);
    let stamp = stamp(&direct.base);
    std::thread::sleep(Duration::from_millis(2100));
    let attempt = |served: &Served, n: usize, hop: &str| {
        let form = format!("{}/subscribe", served.base);
        let body = form_body(&format!("r{n}@example.net"), "", &stamp);
        post(&agent(), &form, &body, Some(hop))
    };
    // Without --trust-proxy the header is ignored: every request is 127.0.0.1.
    for n in 0..3 {
        assert_eq!(attempt(&direct, n, &format!("198.51.100.{n}")).0, 200);
    }
    let (status, page) = attempt(&direct, 3, "198.51.100.99");
    assert_eq!(status, 429);
    assert!(page.contains("잠시 후 다시 시도해 주세요"), "{page}");
    // Behind a proxy the first hop is the client.
    for n in 10..13 {
        assert_eq!(attempt(&proxied, n, "203.0.113.7, 10.0.0.1").0, 200);
    }
    assert_eq!(attempt(&proxied, 13, "203.0.113.7").0, 429);
    assert_eq!(attempt(&proxied, 14, "203.0.113.8").0, 200);
    assert_eq!(smtp.received().len(), 7);
}

#[test]
fn subscribers_add_confirm_mails_instead_of_adding() {
    let smtp = smtp::Server::start(smtp::Script::default());
    let project = project(smtp.port, "");
    let original = project.read(LIST);
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args([
            "subscribers",
            "add",
            "asked@example.org",
            "--name",
            "Asked",
            "--confirm",
        ])
        .assert()
        .success();
    assert_eq!(project.read(LIST), original);
    let mails = mails_to(&smtp, "asked@example.org");
    assert_eq!(mails.len(), 1);
    let token = token_in(&mails[0]);
    let confirmation = token::open(SECRET.as_bytes(), &token, jiff::Timestamp::now()).unwrap();
    assert_eq!(confirmation.source, Source::Cli);
    assert_eq!(confirmation.name.as_deref(), Some("Asked"));
    project
        .cmd()
        .args(["subscribers", "add", "x@example.org", "--confirm"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("secret is not set"));
}

/// Service mails fail over as a send does: with the first relay down and
/// the second deferring the sender, the confirmation goes through the
/// fallback, from the command line (which says which relay took it) and
/// from `serve`'s form.
#[test]
fn a_confirmation_mail_goes_through_the_next_relay_when_one_fails() {
    let up = smtp::Server::start(smtp::Script::default());
    let deferring = smtp::Server::start(smtp::Script {
        mail_reply: Some("451 4.3.2 try again later".into()),
        ..smtp::Script::default()
    });
    let down = crate::rigs::free_port();
    let project = project(up.port, "");
    project.edit(
        "config/newsletter.toml",
        "[smtp]\n",
        &format!(
            "[[smtp]]\nname = \"down\"\nhost = \"127.0.0.1\"\nport = {down}\nsecurity = \"none\"\ntimeout_secs = 5\n\n\
             [[smtp]]\nname = \"deferring\"\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\ntimeout_secs = 5\n\n\
             [[smtp]]\nname = \"up\"\nrole = \"fallback\"\n",
            deferring.port
        ),
    );
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["subscribers", "add", "asked@example.org", "--confirm"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "through 127.0.0.1:{}",
            up.port
        )));
    assert_eq!(mails_to(&up, "asked@example.org").len(), 1);
    // serve's mailer, in a process of its own: the form's mail too.
    let served = Served::start(&project, SECRET, &[]);
    let stamp = stamp(&served.base);
    std::thread::sleep(Duration::from_millis(2100));
    let form = format!("{}/subscribe", served.base);
    let body = form_body("formed@example.org", "", &stamp);
    let (status, page) = post(&agent(), &form, &body, None);
    assert_eq!(status, 200, "{page}");
    assert_eq!(mails_to(&up, "formed@example.org").len(), 1);
    assert!(deferring.received().is_empty());
}

#[test]
fn many_readers_join_while_others_leave_and_the_cli_edits() {
    let smtp = smtp::Server::start(smtp::Script::default());
    let project = project(smtp.port, "per_client_per_hour = 100000");
    project.edit("config/newsletter.toml", "welcome = \"welcome\"", "");
    let served = Served::start(&project, SECRET, &[]);
    let base = served.base.clone();
    let stamp = stamp(&base);
    std::thread::sleep(Duration::from_millis(2100));
    let posted: Vec<String> = (0..200).map(|n| format!("joiner{n}@example.net")).collect();
    // Readers confirmed through links minted earlier, at the same time.
    let minted: Vec<(String, String)> = (0..50)
        .map(|n| {
            let address = format!("early{n}@example.org");
            let token = token::sign(
                SECRET.as_bytes(),
                &Confirmation {
                    address: address.clone(),
                    name: None,
                    source: Source::Form,
                    issued: jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
                        .unwrap(),
                    topics: Vec::new(),
                },
            );
            (address, token)
        })
        .collect();
    let started = Instant::now();
    std::thread::scope(|s| {
        for worker in 0..50 {
            let (posted, minted, base, stamp) = (&posted, &minted, &base, &stamp);
            s.spawn(move || {
                let agent = agent();
                for address in posted.iter().skip(worker).step_by(50) {
                    let body = form_body(address, "", stamp);
                    let (status, page) = post(&agent, &format!("{base}/subscribe"), &body, None);
                    assert_eq!(status, 200, "{page}");
                }
                let (_, token) = &minted[worker];
                let (status, page) = post(
                    &agent,
                    &format!("{base}/subscribe/confirm"),
                    &format!("t={token}"),
                    None,
                );
                assert_eq!(status, 200, "{page}");
            });
        }
        s.spawn(|| {
            for reader in ["reader@example.com", "jane.doe@example.org"] {
                let token = letterpress::token(SECRET.as_bytes(), reader);
                let url = format!("{base}/unsubscribe?e={}&t={token}", encode(reader));
                let (status, _) = post(&agent(), &url, "List-Unsubscribe=One-Click", None);
                assert_eq!(status, 200);
            }
        });
        s.spawn(|| {
            project
                .cmd()
                .args(["subscribers", "add", "cli@example.com", "--tag", "weekly"])
                .assert()
                .success();
        });
    });
    let elapsed = started.elapsed();
    eprintln!(
        "200 form posts and 50 confirmations from 50 connections: {:.0} ms",
        elapsed.as_secs_f64() * 1000.0
    );
    // Every posted address got exactly one confirmation mail.
    let counts = smtp.counts();
    for address in &posted {
        assert_eq!(counts.get(address.as_str()), Some(&1), "{address}");
    }
    // Confirm all 200 from 50 connections while the CLI removes a reader.
    let tokens: Vec<String> = posted
        .iter()
        .map(|a| token_in(&mails_to(&smtp, a)[0]))
        .collect();
    std::thread::scope(|s| {
        for worker in 0..50 {
            let (tokens, base) = (&tokens, &base);
            s.spawn(move || {
                let agent = agent();
                for token in tokens.iter().skip(worker).step_by(50) {
                    let url = format!("{base}/subscribe/confirm");
                    let (status, page) = post(&agent, &url, &format!("t={token}"), None);
                    assert_eq!(status, 200, "{page}");
                }
            });
        }
        s.spawn(|| {
            project
                .cmd()
                .args(["subscribers", "remove", "park@example.net"])
                .assert()
                .success();
        });
    });
    let list = letterpress::List::load(&project.path(LIST)).unwrap();
    let mut seen = HashSet::new();
    for entry in &list.entries {
        assert!(
            seen.insert(entry.email().to_lowercase()),
            "{} twice",
            entry.email()
        );
    }
    let status = |email: &str| {
        list.entries
            .iter()
            .find(|e| e.email() == email)
            .map(|e| e.status())
    };
    for address in posted.iter().chain(minted.iter().map(|(a, _)| a)) {
        assert_eq!(
            status(address),
            Some(letterpress::Status::Active),
            "{address}"
        );
    }
    assert_eq!(
        status("reader@example.com"),
        Some(letterpress::Status::Unsubscribed)
    );
    assert_eq!(
        status("jane.doe@example.org"),
        Some(letterpress::Status::Unsubscribed)
    );
    assert_eq!(status("cli@example.com"), Some(letterpress::Status::Active));
    assert_eq!(
        status("park@example.net"),
        None,
        "the CLI's remove was lost"
    );
    assert_eq!(
        status("former@example.com"),
        Some(letterpress::Status::Unsubscribed)
    );
    assert_eq!(list.entries.len(), 200 + 50 + 4);
}

// A real MTA takes the confirmation mail: Postfix's smtp-sink.
#[test]
fn the_confirmation_mail_reaches_postfix_smtp_sink() {
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
    wait_for("smtp-sink", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let project = project(port, "");
    let served = Served::start(&project, SECRET, &[]);
    let stamp = stamp(&served.base);
    std::thread::sleep(Duration::from_millis(2100));
    let form = format!("{}/subscribe", served.base);
    let (status, page) = post(
        &agent(),
        &form,
        &form_body("sink@example.net", "", &stamp),
        None,
    );
    let dumped = || -> Vec<String> {
        std::fs::read_dir(dump.path())
            .unwrap()
            .map(|e| {
                String::from_utf8_lossy(&std::fs::read(e.unwrap().path()).unwrap()).into_owned()
            })
            .collect()
    };
    wait_for("smtp-sink's dump", || !dumped().is_empty());
    let _ = sink.kill();
    let _ = sink.wait();
    assert_eq!(status, 200, "{page}");
    let mails = dumped();
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains("X-Rcpt-Args: <sink@example.net>"),
        "{}",
        mails[0]
    );
    let text = parts(mails[0].as_bytes()).join("\n");
    assert!(text.contains("/subscribe/confirm?t="), "{text}");
}

#[test]
fn tagged_addresses_share_one_mail_and_an_ipv6_slash_64_is_one_client() {
    let smtp = smtp::Server::start(smtp::Script::default());
    let project = project(smtp.port, "per_client_per_hour = 3");
    let served = Served::start(&project, SECRET, &["--trust-proxy"]);
    let stamp = stamp(&served.base);
    std::thread::sleep(Duration::from_millis(2100));
    let form = format!("{}/subscribe", served.base);
    let attempt =
        |email: &str, hop: &str| post(&agent(), &form, &form_body(email, "", &stamp), Some(hop));
    // One mailbox through tags and capitals, from different clients: one mail.
    for (n, email) in [
        "box@example.net",
        "box+a@example.net",
        "BOX+b@Example.net",
        "Box@example.net",
    ]
    .iter()
    .enumerate()
    {
        let (status, page) = attempt(email, &format!("198.51.100.{n}"));
        assert_eq!(status, 200, "{email}: {page}");
    }
    assert_eq!(smtp.received().len(), 1, "one mail for one mailbox");
    // Ten addresses of one /64 are one client: the cap of 3 holds.
    let mut statuses = Vec::new();
    for n in 0..10 {
        let (status, _) = attempt(
            &format!("v6reader{n}@example.net"),
            &format!("2001:db8:5:6::{:x}", n + 1),
        );
        statuses.push(status);
    }
    assert_eq!(statuses[..3], [200, 200, 200]);
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
    // Another /64 is another client.
    assert_eq!(attempt("other64@example.net", "2001:db8:5:7::1").0, 200);
    assert_eq!(smtp.received().len(), 1 + 3 + 1);
}

/// A port on 127.0.0.1 where nothing listens: a relay that is down.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A confirmation link for `address`, asked for now.
fn confirmation_token(address: &str) -> String {
    token::sign(
        SECRET.as_bytes(),
        &Confirmation {
            address: address.into(),
            name: None,
            source: Source::Form,
            issued: jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap(),
            topics: Vec::new(),
        },
    )
}

fn one_click(served: &Served, address: &str) -> u16 {
    let token = letterpress::token(SECRET.as_bytes(), address);
    let url = format!(
        "{}/unsubscribe?e={}&t={token}",
        served.base,
        encode(address)
    );
    post(&agent(), &url, "List-Unsubscribe=One-Click", None).0
}

#[test]
fn two_servers_on_one_list_decide_from_each_other_s_changes() {
    let smtp = smtp::Server::start(smtp::Script::default());
    let project = project(smtp.port, "");
    let a = Served::start(&project, SECRET, &[]);
    let b = Served::start(&project, SECRET, &[]);
    let reader = "former@example.com";
    assert_eq!(
        entry(&project, reader).unwrap().status,
        letterpress::Status::Unsubscribed
    );
    // Joins again through one server, leaves through the other.
    let confirm = |served: &Served| {
        let url = format!("{}/subscribe/confirm", served.base);
        post(
            &agent(),
            &url,
            &format!("t={}", confirmation_token(reader)),
            None,
        )
        .0
    };
    assert_eq!(confirm(&a), 200);
    assert_eq!(
        entry(&project, reader).unwrap().status,
        letterpress::Status::Active
    );
    assert_eq!(one_click(&b, reader), 200);
    assert_eq!(
        entry(&project, reader).unwrap().status,
        letterpress::Status::Unsubscribed,
        "the second server's acknowledged unsubscribe was lost"
    );
    // And back: a join through the first after the second's unsubscribe.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(confirm(&a), 200);
    assert_eq!(
        entry(&project, reader).unwrap().status,
        letterpress::Status::Active,
        "the first server's acknowledged join was lost"
    );
}

#[test]
fn with_the_relay_down_serve_logs_no_address() {
    let project = project(closed_port(), "");
    project.edit(
        "config/newsletter.toml",
        "max_attempts    = 5",
        "max_attempts    = 2\nretry_delay_secs = 0.1",
    );
    let log = project.path("serve.log");
    let served = Served::start_logged(&project, SECRET, &[], &log);
    let stamp = stamp(&served.base);
    std::thread::sleep(Duration::from_millis(2100));
    let form = format!("{}/subscribe", served.base);
    let (status, page) = post(
        &agent(),
        &form,
        &form_body("Down+Tag@example.net", "", &stamp),
        None,
    );
    assert_eq!(status, 503, "{page}");
    // A confirmed reader whose welcome cannot go out yet.
    let token = confirmation_token("welcome.down@example.org");
    let confirm = format!("{}/subscribe/confirm", served.base);
    assert_eq!(post(&agent(), &confirm, &format!("t={token}"), None).0, 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&log)
        .unwrap()
        .contains("welcome issue not sent yet")
    {
        assert!(
            Instant::now() < deadline,
            "no welcome failure in the log:\n{}",
            std::fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(served);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("error: a confirmation mail was not sent"),
        "{text}"
    );
    for line in text.lines() {
        assert!(!line.contains('@'), "an address in the log: {line}");
        assert!(!line.contains(&token), "a token in the log: {line}");
    }
}

#[test]
fn a_welcome_pending_at_a_restart_arrives_once_after_it() {
    let down = closed_port();
    let project = project(down, "");
    project.edit(
        "config/newsletter.toml",
        "max_attempts    = 5",
        "max_attempts    = 2\nretry_delay_secs = 0.1",
    );
    let log = project.path("serve.log");
    let served = Served::start_logged(&project, SECRET, &[], &log);
    let token = confirmation_token("late.welcome@example.org");
    let confirm = format!("{}/subscribe/confirm", served.base);
    assert_eq!(post(&agent(), &confirm, &format!("t={token}"), None).0, 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&log)
        .unwrap()
        .contains("welcome issue not sent yet")
    {
        assert!(Instant::now() < deadline, "the welcome was not tried");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Stopped while the welcome waits for the relay; started with it up.
    drop(served);
    let smtp = smtp::Server::start(smtp::Script::default());
    project.edit(
        "config/newsletter.toml",
        &format!("port         = {down}"),
        &format!("port         = {}", smtp.port),
    );
    let served = Served::start_logged(&project, SECRET, &[], &log);
    wait_for("the welcome after the restart", || {
        !mails_to(&smtp, "late.welcome@example.org").is_empty()
    });
    let welcome = &mails_to(&smtp, "late.welcome@example.org")[0];
    assert!(parts(&welcome.data)[0].contains("구독을 환영합니다"));
    // Another restart sends nothing again; nobody else got a welcome.
    drop(served);
    let _served = Served::start_logged(&project, SECRET, &[], &log);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(smtp.received().len(), 1, "one welcome, once");
}

#[test]
fn korean_pages_and_the_confirmation_mail_keep_words_whole_and_pick_particles() {
    let smtp = smtp::Server::start(smtp::Script::default());
    let project = project(smtp.port, "");
    // A tag with a region: Korean words, and the tag as written.
    project.edit(
        "config/newsletter.toml",
        "language       = \"ko\"",
        "language       = \"ko-KR\"",
    );
    let served = Served::start(&project, SECRET, &[]);
    let base = &served.base;
    let name = "<span class=\"nl\">뷰스레터플러스</span>";

    let (_, form) = get(&format!("{base}/subscribe"));
    assert!(form.contains("<html lang=\"ko-KR\">"), "{form}");
    assert!(form.contains("word-break:keep-all"), "{form}");
    assert!(form.contains(&format!("{name} 구독하기")), "{form}");

    let link = format!(
        "{base}/subscribe/confirm?t={}",
        confirmation_token("new@example.net")
    );
    let (status, page) = get(&link);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&format!("{name}를 받아 보게")), "{page}");
    assert!(page.contains("word-break:keep-all"), "{page}");
    let t = link.split("t=").nth(1).unwrap();
    let (status, done) = post(
        &agent(),
        &format!("{base}/subscribe/confirm"),
        &format!("t={t}"),
        None,
    );
    assert_eq!(status, 200, "{done}");
    assert!(
        done.contains(&format!("{name}를 보내 드리겠습니다")),
        "{done}"
    );
    for page in [&form, &page, &done] {
        assert!(!page.contains("을(를)"), "{page}");
    }

    let body = form_body("other@example.net", "", &stamp(base));
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(
        post(&agent(), &format!("{base}/subscribe"), &body, None).0,
        200
    );
    let mails = mails_to(&smtp, "other@example.net");
    assert_eq!(mails.len(), 1);
    let html = parts(&mails[0].data)
        .into_iter()
        .find(|p| p.contains("<html"))
        .unwrap();
    assert!(html.contains("word-break:keep-all"), "{html}");
    assert!(html.contains("<html lang=\"ko-KR\">"), "{html}");
}

/// Every file under `dir` whose text holds one of `needles`, ASCII case
/// ignored.
fn files_holding(dir: &std::path::Path, needles: &[&str]) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
                continue;
            }
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).to_ascii_lowercase();
            let name = path.to_string_lossy().to_ascii_lowercase();
            if needles.iter().any(|n| text.contains(n) || name.contains(n)) {
                found.push(path);
            }
        }
    }
    found
}

// Test that `subscribers forget` takes a reader out of the list, the change
// log, the journals, bounces.log, the dry-run messages and their pending
// confirmation, so that no file holds the address in any spelling; and
// that a send resumed after it, an import, an `add` and an old
// confirmation link still keep the promises made to them, while a new
// subscription of their own works.
#[test]
fn forget_erases_a_reader_everywhere_and_the_promises_still_hold() {
    let smtp = smtp::Server::start(smtp::Script::default());
    let project = project(smtp.port, "");
    project.edit("config/newsletter.toml", "welcome = \"welcome\"", "");
    let entry = "\n[[subscriber]]\nemail = \"Forget.Me@Example.org\"\nname = \"Forget Me\"\ntags = [\"weekly\"]\nsubscribed_at = \"2026-01-05T09:00:00Z\"\nsource = \"form\"\n";
    // A second reader, on an internationalised domain written in punycode.
    let idn =
        "\n[[subscriber]]\nemail = \"Idn.Reader@xn--bcher-kva.example.org\"\ntags = [\"weekly\"]\n";
    let original = project.read(LIST);
    project.write(LIST, format!("{original}{entry}{idn}"));
    let secret = ("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET);
    let send = || {
        project
            .cmd()
            .env(secret.0, secret.1)
            .args(["send", "example", "--yes"])
            .output()
            .unwrap()
    };
    let out = send();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mails_to(&smtp, "forget.me@example.org").len(), 1);
    project
        .cmd()
        .env(secret.0, secret.1)
        .args(["send", "example", "--dry-run", "--out", "out/dry"])
        .assert()
        .success();
    assert!(project.path("out/dry/forget.me@example.org.eml").exists());
    std::fs::write(
        project.path("state/bounces.log"),
        "2026-11-28T10:00:00Z soft forget.me@example.org status=4.2.2 report=r1 action=counted\n2026-11-28T10:00:01Z hard park@example.net status=5.1.1 report=r2 action=bounced\n",
    )
    .unwrap();
    project.write(
        "config/subscribers.toml.changes",
        "{\"unsubscribe\":{\"email\":\"FORGET.ME@example.org\",\"at\":\"2026-12-01T00:00:00Z\"}}\n",
    );
    // A confirmation asked for before the erasure, still pending.
    let minted = |issued: jiff::Timestamp| {
        token::sign(
            SECRET.as_bytes(),
            &Confirmation {
                address: "forget.me@example.org".into(),
                name: Some("Forget Me".into()),
                source: Source::Form,
                issued,
                topics: Vec::new(),
            },
        )
    };
    let before = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() - 60).unwrap();
    let pending = minted(before);

    // A file letterpress does not keep: named, and the command fails.
    project.write(
        "notes.txt",
        "Forget.Me@example.org asked for the Korean edition\n",
    );
    project
        .cmd()
        .args(["subscribers", "forget", "forget.me@EXAMPLE.org"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("notes.txt"))
        .stdout(predicate::str::contains("the list: 1 entry removed"))
        .stdout(predicate::str::contains(
            "the journals: 1 record in 1 journal",
        ))
        .stdout(predicate::str::contains("bounces.log: 1 event"))
        .stdout(predicate::str::contains("dry-run messages: 1 deleted"));
    std::fs::remove_file(project.path("notes.txt")).unwrap();
    project
        .cmd()
        .args(["subscribers", "forget", "forget.me@example.org"])
        .assert()
        .success()
        .stdout(predicate::str::contains("the list: 0 entries removed"));
    // Forgotten by its Unicode spelling.
    project
        .cmd()
        .args(["subscribers", "forget", "idn.reader@bücher.example.org"])
        .assert()
        .success()
        .stdout(predicate::str::contains("the list: 1 entry removed"))
        .stdout(predicate::str::contains(
            "the journals: 1 record in 1 journal",
        ))
        .stdout(predicate::str::contains("dry-run messages: 1 deleted"));
    // Each local part is the list's only one: any spelling of either
    // address (any case, percent-encoded, punycode or Unicode domain)
    // holds it.
    let needles = ["forget.me", "forget me", "idn.reader"];
    assert_eq!(
        files_holding(&project.path("."), &needles),
        Vec::<std::path::PathBuf>::new()
    );
    assert!(
        project
            .read("state/bounces.log")
            .contains("park@example.net"),
        "others stay"
    );
    assert!(project.read("state/erasures.log").contains(" erased:"));
    assert!(!project.path("config/subscribers.toml.changes").exists());

    // An import does not bring them back; an `add` by hand is refused.
    project.write(
        "import.csv",
        "email,name\nforget.me@example.org,Again\nnew@example.net,New\n",
    );
    project
        .cmd()
        .args(["subscribers", "import", "import.csv", "--tag", "weekly"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "import.csv:2: skipped: this reader asked to be forgotten",
        ));
    std::fs::remove_file(project.path("import.csv")).unwrap();
    assert!(!project.read(LIST).to_lowercase().contains("forget.me"));
    project
        .cmd()
        .args(["subscribers", "add", "forget.me@example.org"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("asked to be forgotten"));

    // Back on the list by a hand edit: the resumed send does not mail them
    // the issue they already had.
    let list = project.read(LIST);
    project.write(LIST, format!("{list}{entry}"));
    let out = send();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        mails_to(&smtp, "forget.me@example.org").len(),
        1,
        "mailed twice"
    );
    assert_eq!(mails_to(&smtp, "new@example.net").len(), 1);
    project.write(LIST, &list);

    // The pending confirmation went with the erasure; a new one works.
    let served = Served::start(&project, SECRET, &[]);
    let confirm = format!("{}/subscribe/confirm", served.base);
    let (status, page) = post(&agent(), &confirm, &format!("t={pending}"), None);
    assert_eq!(status, 400, "{page}");
    assert!(!project.read(LIST).to_lowercase().contains("forget.me"));
    std::thread::sleep(Duration::from_millis(1100));
    let fresh = minted(jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap());
    let (status, page) = post(&agent(), &confirm, &format!("t={fresh}"), None);
    assert_eq!(status, 200, "{page}");
    wait_for("the reader to join again", || {
        project
            .cmd()
            .args(["subscribers", "list"])
            .output()
            .unwrap()
            .stdout
            .windows(21)
            .any(|w| w == b"forget.me@example.org")
    });
}

#[test]
fn a_reader_chooses_a_topic_and_gets_only_the_issues_of_it() {
    let smtp = smtp::Server::start(smtp::Script::default());
    let topics = concat!(
        "\n[[topics]]\ntag = \"weekly\"\nname = { en = \"Weekly\", ko = \"주간 뉴스레터\" }\n",
        "description = { ko = \"매주 금요일의 AI 소식\", en = \"AI news on Fridays\" }\n",
        "\n[[topics]]\ntag = \"events\"\nname = { en = \"Events\", ko = \"행사 안내\" }\n",
    );
    let project = project(smtp.port, topics);
    // Readers get the topics they choose, not a fixed tag.
    project.edit(
        "config/newsletter.toml",
        "tags    = [\"weekly\"]",
        "default_topics = [\"weekly\"]",
    );
    let served = Served::start(&project, SECRET, &[]);
    let base = &served.base;
    let form = format!("{base}/subscribe");

    let (status, page) = get(&form);
    assert_eq!(status, 200, "{page}");
    let document = scraper::Html::parse_document(&page);
    let select = |css: &str| scraper::Selector::parse(css).unwrap();
    let boxes: Vec<_> = document
        .select(&select("input[type=checkbox][name=topic]"))
        .map(|b| b.value().attr("value").unwrap().to_string())
        .collect();
    assert_eq!(boxes, ["weekly", "events"]);
    let labels: Vec<String> = document
        .select(&select(".topic label"))
        .map(|l| l.text().collect())
        .collect();
    assert_eq!(labels, ["주간 뉴스레터매주 금요일의 AI 소식", "행사 안내"]);
    assert!(!page.contains("<script"), "the form needs no JavaScript");

    let fresh = stamp(base);
    std::thread::sleep(Duration::from_millis(2100));
    // A topic the form does not offer: refused in the newsletter's language, no mail.
    let forged = format!(
        "{}&topic=events&topic=vip",
        form_body("topics@example.net", "", &fresh)
    );
    let (status, page) = post(&agent(), &form, &forged, None);
    assert_eq!(status, 400, "{page}");
    assert!(
        page.contains("목록에 있는 주제 가운데에서 골라 주세요"),
        "{page}"
    );
    assert!(mails_to(&smtp, "topics@example.net").is_empty());

    // One topic ticked; another reader ticks none and gets the default.
    let ticked = format!(
        "{}&topic=events",
        form_body("topics@example.net", "", &fresh)
    );
    assert_eq!(post(&agent(), &form, &ticked, None).0, 200);
    let plain = form_body("plain@example.net", "", &fresh);
    assert_eq!(post(&agent(), &form, &plain, None).0, 200);
    let confirm = format!("{base}/subscribe/confirm");
    for address in ["topics@example.net", "plain@example.net"] {
        let token = token_in(&mails_to(&smtp, address)[0]);
        let (status, page) = post(&agent(), &confirm, &format!("t={token}"), None);
        assert_eq!(status, 200, "{page}");
    }
    let tags = |address: &str| entry(&project, address).expect("joined").tags;
    assert_eq!(tags("topics@example.net"), ["events"]);
    assert_eq!(tags("plain@example.net"), ["weekly"]);
    wait_for("the welcome mails", || {
        mails_to(&smtp, "topics@example.net").len() == 2
            && mails_to(&smtp, "plain@example.net").len() == 2
    });
    drop(served);

    // The example issue is for `weekly` readers: it does not reach them.
    let send = |project: &Project| {
        project
            .cmd()
            .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
            .args(["send", "issues/example", "--yes"])
            .assert()
            .success();
    };
    send(&project);
    assert_eq!(mails_to(&smtp, "topics@example.net").len(), 2);
    assert_eq!(mails_to(&smtp, "plain@example.net").len(), 3);
    assert_eq!(mails_to(&smtp, "reader@example.com").len(), 1);
    // An issue for `events` does.
    project.edit(
        "issues/example/issue.toml",
        "audience  = [\"weekly\"]",
        "audience  = [\"events\"]",
    );
    send(&project);
    assert_eq!(mails_to(&smtp, "topics@example.net").len(), 3);
    assert_eq!(mails_to(&smtp, "plain@example.net").len(), 3);
    assert_eq!(mails_to(&smtp, "reader@example.com").len(), 1);
}
