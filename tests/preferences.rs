//! The reader's own page (`[preferences]`) over HTTP on 127.0.0.1: the
//! link in every message, the "email me my link" form that tells nobody
//! who reads, the data export by mail, leaving from the page, and saving
//! topics, name and a pause that real sends then follow.

use std::time::Duration;

use mail_parser::MimeHeaders;

use crate::smtp;
use crate::subscribe::{
    agent, encode, entry, get, mails_to, parts, post, project, stamp, wait_for, SECRET,
};
use crate::support::Served;

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
    let project = project(smtp.port, "");
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
    let project = project(2525, "");
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

const TOPICS: &str = concat!(
    "\n[[topics]]\ntag = \"weekly\"\nname = { ko = \"주간 뉴스레터\", en = \"Weekly\" }\n",
    "description = \"매주 금요일의 AI 소식\"\n",
    "\n[[topics]]\ntag = \"events\"\nname = { ko = \"행사 안내\", en = \"Events\" }\n",
);

/// A copy of the example issue as `issues/NAME` for the readers of
/// `audience`.
fn issue(project: &crate::support::Project, name: &str, audience: &str) {
    crate::support::copy_tree(
        &project.path("issues/example"),
        &project.path(&format!("issues/{name}")),
    );
    let toml = format!("issues/{name}/issue.toml");
    project.edit(
        &toml,
        "audience  = [\"weekly\"]",
        &format!("audience  = {audience}"),
    );
    project.edit(
        &toml,
        "위기의 AI스타트업",
        &format!("{name}: 위기의 AI스타트업"),
    );
}

/// Sends `issues/NAME` to the list for real.
fn send(project: &crate::support::Project, name: &str) {
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["send", &format!("issues/{name}"), "--yes"])
        .assert()
        .success();
}

/// The subjects of the mails `address` received, in order.
fn subjects(smtp: &smtp::Server, address: &str) -> Vec<String> {
    mails_to(smtp, address)
        .iter()
        .map(|m| {
            let message = mail_parser::MessageParser::default()
                .parse(&m.data)
                .unwrap();
            message.subject().unwrap_or_default().to_string()
        })
        .collect()
}

// Test that the reader's page saves their name, topics and pause as one
// change of the list (tags that are not topics kept, bad input refused
// with 400 and nothing changed, a GET changing nothing); that a real send
// skips the paused reader and reaches them again once they resume; and
// that a reader who leaves one topic no longer gets its issues but still
// gets the other topic's.
#[test]
fn a_reader_saves_topics_name_and_a_pause_resumes_and_leaves_one_topic() {
    let smtp = smtp::Server::start(smtp::Script::default());
    let project = project(smtp.port, TOPICS);
    project.edit(
        "config/subscribers.toml",
        "email  = \"park@example.net\"\ntags   = [\"weekly\"]",
        "email  = \"park@example.net\"\ntags   = [\"weekly\", \"events\"]",
    );
    let served = Served::start(&project, SECRET, &[]);
    let page_url = format!("{}/preferences", served.base);
    let token = letterpress::preferences_token(SECRET.as_bytes(), JANE);
    let own = format!("{page_url}?e={}&t={token}", encode(JANE));
    let list = project.read("config/subscribers.toml");

    // The page shows what the list holds; opening it changes nothing.
    let (status, page) = get(&own);
    assert_eq!(status, 200, "{page}");
    let document = scraper::Html::parse_document(&page);
    let select = |css: &str| scraper::Selector::parse(css).unwrap();
    let ticked: Vec<_> = document
        .select(&select("input[name=topic][checked]"))
        .map(|b| b.value().attr("value").unwrap().to_string())
        .collect();
    assert_eq!(ticked, ["weekly"], "{page}");
    let name = document.select(&select("input#name")).next().unwrap();
    assert_eq!(name.value().attr("value"), Some("Jane Doe"));
    let keep = document.select(&select("input#pause-0")).next().unwrap();
    assert!(keep.value().attr("checked").is_some(), "{page}");
    let drops: Vec<_> = document
        .select(&select("button[form=drop][name=topic]"))
        .map(|b| b.value().attr("value").unwrap().to_string())
        .collect();
    assert_eq!(drops, ["weekly"], "only a ticked topic can be left");
    assert!(!page.contains("<script"), "the page needs no JavaScript");
    // Not even a GET that carries a whole save (a scanner following a link).
    let (status, _) = get(&format!("{own}&a=save&name=X&topic=events&pause=2"));
    assert_eq!(status, 200);
    let (status, _) = get(&format!("{own}&a=drop&topic=weekly"));
    assert_eq!(status, 200);
    assert_eq!(project.read("config/subscribers.toml"), list);
    assert!(!project.path("config/subscribers.toml.changes").exists());

    let form = |rest: &str| format!("e={}&t={token}&{rest}", encode(JANE));
    let save = |rest: &str| post(&agent(), &page_url, &form(rest), None);
    let before = entry(&project, JANE).unwrap();
    // Bad input: 400 in Korean, nothing changed.
    for (rest, problem) in [
        (
            "a=save&name=Jane&topic=vip&pause=0",
            "목록에 있는 주제 가운데에서",
        ),
        (
            "a=save&name=Jane%07Doe&topic=weekly&pause=0",
            "이름은 줄바꿈이나 제어 문자",
        ),
        (
            "a=save&name=Jane&topic=weekly&pause=3",
            "입력하신 내용을 확인해 주세요",
        ),
        ("a=drop&topic=english", "목록에 있는 주제 가운데에서"),
    ] {
        let (status, page) = save(rest);
        assert_eq!(status, 400, "{rest}: {page}");
        assert!(page.contains(problem), "{rest}: {page}");
        assert!(page.contains("<html lang=\"ko\">"), "{page}");
    }
    assert_eq!(entry(&project, JANE).unwrap(), before);

    // Weekly unticked, events ticked, a name with markup (text, not
    // markup), two weeks' pause.
    let (status, page) = save("a=save&name=Jane+%3Ci%3ED.%3C%2Fi%3E&topic=events&pause=2");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("저장했습니다"), "{page}");
    assert!(page.contains("까지 메일을 보내 드리지 않습니다"), "{page}");
    assert!(
        page.contains(&format!(
            "href=\"/preferences?e=jane.doe%40example.org&amp;t={token}\""
        )),
        "the saved page links back: {page}"
    );
    let jane = entry(&project, JANE).unwrap();
    assert_eq!(jane.name.as_deref(), Some("Jane <i>D.</i>"));
    assert_eq!(
        jane.tags,
        ["english", "events"],
        "a tag that is no topic stays"
    );
    let until: jiff::Timestamp = jane.paused_until.as_deref().unwrap().parse().unwrap();
    let weeks = until.duration_since(jiff::Timestamp::now()).as_secs();
    assert!(
        (14 * 86_400 - 120..=14 * 86_400).contains(&weeks),
        "{until}"
    );
    let (_, page) = get(&own);
    assert!(
        page.contains("value=\"Jane &lt;i&gt;D.&lt;/i&gt;\""),
        "{page}"
    );
    assert!(page.contains("지금 다시 받기"), "{page}");
    let local = until
        .to_zoned(jiff::tz::TimeZone::get("Asia/Seoul").unwrap())
        .strftime("%Y-%m-%d %H:%M KST")
        .to_string();
    assert!(
        page.contains(&local),
        "the end of the pause in Seoul time: {page}"
    );

    // A send for both topics skips the paused reader.
    issue(&project, "first", "[\"weekly\", \"events\"]");
    send(&project, "first");
    assert!(
        subjects(&smtp, JANE).is_empty(),
        "{:?}",
        subjects(&smtp, JANE)
    );
    assert_eq!(subjects(&smtp, "park@example.net").len(), 1);

    // Resumed, the next issue reaches them.
    let (status, page) = save("a=resume");
    assert_eq!(status, 200, "{page}");
    assert_eq!(entry(&project, JANE).unwrap().paused_until, None);
    issue(&project, "second", "[\"events\"]");
    send(&project, "second");
    assert_eq!(subjects(&smtp, JANE).len(), 1);
    assert!(subjects(&smtp, JANE)[0].starts_with("second:"));

    // Both topics again, then leave one.
    let (status, page) = save("a=save&name=Jane&topic=weekly&topic=events&pause=0");
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        entry(&project, JANE).unwrap().tags,
        ["english", "weekly", "events"]
    );
    let (status, page) = save("a=drop&topic=events");
    assert_eq!(status, 200, "{page}");
    let jane = entry(&project, JANE).unwrap();
    assert_eq!(jane.tags, ["english", "weekly"]);
    assert_eq!(jane.name.as_deref(), Some("Jane"));
    issue(&project, "third", "[\"events\"]");
    send(&project, "third");
    issue(&project, "fourth", "[\"weekly\"]");
    send(&project, "fourth");
    let got = subjects(&smtp, JANE);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[1].starts_with("fourth:"), "{got:?}");
    assert!(subjects(&smtp, "park@example.net")
        .iter()
        .any(|s| s.starts_with("third:")));
    assert_eq!(jane.status, letterpress::Status::Active);
}

// Test that a reader who ticks no topic is told what that means and kept
// on the list with only their other tags: saving is not unsubscribing.
#[test]
fn ticking_no_topic_says_what_it_means_and_does_not_unsubscribe() {
    let project = project(2525, TOPICS);
    let served = Served::start(&project, SECRET, &[]);
    let page_url = format!("{}/preferences", served.base);
    let token = letterpress::preferences_token(SECRET.as_bytes(), JANE);
    let body = format!("e={}&t={token}&a=save&name=Jane&pause=0", encode(JANE));
    let (status, page) = post(&agent(), &page_url, &body, None);
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("주제별로 보내는 메일은 받지 않으시고"),
        "{page}"
    );
    let jane = entry(&project, JANE).unwrap();
    assert_eq!(jane.status, letterpress::Status::Active);
    assert_eq!(jane.tags, ["english"]);
}
