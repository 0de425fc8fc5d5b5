//! The composed email, checked by parsing it: structure, accessibility,
//! email-client rules, themes, personalisation. Plus snapshots of the
//! example's email.html and email.txt.

use crate::support;

use scraper::{Html, Selector};
use support::Project;

fn select<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    doc.select(&Selector::parse(css).unwrap()).collect()
}

fn example() -> (String, String) {
    Project::example().build()
}

#[test]
fn html_has_document_essentials() {
    let (html, _) = example();
    let doc = Html::parse_document(&html);
    let root = select(&doc, "html")[0];
    assert_eq!(root.attr("lang"), Some("ko"));
    assert_eq!(
        select(&doc, "meta[charset]")[0].attr("charset"),
        Some("utf-8")
    );
    let viewport = select(&doc, "meta[name=viewport]")[0];
    assert!(viewport
        .attr("content")
        .unwrap()
        .contains("width=device-width"));
    let title = select(&doc, "title")[0].text().collect::<String>();
    assert_eq!(title, "위기의 AI스타트업... Why를 기억하라");
    // The charset must come before anything long, within the first 1024 bytes.
    assert!(html.find("<meta charset=\"utf-8\">").unwrap() < 1024);
}

#[test]
fn preheader_is_hidden_and_first_in_body() {
    let (html, _) = example();
    let doc = Html::parse_document(&html);
    let first = select(&doc, "body > *")[0];
    assert_eq!(first.value().attr("class"), Some("preheader"));
    let style = first.attr("style").unwrap();
    assert!(
        style.contains("display:none") && style.contains("mso-hide:all"),
        "{style}"
    );
    assert!(first
        .text()
        .collect::<String>()
        .starts_with("오픈AI 초격차 · AI스타트업 종말의 날?"));
}

#[test]
fn the_preheader_filler_never_fills_lines_of_its_own_in_a_text_mode_reader() {
    let project = Project::example();
    project.build();
    let filler = |c: char| c == '\u{34f}' || c == '\u{200c}';
    // w3m shows hidden text: the filler may only end the preheader's line.
    if !support::require("/usr/bin/w3m", "the preheader in a text-mode reader") {
        return;
    }
    let out = std::process::Command::new("w3m")
        .args(["-dump", "-T", "text/html", "-O", "UTF-8", "-cols", "80"])
        .arg(project.path("out/email.html"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(filler)).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("오픈AI 초격차"), "{lines:?}");
}

#[test]
fn layout_tables_are_presentation_and_column_is_fluid() {
    let (html, _) = example();
    let doc = Html::parse_document(&html);
    for table in select(&doc, "table") {
        let is_data = table.attr("class") == Some("data-table");
        assert_eq!(
            table.attr("role").is_some(),
            !is_data,
            "{:?}",
            table.value()
        );
        if !is_data {
            assert_eq!(table.attr("role"), Some("presentation"));
        }
    }
    let container = select(&doc, "div.container")[0];
    let style = container.attr("style").unwrap();
    assert!(
        style.contains("max-width:600px") && style.contains("margin:0 auto"),
        "{style}"
    );
    // Outlook gets a fixed-width ghost table around the fluid column.
    assert!(html.contains(r#"<!--[if mso]><table role="presentation" align="center" width="600""#));
    assert!(html.contains("<!--[if mso]></td></tr></table><![endif]-->"));
}

#[test]
fn css_is_inlined_and_style_block_holds_only_media_queries() {
    let (html, _) = example();
    let doc = Html::parse_document(&html);
    let styles = select(&doc, "style");
    assert_eq!(styles.len(), 1);
    let css = styles[0].text().collect::<String>();
    // Every top-level statement of the block is an at-rule.
    let mut depth = 0;
    let mut statement_start = true;
    for (i, c) in css.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                statement_start = depth == 0;
            }
            _ if depth == 0 && statement_start && !c.is_whitespace() => {
                assert!(
                    css[i..].starts_with("@media"),
                    "rule outside @media: {}",
                    &css[i..]
                );
                statement_start = false;
            }
            _ => {}
        }
    }
    assert!(css.contains("prefers-color-scheme: dark"));
    assert!(css.contains("max-width: 620px"));
    assert_eq!(
        select(&doc, "meta[name=color-scheme]")[0].attr("content"),
        Some("light dark")
    );
    for p in select(&doc, "td.section p") {
        assert!(
            p.attr("style").is_some_and(|s| s.contains("margin")),
            "p not inlined"
        );
    }
}

#[test]
fn korean_typography() {
    let (html, _) = example();
    let doc = Html::parse_document(&html);
    let sections = select(&doc, "td.section");
    assert_eq!(sections.len(), 6);
    for td in sections {
        let style = td.attr("style").unwrap();
        assert!(style.contains("word-break:keep-all"), "{style}");
        assert!(
            style.contains("'Apple SD Gothic Neo'") && style.contains("'Malgun Gothic'"),
            "{style}"
        );
    }
}

#[test]
fn images_have_alt_width_and_fluid_style() {
    let (html, _) = example();
    let doc = Html::parse_document(&html);
    let images = select(&doc, "img");
    assert!(!images.is_empty());
    for img in images {
        assert!(
            !img.attr("alt").unwrap_or("").is_empty(),
            "{:?}",
            img.value()
        );
        assert!(img.attr("width").unwrap().parse::<u32>().unwrap() <= 600);
        let style = img.attr("style").unwrap();
        assert!(
            style.contains("max-width") && style.contains("height:auto"),
            "{style}"
        );
    }
}

#[test]
fn no_script_no_external_css_and_absolute_links() {
    let (html, _) = example();
    let doc = Html::parse_document(&html);
    assert!(select(&doc, "script, link, iframe, form").is_empty());
    assert!(!html.to_lowercase().contains("javascript:"));
    let ids: Vec<&str> = select(&doc, "[id]")
        .iter()
        .filter_map(|e| e.attr("id"))
        .collect();
    let links = select(&doc, "a[href]");
    assert!(links.len() >= 10);
    for a in links {
        let href = a.attr("href").unwrap();
        if let Some(id) = href.strip_prefix('#') {
            assert!(ids.contains(&id), "anchor {href} has no target");
        } else {
            assert!(
                href.starts_with("https://") || href.starts_with("mailto:"),
                "relative link {href}"
            );
        }
        assert!(
            !a.text().collect::<String>().trim().is_empty(),
            "empty link text for {href}"
        );
    }
}

#[test]
fn buttons_are_bulletproof() {
    let (html, _) = example();
    let doc = Html::parse_document(&html);
    let buttons = select(&doc, "table.button td.button-cell");
    assert_eq!(buttons.len(), 3);
    for td in buttons {
        assert!(td.attr("bgcolor").is_some());
        let a = td.select(&Selector::parse("a").unwrap()).next().unwrap();
        assert!(a.attr("href").unwrap().starts_with("https://"));
        assert!(a.attr("style").unwrap().contains("padding"));
    }
    assert!(html.contains(">기사에서 확인하세요</a>"));
    assert!(
        html.contains(">더 읽기</a>"),
        "default label from theme.toml"
    );
}

#[test]
fn masthead_toc_kinds_and_footer() {
    let (html, _) = example();
    let doc = Html::parse_document(&html);
    assert_eq!(
        select(&doc, "h1.brand")[0].text().collect::<String>(),
        "뷰스레터플러스"
    );
    assert_eq!(
        select(&doc, "p.issue-meta")[0].text().collect::<String>(),
        "제48호 · 2026년 11월 27일"
    );
    let toc: Vec<String> = select(&doc, "ol.toc-list a")
        .iter()
        .map(|a| a.text().collect())
        .collect();
    assert_eq!(toc.len(), 4);
    assert_eq!(toc[0], "오픈AI, 초격차… 뭐가 달라졌나?");
    assert_eq!(
        select(&doc, "td.section-intro h2").len(),
        0,
        "intro has no heading"
    );
    assert_eq!(
        select(&doc, "blockquote.pullquote p.attribution")[0]
            .text()
            .collect::<String>(),
        "— 샘 올트먼, 오픈AI CEO"
    );
    assert_eq!(select(&doc, "td.section-note h2.note-title").len(), 1);
    let footer = select(&doc, "td.footer-cell")[0].text().collect::<String>();
    assert!(footer.contains("서울특별시 중구 세종대로 110"));
    assert!(footer.contains("구독하셔서 받으신 메일입니다"));
    let links: Vec<&str> = select(&doc, "td.footer-cell a")
        .iter()
        .filter_map(|a| a.attr("href"))
        .collect();
    assert!(
        links.contains(
            &"https://news.example.com/unsubscribe?e=reader%40example.com&t=unsigned&i=example"
        ),
        "{links:?}"
    );
    assert!(
        links.contains(&"https://news.example.com/archive/example/"),
        "{links:?}"
    );
}

#[test]
fn html_size_is_far_below_gmail_clipping() {
    let (html, _) = example();
    assert!(html.len() < 40 * 1024, "email.html is {} bytes", html.len());
}

#[test]
fn merge_values_are_escaped_in_html_and_plain_in_text() {
    let project = Project::example();
    project.edit(
        "config/subscribers.toml",
        "name   = \"김독자\"",
        "name   = \"O'Brien, \\\"Kim\\\" <test>\"",
    );
    let (html, text) = project.build();
    assert!(
        html.contains("O&#39;Brien, &quot;Kim&quot; &lt;test&gt;님"),
        "name not escaped"
    );
    assert!(!html.contains("<test>"));
    assert!(text.contains("O'Brien, \"Kim\" <test>님"));
}

#[test]
fn unsubscribe_link_is_signed_when_secret_is_set() {
    let project = Project::example();
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", "compose-test-secret-0123")
        .args(["build", "issues/example", "--out", "out"])
        .assert()
        .success();
    let html = project.read("out/email.html");
    let token = letterpress::token(b"compose-test-secret-0123", "reader@example.com");
    assert!(html.contains(&format!("unsubscribe?e=reader%40example.com&amp;t={token}")));
    assert!(!html.contains("compose-test-secret-0123"));
    let web = project.read("out/web.html");
    assert!(
        !web.contains("reader@example.com") && !web.contains("김독자"),
        "web version holds reader data"
    );
}

#[test]
fn text_part_keeps_content_and_wraps_at_72_columns() {
    let (_, text) = example();
    for line in text.lines() {
        let width = letterpress::wrap::width(line);
        assert!(
            width <= 72 || line.split(' ').any(|w| w.contains("://")),
            "{width}: {line}"
        );
    }
    for needle in [
        "오픈AI, 초격차… 뭐가 달라졌나?\n==============================",
        "- 오픈AI는 개발자 행사에서 에이전트 플랫폼을 내놓았습니다.",
        "1. 고객이 왜 그 제품을 쓰는지 압니다.",
        "> 우리는 사람들이 AI로 무엇을 만들지 상상조차 못 하고 있습니다.\n> — 샘 올트먼, 오픈AI CEO",
        "기사에서 확인하세요: https://example.com/articles/openai-devday",
        "GPTs [1]",
        "[1] https://example.com/gpts",
        "문맥 길이 | 32K 토큰",
        "[^1] 발표 당일 공개된 가격표 기준입니다.",
        "\nhttps://example.org/essays/remember-why-a-long-address-that-must-never-be-broken-across-lines-in-plain-text\n",
        "구독 취소:",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn theme_edits_apply_without_rebuilding() {
    let project = Project::example();
    let theme = support::repo().join("templates/default");
    for file in ["theme.toml", "style.css"] {
        project.write(
            &format!("templates/default/{file}"),
            std::fs::read(theme.join(file)).unwrap(),
        );
    }
    project.edit(
        "templates/default/theme.toml",
        "accent      = \"#1a56db\"",
        "accent      = \"#c0ffee\"",
    );
    let (html, _) = project.build();
    assert!(html.contains("bgcolor=\"#c0ffee\""));
    assert!(html.contains("#c0ffee"));
    assert!(!html.contains("#1a56db"));
}

#[test]
fn second_theme_changes_the_look() {
    let project = Project::example();
    project.edit(
        "config/newsletter.toml",
        "theme          = \"default\"",
        "theme          = \"letter\"",
    );
    let (html, _) = project.build();
    assert!(html.contains("max-width:560px"));
    assert!(html.contains("Nanum Myeongjo"));
    assert!(html.contains(">이어서 읽기</a>"));
}

#[test]
fn theme_errors_name_the_file() {
    let project = Project::example();
    project.edit(
        "config/newsletter.toml",
        "theme          = \"default\"",
        "theme          = \"nope\"",
    );
    project
        .cmd()
        .args(["build", "issues/example"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("unknown theme `nope`"));
    project.edit(
        "config/newsletter.toml",
        "theme          = \"nope\"",
        "theme          = \"./mytheme\"",
    );
    project.write(
        "config/mytheme/theme.toml",
        std::fs::read(support::repo().join("templates/default/theme.toml")).unwrap(),
    );
    project.write(
        "config/mytheme/style.css",
        "p { color: var(--color-nope); }\n",
    );
    project
        .cmd()
        .args(["build", "issues/example"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "style.css:1:12: error: unknown theme variable `--color-nope`",
        ));
}

#[test]
fn snapshot_email_html() {
    let (html, _) = example();
    insta::assert_snapshot!("example_email_html", html);
}

#[test]
fn snapshot_email_txt() {
    let (_, text) = example();
    insta::assert_snapshot!("example_email_txt", text);
}

#[test]
fn the_atom_feed_is_well_formed_xml_with_control_characters_and_without_a_date() {
    let project = Project::example();
    // A preheader with a form feed and a U+0001 (TOML escapes), no date.
    let toml = project.read("issues/example/issue.toml");
    let toml: String = toml
        .lines()
        .filter(|l| !l.starts_with("date") && !l.starts_with("preheader"))
        .map(|l| format!("{l}\n"))
        .collect();
    project.write(
        "issues/example/issue.toml",
        format!("{toml}preheader = \"오늘의 소식\\f그리고 \\u0001 & <더>\"\n"),
    );
    project.write(
        "state/example.journal",
        "# j\n2026-11-27T09:00:01Z accepted reader@example.com attempts=1 reply=\"250 ok\"\n2026-11-27T09:00:02Z accepted other@example.com attempts=1 reply=\"250 ok\"\n",
    );
    project
        .cmd()
        .args(["archive", "--out", "site"])
        .assert()
        .success();
    let feed = project.read("site/feed.xml");
    let doc = roxmltree::Document::parse(&feed).unwrap_or_else(|e| panic!("{e}\n{feed}"));
    let atom = "http://www.w3.org/2005/Atom";
    let entry = doc
        .descendants()
        .find(|n| n.has_tag_name((atom, "entry")))
        .expect("an entry");
    let child = |name: &str| {
        entry
            .children()
            .find(|n| n.has_tag_name((atom, name)))
            .and_then(|n| n.text())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(child("summary"), "오늘의 소식그리고  & <더>");
    assert_eq!(
        child("updated"),
        "2026-11-27T09:00:01Z",
        "the time it was sent"
    );
    let updated = doc
        .root_element()
        .children()
        .find(|n| n.has_tag_name((atom, "updated")))
        .and_then(|n| n.text());
    assert_eq!(updated, Some("2026-11-27T09:00:01Z"));
    assert!(project.read("site/index.html").contains("2026-11-27"));

    // And check names the line.
    let line = toml.lines().count() + 1;
    let out = project
        .cmd()
        .args(["check", "issues/example"])
        .output()
        .unwrap();
    let said = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!(
            "issues/example/issue.toml:{line}: error: the text holds the control character U+000C"
        )),
        "{said}"
    );
}

#[test]
fn the_web_version_links_to_the_subscribe_form_not_to_itself() {
    let project = Project::example();
    let (email, _) = project.build();
    let web = project.read("out/web.html");
    let links_to = |html: &str, target: &str| {
        let doc = Html::parse_document(html);
        select(&doc, "a")
            .iter()
            .filter(|a| a.attr("href") == Some(target))
            .map(|a| a.text().collect::<String>())
            .collect::<Vec<_>>()
    };
    let itself = "https://news.example.com/archive/example/";
    let ours = |html: &str| {
        let doc = Html::parse_document(html);
        select(&doc, ".topbar-cell a, .footer-links a")
            .iter()
            .filter(|a| a.attr("href") == Some(itself))
            .count()
    };
    // The email points to the web version, top and bottom (and the
    // example's last section shares it too).
    assert_eq!(ours(&email), 2);
    assert_eq!(links_to(&email, itself).len(), 3);
    assert!(!email.contains("<main"), "a message is not a page");
    // The web version does not point to itself, and is a page.
    assert_eq!(ours(&web), 0);
    assert_eq!(
        links_to(&web, itself).len(),
        1,
        "the section's own link stays"
    );
    let doc = Html::parse_document(&web);
    assert_eq!(select(&doc, "main").len(), 1);
    assert_eq!(select(&doc, "main .container").len(), 1);
    assert_eq!(
        links_to(&web, "https://news.example.com/subscribe"),
        ["뷰스레터플러스 구독하기"]
    );
    assert_eq!(
        links_to(&email, "https://news.example.com/subscribe"),
        Vec::<String>::new()
    );
}

#[test]
fn no_theme_slants_korean_and_latin_text_keeps_its_italics() {
    for theme in ["default", "letter"] {
        for language in ["ko", "en"] {
            let project = Project::example();
            project.edit(
                "config/newsletter.toml",
                "theme          = \"default\"",
                &format!("theme          = \"{theme}\""),
            );
            project.edit(
                "config/newsletter.toml",
                "language       = \"ko\"",
                &format!("language       = \"{language}\""),
            );
            let (html, _) = project.build();
            let doc = Html::parse_document(&html);
            let ems = select(&doc, "em");
            assert!(!ems.is_empty(), "the example has emphasis");
            let style = |e: &scraper::ElementRef| e.attr("style").unwrap_or("").replace(' ', "");
            if language == "ko" {
                assert!(!html.contains("italic"), "{theme}: {html}");
                for em in &ems {
                    let style = style(em);
                    assert!(
                        style.contains("font-style:normal") && style.contains("font-weight:700"),
                        "{theme}: {style}"
                    );
                }
            } else {
                for em in &ems {
                    assert!(!style(em).contains("font-style:normal"), "{theme}");
                }
                if theme == "letter" {
                    let note = select(&doc, ".section-note")[0];
                    assert!(style(&note).contains("font-style:italic"), "{theme}");
                }
            }
        }
    }
}
