//! The example email rendered in headless Chromium, driven over WebDriver
//! (chromedriver): no horizontal scrolling on a 375 px phone, a column of at
//! most 600 px on an 800 px screen. Screenshots land in target/screenshots/.

use crate::support;

use crate::smtp;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{require, Project, Served};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver on a free loopback port, stopped on drop.
struct Driver {
    child: Child,
    base: String,
}

impl Driver {
    fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while ureq::get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver { child, base }
    }

    fn post(&self, path: &str, body: Value) -> Value {
        let mut response = ureq::post(&format!("{}{path}", self.base))
            .send_json(&body)
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        response.body_mut().read_json::<Value>().unwrap()["value"].take()
    }

    /// A browser session whose viewport is `width` px wide. Headless windows
    /// are at least 500 px wide, so narrower widths emulate a phone.
    fn session(&self, width: u32, profile: &Path) -> Session<'_> {
        let args = [
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--hide-scrollbars".into(),
            // Loopback only: the example's remote images (example.com) fail
            // at once instead of waiting for a network that is not there,
            // which held up page loads (and the preview test) by seconds.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost".into(),
            format!("--window-size={width},900"),
            format!("--user-data-dir={}", profile.display()),
        ];
        let mut options = json!({"binary": CHROMIUM, "args": args});
        if width < 500 {
            options["mobileEmulation"] = json!({"deviceMetrics": {"width": width, "height": 812, "pixelRatio": 1.0, "touch": true, "mobile": true}});
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options
        }}});
        let value = self.post("/session", caps);
        let id = value["sessionId"].as_str().expect("session id").to_string();
        Session { driver: self, id }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Session<'a> {
    driver: &'a Driver,
    id: String,
}

impl Session<'_> {
    fn open(&self, url: &str) {
        self.driver
            .post(&format!("/session/{}/url", self.id), json!({ "url": url }));
    }

    fn eval(&self, script: &str) -> Value {
        self.driver.post(
            &format!("/session/{}/execute/sync", self.id),
            json!({ "script": script, "args": [] }),
        )
    }

    /// The WebDriver id of the first element matching `css`.
    fn find(&self, css: &str) -> String {
        let value = self.driver.post(
            &format!("/session/{}/element", self.id),
            json!({ "using": "css selector", "value": css }),
        );
        value["element-6066-11e4-a52e-4f735466cecf"]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {value}"))
            .to_string()
    }

    /// Types `text` into the element `css`, as a person would.
    fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.driver.post(
            &format!("/session/{}/element/{element}/value", self.id),
            json!({ "text": text }),
        );
    }

    fn click(&self, css: &str) {
        let element = self.find(css);
        self.driver.post(
            &format!("/session/{}/element/{element}/click", self.id),
            json!({}),
        );
    }

    /// Waits until the page's text contains `needle`.
    fn wait_for_text(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let text = self.eval("return document.body ? document.body.innerText : '';");
            if text.as_str().is_some_and(|t| t.contains(needle)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{needle:?} did not appear: {text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn screenshot(&self, path: &Path) {
        let mut response = ureq::get(&format!(
            "{}/session/{}/screenshot",
            self.driver.base, self.id
        ))
        .call()
        .unwrap();
        let value: Value = response.body_mut().read_json().unwrap();
        let png = support::decode_base64(value["value"].as_str().unwrap());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.driver.base, self.id)).call();
    }
}

const MEASURE: &str = r#"
    const c = document.querySelector('div.container').getBoundingClientRect();
    return {
        viewport: window.innerWidth,
        scrollWidth: document.documentElement.scrollWidth,
        bodyScrollWidth: document.body.scrollWidth,
        columnLeft: c.left,
        columnWidth: c.width,
        hangul: document.fonts.check('16px "NanumGothic"'),
        widest: Math.max(...Array.from(document.querySelectorAll('body *')).map(e => e.getBoundingClientRect().right)),
    };
"#;

#[test]
fn renders_fluid_on_phone_and_centred_on_desktop() {
    if !require(
        CHROMEDRIVER,
        "apt-get install -y chromium chromium-driver fonts-nanum",
    ) || !require(CHROMIUM, "apt-get install -y chromium")
    {
        return;
    }
    let project = Project::example();
    project.build();
    let url = format!("file://{}", project.path("out/email.html").display());
    let driver = Driver::start();
    let shots = support::repo().join("target/screenshots");

    let profile = tempfile::tempdir().unwrap();
    let phone = driver.session(375, profile.path());
    phone.open(&url);
    let m = phone.eval(MEASURE);
    assert_eq!(m["viewport"], 375, "{m}");
    assert!(
        m["scrollWidth"].as_f64().unwrap() <= 375.0,
        "horizontal scrolling at 375 px: {m}"
    );
    assert!(m["bodyScrollWidth"].as_f64().unwrap() <= 375.0, "{m}");
    assert!(
        m["widest"].as_f64().unwrap() <= 375.5,
        "an element sticks out at 375 px: {m}"
    );
    assert!(
        m["columnWidth"].as_f64().unwrap() >= 370.0,
        "the column is not full width on a phone: {m}"
    );
    phone.screenshot(&shots.join("email-375.png"));
    drop(phone);

    let profile = tempfile::tempdir().unwrap();
    let desktop = driver.session(800, profile.path());
    desktop.open(&url);
    let m = desktop.eval(MEASURE);
    assert_eq!(m["viewport"], 800, "{m}");
    let width = m["columnWidth"].as_f64().unwrap();
    assert!(
        (590.0..=600.0).contains(&width),
        "column is {width} px at 800 px: {m}"
    );
    let left = m["columnLeft"].as_f64().unwrap();
    assert!(
        (left - (800.0 - width) / 2.0).abs() <= 1.0,
        "column not centred: {m}"
    );
    assert!(m["scrollWidth"].as_f64().unwrap() <= 800.0, "{m}");
    desktop.screenshot(&shots.join("email-800.png"));
}

// Test that the live preview shows a saved change without a manual reload,
// and how long that takes.
#[test]
fn preview_reloads_by_itself_after_a_save() {
    if !require(
        CHROMEDRIVER,
        "apt-get install -y chromium chromium-driver fonts-nanum",
    ) || !require(CHROMIUM, "apt-get install -y chromium")
    {
        return;
    }
    let project = Project::example();
    let served = Served::start(&project, "preview-test-secret-0123", &["--preview"]);
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let browser = driver.session(1400, profile.path());
    browser.open(&format!("{}/preview/example", served.base));
    let frame_text = "return (document.querySelector('iframe') && document.querySelector('iframe').contentDocument && document.querySelector('iframe').contentDocument.body) ? document.querySelector('iframe').contentDocument.body.innerText : '';";
    let wait_for = |needle: &str| -> Duration {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if browser
                .eval(frame_text)
                .as_str()
                .is_some_and(|t| t.contains(needle))
            {
                return start.elapsed();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{needle:?} did not appear in the preview");
    };
    wait_for("뷰스레터플러스 48호입니다");
    let mut latencies = Vec::new();
    for round in 0..5 {
        let marker = format!("저장 후 바로 보이는 문장 {round}");
        project.edit(
            "issues/example/01-intro.md",
            "뷰스레터플러스 48호입니다.",
            &format!("뷰스레터플러스 48호입니다. {marker}."),
        );
        latencies.push(wait_for(&marker));
        project.edit("issues/example/01-intro.md", &format!(" {marker}."), "");
        std::thread::sleep(Duration::from_millis(300));
    }
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    println!("save-to-preview latency: median {median:?} of {latencies:?}");
    assert!(
        median < Duration::from_secs(1),
        "the preview took {median:?} to show a saved change"
    );
}

// A reader on a phone subscribes through the form, confirms from the mail,
// and gets the welcome issue: real Chromium, real serve, real list.
#[test]
fn a_reader_subscribes_on_a_phone_and_confirms_in_the_browser() {
    if !require(
        CHROMEDRIVER,
        "apt-get install -y chromium chromium-driver fonts-nanum",
    ) || !require(CHROMIUM, "apt-get install -y chromium")
    {
        return;
    }
    let relay = smtp::Server::start(smtp::Script::default());
    let project = Project::example();
    project.edit(
        "config/newsletter.toml",
        "port         = 2525",
        &format!("port         = {}", relay.port),
    );
    let list = "config/subscribers.toml";
    let original = project.read(list);
    let served = Served::start(&project, "browser-subscribe-secret", &[]);
    let driver = Driver::start();
    let shots = support::repo().join("target/screenshots");
    let profile = tempfile::tempdir().unwrap();
    let phone = driver.session(375, profile.path());

    phone.open(&format!("{}/subscribe", served.base));
    let opened = Instant::now();
    let m = phone.eval("return {lang: document.documentElement.lang, viewport: window.innerWidth, scrollWidth: document.documentElement.scrollWidth, label: document.querySelector('label[for=email]').innerText, width: document.querySelector('#email').getBoundingClientRect().width};");
    assert_eq!(m["lang"], "ko", "{m}");
    assert_eq!(m["label"], "이메일 주소", "{m}");
    assert!(
        m["scrollWidth"].as_f64().unwrap() <= 375.0,
        "horizontal scrolling at 375 px: {m}"
    );
    assert!(
        m["width"].as_f64().unwrap() >= 300.0,
        "the address field is cramped: {m}"
    );
    phone.type_into("#email", "phone.reader@example.net");
    phone.type_into("#name", "김휴대");
    phone.screenshot(&shots.join("subscribe-375.png"));
    // A person takes more than two seconds; the form refuses anything faster.
    if let Some(rest) = Duration::from_millis(2200).checked_sub(opened.elapsed()) {
        std::thread::sleep(rest);
    }
    phone.click("button[type=submit]");
    phone.wait_for_text("메일함을 확인해 주세요");

    let deadline = Instant::now() + Duration::from_secs(15);
    let mail = loop {
        if let Some(mail) = relay.received().into_iter().next() {
            break mail;
        }
        assert!(Instant::now() < deadline, "no confirmation mail arrived");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(mail.to, vec!["phone.reader@example.net".to_string()]);
    let message = mail_parser::MessageParser::default()
        .parse(&mail.data)
        .unwrap();
    let text = message.body_text(0).unwrap().into_owned();
    assert!(
        !text.contains("김휴대"),
        "the mail carries the submitted name:\n{text}"
    );
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/subscribe/confirm?t="))
        .expect("the mail has the link")
        .replace("https://news.example.com", &served.base);

    // Following the link shows a button and changes nothing.
    phone.open(&link);
    phone.wait_for_text("구독 확인");
    assert_eq!(
        project.read(list),
        original,
        "opening the link changed the list"
    );
    phone.screenshot(&shots.join("confirm-375.png"));
    phone.click("button[type=submit]");
    phone.wait_for_text("구독되었습니다");

    let readers = letterpress::List::load(&project.path(list)).unwrap();
    let reader = readers
        .entries
        .iter()
        .find(|e| e.email() == "phone.reader@example.net")
        .expect("the reader is on the list")
        .subscriber();
    assert_eq!(reader.status, letterpress::Status::Active);
    assert_eq!(reader.name.as_deref(), Some("김휴대"));
    assert_eq!(reader.source.as_deref(), Some("form"));
    assert!(reader.joined().is_some(), "subscribed_at is RFC 3339");
    assert!(project.read(list).starts_with(&original));

    // The welcome issue follows.
    let deadline = Instant::now() + Duration::from_secs(20);
    while relay.received().len() < 2 {
        assert!(Instant::now() < deadline, "no welcome mail arrived");
        std::thread::sleep(Duration::from_millis(100));
    }
    let welcome = &relay.received()[1];
    let message = mail_parser::MessageParser::default()
        .parse(&welcome.data)
        .unwrap();
    assert_eq!(welcome.to, vec!["phone.reader@example.net".to_string()]);
    assert!(message.subject().unwrap().contains("환영합니다"));
    assert!(message.body_text(0).unwrap().contains("김휴대님"));
}

// The topics of the subscribe form on a phone: long Korean names and
// descriptions wrap inside the column, each box is ticked by its label.
#[test]
fn the_topic_boxes_fit_a_phone_and_are_ticked_by_their_label() {
    if !require(
        CHROMEDRIVER,
        "apt-get install -y chromium chromium-driver fonts-nanum",
    ) || !require(CHROMIUM, "apt-get install -y chromium")
    {
        return;
    }
    let project = Project::example();
    let config = project.read("config/newsletter.toml");
    let topics = concat!(
        "\n[[topics]]\ntag = \"weekly\"\nname = { ko = \"주간 뉴스레터\", en = \"Weekly\" }\n",
        "description = \"매주 금요일 아침에 보내 드리는 인공지능과 스타트업 소식, 투자 동향과 채용 공고까지 한 번에 정리한 요약\"\n",
        "\n[[topics]]\ntag = \"events\"\nname = \"행사와 모임 안내: 서울·부산·대전에서 열리는 밋업과 컨퍼런스\"\n",
    );
    project.write("config/newsletter.toml", format!("{config}{topics}"));
    let served = Served::start(&project, "browser-topics-secret", &[]);
    let driver = Driver::start();
    let shots = support::repo().join("target/screenshots");
    let profile = tempfile::tempdir().unwrap();
    let phone = driver.session(375, profile.path());
    phone.open(&format!("{}/subscribe", served.base));
    let m = phone.eval("const box = document.querySelector('#topic-1').getBoundingClientRect(); return {viewport: window.innerWidth, scrollWidth: document.documentElement.scrollWidth, widest: Math.max(...Array.from(document.querySelectorAll('body *')).map(e => e.getBoundingClientRect().right)), legend: document.querySelector('legend').innerText, label: document.querySelector('label[for=topic-0]').innerText, boxWidth: box.width, ticked: document.querySelector('#topic-1').checked};");
    assert_eq!(m["viewport"], 375, "{m}");
    assert!(
        m["scrollWidth"].as_f64().unwrap() <= 375.0,
        "horizontal scrolling at 375 px: {m}"
    );
    assert!(
        m["widest"].as_f64().unwrap() <= 375.5,
        "an element sticks out at 375 px: {m}"
    );
    assert_eq!(m["legend"], "받아 볼 주제", "{m}");
    assert!(
        m["label"].as_str().unwrap().starts_with("주간 뉴스레터"),
        "{m}"
    );
    assert!(
        m["boxWidth"].as_f64().unwrap() >= 18.0,
        "a box too small to tap: {m}"
    );
    assert_eq!(m["ticked"], false, "{m}");
    phone.click("label[for=topic-1]");
    let ticked = phone.eval("return document.querySelector('#topic-1').checked;");
    assert_eq!(ticked, true, "the label does not tick its box");
    phone.screenshot(&shots.join("subscribe-topics-375.png"));
}

// The reader's own page on a phone: opened from the link of their mails,
// a topic unticked and a pause chosen by tapping labels, saved, without
// horizontal scrolling at 375 px; the list then holds the change.
#[test]
fn a_reader_changes_topics_and_pauses_on_their_page_on_a_phone() {
    if !require(
        CHROMEDRIVER,
        "apt-get install -y chromium chromium-driver fonts-nanum",
    ) || !require(CHROMIUM, "apt-get install -y chromium")
    {
        return;
    }
    let relay = smtp::Server::start(smtp::Script::default());
    let project = Project::example();
    project.edit(
        "config/newsletter.toml",
        "port         = 2525",
        &format!("port         = {}", relay.port),
    );
    let config = project.read("config/newsletter.toml");
    let extra = concat!(
        "\n[[topics]]\ntag = \"weekly\"\nname = { ko = \"주간 뉴스레터\", en = \"Weekly\" }\n",
        "description = \"매주 금요일 아침에 보내 드리는 인공지능과 스타트업 소식, 투자 동향과 채용 공고까지 한 번에 정리한 요약\"\n",
        "\n[[topics]]\ntag = \"events\"\nname = \"행사와 모임 안내: 서울·부산·대전에서 열리는 밋업과 컨퍼런스\"\n",
    );
    project.write("config/newsletter.toml", format!("{config}{extra}"));
    let secret = "browser-preferences-secret";
    let served = Served::start(&project, secret, &[]);
    let email = "jane.doe@example.org";
    // The link every message carries, on this server.
    let token = letterpress::preferences_token(secret.as_bytes(), email);
    let link = format!(
        "{}/preferences?e=jane.doe%40example.org&t={token}",
        served.base
    );
    let driver = Driver::start();
    let shots = support::repo().join("target/screenshots");
    let profile = tempfile::tempdir().unwrap();
    let phone = driver.session(375, profile.path());
    let fits = |what: &str| {
        let m = phone.eval("return {viewport: window.innerWidth, scrollWidth: document.documentElement.scrollWidth, widest: Math.max(...Array.from(document.querySelectorAll('body *')).map(e => e.getBoundingClientRect().right))};");
        assert_eq!(m["viewport"], 375, "{what}: {m}");
        assert!(
            m["scrollWidth"].as_f64().unwrap() <= 375.0,
            "{what}: horizontal scrolling at 375 px: {m}"
        );
        assert!(
            m["widest"].as_f64().unwrap() <= 375.5,
            "{what}: an element sticks out at 375 px: {m}"
        );
    };

    phone.open(&link);
    phone.wait_for_text("구독 설정");
    fits("the reader's page");
    let state = "return {weekly: document.querySelector('#topic-0').checked, events: document.querySelector('#topic-1').checked, keep: document.querySelector('#pause-0').checked, four: document.querySelector('#pause-4').checked, name: document.querySelector('#name').value, scripts: document.scripts.length};";
    let m = phone.eval(state);
    assert_eq!(
        m,
        json!({"weekly": true, "events": false, "keep": true, "four": false, "name": "Jane Doe", "scripts": 0})
    );
    phone.click("label[for=topic-0]");
    phone.click("label[for=pause-4]");
    let m = phone.eval(state);
    assert_eq!(m["weekly"], false, "the label does not untick its box: {m}");
    assert_eq!(m["four"], true, "the label does not choose its pause: {m}");
    phone.screenshot(&shots.join("preferences-375.png"));
    phone.eval("window.scrollTo(0, document.documentElement.scrollHeight); return null;");
    phone.screenshot(&shots.join("preferences-375-end.png"));
    phone.click("input[name=a][value=save] ~ button[type=submit]");
    phone.wait_for_text("저장했습니다");
    phone.wait_for_text("까지 메일을 보내 드리지 않습니다");
    fits("the saved page");
    phone.screenshot(&shots.join("preferences-saved-375.png"));

    let reader = letterpress::List::load(&project.path("config/subscribers.toml"))
        .unwrap()
        .entries
        .into_iter()
        .find(|e| e.email() == email)
        .expect("the reader is on the list")
        .subscriber();
    assert_eq!(reader.status, letterpress::Status::Active);
    assert_eq!(reader.tags, ["english"], "weekly unticked, english kept");
    assert_eq!(reader.name.as_deref(), Some("Jane Doe"));
    let until: jiff::Timestamp = reader.paused_until.as_deref().unwrap().parse().unwrap();
    let left = until.duration_since(jiff::Timestamp::now()).as_secs();
    assert!((28 * 86_400 - 300..=28 * 86_400).contains(&left), "{until}");

    // Back on the page, the pause shows with a way to end it.
    phone.click("a");
    phone.wait_for_text("지금 다시 받기");
    fits("the page of a paused reader");
    phone.screenshot(&shots.join("preferences-paused-375.png"));
}

// The stats page of `serve --preview`: the figures and both SVG charts
// render in Chromium at phone and desktop width, with no script of ours;
// without --preview the page does not exist.
#[test]
fn the_stats_page_renders_its_charts_and_only_with_preview() {
    if !require(
        CHROMEDRIVER,
        "apt-get install -y chromium chromium-driver fonts-nanum",
    ) || !require(CHROMIUM, "apt-get install -y chromium")
    {
        return;
    }
    let secret = "stats-page-test-secret-0123456789";
    let project = Project::example();
    let config = project.read("config/newsletter.toml");
    project.write(
        "config/newsletter.toml",
        format!("{config}\n[tracking]\nclicks = true\n"),
    );
    // Three readers accepted over two minutes, one refused; two clicks.
    project.write(
        "state/example.journal",
        "# issue: issues/example\n2026-11-27T09:00:01Z accepted a@example.com attempts=1 reply=\"250 ok\"\n2026-11-27T09:00:40Z failed b@example.com attempts=1 reply=\"550 no\"\n2026-11-27T09:01:30Z accepted c@example.com attempts=1 reply=\"250 ok\"\n2026-11-27T09:02:10Z accepted d@example.com attempts=1 reply=\"250 ok\"\n",
    );
    project.write(
        "state/clicks.log",
        "2026-11-27T10:00:00Z example 1 person\n2026-11-27T10:05:00Z example 2 head\n",
    );

    let public = Served::start(&project, secret, &[]);
    let status = ureq::get(&format!("{}/stats/example", public.base))
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(
        status, 404,
        "the stats page must not exist without --preview"
    );
    drop(public);

    let served = Served::start(&project, secret, &["--preview"]);
    let driver = Driver::start();
    for width in [375, 800] {
        let profile = tempfile::tempdir().unwrap();
        let browser = driver.session(width, profile.path());
        browser.open(&format!("{}/stats/example", served.base));
        browser.wait_for_text("Clicks per link");
        let page = browser.eval(
            r#"
            const q = (s) => document.querySelector(s);
            const box = (s) => q(s).getBoundingClientRect();
            return {
                accepted: q('#accepted').innerText,
                refused: q('#refused').innerText,
                line: document.querySelectorAll('#accepted-chart polyline').length,
                bars: document.querySelectorAll('#clicks-chart rect').length,
                linkRows: document.querySelectorAll('#links tr').length,
                chartWidth: box('#accepted-chart').width,
                clicksWidth: box('#clicks-chart').width,
                scripts: document.querySelectorAll('script').length,
                overflow: document.documentElement.scrollWidth - window.innerWidth,
            };
        "#,
        );
        assert_eq!(page["accepted"], "3", "{width}px: {page}");
        assert_eq!(page["refused"], "1", "{width}px: {page}");
        assert_eq!(page["line"], 1, "{width}px: {page}");
        let links = page["linkRows"].as_u64().unwrap() - 1;
        assert!(links >= 2, "{width}px: {page}");
        assert_eq!(page["bars"].as_u64(), Some(2 * links), "{width}px: {page}");
        assert!(
            page["chartWidth"].as_f64().unwrap() > 200.0,
            "{width}px: {page}"
        );
        assert!(
            page["clicksWidth"].as_f64().unwrap() > 200.0,
            "{width}px: {page}"
        );
        assert_eq!(page["scripts"], 0, "{width}px: {page}");
        assert!(
            page["overflow"].as_f64().unwrap() <= 0.0,
            "{width}px: {page}"
        );
        browser.screenshot(&project.path(&format!("shots/stats-{width}.png")));
    }
}

const FIREFOX: &str = "/usr/bin/firefox-esr";
const XVFB_RUN: &str = "/usr/bin/xvfb-run";
const GI_PYTHON: &str = "/usr/bin/python3";

/// A section of text that cannot break at spaces: a long URL as its own
/// link text, an autolink, long inline code, a long identifier and long
/// Korean words, which must stay whole.
const UNBREAKABLE: &str = "+++\ntitle = \"긴 주소와 식별자\"\n+++\n\
[https://example.com/articles/2026/12/a-very-long-address-that-is-its-own-link-text?utm_source=letterpress&utm_medium=email](https://example.com/articles/2026/12/a-very-long-address-that-is-its-own-link-text?utm_source=letterpress&utm_medium=email)\n\n\
<https://example.org/essays/remember-why-a-long-address-that-must-never-be-broken-across-lines>\n\n\
`letterpress::compose::html::a_very_long_function_name_without_any_space()` 와 \
SHA256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 를 보세요.\n\n\
스타트업생태계활성화지원사업 설명회에 참석하셨던 분들께 드리는 안내 말씀입니다.\n";

/// Every page a reader may open, both themes, light and dark: the email
/// and the web version of the example with [`UNBREAKABLE`] added, built
/// into `dir`. Dark is the same page with its `prefers-color-scheme: dark`
/// rules applied unconditionally, so every engine renders them.
fn pages_to_render(dir: &Path) -> Vec<std::path::PathBuf> {
    let project = Project::example();
    project.write("issues/example/07-unbreakable.md", UNBREAKABLE);
    let mut pages = Vec::new();
    for theme in ["default", "letter"] {
        project.edit(
            "config/newsletter.toml",
            "theme          = \"default\"",
            &format!("theme          = \"{theme}\""),
        );
        let out = format!("out-{theme}");
        project
            .cmd()
            .args(["build", "issues/example", "--out", &out])
            .assert()
            .success();
        project.edit(
            "config/newsletter.toml",
            &format!("theme          = \"{theme}\""),
            "theme          = \"default\"",
        );
        for page in ["email", "web"] {
            let html = project.read(&format!("{out}/{page}.html"));
            assert!(
                html.contains("prefers-color-scheme: dark"),
                "{theme} {page}"
            );
            let dark = html.replace("@media (prefers-color-scheme: dark)", "@media all");
            for (mode, text) in [("light", &html), ("dark", &dark)] {
                let path = dir.join(format!("{theme}-{page}-{mode}.html"));
                std::fs::write(&path, text).unwrap();
                pages.push(path);
            }
        }
    }
    pages
}

/// (page, scroll width, viewport width) of each page in Chromium.
fn widths_in_chromium(pages: &[std::path::PathBuf], width: u32) -> Vec<(String, f64, f64)> {
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let session = driver.session(width, profile.path());
    pages
        .iter()
        .map(|page| {
            session.open(&format!("file://{}", page.display()));
            let m =
                session.eval("return [document.documentElement.scrollWidth, window.innerWidth];");
            (
                page.display().to_string(),
                m[0].as_f64().unwrap(),
                m[1].as_f64().unwrap(),
            )
        })
        .collect()
}

/// The same in WebKitGTK, through `tests/support/webkit_width.py`.
fn widths_in_webkit(
    pages: &[std::path::PathBuf],
    width: u32,
    shots: &Path,
) -> Vec<(String, f64, f64)> {
    std::fs::create_dir_all(shots).unwrap();
    let output = Command::new(XVFB_RUN)
        .arg("-a")
        .arg(GI_PYTHON)
        .arg(support::repo().join("tests/support/webkit_width.py"))
        .arg(width.to_string())
        .arg("--png")
        .arg(shots)
        .args(pages)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "WebKitGTK: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let widths: Vec<_> = stdout
        .lines()
        .map(|line| {
            let mut fields = line.split('\t');
            let page = fields.next().unwrap().to_string();
            let scroll = fields.next().unwrap().parse().unwrap();
            let inner = fields.next().unwrap().parse().unwrap();
            (page, scroll, inner)
        })
        .collect();
    assert_eq!(widths.len(), pages.len(), "{stdout}");
    widths
}

/// The same in Firefox ESR (Gecko, the engine of Thunderbird): each page
/// is served from a loopback listener with a line of script added that,
/// once the page has loaded, reports its widths back with a synchronous
/// request, while `firefox --headless --screenshot` renders it.
fn widths_in_firefox(
    pages: &[std::path::PathBuf],
    width: u32,
    shots: &Path,
) -> Vec<(String, f64, f64)> {
    use std::io::{BufRead, BufReader, Write};
    std::fs::create_dir_all(shots).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (report, reports) = std::sync::mpsc::channel::<(String, f64, f64)>();
    let files: Vec<std::path::PathBuf> = pages.to_vec();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            let target = request.split(' ').nth(1).unwrap_or("/").to_string();
            if let Some(query) = target.strip_prefix("/widths?") {
                let field = |key: &str| {
                    query
                        .split('&')
                        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
                        .unwrap_or("")
                        .to_string()
                };
                let n: usize = field("page").parse().unwrap_or(usize::MAX);
                let page = files
                    .get(n)
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                let _ = report.send((
                    page,
                    field("scroll").parse().unwrap_or(f64::MAX),
                    field("inner").parse().unwrap_or(0.0),
                ));
                let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
                continue;
            }
            let n: usize = target.trim_start_matches('/').parse().unwrap_or(usize::MAX);
            let Some(path) = files.get(n) else {
                let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
                continue;
            };
            let script = format!(
                "<script>addEventListener('load', function () {{ var r = new XMLHttpRequest(); r.open('GET', '/widths?page={n}&scroll=' + document.documentElement.scrollWidth + '&inner=' + window.innerWidth, false); r.send(); }});</script></body>"
            );
            let html = std::fs::read_to_string(path)
                .unwrap()
                .replace("</body>", &script);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
                html.len()
            );
        }
    });
    let mut widths = Vec::new();
    for (n, page) in pages.iter().enumerate() {
        let profile = tempfile::tempdir().unwrap();
        let name = page.file_stem().unwrap().to_string_lossy();
        let status = Command::new(FIREFOX)
            .args(["--headless", "--no-remote", "--profile"])
            .arg(profile.path())
            .arg(format!("--window-size={width},900"))
            .arg("--screenshot")
            .arg(shots.join(format!("firefox-{width}-{name}.png")))
            .arg(format!("http://127.0.0.1:{port}/{n}"))
            .env("HOME", profile.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "firefox failed on {}", page.display());
        widths.push(
            reports
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("Firefox reported no widths for {}", page.display())),
        );
    }
    widths
}

#[test]
fn no_page_is_wider_than_the_screen_in_chromium_webkit_and_gecko() {
    let needs = [
        (
            CHROMEDRIVER,
            "apt-get install -y chromium chromium-driver fonts-nanum",
        ),
        (CHROMIUM, "apt-get install -y chromium"),
        (FIREFOX, "apt-get install -y firefox-esr"),
        (XVFB_RUN, "apt-get install -y xvfb xauth"),
        (
            "/usr/lib/x86_64-linux-gnu/girepository-1.0/WebKit2-4.1.typelib",
            "apt-get install -y gir1.2-webkit2-4.1 python3-gi python3-gi-cairo",
        ),
    ];
    if !needs.iter().all(|(program, why)| require(program, why)) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pages = pages_to_render(dir.path());
    let shots = support::repo().join("target/screenshots/engines");
    let mut wider = Vec::new();
    for width in [375, 800] {
        for (engine, widths) in [
            ("Chromium", widths_in_chromium(&pages, width)),
            ("WebKitGTK", widths_in_webkit(&pages, width, &shots)),
            ("Firefox", widths_in_firefox(&pages, width, &shots)),
        ] {
            assert_eq!(widths.len(), pages.len());
            for (page, scroll, inner) in widths {
                // A phone's browser zooms out to a wider page: its viewport
                // then grows with the page.
                if scroll.max(inner) > f64::from(width) {
                    wider.push(format!(
                        "{engine} at {width} px: {page} is {scroll} px wide (viewport {inner} px)"
                    ));
                }
            }
        }
    }
    assert!(
        wider.is_empty(),
        "wider than the screen:\n{}",
        wider.join("\n")
    );
}
