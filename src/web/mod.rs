//! `letterpress serve`: the web side of a newsletter. `/unsubscribe` (the
//! path of `[unsubscribe] url`) with RFC 8058 one-click, `/archive/` with
//! the web versions of sent issues and an Atom feed, and with `[subscribe]`
//! the sign-up form and its confirmation link.

pub mod archive;
mod clicks;
mod conn;
mod list;
mod preferences;
pub mod preview;
mod rate;
mod stats;
mod subscribe;
mod unsubscribe;

use std::net::SocketAddr;

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup, DOCTYPE};
use tokio::sync::mpsc;

use crate::config::Config;

/// What the handlers share.
pub(crate) struct App {
    config: Config,
    secret: Vec<u8>,
    /// The list's one writer.
    list: mpsc::Sender<list::Request>,
    /// With `[subscribe]`: the form's mailer, limits and welcome.
    joining: Option<subscribe::Joining>,
    /// With `[preferences]`: the page's mails.
    keeping: Option<preferences::Keeping>,
    /// With `[tracking] clicks`: the links of issues clicked lately.
    clicks: clicks::Cache,
}

/// How `serve` runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServeOptions {
    /// Also serve the live preview of the drafts (never on by default:
    /// drafts are not for the world).
    pub preview: bool,
    /// Take the client of a subscribe request from the first
    /// X-Forwarded-For hop (only behind a reverse proxy that sets it).
    pub trust_proxy: bool,
    /// Send scheduled issues when due: a pass every 30 seconds.
    pub schedule: bool,
}

/// The path part of a URL (`/` when it has none), without query or fragment.
pub(crate) fn url_path(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    path.split(['?', '#']).next().unwrap_or("/").to_string()
}

/// The subscribe routes' shared parts: the confirmation mailer on its own
/// thread, the limits and the welcome sender. Errors here stop `serve`
/// before it listens.
fn joining(
    config: &Config,
    secret: &[u8],
    options: ServeOptions,
    mailer: Option<mpsc::Sender<crate::signup::mailer::MailRequest>>,
) -> Result<Option<subscribe::Joining>> {
    let (Some(table), Some(mailer)) = (&config.file.subscribe, mailer) else {
        return Ok(None);
    };
    let confirmer = crate::signup::confirm::Confirmer::new(config)?;
    let welcome = match crate::signup::welcome::dir(config) {
        Some(dir) => {
            crate::signup::welcome::check(config, &dir, secret).with_context(|| {
                format!(
                    "{}: [subscribe] welcome = {} cannot be sent",
                    config.path.display(),
                    dir.display()
                )
            })?;
            Some(crate::signup::welcome::start(
                config.clone(),
                dir,
                secret.to_vec(),
            )?)
        }
        None => None,
    };
    Ok(Some(subscribe::Joining {
        confirmer,
        limits: std::sync::Mutex::new(crate::signup::limits::Limits::new(
            table.per_client_per_hour,
        )),
        mailer,
        welcome,
        trust_proxy: options.trust_proxy,
        words: crate::words::words(&config.newsletter().language),
    }))
}

/// The preference page's shared parts, with `[preferences]`.
fn keeping(
    config: &Config,
    options: ServeOptions,
    mailer: Option<mpsc::Sender<crate::signup::mailer::MailRequest>>,
) -> Result<Option<preferences::Keeping>> {
    let (Some(_), Some(mailer)) = (&config.file.preferences, mailer) else {
        return Ok(None);
    };
    Ok(Some(preferences::Keeping {
        letters: crate::signup::confirm::Confirmer::new(config)?,
        mailer,
        limits: std::sync::Mutex::new(crate::signup::limits::Limits::new(
            preferences::PER_CLIENT_PER_HOUR,
        )),
        trust_proxy: options.trust_proxy,
    }))
}

/// The form's path and its confirmation path.
fn subscribe_paths(config: &Config) -> Option<(String, String)> {
    let table = config.file.subscribe.as_ref()?;
    let form = url_path(&table.url);
    let confirm = format!("{}/confirm", form.trim_end_matches('/'));
    Some((form, confirm))
}

/// The pages `serve` has of its own with these options: a path that is
/// one of them or lies under one of them belongs to serve.
fn own_pages(config: &Config, options: ServeOptions) -> Vec<(&'static str, &'static str)> {
    let mut pages = vec![("/archive", "the archive"), ("/robots.txt", "robots.txt")];
    if config.file.tracking.clicks {
        pages.push(("/c", "counted links ([tracking] clicks)"));
    }
    if options.preview {
        pages.push(("/preview", "the preview (--preview)"));
        pages.push(("/stats", "the stats pages (--preview)"));
    }
    pages
}

/// Whether `path` is `page` or lies under it (`/archive`, `/archive/`,
/// `/archive/feed.xml`; not `/archives`).
fn under(path: &str, page: &str) -> bool {
    path == page
        || path
            .strip_prefix(page)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// A path the config gives serve: the path, the key as people read it,
/// and the key's place in the file.
type Configured = (String, &'static str, &'static [&'static str]);

/// The paths the config gives serve, in the order they are checked.
fn configured_paths(config: &Config) -> Vec<Configured> {
    let mut configured: Vec<Configured> = Vec::new();
    if let Some(path) = unsubscribe::path(config) {
        configured.push((path, "[unsubscribe] url", &["unsubscribe", "url"]));
    }
    if let Some(path) = preferences::path(config) {
        configured.push((
            preferences::link_path(&path),
            "[preferences] url (its form, <path>/link)",
            &["preferences", "url"],
        ));
        configured.push((path, "[preferences] url", &["preferences", "url"]));
    }
    if let Some((form, confirm)) = subscribe_paths(config) {
        configured.push((form, "[subscribe] url", &["subscribe", "url"]));
        configured.push((
            confirm,
            "[subscribe] url (its confirmation link, <path>/confirm)",
            &["subscribe", "url"],
        ));
    }
    configured
}

/// Checks every path the config gives serve before a route is made: each
/// must be usable as a route, and none may be another configured path or
/// one of serve's own pages. The error names the config file and the key.
fn check_paths(config: &Config, options: ServeOptions) -> Result<()> {
    let configured = configured_paths(config);
    // The error names the key's line in the file it came from.
    let source = crate::error::read_input(&config.path).unwrap_or_default();
    let refuse = |key: &[&str], message: String, help: &str| -> anyhow::Error {
        crate::error::Located::at(
            &config.path,
            &source,
            crate::error::key_offset(&source, key),
            message,
        )
        .help(help)
        .into()
    };
    for (i, (path, key, at)) in configured.iter().enumerate() {
        if path.contains(['{', '}']) || path.chars().any(char::is_control) {
            return Err(refuse(
                at,
                format!("{key} has the path {path:?}, which serve cannot route (braces and control characters are not allowed)"),
                "give it a plain path, such as /unsubscribe",
            ));
        }
        if let Some((_, what)) = own_pages(config, options)
            .into_iter()
            .find(|(page, _)| under(path, page))
        {
            let taken = own_pages(config, options)
                .iter()
                .map(|(p, _)| format!("{p}/"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(refuse(
                at,
                format!("{key} has the path {path}, which serve uses for {what}"),
                &format!("give it a path of its own outside {taken}"),
            ));
        }
        if let Some((_, other, _)) = configured[..i]
            .iter()
            .find(|(earlier, _, _)| earlier.trim_end_matches('/') == path.trim_end_matches('/'))
        {
            return Err(refuse(
                at,
                format!("{key} has the path {path}, which {other} already uses"),
                "give each its own path, such as /unsubscribe and /subscribe",
            ));
        }
    }
    Ok(())
}

fn start_scheduler(config: &Config) -> Result<()> {
    let path = config.path.clone();
    std::thread::Builder::new()
        .name("schedule".into())
        .spawn(move || scheduler(&path))
        .context("cannot start the scheduler")?;
    Ok(())
}

/// `serve --schedule`: a pass every 30 seconds, one log line per event.
/// The config is read again for each pass, so edits take effect.
fn scheduler(config_path: &std::path::Path) {
    let deliver = crate::schedule::Deliver {
        config_path: config_path.to_path_buf(),
        signals: false,
    };
    loop {
        let now = jiff::Timestamp::now();
        let stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ");
        let pass = Config::load(config_path).and_then(|config| {
            crate::schedule::pass(&config, now, &deliver).map(|events| (config, events))
        });
        match pass {
            Ok((config, events)) => {
                for event in events.iter().filter(|e| !e.quiet()) {
                    let line = loggable(&event.line(&config));
                    eprintln!("{stamp} schedule: {line}");
                }
            }
            Err(e) => eprintln!(
                "{stamp} schedule: the pass failed: {}",
                loggable(&format!("{e:#}"))
            ),
        }
        std::thread::sleep(std::time::Duration::from_secs(30));
    }
}

/// Serves until the process is stopped: checks the configured paths,
/// reads the secret, starts the confirmation mailer and the scheduler, then
/// the list's writer and the routes on one thread.
pub fn serve(config: Config, bind: SocketAddr, options: ServeOptions) -> Result<()> {
    check_paths(&config, options)?;
    let secret = secret(&config)?;
    let mailer = match config.file.subscribe.is_some() || config.file.preferences.is_some() {
        true => Some(crate::signup::mailer::start(
            crate::send::Relay::service(&config)?,
            config.file.sending.max_messages_per_connection,
        )?),
        false => None,
    };
    let joining = joining(&config, &secret, options, mailer.clone())?;
    let keeping = keeping(&config, options, mailer)?;
    if options.schedule {
        start_scheduler(&config)?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let (sender, receiver) = mpsc::channel(list::QUEUE);
        tokio::spawn(list::writer(config.list_path(), receiver));
        let preview = match options.preview {
            true => Some(preview_router(&config)?),
            false => None,
        };
        let greeting = greeting(&config, bind, options);
        let app = Arc::new(App {
            config,
            secret,
            list: sender,
            joining,
            keeping,
            clicks: clicks::Cache::default(),
        });
        let router = bounded(routes(app, preview));
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("cannot listen on {bind}"))?;
        println!("{greeting}");
        conn::serve_bounded(listener, router).await;
        Ok(())
    })
}

/// The secret that signs and checks tokens. Tokens are only checked by the
/// unsubscribe endpoint, the form and counted links: a project with none
/// of them (a mailto-only start) serves the archive and the preview
/// without a secret.
fn secret(config: &Config) -> Result<Vec<u8>> {
    let needs_secret = unsubscribe::path(config).is_some()
        || config.file.subscribe.is_some()
        || config.file.preferences.is_some()
        || config.file.tracking.clicks;
    Ok(match crate::message::secret::secret_from_env(config)? {
        Some(secret) => secret,
        None if !needs_secret => Vec::new(),
        None => bail!(
            "the unsubscribe secret is not set: export {} (the same value the sends used)",
            crate::message::secret::secret_env_name(config)
        ),
    })
}

/// Every route: the archive, and with the config the unsubscribe
/// endpoint, counted links and the form; with --preview the drafts.
fn routes(app: Arc<App>, preview: Option<Router>) -> Router {
    let mut router = Router::new()
        .route("/archive/", get(archive::index))
        .route("/archive/feed.xml", get(archive::feed))
        .route("/archive/sitemap.xml", get(archive::sitemap_xml))
        .route("/archive/robots.txt", get(archive::robots_txt))
        .route("/robots.txt", get(archive::robots_txt))
        .route("/archive/{issue}/", get(archive::issue))
        .route("/archive/{issue}/{*file}", get(archive::image));
    if let Some(path) = unsubscribe::path(&app.config) {
        router = router.route(
            &path,
            get(unsubscribe::page_handler).post(unsubscribe::post),
        );
    }
    if app.config.file.tracking.clicks {
        router = router.route("/c/{issue}/{n}/{signature}", get(clicks::click));
    }
    if let Some(path) = preferences::path(&app.config) {
        router = router
            .route(
                &path,
                get(preferences::page_handler).post(preferences::post),
            )
            .route(&preferences::link_path(&path), post(preferences::link_post));
    }
    if let Some((form, confirm)) = subscribe_paths(&app.config) {
        router = router
            .route(&form, get(subscribe::form_page).post(subscribe::form_post))
            .route(
                &confirm,
                get(subscribe::confirm_page).post(subscribe::confirm_post),
            );
    }
    let mut router = router.fallback(fallback).with_state(app);
    if let Some(routes) = preview {
        router = router.merge(routes);
    }
    router
}

/// The bounds around every route: requests per second, body size, requests
/// at once, the time a body may take, and the log line.
fn bounded(router: Router) -> Router {
    let bucket = Arc::new(std::sync::Mutex::new(rate::Bucket::new(
        rate::RATE_PER_SECOND,
    )));
    router
        .layer(axum::middleware::from_fn(move |request, next| {
            rate::limit_rate(bucket.clone(), request, next)
        }))
        .layer(axum::extract::DefaultBodyLimit::max(conn::MAX_BODY))
        .layer(tower::limit::ConcurrencyLimitLayer::new(256))
        // Outside the handlers' turns: a body that trickles in holds
        // no turn, and is cut off after conn::BODY_TIMEOUT.
        .layer(axum::middleware::from_fn(conn::read_body))
        .layer(axum::middleware::from_fn(log_request))
}

/// The line `serve` starts with: where it listens and what it serves.
fn greeting(config: &Config, bind: SocketAddr, options: ServeOptions) -> String {
    let mut form = subscribe_paths(config).map_or(String::new(), |(f, _)| format!(", {f}"));
    if let Some(page) = preferences::path(config) {
        form.push_str(&format!(", {page}"));
    }
    let unsubscribe = unsubscribe::path(config)
        .unwrap_or_else(|| "(no [unsubscribe] url: no one-click endpoint)".to_string());
    format!(
        "Serving on http://{bind}: {unsubscribe}{form} and /archive/{}",
        if options.preview {
            " and /preview/"
        } else {
            ""
        }
    )
}

/// One line per request: time, method, path (no query: tokens travel
/// there), status and milliseconds.
async fn log_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let start = std::time::Instant::now();
    let method = request.method().clone();
    let path = loggable_path(request.uri().path());
    let response = next.run(request).await;
    eprintln!(
        "{} {method} {path} {} {}ms",
        crate::time::rfc3339(std::time::SystemTime::now()),
        response.status().as_u16(),
        start.elapsed().as_millis()
    );
    response
}

/// A request path fit for a log line: at most 200 characters, printable,
/// and any segment that holds an `@` (an address a client put there)
/// replaced by `…`.
fn loggable_path(path: &str) -> String {
    let path: String = path
        .split('/')
        .map(|segment| {
            if segment.contains('@') || segment.to_ascii_lowercase().contains("%40") {
                "…".to_string()
            } else {
                segment
                    .chars()
                    .map(|c| if c.is_control() { '?' } else { c })
                    .collect()
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    path.chars().take(200).collect()
}

pub(crate) use crate::redact::loggable;

fn preview_router(config: &Config) -> Result<Router> {
    use crate::web::preview;
    let state = Arc::new(preview::PreviewState {
        config_path: config.path.clone(),
        preview: preview::Preview::watch(config)?,
        streams: Arc::new(tokio::sync::Semaphore::new(preview::MAX_STREAMS)),
    });
    Ok(Router::new()
        .route("/preview/", get(preview::index))
        .route("/preview/{issue}", get(preview::page))
        .route("/preview/{issue}/email.html", get(preview::email))
        .route("/preview/{issue}/events", get(preview::events))
        .route("/preview/{issue}/{*file}", get(preview::image))
        .route("/stats/{issue}", get(stats::page))
        .with_state(state))
}

/// The words of the newsletter's language.
pub(crate) fn words(config: &Config) -> &'static crate::words::Words {
    crate::words::words(&config.newsletter().language)
}

/// `text` with `{newsletter}` and `{address}` filled in, as markup: the
/// newsletter's name never splits inside a word.
pub(crate) fn said(config: &Config, text: &str, address: &str) -> Markup {
    let name = &config.newsletter().name;
    let filled = crate::words::fill(text, name, address);
    if name.is_empty() {
        return html! { (filled) };
    }
    let mut parts = filled.split(name.as_str()).peekable();
    html! {
        @while let Some(part) = parts.next() {
            (part)
            @if parts.peek().is_some() { span.nl { (name) } }
        }
    }
}

/// A 500 page in the newsletter's language.
fn error_page(config: &Config) -> Response {
    let w = words(config);
    page(
        config,
        StatusCode::INTERNAL_SERVER_ERROR,
        w.error_title,
        html! { h1 { (w.error_title) } p { (w.error_body) } },
    )
}

/// A 404 page in the newsletter's language, with a way to the archive.
pub(crate) fn not_found(config: &Config) -> Response {
    let w = words(config);
    page(
        config,
        StatusCode::NOT_FOUND,
        w.not_found_title,
        html! {
            h1 { (w.not_found_title) }
            p { (w.not_found_body) }
            p { a href="/archive/" { (said(config, w.archive_link, "")) } }
        },
    )
}

/// Any path serve has no page for.
async fn fallback(State(app): State<Arc<App>>) -> Response {
    not_found(&app.config)
}

/// The shared style of serve's own pages. Korean text breaks between
/// words only (keep-all); the newsletter's name never splits.
const PAGE_STYLE: &str = "body{font-family:-apple-system,'Segoe UI','Apple SD Gothic Neo','Malgun Gothic','Noto Sans KR',sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.6;color:#1f2328;overflow-wrap:break-word}button{font-size:1rem;padding:.6rem 1.2rem;border:0;border-radius:6px;background:#1a56db;color:#fff}a{color:#1a56db}.nl{word-break:keep-all;overflow-wrap:normal}";

/// A page in the newsletter's language, in the shared plain style, its
/// content in one `<main>`.
fn page(config: &Config, status: StatusCode, title: &str, body: Markup) -> Response {
    let w = words(config);
    let title = crate::words::fill(title, &config.newsletter().name, "");
    let markup = html! {
        (DOCTYPE)
        html lang=(config.newsletter().language) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                (subscribe::style())
                (preferences::style())
                style { (PAGE_STYLE) "body{word-break:" (w.word_break) "}" }
            }
            body { main { (body) } }
        }
    };
    (status, Html(markup.into_string())).into_response()
}

fn server_error(config: &Config, e: anyhow::Error) -> Response {
    eprintln!("error: {}", loggable(&format!("{e:#}")));
    error_page(config)
}

#[cfg(test)]
mod path_tests {
    use super::*;

    fn config(extra: &str) -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newsletter.toml");
        let text = format!("[newsletter]\nname = \"N\"\nfrom = \"N <a@example.com>\"\nbase_url = \"https://n.example.com\"\n[subscribers]\nfile = \"s.toml\"\n{extra}");
        std::fs::write(&path, text).unwrap();
        (dir, Config::load(&path).unwrap())
    }

    #[test]
    fn the_greeting_names_every_page_served() {
        let (_dir, config) = config("[unsubscribe]\nurl = \"https://n.example.com/unsubscribe\"\n[preferences]\nurl = \"https://n.example.com/me\"\n");
        let bind: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(
            greeting(&config, bind, ServeOptions::default()),
            "Serving on http://127.0.0.1:8080: /unsubscribe, /me and /archive/"
        );
    }

    fn refused(extra: &str, preview: bool) -> Option<String> {
        let options = ServeOptions {
            preview,
            ..ServeOptions::default()
        };
        check_paths(&config(extra).1, options)
            .err()
            .map(|e| format!("{e:#}"))
    }

    #[test]
    fn every_configured_path_is_checked_against_the_others_and_serve_s_own() {
        let unsubscribe =
            |path: &str| format!("[unsubscribe]\nurl = \"https://n.example.com{path}\"\n");
        for path in ["/archive", "/archive/", "/archive/feed.xml", "/archive/x/"] {
            let e = refused(&unsubscribe(path), false).expect(path);
            assert!(
                e.contains("[unsubscribe] url has the path") && e.contains("the archive"),
                "{e}"
            );
        }
        let e = refused(&unsubscribe("/robots.txt"), false).unwrap();
        assert!(e.contains("robots.txt"), "{e}");
        assert!(refused(&unsubscribe("/archives"), false).is_none());
        assert!(refused(&unsubscribe("/preview/"), false).is_none());
        assert!(refused(&unsubscribe("/stats/x"), true)
            .unwrap()
            .contains("--preview"));
        let clicks = "[tracking]\nclicks = true\n";
        assert!(refused(&format!("{}{clicks}", unsubscribe("/c/x")), false).is_some());
        assert!(refused(&unsubscribe("/c/x"), false).is_none());
        let both = |u: &str, s: &str| {
            format!(
                "{}[subscribe]\nurl = \"https://n.example.com{s}\"\n",
                unsubscribe(u)
            )
        };
        let e = refused(&both("/join", "/join"), false).unwrap();
        assert!(
            e.contains("[subscribe] url has the path /join, which [unsubscribe] url already uses"),
            "{e}"
        );
        let e = refused(&both("/join/confirm", "/join"), false).unwrap();
        assert!(e.contains("its confirmation link"), "{e}");
        assert!(refused(&both("/unsubscribe", "/subscribe"), true).is_none());
    }
}

#[cfg(test)]
mod words_tests {
    #[test]
    fn the_name_is_escaped_kept_whole_and_takes_its_particle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newsletter.toml");
        let text = "[newsletter]\nname = \"A&B 책\"\nfrom = \"N <a@example.com>\"\nlanguage = \"ko\"\n[subscribers]\nfile = \"s.toml\"\n";
        std::fs::write(&path, text).unwrap();
        let config = super::Config::load(&path).unwrap();
        let markup = super::said(&config, "{newsletter}{을} {address}, {newsletter}", "<x>");
        assert_eq!(
            markup.into_string(),
            "<span class=\"nl\">A&amp;B 책</span>을 &lt;x&gt;, <span class=\"nl\">A&amp;B 책</span>"
        );
    }
}

#[cfg(test)]
mod log_tests {
    #[test]
    fn paths_in_the_log_carry_no_address() {
        assert_eq!(super::loggable_path("/archive/48/"), "/archive/48/");
        assert_eq!(super::loggable_path("/x/a@example.com/y"), "/x/…/y");
        assert_eq!(super::loggable_path("/a%40example.com"), "/…");
        assert_eq!(super::loggable_path("/a\u{1b}b"), "/a?b");
    }
}
