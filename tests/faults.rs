//! Sends under faults, against the scriptable SMTP server on loopback: a
//! journal that stops accepting writes (a file-size limit, no root needed;
//! as root also a real full tmpfs), a dry run that fills its disk, and a
//! reader who unsubscribes while the send runs.

use crate::support;

use crate::smtp;

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use smtp::{Script, Server};
use support::Project;

const SECRET: &str = "faults-test-secret-0123456789";
const CONCURRENCY: usize = 2;

fn readers(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("reader{i}@example.com")).collect()
}

/// The example with `n` readers, its relay at `port` and its state in
/// `state_dir` (relative to config/).
fn project(port: u16, n: usize, rate: u32, state_dir: &str) -> Project {
    let list: String = readers(n)
        .iter()
        .map(|r| format!("[[subscriber]]\nemail = \"{r}\"\ntags = [\"weekly\"]\n\n"))
        .collect();
    let sending = format!(
        "state_dir = \"{state_dir}\"\nrate_per_second = {rate}\nconcurrency = {CONCURRENCY}"
    );
    Project::with_relay(port, &list, &sending)
}

/// `letterpress send … --yes` as a plain child process, so that a test can
/// limit it or act while it runs.
fn send_command(project: &Project, extra: &[&str]) -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("letterpress"));
    command
        .current_dir(project.dir.path())
        .env_remove("LETTERPRESS_CONFIG")
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["send", "issues/example", "--yes"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Every reader received the issue, and no reader more than `extra` copies
/// beyond one in all.
fn assert_everyone_once_but(server: &Server, n: usize, extra: usize) -> usize {
    let counts: HashMap<String, usize> = server.counts();
    for reader in readers(n) {
        assert!(counts.contains_key(&reader), "{reader} was never sent");
    }
    let duplicates: usize = counts.values().map(|c| c - 1).sum();
    assert!(
        duplicates <= extra,
        "{duplicates} duplicate messages, more than the {extra} in flight: {counts:?}"
    );
    duplicates
}

/// Checks the promise after a run that stopped because its journal could
/// not be written: exit 2, the error, the summary and the resume command;
/// then a rerun sends the rest and nobody twice beyond the messages in
/// flight (each worker's, and the one whose record failed).
fn assert_stopped_then_resumed(project: &Project, server: &Server, n: usize, first: Output) {
    let (stdout, stderr) = text(&first);
    assert_eq!(first.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("cannot write the journal"), "{stderr}");
    assert!(stdout.contains("accepted,"), "no summary: {stdout}");
    assert!(stderr.contains("resume with:"), "{stderr}");
    let sent_first = server.received().len();
    assert!(sent_first < n, "the send did not stop: {sent_first} of {n}");
    let rerun = send_command(project, &[]).output().unwrap();
    let (stdout, stderr) = text(&rerun);
    assert_eq!(rerun.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_everyone_once_but(server, n, CONCURRENCY + 1);
}

#[test]
fn a_journal_that_stops_accepting_writes_stops_the_send_without_mass_resends() {
    let server = Server::start(Script::default());
    let n = 200;
    let project = project(server.port, n, 200, "../state");
    let first = send_with_file_size_limit(&project);
    assert_stopped_then_resumed(&project, &server, n, first);
}

/// As fast as the relay goes (no rate limit): outcomes come faster than the
/// journal syncs them, and still at most one per connection is unwritten
/// when the journal fails.
#[test]
fn a_journal_that_fails_under_a_fast_send_loses_one_record_per_connection_at_most() {
    let server = Server::start(Script::default());
    let n = 400;
    let project = project(server.port, n, 0, "../state");
    let first = send_with_file_size_limit(&project);
    assert_stopped_then_resumed(&project, &server, n, first);
}

/// `send` with its files limited to 4 KiB: the journal may grow to about
/// 40 records; every write after that fails with EFBIG, as writes to a
/// full disk fail with ENOSPC.
fn send_with_file_size_limit(project: &Project) -> Output {
    let limit: libc::rlim_t = 4096;
    let mut command = send_command(project, &[]);
    unsafe {
        command.pre_exec(move || {
            // Without this the kernel kills the process at the limit.
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let rlimit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &rlimit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.output().unwrap()
}

/// A tmpfs of `size` mounted at `dir` while it lives (root only).
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            if std::env::var_os("CI").is_some() {
                // CI runs as root; a CI that does not cannot run this test.
                panic!("CI is set but the tests do not run as root: cannot mount a tmpfs");
            }
            eprintln!("skipping: mounting a small tmpfs needs root");
            return None;
        }
        std::fs::create_dir_all(dir).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .unwrap();
        if !status.success() {
            if std::env::var_os("CI").is_some() {
                panic!("cannot mount a tmpfs at {}", dir.display());
            }
            eprintln!("skipping: cannot mount a tmpfs here");
            return None;
        }
        Some(Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Fills the file system of `dir` to the last byte.
fn fill(dir: &Path) {
    use std::io::Write;
    let mut filler = std::fs::File::create(dir.join("filler")).unwrap();
    let block = vec![0u8; 4096];
    while filler.write_all(&block).is_ok() {}
    let _ = filler.write_all(&block[..1]);
}

#[test]
fn a_full_disk_under_the_journal_stops_the_send_without_mass_resends() {
    let server = Server::start(Script::default());
    let n = 200;
    let project = project(server.port, n, 50, "../state");
    let Some(tmpfs) = Tmpfs::mount(&project.path("state"), "1m") else {
        return;
    };
    let child = send_command(&project, &[]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    fill(&tmpfs.0);
    let first = child.wait_with_output().unwrap();
    std::fs::remove_file(tmpfs.0.join("filler")).unwrap();
    assert_stopped_then_resumed(&project, &server, n, first);
}

/// A send whose state folder is full refuses before it mails anybody, and
/// says which file it could not write; once there is space it goes on.
#[test]
fn a_full_state_folder_is_named_in_the_error() {
    let server = Server::start(Script::default());
    let n = 5;
    let project = project(server.port, n, 0, "../state");
    let Some(tmpfs) = Tmpfs::mount(&project.path("state"), "1m") else {
        return;
    };
    fill(&tmpfs.0);
    let first = send_command(&project, &[]).output().unwrap();
    std::fs::remove_file(tmpfs.0.join("filler")).unwrap();
    let (stdout, stderr) = text(&first);
    assert_eq!(first.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("state/example.journal: cannot write the journal's header")
            && stderr.contains("No space left on device"),
        "{stderr}"
    );
    assert!(server.received().is_empty());
    let rerun = send_command(&project, &[]).output().unwrap();
    let (stdout, stderr) = text(&rerun);
    assert_eq!(rerun.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_everyone_once_but(&server, n, 0);
}

#[test]
fn a_dry_run_that_fills_its_disk_leaves_nothing_half_written() {
    let project = project(9, 40, 0, "../state");
    let Some(_tmpfs) = Tmpfs::mount(&project.path("outbox"), "256k") else {
        return;
    };
    let output = Command::new(assert_cmd::cargo::cargo_bin("letterpress"))
        .current_dir(project.dir.path())
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["send", "issues/example", "--dry-run", "--out", "outbox"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("this run had written were removed again"),
        "{stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(project.path("outbox"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_reader_who_unsubscribes_during_the_send_is_not_mailed_in_it() {
    let server = Server::start(Script::default());
    let n = 40;
    let project = project(server.port, n, 20, "../state");
    let child = send_command(&project, &[]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let unsubscribe = Command::new(assert_cmd::cargo::cargo_bin("letterpress"))
        .current_dir(project.dir.path())
        .args(["subscribers", "unsubscribe", "reader35@example.com"])
        .output()
        .unwrap();
    assert!(unsubscribe.status.success(), "{:?}", text(&unsubscribe));
    assert_left_out_reader35(child, &server, n);
}

#[test]
fn a_reader_who_unsubscribes_through_serve_during_the_send_is_not_mailed_in_it() {
    let server = Server::start(Script::default());
    let n = 40;
    let project = project(server.port, n, 20, "../state");
    let served = support::Served::start(&project, SECRET, &[]);
    let list_before = project.read("config/subscribers.toml");
    let child = send_command(&project, &[]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let token = letterpress::token(SECRET.as_bytes(), "reader35@example.com");
    let response = ureq::post(&format!(
        "{}/unsubscribe?e=reader35%40example.com&t={token}",
        served.base
    ))
    .content_type("application/x-www-form-urlencoded")
    .send("List-Unsubscribe=One-Click")
    .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    // Recorded in the change log: the list file itself is not rewritten
    // while the server is busy.
    assert_eq!(project.read("config/subscribers.toml"), list_before);
    assert!(project.path("config/subscribers.toml.changes").exists());
    assert_left_out_reader35(child, &server, n);
}

/// The send ended well, said it left reader35 out, and did not mail them.
fn assert_left_out_reader35(child: std::process::Child, server: &Server, n: usize) {
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "Left out: unsubscribed, bounced or paused while the send ran:\n  reader35@example.com"
        ),
        "{stdout}"
    );
    let counts = server.counts();
    assert_eq!(counts.get("reader35@example.com"), None);
    assert_eq!(counts.len(), n - 1);
}

/// One-click unsubscribe through `serve`.
fn one_click(served: &support::Served, address: &str) -> u16 {
    let token = letterpress::token(SECRET.as_bytes(), address);
    let encoded = address.replace('@', "%40");
    match ureq::post(&format!(
        "{}/unsubscribe?e={encoded}&t={token}",
        served.base
    ))
    .content_type("application/x-www-form-urlencoded")
    .send("List-Unsubscribe=One-Click")
    {
        Ok(response) => response.status().as_u16(),
        Err(ureq::Error::StatusCode(code)) => code,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_torn_change_log_is_cut_and_a_send_during_it_leaves_the_reader_out() {
    let server = Server::start(Script::default());
    let n = 40;
    let project = project(server.port, n, 20, "../state");
    // A change that a full disk cut short: never acknowledged, never a change.
    project.write(
        "config/subscribers.toml.changes",
        "{\"unsubscribe\":\"reader1@example.com\"}\n{\"unsubscribe\":\"reader2@exa",
    );
    let served = support::Served::start(&project, SECRET, &[]);
    let child = send_command(&project, &[]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(one_click(&served, "reader35@example.com"), 200);
    let log = project.read("config/subscribers.toml.changes");
    let lines: Vec<&str> = log.split_inclusive('\n').collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert_eq!(lines[0], "{\"unsubscribe\":\"reader1@example.com\"}\n");
    assert!(
        lines[1].starts_with("{\"unsubscribe\":{\"email\":\"reader35@example.com\",\"at\":\"")
            && lines[1].ends_with("}}\n"),
        "{log}"
    );
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let counts = server.counts();
    assert_eq!(
        counts.get("reader35@example.com"),
        None,
        "{stdout}\n{stderr}"
    );
    assert_eq!(counts.get("reader1@example.com"), None);
    assert!(counts.contains_key("reader2@example.com"));
    let list = support::letterpress()
        .current_dir(project.dir.path())
        .args(["subscribers", "list"])
        .output()
        .unwrap();
    assert!(list.status.success(), "{:?}", text(&list));
}

#[test]
fn a_send_that_cannot_read_the_list_s_changes_stops_taking_readers() {
    let server = Server::start(Script::default());
    let n = 40;
    let project = project(server.port, n, 20, "../state");
    let child = send_command(&project, &[]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // A damaged whole line: the send cannot know whom it was about.
    project.write("config/subscribers.toml.changes", "{\"unsubscribe\":\n");
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("cannot read the list's changes"),
        "{stderr}"
    );
    assert!(stderr.contains("subscribers.toml.changes:1"), "{stderr}");
    assert!(stderr.contains("resume with:"), "{stderr}");
    assert!(server.received().len() < n, "the send did not stop");
}

#[test]
fn a_torn_bounces_log_takes_the_next_refusal_and_check_still_reads_it() {
    let mut script = Script::default();
    script.rules.insert(
        "reader3@example.com".into(),
        smtp::Rule {
            stage: smtp::Stage::Rcpt,
            reply: "550 5.1.1 no such user".into(),
            times: None,
        },
    );
    let server = Server::start(script);
    let n = 10;
    let project = project(server.port, n, 0, "../state");
    project.write(
        "state/bounces.log",
        "# letterpress bounces log: time kind reader status report action\n2026-12-01T00:00:00Z hard reader9@exa",
    );
    let output = send_command(&project, &[]).output().unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
    let log = project.read("state/bounces.log");
    assert_eq!(log.lines().count(), 2, "{log}");
    assert!(
        log.ends_with('\n') && log.contains("reader3@example.com"),
        "{log}"
    );
    let check = support::letterpress()
        .current_dir(project.dir.path())
        .env("LETTERPRESS_UNSUBSCRIBE_SECRET", SECRET)
        .args(["check", "issues/example"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&check);
    assert!(
        !stderr.contains("not a bounce record"),
        "{stdout}\n{stderr}"
    );
    assert!(
        !stdout.contains("not a bounce record"),
        "{stdout}\n{stderr}"
    );
}
