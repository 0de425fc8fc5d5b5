//! The reader's own page, at the path of `[preferences] url`. Every
//! message links to it with the reader's address and a signed token
//! (`{{ preferences_url }}`); a GET only shows, every change is a POST
//! that goes through the list's one writer (see `list.rs`), like an
//! unsubscribe. Without a token the page asks for an address and mails
//! the link to it, answering every address alike. The page can also mail
//! the reader everything letterpress holds about them.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use maud::{html, Markup};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};

use super::list::{Change, Request};
use super::subscribe::Peer;
use super::{error_page, page, said, App};
use crate::config::Config;
use crate::list::{identity, Leaving, Status, Subscriber};
use crate::signup::confirm::{Confirmer, Letter};
use crate::signup::limits::{Admission, Limits};
use crate::signup::mailer::MailRequest;
use crate::signup::token::{self, Stamp};
use crate::words::{fill, preference_words, PreferenceWords};

/// What the page's mails need: the builder, the mailer, the limits.
pub struct Keeping {
    pub letters: Confirmer,
    pub mailer: mpsc::Sender<MailRequest>,
    /// One mail per address and kind per ten minutes, a cap per client.
    pub limits: Mutex<Limits>,
    /// Whether the first X-Forwarded-For hop names the client.
    pub trust_proxy: bool,
}

/// Mails one client may cause per hour through the page.
pub const PER_CLIENT_PER_HOUR: u32 = 10;

/// The path part of `[preferences] url`.
pub fn path(config: &Config) -> Option<String> {
    config
        .file
        .preferences
        .as_ref()
        .map(|p| super::url_path(&p.url))
}

/// The path of the "email me my link" form's POST.
pub fn link_path(path: &str) -> String {
    format!("{}/link", path.trim_end_matches('/'))
}

fn keeping(app: &App) -> &Keeping {
    app.keeping
        .as_ref()
        .expect("the preference routes exist only with [preferences]")
}

fn words(config: &Config) -> &'static PreferenceWords {
    preference_words(&config.newsletter().language)
}

/// The reader a link or form names, with its token.
#[derive(Deserialize, Default)]
pub struct Reader {
    e: Option<String>,
    t: Option<String>,
    /// What a POST asks: `leave` or `data`.
    a: Option<String>,
}

fn verified(app: &App, who: &Reader) -> Option<String> {
    let (email, token) = (who.e.as_deref()?, who.t.as_deref()?);
    crate::sign::verify_preferences(&app.secret, email, token).then(|| email.to_string())
}

/// The reader's entries as the list holds them now.
async fn entries(app: &App, email: &str) -> Result<Vec<Subscriber>, String> {
    let (done, wait) = oneshot::channel();
    app.list
        .send(Request::Look((identity(email), done)))
        .await
        .map_err(|_| "the list's writer stopped".to_string())?;
    wait.await
        .unwrap_or_else(|_| Err("the list's writer stopped".into()))
}

/// GET: the reader's page, or without a reader the form that mails the
/// link. Never changes anything.
pub async fn page_handler(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
    Query(who): Query<Reader>,
) -> Response {
    if query.as_deref().unwrap_or("").is_empty() {
        return ask(&app, StatusCode::OK, None);
    }
    let Some(email) = verified(&app, &who) else {
        return ask(
            &app,
            StatusCode::BAD_REQUEST,
            Some(words(&app.config).invalid_body),
        );
    };
    match entries(&app, &email).await {
        Ok(found) if found.iter().any(|s| s.status == Status::Active) => {
            reader_page(&app, &email, who.t.as_deref().unwrap_or(""), &found)
        }
        Ok(_) => not_listed(&app, &email),
        Err(e) => server_error(&app, &e),
    }
}

/// The page of an active reader: what they can change, leave, and ask for.
fn reader_page(app: &App, email: &str, token: &str, found: &[Subscriber]) -> Response {
    let config = &app.config;
    let w = words(config);
    let hidden = |action: &str| {
        html! {
            input type="hidden" name="e" value=(email);
            input type="hidden" name="t" value=(token);
            input type="hidden" name="a" value=(action);
        }
    };
    let name = found.iter().find_map(|s| s.name.as_deref()).unwrap_or("");
    page(
        config,
        StatusCode::OK,
        w.title,
        html! {
            h1 { (said(config, w.title, email)) }
            p { (said(config, w.intro, email)) }
            @if !name.is_empty() { p.small { (w.name_label) ": " (name) } }
            h2 { (w.leave_title) }
            p { (said(config, w.leave_body, email)) }
            form method="post" { (hidden("leave")) button type="submit" { (w.leave_button) } }
            h2 { (w.data_title) }
            p { (said(config, w.data_body, email)) }
            form method="post" { (hidden("data")) button type="submit" { (w.data_button) } }
        },
    )
}

/// The page for a link whose reader is no longer (or not) on the list.
fn not_listed(app: &App, email: &str) -> Response {
    let config = &app.config;
    let w = words(config);
    let form = config.file.subscribe.as_ref().map(|s| s.url.clone());
    let join = crate::words::words(&config.newsletter().language).form_title;
    page(
        config,
        StatusCode::OK,
        w.not_listed_title,
        html! {
            h1 { (said(config, w.not_listed_title, email)) }
            p { (said(config, w.not_listed_body, email)) }
            @if let Some(form) = form { p { a href=(form) { (said(config, join, "")) } } }
        },
    )
}

/// The "email me my link" form.
fn ask(app: &App, status: StatusCode, problem: Option<&str>) -> Response {
    let config = &app.config;
    let w = words(config);
    let stamp = token::form_stamp(&app.secret, now());
    let email_label = crate::words::words(&config.newsletter().language).email_label;
    let action = path(config).map(|p| link_path(&p)).unwrap_or_default();
    page(
        config,
        status,
        w.ask_title,
        html! {
            h1 { (said(config, w.ask_title, "")) }
            @if let Some(problem) = problem { p.problem role="alert" { (problem) } }
            p { (said(config, w.ask_body, "")) }
            form method="post" action=(action) {
                label for="email" { (email_label) }
                input #email type="email" name="email" required autocomplete="email" inputmode="email" maxlength="254";
                div.hp aria-hidden="true" {
                    label for="website" { "Website" }
                    input #website type="text" name="website" tabindex="-1" autocomplete="off";
                }
                input type="hidden" name="f" value=(stamp);
                button type="submit" { (w.ask_button) }
            }
        },
    )
}

fn message(app: &App, status: StatusCode, title: &str, body: Markup) -> Response {
    page(
        &app.config,
        status,
        title,
        html! { h1 { (said(&app.config, title, "")) } p { (body) } },
    )
}

fn server_error(app: &App, e: &str) -> Response {
    eprintln!("error: {}", super::loggable(e));
    error_page(&app.config)
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

/// The "email me my link" form as posted.
#[derive(Deserialize, Default)]
struct Asked {
    #[serde(default)]
    email: String,
    #[serde(default)]
    website: String,
    #[serde(default)]
    f: String,
}

/// POST of the "email me my link" form: the same answer for every
/// address; the link goes out only to a reader on the list, at most once
/// per ten minutes.
pub async fn link_post(
    State(app): State<Arc<App>>,
    peer: Option<Extension<Peer>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let w = words(&app.config);
    let asked: Asked = serde_urlencoded::from_str(&body).unwrap_or_default();
    if !asked.website.is_empty() {
        return ask(&app, StatusCode::BAD_REQUEST, Some(w.bad_input));
    }
    match token::check_form_stamp(&app.secret, &asked.f, now()) {
        Ok(()) => {}
        Err(Stamp::TooFast) => return ask(&app, StatusCode::BAD_REQUEST, Some(w.bad_input)),
        Err(Stamp::Missing | Stamp::Stale) => return ask(&app, StatusCode::OK, None),
    }
    let Ok(address) = crate::address::parse_address(asked.email.trim()) else {
        return ask(&app, StatusCode::BAD_REQUEST, Some(w.bad_input));
    };
    let client = client(keeping(&app), peer.map(|Extension(p)| p), &headers);
    let key = format!("link {}", identity(address.as_ref()));
    match admit(&app, &key, client) {
        Admission::Refused => return refused(&app),
        Admission::Quiet => return asked_page(&app, address.as_ref()),
        Admission::Send => {}
    }
    let listed = match entries(&app, address.as_ref()).await {
        Ok(found) => found.iter().any(|s| s.status == Status::Active),
        Err(e) => return server_error(&app, &e),
    };
    if listed {
        let link = crate::compose::values::preferences_url(
            &app.config,
            address.as_ref(),
            Some(&app.secret),
        )
        .unwrap_or_default();
        let say = |t: &str| fill(t, &app.config.newsletter().name, address.as_ref());
        let letter = Letter {
            purpose: "preferences",
            subject: say(w.link_subject),
            paragraphs: vec![say(w.link_intro)],
            button: Some((w.link_button.to_string(), link)),
            footnote: say(w.link_ignore),
            attachment: None,
        };
        if let Err(e) = mail(&app, &address, &letter).await {
            // The answer stays the same: it must not tell who reads.
            eprintln!(
                "error: a preference link was not sent: {}",
                super::loggable(&e)
            );
        }
    }
    asked_page(&app, address.as_ref())
}

fn asked_page(app: &App, address: &str) -> Response {
    let w = words(&app.config);
    message(
        app,
        StatusCode::OK,
        w.asked_title,
        said(&app.config, w.asked_body, address),
    )
}

fn refused(app: &App) -> Response {
    let w = crate::words::words(&app.config.newsletter().language);
    message(
        app,
        StatusCode::TOO_MANY_REQUESTS,
        w.refused_title,
        said(&app.config, w.refused_body, ""),
    )
}

fn admit(app: &App, key: &str, client: IpAddr) -> Admission {
    keeping(app)
        .limits
        .lock()
        .expect("limits")
        .check(key, client, std::time::Instant::now())
}

/// Who sent the request: the peer, or with `--trust-proxy` the first
/// X-Forwarded-For hop when it is an address.
fn client(keeping: &Keeping, peer: Option<Peer>, headers: &HeaderMap) -> IpAddr {
    super::subscribe::client_of(keeping.trust_proxy, peer, headers)
}

/// Builds and hands `letter` to the mailer; the relay's verdict.
async fn mail(app: &App, to: &lettre::Address, letter: &Letter) -> Result<(), String> {
    let k = keeping(app);
    let outgoing = k.letters.letter(to, letter).map_err(|e| format!("{e:#}"))?;
    let (done, wait) = oneshot::channel();
    match k.mailer.try_send((outgoing, done)) {
        Ok(()) => wait
            .await
            .unwrap_or_else(|_| Err("the mailer stopped".into())),
        Err(_) => Err("too many mails are waiting".into()),
    }
}

/// POST of the reader's page: `a=leave` unsubscribes from everything,
/// `a=data` mails the reader what letterpress holds about them.
pub async fn post(
    State(app): State<Arc<App>>,
    peer: Option<Extension<Peer>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let who: Reader = serde_urlencoded::from_str(&body).unwrap_or_default();
    let Some(email) = verified(&app, &who) else {
        let w = words(&app.config);
        return ask(&app, StatusCode::BAD_REQUEST, Some(w.invalid_body));
    };
    match who.a.as_deref() {
        Some("leave") => leave(&app, &email).await,
        Some("data") => {
            let client = client(keeping(&app), peer.map(|Extension(p)| p), &headers);
            send_data(&app, &email, client).await
        }
        _ => ask(
            &app,
            StatusCode::BAD_REQUEST,
            Some(words(&app.config).bad_input),
        ),
    }
}

/// Unsubscribes the reader from everything, as the one-click link does.
async fn leave(app: &App, email: &str) -> Response {
    let (done, wait) = oneshot::channel();
    let change = Change::Unsubscribe(Leaving::now(email));
    if app.list.send((change, done).into()).await.is_err() {
        return error_page(&app.config);
    }
    match wait.await {
        Ok(Ok(_)) => {
            let w = crate::words::words(&app.config.newsletter().language);
            message(
                app,
                StatusCode::OK,
                w.left_title,
                said(&app.config, w.left_body, email),
            )
        }
        _ => error_page(&app.config),
    }
}

/// Mails the reader everything letterpress holds about them: as text, and
/// as the JSON of `subscribers show --format json`, attached.
async fn send_data(app: &App, email: &str, client: IpAddr) -> Response {
    let w = words(&app.config);
    let Ok(address) = crate::address::parse_address(email) else {
        return ask(app, StatusCode::BAD_REQUEST, Some(w.bad_input));
    };
    let sent = || {
        message(
            app,
            StatusCode::OK,
            w.data_sent_title,
            said(&app.config, w.data_sent_body, email),
        )
    };
    match admit(app, &format!("data {}", identity(email)), client) {
        Admission::Refused => return refused(app),
        Admission::Quiet => return sent(),
        Admission::Send => {}
    }
    let config = app.config.clone();
    let asked = email.to_string();
    let held = tokio::task::spawn_blocking(move || {
        let held = crate::rights::gather(&config, &asked)?;
        let mut text = Vec::new();
        crate::rights::print(&held, &mut text)?;
        let json = serde_json::to_vec_pretty(&held)?;
        Ok::<_, anyhow::Error>((String::from_utf8_lossy(&text).into_owned(), json))
    })
    .await;
    let (text, json) = match held {
        Ok(Ok(held)) => held,
        Ok(Err(e)) => return server_error(app, &format!("{e:#}")),
        Err(e) => return server_error(app, &e.to_string()),
    };
    let say = |t: &str| fill(t, &app.config.newsletter().name, email);
    let letter = Letter {
        purpose: "data",
        subject: say(w.data_subject),
        paragraphs: vec![say(w.data_intro), text],
        button: None,
        footnote: say(w.data_footnote),
        attachment: Some(("letterpress-data.json".into(), json)),
    };
    match mail(app, &address, &letter).await {
        Ok(()) => sent(),
        Err(e) => server_error(app, &format!("a data export was not sent: {e}")),
    }
}
