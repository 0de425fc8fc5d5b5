//! The relay: connecting (STARTTLS, implicit TLS or plain on loopback),
//! logging in, and sending one message, every step under a timeout.

use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt, Starttls};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::{Response, Severity};
use rustls::pki_types::ServerName;

use super::failover::Failover;
use super::relays::Lane;
use super::transport::{Error, Transport};
use super::wire::Lossy;
use crate::config::{Config, Role, Security};
use crate::list::ascii_form;
use crate::message::Outgoing;
use crate::tls::client_config;

/// How to reach and log in to the relay.
pub struct Relay {
    host: String,
    port: u16,
    security: Security,
    /// TLS, from the first byte (`tls`) or after STARTTLS (`starttls`).
    tls: Option<Arc<rustls::ClientConfig>>,
    credentials: Option<Credentials>,
    hello: ClientId,
    /// The timeout of every network step.
    pub timeout: Duration,
}

/// The relays of the service mails (confirmations, the reader's link,
/// consent notices), tried in order.
pub type ServiceRelay = Failover<Relay>;

impl Relay {
    /// Every relay of `[smtp]`/`[[smtp]]` for the service mails, checked
    /// to be safe to use: the primaries in order, then the fallbacks.
    pub fn service(config: &Config) -> Result<ServiceRelay> {
        let relays = Relay::tables(config)?;
        let primaries = relays.iter().filter(|r| r.role == Role::Primary);
        let fallbacks = relays.iter().filter(|r| r.role == Role::Fallback);
        let ordered = primaries
            .chain(fallbacks)
            .map(|smtp| Relay::from_smtp(config, smtp))
            .collect::<Result<Vec<Relay>>>()?;
        Ok(Failover::new(ordered))
    }

    /// Every relay of `[smtp]`/`[[smtp]]` as a lane of a send, each checked
    /// to be safe to use before any is.
    pub fn lanes(config: &Config) -> Result<Vec<Lane<Relay>>> {
        let sending = &config.file.sending;
        Relay::tables(config)?
            .iter()
            .map(|smtp| {
                Ok(Lane {
                    transport: Relay::from_smtp(config, smtp)?,
                    label: Some(smtp.label()),
                    weight: smtp.weight,
                    concurrency: smtp.concurrency.unwrap_or(sending.concurrency).max(1),
                    rate_per_second: smtp.rate_per_second.unwrap_or(0.0),
                    fallback: smtp.role == Role::Fallback,
                })
            })
            .collect()
    }

    /// The relay tables; an error when there is none.
    fn tables(config: &Config) -> Result<&[crate::config::Smtp]> {
        let relays = &config.file.smtp;
        if relays.is_empty() {
            bail!("{}: there is no [smtp] table, so there is no relay to send through\n  help: add [smtp] with host, port and security (see docs/src/sending.md)", config.path.display());
        }
        Ok(relays)
    }

    /// One relay, checked to be safe to use.
    fn from_smtp(config: &Config, smtp: &crate::config::Smtp) -> Result<Relay> {
        let loopback = is_loopback(&smtp.host);
        if smtp.security == Security::None && !loopback {
            bail!(
                "{}: security = \"none\" sends mail and passwords in clear text; it is only allowed towards this machine (127.0.0.1), not {}\n  help: use security = \"starttls\" (port 587) or \"tls\" (port 465)",
                config.path.display(),
                smtp.host
            );
        }
        let credentials = credentials(config, smtp)?;
        let ca = match &smtp.ca_file {
            Some(ca) => {
                let path = config.resolve(ca);
                let pem = std::fs::read(&path)
                    .with_context(|| format!("{}: cannot read ca_file", path.display()))?;
                Some((path, pem))
            }
            None => None,
        };
        let tls = match smtp.security {
            Security::None => None,
            Security::Starttls | Security::Tls => Some(client_config(ca.as_ref())?),
        };
        let domain = config.from_domain();
        Ok(Relay {
            host: smtp.host.clone(),
            port: smtp.port,
            security: smtp.security,
            tls,
            credentials,
            hello: ClientId::Domain(domain),
            timeout: Duration::from_secs(smtp.timeout_secs.max(1)),
        })
    }

    /// Opens a connection, upgraded to TLS, and logs in as configured.
    async fn open_session(&self) -> Result<AsyncSmtpConnection, Error> {
        let step = tokio::time::timeout(self.timeout, self.open());
        let mut connection = match step.await {
            Err(_) => {
                return Err(Error::transient(
                    None,
                    format!("connecting to {} timed out", self.name()),
                ))
            }
            Ok(result) => result?,
        };
        if let Some(credentials) = &self.credentials {
            let mechanisms = [Mechanism::Plain, Mechanism::Login];
            match tokio::time::timeout(self.timeout, connection.auth(&mechanisms, credentials))
                .await
            {
                Err(_) => return Err(Error::transient(None, "login timed out")),
                Ok(Err(e)) => return Err(classify_connect(e)),
                Ok(Ok(_)) => {}
            }
        }
        Ok(connection)
    }

    /// The TCP connection, TLS (from the first byte for `tls`, after
    /// STARTTLS for `starttls`) and the greeting. The socket is opened here
    /// with Nagle's algorithm off: otherwise the small last write of each
    /// message (`.` after the data) waits for a delayed ACK, about 40 ms a
    /// message on one connection.
    ///
    /// lettre reads the relay's replies through [`Lossy`], above TLS, so
    /// reply text that is not UTF-8 cannot fail a step. For that, STARTTLS
    /// is done here, before lettre sees the connection: lettre's own would
    /// put TLS above the stream it was given.
    async fn open(&self) -> Result<AsyncSmtpConnection, Error> {
        let stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| {
                Error::transient(None, format!("cannot connect to {}: {e}", self.name()))
            })?;
        let _ = stream.set_nodelay(true);
        let transport: Box<dyn AsyncTokioStream> = match (&self.tls, self.security) {
            (None, _) => Box::new(Lossy::new(stream)),
            (Some(config), Security::Starttls) => {
                let stream = self.starttls(stream).await?;
                let tls = self.handshake(config, stream).await?;
                Box::new(Lossy::new(TlsTransport(tls)).replaying(GREETING_SEEN))
            }
            (Some(config), _) => {
                let tls = self.handshake(config, stream).await?;
                Box::new(Lossy::new(TlsTransport(tls)))
            }
        };
        AsyncSmtpConnection::connect_with_transport(transport, &self.hello)
            .await
            .map_err(classify_connect)
    }

    /// The TLS handshake with the relay.
    async fn handshake(
        &self,
        config: &Arc<rustls::ClientConfig>,
        stream: tokio::net::TcpStream,
    ) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, Error> {
        let name = ServerName::try_from(self.host.clone())
            .map_err(|e| Error::Fatal(anyhow!("`{}` is not a TLS server name: {e}", self.host)))?;
        tokio_rustls::TlsConnector::from(config.clone())
            .connect(name, stream)
            .await
            .map_err(|e| match tls_failure(&e) {
                Some(why) => Error::Fatal(anyhow!("TLS with the relay failed: {why}\n  help: for a relay with a private CA, set [smtp] ca_file to its certificate (PEM)")),
                None => Error::transient(None, format!("TLS with {} failed: {e}", self.name())),
            })
    }

    /// The clear-text part of a STARTTLS connection (RFC 3207): the
    /// greeting, EHLO, and STARTTLS, the replies read as bytes. Whatever
    /// the relay sent after its reply to STARTTLS is dropped with the
    /// buffer: nothing from before TLS may pass for a reply after it.
    async fn starttls(
        &self,
        stream: tokio::net::TcpStream,
    ) -> Result<tokio::net::TcpStream, Error> {
        use tokio::io::AsyncWriteExt;
        let mut wire = tokio::io::BufReader::new(stream);
        let network = |e: std::io::Error| {
            Error::transient(None, format!("network error with {}: {e}", self.name()))
        };
        self.expect(read_reply(&mut wire).await.map_err(network)?, 220)?;
        for (command, expected) in [
            (Ehlo::new(self.hello.clone()).to_string(), 250),
            (Starttls.to_string(), 220),
        ] {
            wire.get_mut()
                .write_all(command.as_bytes())
                .await
                .map_err(network)?;
            let reply = read_reply(&mut wire).await.map_err(network)?;
            let offers_starttls = reply.lines.iter().skip(1).any(|line| {
                line.split_whitespace()
                    .next()
                    .is_some_and(|word| word.eq_ignore_ascii_case("STARTTLS"))
            });
            self.expect(reply, expected)?;
            if expected == 250 && !offers_starttls {
                return Err(Error::Fatal(anyhow!(
                    "{} does not offer STARTTLS; refusing to send in clear text",
                    self.name()
                )));
            }
        }
        Ok(wire.into_inner())
    }

    /// A reply before TLS with the `expected` code, or why not: a 5xx
    /// concerns every reader (the send stops), anything else is temporary.
    fn expect(&self, reply: Reply, expected: u16) -> Result<(), Error> {
        if reply.code == expected {
            return Ok(());
        }
        let text = format!("{} {}", reply.code, reply.lines.join(" "));
        match reply.code {
            500..=599 => Err(Error::Fatal(anyhow!(
                "the relay refused the connection: {text}"
            ))),
            code => Err(Error::transient(Some(code), text)),
        }
    }

    /// Sends one message on `session`; the reply on success.
    async fn send_message(
        &self,
        session: &mut Session,
        message: &Outgoing,
    ) -> Result<String, Error> {
        let envelope = self.envelope(&session.connection, message)?;
        let sent = session.send_staged(&envelope, &message.bytes);
        match tokio::time::timeout(self.timeout, sent).await {
            Err(_) => Err(Error::transient(
                None,
                format!("no reply from {} within {:?}", self.name(), self.timeout),
            )),
            Ok(Ok(response)) => Ok(format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )),
            Ok(Err(Staged::Mail(e))) if refuses_sender(&e) => {
                Err(Error::sender(e.status().map(u16::from), e.to_string()))
            }
            Ok(Err(Staged::Mail(e) | Staged::Rest(e))) => Err(classify_send(e)),
        }
    }

    /// The envelope for this relay. One that does not offer SMTPUTF8 gets
    /// internationalised domains as punycode; a non-ASCII local part it
    /// cannot carry at all, which no retry changes.
    fn envelope(
        &self,
        connection: &AsyncSmtpConnection,
        message: &Outgoing,
    ) -> Result<Envelope, Error> {
        let utf8 = connection
            .server_info()
            .supports_feature(Extension::SmtpUtfEight);
        let (from, to) = if utf8 {
            (message.from.clone(), message.to.clone())
        } else {
            let from = ascii_form(&message.from).ok_or_else(|| {
                Error::Fatal(anyhow!(
                    "{} does not offer SMTPUTF8, so it cannot carry the sender address {}\n  help: use an ASCII sender address or a relay that offers SMTPUTF8",
                    self.name(),
                    message.from
                ))
            })?;
            let to = ascii_form(&message.to).ok_or_else(|| {
                Error::permanent(None, format!(
                    "{} does not offer SMTPUTF8, so it cannot carry an address whose local part is not ASCII",
                    self.name()
                ))
            })?;
            (from, to)
        };
        Envelope::new(Some(from), vec![to])
            .map_err(|e| Error::permanent(None, format!("bad envelope: {e}")))
    }
}

/// What lettre reads as the greeting on a STARTTLS connection: the relay's
/// own was read before TLS.
const GREETING_SEEN: &str = "220 (greeted before STARTTLS)\r\n";

/// The longest reply line read before TLS, and the most lines of a reply.
const MAX_LINE: u64 = 4096;
const MAX_LINES: usize = 100;

/// A reply read as bytes: the code decides; the text, made valid, is for
/// messages.
#[derive(Debug)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

/// Reads one reply (RFC 5321 4.2: `250-…` lines, then `250 …`).
async fn read_reply(
    wire: &mut tokio::io::BufReader<tokio::net::TcpStream>,
) -> std::io::Result<Reply> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    let bad = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string());
    let mut lines = Vec::new();
    loop {
        let mut line = Vec::new();
        (&mut *wire)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
            .await?;
        if line.is_empty() {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if !line.ends_with(b"\n") {
            return Err(bad("a reply line longer than 4096 bytes"));
        }
        let code = line
            .get(..3)
            .and_then(|c| std::str::from_utf8(c).ok())
            .and_then(|c| c.parse::<u16>().ok())
            .filter(|c| (200..600).contains(c))
            .ok_or_else(|| bad("a reply without a reply code"))?;
        let text = String::from_utf8_lossy(line.get(4..).unwrap_or_default());
        lines.push(text.trim_end().to_string());
        if line.get(3) != Some(&b'-') {
            return Ok(Reply { code, lines });
        }
        if lines.len() >= MAX_LINES {
            return Err(bad("a reply of more than 100 lines"));
        }
    }
}

/// A connection to the relay, and whether it takes pipelined commands.
pub struct Session {
    connection: AsyncSmtpConnection,
    pipelining: bool,
}

impl Session {
    /// Asks the relay again what it offers (lettre keeps only the
    /// extensions it uses itself): PIPELINING (RFC 2920) lets a message's
    /// envelope go in one write.
    async fn new(mut connection: AsyncSmtpConnection, hello: &ClientId) -> Result<Session, Error> {
        let reply = connection
            .command(Ehlo::new(hello.clone()))
            .await
            .map_err(classify_connect)?;
        let pipelining = reply
            .message()
            .any(|line| line.trim().eq_ignore_ascii_case("PIPELINING"));
        Ok(Session {
            connection,
            pipelining,
        })
    }

    /// Sends one message: with PIPELINING (RFC 2920), MAIL, RCPT and DATA
    /// in one write, their three replies, then the message with its end in
    /// a second write (two writes and two waits for the relay instead of
    /// four of each); without it, one command after the other. Either way
    /// a refusal of MAIL is told apart: it refuses the sender, not the
    /// reader. The message is dot-stuffed (RFC 5321 4.5.2) only when a
    /// line of it starts with a dot, which base64 and quoted-printable
    /// parts never do, so it is usually written as it is.
    async fn send_staged(
        &mut self,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<Response, Staged> {
        let info = self.connection.server_info();
        let mut parameters = Vec::new();
        let utf8 = envelope
            .from()
            .into_iter()
            .chain(envelope.to())
            .any(|a| !AsRef::<str>::as_ref(a).is_ascii());
        let eight_bit = !message.is_ascii();
        if utf8 && info.supports_feature(Extension::SmtpUtfEight) {
            parameters.push(MailParameter::SmtpUtfEight);
        }
        if eight_bit && info.supports_feature(Extension::EightBitMime) {
            parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let text = std::str::from_utf8(message).ok();
        let (Some(text), [to], true) = (
            text,
            envelope.to(),
            parameters.len() == usize::from(utf8) + usize::from(eight_bit),
        ) else {
            // What this path does not cover, lettre's own sends (or refuses).
            return self
                .connection
                .send(envelope, message)
                .await
                .map_err(Staged::Rest);
        };
        let mail = Mail::new(envelope.from().cloned(), parameters);
        let rcpt = Rcpt::new(to.clone(), Vec::new());
        if self.pipelining {
            let first = self
                .connection
                .command(format_args!("{mail}{rcpt}DATA\r\n"))
                .await;
            let to = self.connection.read_response().await;
            let data = self.connection.read_response().await;
            first.map_err(Staged::Mail)?;
            to.map_err(Staged::Rest)?;
            data.map_err(Staged::Rest)?;
        } else {
            self.connection.command(mail).await.map_err(Staged::Mail)?;
            self.connection.command(rcpt).await.map_err(Staged::Rest)?;
            self.connection.command(Data).await.map_err(Staged::Rest)?;
        }
        self.connection
            .command(with_end_of_data(text).as_str())
            .await
            .map_err(Staged::Rest)
    }
}

/// A failed transaction, and whether the relay's refusal was of MAIL.
enum Staged {
    Mail(lettre::transport::smtp::Error),
    Rest(lettre::transport::smtp::Error),
}

/// A message's text with its end-of-data mark, dot-stuffed if need be, in
/// one allocation of the right size (lettre copies a command it is given as
/// `&str` once; one it must format grows its buffer as it goes).
fn with_end_of_data(text: &str) -> String {
    const END: &str = "\r\n.\r\n";
    let stuffed = text.starts_with('.') || text.contains("\r\n.");
    let dots = if stuffed {
        usize::from(text.starts_with('.')) + text.matches("\r\n.").count()
    } else {
        0
    };
    let mut out = String::with_capacity(text.len() + dots + END.len());
    if !stuffed {
        out.push_str(text);
    } else {
        for (i, line) in text.split("\r\n").enumerate() {
            if i > 0 {
                out.push_str("\r\n");
            }
            if line.starts_with('.') {
                out.push('.');
            }
            out.push_str(line);
        }
    }
    out.push_str(END);
    out
}

impl Transport for Relay {
    type Connection = Session;

    fn name(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    async fn connect(&self) -> Result<Session, Error> {
        let connection = self.open_session().await?;
        match tokio::time::timeout(self.timeout, Session::new(connection, &self.hello)).await {
            Err(_) => Err(Error::transient(None, "EHLO timed out")),
            Ok(session) => session,
        }
    }

    async fn send(&self, session: &mut Session, message: &Outgoing) -> Result<String, Error> {
        self.send_message(session, message).await
    }

    /// Says goodbye, without waiting long.
    async fn close(&self, mut session: Session) {
        let _ = tokio::time::timeout(Duration::from_secs(2), session.connection.quit()).await;
    }
}

/// A permanent refusal of MAIL FROM: the relay will take nothing from this
/// sender, whoever the reader.
fn refuses_sender(e: &lettre::transport::smtp::Error) -> bool {
    e.status()
        .is_some_and(|status| status.severity == Severity::PermanentNegativeCompletion)
}

/// A reply's class decides, never its text: 5xx is permanent, everything
/// else that fails (4xx, a dropped or idle-closed connection) is temporary.
fn classify_send(e: lettre::transport::smtp::Error) -> Error {
    let code = e.status().map(u16::from);
    match e.status() {
        Some(status) if status.severity == Severity::PermanentNegativeCompletion => {
            Error::permanent(code, e.to_string())
        }
        _ => Error::transient(code, e.to_string()),
    }
}

/// While connecting, a 5xx (a refused login) or a TLS failure concerns every
/// reader: the send stops.
fn classify_connect(e: lettre::transport::smtp::Error) -> Error {
    match e.status() {
        Some(code) if code.severity == Severity::PermanentNegativeCompletion => {
            Error::Fatal(anyhow!("the relay refused the connection: {e}"))
        }
        _ if e.is_tls() || tls_failure(&e).is_some() => {
            let why = tls_failure(&e).map_or_else(|| e.to_string(), |t| t.to_string());
            Error::Fatal(anyhow!(
                "TLS with the relay failed: {why}\n  help: for a relay with a private CA, set [smtp] ca_file to its certificate (PEM)"
            ))
        }
        _ => Error::transient(e.status().map(u16::from), e.to_string()),
    }
}

/// The TLS error behind a failure, found by type along the error's causes
/// (rustls reports through the I/O error of the handshake).
fn tls_failure<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current: Option<&'a (dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        let inner = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref());
        if let Some(tls) = inner.and_then(|i| i.downcast_ref::<rustls::Error>()) {
            return Some(tls);
        }
        current = err.source();
    }
    None
}

/// A TLS stream handed to lettre as its transport.
#[derive(Debug)]
struct TlsTransport(tokio_rustls::client::TlsStream<tokio::net::TcpStream>);

impl AsyncTokioStream for TlsTransport {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl tokio::io::AsyncRead for TlsTransport {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for TlsTransport {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// The login from `username` and the password in `password_env`.
fn credentials(config: &Config, smtp: &crate::config::Smtp) -> Result<Option<Credentials>> {
    let credentials = match (&smtp.username, &smtp.password_env) {
        (Some(user), Some(var)) => {
            let password = std::env::var(var).map_err(|_| {
                anyhow!("{}: the SMTP password is read from the environment variable {var}, which is not set\n  help: export {var}=… before sending", config.path.display())
            })?;
            Some(Credentials::new(user.clone(), password))
        }
        (Some(_), None) => bail!(
            "{}: [smtp] has a username but no password_env\n  help: add password_env = \"LETTERPRESS_SMTP_PASSWORD\" and export that variable",
            config.path.display()
        ),
        (None, _) => None,
    };
    Ok(credentials)
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_dot_stuffed_only_where_a_line_starts_with_a_dot() {
        let plain = "Subject: x\r\n\r\nno dots at line starts. none.\r\n";
        assert_eq!(with_end_of_data(plain), format!("{plain}\r\n.\r\n"));
        let dotted = ".first\r\nmiddle\r\n.\r\n..two\r\nend.\r\n";
        assert_eq!(
            with_end_of_data(dotted),
            "..first\r\nmiddle\r\n..\r\n...two\r\nend.\r\n\r\n.\r\n"
        );
    }
}
