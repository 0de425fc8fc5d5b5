//! `/stats/<issue>` in `serve --preview`: the figures of `letterpress
//! stats` as a page, with two small charts drawn here as SVG (accepted
//! messages over the send, clicks per link). No script. Only with
//! `--preview`, which is never public.

use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use super::preview::{drafts, PreviewState};
use crate::config::Config;
use crate::stats::{LinkClicks, Stats};

/// The page of one issue.
pub async fn page(
    State(state): State<Arc<PreviewState>>,
    UrlPath(name): UrlPath<String>,
) -> Response {
    let path = state.config_path.clone();
    let gathered = tokio::task::spawn_blocking(move || -> anyhow::Result<Option<Stats>> {
        let config = Config::load(&path)?;
        if !drafts(&config).contains(&name) {
            return Ok(None);
        }
        let dir = config.issues_dir().join(&name);
        crate::stats::gather(&config, &dir).map(Some)
    })
    .await;
    match gathered {
        Ok(Ok(Some(stats))) => Html(render(&stats).into_string()).into_response(),
        Ok(Ok(None)) => super::preview::missing(&state),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

fn render(s: &Stats) -> Markup {
    let attempted = s.accepted + s.refused + s.deferred;
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Stats: " (s.subject) }
                style { "body{font-family:-apple-system,'Segoe UI','Apple SD Gothic Neo','Malgun Gothic',sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1f2328;line-height:1.5}table{border-collapse:collapse}td,th{padding:.2rem .8rem .2rem 0;text-align:left;vertical-align:top}td.n{text-align:right;font-variant-numeric:tabular-nums}svg{max-width:100%;height:auto;background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px}svg text{font-size:12px;fill:#57606a}.url{word-break:break-all}" }
            }
            body { main {
                h1 { (s.subject) }
                p { "Issue " code { (s.issue) } ". Counts only: nothing on this page names a reader." }
                table id="figures" {
                    tr { th { "Sent" } td { (s.first_outcome.as_deref().unwrap_or("not yet")) @if let Some(last) = &s.last_outcome { " to " (last) } } }
                    tr { th { "Accepted" } td.n id="accepted" { (s.accepted) } }
                    tr { th { "Refused" } td.n id="refused" { (s.refused) } }
                    tr { th { "Deferred" } td.n id="deferred" { (s.deferred) } }
                    tr { th { "Bounces" } td.n id="bounces" { (s.bounces) } td { (share(s.bounces, attempted)) " of the messages" } }
                    tr { th { "Complaints" } td.n id="complaints" { (s.complaints) } td { (share(s.complaints, s.accepted)) " of the accepted" } }
                    tr { th { "Left through this issue" } td.n id="unsubscribes" { (s.unsubscribes) } }
                }
                h2 { "Accepted over the send" }
                (accepted_chart(&s.accepted_over_time))
                h2 { "Clicks per link" }
                @if s.clicks_counted || s.links.iter().any(|l| l.people + l.likely_automated > 0) {
                    (clicks_chart(&s.links))
                } @else {
                    p { "Clicks are not counted: " code { "[tracking] clicks = false" } "." }
                }
            } }
        }
    }
}

fn share(n: usize, of: usize) -> String {
    match of {
        0 => "-".to_string(),
        _ => format!("{:.1} %", 100.0 * n as f64 / of as f64),
    }
}

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 200.0;
const PAD: f64 = 40.0;

/// Cumulative accepted messages as a line, from the first minute to the last.
fn accepted_chart(points: &[(i64, usize)]) -> Markup {
    let Some((&(first, _), &(last, total))) = points.first().zip(points.last()) else {
        return html! { p { "Nothing was sent yet." } };
    };
    let span = (last - first).max(60) as f64;
    let top = total.max(1) as f64;
    let x = |at: i64| PAD + (at - first) as f64 / span * (WIDTH - 2.0 * PAD);
    let y = |n: usize| HEIGHT - PAD + -(n as f64 / top) * (HEIGHT - 2.0 * PAD);
    let mut line = format!("{:.1},{:.1}", x(first), y(0));
    for &(at, n) in points {
        line.push_str(&format!(" {:.1},{:.1}", x(at), y(n)));
    }
    let minute = |at: i64| {
        jiff::Timestamp::from_second(at)
            .map_or_else(|_| String::new(), |t| t.strftime("%H:%M").to_string())
    };
    html! {
        svg id="accepted-chart" xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-label=(format!("{total} messages accepted over the send")) {
            line x1=(PAD) y1=(HEIGHT - PAD) x2=(WIDTH - PAD) y2=(HEIGHT - PAD) stroke="#8c959f" {}
            line x1=(PAD) y1=(PAD) x2=(PAD) y2=(HEIGHT - PAD) stroke="#8c959f" {}
            polyline points=(line) fill="none" stroke="#1a56db" stroke-width="2" {}
            text x=(PAD) y=(HEIGHT - PAD + 16.0) { (minute(first - 60)) }
            text x=(WIDTH - PAD) y=(HEIGHT - PAD + 16.0) text-anchor="end" { (minute(last)) " UTC" }
            text x=(PAD - 4.0) y=(PAD + 4.0) text-anchor="end" { (total) }
            text x=(PAD - 4.0) y=(HEIGHT - PAD) text-anchor="end" { "0" }
        }
    }
}

/// One bar per link: people in blue, likely automated in grey after it.
fn clicks_chart(links: &[LinkClicks]) -> Markup {
    if links.is_empty() {
        return html! { p { "The issue has no counted links." } };
    }
    let row = 28.0;
    let height = row * links.len() as f64 + 2.0 * 12.0;
    let most = links
        .iter()
        .map(|l| l.people + l.likely_automated)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let bar = |n: usize| n as f64 / most * (WIDTH - 260.0);
    html! {
        svg id="clicks-chart" xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {WIDTH} {height}")) role="img" aria-label="clicks per link" {
            @for (i, link) in links.iter().enumerate() {
                @let top = 12.0 + row * i as f64;
                text x="8" y=(top + 15.0) { (link.n) }
                rect x="36" y=(top + 3.0) width=(format!("{:.1}", bar(link.people))) height="16" fill="#1a56db" {}
                rect x=(format!("{:.1}", 36.0 + bar(link.people))) y=(top + 3.0) width=(format!("{:.1}", bar(link.likely_automated))) height="16" fill="#afb8c1" {}
                text x=(format!("{:.1}", 42.0 + bar(link.people + link.likely_automated))) y=(top + 15.0) {
                    (link.people) " people, " (link.likely_automated) " likely automated"
                }
            }
        }
        table id="links" {
            tr { th { "#" } th { "People" } th { "Likely automated" } th { "Link" } }
            @for link in links {
                tr { td.n { (link.n) } td.n { (link.people) } td.n { (link.likely_automated) } td.url { (link.url) } }
            }
        }
        p { "Likely automated: HEAD requests, known link scanners and previewers, and clicks within "
            (crate::stats::EARLY_SECS) " seconds of a delivery." }
    }
}
