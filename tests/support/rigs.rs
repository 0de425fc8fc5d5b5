//! Real mail servers on 127.0.0.1 for the bounce tests, each in a temp
//! dir with its own config, started by the test and stopped on drop:
//!
//! - [`Postfix`]: a private instance (`master -c DIR`) whose local domain
//!   `example.org` delivers to aliases only; any other local part bounces
//!   with a real RFC 3464 DSN (5.1.1), `full@` gets a 5.2.2 DSN and
//!   `refused@` is refused at RCPT. DSNs to `bounces+TAG@news.example.com`
//!   land in a Maildir.
//! - [`Dovecot`]: an IMAPS server (`dovecot -F -c FILE`) with a private CA,
//!   user `test`, serving a Maildir.
//!
//! Both need root (Postfix's master and Dovecot's privilege separation);
//! mail is delivered and read as `nobody`.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether the rigs can run here: root, and the programs installed. Under
/// CI a missing piece is a failure; elsewhere the test says why it skips.
pub fn available(programs: &[&str], package: &str) -> bool {
    for program in programs {
        if !crate::support::require(program, &format!("apt-get install -y {package}")) {
            return false;
        }
    }
    if unsafe { libc::geteuid() } != 0 {
        if std::env::var_os("CI").is_some() {
            panic!("the {package} rig needs root, and CI is set");
        }
        eprintln!("skipping: the {package} rig needs root");
        return false;
    }
    true
}

/// The uid and gid of a system user, from /etc/passwd.
fn user(name: &str) -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let line = passwd
        .lines()
        .find(|l| l.split(':').next() == Some(name))
        .unwrap_or_else(|| panic!("no user {name}"));
    let fields: Vec<&str> = line.split(':').collect();
    (fields[2].parse().unwrap(), fields[3].parse().unwrap())
}

fn group(name: &str) -> u32 {
    let groups = std::fs::read_to_string("/etc/group").unwrap();
    let line = groups
        .lines()
        .find(|l| l.split(':').next() == Some(name))
        .unwrap_or_else(|| panic!("no group {name}"));
    line.split(':').nth(2).unwrap().parse().unwrap()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start; its log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A Maildir owned by `nobody`.
pub fn nobody_maildir(dir: &Path) {
    let (uid, gid) = user("nobody");
    for sub in ["", "new", "cur", "tmp"] {
        let path = dir.join(sub);
        std::fs::create_dir_all(&path).unwrap();
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
    }
}

/// Writes a config file with its time a minute back: Postfix waits for a
/// main.cf changed in the last seconds to settle.
fn write_old(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(std::time::SystemTime::now() - Duration::from_secs(60))
        .unwrap();
}

/// A private Postfix instance.
pub struct Postfix {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
}

impl Postfix {
    /// Starts an instance that delivers `alive` (local parts at
    /// example.org) and bounces every other local part.
    pub fn start(alive: &[&str]) -> Postfix {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        mode(d, 0o755);
        for sub in ["etc", "queue", "log"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
            mode(&d.join(sub), 0o755);
        }
        let data = d.join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::os::unix::fs::chown(&data, Some(user("postfix").0), Some(0)).unwrap();
        mode(&data, 0o700);
        for maildir in ["alive-maildir", "bounce-maildir", "postmaster-maildir"] {
            nobody_maildir(&d.join(maildir));
        }
        let port = free_port();
        let dir_s = d.display().to_string();
        let etc = d.join("etc");
        write_old(
            &etc.join("main.cf"),
            &MAIN_CF
                .replace("{DIR}", &dir_s)
                .replace("{PORT}", &port.to_string()),
        );
        write_old(
            &etc.join("master.cf"),
            &MASTER_CF.replace("{PORT}", &port.to_string()),
        );
        let mut aliases = format!(
            "bounces {dir_s}/bounce-maildir/\npostmaster {dir_s}/postmaster-maildir/\nroot {dir_s}/postmaster-maildir/\nMAILER-DAEMON {dir_s}/postmaster-maildir/\n"
        );
        for local in alive {
            aliases.push_str(&format!("{local} {dir_s}/alive-maildir/\n"));
        }
        write_old(&etc.join("aliases"), &aliases);
        write_old(
            &etc.join("transport"),
            "full@example.org error:5.2.2 mailbox full\n",
        );
        write_old(
            &etc.join("access"),
            "refused@example.org 550 5.1.1 User unknown\n",
        );
        let check = Command::new("postfix")
            .args(["-c", &etc.display().to_string(), "check"])
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "postfix check failed: {}{}",
            String::from_utf8_lossy(&check.stderr),
            std::fs::read_to_string(d.join("log/postfix.log")).unwrap_or_default()
        );
        let child = Command::new("/usr/lib/postfix/sbin/master")
            .args(["-c", &etc.display().to_string()])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(port, "postfix", &d.join("log/postfix.log"));
        Postfix { dir, port, child }
    }

    /// The Maildir the DSNs land in.
    pub fn bounces(&self) -> PathBuf {
        self.dir.path().join("bounce-maildir")
    }

    /// The Maildir delivered mail lands in.
    pub fn delivered(&self) -> PathBuf {
        self.dir.path().join("alive-maildir")
    }

    /// Waits until `dir/new` holds `n` files; their paths.
    pub fn wait_for(&self, dir: &Path, n: usize) -> Vec<PathBuf> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let files: Vec<PathBuf> = std::fs::read_dir(dir.join("new"))
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .collect();
            if files.len() >= n {
                return files;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} messages arrived in {}; postfix log:\n{}",
                files.len(),
                dir.display(),
                std::fs::read_to_string(self.dir.path().join("log/postfix.log"))
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

const MAIN_CF: &str = "compatibility_level = 3.6
queue_directory = {DIR}/queue
data_directory = {DIR}/data
syslog_name = lptest-{PORT}
maillog_file = {DIR}/log/postfix.log
maillog_file_prefixes = {DIR}/log
myhostname = mx-{PORT}.test.invalid
mydomain = test.invalid
myorigin = $myhostname
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination = example.org, news.example.com, $myhostname, localhost
relayhost =
local_recipient_maps =
smtpd_reject_unlisted_recipient = no
alias_maps = texthash:{DIR}/etc/aliases
alias_database =
mailbox_transport = error:5.1.1 unknown user
forward_path =
recipient_delimiter = +
mailbox_size_limit = 0
transport_maps = texthash:{DIR}/etc/transport
smtpd_recipient_restrictions = check_recipient_access texthash:{DIR}/etc/access, permit_mynetworks, reject
smtpd_banner = $myhostname ESMTP letterpress-test
smtpd_tls_security_level = none
smtp_tls_security_level = none
biff = no
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
";

const MASTER_CF: &str = "127.0.0.1:{PORT} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
";

/// An IMAPS server with user `test` / password `secret`.
pub struct Dovecot {
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// The CA to trust, PEM.
    pub ca: PathBuf,
    /// The INBOX; `.Bounces` and `.Processed` are folders in it.
    pub maildir: PathBuf,
    child: Child,
}

pub const IMAP_USER: &str = "test";
pub const IMAP_PASSWORD: &str = "secret";

impl Dovecot {
    /// Starts a server on `maildir` (created, owned by nobody).
    pub fn start(maildir: &Path) -> Dovecot {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        mode(d, 0o755);
        for sub in ["run", "state", "log", "ssl"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        let (uid, gid) = user("nobody");
        let home = d.join("home");
        std::fs::create_dir_all(&home).unwrap();
        std::os::unix::fs::chown(&home, Some(uid), Some(gid)).unwrap();
        nobody_maildir(maildir);
        for folder in [".Bounces", ".Processed"] {
            nobody_maildir(&maildir.join(folder));
        }
        let (ca_pem, cert_pem, key_pem) = certificates();
        let ca = d.join("ssl/ca.pem");
        std::fs::write(&ca, ca_pem).unwrap();
        std::fs::write(d.join("ssl/server.pem"), cert_pem).unwrap();
        std::fs::write(d.join("ssl/server.key"), key_pem).unwrap();
        mode(&d.join("ssl/server.key"), 0o600);
        let passwd = d.join("passwd");
        std::fs::write(&passwd, format!("{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}\n")).unwrap();
        std::os::unix::fs::chown(&passwd, Some(0), Some(group("dovecot"))).unwrap();
        mode(&passwd, 0o640);
        let port = free_port();
        let conf = d.join("dovecot.conf");
        std::fs::write(
            &conf,
            DOVECOT_CONF
                .replace("{DIR}", &d.display().to_string())
                .replace("{PORT}", &port.to_string())
                .replace("{MAILDIR}", &maildir.display().to_string())
                .replace("{UID}", &uid.to_string())
                .replace("{GID}", &gid.to_string()),
        )
        .unwrap();
        use std::os::unix::process::CommandExt;
        let child = Command::new("dovecot")
            .args(["-F", "-c", &conf.display().to_string()])
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        wait_for_port(port, "dovecot", &d.join("log/dovecot.log"));
        Dovecot {
            dir,
            port,
            ca,
            maildir: maildir.to_path_buf(),
            child,
        }
    }

    /// The files of a folder (`""` for INBOX), by subfolder (`new`, `cur`).
    pub fn files(&self, folder: &str, sub: &str) -> Vec<String> {
        let dir = match folder {
            "" => self.maildir.join(sub),
            f => self.maildir.join(format!(".{f}")).join(sub),
        };
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // Dovecot's children outlive a master that alone is told to stop
        // while a client is connected: stop the whole process group.
        let group = self.child.id() as i32;
        unsafe {
            libc::kill(-group, libc::SIGTERM);
        }
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(50));
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
    }
}

const DOVECOT_CONF: &str = "instance_name = lptest-{PORT}
base_dir = {DIR}/run
state_dir = {DIR}/state
log_path = {DIR}/log/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{DIR}/ssl/server.pem
ssl_key = <{DIR}/ssl/server.key
disable_plaintext_auth = yes
auth_mechanisms = plain login
first_valid_uid = {UID}
last_valid_uid = {UID}
mail_location = maildir:{MAILDIR}
namespace inbox {
  inbox = yes
  separator = /
}
passdb {
  driver = passwd-file
  args = {DIR}/passwd
}
userdb {
  driver = static
  args = uid={UID} gid={GID} home={DIR}/home
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = {PORT}
    ssl = yes
  }
}
";

/// A private CA and a server certificate for 127.0.0.1 and localhost, PEM:
/// (CA certificate, server certificate, server key).
fn certificates() -> (String, String, String) {
    let (ca, cert, key) = crate::support::private_ca();
    (ca, cert.pem(), key.serialize_pem())
}
