//! Reading reports from an IMAP folder (async-imap on tokio, TLS with
//! rustls): `imaps://user@host[:port]/FOLDER`, the password from
//! `LETTERPRESS_IMAP_PASSWORD`; `imap://` without TLS only towards this
//! machine. Messages are fetched with `BODY.PEEK[]`, so reading marks
//! nothing; only recognised messages are then flagged `\Seen` (and moved
//! with `--move-to`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use futures_util::StreamExt;
use rustls::pki_types::ServerName;

use super::{Handle, Read, MAX_MESSAGES, MAX_MESSAGE_BYTES};

/// The environment variable that holds the IMAP password.
pub const PASSWORD_ENV: &str = "LETTERPRESS_IMAP_PASSWORD";

/// The timeout of every network step.
const STEP: Duration = Duration::from_secs(60);

/// UIDs per FETCH or STORE command.
const CHUNK: usize = 200;

/// An IMAP folder to read.
#[derive(Debug, Clone)]
pub struct Target {
    /// `imaps` (TLS) or plain `imap` (loopback only).
    pub tls: bool,
    /// The login name.
    pub user: String,
    /// The server.
    pub host: String,
    /// The port (993 for imaps, 143 for imap by default).
    pub port: u16,
    /// The folder.
    pub folder: String,
}

impl Target {
    /// Parses `imaps://user@host[:port]/FOLDER`.
    pub fn parse(arg: &str) -> Result<Target> {
        let help = "write it as imaps://user@host[:port]/FOLDER (a user name with @ as %40)";
        let url = url::Url::parse(arg)
            .map_err(|e| anyhow!("{arg}: not an IMAP URL ({e})\n  help: {help}"))?;
        let tls = match url.scheme() {
            "imaps" => true,
            "imap" => false,
            other => bail!("{arg}: `{other}` is not imaps or imap\n  help: {help}"),
        };
        if url.password().is_some() {
            bail!("{arg}: a password in the URL is refused: it would end up in shell histories and logs\n  help: export {PASSWORD_ENV}=… instead");
        }
        let user = percent_decode(url.username());
        let host = url
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string())
            .filter(|h| !h.is_empty())
            .ok_or_else(|| anyhow!("{arg}: no host\n  help: {help}"))?;
        if user.is_empty() {
            bail!("{arg}: no user name\n  help: {help}");
        }
        let folder = percent_decode(url.path().trim_start_matches('/'));
        let folder = if folder.is_empty() {
            "INBOX".to_string()
        } else {
            folder
        };
        check_folder(&folder).map_err(|why| anyhow!("{arg}: {why}"))?;
        if !tls && !is_loopback(&host) {
            bail!("{arg}: imap:// sends the password in clear text; it is only allowed towards this machine (127.0.0.1)\n  help: use imaps://");
        }
        let port = url.port().unwrap_or(if tls { 993 } else { 143 });
        Ok(Target {
            tls,
            user,
            host,
            port,
            folder,
        })
    }

    /// `imaps://host:port/FOLDER`, without the user.
    pub fn label(&self) -> String {
        let scheme = if self.tls { "imaps" } else { "imap" };
        format!("{scheme}://{}:{}/{}", self.host, self.port, self.folder)
    }
}

/// A folder name letterpress can send as an IMAP quoted string: printable
/// ASCII (non-ASCII names need modified UTF-7, which is not supported).
pub fn check_folder(folder: &str) -> std::result::Result<(), String> {
    if folder.len() > 200 || !folder.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        return Err(format!(
            "the folder name `{}` must be printable ASCII of at most 200 characters",
            folder.escape_debug()
        ));
    }
    Ok(())
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// What to do after reading.
pub struct FolderPlan<'a> {
    /// The folder.
    pub target: &'a Target,
    /// Extra CA certificates (PEM) to trust.
    pub ca: Option<(std::path::PathBuf, Vec<u8>)>,
    /// Change nothing on the server.
    pub dry_run: bool,
    /// Move recognised messages there.
    pub move_to: Option<&'a str>,
}

/// Reads every message of the folder, handing each to `each`, which says
/// whether it was recognised; then `apply` (the list and log writes); then,
/// unless a dry run, flags the recognised ones `\Seen` and moves them.
/// Returns how many messages were read.
pub fn import(
    plan: &FolderPlan<'_>,
    each: impl FnMut(Read) -> bool,
    apply: impl FnOnce() -> Result<()>,
) -> Result<usize> {
    let password = std::env::var(PASSWORD_ENV).map_err(|_| {
        anyhow!("the IMAP password is read from the environment variable {PASSWORD_ENV}, which is not set\n  help: export {PASSWORD_ENV}=… before importing")
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let target = plan.target;
        let tcp = step(
            "connecting",
            tokio::net::TcpStream::connect((target.host.as_str(), target.port)),
        )
        .await?
        .with_context(|| format!("cannot connect to {}:{}", target.host, target.port))?;
        if target.tls {
            let config = crate::tls::client_config(plan.ca.as_ref())?;
            let name = ServerName::try_from(target.host.clone())
                .map_err(|e| anyhow!("`{}` is not a TLS server name: {e}", target.host))?;
            let tls = step(
                "TLS",
                tokio_rustls::TlsConnector::from(Arc::clone(&config)).connect(name, tcp),
            )
            .await?
            .map_err(|e| anyhow!("TLS with {} failed: {e}\n  help: for a server with a private CA, set [bounces] ca_file to its certificate (PEM)", target.host))?;
            session(tls, &password, plan, each, apply).await
        } else {
            session(tcp, &password, plan, each, apply).await
        }
    })
}

async fn step<F: std::future::Future>(what: &str, future: F) -> Result<F::Output> {
    tokio::time::timeout(STEP, future)
        .await
        .map_err(|_| anyhow!("the IMAP server did not answer in time ({what})"))
}

async fn session<T>(
    stream: T,
    password: &str,
    plan: &FolderPlan<'_>,
    mut each: impl FnMut(Read) -> bool,
    apply: impl FnOnce() -> Result<()>,
) -> Result<usize>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let target = plan.target;
    let mut client = async_imap::Client::new(stream);
    step("greeting", client.read_response())
        .await?
        .context("the IMAP server closed the connection")?
        .context("the IMAP server sent no greeting")?;
    let mut imap = step("login", client.login(&target.user, password))
        .await?
        .map_err(|(e, _)| anyhow!("the IMAP server refused the login of {}: {e}", target.user))?;
    if let Some(folder) = plan.move_to {
        check_folder(folder).map_err(|why| anyhow!("--move-to: {why}"))?;
        let found = step("LIST", imap.list(Some(""), Some(folder)))
            .await??
            .collect::<Vec<_>>()
            .await;
        if !found
            .iter()
            .any(|n| n.as_ref().is_ok_and(|n| n.name() == folder))
        {
            bail!("--move-to {folder}: there is no such folder on {}\n  help: create it in your mail program first", target.host);
        }
    }
    step("SELECT", imap.select(&target.folder))
        .await?
        .with_context(|| format!("cannot open the folder {}", target.label()))?;
    let mut uids: Vec<u32> = step("SEARCH", imap.uid_search("ALL"))
        .await??
        .into_iter()
        .collect();
    uids.sort_unstable();
    uids.truncate(MAX_MESSAGES);
    let recognised = fetch_all(&mut imap, &uids, target, &mut each).await?;
    apply()?;
    if !plan.dry_run {
        mark(&mut imap, &recognised, plan.move_to).await?;
    }
    let _ = step("LOGOUT", imap.logout()).await;
    Ok(uids.len())
}

/// Fetches every message (`BODY.PEEK[]`, so nothing is marked) in chunks,
/// handing each to `each`; the UIDs of the recognised ones.
async fn fetch_all<T>(
    imap: &mut async_imap::Session<T>,
    uids: &[u32],
    target: &Target,
    each: &mut impl FnMut(Read) -> bool,
) -> Result<Vec<u32>>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let mut recognised = Vec::new();
    for chunk in uids.chunks(CHUNK) {
        let set = uid_set(chunk);
        let fetched: Vec<_> = {
            let stream = step(
                "FETCH",
                imap.uid_fetch(&set, "(UID RFC822.SIZE BODY.PEEK[])"),
            )
            .await??;
            step("FETCH", stream.collect::<Vec<_>>()).await?
        };
        for fetch in fetched {
            let fetch = fetch.context("the IMAP server sent a broken FETCH answer")?;
            let Some(uid) = fetch.uid else { continue };
            let bytes = match fetch.body() {
                Some(b) if b.len() > MAX_MESSAGE_BYTES => {
                    Err("too large to be a report, left alone".to_string())
                }
                Some(b) => Ok(b.to_vec()),
                None => Err("the server sent no body".to_string()),
            };
            let read = Read {
                label: format!("{};UID={uid}", target.label()),
                handle: Handle::Imap,
                bytes,
            };
            if each(read) {
                recognised.push(uid);
            }
        }
    }
    Ok(recognised)
}

/// Flags the recognised messages `\\Seen` and moves them when asked.
async fn mark<T>(
    imap: &mut async_imap::Session<T>,
    recognised: &[u32],
    move_to: Option<&str>,
) -> Result<()>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    for chunk in recognised.chunks(CHUNK) {
        let set = uid_set(chunk);
        let stream = step("STORE", imap.uid_store(&set, "+FLAGS.SILENT (\\Seen)")).await??;
        step("STORE", stream.collect::<Vec<_>>()).await?;
        if let Some(folder) = move_to {
            step("MOVE", imap.uid_mv(&set, folder))
                .await?
                .with_context(|| format!("cannot move messages to {folder}"))?;
        }
    }
    Ok(())
}

fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_imap_urls() {
        let t = Target::parse("imaps://bounces%40example.com@mail.example.com/Bounces").unwrap();
        assert_eq!(
            (
                t.user.as_str(),
                t.host.as_str(),
                t.port,
                t.folder.as_str(),
                t.tls
            ),
            (
                "bounces@example.com",
                "mail.example.com",
                993,
                "Bounces",
                true
            )
        );
        let t = Target::parse("imap://u@127.0.0.1:1430/").unwrap();
        assert_eq!((t.port, t.folder.as_str(), t.tls), (1430, "INBOX", false));
        for bad in [
            "imap://u@mail.example.com/INBOX",
            "imaps://u:secret@mail.example.com/INBOX",
            "imaps://mail.example.com/INBOX",
            "pop3://u@mail.example.com/",
            "imaps://u@mail.example.com/%E2%9C%89",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
