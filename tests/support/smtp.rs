//! A scriptable SMTP server on 127.0.0.1 for delivery tests: per-reader
//! replies at RCPT or at the end of DATA, random temporary failures from a
//! seed, dropped connections, slow replies, AUTH PLAIN and LOGIN. It records
//! what it accepted and how many connections it saw.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where in the transaction a scripted reply is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Rcpt,
    Data,
}

/// A scripted reply for one reader: given `times` times (forever if None).
#[derive(Debug, Clone)]
pub struct Rule {
    pub stage: Stage,
    pub reply: String,
    pub times: Option<usize>,
}

/// The server's behaviour.
#[derive(Clone, Default)]
pub struct Script {
    pub rules: HashMap<String, Rule>,
    /// Probability of a 451 at the end of DATA, with the seed of the draws.
    pub random_4xx: Option<(f64, u64)>,
    /// Close the connection without a reply at the end of DATA of every
    /// n-th message on a connection.
    pub drop_every: Option<usize>,
    /// Wait this long before every reply.
    pub delay: Duration,
    /// Require AUTH with this user and password.
    pub auth: Option<(String, String)>,
    /// The AUTH mechanisms offered (default "PLAIN LOGIN").
    pub mechanisms: Option<String>,
    /// Offer STARTTLS with this configuration, and require it before MAIL.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// With `tls`: TLS from the first byte (port 465 style) instead of STARTTLS.
    pub implicit_tls: bool,
    /// Greet every connection after the first N with `554` (a relay that
    /// stops accepting the sender in the middle of a send).
    pub refuse_after_connections: Option<usize>,
    /// Do not offer PIPELINING (RFC 2920): a client that still sends a
    /// command before the reply to the one before gets `503` and the
    /// connection is closed.
    pub no_pipelining: bool,
    /// Bytes that are not UTF-8 at the end of the first line of every
    /// reply (but AUTH challenges): the greeting, EHLO, STARTTLS, DATA,
    /// the reply to a message it accepted.
    pub garble: bool,
    /// Refuse every recipient with `550 5.1.1` once this many messages
    /// were accepted (a relay that begins refusing the sender part way).
    pub refuse_after_messages: Option<usize>,
    /// The reply to MAIL FROM instead of `250 ok` (say a `550` that
    /// refuses the sender).
    pub mail_reply: Option<String>,
    /// Once this many messages were accepted, stop listening (connections
    /// are refused) and close every open connection without a word: a
    /// relay that goes down in the middle of a send.
    pub down_after_messages: Option<usize>,
    /// Once this many messages were accepted, greet with `421` and answer
    /// MAIL with `421`, closing the connection: a relay in a storm of
    /// temporary refusals.
    pub storm_after_messages: Option<usize>,
}

fn accepted_at_least(state: &State, n: Option<usize>) -> bool {
    n.is_some_and(|n| state.received.lock().unwrap().len() >= n)
}

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
    pub at: Instant,
    /// Whether it came over TLS.
    pub tls: bool,
}

struct State {
    script: Mutex<Script>,
    received: Mutex<Vec<Received>>,
    connections: AtomicUsize,
    stop: AtomicBool,
    rng: Mutex<u64>,
    /// How often each scripted rule was given.
    hits: Mutex<HashMap<String, usize>>,
}

/// The running server; stops when dropped.
pub struct Server {
    pub port: u16,
    state: Arc<State>,
}

impl Server {
    pub fn start(script: Script) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seed = script.random_4xx.map_or(1, |(_, s)| s.max(1));
        let state = Arc::new(State {
            script: Mutex::new(script),
            received: Mutex::new(Vec::new()),
            connections: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            rng: Mutex::new(seed),
            hits: Mutex::new(HashMap::new()),
        });
        let accept_state = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_state.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let down = accept_state.script.lock().unwrap().down_after_messages;
                if accepted_at_least(&accept_state, down) {
                    // Dropping the listener: later connections are refused.
                    break;
                }
                let number = accept_state.connections.fetch_add(1, Ordering::SeqCst) + 1;
                let limit = accept_state.script.lock().unwrap().refuse_after_connections;
                if limit.is_some_and(|n| number > n) {
                    let mut stream = stream;
                    let _ = stream.write_all(b"554 5.7.1 this sender is no longer accepted\r\n");
                    continue;
                }
                let state = accept_state.clone();
                std::thread::spawn(move || {
                    let _ = session(stream, &state);
                });
            }
        });
        Server { port, state }
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// How many messages each recipient got.
    pub fn counts(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for message in self.received() {
            for to in message.to {
                *counts.entry(to.to_lowercase()).or_insert(0) += 1;
            }
        }
        counts
    }

    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    /// Stops the server, and fails the test when a scripted rule was never
    /// given: a rule that is never hit tests nothing.
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if std::thread::panicking() {
            return;
        }
        let hits = self.state.hits.lock().unwrap();
        let script = self.state.script.lock().unwrap();
        let mut unused: Vec<&String> = script
            .rules
            .keys()
            .filter(|k| !hits.contains_key(*k))
            .collect();
        unused.sort();
        assert!(
            unused.is_empty(),
            "scripted rules that were never hit: {unused:?}"
        );
    }
}

/// A connection before or after STARTTLS, read line by line.
struct Conn {
    stream: Stream,
    buffer: Vec<u8>,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Conn {
    fn read_line(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                return Ok(Some(self.buffer.drain(..=end).collect()));
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = match &mut self.stream {
                Stream::Plain(s) => s.read(&mut chunk)?,
                Stream::Tls(s) => s.read(&mut chunk)?,
            };
            if n == 0 {
                return Ok(None);
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }

    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match &mut self.stream {
            Stream::Plain(s) => s.write_all(bytes),
            Stream::Tls(s) => s.write_all(bytes).and_then(|()| s.flush()),
        }
    }

    fn start_tls(&mut self, config: Arc<rustls::ServerConfig>) -> std::io::Result<()> {
        let Stream::Plain(tcp) = &self.stream else {
            return Ok(());
        };
        let tcp = tcp.try_clone()?;
        let server = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
        self.stream = Stream::Tls(Box::new(rustls::StreamOwned::new(server, tcp)));
        Ok(())
    }

    fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }
}

fn session(stream: TcpStream, state: &State) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let script = state.script.lock().unwrap().clone();
    let mut conn = Conn {
        stream: Stream::Plain(stream),
        buffer: Vec::new(),
    };
    if script.implicit_tls {
        conn.start_tls(script.tls.clone().expect("implicit TLS needs a TLS config"))?;
    }
    let reply = |conn: &mut Conn, text: &str| -> std::io::Result<()> {
        std::thread::sleep(script.delay);
        let mut bytes = text.as_bytes().to_vec();
        if script.garble && !text.starts_with("334") {
            let end = text.find("\r\n").unwrap_or(text.len());
            bytes.splice(end..end, *b" \xff\xfe \xe2\x82");
        }
        bytes.extend_from_slice(b"\r\n");
        conn.write(&bytes)
    };
    if accepted_at_least(state, script.storm_after_messages) {
        return reply(
            &mut conn,
            "421 4.3.2 test.example.net service not available, try later",
        );
    }
    reply(&mut conn, "220 test.example.net ESMTP")?;
    let mut authenticated = script.auth.is_none();
    let (mut from, mut to): (String, Vec<String>) = (String::new(), Vec::new());
    let mut on_connection = 0;
    loop {
        let Some(line) = conn.read_line()? else {
            return Ok(());
        };
        if accepted_at_least(state, script.down_after_messages) {
            return Ok(());
        }
        let command = String::from_utf8_lossy(&line).trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("MAIL FROM:") && accepted_at_least(state, script.storm_after_messages)
        {
            return reply(&mut conn, "421 4.7.0 too many messages, try again later");
        }
        if script.no_pipelining && !conn.buffer.is_empty() {
            return reply(
                &mut conn,
                "503 5.5.0 commands sent before the reply, PIPELINING is not offered",
            );
        }
        if upper.starts_with("EHLO") {
            let mut lines = vec!["250-test.example.net".to_string(), "250-8BITMIME".into()];
            if !script.no_pipelining {
                lines.push("250-PIPELINING".into());
            }
            if script.tls.is_some() && !conn.is_tls() {
                lines.push("250-STARTTLS".into());
            }
            if script.auth.is_some() {
                lines.push(format!(
                    "250-AUTH {}",
                    script.mechanisms.as_deref().unwrap_or("PLAIN LOGIN")
                ));
            }
            lines.push("250 SIZE 52428800".into());
            reply(&mut conn, &lines.join("\r\n"))?;
        } else if upper == "STARTTLS" {
            let Some(config) = script.tls.clone() else {
                reply(&mut conn, "502 5.5.1 no TLS here")?;
                continue;
            };
            reply(&mut conn, "220 2.0.0 ready to start TLS")?;
            conn.start_tls(config)?;
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            reply(&mut conn, "250 ok")?;
        } else if upper.starts_with("AUTH PLAIN") {
            let given = command
                .split_whitespace()
                .nth(2)
                .map(decode)
                .unwrap_or_default();
            let (user, pass) = script.auth.clone().unwrap_or_default();
            authenticated = given == format!("\0{user}\0{pass}");
            reply(
                &mut conn,
                if authenticated {
                    "235 2.7.0 ok"
                } else {
                    "535 5.7.8 authentication failed"
                },
            )?;
        } else if upper.starts_with("AUTH LOGIN") {
            reply(&mut conn, "334 VXNlcm5hbWU6")?;
            let user = conn
                .read_line()?
                .map(|l| decode(String::from_utf8_lossy(&l).trim()))
                .unwrap_or_default();
            reply(&mut conn, "334 UGFzc3dvcmQ6")?;
            let pass = conn
                .read_line()?
                .map(|l| decode(String::from_utf8_lossy(&l).trim()))
                .unwrap_or_default();
            authenticated = script
                .auth
                .clone()
                .is_some_and(|(u, p)| u == user && p == pass);
            reply(
                &mut conn,
                if authenticated {
                    "235 2.7.0 ok"
                } else {
                    "535 5.7.8 authentication failed"
                },
            )?;
        } else if upper.starts_with("MAIL FROM:") {
            if script.tls.is_some() && !conn.is_tls() {
                reply(&mut conn, "530 5.7.0 must issue a STARTTLS command first")?;
                continue;
            }
            if !authenticated {
                reply(&mut conn, "530 5.7.0 authentication required")?;
                continue;
            }
            if let Some(refusal) = &script.mail_reply {
                reply(&mut conn, refusal)?;
                continue;
            }
            from = address(&command);
            to.clear();
            reply(&mut conn, "250 ok")?;
        } else if upper.starts_with("RCPT TO:") {
            let rcpt = address(&command);
            let accepted = state.received.lock().unwrap().len();
            if script.refuse_after_messages.is_some_and(|n| accepted >= n) {
                reply(
                    &mut conn,
                    "550 5.1.1 sender rejected: your domain has no reputation",
                )?;
                continue;
            }
            match take_rule(state, &rcpt, Stage::Rcpt) {
                Some(text) => reply(&mut conn, &text)?,
                None => {
                    to.push(rcpt);
                    reply(&mut conn, "250 ok")?;
                }
            }
        } else if upper == "DATA" {
            if to.is_empty() {
                // As Postfix does, and as RFC 2920 asks of a pipelining server.
                reply(&mut conn, "554 5.5.1 Error: no valid recipients")?;
                continue;
            }
            reply(&mut conn, "354 go ahead")?;
            let data = read_data(&mut conn)?;
            on_connection += 1;
            if script.drop_every.is_some_and(|n| on_connection % n == 0) {
                return Ok(());
            }
            let scripted = to.iter().find_map(|r| take_rule(state, r, Stage::Data));
            if let Some(text) = scripted {
                reply(&mut conn, &text)?;
            } else if script.random_4xx.is_some_and(|(p, _)| draw(state) < p) {
                reply(&mut conn, "451 4.3.0 random temporary failure")?;
            } else {
                state.received.lock().unwrap().push(Received {
                    from: from.clone(),
                    to: to.clone(),
                    data,
                    at: Instant::now(),
                    tls: conn.is_tls(),
                });
                reply(&mut conn, "250 2.0.0 Ok: queued")?;
            }
        } else if upper == "RSET" {
            to.clear();
            reply(&mut conn, "250 ok")?;
        } else if upper == "QUIT" {
            reply(&mut conn, "221 bye")?;
            return Ok(());
        } else {
            reply(&mut conn, "502 5.5.2 unknown command")?;
        }
    }
}

fn take_rule(state: &State, rcpt: &str, stage: Stage) -> Option<String> {
    let mut script = state.script.lock().unwrap();
    let key = rcpt.to_lowercase();
    let rule = script.rules.get_mut(&key)?;
    if rule.stage != stage {
        return None;
    }
    *state.hits.lock().unwrap().entry(key).or_insert(0) += 1;
    match &mut rule.times {
        Some(0) => None,
        Some(n) => {
            *n -= 1;
            Some(rule.reply.clone())
        }
        None => Some(rule.reply.clone()),
    }
}

fn draw(state: &State) -> f64 {
    let mut x = state.rng.lock().unwrap();
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    (*x >> 11) as f64 / (1u64 << 53) as f64
}

fn address(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command[start..]
        .find('>')
        .map_or(command.len(), |i| start + i);
    command[start..end].to_string()
}

fn read_data(conn: &mut Conn) -> std::io::Result<Vec<u8>> {
    let mut data = Vec::new();
    loop {
        // A connection closed before the final dot delivers nothing.
        let line = conn.read_line()?.ok_or(std::io::ErrorKind::UnexpectedEof)?;
        if line == b".\r\n" {
            break;
        }
        let content = if line.starts_with(b"..") {
            &line[1..]
        } else {
            &line[..]
        };
        data.extend_from_slice(content);
    }
    Ok(data)
}

fn decode(text: &str) -> String {
    String::from_utf8_lossy(&crate::support::decode_base64(text)).into_owned()
}
