//! Property tests of the loaders: arbitrary bytes and arbitrary structured
//! TOML, Markdown and CSV never make letterpress panic, every error names
//! the file it is about, and what letterpress writes it reads back. The
//! number of cases is bounded so that `cargo test` stays quick.

use std::path::Path;

use letterpress::{Composed, Config, Editor, Issue, List, Status, Subscriber, Theme, Values};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    // PROPTEST_CASES runs more, for a longer search by hand.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The error's whole chain, which must name a file inside `dir`.
fn assert_names_a_file(err: &anyhow::Error, dir: &Path) {
    let text = format!("{err:#}");
    assert!(
        text.contains(&dir.display().to_string()),
        "the error names no file: {text}"
    );
}

const CONFIG: &str = "[newsletter]\nname = \"N\"\nfrom = \"N <letter@example.com>\"\n\n[subscribers]\nfile = \"subscribers.toml\"\n\n[unsubscribe]\nmailto = \"unsubscribe@example.com\"\n";

/// An issue folder with `issue.toml` and one section holding `body`.
fn issue_dir(dir: &Path, issue_toml: &[u8], body: &[u8]) -> std::path::PathBuf {
    let issue = dir.join("issues").join("t");
    std::fs::create_dir_all(&issue).unwrap();
    std::fs::write(issue.join("issue.toml"), issue_toml).unwrap();
    let mut section = b"+++\ntitle = \"T\"\n+++\n".to_vec();
    section.extend_from_slice(body);
    std::fs::write(issue.join("01.md"), section).unwrap();
    issue
}

/// Pieces Markdown and merge tags are made of, Hangul and hostile bits too.
fn markdown() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "> ",
        "- ",
        "1. ",
        "* ",
        "**",
        "_",
        "~~",
        "`",
        "```\n",
        "# ",
        "\n",
        "\n\n",
        "| a | b |\n",
        "|---|---|\n",
        "[",
        "](",
        ")",
        "https://example.com/a?b=1&c=2",
        "![alt](",
        "x.png",
        "{{ name }}",
        "{{ email }}",
        "{{ name | \"독자\" }}",
        "{{ unsubscribe_url }}",
        "{{",
        "}}",
        "[^1]",
        "[^1]: note\n",
        "<b>",
        "&amp;",
        "위기의 AI스타트업",
        "word ",
        "\u{E000}",
        "\u{E001}",
        "\r\n",
        "\t",
        "    code\n",
        "---\n",
        "+++",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_as_the_config_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newsletter.toml");
        std::fs::write(&path, &bytes).unwrap();
        if let Err(err) = Config::load(&path) {
            assert_names_a_file(&err, dir.path());
        }
    }

    #[test]
    fn any_values_in_the_sending_table_load_or_are_refused(
        rate in prop_oneof![any::<f64>(), Just(f64::NAN), Just(f64::INFINITY), Just(1e-300)],
        delay in prop_oneof![any::<f64>(), Just(f64::NAN), Just(f64::NEG_INFINITY), Just(1e30)],
        concurrency in any::<u32>(),
        attempts in any::<u32>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newsletter.toml");
        let mut sending = toml::Table::new();
        sending.insert("rate_per_second".into(), rate.into());
        sending.insert("retry_delay_secs".into(), delay.into());
        sending.insert("concurrency".into(), i64::from(concurrency).into());
        sending.insert("max_attempts".into(), i64::from(attempts).into());
        let mut table = toml::Table::new();
        table.insert("sending".into(), sending.into());
        std::fs::write(&path, format!("{CONFIG}\n{}", toml::to_string(&table).unwrap())).unwrap();
        match Config::load(&path) {
            Ok(config) => {
                // What the sender computes from them must not panic.
                let s = &config.file.sending;
                if s.rate_per_second > 0.0 {
                    let interval = std::time::Duration::from_secs_f64(1.0 / s.rate_per_second);
                    prop_assert!(interval <= std::time::Duration::from_secs(1000));
                }
                let delay = std::time::Duration::from_secs_f64(s.retry_delay_secs);
                prop_assert!(delay <= std::time::Duration::from_secs(3600));
            }
            Err(err) => assert_names_a_file(&err, dir.path()),
        }
    }

    #[test]
    fn any_bytes_as_an_issue_never_panic(
        issue_toml in prop::collection::vec(any::<u8>(), 0..200),
        body in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let issue = issue_dir(dir.path(), &issue_toml, &body);
        if let Err(err) = Issue::load(&issue) {
            assert_names_a_file(&err, dir.path());
        }
    }

    #[test]
    fn any_markdown_composes_or_is_refused_with_its_file(body in markdown()) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        let config_path = dir.path().join("config/newsletter.toml");
        std::fs::write(&config_path, CONFIG).unwrap();
        let config = Config::load(&config_path).unwrap();
        let issue = issue_dir(dir.path(), b"subject = \"S\"\n", body.as_bytes());
        std::fs::write(issue.join("x.png"), b"\x89PNG\r\n\x1a\n").unwrap();
        match Issue::load(&issue) {
            Ok(issue) => {
                let theme = Theme::load(&config).unwrap();
                match Composed::new(&config, &theme, &issue) {
                    Ok(composed) => {
                        let values = Values {
                            name: Some("김독자 <x>".into()),
                            email: "o'brien@example.com".into(),
                            unsubscribe_url: "mailto:unsubscribe@example.com".into(),
                            web_url: String::new(),
                            preferences_url: String::new(),
                        };
                        composed.html(&values);
                        composed.text(&values);
                    }
                    Err(err) => assert_names_a_file(&err, dir.path()),
                }
            }
            Err(err) => assert_names_a_file(&err, dir.path()),
        }
    }

    #[test]
    fn any_bytes_as_the_list_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscribers.toml");
        std::fs::write(&path, &bytes).unwrap();
        if let Err(err) = List::load(&path) {
            assert_names_a_file(&err, dir.path());
        }
    }

    #[test]
    fn any_valid_toml_list_loads_and_what_the_editor_writes_reads_back(
        entries in prop::collection::vec((any::<String>(), prop::option::of(any::<String>()), prop::collection::vec(any::<String>(), 0..3)), 0..6),
        added in prop::collection::vec(("[a-z]{1,8}", prop::option::of(any::<String>())), 0..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscribers.toml");
        // Whatever strings the entries hold, the file is valid TOML: the
        // loader must read it (reporting invalid entries, never failing).
        let mut text = String::from("# readers\n");
        for (email, name, tags) in &entries {
            let mut table = toml::Table::new();
            table.insert("email".into(), email.clone().into());
            if let Some(name) = name {
                table.insert("name".into(), name.clone().into());
            }
            table.insert("tags".into(), tags.clone().into());
            text.push_str(&format!("\n[[subscriber]]\n{}", toml::to_string(&table).unwrap()));
        }
        std::fs::write(&path, &text).unwrap();
        let list = List::load(&path).unwrap();
        prop_assert_eq!(list.entries.len(), entries.len());

        let mut editor = Editor::open(&path).unwrap();
        let mut accepted = 0;
        for (user, name) in &added {
            let subscriber = Subscriber {
                email: format!("{user}@example.com"),
                name: name.clone(),
                status: Status::Active,
                tags: vec!["weekly".into()],
                subscribed_at: Some("2026-12-02T10:00:00Z".into()),
                source: Some("cli".into()),
                unsubscribed_at: None,
                paused_until: None,
                consent_notified_at: None,
            };
            if editor.add(&subscriber).is_ok() {
                accepted += 1;
            }
        }
        editor.save().unwrap();
        drop(editor);
        let again = List::load(&path).unwrap();
        prop_assert_eq!(again.entries.len(), entries.len() + accepted);
        for entry in &again.entries[entries.len()..] {
            prop_assert!(entry.is_valid(), "{:?}", entry);
        }
    }

    #[test]
    fn any_csv_imports_or_is_refused_and_the_list_reads_back(
        rows in prop::collection::vec((any::<String>(), any::<String>(), any::<String>()), 0..8),
        raw in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("subscribers.toml");
        let csv_path = dir.path().join("import.csv");
        // Structured rows, quoted by a CSV writer: any text in any field.
        let mut writer = csv::Writer::from_path(&csv_path).unwrap();
        writer.write_record(["email", "name", "tags"]).unwrap();
        for (email, name, tags) in &rows {
            writer.write_record([email, name, tags]).unwrap();
        }
        writer.flush().unwrap();
        drop(writer);
        for source in [None, Some(&raw)] {
            if let Some(raw) = source {
                std::fs::write(&csv_path, raw).unwrap();
            }
            let mut editor = Editor::open(&list).unwrap();
            match letterpress::import_csv(&mut editor, &csv_path, None, &[], &|_| false) {
                Ok(_) => editor.save().unwrap(),
                Err(err) => assert_names_a_file(&err, dir.path()),
            }
            drop(editor);
            if list.exists() {
                let loaded = List::load(&list);
                prop_assert!(loaded.is_ok(), "letterpress cannot read what it wrote: {:?}", loaded.err());
            }
        }
    }
}

/// Pieces bounce reports are made of: DSN fields, MIME boundaries, codes,
/// addresses, folding, Hangul and hostile bits.
fn report() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n",
        "Content-Type: message/delivery-status\r\n",
        "Content-Type: message/global-delivery-status\r\n",
        "Content-Type: message/feedback-report\r\n",
        "Content-Type: text/rfc822-headers\r\n",
        "Content-Type: message/rfc822\r\n",
        "\r\n--b\r\n",
        "\r\n--b--\r\n",
        "Final-Recipient: rfc822; gone@example.org\r\n",
        "Original-Recipient: utf-8; \\x{AE40}@example.com\r\n",
        "Original-Recipient: utf-8; \\x{\r\n",
        "Action: failed\r\n",
        "Action: delayed\r\n",
        "Status: 5.1.1\r\n",
        "Status: 4.\r\n",
        "Diagnostic-Code: smtp; 550-5.1.1 user unknown\r\n",
        "X-Failed-Recipients: a@example.org, @, x@\r\n",
        "From: MAILER-DAEMON@example.net\r\n",
        "Subject: Undelivered Mail Returned to Sender\r\n",
        "Auto-Submitted: auto-replied\r\n",
        "Original-Rcpt-To: b@example.org\r\n",
        "To: bounces+0123456789abcdef0123@example.com\r\n",
        "------ This is a copy of the message, including all the headers. ------\r\n",
        " folded\r\n",
        "\r\n\r\n",
        "<a@b.c>:\r\n",
        "@@@",
        "5.",
        "2.0.0 ",
        "독자@예시.com ",
        "\u{1b}[31m",
        "\0",
    ]);
    prop::collection::vec(pieces, 0..60).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_or_report_pieces_classify_without_a_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..2000),
        text in report(),
    ) {
        let ours = letterpress::bounces::classify::Ours {
            addresses: vec!["letter@example.com".into(), "bounces@example.com".into()],
        };
        for input in [bytes.as_slice(), text.as_bytes()] {
            let report = letterpress::bounces::classify::classify(input, &ours);
            for r in &report.recipients {
                prop_assert!(r.address.contains('@'));
                prop_assert!(!r.address.contains(|c: char| c.is_control() || c.is_whitespace()));
            }
        }
    }

    #[test]
    fn any_imap_url_parses_or_is_refused_without_a_panic(url in "(imaps?|pop3)://[ -~]{0,80}") {
        let _ = letterpress::bounces::mailbox::imap::Target::parse(&url);
    }
}
