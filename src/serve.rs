//! `letterpress serve`: the web side of a newsletter. `/unsubscribe` (the
//! path of `[unsubscribe] url`) with RFC 8058 one-click, and `/archive/`
//! with the web versions of sent issues and an Atom feed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use axum::extract::{Path as UrlPath, Query, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};

use crate::compose::{Composed, Theme};
use crate::config::Config;
use crate::issue::Issue;
use crate::reader;
use crate::subscribers::{Editor, Parked, Status};

/// What the handlers share.
struct App {
    config: Config,
    secret: Vec<u8>,
    unsubscribes: mpsc::Sender<(String, oneshot::Sender<Result<(), String>>)>,
}

/// Serves until the process is stopped; `preview` adds the live preview of
/// the drafts (never on by default: drafts are not for the world).
pub fn serve(config: Config, bind: SocketAddr, preview: bool) -> Result<()> {
    let secret = reader::secret_from_env(&config)?.ok_or_else(|| {
        anyhow!(
            "the unsubscribe secret is not set: export {} (the same value the sends used)",
            reader::secret_env_name(&config)
        )
    })?;
    let path = unsubscribe_path(&config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let (sender, receiver) = mpsc::channel(4096);
        tokio::spawn(unsubscribe_writer(
            config.resolve(&config.file.subscribers.file),
            receiver,
        ));
        let preview_routes = match preview {
            true => Some(preview_router(&config)?),
            false => None,
        };
        let app = Arc::new(App {
            config,
            secret,
            unsubscribes: sender,
        });
        let mut router = Router::new()
            .route(&path, get(unsubscribe_page).post(unsubscribe))
            .route("/archive/", get(archive_index))
            .route("/archive/feed.xml", get(archive_feed))
            .route("/archive/{issue}/", get(archive_issue))
            .with_state(app);
        if let Some(routes) = preview_routes {
            router = router.merge(routes);
        }
        let bucket = Arc::new(std::sync::Mutex::new(Bucket::new(RATE_PER_SECOND)));
        let router = router
            .layer(axum::middleware::from_fn(move |request, next| {
                limit_rate(bucket.clone(), request, next)
            }))
            .layer(axum::extract::DefaultBodyLimit::max(16 * 1024))
            .layer(tower::limit::ConcurrencyLimitLayer::new(256));
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("cannot listen on {bind}"))?;
        println!(
            "Serving on http://{bind}: {path} and /archive/{}",
            if preview { " and /preview/" } else { "" }
        );
        serve_bounded(listener, router).await;
        Ok(())
    })
}

/// Connections open at once; a client beyond them waits to be accepted.
const MAX_CONNECTIONS: usize = 512;

/// How long a client may take to send a request's headers, and how long an
/// idle kept-alive connection stays open: slow or silent sockets are closed.
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Accepts connections, at most [`MAX_CONNECTIONS`] at once, each with a
/// timeout for its request headers (which also closes idle connections).
async fn serve_bounded(listener: tokio::net::TcpListener, router: Router) {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: wait, then go on.
                eprintln!("warning: cannot accept a connection: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
            drop(permit);
        });
    }
}

fn preview_router(config: &Config) -> Result<Router> {
    use crate::preview;
    let state = Arc::new(preview::PreviewState {
        config_path: config.path.clone(),
        preview: preview::Preview::watch(config)?,
    });
    Ok(Router::new()
        .route("/preview/", get(preview::index))
        .route("/preview/{issue}", get(preview::page))
        .route("/preview/{issue}/email.html", get(preview::email))
        .route("/preview/{issue}/events", get(preview::events))
        .with_state(state))
}

/// Requests per second the server answers, all clients together (bursts up
/// to a second's worth); beyond that it answers 429.
const RATE_PER_SECOND: f64 = 2000.0;

/// A token bucket.
struct Bucket {
    rate: f64,
    tokens: f64,
    last: std::time::Instant,
}

impl Bucket {
    fn new(rate: f64) -> Bucket {
        Bucket {
            rate,
            tokens: rate,
            last: std::time::Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = std::time::Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.rate);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

async fn limit_rate(
    bucket: Arc<std::sync::Mutex<Bucket>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if bucket.lock().expect("bucket").take() {
        next.run(request).await
    } else {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            "too many requests",
        )
            .into_response()
    }
}

/// The path part of `[unsubscribe] url`.
fn unsubscribe_path(config: &Config) -> Result<String> {
    let Some(url) = &config.file.unsubscribe.url else {
        bail!(
            "{}: [unsubscribe] has no url, so there is nothing to serve at an unsubscribe path",
            config.path.display()
        );
    };
    let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    Ok(path.split(['?', '#']).next().unwrap_or("/").to_string())
}

#[derive(Deserialize, Default)]
struct Reader {
    e: Option<String>,
    t: Option<String>,
}

fn verified(app: &App, who: &Reader) -> Option<String> {
    let (email, token) = (who.e.as_deref()?, who.t.as_deref()?);
    reader::verify(&app.secret, email, token).then(|| email.to_string())
}

/// GET never unsubscribes (mail scanners follow links): it asks.
async fn unsubscribe_page(State(app): State<Arc<App>>, Query(who): Query<Reader>) -> Response {
    let Some(email) = verified(&app, &who) else {
        return invalid_link();
    };
    let name = &app.config.newsletter().name;
    page(
        StatusCode::OK,
        "Unsubscribe",
        html! {
            h1 { "Unsubscribe from " (name) "?" }
            p { "You will no longer receive " (name) " at " strong { (email) } "." }
            form method="post" {
                input type="hidden" name="e" value=(email);
                input type="hidden" name="t" value=(who.t.as_deref().unwrap_or(""));
                button type="submit" { "Unsubscribe" }
            }
        },
    )
}

/// POST: the one-click body `List-Unsubscribe=One-Click` with the reader in
/// the query (RFC 8058), or the page's form with the reader in the body.
async fn unsubscribe(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
    body: String,
) -> Response {
    let from_query: Reader =
        serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    let from_body: Reader = serde_urlencoded::from_str(&body).unwrap_or_default();
    let who = if from_query.e.is_some() {
        from_query
    } else {
        from_body
    };
    let Some(email) = verified(&app, &who) else {
        return invalid_link();
    };
    let (done, wait) = oneshot::channel();
    if app.unsubscribes.send((email.clone(), done)).await.is_err() {
        return error_page();
    }
    match wait.await {
        Ok(Ok(())) => page(
            StatusCode::OK,
            "Unsubscribed",
            html! {
                h1 { "You are unsubscribed" }
                p { strong { (email) } " will receive no more issues of " (app.config.newsletter().name) "." }
            },
        ),
        _ => error_page(),
    }
}

/// Applies unsubscribes in batches: every request that arrives while the
/// list is being written waits for the next write, so a burst costs a few
/// writes, and each request is answered once its change is on disk.
async fn unsubscribe_writer(
    list: PathBuf,
    mut receiver: mpsc::Receiver<(String, oneshot::Sender<Result<(), String>>)>,
) {
    let mut parked: Option<Parked> = None;
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = receiver.try_recv() {
            batch.push(more);
        }
        let emails: Vec<String> = batch.iter().map(|(e, _)| e.clone()).collect();
        let path = list.clone();
        let kept = parked.take();
        let outcome = tokio::task::spawn_blocking(move || apply(&path, kept, &emails)).await;
        let result = match outcome {
            Ok(Ok(next)) => {
                parked = next;
                Ok(())
            }
            Ok(Err(e)) => Err(format!("{e:#}")),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = &result {
            eprintln!("error: {e}");
        }
        for (_, done) in batch {
            let _ = done.send(result.clone());
        }
    }
}

/// Marks `emails` unsubscribed (an address no longer in the list is done)
/// and keeps the parsed list for the next batch.
fn apply(list: &Path, parked: Option<Parked>, emails: &[String]) -> Result<Option<Parked>> {
    let mut editor = match parked {
        Some(parked) => parked.resume()?,
        None => Editor::open(list)?,
    };
    let mut changed = false;
    for email in emails {
        if editor.contains(email) {
            changed |= editor.set_status(email, Status::Unsubscribed)?;
        }
    }
    if changed {
        editor.save()?;
    }
    Ok(editor.park())
}

fn invalid_link() -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "Invalid link",
        html! {
            h1 { "This unsubscribe link is not valid" }
            p { "It may have been cut short by your mail program. Use the whole link from the footer of an issue, or reply to the issue and ask to be removed." }
        },
    )
}

fn error_page() -> Response {
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Error",
        html! { h1 { "Something went wrong" } p { "Please try again in a minute." } },
    )
}

fn page(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { "body{font-family:-apple-system,'Segoe UI','Apple SD Gothic Neo','Malgun Gothic',sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.6;color:#1f2328}button{font-size:1rem;padding:.6rem 1.2rem;border:0;border-radius:6px;background:#1a56db;color:#fff}a{color:#1a56db}" }
            }
            body { (body) }
        }
    };
    (status, Html(markup.into_string())).into_response()
}

/// The issues with a journal in `state_dir` (sent, at least in part),
/// newest first. An issue that no longer loads is left out and logged, so
/// one broken folder never takes the archive down.
pub fn sent_issues(config: &Config) -> Result<Vec<Issue>> {
    let state = config.resolve(&config.file.sending.state_dir);
    let issues_dir = config.project_dir.join("issues");
    let mut issues = Vec::new();
    let Ok(entries) = std::fs::read_dir(&issues_dir) else {
        return Ok(issues);
    };
    let journals: Vec<String> = std::fs::read_dir(&state)
        .into_iter()
        .flatten()
        .flatten()
        .map(|j| j.file_name().to_string_lossy().into_owned())
        .collect();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let journaled = journals
            .iter()
            .any(|file| crate::deliver::journal::is_journal_of(file, &name));
        if journaled && entry.path().is_dir() {
            match Issue::load(&entry.path()) {
                Ok(issue) => issues.push(issue),
                Err(e) => eprintln!(
                    "warning: the sent issue {} is left out of the archive: {e:#}",
                    entry.path().display()
                ),
            }
        }
    }
    issues.sort_by_key(|i| std::cmp::Reverse(i.date.map(|d| (d.year, d.month, d.day))));
    Ok(issues)
}

/// The web version of an issue: no reader's data in it.
pub fn web_page(config: &Config, issue: &Issue) -> Result<String> {
    let theme = Theme::load(config)?;
    let composed = Composed::new(config, &theme, issue)?;
    Ok(composed.html(&reader::web_values(config, issue)))
}

async fn archive_index(State(app): State<Arc<App>>) -> Response {
    match sent_issues(&app.config) {
        Ok(issues) => Html(index_page(&app.config, &issues)).into_response(),
        Err(e) => server_error(e),
    }
}

async fn archive_feed(State(app): State<Arc<App>>) -> Response {
    match sent_issues(&app.config) {
        Ok(issues) => (
            [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
            atom_feed(&app.config, &issues),
        )
            .into_response(),
        Err(e) => server_error(e),
    }
}

async fn archive_issue(State(app): State<Arc<App>>, UrlPath(name): UrlPath<String>) -> Response {
    // Only the folder names of sent issues are served: no path can escape.
    let issues = match sent_issues(&app.config) {
        Ok(issues) => issues,
        Err(e) => return server_error(e),
    };
    let Some(issue) = issues.iter().find(|i| i.slug == name) else {
        return (StatusCode::NOT_FOUND, "no such issue").into_response();
    };
    match web_page(&app.config, issue) {
        Ok(html) => Html(html).into_response(),
        Err(e) => server_error(e),
    }
}

fn server_error(e: anyhow::Error) -> Response {
    eprintln!("error: {e:#}");
    error_page()
}

fn date(issue: &Issue) -> String {
    issue.date.map_or_else(String::new, |d| {
        format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
    })
}

/// The archive's index page.
pub fn index_page(config: &Config, issues: &[Issue]) -> String {
    let name = &config.newsletter().name;
    html! {
        (DOCTYPE)
        html lang=(config.newsletter().language) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (name) }
                link rel="alternate" type="application/atom+xml" href="feed.xml" title=(name);
                style { "body{font-family:'Apple SD Gothic Neo','Malgun Gothic','Noto Sans KR',-apple-system,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.6;word-break:keep-all}a{color:#1a56db}li{margin:.4rem 0}time{color:#5f6670;margin-right:.6rem}" }
            }
            body {
                h1 { (name) }
                ul { @for issue in issues { li { time { (date(issue)) } a href=(format!("{}/", issue.slug)) { (issue.subject) } } } }
                p { a href="feed.xml" { "Atom feed" } }
            }
        }
    }
    .into_string()
}

/// An Atom feed of the sent issues.
pub fn atom_feed(config: &Config, issues: &[Issue]) -> String {
    let x = crate::compose::escape_xml;
    let base = config
        .newsletter()
        .base_url
        .as_deref()
        .unwrap_or("")
        .trim_end_matches('/')
        .to_string();
    let updated = issues.first().map_or_else(|| "1970-01-01".into(), date);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    out.push_str(&format!(
        "  <title>{}</title>\n  <id>{base}/archive/</id>\n  <link href=\"{base}/archive/\"/>\n  <link rel=\"self\" href=\"{base}/archive/feed.xml\"/>\n  <updated>{updated}T00:00:00Z</updated>\n",
        x(&config.newsletter().name)
    ));
    for issue in issues {
        let url = x(&reader::web_url(config, issue).unwrap_or_default());
        out.push_str(&format!(
            "  <entry>\n    <title>{}</title>\n    <id>{url}</id>\n    <link href=\"{url}\"/>\n    <updated>{}T00:00:00Z</updated>\n",
            x(&issue.subject),
            date(issue)
        ));
        if let Some(summary) = &issue.preheader {
            out.push_str(&format!("    <summary>{}</summary>\n", x(summary)));
        }
        out.push_str("  </entry>\n");
    }
    out.push_str("</feed>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_a_second_of_burst_then_the_rate() {
        let mut bucket = Bucket::new(10.0);
        assert!((0..10).all(|_| bucket.take()));
        assert!(!bucket.take());
        std::thread::sleep(std::time::Duration::from_millis(120));
        assert!(bucket.take());
        assert!(!bucket.take());
    }

    #[test]
    fn the_unsubscribe_path_comes_from_the_url() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newsletter.toml");
        let text = "[newsletter]\nname = \"N\"\nfrom = \"N <a@example.com>\"\n[subscribers]\nfile = \"s.toml\"\n[unsubscribe]\nurl = \"https://news.example.com/u/leave?x=1\"\n";
        std::fs::write(&path, text).unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(unsubscribe_path(&config).unwrap(), "/u/leave");
    }
}
