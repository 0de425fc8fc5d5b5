//! The subscribe form (the path of `[subscribe] url`) and its confirmation
//! link (`<path>/confirm`). Posting the form never reads or writes the
//! list: it sends one confirmation mail and answers the same page whatever
//! the address's state. GET of the link only asks; POST writes the reader.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use maud::{html, Markup};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};

use super::list::Change;
use super::{page, said, App};
use crate::erasure::Erasures;
use crate::list::{identity, Joined, Source};
use crate::signup::confirm::Confirmer;
use crate::signup::limits::{Admission, Limits};
use crate::signup::token::{self, Stamp};
use crate::signup::{self, mailer, Invalid};
use crate::words::{fill, Words};

/// What the subscribe routes share.
pub struct Joining {
    pub confirmer: Confirmer,
    pub limits: Mutex<Limits>,
    pub mailer: mpsc::Sender<mailer::MailRequest>,
    pub welcome: Option<std::sync::mpsc::SyncSender<String>>,
    /// Whether the first X-Forwarded-For hop names the client.
    pub trust_proxy: bool,
    pub words: &'static Words,
}

/// The peer address of a connection, put on each of its requests.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

#[derive(Default)]
struct Form {
    email: String,
    name: String,
    /// The honeypot: people never see it, form-filling bots fill it in.
    website: String,
    /// The stamp of when the form was served.
    f: String,
    /// The tags of the topics ticked, each once.
    topics: Vec<String>,
}

impl Form {
    /// The fields of a posted form (`topic` may come once per box ticked).
    fn read(body: &str) -> Form {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(body).unwrap_or_default();
        let mut form = Form::default();
        for (key, value) in pairs {
            match key.as_str() {
                "email" => form.email = value,
                "name" => form.name = value,
                "website" => form.website = value,
                "f" => form.f = value,
                // One more than there can be topics is already refused.
                "topic"
                    if form.topics.len() <= crate::config::MAX_TOPICS
                        && !form.topics.contains(&value) =>
                {
                    form.topics.push(value)
                }
                _ => {}
            }
        }
        form
    }
}

#[derive(Deserialize, Default)]
pub struct Link {
    #[serde(default)]
    t: String,
    /// On the confirm page: the name as the reader wants it (they may
    /// correct what the form was given).
    name: Option<String>,
}

fn joining(app: &App) -> &Joining {
    app.joining
        .as_ref()
        .expect("routes exist only with [subscribe]")
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

/// GET: the form.
pub async fn form_page(State(app): State<Arc<App>>) -> Response {
    form(&app, StatusCode::OK, &Form::default(), None, false)
}

/// The form with `values` filled in; `more` when it asks to press once
/// more (a form posted from elsewhere).
fn form(
    app: &App,
    status: StatusCode,
    values: &Form,
    problem: Option<&str>,
    more: bool,
) -> Response {
    let w = joining(app).words;
    let say = |t: &str| fill(t, &app.config.newsletter().name, "");
    let stamp = token::form_stamp(&app.secret, now());
    let (title, intro) = match more {
        true => (w.more_title.to_string(), w.more_body),
        false => (say(w.form_title), w.form_intro),
    };
    page(
        &app.config,
        status,
        &title,
        html! {
            h1 { (said(&app.config, &title, "")) }
            p { (intro) }
            @if let Some(problem) = problem {
                p.problem role="alert" { (problem) }
            }
            form method="post" {
                label for="email" { (w.email_label) }
                input #email type="email" name="email" required autocomplete="email" inputmode="email" maxlength="254" value=(values.email);
                label for="name" { (w.name_label) }
                input #name type="text" name="name" autocomplete="name" maxlength="150" value=(values.name);
                (topic_boxes(app, values))
                div.hp aria-hidden="true" {
                    label for="website" { "Website" }
                    input #website type="text" name="website" tabindex="-1" autocomplete="off";
                }
                input type="hidden" name="f" value=(stamp);
                button type="submit" { (w.submit) }
            }
            p.small { (w.privacy) }
        },
    )
}

/// A checkbox for each of `[[topics]]`, labelled in the newsletter's
/// language, ticked as `values` has them; nothing when there are none.
fn topic_boxes(app: &App, values: &Form) -> Markup {
    let topics = app.config.topics();
    if topics.is_empty() {
        return html! {};
    }
    let w = joining(app).words;
    let language = &app.config.newsletter().language;
    let defaults = app.config.default_topics();
    let by_default: Vec<&str> = topics
        .iter()
        .filter(|t| defaults.contains(&t.tag))
        .map(|t| t.name(language))
        .collect();
    html! {
        fieldset.topics {
            legend { (w.topics_legend) }
            @for (i, topic) in topics.iter().enumerate() {
                @let id = format!("topic-{i}");
                div.topic {
                    input id=(id) type="checkbox" name="topic" value=(topic.tag) checked[values.topics.contains(&topic.tag)];
                    label for=(id) {
                        (topic.name(language))
                        @if let Some(description) = topic.description(language) {
                            span.small { (description) }
                        }
                    }
                }
            }
            @if !by_default.is_empty() {
                p.small { (w.topics_hint) " " (by_default.join(", ")) }
            }
        }
    }
}

fn message(app: &App, status: StatusCode, title: &str, body: &str) -> Response {
    page(
        &app.config,
        status,
        title,
        html! { h1 { (said(&app.config, title, "")) } p { (said(&app.config, body, "")) } },
    )
}

fn refused(app: &App, status: StatusCode) -> Response {
    let w = joining(app).words;
    message(app, status, w.refused_title, w.refused_body)
}

/// Who sent the request: the peer, or with `--trust-proxy` the first
/// X-Forwarded-For hop when it is an address.
fn client(joining: &Joining, peer: Option<Peer>, headers: &HeaderMap) -> IpAddr {
    client_of(joining.trust_proxy, peer, headers)
}

/// The client of a request: the peer, or when `trust_proxy` the first
/// X-Forwarded-For hop when it is an address.
pub(super) fn client_of(trust_proxy: bool, peer: Option<Peer>, headers: &HeaderMap) -> IpAddr {
    let peer = peer.map_or(IpAddr::from([0, 0, 0, 0]), |p| p.0.ip());
    if !trust_proxy {
        return peer;
    }
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|hop| hop.trim().parse().ok())
        .unwrap_or(peer)
}

/// POST: checks the form, then sends one confirmation mail.
pub async fn form_post(
    State(app): State<Arc<App>>,
    peer: Option<Extension<Peer>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let j = joining(&app);
    let submitted = Form::read(&body);
    if let Some(answer) = turned_away(&app, &submitted) {
        return answer;
    }
    let (address, name) = match signup::check_input(&submitted.email, &submitted.name) {
        Ok(checked) => checked,
        Err(_) => return mistaken(&app, &submitted),
    };
    let Ok(topics) = signup::chosen_topics(&app.config, &submitted.topics) else {
        // Only a changed form offers a topic that is not one.
        let kept = Form {
            topics: Vec::new(),
            ..submitted
        };
        return form(
            &app,
            StatusCode::BAD_REQUEST,
            &kept,
            Some(j.words.bad_topic),
            false,
        );
    };
    let key = identity(address.as_ref());
    let client = client(j, peer.map(|Extension(p)| p), &headers);
    let verdict = j
        .limits
        .lock()
        .expect("limits")
        .check(&key, client, std::time::Instant::now());
    match verdict {
        Admission::Refused => return refused(&app, StatusCode::TOO_MANY_REQUESTS),
        Admission::Quiet => return sent(&app, address.as_ref()),
        Admission::Send => {}
    }
    match send_confirmation(&app, &address, name, &topics).await {
        Ok(()) => sent(&app, address.as_ref()),
        Err(e) => {
            eprintln!(
                "error: a confirmation mail was not sent: {}",
                super::loggable(&e)
            );
            j.limits.lock().expect("limits").forget(&key);
            let w = j.words;
            message(
                &app,
                StatusCode::SERVICE_UNAVAILABLE,
                w.refused_title,
                w.failed_body,
            )
        }
    }
}

/// The honeypot and the form's stamp: the answer to a bot, or to a form
/// posted from elsewhere or left open for a day; `None` to go on.
fn turned_away(app: &App, submitted: &Form) -> Option<Response> {
    if !submitted.website.is_empty() {
        return Some(refused(app, StatusCode::BAD_REQUEST));
    }
    match token::check_form_stamp(&app.secret, &submitted.f, now()) {
        Ok(()) => None,
        Err(Stamp::TooFast) => Some(refused(app, StatusCode::BAD_REQUEST)),
        // A form posted from another site, or one left open for a day:
        // this server's own form, filled in, to press once more.
        Err(Stamp::Missing | Stamp::Stale) => {
            Some(form(app, StatusCode::OK, submitted, None, true))
        }
    }
}

/// The form again, saying whether the address or the name does not fit.
fn mistaken(app: &App, submitted: &Form) -> Response {
    let w = joining(app).words;
    let problem = match signup::check_input(&submitted.email, "") {
        Ok(_) => w.bad_name,
        Err(_) => w.bad_address,
    };
    form(
        app,
        StatusCode::BAD_REQUEST,
        submitted,
        Some(problem),
        false,
    )
}

/// The page that says a confirmation mail is on its way to `address`.
fn sent(app: &App, address: &str) -> Response {
    let w = joining(app).words;
    let body = fill(w.sent_body, &app.config.newsletter().name, address);
    message(app, StatusCode::OK, w.sent_title, &body)
}

/// Signs the confirmation mail for `address` and hands it to the mailer;
/// the relay's answer, or why the mail was not sent.
async fn send_confirmation(
    app: &App,
    address: &lettre::Address,
    name: Option<String>,
    topics: &[String],
) -> Result<(), String> {
    let j = joining(app);
    let mail = signup::request(
        &app.config,
        &j.confirmer,
        &app.secret,
        address,
        name,
        Source::Form,
        topics,
    )
    .map_err(|e| format!("{e:#}"))?;
    let (done, wait) = oneshot::channel();
    match j.mailer.try_send((mail, done)) {
        Ok(()) => wait
            .await
            .unwrap_or_else(|_| Err("the mailer stopped".into())),
        Err(_) => Err("too many confirmation mails are waiting".into()),
    }
}

/// The confirmation a link carries; one asked for before its reader was
/// forgotten (`subscribers forget`) no longer works: the erasure took the
/// pending confirmation with it.
fn opened(app: &App, token: &str) -> Result<signup::Confirmation, Invalid> {
    let confirmation = token::open(&app.secret, token, now())?;
    match Erasures::load(&app.config.state_dir()) {
        Ok(erasures) => match erasures.erased_at(&confirmation.address) {
            Some(erased) if erased >= confirmation.issued => Err(Invalid::Expired),
            _ => Ok(confirmation),
        },
        Err(e) => {
            eprintln!("error: {}", crate::redact::loggable(&format!("{e:#}")));
            Err(Invalid::Expired)
        }
    }
}

fn invalid(app: &App, why: Invalid) -> Response {
    let w = joining(app).words;
    if why == Invalid::Expired {
        eprintln!("note: an expired confirmation link was used");
    }
    message(
        app,
        StatusCode::BAD_REQUEST,
        w.invalid_title,
        w.invalid_body,
    )
}

/// GET of the link: asks, changes nothing (link scanners follow links).
pub async fn confirm_page(State(app): State<Arc<App>>, Query(link): Query<Link>) -> Response {
    let confirmation = match opened(&app, &link.t) {
        Ok(c) => c,
        Err(why) => return invalid(&app, why),
    };
    let w = joining(&app).words;
    let body = fill(
        w.confirm_body,
        &app.config.newsletter().name,
        &confirmation.address,
    );
    page(
        &app.config,
        StatusCode::OK,
        w.confirm_title,
        html! {
            h1 { (w.confirm_title) }
            p { (said(&app.config, &body, "")) }
            form method="post" {
                input type="hidden" name="t" value=(link.t);
                label for="name" { (w.confirm_as) }
                input #name type="text" name="name" autocomplete="name" maxlength="150" value=(confirmation.name.as_deref().unwrap_or(""));
                button type="submit" { (w.confirm_button) }
            }
        },
    )
}

/// POST of the link's page: writes the reader, then the welcome goes out.
pub async fn confirm_post(State(app): State<Arc<App>>, body: String) -> Response {
    let link: Link = serde_urlencoded::from_str(&body).unwrap_or_default();
    let mut confirmation = match opened(&app, &link.t) {
        Ok(c) => c,
        Err(why) => return invalid(&app, why),
    };
    if let Some(name) = &link.name {
        match signup::check_input(&confirmation.address, name) {
            Ok((_, name)) => confirmation.name = name,
            Err(_) => {
                let w = joining(&app).words;
                return message(&app, StatusCode::BAD_REQUEST, w.confirm_title, w.bad_name);
            }
        }
    }
    let reader = signup::reader(&app.config, &confirmation);
    let (done, wait) = oneshot::channel();
    let change = Change::Join {
        reader: Box::new(reader),
        issued: confirmation.issued,
    };
    if app.list.send((change, done).into()).await.is_err() {
        return super::error_page(&app.config);
    }
    let joined = match wait.await {
        Ok(Ok((_, Some(joined)))) => joined,
        _ => return super::error_page(&app.config),
    };
    let j = joining(&app);
    let w = j.words;
    if joined == Joined::Spent {
        return message(&app, StatusCode::OK, w.spent_title, w.spent_body);
    }
    if let Some(welcome) = &j.welcome {
        if welcome.try_send(identity(&confirmation.address)).is_err() {
            eprintln!("error: the welcome queue is full; a confirmed reader gets no welcome issue");
        }
    }
    let body = fill(
        w.done_body,
        &app.config.newsletter().name,
        &confirmation.address,
    );
    message(&app, StatusCode::OK, w.done_title, &body)
}

/// The markup the subscribe pages add to the shared style.
pub fn style() -> Markup {
    html! {
        style { "label{display:block;margin:1rem 0 .3rem;font-weight:600}input[type=email],input[type=text]{box-sizing:border-box;width:100%;font-size:1rem;padding:.6rem;border:1px solid #8c959f;border-radius:6px}button{margin-top:1.2rem;width:100%;max-width:20rem}.hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}.problem{color:#b42318;font-weight:600}.topics{border:0;margin:1rem 0 0;padding:0;min-width:0}.topics legend{font-weight:600;padding:0;margin-bottom:.3rem}.topic{display:flex;align-items:flex-start;gap:.6rem;margin:.5rem 0}.topic input{flex:none;width:1.25rem;height:1.25rem;margin:.15rem 0 0}.topic label{margin:0;font-weight:400;min-width:0;overflow-wrap:anywhere}.topic .small{display:block}.small{font-size:.9rem;color:#57606a}" }
    }
}
