//! The reader's own page, at the path of `[preferences] url`. Every
//! message links to it with the reader's address and a signed token
//! (`{{ preferences_url }}`); a GET only shows, every change is a POST
//! that goes through the list's one writer (see `list.rs`), like an
//! unsubscribe. Without a token the page asks for an address and mails
//! the link to it, answering every address alike. On the page a reader
//! saves their name, topics (`[[topics]]`; other tags stay) and a pause of
//! a few weeks as one `Change::Preferences`, leaves one topic or
//! everything, ends a pause, and can have everything letterpress holds
//! about them mailed to them.

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
use crate::list::changes::Preferences;
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
    /// What a POST asks: `save`, `drop`, `resume`, `leave` or `data`.
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
            let current = Current::of(&found, now());
            let token = who.t.as_deref().unwrap_or("");
            let shown = Shown::of(&current);
            reader_page(&app, StatusCode::OK, &email, token, &current, &shown, None)
        }
        Ok(_) => not_listed(&app, &email),
        Err(e) => server_error(&app, &e),
    }
}

/// What the list holds about a reader now, as the page shows it.
struct Current {
    name: String,
    /// Every tag of the reader's active entries, each once, in order.
    tags: Vec<String>,
    /// The end of a pause still running.
    paused: Option<jiff::Timestamp>,
}

impl Current {
    fn of(found: &[Subscriber], now: jiff::Timestamp) -> Current {
        let active: Vec<&Subscriber> = found
            .iter()
            .filter(|s| s.status == Status::Active)
            .collect();
        let mut tags: Vec<String> = Vec::new();
        for tag in active.iter().flat_map(|s| &s.tags) {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
        Current {
            name: active
                .iter()
                .find_map(|s| s.name.as_deref())
                .unwrap_or("")
                .to_string(),
            tags,
            paused: active
                .iter()
                .filter_map(|s| s.paused_until.as_deref()?.parse::<jiff::Timestamp>().ok())
                .filter(|until| *until > now)
                .max(),
        }
    }
}

/// The pauses a reader may choose, in weeks.
pub const PAUSE_WEEKS: [i64; 3] = [2, 4, 8];

/// The pause chosen on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pause {
    /// A running pause stays as it is.
    Keep,
    /// No pause: receive from now on.
    Off,
    /// A pause of this many weeks from now.
    Weeks(i64),
}

impl Pause {
    fn read(value: &str) -> Option<Pause> {
        match value {
            "keep" => Some(Pause::Keep),
            "0" => Some(Pause::Off),
            _ => value
                .parse()
                .ok()
                .filter(|weeks| PAUSE_WEEKS.contains(weeks))
                .map(Pause::Weeks),
        }
    }

    fn value(self) -> String {
        match self {
            Pause::Keep => "keep".into(),
            Pause::Off => "0".into(),
            Pause::Weeks(weeks) => weeks.to_string(),
        }
    }
}

/// What the form shows: the list's values, or what the reader posted.
struct Shown {
    name: String,
    ticked: Vec<String>,
    pause: Pause,
}

impl Shown {
    fn of(current: &Current) -> Shown {
        Shown {
            name: current.name.clone(),
            ticked: current.tags.clone(),
            pause: match current.paused {
                Some(_) => Pause::Keep,
                None => Pause::Off,
            },
        }
    }
}

/// `at` as the newsletter's readers read a time: in its time zone.
fn local(config: &Config, at: jiff::Timestamp) -> String {
    at.to_zoned(config.time_zone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// The reader's own page's address, with their token.
fn own_link(config: &Config, email: &str, token: &str) -> String {
    let query = serde_urlencoded::to_string([("e", email), ("t", token)]).unwrap_or_default();
    format!("{}?{query}", path(config).unwrap_or_default())
}

/// The fields every form of the reader's page carries: who, the token,
/// and what the form asks.
fn hidden(email: &str, token: &str, action: &str) -> Markup {
    html! {
        input type="hidden" name="e" value=(email);
        input type="hidden" name="t" value=(token);
        input type="hidden" name="a" value=(action);
    }
}

/// The page of an active reader: what they can change, leave, and ask
/// for; with `problem`, why a POST changed nothing.
fn reader_page(
    app: &App,
    status: StatusCode,
    email: &str,
    token: &str,
    current: &Current,
    shown: &Shown,
    problem: Option<&str>,
) -> Response {
    let config = &app.config;
    let w = words(config);
    let until = current.paused.map(|at| local(config, at));
    page(
        config,
        status,
        w.title,
        html! {
            h1 { (said(config, w.title, email)) }
            p { (said(config, w.intro, email)) }
            @if let Some(problem) = problem { p.problem role="alert" { (problem) } }
            @if let Some(until) = &until {
                div.paused {
                    p { (w.paused_until.replace("{date}", until)) }
                    form method="post" { (hidden(email, token, "resume")) button.small-button type="submit" { (w.resume) } }
                }
            }
            form method="post" {
                (hidden(email, token, "save"))
                label for="name" { (w.name_label) }
                input #name type="text" name="name" autocomplete="name" maxlength="150" value=(shown.name);
                (topic_boxes(config, current, shown))
                (pause_choices(config, shown, until.as_deref()))
                button type="submit" { (w.save) }
            }
            // The "leave this topic" buttons above belong to this form.
            form #drop method="post" { (hidden(email, token, "drop")) }
            h2 { (w.leave_title) }
            p { (said(config, w.leave_body, email)) }
            form method="post" { (hidden(email, token, "leave")) button type="submit" { (w.leave_button) } }
            h2 { (w.data_title) }
            p { (said(config, w.data_body, email)) }
            form method="post" { (hidden(email, token, "data")) button type="submit" { (w.data_button) } }
        },
    )
}

/// A checkbox per topic, each the reader carries with its "leave this
/// topic" button; nothing without `[[topics]]`.
fn topic_boxes(config: &Config, current: &Current, shown: &Shown) -> Markup {
    let w = words(config);
    let language = &config.newsletter().language;
    let topics = config.topics();
    html! {
        @if !topics.is_empty() {
            fieldset.topics {
                legend { (w.topics_label) }
                @for (i, topic) in topics.iter().enumerate() {
                    @let id = format!("topic-{i}");
                    @let carried = current.tags.contains(&topic.tag);
                    div.topic {
                        input id=(id) type="checkbox" name="topic" value=(topic.tag) checked[shown.ticked.contains(&topic.tag)];
                        div.what {
                            label for=(id) {
                                (topic.name(language))
                                @if let Some(description) = topic.description(language) {
                                    span.small { (description) }
                                }
                            }
                            @if carried {
                                button.small-button.drop type="submit" form="drop" name="topic" value=(topic.tag) { (w.drop_topic) }
                            }
                        }
                    }
                }
                p.small { (w.topics_none) }
            }
        }
    }
}

/// The pause: keep receiving (or stay paused until `until`), or 2, 4 or 8
/// weeks.
fn pause_choices(config: &Config, shown: &Shown, until: Option<&str>) -> Markup {
    let w = words(config);
    let choice = |id: &str, pause: Pause, label: &str| {
        html! {
            div.topic {
                input id=(id) type="radio" name="pause" value=(pause.value()) checked[shown.pause == pause];
                label for=(id) { (label) }
            }
        }
    };
    html! {
        fieldset.topics.pause {
            legend { (w.pause_label) }
            @if let Some(until) = until {
                (choice("pause-keep", Pause::Keep, &w.pause_keep.replace("{date}", until)))
                (choice("pause-0", Pause::Off, w.resume))
            } @else {
                (choice("pause-0", Pause::Off, w.pause_none))
            }
            @for weeks in PAUSE_WEEKS {
                (choice(&format!("pause-{weeks}"), Pause::Weeks(weeks), &w.pause_weeks.replace("{weeks}", &weeks.to_string())))
            }
        }
    }
}

/// The markup the preference page adds to the shared style: the small
/// buttons beside a topic and the pause notice.
pub fn style() -> Markup {
    html! {
        style { ".topic .what{min-width:0;flex:1}.topic .what label{display:block}button.small-button{margin:.3rem 0 0;width:auto;font-size:.9rem;padding:.35rem .8rem;background:#fff;color:#1a56db;border:1px solid #1a56db}.paused{border-left:4px solid #1a56db;padding:.2rem 0 .6rem .8rem;margin:1rem 0}.paused p{margin:.2rem 0}.pause{margin-top:1.4rem}" }
    }
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

/// POST of the reader's page: `a=save` records the name, topics and
/// pause of the form, `a=drop` leaves the one `topic`, `a=resume` ends a
/// pause, `a=leave` unsubscribes from everything, `a=data` mails the
/// reader what letterpress holds about them.
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
    let token = who.t.as_deref().unwrap_or("");
    match who.a.as_deref() {
        Some(action @ ("save" | "drop" | "resume")) => {
            change(&app, &email, token, action, &body).await
        }
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

/// The save form as posted (`topic` once per box ticked).
#[derive(Default)]
struct Saved {
    name: String,
    topics: Vec<String>,
    pause: String,
}

impl Saved {
    fn read(body: &str) -> Saved {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(body).unwrap_or_default();
        let mut saved = Saved::default();
        for (key, value) in pairs {
            match key.as_str() {
                "name" => saved.name = value,
                "pause" => saved.pause = value,
                // One more than there can be topics is already refused.
                "topic"
                    if saved.topics.len() <= crate::config::MAX_TOPICS
                        && !saved.topics.contains(&value) =>
                {
                    saved.topics.push(value)
                }
                _ => {}
            }
        }
        saved
    }
}

/// A POST that changes the reader's preferences: checked against the
/// config and the list, recorded as one change, answered with the saved
/// page; anything that does not fit answers 400 and changes nothing.
async fn change(app: &App, email: &str, token: &str, action: &str, body: &str) -> Response {
    let config = &app.config;
    let found = match entries(app, email).await {
        Ok(found) if found.iter().any(|s| s.status == Status::Active) => found,
        Ok(_) => return not_listed(app, email),
        Err(e) => return server_error(app, &e),
    };
    let at = crate::list::changes::now();
    let current = Current::of(&found, at);
    let saved = Saved::read(body);
    let preferences = match decide(config, email, action, &saved, &current, at) {
        Ok(preferences) => preferences,
        Err((shown, problem)) => {
            let status = StatusCode::BAD_REQUEST;
            return reader_page(app, status, email, token, &current, &shown, Some(problem));
        }
    };
    let (done, wait) = oneshot::channel();
    let change = Change::Preferences(preferences.clone());
    if app.list.send((change, done).into()).await.is_err() {
        return error_page(config);
    }
    match wait.await {
        Ok(Ok(_)) => saved_page(app, email, token, &current, &preferences),
        _ => error_page(config),
    }
}

/// What a refused POST shows again, and why it was refused.
type Refusal = (Shown, &'static str);

/// The change a POST asks for, or why it is refused.
fn decide(
    config: &Config,
    email: &str,
    action: &str,
    saved: &Saved,
    current: &Current,
    at: jiff::Timestamp,
) -> Result<Preferences, Refusal> {
    let w = words(config);
    let mut preferences = Preferences {
        email: email.to_string(),
        at,
        tags: None,
        name: None,
        paused_until: None,
        consent_notified_at: None,
    };
    match action {
        "resume" => preferences.paused_until = Some(None),
        "drop" => {
            let is_topic = |tag: &str| config.topics().iter().any(|t| t.tag == tag);
            let [tag] = &saved.topics[..] else {
                return Err((Shown::of(current), w.bad_topic));
            };
            if !is_topic(tag) {
                return Err((Shown::of(current), w.bad_topic));
            }
            let kept = current.tags.iter().filter(|t| *t != tag).cloned();
            preferences.tags = Some(kept.collect());
        }
        _ => save(config, email, saved, current, &mut preferences)?,
    }
    if preferences.check().is_err() {
        return Err((Shown::of(current), w.bad_input));
    }
    Ok(preferences)
}

/// The save form's name, topics and pause, into `preferences`.
fn save(
    config: &Config,
    email: &str,
    saved: &Saved,
    current: &Current,
    preferences: &mut Preferences,
) -> Result<(), Refusal> {
    let w = words(config);
    let is_topic = |tag: &str| config.topics().iter().any(|t| t.tag == tag);
    let shown = Shown {
        name: saved.name.clone(),
        ticked: saved.topics.clone(),
        pause: Pause::read(&saved.pause).unwrap_or(Pause::Off),
    };
    let Ok((_, name)) = crate::signup::check_input(email, &saved.name) else {
        return Err((shown, w.bad_name));
    };
    if saved.topics.iter().any(|t| !is_topic(t)) {
        let ticked = current.tags.clone();
        return Err((Shown { ticked, ..shown }, w.bad_topic));
    }
    let Some(pause) = Pause::read(&saved.pause) else {
        return Err((shown, w.bad_input));
    };
    preferences.name = Some(name);
    if !config.topics().is_empty() {
        // The tags that are not topics stay; the topics are as ticked, in
        // the config's order.
        let mut tags: Vec<String> = current
            .tags
            .iter()
            .filter(|t| !is_topic(t))
            .cloned()
            .collect();
        let ticked = config
            .topics()
            .iter()
            .filter(|t| saved.topics.contains(&t.tag));
        tags.extend(ticked.map(|t| t.tag.clone()));
        preferences.tags = Some(tags);
    }
    preferences.paused_until = match pause {
        Pause::Keep => None,
        Pause::Off => Some(None),
        Pause::Weeks(weeks) => {
            let hours = jiff::SignedDuration::from_hours(weeks * 7 * 24);
            match preferences.at.checked_add(hours) {
                Ok(until) => Some(Some(until)),
                Err(_) => return Err((shown, w.bad_input)),
            }
        }
    };
    Ok(())
}

/// The answer to a saved change: what now holds, and the way back.
fn saved_page(
    app: &App,
    email: &str,
    token: &str,
    before: &Current,
    made: &Preferences,
) -> Response {
    let config = &app.config;
    let w = words(config);
    let tags = made.tags.as_ref().unwrap_or(&before.tags);
    let no_topic =
        !config.topics().is_empty() && !config.topics().iter().any(|t| tags.contains(&t.tag));
    let paused = match made.paused_until {
        Some(until) => until,
        None => before.paused,
    };
    page(
        config,
        StatusCode::OK,
        w.saved_title,
        html! {
            h1 { (said(config, w.saved_title, email)) }
            p { (said(config, w.saved_body, email)) }
            @if let Some(until) = paused {
                p { (w.paused_until.replace("{date}", &local(config, until))) }
            }
            @if no_topic { p role="note" { (w.topics_none) } }
            p { a href=(own_link(config, email, token)) { (w.back) } }
        },
    )
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
