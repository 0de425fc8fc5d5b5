//! The command line as a user meets it: `build`, `new`, and the errors that
//! must name the file, the line and what to do.

use crate::support;

use predicates::prelude::*;
use support::{letterpress, Project};

// Test that the shipped example builds and writes the three files.
#[test]
fn builds_the_example() {
    let project = Project::example();
    project
        .cmd()
        .args(["build", "issues/example", "--out", "out"])
        .assert()
        .success()
        .stdout(predicate::str::contains("email.html").and(predicate::str::contains("KB")));
    for file in ["email.html", "email.txt", "web.html"] {
        assert!(project.path("out").join(file).is_file(), "{file} missing");
    }
}

// Test that the default output folder is ISSUE/build and that an issue can
// be named by its folder name under issues/.
#[test]
fn builds_into_issue_folder_by_name() {
    let project = Project::example();
    project.cmd().args(["build", "example"]).assert().success();
    assert!(project.path("issues/example/build/email.html").is_file());
}

// Test that builds are deterministic: byte-identical output on repeat.
#[test]
fn builds_are_byte_identical() {
    let project = Project::example();
    let first = project.build();
    let second = project.build();
    assert_eq!(first, second);
}

// Test that --as renders for a chosen reader and fails for an unknown one.
#[test]
fn renders_for_chosen_reader() {
    let project = Project::example();
    project
        .cmd()
        .args([
            "build",
            "issues/example",
            "--out",
            "out",
            "--as",
            "JANE.DOE@example.org",
        ])
        .assert()
        .success();
    assert!(project.read("out/email.txt").contains("Jane Doe님"));
    project
        .cmd()
        .args(["build", "issues/example", "--as", "nobody@example.net"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nobody@example.net is not in"));
}

// Test that `new` scaffolds an issue that builds, and refuses to overwrite.
#[test]
fn new_scaffolds_an_issue_that_builds() {
    let project = Project::example();
    project
        .cmd()
        .args(["new", "issues/next"])
        .assert()
        .success();
    for file in ["issue.toml", "01-intro.md", "02-story.md", "03-note.md"] {
        assert!(project.path("issues/next").join(file).is_file());
    }
    project
        .cmd()
        .args(["build", "issues/next", "--out", "next"])
        .assert()
        .success();
    // The example is a Korean newsletter: the samples are Korean.
    assert!(project.read("next/email.txt").contains("이야기 제목"));
    project
        .cmd()
        .args(["new", "issues/next"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists"));
}

/// Runs `build` and asserts exit 1 with `location: error: message` on stderr.
fn assert_build_error(project: &Project, location: &str, message: &str) {
    let output = project
        .cmd()
        .args(["build", "issues/example", "--out", "out"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(&format!("{location}: error: ")) && stderr.contains(message),
        "expected `{location}: error: …{message}…`, got:\n{stderr}"
    );
    assert!(stderr.contains("help: "), "no help in:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !project.path("out/email.html").exists(),
        "a failed build wrote output"
    );
}

#[test]
fn errors_on_unknown_front_matter_key() {
    let project = Project::example();
    project.edit("issues/example/02-openai.md", "link_text =", "link_txt =");
    assert_build_error(
        &project,
        "issues/example/02-openai.md:4:1",
        "unknown field `link_txt`",
    );
}

#[test]
fn errors_on_unknown_issue_key_and_missing_subject() {
    let project = Project::example();
    project.edit(
        "issues/example/issue.toml",
        "toc       = true",
        "tco = true",
    );
    assert_build_error(
        &project,
        "issues/example/issue.toml:5:1",
        "unknown field `tco`",
    );

    let project = Project::example();
    project.write("issues/example/issue.toml", "preheader = \"p\"\n");
    assert_build_error(
        &project,
        "issues/example/issue.toml:1:1",
        "missing field `subject`",
    );
}

#[test]
fn errors_on_image_without_alt() {
    let project = Project::example();
    project.edit(
        "issues/example/02-openai.md",
        "image_alt = \"DevDay 무대에서 발표하는 오픈AI 경영진\"\n",
        "",
    );
    assert_build_error(
        &project,
        "issues/example/02-openai.md:5:13",
        "`image` is set but `image_alt` is not",
    );
}

#[test]
fn errors_on_missing_listed_section() {
    let project = Project::example();
    project.write(
        "issues/example/issue.toml",
        "subject = \"s\"\nsections = [\n  \"01-intro.md\",\n  \"02-missing.md\",\n]\n",
    );
    assert_build_error(
        &project,
        "issues/example/issue.toml:4:3",
        "`sections` lists `02-missing.md`",
    );
}

#[test]
fn errors_on_unknown_kind() {
    let project = Project::example();
    project.edit(
        "issues/example/03-quote.md",
        "kind        = \"quote\"",
        "kind = \"qoute\"",
    );
    assert_build_error(
        &project,
        "issues/example/03-quote.md:2:8",
        "unknown variant `qoute`",
    );
}

#[test]
fn errors_on_malformed_toml() {
    let project = Project::example();
    project.edit(
        "issues/example/05-olympus.md",
        "title     = \"아마존",
        "title     = 아마존",
    );
    assert_build_error(
        &project,
        "issues/example/05-olympus.md:2:20",
        "expected newline",
    );
}

#[test]
fn errors_on_file_that_is_not_utf8() {
    let project = Project::example();
    project.write(
        "issues/example/07-latin1.md",
        b"+++\ntitle = \"caf\xe9\"\n+++\n",
    );
    assert_build_error(
        &project,
        "issues/example/07-latin1.md:2:13",
        "not valid UTF-8",
    );
}

#[test]
fn errors_on_unknown_merge_tag_with_line() {
    let project = Project::example();
    project.edit(
        "issues/example/06-note.md",
        "{{ name | \"독자\" }}님,",
        "{{ nickname }}님,",
    );
    assert_build_error(
        &project,
        "issues/example/06-note.md:5:1",
        "unknown merge tag `{{ nickname }}`",
    );
}

#[test]
fn errors_on_raw_html() {
    let project = Project::example();
    project.edit(
        "issues/example/05-olympus.md",
        "`Olympus`가",
        "<script>alert(1)</script>`Olympus`가",
    );
    assert_build_error(
        &project,
        "issues/example/05-olympus.md:8:1",
        "raw HTML is not allowed",
    );
}

#[test]
fn errors_on_story_without_title() {
    let project = Project::example();
    project.write("issues/example/07-untitled.md", "Just some text.\n");
    assert_build_error(
        &project,
        "issues/example/07-untitled.md:1:1",
        "a story needs a `title`",
    );
}

#[test]
fn refuses_password_in_config_without_echoing_it() {
    let project = Project::example();
    project.edit(
        "config/newsletter.toml",
        "timeout_secs = 30",
        "timeout_secs = 30\npassword = \"s3cret-value\"",
    );
    let output = project
        .cmd()
        .args(["build", "issues/example"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("config/newsletter.toml:32:12: error: a password written into the configuration is refused"), "{stderr}");
    assert!(stderr.contains("password_env"), "{stderr}");
    assert!(!stderr.contains("s3cret-value"), "{stderr}");
}

#[test]
fn errors_on_unknown_config_key() {
    let project = Project::example();
    project.edit(
        "config/newsletter.toml",
        "postal_address =",
        "postal_adress =",
    );
    assert_build_error(
        &project,
        "config/newsletter.toml:11:1",
        "unknown field `postal_adress`",
    );
}

#[test]
fn errors_on_missing_config_with_hint() {
    letterpress()
        .current_dir(std::env::temp_dir())
        .args(["build", "x"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("config/newsletter.toml")
                .and(predicate::str::contains("--config")),
        );
}

#[test]
fn errors_on_missing_issue_folder() {
    let project = Project::example();
    project
        .cmd()
        .args(["build", "issues/nope"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "issues/nope: no such issue folder",
        ));
}

#[test]
fn the_command_line_definition_is_consistent() {
    use clap::CommandFactory;
    letterpress::args::Cli::command().debug_assert();
}

#[test]
fn a_closed_output_pipe_ends_the_command_quietly() {
    let project = support::Project::example();
    // The reader of the output is gone before the first line is written,
    // as with `letterpress build … | head -0`.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("letterpress"))
        .current_dir(project.dir.path())
        .args(["build", "issues/example", "--out", "out"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(output.status.code(), Some(101), "{stderr}");
}

#[test]
fn help_names_what_build_writes_and_init_does_not_offer_config() {
    let help = |args: &[&str]| {
        let out = support::letterpress().args(args).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let build = help(&["build", "--help"]);
    for file in ["email.html", "email.txt", "web.html", "preview.eml"] {
        assert!(build.contains(file), "build --help lacks {file}:\n{build}");
    }
    let init = help(&["init", "--help"]);
    assert!(init.contains("--language"), "{init}");
    assert!(
        !init.contains("--config"),
        "init --help offers --config:\n{init}"
    );
    // The other commands still take it.
    assert!(help(&["check", "--help"]).contains("--config"));
}

#[test]
fn a_list_of_one_is_one_entry() {
    let project = Project::example();
    project.write(
        "config/subscribers.toml",
        "[[subscriber]]\nemail = \"reader@example.com\"\ntags = [\"weekly\"]\n",
    );
    let out = project
        .cmd()
        .env(
            "LETTERPRESS_UNSUBSCRIBE_SECRET",
            "a-test-secret-of-enough-length-0123456789",
        )
        .args(["send", "issues/example", "--dry-run", "--out", "outbox"])
        .output()
        .unwrap();
    let all =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(all.contains("1 entry in the list:"), "{all}");
    assert!(!all.contains("1 entries"), "{all}");
}

#[test]
fn new_writes_under_issues_and_a_mistyped_issue_names_the_nearest() {
    let project = Project::example();
    project
        .cmd()
        .args(["new", "2026-12-04-vol1"])
        .assert()
        .success();
    assert!(project.path("issues/2026-12-04-vol1/issue.toml").is_file());
    assert!(!project.path("2026-12-04-vol1").exists());
    // The example is a Korean newsletter: Korean samples.
    assert!(project
        .read("issues/2026-12-04-vol1/01-intro.md")
        .contains("안녕하세요"));
    // A path stays as given.
    project.cmd().args(["new", "drafts/one"]).assert().success();
    assert!(project.path("drafts/one/issue.toml").is_file());

    let out = project
        .cmd()
        .args(["build", "2026-12-04-vo1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("help: did you mean `2026-12-04-vol1`?"),
        "{stderr}"
    );
    assert!(!stderr.contains("letterpress new"), "{stderr}");
    let out = project.cmd().args(["check", "exmaple"]).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("did you mean `example`?"), "{stderr}");
}

#[test]
fn build_reports_web_url_without_base_url_at_the_line_that_uses_it() {
    let project = Project::example();
    project.edit(
        "config/newsletter.toml",
        "base_url       = \"https://news.example.com\"\n",
        "",
    );
    assert_build_error(
        &project,
        "issues/example/06-note.md:5",
        "{{ web_url }} needs [newsletter] base_url",
    );
}
