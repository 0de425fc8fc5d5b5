//! `letterpress serve` over HTTP on 127.0.0.1: one-click unsubscribe with
//! valid, tampered and replayed tokens against a real subscribers.toml,
//! concurrent edits, and the web archive.

use crate::support;

use std::time::{Duration, Instant};

use support::{Project, Served};

const SECRET: &str = "serve-test-secret";

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn link(base: &str, email: &str, token: &str) -> String {
    format!(
        "{base}/unsubscribe?e={}&t={token}",
        email.replace('@', "%40")
    )
}

fn one_click(base: &str, email: &str, token: &str) -> (u16, String) {
    let mut response = agent()
        .post(&link(base, email, token))
        .content_type("application/x-www-form-urlencoded")
        .send("List-Unsubscribe=One-Click")
        .unwrap();
    let status = response.status().as_u16();
    (status, response.body_mut().read_to_string().unwrap())
}

fn status_of(project: &Project, email: &str) -> String {
    let list = letterpress::List::load(&project.path("config/subscribers.toml")).unwrap();
    let entry = list.entries.iter().find(|e| e.email() == email).unwrap();
    format!("{:?}", entry.status())
}

#[test]
fn one_click_unsubscribes_once_and_keeps_the_file() {
    let project = Project::example();
    let served = Served::start(&project, SECRET, &[]);
    let token = letterpress::token(SECRET.as_bytes(), "jane.doe@example.org");
    let before = project.read("config/subscribers.toml");

    // GET asks; it changes nothing (mail scanners follow links).
    let mut page = agent()
        .get(&link(&served.base, "jane.doe@example.org", &token))
        .call()
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let body = page.body_mut().read_to_string().unwrap();
    assert!(
        body.contains("<form method=\"post\">") && body.contains("jane.doe@example.org"),
        "{body}"
    );
    assert_eq!(project.read("config/subscribers.toml"), before);

    let (status, body) = one_click(&served.base, "jane.doe@example.org", &token);
    assert_eq!(status, 200, "{body}");
    // Answered once it is in the change log, which every command reads.
    assert_eq!(status_of(&project, "jane.doe@example.org"), "Unsubscribed");
    let log = project.path("config/subscribers.toml.changes");
    assert!(
        project.read("config/subscribers.toml") == before || !log.exists(),
        "the list is rewritten only when the server is idle"
    );

    // Idle, the server folds the log into the file, comments kept.
    let deadline = Instant::now() + Duration::from_secs(20);
    while log.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!log.exists(), "the change log was not folded in");
    let after = project.read("config/subscribers.toml");
    assert!(after.starts_with("# The subscriber list. One [[subscriber]] table per reader.\n"));
    assert!(
        after.contains("tags   = [\"weekly\", \"english\"]\nstatus = \"unsubscribed\"\n"),
        "{after}"
    );

    // Repeating it is harmless and writes nothing.
    let (status, _) = one_click(&served.base, "jane.doe@example.org", &token);
    assert_eq!(status, 200);
    assert!(!log.exists());
    assert_eq!(project.read("config/subscribers.toml"), after);
}

#[test]
fn tampered_or_foreign_tokens_are_refused() {
    let project = Project::example();
    let served = Served::start(&project, SECRET, &[]);
    let before = project.read("config/subscribers.toml");
    let token = letterpress::token(SECRET.as_bytes(), "jane.doe@example.org");
    let mut tampered = token.clone();
    tampered.replace_range(0..1, if token.starts_with('0') { "1" } else { "0" });
    for (email, t) in [
        ("jane.doe@example.org", tampered.as_str()),
        ("reader@example.com", token.as_str()),
        ("jane.doe@example.org", ""),
        (
            "jane.doe@example.org",
            &letterpress::token(b"another secret", "jane.doe@example.org"),
        ),
    ] {
        let (status, body) = one_click(&served.base, email, t);
        assert_eq!(status, 400, "{email} {t}: {body}");
        let get = agent().get(&link(&served.base, email, t)).call().unwrap();
        assert_eq!(get.status().as_u16(), 400);
    }
    assert_eq!(project.read("config/subscribers.toml"), before);
}

#[test]
fn the_confirmation_form_unsubscribes_too() {
    let project = Project::example();
    let served = Served::start(&project, SECRET, &[]);
    let token = letterpress::token(SECRET.as_bytes(), "park@example.net");
    let response = agent()
        .post(&format!("{}/unsubscribe", served.base))
        .content_type("application/x-www-form-urlencoded")
        .send(format!("e=park%40example.net&t={token}"))
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(status_of(&project, "park@example.net"), "Unsubscribed");
}

#[test]
fn concurrent_unsubscribes_and_cli_edits_lose_nothing() {
    let project = Project::example();
    let mut list = project.read("config/subscribers.toml");
    for i in 0..40 {
        list.push_str(&format!(
            "\n[[subscriber]]\nemail = \"reader{i}@example.net\"\n"
        ));
    }
    project.write("config/subscribers.toml", list);
    let served = Served::start(&project, SECRET, &[]);
    std::thread::scope(|scope| {
        for i in 0..40 {
            let base = served.base.clone();
            scope.spawn(move || {
                let email = format!("reader{i}@example.net");
                let token = letterpress::token(SECRET.as_bytes(), &email);
                assert_eq!(one_click(&base, &email, &token).0, 200);
            });
        }
        scope.spawn(|| {
            for i in 0..5 {
                project
                    .cmd()
                    .args(["subscribers", "add", &format!("new{i}@example.org")])
                    .assert()
                    .success();
            }
        });
    });
    let list = letterpress::List::load(&project.path("config/subscribers.toml")).unwrap();
    for i in 0..40 {
        assert_eq!(
            status_of(&project, &format!("reader{i}@example.net")),
            "Unsubscribed",
            "reader{i}"
        );
    }
    for i in 0..5 {
        assert!(
            list.find(&format!("new{i}@example.org")).is_some(),
            "the CLI edit new{i} was lost"
        );
    }
}

#[test]
fn request_bodies_are_bounded() {
    let project = Project::example();
    let served = Served::start(&project, SECRET, &[]);
    let response = agent()
        .post(&format!("{}/unsubscribe", served.base))
        .content_type("application/x-www-form-urlencoded")
        .send("x".repeat(100_000))
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
}

#[test]
fn the_archive_shows_sent_issues_without_reader_data() {
    let project = Project::example();
    let served = Served::start(&project, SECRET, &[]);
    let get = |path: &str| {
        let mut r = agent()
            .get(&format!("{}{path}", served.base))
            .call()
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    };
    let (status, index) = get("/archive/");
    assert_eq!(status, 200);
    assert!(!index.contains("example/"), "an unsent issue is listed");
    assert_eq!(get("/archive/example/").0, 404);

    project.write(
        "state/example.journal",
        "# j\n2026-11-27T09:00:01Z accepted reader@example.com attempts=1 reply=\"250 ok\"\n",
    );
    let (_, index) = get("/archive/");
    assert!(
        index.contains("<a href=\"example/\">위기의 AI스타트업... Why를 기억하라</a>"),
        "{index}"
    );
    let (status, page) = get("/archive/example/");
    assert_eq!(status, 200);
    assert!(page.contains("<title>위기의 AI스타트업... Why를 기억하라 — 뷰스레터플러스</title>"));
    for private in ["김독자", "reader@example.com", "?e="] {
        assert!(!page.contains(private), "the web version holds {private}");
    }
    let (status, feed) = get("/archive/feed.xml");
    assert_eq!(status, 200);
    assert!(feed.starts_with(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">"
    ));
    assert!(
        feed.contains("<link href=\"https://news.example.com/archive/example/\"/>"),
        "{feed}"
    );
    for path in [
        "/archive/..%2Fconfig/",
        "/archive/%2E%2E/",
        "/archive/nope/",
        "/config/newsletter.toml",
        "/preview/example",
    ] {
        assert_eq!(get(path).0, 404, "{path}");
    }
}

#[test]
fn archive_writes_static_files_and_serve_needs_the_secret() {
    let project = Project::example();
    project.write(
        "state/example.journal",
        "2026-11-27T09:00:01Z accepted reader@example.com attempts=1 reply=\"250 ok\"\n",
    );
    project
        .cmd()
        .args(["archive", "--out", "site"])
        .assert()
        .success();
    assert!(project.read("site/index.html").contains("example/"));
    assert!(project.read("site/feed.xml").contains("<entry>"));
    assert!(project
        .read("site/example/index.html")
        .contains("뷰스레터플러스"));
    project
        .cmd()
        .args(["serve", "--port", "1"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("LETTERPRESS_UNSUBSCRIBE_SECRET"));
}

#[test]
fn preview_is_off_unless_asked_and_shows_drafts_with_findings() {
    let project = Project::example();
    let plain = Served::start(&project, SECRET, &[]);
    assert_eq!(
        agent()
            .get(&format!("{}/preview/example", plain.base))
            .call()
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    drop(plain);

    let served = Served::start(&project, SECRET, &["--preview"]);
    let get = |path: &str| {
        let mut r = agent()
            .get(&format!("{}{path}", served.base))
            .call()
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    };
    let (status, index) = get("/preview/");
    assert_eq!(status, 200);
    assert!(
        index.contains("<a href=\"/preview/example\">example</a>"),
        "{index}"
    );
    let (status, page) = get("/preview/example?as=jane.doe%40example.org");
    assert_eq!(status, 200);
    assert!(
        page.contains("width=\"375\"") && page.contains("width=\"800\""),
        "two frames"
    );
    assert!(
        page.contains("Jane Doe님"),
        "the plain text is for the chosen reader"
    );
    assert!(
        page.contains("0 errors, 2 warnings"),
        "the findings of check"
    );
    assert!(page.contains("data-events=\"/preview/example/events\""));
    assert!(page.contains("new EventSource(me.events)"));
    let (status, email) = get("/preview/example/email.html?as=jane.doe%40example.org");
    assert_eq!(status, 200);
    assert!(email.contains("안녕하세요, Jane Doe님."));
    for path in [
        "/preview/..%2Fconfig",
        "/preview/nope",
        "/preview/%2E%2E/email.html",
    ] {
        assert_eq!(get(path).0, 404, "{path}");
    }

    // A broken file shows a readable panel, not a blank page.
    project.edit("issues/example/02-openai.md", "link_text =", "link_txt =");
    let (status, page) = get("/preview/example");
    assert_eq!(status, 200);
    assert!(
        page.contains("This draft does not build") && page.contains("unknown field `link_txt`"),
        "{page}"
    );
    assert!(
        page.contains("EventSource"),
        "the broken page must still reload by itself"
    );
}

#[test]
fn a_draft_name_reaches_the_preview_page_as_data_never_as_code() {
    let project = Project::example();
    let hostile = "x');alert(document.domain);('";
    support::copy_tree(
        &project.path("issues/example"),
        &project.path(&format!("issues/{hostile}")),
    );
    let served = Served::start(&project, SECRET, &["--preview"]);
    let encoded = "x%27%29%3Balert%28document.domain%29%3B%28%27";
    for path in [format!("/preview/{encoded}"), "/preview/".to_string()] {
        let mut response = agent()
            .get(&format!("{}{path}", served.base))
            .call()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let page = response.body_mut().read_to_string().unwrap();
        for script in page.split("<script").skip(1) {
            let body = &script[script.find('>').unwrap() + 1..script.find("</script>").unwrap()];
            assert!(
                !body.contains("alert"),
                "the name got into a script: {body}"
            );
        }
    }
    // A broken config reflects the requested name the same way: escaped.
    project.write("config/newsletter.toml", "not toml [");
    let mut response = agent()
        .get(&format!("{}/preview/{encoded}", served.base))
        .call()
        .unwrap();
    let page = response.body_mut().read_to_string().unwrap();
    assert!(
        page.contains(&format!("data-events=\"/preview/{encoded}/events\"")),
        "{page}"
    );
    for script in page.split("<script").skip(1) {
        let body = &script[script.find('>').unwrap() + 1..script.find("</script>").unwrap()];
        assert!(
            !body.contains("alert"),
            "the name got into a script: {body}"
        );
    }
}

#[test]
fn slow_and_idle_connections_are_closed() {
    use std::io::{Read, Write};
    let project = Project::example();
    let served = Served::start(&project, SECRET, &[]);
    let address = served.base.trim_start_matches("http://").to_string();
    // Headers that never end, and a kept-alive connection left idle.
    let mut slow = std::net::TcpStream::connect(&address).unwrap();
    slow.write_all(b"GET /archive/ HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut idle = std::net::TcpStream::connect(&address).unwrap();
    idle.write_all(b"GET /archive/ HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 15];
    idle.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200 OK");
    let started = std::time::Instant::now();
    for mut stream in [slow, idle] {
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let mut rest = Vec::new();
        // Ends with EOF when the server closes; a timeout would be an error.
        stream.read_to_end(&mut rest).unwrap();
    }
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_secs(8) && waited < std::time::Duration::from_secs(20),
        "closed after {waited:?}"
    );
}

#[test]
fn a_path_that_clashes_with_another_page_is_refused_at_start() {
    for (path, extra, what) in [
        ("/archive/", &[][..], "the archive"),
        ("/archive/feed.xml", &[][..], "the archive"),
        ("/preview/", &["--preview"][..], "the preview"),
    ] {
        let project = Project::example();
        project.edit(
            "config/newsletter.toml",
            "url        = \"https://news.example.com/unsubscribe\"",
            &format!("url        = \"https://news.example.com{path}\""),
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let output = project
            .cmd()
            .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
            .args(["serve", "--port", &port.to_string()])
            .args(extra)
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{path}: {stderr}");
        assert!(!stderr.contains("panicked"), "{path}: {stderr}");
        assert!(
            stderr.contains("newsletter.toml:21:14: error: [unsubscribe] url has the path")
                && stderr.contains(what)
                && stderr.contains("help: give it a path of its own outside"),
            "{path}: {stderr}"
        );
    }
    // Without --preview, /preview/ is free for the unsubscribe page.
    let project = Project::example();
    project.edit(
        "config/newsletter.toml",
        "url        = \"https://news.example.com/unsubscribe\"",
        "url        = \"https://news.example.com/preview/\"",
    );
    let served = Served::start(&project, SECRET, &[]);
    let token = letterpress::token(SECRET.as_bytes(), "jane.doe@example.org");
    let response = agent()
        .post(&format!(
            "{}/preview/?e=jane.doe%40example.org&t={token}",
            served.base
        ))
        .content_type("application/x-www-form-urlencoded")
        .send("List-Unsubscribe=One-Click")
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[test]
fn slow_bodies_and_open_event_streams_cannot_starve_the_one_click_unsubscribe() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    // More than the handlers' turns (256), the event streams (64) and the
    // connections (512) together.
    const SLOW: usize = 300;
    const STREAMS: usize = 300;
    let project = Project::example();
    let served = Served::start(&project, SECRET, &["--preview"]);
    let address = served.base.trim_start_matches("http://").to_string();
    let started = Instant::now();
    let open = |request: &str| {
        let mut stream = TcpStream::connect(&address).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        stream
    };
    // Full headers, then the body one byte at a time.
    let mut slow: Vec<TcpStream> = (0..SLOW)
        .map(|_| {
            open("POST /unsubscribe HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ne")
        })
        .collect();
    let mut streams: Vec<TcpStream> = (0..STREAMS)
        .map(|_| open("GET /preview/example/events HTTP/1.1\r\nHost: x\r\n\r\n"))
        .collect();
    std::thread::sleep(Duration::from_millis(1000));
    for stream in &mut slow {
        // Evicted ones may be closed already.
        let _ = stream.write_all(b"=");
    }

    let token = letterpress::token(SECRET.as_bytes(), "jane.doe@example.org");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(15)))
        .build()
        .into();
    let asked = Instant::now();
    let answer = agent
        .post(&link(&served.base, "jane.doe@example.org", &token))
        .content_type("application/x-www-form-urlencoded")
        .send("List-Unsubscribe=One-Click");
    let waited = asked.elapsed();
    let status = answer.map(|r| r.status().as_u16());
    assert_eq!(
        status.as_ref().ok(),
        Some(&200),
        "{status:?} after {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "answered after {waited:?}");
    assert_eq!(status_of(&project, "jane.doe@example.org"), "Unsubscribed");

    // No more event streams than the cap were opened.
    let mut opened = 0;
    for stream in &mut streams {
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut head = [0u8; 12];
        if stream.read_exact(&mut head).is_ok() && &head == b"HTTP/1.1 200" {
            opened += 1;
        }
    }
    assert!(opened <= 64, "{opened} event streams open");
    // Every slow body is cut off (408) or its connection evicted, within
    // the body's deadline and a margin.
    let mut timed_out = 0;
    for stream in &mut slow {
        let left = Duration::from_secs(25).saturating_sub(started.elapsed());
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(10))))
            .unwrap();
        let mut answer = Vec::new();
        match stream.read_to_end(&mut answer) {
            Ok(_) => {}
            // An evicted connection that still had our "=" unread is
            // reset, not closed: it is closed all the same.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("a slow body was still open after 25 s: {e:?}"),
        }
        if answer.starts_with(b"HTTP/1.1 408") {
            timed_out += 1;
        }
    }
    assert!(timed_out > 0, "no body was cut off by its deadline");
}

#[test]
fn a_fold_that_fails_is_logged_and_tried_again_while_idle() {
    let project = Project::example();
    let log = project.path("serve.log");
    let served = Served::start_logged(&project, SECRET, &[], &log);
    let original = project.read("config/subscribers.toml");
    let token = letterpress::token(SECRET.as_bytes(), "jane.doe@example.org");
    assert_eq!(
        one_click(&served.base, "jane.doe@example.org", &token).0,
        200
    );
    // Before the idle fold (2 s): a hand edit leaves the list invalid.
    project.write(
        "config/subscribers.toml",
        format!("{original}\n[[subscriber]]\nemail = \"broken@example.com\"\nstatus = \"nope\"\n"),
    );
    let changes = project.path("config/subscribers.toml.changes");
    let read_log = || std::fs::read_to_string(&log).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !read_log().contains("could not be folded") {
        assert!(
            Instant::now() < deadline,
            "no failed fold in the log:\n{}",
            read_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(changes.exists(), "the change log must wait for the fix");
    // The edit is fixed; no request comes, the fold happens by itself.
    project.write("config/subscribers.toml", &original);
    let deadline = Instant::now() + Duration::from_secs(20);
    while changes.exists()
        || !read_log().contains("list: the change log is folded into the list again")
    {
        assert!(Instant::now() < deadline, "not folded:\n{}", read_log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(status_of(&project, "jane.doe@example.org"), "Unsubscribed");
    assert!(project
        .read("config/subscribers.toml")
        .starts_with("# The subscriber list."));
    drop(served);
    let text = read_log();
    for line in text.lines() {
        assert!(!line.contains('@'), "an address in the log: {line}");
    }
}

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A small JPEG (what a camera's `.png` export may really be).
fn jpeg() -> Vec<u8> {
    let pixels = image::RgbImage::from_pixel(4, 3, image::Rgb([200, 120, 40]));
    let mut out = std::io::Cursor::new(Vec::new());
    pixels.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

#[test]
fn the_web_version_and_the_preview_serve_the_issue_s_own_images_and_nothing_else() {
    let project = Project::example();
    project.write("issues/example/hero.png", PNG);
    project.write("issues/example/img/사진.png", jpeg());
    project.write("issues/example/unused.png", PNG);
    project.edit(
        "issues/example/01-intro.md",
        "kind = \"intro\"",
        "kind = \"intro\"\nimage = \"hero.png\"\nimage_alt = \"표지\"",
    );
    project.edit(
        "issues/example/01-intro.md",
        "바쁜 분들을 위해",
        "![사진](img/사진.png) 바쁜 분들을 위해",
    );
    project.write(
        "state/example.journal",
        "2026-11-27T09:00:01Z accepted reader@example.com attempts=1 reply=\"250 ok\"\n",
    );
    let served = Served::start(&project, SECRET, &["--preview"]);
    let get = |path: &str| {
        let mut r = agent()
            .get(&format!("{}{path}", served.base))
            .call()
            .unwrap();
        let kind = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut r.body_mut().as_reader(), &mut bytes).unwrap();
        (r.status().as_u16(), kind, bytes)
    };
    for base in ["/archive/example/", "/preview/example/"] {
        let (status, kind, bytes) = get(&format!("{base}hero.png"));
        assert_eq!((status, kind.as_str()), (200, "image/png"), "{base}");
        assert_eq!(bytes, PNG);
        // Named as the page names it (percent-encoded by the browser),
        // typed by what the bytes are.
        let (status, kind, bytes) = get(&format!("{base}img/%EC%82%AC%EC%A7%84.png"));
        assert_eq!((status, kind.as_str()), (200, "image/jpeg"), "{base}");
        assert_eq!(bytes, jpeg());
        for path in [
            "unused.png",
            "issue.toml",
            "01-intro.md",
            "../../config/newsletter.toml",
            "..%2F..%2Fconfig%2Fnewsletter.toml",
            "%2E%2E/%2E%2E/config/newsletter.toml",
            "img/../hero.png/x",
            "./unused.png",
        ] {
            let (status, _, bytes) = get(&format!("{base}{path}"));
            assert_eq!(status, 404, "{base}{path}");
            assert!(!String::from_utf8_lossy(&bytes).contains("[newsletter]"));
        }
    }
    // The pages refer to them by the paths served.
    let (_, _, page) = get("/archive/example/");
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("src=\"hero.png\""), "{page}");
    // An issue that was never sent has no images under /archive/.
    project.write("issues/draft/issue.toml", "subject = \"d\"\n");
    project.write("issues/draft/a.md", "![x](hero.png)\n");
    project.write("issues/draft/hero.png", PNG);
    assert_eq!(get("/archive/draft/hero.png").0, 404);
    assert_eq!(get("/preview/draft/hero.png").0, 200);
}

/// The words a reader sees on a page (no markup, no style, no script),
/// without `skip`.
fn visible_text(page: &str, skip: &str) -> String {
    let body = page.split("</head>").last().unwrap_or(page);
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace(skip, " ")
}

/// Latin words of three letters or more in `text`.
fn latin_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 3)
        .map(str::to_string)
        .collect()
}

fn fetch(base: &str, method: &str, path: &str) -> (u16, String) {
    let url = format!("{base}{path}");
    let mut response = match method {
        "GET" => agent().get(&url).call().unwrap(),
        _ => agent()
            .post(&url)
            .content_type("application/x-www-form-urlencoded")
            .send("List-Unsubscribe=One-Click")
            .unwrap(),
    };
    let status = response.status().as_u16();
    (status, response.body_mut().read_to_string().unwrap())
}

#[test]
fn the_unsubscribe_and_error_pages_speak_the_newsletter_s_language() {
    let project = Project::example();
    let served = Served::start(&project, SECRET, &[]);
    let reader = "jane.doe@example.org";
    let token = letterpress::token(SECRET.as_bytes(), reader);
    let valid = link("", reader, &token);
    let pages = [
        ("GET", valid.as_str(), 200, "뷰스레터플러스</span>가"),
        (
            "GET",
            "/unsubscribe?e=jane.doe%40example.org&t=0",
            400,
            "링크",
        ),
        ("GET", "/unsubscribe", 200, "mailto:unsubscribe@example.com"),
        ("GET", "/archive/nope/", 404, "/archive/"),
        ("GET", "/archive/example/nope.png", 404, "/archive/"),
        ("GET", "/nope", 404, "/archive/"),
        ("POST", valid.as_str(), 200, "뷰스레터플러스</span>를"),
    ];
    for (method, path, status, expected) in pages {
        let (got, page) = fetch(&served.base, method, path);
        assert_eq!(got, status, "{method} {path}: {page}");
        assert!(page.contains("<html lang=\"ko\">"), "{path}: {page}");
        assert!(page.contains(expected), "{path}: {page}");
        assert!(page.contains("word-break:keep-all"), "{path}: {page}");
        let text = visible_text(&page, reader);
        let text = text.replace("unsubscribe@example.com", " ");
        assert_eq!(latin_words(&text), Vec::<String>::new(), "{path}: {text}");
        assert!(!text.contains("(를)") && !text.contains("(가)"), "{text}");
        assert_eq!(page.matches("<main>").count(), 1, "{path}: {page}");
    }
    drop(served);

    // The same pages of an English newsletter are English.
    project.edit(
        "config/newsletter.toml",
        "language       = \"ko\"",
        "language       = \"en\"",
    );
    let served = Served::start(&project, SECRET, &[]);
    let other = "park@example.net";
    let token = letterpress::token(SECRET.as_bytes(), other);
    let valid = link("", other, &token);
    for (method, path, expected) in [
        (
            "GET",
            valid.as_str(),
            "Unsubscribe from <span class=\"nl\">뷰스레터플러스</span>?",
        ),
        (
            "GET",
            "/unsubscribe?e=x%40example.org&t=0",
            "This unsubscribe link is not valid",
        ),
        (
            "GET",
            "/unsubscribe",
            "use the unsubscribe link at the foot of any issue",
        ),
        ("GET", "/archive/nope/", "Page not found"),
        ("POST", valid.as_str(), "You are unsubscribed"),
    ] {
        let (_, page) = fetch(&served.base, method, path);
        assert!(page.contains("<html lang=\"en\">"), "{path}: {page}");
        assert!(page.contains(expected), "{path}: {page}");
        assert!(!page.contains("word-break:keep-all}"), "{path}: {page}");
        assert!(!page.contains("구독"), "{path}: {page}");
    }
}

#[test]
fn every_page_serve_shows_has_one_main_landmark() {
    let project = Project::example();
    project.write(
        "state/example.journal",
        "2026-11-27T09:00:01Z accepted reader@example.com attempts=1 reply=\"250 ok\"\n",
    );
    let served = Served::start(&project, SECRET, &["--preview"]);
    let token = letterpress::token(SECRET.as_bytes(), "jane.doe@example.org");
    let valid = link("", "jane.doe@example.org", &token);
    for path in [
        "/archive/",
        "/archive/example/",
        "/archive/nope/",
        "/unsubscribe",
        valid.as_str(),
        "/unsubscribe?e=a%40example.org&t=0",
        "/subscribe",
        "/subscribe/confirm?t=nope",
        "/nope",
        "/preview/",
        "/preview/example",
        "/stats/example",
        "/preview/nope",
        "/preview/example/nope.png",
        "/stats/nope",
    ] {
        let (_, page) = fetch(&served.base, "GET", path);
        assert!(page.starts_with("<!DOCTYPE html>"), "{path}: {page}");
        assert_eq!(page.matches("<main").count(), 1, "{path}: {page}");
        assert_eq!(page.matches("</main>").count(), 1, "{path}: {page}");
    }
    // The archive shows the way to subscribe when there is one.
    let (_, index) = fetch(&served.base, "GET", "/archive/");
    assert!(
        index.contains("href=\"https://news.example.com/subscribe\""),
        "{index}"
    );
    drop(served);
    let config = project.read("config/newsletter.toml");
    let without = config.split("[subscribe]").next().unwrap().to_string();
    project.write("config/newsletter.toml", without);
    let served = Served::start(&project, SECRET, &[]);
    let (_, index) = fetch(&served.base, "GET", "/archive/");
    assert!(
        index.contains("<main>") && !index.contains("subscribe\""),
        "{index}"
    );
}
