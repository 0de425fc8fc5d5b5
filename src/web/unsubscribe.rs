//! `/unsubscribe` (the path of `[unsubscribe] url`): GET asks, POST
//! unsubscribes, as RFC 8058 one-click or from the page's form. Changes go
//! through the list's one writer (see `list.rs`).

use std::sync::Arc;

use axum::extract::{Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use tokio::sync::oneshot;

use super::list::Change;
use super::{error_page, page, said, words, App};
use crate::config::Config;
use crate::list::Leaving;

/// The path part of `[unsubscribe] url`.
pub fn path(config: &Config) -> Option<String> {
    config.file.unsubscribe.url.as_deref().map(super::url_path)
}

#[derive(Deserialize, Default)]
pub struct Reader {
    e: Option<String>,
    t: Option<String>,
    /// The issue whose link it was (`stats` counts unsubscribes per issue).
    i: Option<String>,
}

fn verified(app: &App, who: &Reader) -> Option<String> {
    let (email, token) = (who.e.as_deref()?, who.t.as_deref()?);
    crate::sign::verify(&app.secret, email, token).then(|| email.to_string())
}

/// GET never unsubscribes (mail scanners follow links): it asks. Without
/// a reader (the web version's link, a hand-typed address) it explains how
/// to leave.
pub async fn page_handler(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
    Query(who): Query<Reader>,
) -> Response {
    let config = &app.config;
    if query.as_deref().unwrap_or("").is_empty() {
        return how_to_leave(config);
    }
    let Some(email) = verified(&app, &who) else {
        return invalid_link(config);
    };
    let w = words(config);
    page(
        config,
        StatusCode::OK,
        w.leave_title,
        html! {
            h1 { (said(config, w.leave_title, &email)) }
            p { (said(config, w.leave_ask, &email)) }
            form method="post" {
                input type="hidden" name="e" value=(email);
                input type="hidden" name="t" value=(who.t.as_deref().unwrap_or(""));
                @if let Some(issue) = who.i.as_deref().filter(|i| crate::tracking::is_issue_name(i)) {
                    input type="hidden" name="i" value=(issue);
                }
                button type="submit" { (w.leave_button) }
            }
        },
    )
}

/// The page at the bare path: how to leave, with the `mailto` address
/// when the config has one.
fn how_to_leave(config: &Config) -> Response {
    let w = words(config);
    let mailto = config.file.unsubscribe.mailto.as_deref();
    page(
        config,
        StatusCode::OK,
        w.leave_how_title,
        html! {
            h1 { (said(config, w.leave_how_title, "")) }
            p { (said(config, w.leave_how_body, "")) }
            @match mailto {
                Some(address) => p {
                    (w.leave_how_mail) " "
                    a href=(format!("mailto:{address}?subject=unsubscribe")) { (address) }
                },
                None => p { (w.leave_how_reply) },
            }
        },
    )
}

/// POST: the one-click body `List-Unsubscribe=One-Click` with the reader in
/// the query (RFC 8058), or the page's form with the reader in the body.
pub async fn post(
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
        return invalid_link(&app.config);
    };
    let (done, wait) = oneshot::channel();
    if app
        .list
        .send((Change::Unsubscribe(Leaving::now(&email)), done).into())
        .await
        .is_err()
    {
        return error_page(&app.config);
    }
    match wait.await {
        Ok(Ok((changed, _))) => {
            if let Some(issue) = who.i.as_deref().filter(|_| changed) {
                record_unsubscribe(&app, issue);
            }
            unsubscribed(&app, &email)
        }
        _ => error_page(&app.config),
    }
}

/// The issue an unsubscribe came from, for `stats`: a line of the time and
/// the issue's name in `state_dir/unsubscribes.log`, never the address.
fn record_unsubscribe(app: &App, issue: &str) {
    if !crate::tracking::is_issue_name(issue) {
        return;
    }
    let state = app.config.state_dir();
    if let Err(e) = crate::tracking::record_unsubscribe(&state, issue) {
        eprintln!("warning: {}", super::loggable(&format!("{e:#}")));
    }
}

fn unsubscribed(app: &App, email: &str) -> Response {
    let (config, w) = (&app.config, words(&app.config));
    page(
        config,
        StatusCode::OK,
        w.left_title,
        html! {
            h1 { (w.left_title) }
            p { (said(config, w.left_body, email)) }
        },
    )
}

fn invalid_link(config: &Config) -> Response {
    let w = words(config);
    page(
        config,
        StatusCode::BAD_REQUEST,
        w.leave_invalid_title,
        html! {
            h1 { (w.leave_invalid_title) }
            p { (w.leave_invalid_body) }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unsubscribe_path_comes_from_the_url() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newsletter.toml");
        let text = "[newsletter]\nname = \"N\"\nfrom = \"N <a@example.com>\"\n[subscribers]\nfile = \"s.toml\"\n[unsubscribe]\nurl = \"https://news.example.com/u/leave?x=1\"\n";
        std::fs::write(&path, text).unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(super::path(&config).unwrap(), "/u/leave");
    }
}
