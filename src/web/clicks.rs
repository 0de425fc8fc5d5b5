//! `/c/<issue>/<n>/<signature>`: a counted link of a sent issue. A
//! signature that is not the link's own, or a link the issue does not
//! have, gets 404: the server redirects only to the issue's own links.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::App;
use crate::issue::Issue;
use crate::tracking::{self, Click, Links};

/// The links of the issues clicked lately: a burst of clicks reads each
/// issue's files once.
#[derive(Default)]
pub struct Cache {
    issues: Mutex<HashMap<String, (Instant, Arc<Links>)>>,
}

/// How long an issue's links are kept before its files are read again.
const KEEP: Duration = Duration::from_secs(60);
/// Issues kept at most.
const MAX_ISSUES: usize = 256;

impl Cache {
    fn links(&self, app: &App, name: &str) -> Option<Arc<Links>> {
        let mut issues = self.issues.lock().expect("cache");
        if let Some((at, links)) = issues.get(name) {
            if at.elapsed() < KEEP {
                return Some(Arc::clone(links));
            }
        }
        let dir = app.config.issues_dir().join(name);
        let links = Arc::new(Links::of(&Issue::load(&dir).ok()?));
        if issues.len() >= MAX_ISSUES {
            issues.retain(|_, (at, _)| at.elapsed() < KEEP);
        }
        if issues.len() < MAX_ISSUES {
            issues.insert(name.to_string(), (Instant::now(), Arc::clone(&links)));
        }
        Some(links)
    }
}

/// GET and HEAD: the redirect, and the click counted.
pub async fn click(
    State(app): State<Arc<App>>,
    method: Method,
    headers: HeaderMap,
    UrlPath((issue, n, signature)): UrlPath<(String, String, String)>,
) -> Response {
    let not_found = || super::not_found(&app.config);
    if !tracking::is_issue_name(&issue) || n.len() > 6 || signature.len() > 64 {
        return not_found();
    }
    let Ok(n) = n.parse::<usize>() else {
        return not_found();
    };
    let Some(links) = app.clicks.links(&app, &issue) else {
        return not_found();
    };
    let Some(url) = links.target(&app.secret, &issue, n, &signature) else {
        return not_found();
    };
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let click = Click {
        at: jiff::Timestamp::now().as_second(),
        issue: issue.clone(),
        link: n,
        agent: tracking::agent(method == Method::HEAD, user_agent),
    };
    let state = app.config.state_dir();
    if let Err(e) = tracking::record(&state, &click) {
        eprintln!("warning: {}", super::loggable(&format!("{e:#}")));
    }
    let location = match axum::http::HeaderValue::from_str(url) {
        Ok(value) => value,
        Err(_) => return not_found(),
    };
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, "no-store".parse().expect("ascii")),
            (
                header::REFERRER_POLICY,
                "no-referrer".parse().expect("ascii"),
            ),
        ],
    )
        .into_response()
}
