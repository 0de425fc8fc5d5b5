//! The reader's own page (`[preferences]`) over HTTP on 127.0.0.1: the
//! link in every message, the "email me my link" form that tells nobody
//! who reads, the data export by mail, and leaving from the page.

use std::time::Duration;

use mail_parser::MimeHeaders;

use crate::smtp;
use crate::subscribe::{
    agent, encode, entry, get, mails_to, parts, post, project, stamp, wait_for, SECRET,
};
use crate::support::Served;

const PREFERENCES: &str = "\n[preferences]\nurl = \"https://news.example.com/preferences\"";
const JANE: &str = "jane.doe@example.org";

/// The link to the preference page in a mail's parts.
fn link_in(mail: &smtp::Received) -> String {
    let text = parts(&mail.data).join("\n");
    let at = text
        .find("https://news.example.com/preferences?")
        .expect("the mail has the link");
    text[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
        .collect()
}

// Test that the "email me my link" form mails a signed link only to a
// reader on the list and answers every address alike, at most once per ten
// minutes; that the link opens the reader's page (a wrong token does not);
// that the page mails the reader their data as text and JSON; and that
// leaving from it unsubscribes.
#[test]
fn a_reader_gets_their_link_by_mail_manages_and_leaves_and_nobody_learns_who_reads() {
    let smtp = smtp::Server::start(smtp::Script::default());
    let project = project(smtp.port, PREFERENCES);
    let served = Served::start(&project, SECRET, &[]);
    let base = &served.base;
    let page_url = format!("{base}/preferences");

    let (status, page) = get(&page_url);
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("<html lang=\"ko\">") && page.contains("구독 설정 링크 받기"),
        "{page}"
    );
    assert!(!page.contains("<script"), "the page needs no JavaScript");

    let fresh = stamp(base);
    std::thread::sleep(Duration::from_millis(2100));
    let ask = |email: &str| {
        post(
            &agent(),
            &format!("{page_url}/link"),
            &format!("email={}&website=&f={}", encode(email), encode(&fresh)),
            None,
        )
    };
    let (status, listed) = ask(JANE);
    assert_eq!(status, 200, "{listed}");
    let (status, unknown) = ask("nobody@example.net");
    assert_eq!(status, 200, "{unknown}");
    assert_eq!(
        listed.replace(JANE, "ADDRESS"),
        unknown.replace("nobody@example.net", "ADDRESS"),
        "the answer tells who reads"
    );
    wait_for("the link mail", || mails_to(&smtp, JANE).len() == 1);
    assert_eq!(ask(JANE).0, 200);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(mails_to(&smtp, JANE).len(), 1, "one link per ten minutes");
    assert!(mails_to(&smtp, "nobody@example.net").is_empty());

    let link = link_in(&mails_to(&smtp, JANE)[0]);
    let token = letterpress::preferences_token(SECRET.as_bytes(), JANE);
    assert_eq!(
        link,
        format!("https://news.example.com/preferences?e=jane.doe%40example.org&t={token}")
    );
    let own = format!("{page_url}?e={}&t={token}", encode(JANE));
    let (status, page) = get(&own);
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("모든 메일 구독 취소") && page.contains("내 정보를 메일로 받기"),
        "{page}"
    );
    let unsubscribe_token = letterpress::token(SECRET.as_bytes(), JANE);
    let (status, _) = get(&format!(
        "{page_url}?e={}&t={unsubscribe_token}",
        encode(JANE)
    ));
    assert_eq!(status, 400, "an unsubscribe token opens no preference page");

    let form = |action: &str| format!("e={}&t={token}&a={action}", encode(JANE));
    let (status, page) = post(&agent(), &page_url, &form("data"), None);
    assert_eq!(status, 200, "{page}");
    wait_for("the data mail", || mails_to(&smtp, JANE).len() == 2);
    let data = &mails_to(&smtp, JANE)[1];
    let message = mail_parser::MessageParser::default()
        .parse(&data.data)
        .unwrap();
    let attachment = message.attachment(0).expect("the JSON is attached");
    assert_eq!(attachment.attachment_name(), Some("letterpress-data.json"));
    let held: serde_json::Value = serde_json::from_slice(attachment.contents()).unwrap();
    assert_eq!(held["entries"][0]["email"], JANE);
    assert!(parts(&data.data)
        .join("\n")
        .contains("In the list: 1 entry"));

    let (status, page) = post(&agent(), &page_url, &form("leave"), None);
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        entry(&project, JANE).unwrap().status,
        letterpress::Status::Unsubscribed
    );
    let (status, page) = get(&own);
    assert_eq!(status, 200);
    assert!(page.contains("구독 중이 아닙니다"), "{page}");
}

// Test that every message of a send carries the reader's own signed link
// to the preference page, in the HTML and the text part.
#[test]
fn every_message_links_to_the_readers_own_page() {
    let project = project(2525, PREFERENCES);
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["send", "example", "--dry-run", "--out", "out"])
        .assert()
        .success();
    let mail = std::fs::read(project.path("out/jane.doe@example.org.eml")).unwrap();
    let token = letterpress::preferences_token(SECRET.as_bytes(), JANE);
    let link = format!("https://news.example.com/preferences?e=jane.doe%40example.org&t={token}");
    let decoded = parts(&mail);
    assert_eq!(decoded.len(), 2);
    let text = decoded[0].replace("\r\n", "\n");
    assert!(text.contains(&format!("구독 설정 변경:\n{link}")), "{text}");
    assert!(
        decoded[1].contains(&format!("href=\"{}\"", link.replace('&', "&amp;"))),
        "{}",
        decoded[1]
    );
}
