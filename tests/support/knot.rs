//! A real authoritative DNS server for the tests: Knot DNS on 127.0.0.1 at a
//! free port, with its config, storage and rundir in a temp dir, serving the
//! zone files it is given, stopped when dropped.
#![allow(dead_code)]

use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const KNOTD: &str = "/usr/sbin/knotd";

/// Whether knotd can run here; under CI its absence is a failure.
pub fn available() -> bool {
    crate::support::require(KNOTD, "apt-get install -y knot")
}

pub struct Knot {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Knot {
    /// Serves `zones`, each (origin, zone file text), and waits until each
    /// answers its SOA.
    pub fn start(zones: &[(&str, String)]) -> Knot {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for sub in ["run", "db", "zones"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        let port = free_udp_and_tcp_port();
        let mut conf = format!(
            "server:\n    rundir: \"{run}\"\n    listen: 127.0.0.1@{port}\n    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n\
             database:\n    storage: \"{db}\"\n\
             log:\n  - target: stderr\n    any: warning\n\
             template:\n  - id: default\n    storage: \"{zones}\"\n    zonefile-sync: -1\n    journal-content: none\n\
             zone:\n",
            run = root.join("run").display(),
            db = root.join("db").display(),
            zones = root.join("zones").display(),
        );
        for (origin, text) in zones {
            let file = format!("{origin}.zone");
            std::fs::write(root.join("zones").join(&file), text).unwrap();
            conf.push_str(&format!("  - domain: {origin}\n    file: \"{file}\"\n"));
        }
        let conf_path = root.join("knot.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let log = std::fs::File::create(root.join("knotd.log")).unwrap();
        let child = Command::new(KNOTD)
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let knot = Knot { child, port, dir };
        for (origin, _) in zones {
            knot.wait_for_soa(origin);
        }
        knot
    }

    /// `127.0.0.1:PORT`, for `--dns-server`.
    pub fn server(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("knotd.log")).unwrap_or_default()
    }

    fn wait_for_soa(&self, origin: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let query = soa_query(origin);
        loop {
            socket.send_to(&query, ("127.0.0.1", self.port)).unwrap();
            let mut buf = [0u8; 1500];
            if let Ok((n, _)) = socket.recv_from(&mut buf) {
                // NOERROR with an answer: the zone is loaded.
                if n >= 12 && buf[3] & 0x0f == 0 && u16::from_be_bytes([buf[6], buf[7]]) > 0 {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "knotd does not serve {origin}; its log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A DNS query for the SOA of `origin` (id 1, no recursion).
fn soa_query(origin: &str) -> Vec<u8> {
    let mut q = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in origin.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 6, 0, 1]);
    q
}

/// A port free for both UDP and TCP on 127.0.0.1.
fn free_udp_and_tcp_port() -> u16 {
    for _ in 0..100 {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both UDP and TCP");
}

/// A TXT record's data as zone-file strings of at most 255 octets each.
pub fn txt(value: &str) -> String {
    value
        .as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", std::str::from_utf8(c).unwrap()))
        .collect::<Vec<_>>()
        .join(" ")
}
