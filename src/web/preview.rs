//! `serve --preview`: the drafts in `issues/` as email (phone and desktop
//! width side by side), plain text and `check` findings, for any sample
//! reader; the page reloads itself when a file of the project is saved.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use notify::{RecursiveMode, Watcher};
use serde::Deserialize;
use tokio::sync::broadcast;

use crate::check::{check_issue, Scope};
use crate::compose::values;
use crate::compose::Composed;
use crate::config::Config;
use crate::project::Project;

/// File watching for the preview.
pub struct Preview {
    changes: broadcast::Sender<u64>,
    /// Counts the changes: a page knows the count it was made at, so a
    /// change that happens while it loads is not missed.
    generation: Arc<std::sync::atomic::AtomicU64>,
    _watcher: notify::RecommendedWatcher,
}

impl Preview {
    /// Watches the issues, the templates and the config folder.
    pub fn watch(config: &Config) -> Result<Preview> {
        let (changes, _) = broadcast::channel(64);
        let sender = changes.clone();
        let generation = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = generation.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if event
                    .is_ok_and(|e| e.kind.is_modify() || e.kind.is_create() || e.kind.is_remove())
                {
                    let now = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    let _ = sender.send(now);
                }
            })?;
        let project = if config.project_dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            config.project_dir.clone()
        };
        for dir in [
            crate::config::issues_dir(&project),
            project.join("templates"),
            config.dir(),
        ] {
            if dir.is_dir() {
                watcher.watch(&dir, RecursiveMode::Recursive)?;
            }
        }
        Ok(Preview {
            changes,
            generation,
            _watcher: watcher,
        })
    }

    fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// What the preview handlers need.
pub struct PreviewState {
    /// The config file, reloaded for every request (it may change too).
    pub config_path: PathBuf,
    /// The watcher.
    pub preview: Preview,
    /// The event streams that may be open at once ([`MAX_STREAMS`]).
    pub streams: Arc<tokio::sync::Semaphore>,
}

/// Event streams open at once; beyond them `/events` answers 503.
pub const MAX_STREAMS: usize = 64;

/// How long one event stream stays open; then it ends and the browser
/// opens it again (after [`RECONNECT`]), and the page reloads if a change
/// happened in between (the first event is the change count).
pub const STREAM_LIFETIME: std::time::Duration = std::time::Duration::from_secs(60);

/// What the browser waits before it opens an ended stream again.
const RECONNECT: std::time::Duration = std::time::Duration::from_secs(1);

#[derive(Deserialize)]
pub struct As {
    #[serde(rename = "as")]
    reader: Option<String>,
}

/// The issue folders under `issues/`: the only names the preview serves.
pub(super) fn drafts(config: &Config) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(config.issues_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("issue.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

pub async fn index(State(state): State<Arc<PreviewState>>) -> Response {
    let config = match Config::load(&state.config_path) {
        Ok(c) => c,
        Err(e) => return error_panel("Drafts", &format!("{e:#}"), None),
    };
    shell(
        "Drafts",
        html! { h1 { "Drafts" } ul { @for name in drafts(&config) { li { a href=(format!("/preview/{}", crate::percent::encode(&name))) { (name) } } } } },
        None,
    )
}

/// The draft `name` with the project around it, when `name` is a draft.
fn load(state: &PreviewState, name: &str) -> Result<Option<Project>> {
    let config = Config::load(&state.config_path)?;
    if !drafts(&config).iter().any(|d| d == name) {
        return Ok(None);
    }
    let dir = config.issues_dir().join(name);
    Project::with_config(config, &dir).map(Some)
}

/// The sample reader's address and merge values: `?as=` when it is in the
/// list, else the first reader the issue reaches.
fn values(project: &Project, wanted: Option<&str>) -> (String, crate::issue::tags::Values) {
    let sample = project.sample(wanted);
    let values = values::values(
        &project.config,
        &project.issue,
        &sample.email,
        sample.name.as_deref(),
        None,
    );
    (sample.email, values)
}

pub async fn page(
    State(state): State<Arc<PreviewState>>,
    UrlPath(name): UrlPath<String>,
    Query(who): Query<As>,
) -> Response {
    // Read before the files: a change from here on reloads the page.
    let generation = state.preview.generation();
    let live = Some((name.as_str(), generation));
    let loaded = match load(&state, &name) {
        Ok(Some(l)) => l,
        Ok(None) => return missing(&state),
        Err(e) => return error_panel(&name, &format!("{e:#}"), live),
    };
    let composed = match Composed::new(&loaded.config, &loaded.theme, &loaded.issue) {
        Ok(c) => c,
        Err(e) => return error_panel(&name, &format!("{e:#}"), live),
    };
    let (email, values) = values(&loaded, who.reader.as_deref());
    let body = draft(&loaded, &composed, &values, &name, &email, generation);
    shell(composed.subject(), body, live)
}

/// The page of a draft: the reader picker, the email at phone and
/// desktop width, the plain text and the findings of `check`.
fn draft(
    loaded: &Project,
    composed: &Composed<'_>,
    values: &crate::issue::tags::Values,
    name: &str,
    email: &str,
    generation: u64,
) -> Markup {
    let text = composed.text(values);
    let (config, issue) = (&loaded.config, &loaded.issue);
    let findings = check_issue(config, issue, &loaded.theme, &loaded.list, Scope::All)
        .map(|r| r.human())
        .unwrap_or_else(|e| format!("{e:#}"));
    let readers: Vec<&str> = loaded
        .list
        .recipients(&issue.audience, &[])
        .iter()
        .take(100)
        .map(|e| e.email())
        .collect();
    let src = format!(
        "/preview/{}/email.html?as={}&v={generation}",
        crate::percent::encode(name),
        crate::percent::encode(email)
    );
    html! {
        header {
            h1 { (composed.subject()) }
            form method="get" {
                label { "Reader " select name="as" onchange="this.form.submit()" {
                    @for r in &readers { option value=(r) selected[*r == email] { (r) } }
                } }
            }
        }
        div.frames {
            figure { figcaption { "375 px" } iframe width="375" height="1400" src=(src) title="phone" {} }
            figure { figcaption { "800 px" } iframe width="800" height="1400" src=(src) title="desktop" {} }
            figure { figcaption { "plain text" } pre.text { (text) } }
        }
        h2 { "check" }
        pre.findings { (findings) }
    }
}

pub async fn email(
    State(state): State<Arc<PreviewState>>,
    UrlPath(name): UrlPath<String>,
    Query(who): Query<As>,
) -> Response {
    let loaded = match load(&state, &name) {
        Ok(Some(l)) => l,
        Ok(None) => return missing(&state),
        Err(e) => return error_panel(&name, &format!("{e:#}"), None),
    };
    match Composed::new(&loaded.config, &loaded.theme, &loaded.issue) {
        Ok(composed) => {
            Html(composed.html(&values(&loaded, who.reader.as_deref()).1)).into_response()
        }
        Err(e) => error_panel(&name, &format!("{e:#}"), None),
    }
}

/// An image of a draft, at the path its email refers to it by: only the
/// images the draft shows.
pub async fn image(
    State(state): State<Arc<PreviewState>>,
    UrlPath((name, file)): UrlPath<(String, String)>,
) -> Response {
    let not_found = || missing(&state);
    let config = match Config::load(&state.config_path) {
        Ok(c) => c,
        Err(e) => return error_panel(&name, &format!("{e:#}"), None),
    };
    if !drafts(&config).contains(&name) {
        return not_found();
    }
    let issue = match crate::issue::Issue::load(&config.issues_dir().join(&name)) {
        Ok(issue) => issue,
        Err(e) => return error_panel(&name, &format!("{e:#}"), None),
    };
    match issue.local_image(&file) {
        Some(image) => no_store(super::archive::image_response(image)),
        None => not_found(),
    }
}

/// The 404 page of serve, in the newsletter's language.
pub(super) fn missing(state: &PreviewState) -> Response {
    match Config::load(&state.config_path) {
        Ok(config) => no_store(super::not_found(&config)),
        Err(_) => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// Server-sent events: the change count now, then again after every
/// change, for at most [`STREAM_LIFETIME`]; at most [`MAX_STREAMS`] open.
pub async fn events(State(state): State<Arc<PreviewState>>) -> Response {
    match change_stream(state, STREAM_LIFETIME) {
        Some(stream) => stream.into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(axum::http::header::RETRY_AFTER, "10")],
            "too many previews are open",
        )
            .into_response(),
    }
}

/// The change counts for `lifetime`, or none when [`MAX_STREAMS`] are open.
fn change_stream(
    state: Arc<PreviewState>,
    lifetime: std::time::Duration,
) -> Option<Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>>> {
    let permit = Arc::clone(&state.streams).try_acquire_owned().ok()?;
    let ends = tokio::time::Instant::now() + lifetime;
    let receiver = state.preview.changes.subscribe();
    let now = state.preview.generation();
    let first =
        futures_util::stream::once(
            async move { Ok::<_, Infallible>(change(now).retry(RECONNECT)) },
        );
    // The permit goes with the stream: dropped when it ends or the
    // connection closes.
    let later = futures_util::stream::unfold(
        (receiver, state, permit),
        move |(mut receiver, state, permit)| async move {
            let n = match tokio::time::timeout_at(ends, receiver.recv()).await {
                Ok(Ok(n)) => n,
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => state.preview.generation(),
                Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => return None,
            };
            Some((Ok(change(n)), (receiver, state, permit)))
        },
    );
    let stream = futures_util::StreamExt::chain(first, later);
    Some(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn change(generation: u64) -> Event {
    Event::default()
        .event("change")
        .data(generation.to_string())
}

/// A broken file: a readable panel instead of a blank page, and the page
/// still reloads when the file is fixed.
fn error_panel(title: &str, error: &str, issue: Option<(&str, u64)>) -> Response {
    shell(
        title,
        html! { div.error { h2 { "This draft does not build" } pre { (error) } p { "Fix the file and save: this page reloads by itself." } } },
        issue,
    )
}

/// Reloads the page when the change count differs from the page's own.
const RELOAD_SCRIPT: &str = "const me = document.currentScript.dataset; const events = new EventSource(me.events); events.addEventListener('change', e => { if (e.data !== me.generation) { events.close(); location.reload(); } }); addEventListener('pagehide', () => events.close());";

fn shell(title: &str, body: Markup, issue: Option<(&str, u64)>) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) " · letterpress preview" }
                style { (PreEscaped("body{font-family:-apple-system,'Segoe UI','Apple SD Gothic Neo',sans-serif;margin:1rem;background:#f6f7f9;color:#1f2328}.frames{display:flex;gap:1rem;align-items:flex-start;overflow-x:auto}figure{margin:0}figcaption{font-size:.8rem;color:#5f6670}iframe{border:1px solid #d0d7de;background:#fff}pre.text{width:42em;white-space:pre;background:#fff;border:1px solid #d0d7de;padding:.5rem;margin:0;font-size:12px;overflow:auto;max-height:1400px}.error{background:#ffebe9;border:1px solid #ff8182;padding:1rem;border-radius:6px}.findings{background:#fff;border:1px solid #d0d7de;padding:.5rem}")) }
            }
            body {
                main { (body) }
                // The script is a constant; the issue's name and the change
                // count reach it as escaped attributes, never as code.
                @if let Some((issue, generation)) = issue {
                    script data-events=(format!("/preview/{}/events", crate::percent::encode(issue))) data-generation=(generation) {
                        (PreEscaped(RELOAD_SCRIPT))
                    }
                }
            }
        }
    };
    no_store(Html(markup.into_string()))
}

/// Drafts change under the browser: never let it reuse a copy.
fn no_store(response: impl IntoResponse) -> Response {
    ([(axum::http::header::CACHE_CONTROL, "no-store")], response).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn event_streams_are_capped_and_each_ends_after_its_lifetime() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newsletter.toml");
        let text = "[newsletter]\nname = \"N\"\nfrom = \"N <a@example.com>\"\n[subscribers]\nfile = \"s.toml\"\n";
        std::fs::write(&path, text).unwrap();
        let config = Config::load(&path).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let state = Arc::new(PreviewState {
                config_path: path.clone(),
                preview: Preview::watch(&config).unwrap(),
                streams: Arc::new(tokio::sync::Semaphore::new(2)),
            });
            let short = change_stream(Arc::clone(&state), Duration::from_millis(200)).unwrap();
            let _long = change_stream(Arc::clone(&state), Duration::from_secs(60)).unwrap();
            assert!(change_stream(Arc::clone(&state), Duration::from_secs(60)).is_none());
            let body = short.into_response().into_body();
            let read = axum::body::to_bytes(body, 1 << 20);
            let bytes = tokio::time::timeout(Duration::from_secs(10), read)
                .await
                .expect("the stream did not end after its lifetime")
                .unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                text.contains("event: change") && text.contains("retry: 1000"),
                "{text}"
            );
            // Its place is free again.
            assert!(change_stream(Arc::clone(&state), Duration::from_secs(60)).is_some());
        });
    }
}
