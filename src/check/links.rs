//! `check --links`: ask every distinct link target whether it exists.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use super::{Level, Report};

/// Sends a HEAD (falling back to GET when HEAD is refused) to each URL,
/// eight at a time, each with a timeout; reports 4xx/5xx and unreachable
/// hosts at the place the URL was found.
pub fn check_links(targets: &[(String, PathBuf, usize)], timeout: Duration, report: &mut Report) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(5)
        .build()
        .into();
    let next = Mutex::new(0usize);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..8.min(targets.len()) {
            scope.spawn(|| loop {
                let i = {
                    let mut n = next.lock().expect("counter");
                    *n += 1;
                    *n - 1
                };
                let Some((url, file, line)) = targets.get(i) else {
                    break;
                };
                if let Some(problem) = probe(&agent, url) {
                    results
                        .lock()
                        .expect("results")
                        .push((file.clone(), *line, problem));
                }
            });
        }
    });
    for (file, line, (level, message)) in results.into_inner().expect("results") {
        report.add(&file, line, level, message);
    }
}

fn probe(agent: &ureq::Agent, url: &str) -> Option<(Level, String)> {
    let status = match agent.head(url).call() {
        Ok(r) if matches!(r.status().as_u16(), 405 | 501 | 403) => {
            agent.get(url).call().map(|r| r.status().as_u16())
        }
        Ok(r) => Ok(r.status().as_u16()),
        Err(e) => Err(e),
    };
    match status {
        Ok(code) if code >= 400 => {
            Some((Level::Error, format!("the link {url} answers HTTP {code}")))
        }
        Ok(_) => None,
        Err(e) => Some((Level::Error, format!("the link {url} is unreachable: {e}"))),
    }
}
