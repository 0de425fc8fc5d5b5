//! `letterpress subscribers …` on a real list file: edits keep the user's
//! comments, imports never drop an entry, exports round-trip.

use crate::support;

use predicates::prelude::*;
use support::Project;

const LIST: &str = "config/subscribers.toml";

fn subscribers(project: &Project, args: &[&str]) -> assert_cmd::assert::Assert {
    project.cmd().arg("subscribers").args(args).assert()
}

#[test]
fn add_unsubscribe_remove_keep_comments() {
    let project = Project::example();
    let original = project.read(LIST);
    subscribers(
        &project,
        &[
            "add",
            "new@example.net",
            "--name",
            "새 독자",
            "--tag",
            "weekly",
        ],
    )
    .success()
    .stdout(predicate::str::contains("Added new@example.net"));
    let text = project.read(LIST);
    assert!(text.starts_with(&original), "existing text changed");
    let added = &text[original.len()..];
    assert!(added.starts_with("\n[[subscriber]]\nemail = \"new@example.net\"\nname = \"새 독자\"\ntags = [\"weekly\"]\nsubscribed_at = \""), "{added}");
    assert!(added.ends_with("Z\"\nsource = \"cli\"\n"), "{added}");
    let list = letterpress::List::parse(std::path::Path::new(LIST), &text).unwrap();
    let entry = list
        .entries
        .iter()
        .find(|e| e.email() == "new@example.net")
        .unwrap();
    let joined = entry.joined().expect("subscribed_at is an RFC 3339 time");
    assert!((jiff::Timestamp::now().as_second() - joined.as_second()).abs() < 60);

    subscribers(&project, &["add", "NEW@example.net"])
        .code(1)
        .stderr(predicate::str::contains("already in"));
    subscribers(&project, &["add", "broken@"])
        .code(1)
        .stderr(predicate::str::contains("not a valid email address"));

    subscribers(&project, &["unsubscribe", "Park@Example.net"]).success();
    let text = project.read(LIST);
    assert!(
        text.contains(
            "email  = \"park@example.net\"\ntags   = [\"weekly\"]\nstatus = \"unsubscribed\"\n"
        ),
        "{text}"
    );
    assert!(text.starts_with("# The subscriber list. One [[subscriber]] table per reader.\n"));

    subscribers(&project, &["remove", "reader@example.com"]).success();
    let text = project.read(LIST);
    assert!(!text.contains("reader@example.com"));
    assert!(
        text.starts_with("# The subscriber list. One [[subscriber]] table per reader.\n# status:"),
        "{text}"
    );
    subscribers(&project, &["remove", "reader@example.com"])
        .code(1)
        .stderr(predicate::str::contains("is not in"));

    subscribers(&project, &["list", "--count"])
        .success()
        .stdout("4 readers: 2 active, 2 unsubscribed, 0 bounced; 0 invalid, 0 duplicate\n");
}

#[test]
fn imports_a_mailchimp_export() {
    let project = Project::example();
    let before = project.read(LIST);
    project.write(
        "members.csv",
        "\"Email Address\",\"First Name\",\"Last Name\",\"Address\",\"MEMBER_RATING\",\"OPTIN_TIME\",\"TAGS\"\n\
         \"ana@example.org\",\"Ana\",\"Lima\",\"\",2,\"2026-01-02 10:00:00\",\"\"\"weekly\"\",\"\"vip\"\"\"\n\
         \"READER@example.com\",\"Kim\",\"\",\"\",2,\"2026-01-02 10:00:00\",\"\"\n\
         \"not an address\",\"X\",\"\",\"\",1,\"\",\"\"\n\
         \"bo@example.net\",\"\",\"\",\"\",1,\"\",\"\"\n\
         \"Bo@Example.net\",\"Bo\",\"\",\"\",1,\"\",\"\"\n",
    );
    subscribers(&project, &["import", "members.csv", "--tag", "imported"])
        .success()
        .stdout(
            predicate::str::contains("Imported 2 readers").and(predicate::str::contains(
                "skipped 1 invalid and 2 duplicate rows",
            )),
        )
        .stderr(
            predicate::str::contains(
                "members.csv:4: skipped: `not an address` is not a valid email address",
            )
            .and(predicate::str::contains(
                "members.csv:3: skipped: READER@example.com is already in the list",
            ))
            .and(predicate::str::contains(
                "members.csv:6: skipped: Bo@Example.net",
            )),
        );
    let text = project.read(LIST);
    assert!(text.starts_with(&before), "an existing entry changed");
    assert!(text.contains("email = \"ana@example.org\"\nname = \"Ana Lima\"\ntags = [\"imported\", \"weekly\", \"vip\"]\n"), "{text}");
    assert!(
        text.contains("email = \"bo@example.net\"\ntags = [\"imported\"]\n"),
        "{text}"
    );
}

#[test]
fn imports_a_korean_export_with_bom() {
    let project = Project::example();
    project.write(
        "stibee.csv",
        "\u{feff}이름,이메일,가입일\n홍길동,hong@example.com,2026-03-01\n,lee@example.org,2026-03-02\n",
    );
    subscribers(&project, &["import", "stibee.csv"])
        .success()
        .stdout(predicate::str::contains("Imported 2 readers"));
    let text = project.read(LIST);
    assert!(
        text.contains("email = \"hong@example.com\"\nname = \"홍길동\"\n"),
        "{text}"
    );
    assert!(text.contains("email = \"lee@example.org\"\n"), "{text}");
}

#[test]
fn import_column_by_flag_and_clear_errors() {
    let project = Project::example();
    project.write("contacts.csv", "Contact,Full Name\nx@example.com,X Y\n");
    subscribers(&project, &["import", "contacts.csv"])
        .code(1)
        .stderr(
            predicate::str::contains("contacts.csv:1: error: no address column")
                .and(predicate::str::contains("--email-column")),
        );
    subscribers(
        &project,
        &["import", "contacts.csv", "--email-column", "Contact"],
    )
    .success();
    assert!(project
        .read(LIST)
        .contains("email = \"x@example.com\"\nname = \"X Y\"\n"));

    project.write(
        "cp949.csv",
        b"\xc0\xcc\xb8\xa7,email\n\xc8\xab,y@example.com\n",
    );
    subscribers(&project, &["import", "cp949.csv"])
        .code(1)
        .stderr(
            predicate::str::contains("cp949.csv:1: error: the file is not UTF-8")
                .and(predicate::str::contains("CSV UTF-8")),
        );
}

#[test]
fn export_writes_csv() {
    let project = Project::example();
    subscribers(&project, &["export"]).success().stdout(
        "email,name,status,tags,subscribed_at,source,unsubscribed_at,paused_until,consent_notified_at\n\
         reader@example.com,김독자,active,weekly,,,,,\n\
         jane.doe@example.org,Jane Doe,active,weekly;english,,,,,\n\
         park@example.net,,active,weekly,,,,,\n\
         former@example.com,이전 구독자,unsubscribed,weekly,,,,,\n",
    );
    subscribers(&project, &["export", "--out", "list.csv"]).success();
    assert!(project
        .read("list.csv")
        .starts_with("email,name,status,tags,subscribed_at,source,unsubscribed_at,paused_until,consent_notified_at\n"));
}

#[test]
fn export_then_import_gives_back_the_same_list_and_no_cell_is_a_formula() {
    let project = Project::example();
    project.write(
        LIST,
        r#"[[subscriber]]
email = "active@example.com"
name = '=HYPERLINK("https://example.net","click")'
tags = ["weekly", "vip"]
subscribed_at = "2026-01-02T03:04:05Z"
source = "form"
paused_until = "2027-01-29T00:00:00Z"
consent_notified_at = "2026-06-01T09:00:00Z"

[[subscriber]]
email = "former@example.com"
name = "+cmd|' /C calc'!A0"
status = "unsubscribed"
subscribed_at = "2025-05-01T00:00:00Z"
source = "import"
unsubscribed_at = "2026-02-01T00:00:00Z"

[[subscriber]]
email = "-dash@example.org"
name = "@SUM(1+1)"
status = "bounced"

[[subscriber]]
email = "quote@example.net"
name = "'=already guarded"
"#,
    );
    let first = String::from_utf8(
        subscribers(&project, &["export"])
            .success()
            .get_output()
            .stdout
            .clone(),
    )
    .unwrap();
    for formula in ["=HYPERLINK", "+cmd", "-dash", "@SUM", "'=already"] {
        assert!(
            first.contains(&format!("'{formula}")),
            "{formula} is not guarded: {first}"
        );
        assert!(
            !first.contains(&format!(",{formula}")) && !first.contains(&format!("\n{formula}")),
            "{first}"
        );
    }
    let before = letterpress::List::load(&project.path(LIST)).unwrap();
    project.write("list.csv", &first);
    project.write(LIST, "");
    subscribers(&project, &["import", "list.csv"]).success();
    let after = letterpress::List::load(&project.path(LIST)).unwrap();
    let readers = |list: &letterpress::List| -> Vec<letterpress::Subscriber> {
        list.entries.iter().map(|e| e.subscriber()).collect()
    };
    assert_eq!(readers(&after), readers(&before));
    let again = subscribers(&project, &["export"])
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(String::from_utf8(again).unwrap(), first);
}

#[test]
fn unknown_keys_in_the_list_are_errors_with_lines() {
    let project = Project::example();
    project.edit(
        LIST,
        "tags   = [\"weekly\", \"english\"]",
        "tag = [\"weekly\"]",
    );
    subscribers(&project, &["list"])
        .code(1)
        .stderr(predicate::str::contains(
            "config/subscribers.toml:12:1: error: unknown field `tag`",
        ));
}

// Test that `subscribers show` prints what the list, the journals and
// bounces.log hold about one reader, found by any spelling of the address
// and no one else's, also as JSON for an export; and says so when
// letterpress holds nothing.
#[test]
fn show_prints_everything_held_about_one_reader() {
    let project = Project::example();
    let state = project.path("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join("example.journal"),
        "# issue: example\n2026-11-27T09:00:01Z accepted jane.doe@example.org attempts=1 reply=\"250 2.0.0 Ok\"\n2026-11-27T09:00:02Z accepted park@example.net attempts=1 reply=\"250 ok\"\n",
    )
    .unwrap();
    std::fs::write(
        state.join("bounces.log"),
        "2026-11-28T10:00:00Z soft jane.doe@example.org status=4.2.2 report=r1 action=counted\n2026-11-28T10:00:01Z hard park@example.net status=5.1.1 report=r2 action=bounced\n",
    )
    .unwrap();
    let out = project
        .cmd()
        .args(["subscribers", "show", "Jane.Doe@EXAMPLE.org"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("jane.doe@example.org \"Jane Doe\": active, tags [weekly, english]"),
        "{text}"
    );
    assert!(
        text.contains("2026-11-27T09:00:01Z example accepted 250 2.0.0 Ok"),
        "{text}"
    );
    assert!(text.contains("soft 4.2.2 counted (r1)"), "{text}");
    assert!(!text.contains("park@example.net"), "{text}");

    let out = project
        .cmd()
        .args([
            "subscribers",
            "show",
            "jane.doe@example.org",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let held: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(held["entries"][0]["email"], "jane.doe@example.org");
    assert_eq!(held["entries"][0]["name"], "Jane Doe");
    assert_eq!(held["sends"].as_array().unwrap().len(), 1);
    assert_eq!(held["sends"][0]["outcome"], "accepted");
    assert_eq!(held["bounces"][0]["kind"], "soft");

    project
        .cmd()
        .args(["subscribers", "show", "nobody@example.com"])
        .assert()
        .success()
        .stdout("letterpress holds nothing about nobody@example.com.\n");
}
