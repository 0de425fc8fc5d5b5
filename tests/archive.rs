//! The archive as a publication, served by `serve` and written by
//! `archive --out`: each page's title, description, canonical address,
//! Open Graph and Twitter card tags and date, read with an HTML parser;
//! sitemap.xml read as XML; robots.txt.

use std::collections::BTreeMap;

use predicates::prelude::*;

use crate::support::{Project, Served};

const SECRET: &str = "archive-test-secret";
/// A small PNG that decodes (the image pipeline refuses one that does not).
fn png() -> Vec<u8> {
    let pixels = image::RgbImage::from_pixel(8, 6, image::Rgb([30, 90, 160]));
    let mut out = std::io::Cursor::new(Vec::new());
    pixels.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}
const SITEMAPS: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";

/// GET `path`: status, Content-Type, body.
fn get(base: &str, path: &str) -> (u16, String, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent.get(&format!("{base}{path}")).call().unwrap();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = r.body_mut().read_to_string().unwrap_or_default();
    (r.status().as_u16(), kind, body)
}

/// What a page tells machines, parsed: `title`, each `<meta>` by its
/// `property` or `name`, `canonical`, and `time` (the `datetime` of the
/// first `<time>` in the body). A tag met twice fails.
fn tags(html: &str) -> BTreeMap<String, String> {
    let doc = scraper::Html::parse_document(html);
    let select = |css: &str| scraper::Selector::parse(css).unwrap();
    let mut tags = BTreeMap::new();
    let mut put = |key: &str, value: &str| {
        let before = tags.insert(key.to_string(), value.to_string());
        assert!(before.is_none(), "{key} twice");
    };
    for title in doc.select(&select("head title")) {
        put("title", &title.text().collect::<String>());
    }
    for meta in doc.select(&select("head meta[content]")) {
        if let Some(key) = meta.attr("property").or(meta.attr("name")) {
            put(key, meta.attr("content").unwrap());
        }
    }
    for link in doc.select(&select("head link[rel=canonical]")) {
        put("canonical", link.attr("href").unwrap());
    }
    if let Some(time) = doc.select(&select("body time[datetime]")).next() {
        put("time", time.attr("datetime").unwrap());
    }
    tags
}

fn sent(project: &Project, issue: &str, at: &str) {
    project.write(
        &format!("state/{issue}.journal"),
        format!("{at} accepted reader@example.com attempts=1 reply=\"250 ok\"\n"),
    );
}

#[test]
fn an_issue_page_carries_its_open_graph_card_canonical_and_date_served_and_written() {
    let project = Project::example();
    let subject = "위기의 \"AI\" <스타트업> & Why를 기억하라";
    project.edit(
        "issues/example/issue.toml",
        "subject   = \"위기의 AI스타트업... Why를 기억하라\"",
        &format!("subject = '{subject}'"),
    );
    project.write("issues/example/img/표지.png", png());
    project.edit(
        "issues/example/01-intro.md",
        "kind = \"intro\"",
        "kind = \"intro\"\nimage = \"img/표지.png\"\nimage_alt = \"표지\"",
    );
    sent(&project, "example", "2026-11-27T09:00:01Z");
    let served = Served::start(&project, SECRET, &[]);
    let (status, _, page) = get(&served.base, "/archive/example/");
    assert_eq!(status, 200);
    let found = tags(&page);
    let page_url = "https://news.example.com/archive/example/";
    let image = "https://news.example.com/archive/example/img/%ED%91%9C%EC%A7%80.png";
    let preheader = "오픈AI 초격차 · AI스타트업 종말의 날? · 아마존 올림푸스";
    let title = format!("{subject} — 뷰스레터플러스");
    for (key, value) in [
        ("title", title.as_str()),
        ("description", preheader),
        ("canonical", page_url),
        ("og:type", "article"),
        ("og:title", subject),
        ("og:description", preheader),
        ("og:url", page_url),
        ("og:image", image),
        ("og:site_name", "뷰스레터플러스"),
        ("og:locale", "ko_KR"),
        ("article:published_time", "2026-11-27"),
        ("twitter:card", "summary_large_image"),
        ("twitter:title", subject),
        ("twitter:description", preheader),
        ("twitter:image", image),
        ("time", "2026-11-27"),
    ] {
        assert_eq!(found.get(key).map(String::as_str), Some(value), "{key}");
    }
    // The lead image is there, at the address the tags give.
    let path = image.strip_prefix("https://news.example.com").unwrap();
    let (status, kind, _) = get(&served.base, path);
    assert_eq!((status, kind.as_str()), (200, "image/png"));

    let (_, _, index) = get(&served.base, "/archive/");
    let index_tags = tags(&index);
    for (key, value) in [
        ("title", "뷰스레터플러스"),
        ("canonical", "https://news.example.com/archive/"),
        ("og:url", "https://news.example.com/archive/"),
        ("og:type", "website"),
        ("og:title", "뷰스레터플러스"),
        ("og:site_name", "뷰스레터플러스"),
        ("og:locale", "ko_KR"),
        ("twitter:card", "summary"),
    ] {
        assert_eq!(
            index_tags.get(key).map(String::as_str),
            Some(value),
            "{key}"
        );
    }
    assert!(index_tags["description"].contains("뷰스레터플러스"));
    assert_eq!(index_tags["og:description"], index_tags["description"]);

    // `archive --out` writes the same pages.
    project
        .cmd()
        .args(["archive", "--out", "site"])
        .assert()
        .success();
    assert_eq!(tags(&project.read("site/example/index.html")), found);
    assert_eq!(tags(&project.read("site/index.html")), index_tags);
}

#[test]
fn without_a_preheader_the_description_is_the_first_paragraph_cut_between_characters() {
    let project = Project::example();
    project.edit(
        "issues/example/issue.toml",
        "preheader = \"오픈AI 초격차 · AI스타트업 종말의 날? · 아마존 올림푸스\"\n",
        "",
    );
    let long = "가나다라마바사아자차카타파하".repeat(20);
    project.edit(
        "issues/example/01-intro.md",
        "뷰스레터플러스 48호입니다.",
        &format!("뷰스레터플러스 48호입니다.\n{long}"),
    );
    // No image anywhere: a small card.
    project.edit(
        "issues/example/02-openai.md",
        "image     = \"https://example.com/img/devday.jpg\"\n",
        "",
    );
    sent(&project, "example", "2026-11-27T09:00:01Z");
    project
        .cmd()
        .args(["archive", "--out", "site"])
        .assert()
        .success();
    let found = tags(&project.read("site/example/index.html"));
    let description = &found["description"];
    assert!(
        description.starts_with("안녕하세요, 독자님. 뷰스레터플러스 48호입니다. 가나다"),
        "{description}"
    );
    assert!(description.ends_with('…'), "{description}");
    assert_eq!(description.chars().count(), 160, "{description}");
    assert!(!description
        .chars()
        .any(|c| ('\u{E000}'..='\u{F8FF}').contains(&c)));
    assert_eq!(&found["og:description"], description);
    assert_eq!(found["twitter:card"], "summary");
    assert!(!found.contains_key("og:image") && !found.contains_key("twitter:image"));
}

/// The `<loc>` and `<lastmod>` of every `<url>` of a sitemap, read as XML
/// in the sitemaps.org namespace.
fn sitemap_urls(xml: &str) -> BTreeMap<String, Option<String>> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().namespace(), Some(SITEMAPS));
    assert_eq!(root.tag_name().name(), "urlset");
    let child = |node: roxmltree::Node, name: &str| {
        node.children()
            .find(|c| c.tag_name().name() == name && c.tag_name().namespace() == Some(SITEMAPS))
            .and_then(|c| c.text())
            .map(str::to_string)
    };
    root.children()
        .filter(|n| n.is_element())
        .map(|url| {
            assert_eq!(url.tag_name().name(), "url");
            (child(url, "loc").unwrap(), child(url, "lastmod"))
        })
        .collect()
}

#[test]
fn the_sitemap_lists_every_sent_issue_and_robots_txt_names_it() {
    let project = Project::example();
    // An issue without a date came out when it was sent; its page shows
    // that day where the newsletter lives.
    project.edit("issues/welcome/issue.toml", "date      = 2026-12-01\n", "");
    sent(&project, "example", "2026-11-27T09:00:01Z");
    sent(&project, "welcome", "2026-12-01T23:30:00Z");
    project.write("issues/draft/issue.toml", "subject = \"d\"\n");
    project.write("issues/draft/a.md", "초안\n");
    let served = Served::start(&project, SECRET, &[]);
    let (status, kind, sitemap) = get(&served.base, "/archive/sitemap.xml");
    assert_eq!(
        (status, kind.as_str()),
        (200, "application/xml; charset=utf-8")
    );
    let urls = sitemap_urls(&sitemap);
    let expected: BTreeMap<String, Option<String>> = [
        ("https://news.example.com/archive/", "2026-12-01T23:30:00Z"),
        ("https://news.example.com/archive/example/", "2026-11-27"),
        (
            "https://news.example.com/archive/welcome/",
            "2026-12-01T23:30:00Z",
        ),
    ]
    .into_iter()
    .map(|(loc, at)| (loc.to_string(), Some(at.to_string())))
    .collect();
    assert_eq!(urls, expected, "{sitemap}");

    // The index gives each issue's date the same way.
    let (_, _, index) = get(&served.base, "/archive/");
    let doc = scraper::Html::parse_document(&index);
    let dates: Vec<&str> = doc
        .select(&scraper::Selector::parse("li time").unwrap())
        .map(|t| t.attr("datetime").unwrap())
        .collect();
    assert_eq!(dates, ["2026-12-01T23:30:00Z", "2026-11-27"]);

    let (_, _, welcome) = get(&served.base, "/archive/welcome/");
    let welcome = tags(&welcome);
    assert_eq!(welcome["article:published_time"], "2026-12-01T23:30:00Z");
    assert_eq!(welcome["time"], "2026-12-02", "the day in Asia/Seoul");

    let sitemap_line = "Sitemap: https://news.example.com/archive/sitemap.xml";
    for path in ["/robots.txt", "/archive/robots.txt"] {
        let (status, kind, robots) = get(&served.base, path);
        assert_eq!((status, kind.as_str()), (200, "text/plain; charset=utf-8"));
        assert!(robots.starts_with("User-agent: *\nAllow: /\n"), "{robots}");
        assert!(robots.lines().any(|l| l == sitemap_line), "{robots}");
    }

    project
        .cmd()
        .args(["archive", "--out", "site"])
        .assert()
        .success();
    assert_eq!(project.read("site/sitemap.xml"), sitemap);
    assert!(project.read("site/robots.txt").contains(sitemap_line));

    // With counted links, crawlers are kept off them.
    let config = project.read("config/newsletter.toml");
    project.write(
        "config/newsletter.toml",
        format!("{config}\n[tracking]\nclicks = true\n"),
    );
    project
        .cmd()
        .args(["archive", "--out", "counted"])
        .assert()
        .success();
    let robots = project.read("counted/robots.txt");
    assert!(
        robots.starts_with("User-agent: *\nDisallow: /c/\nAllow: /\n"),
        "{robots}"
    );
}

#[test]
fn without_base_url_no_tag_holds_an_address_that_is_not_absolute() {
    let project = Project::example();
    project.edit(
        "config/newsletter.toml",
        "base_url       = \"https://news.example.com\"\n",
        "",
    );
    project.write("issues/welcome/hero.png", png());
    project.edit(
        "issues/welcome/01-welcome.md",
        "kind = \"intro\"",
        "kind = \"intro\"\nimage = \"hero.png\"\nimage_alt = \"표지\"",
    );
    sent(&project, "welcome", "2026-12-01T09:00:00Z");
    let served = Served::start(&project, SECRET, &[]);
    let (status, _, page) = get(&served.base, "/archive/welcome/");
    assert_eq!(status, 200);
    let (_, _, index) = get(&served.base, "/archive/");
    for found in [tags(&page), tags(&index)] {
        for absolute_only in ["canonical", "og:url", "og:image", "twitter:image"] {
            assert!(!found.contains_key(absolute_only), "{absolute_only}");
        }
        for key in ["og:title", "og:description", "description", "og:site_name"] {
            assert!(found.contains_key(key), "{key}");
        }
        assert_eq!(found["twitter:card"], "summary");
    }
    assert_eq!(get(&served.base, "/archive/sitemap.xml").0, 404);
    let (_, _, robots) = get(&served.base, "/robots.txt");
    assert_eq!(robots, "User-agent: *\nAllow: /\n");

    project
        .cmd()
        .args(["archive", "--out", "site"])
        .assert()
        .success()
        .stdout(
            predicates::str::contains("No sitemap.xml").and(predicates::str::contains(
                "help: set base_url in [newsletter]",
            )),
        );
    assert!(!project.path("site/sitemap.xml").exists());
    assert_eq!(project.read("site/robots.txt"), robots);
}
