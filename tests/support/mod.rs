//! Test helpers: a copy of the shipped example project in a temp dir, and
//! the letterpress binary with a clean environment.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch project: `config/`, `issues/example/` and `issues/welcome/`
/// copied from the repo.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    /// A copy of the shipped example.
    pub fn example() -> Project {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&repo().join("config"), &dir.path().join("config"));
        for issue in ["issues/example", "issues/welcome"] {
            copy_dir(&repo().join(issue), &dir.path().join(issue));
        }
        Project { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Overwrites (or creates) a file of the project.
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> &Self {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        self
    }

    /// Replaces `from` by `to` in a file, failing if `from` is absent.
    pub fn edit(&self, rel: &str, from: &str, to: &str) -> &Self {
        let text = std::fs::read_to_string(self.path(rel)).unwrap();
        assert!(text.contains(from), "{rel} does not contain {from:?}");
        self.write(rel, text.replacen(from, to, 1))
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    /// `letterpress` run in the project folder.
    pub fn cmd(&self) -> Command {
        let mut cmd = letterpress();
        cmd.current_dir(self.dir.path());
        cmd
    }

    /// The example with `list` as its subscribers.toml, its relay at
    /// 127.0.0.1:`port`, and `sending` as the body of its [sending] table.
    pub fn with_relay(port: u16, list: &str, sending: &str) -> Project {
        let project = Project::example();
        project.write("config/subscribers.toml", list);
        let config = project.read("config/newsletter.toml");
        let start = config.find("[sending]").unwrap();
        let config = format!("{}[sending]\n{sending}\n", &config[..start])
            .replace("port         = 2525", &format!("port         = {port}"));
        project.write("config/newsletter.toml", config);
        project
    }

    /// Builds the example into `out/` and returns (email.html, email.txt).
    pub fn build(&self) -> (String, String) {
        self.cmd()
            .args(["build", "issues/example", "--out", "out"])
            .assert()
            .success();
        (self.read("out/email.html"), self.read("out/email.txt"))
    }
}

/// The binary, with no inherited configuration or secrets.
pub fn letterpress() -> Command {
    let mut cmd = Command::cargo_bin("letterpress").unwrap();
    cmd.env_remove("LETTERPRESS_CONFIG")
        .env_remove("LETTERPRESS_UNSUBSCRIBE_SECRET")
        .env_remove("LETTERPRESS_SMTP_PASSWORD")
        .env("HOME", "/nonexistent");
    cmd
}

/// Copies a folder and what it holds.
pub fn copy_tree(from: &Path, to: &Path) {
    copy_dir(from, to);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "build" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Whether an external program the test needs is missing: under CI that is
/// a failure, elsewhere the test says why it skips.
pub fn require(program: &str, why: &str) -> bool {
    if Path::new(program).exists() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{program} is missing and CI is set: {why}");
    }
    eprintln!("skipping: {program} is not installed ({why})");
    false
}

/// Decodes standard base64 (test helpers only).
pub fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= u32::from(value(*c)) << (18 - 6 * i);
        }
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

/// `letterpress serve` on a free port, stopped on drop.
pub struct Served {
    child: std::process::Child,
    pub base: String,
}

impl Served {
    /// Starts `letterpress serve EXTRA…` in the project.
    pub fn start(project: &Project, secret: &str, extra: &[&str]) -> Served {
        Served::start_to(project, secret, extra, std::process::Stdio::inherit())
    }

    /// Starts `letterpress serve EXTRA…` with its log (stderr) appended to
    /// the file `log`.
    pub fn start_logged(project: &Project, secret: &str, extra: &[&str], log: &Path) -> Served {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        Served::start_to(project, secret, extra, file.into())
    }

    fn start_to(
        project: &Project,
        secret: &str,
        extra: &[&str],
        stderr: std::process::Stdio,
    ) -> Served {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("letterpress"))
            .current_dir(project.dir.path())
            .env("LETTERPRESS_UNSUBSCRIBE_SECRET", secret)
            .args(["serve", "--port", &port.to_string()])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "serve did not start");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Served {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private CA and a server certificate it signed for 127.0.0.1 and
/// localhost: (the CA's PEM, the certificate, its key).
pub fn private_ca() -> (String, rcgen::Certificate, rcgen::KeyPair) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "letterpress test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    (ca.pem(), cert, key)
}
