//! Click counts and `stats`: links rewritten in both parts of a real
//! dry-run message, the counting addresses answered by `serve` over HTTP on
//! 127.0.0.1 (redirect only to the issue's own link, 404 otherwise, HEAD
//! and scanners counted apart, counts kept across a restart), and the
//! report of a send to the scriptable SMTP server with planted refusals
//! and deferrals.

use crate::support;

use crate::smtp;

use std::collections::BTreeMap;

use smtp::{Rule, Script, Server, Stage};
use support::{Project, Served};

const SECRET: &str = "tracking-test-secret-0123456789";

const LINKS: &str = "+++\nkind = \"note\"\ntitle = \"Links\"\n+++\nRead [the report](https://example.org/report?a=1&b=2), write to [the editor](mailto:editor@example.com), see [the report again](https://example.org/report?a=1&b=2) and [the data](http://example.net/data). [Leave]({{ unsubscribe_url }}).\n";

/// The example with counted clicks and a section of links of every kind.
fn tracked(project: Project) -> Project {
    project.write("issues/example/07-links.md", LINKS);
    let config = project.read("config/newsletter.toml");
    project.write(
        "config/newsletter.toml",
        format!("{config}\n[tracking]\nclicks = true\n"),
    );
    project
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// The counting addresses in `text`, each once, in order.
fn counting_links(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for (i, _) in text.match_indices("https://news.example.com/c/") {
        let link: String = text[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || ":/.-_".contains(*c))
            .collect();
        if !found.contains(&link) {
            found.push(link);
        }
    }
    found
}

/// The HTML and plain-text parts of the dry-run message to `reader`.
fn parts(project: &Project, reader: &str) -> (String, String) {
    let bytes = std::fs::read(project.path(&format!("out/{reader}.eml"))).unwrap();
    let message = mail_parser::MessageParser::default().parse(&bytes).unwrap();
    (
        message.body_html(0).unwrap().into_owned(),
        message.body_text(0).unwrap().into_owned(),
    )
}

fn stats(project: &Project) -> serde_json::Value {
    let output = project
        .cmd()
        .args(["stats", "example", "--format", "json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

/// (people, likely automated) per link URL.
fn clicks(stats: &serde_json::Value) -> BTreeMap<String, (u64, u64)> {
    stats["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["url"].as_str().unwrap().to_string(),
                (
                    l["people"].as_u64().unwrap(),
                    l["likely_automated"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

#[test]
fn links_are_counted_per_link_and_redirect_only_to_the_issue_s_own() {
    let project = tracked(Project::example());
    project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["send", "issues/example", "--dry-run", "--out", "out"])
        .assert()
        .success();
    let (html, text) = parts(&project, "reader@example.com");

    // Both parts carry the same counting addresses, which name no reader;
    // mailto and the unsubscribe link are left alone.
    let mut links = counting_links(&text);
    links.sort();
    let mut in_html = counting_links(&html);
    in_html.sort();
    assert_eq!(links, in_html);
    assert!(links.len() >= 2, "{text}");
    for part in [&html, &text] {
        assert!(!part.contains("example.org/report") && !part.contains("example.net/data"));
        assert!(part.contains("mailto:editor@example.com"));
        assert!(
            part.contains("https://news.example.com/unsubscribe?e=reader%40example.com&amp;t=")
                || part.contains("https://news.example.com/unsubscribe?e=reader%40example.com&t=")
        );
        assert!(!part.contains("reader%40example.com/"));
    }
    let (other_html, _) = parts(&project, "jane.doe@example.org");
    let mut other = counting_links(&other_html);
    other.sort();
    assert_eq!(other, links, "the same for every reader");

    let served = Served::start(&project, SECRET, &[]);
    let local = |link: &str| link.replace("https://news.example.com", &served.base);
    let mut targets = Vec::new();
    for link in &links {
        let response = agent()
            .get(&local(link))
            .header(
                "User-Agent",
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)",
            )
            .call()
            .unwrap();
        assert_eq!(response.status().as_u16(), 302, "{link}");
        targets.push(response.headers()["location"].to_str().unwrap().to_string());
    }
    assert!(
        targets.contains(&"https://example.org/report?a=1&b=2".to_string()),
        "{targets:?}"
    );
    assert!(
        targets.contains(&"http://example.net/data".to_string()),
        "{targets:?}"
    );
    assert!(!targets.iter().any(|t| t.starts_with("mailto:")));

    // A changed signature, another link's signature, an unknown link or
    // issue: 404, and nothing counted.
    let report = &links[targets.iter().position(|t| t.contains("report")).unwrap()];
    let (prefix, signature) = report.rsplit_once('/').unwrap();
    let (issue_part, n) = prefix.rsplit_once('/').unwrap();
    let flipped = format!(
        "{}{}",
        if signature.starts_with('0') { "1" } else { "0" },
        &signature[1..]
    );
    for bad in [
        format!("{prefix}/{flipped}"),
        format!("{issue_part}/999/{signature}"),
        format!(
            "{issue_part}/{}/{signature}",
            n.parse::<usize>().unwrap() + 1
        ),
        report.replace("/c/example/", "/c/welcome/"),
        report.replace("/c/example/", "/c/..%2Fconfig/"),
    ] {
        let response = agent().get(&local(&bad)).call().unwrap();
        assert_eq!(response.status().as_u16(), 404, "{bad}");
    }

    // HEAD and a scanner count apart from people.
    let head = agent().head(&local(report)).call().unwrap();
    assert_eq!(head.status().as_u16(), 302);
    let scanner = agent()
        .get(&local(report))
        .header(
            "User-Agent",
            "Mozilla/5.0 (compatible; Barracuda Sentinel; +https://example.com)",
        )
        .call()
        .unwrap();
    assert_eq!(scanner.status().as_u16(), 302);
    let counted = clicks(&stats(&project));
    assert_eq!(counted["https://example.org/report?a=1&b=2"], (1, 2));
    assert_eq!(counted["http://example.net/data"], (1, 0));

    // The counts are in a file: they survive a restart of the server.
    drop(served);
    let served = Served::start(&project, SECRET, &[]);
    let again = agent()
        .get(&report.replace("https://news.example.com", &served.base))
        .header(
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
        )
        .call()
        .unwrap();
    assert_eq!(again.status().as_u16(), 302);
    assert_eq!(
        clicks(&stats(&project))["https://example.org/report?a=1&b=2"],
        (2, 2)
    );
    let log = project.read("state/clicks.log");
    assert!(!log.contains('@') && !log.contains("Mozilla"), "{log}");
}

#[test]
fn stats_match_a_send_with_refusals_deferrals_an_unsubscribe_and_early_clicks() {
    let mut script = Script::default();
    script.rules.insert(
        "reader1@example.com".into(),
        Rule {
            stage: Stage::Rcpt,
            reply: "550 5.1.1 <reader1@example.com>: no such user".into(),
            times: None,
        },
    );
    script.rules.insert(
        "reader3@example.com".into(),
        Rule {
            stage: Stage::Data,
            reply: "454 4.7.0 Throttling failure".into(),
            times: None,
        },
    );
    let server = Server::start(script);
    let mut list = String::new();
    for i in 0..8 {
        list.push_str(&format!(
            "[[subscriber]]\nemail = \"reader{i}@example.com\"\ntags = [\"weekly\"]\n\n"
        ));
    }
    let project = tracked(Project::with_relay(
        server.port,
        &list,
        "state_dir = \"../state\"\nconcurrency = 2\nrate_per_second = 0\nmax_attempts = 2\nretry_delay_secs = 0.05",
    ));
    let sent = project
        .cmd()
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["send", "issues/example", "--yes"])
        .output()
        .unwrap();
    assert_eq!(sent.status.code(), Some(2), "{sent:?}");

    // A reader leaves through this issue's link; a click right after the
    // send is what a scanner does on delivery.
    let message = server
        .received()
        .into_iter()
        .find(|m| m.to[0] == "reader0@example.com")
        .unwrap();
    let data = String::from_utf8_lossy(&message.data).into_owned();
    let unsubscribe = data
        .lines()
        .find_map(|l| l.strip_prefix("List-Unsubscribe: "))
        .and_then(|v| v.split('<').find(|p| p.starts_with("https://")))
        .map(|p| {
            p.trim()
                .trim_end_matches(',')
                .trim_end_matches('>')
                .to_string()
        })
        .expect("a List-Unsubscribe URL");
    assert!(unsubscribe.ends_with("&i=example"), "{unsubscribe}");
    let served = Served::start(&project, SECRET, &[]);
    let local = |u: &str| u.replace("https://news.example.com", &served.base);
    let left = agent()
        .post(&local(&unsubscribe))
        .content_type("application/x-www-form-urlencoded")
        .send("List-Unsubscribe=One-Click")
        .unwrap();
    assert_eq!(left.status().as_u16(), 200);
    let mail = mail_parser::MessageParser::default()
        .parse(&message.data)
        .unwrap();
    let link = counting_links(&mail.body_text(0).unwrap())[0].clone();
    let early = agent()
        .get(&local(&link))
        .header("User-Agent", "Mozilla/5.0 (Macintosh) Safari/605.1.15")
        .call()
        .unwrap();
    assert_eq!(early.status().as_u16(), 302);

    let figures = stats(&project);
    assert_eq!(figures["accepted"], 6, "{figures}");
    assert_eq!(figures["refused"], 1, "{figures}");
    assert_eq!(figures["deferred"], 1, "{figures}");
    assert_eq!(figures["unsubscribes"], 1, "{figures}");
    // The 5.1.1 refusal marked reader1 bounced: bounces.log counts it
    // against this send.
    assert_eq!(figures["bounces"], 1, "{figures}");
    assert_eq!(figures["complaints"], 0, "{figures}");
    assert_eq!(figures["blocked"], 0, "{figures}");
    assert_eq!(
        figures["reasons"],
        serde_json::json!([["userunknown", 1]]),
        "{figures}"
    );
    let over_time = figures["accepted_over_time"].as_array().unwrap();
    assert_eq!(over_time.last().unwrap()[1], 6, "{figures}");
    let first = &figures["links"][0];
    assert_eq!(
        (first["people"].as_u64(), first["likely_automated"].as_u64()),
        (Some(0), Some(1))
    );

    let table = project
        .cmd()
        .args(["stats", "issues/example"])
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.contains("6 accepted, 1 refused, 1 deferred (8 readers)"),
        "{table}"
    );
    assert!(
        table.contains("1 through this issue's unsubscribe link"),
        "{table}"
    );
    assert!(table.contains("\n  reasons   userunknown 1\n"), "{table}");
}
