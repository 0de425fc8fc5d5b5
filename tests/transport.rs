//! The delivery loop against a stub transport in memory: the same
//! `send::run` that drives the SMTP relay and the dry run, here with
//! scripted replies per reader. Temporary failures are retried, permanent
//! ones are not, and a fatal one stops the run with the rest left over.

use crate::support;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use letterpress::project::Project;
use letterpress::send::{self, Error, Lane, Plan, Selection, Settings, Stopped, Transport};
use letterpress::{Composed, Factory, Outgoing};

/// Replies scripted per address, in order; then 250.
#[derive(Default)]
struct Stub {
    script: Mutex<HashMap<String, Vec<Reply>>>,
    delivered: Mutex<Vec<String>>,
    connections: Mutex<usize>,
}

#[derive(Clone, Copy)]
enum Reply {
    Transient(u16),
    Permanent(u16),
    Fatal,
}

impl Transport for Stub {
    type Connection = ();

    fn name(&self) -> String {
        "stub".into()
    }

    async fn connect(&self) -> Result<(), Error> {
        *self.connections.lock().unwrap() += 1;
        Ok(())
    }

    async fn send(&self, _: &mut (), message: &Outgoing) -> Result<String, Error> {
        let to = AsRef::<str>::as_ref(&message.to).to_string();
        let next = self
            .script
            .lock()
            .unwrap()
            .get_mut(&to)
            .and_then(|replies| (!replies.is_empty()).then(|| replies.remove(0)));
        match next {
            Some(Reply::Transient(code)) => {
                Err(Error::transient(Some(code), format!("{code} try later")))
            }
            Some(Reply::Permanent(code)) => {
                Err(Error::permanent(Some(code), format!("{code} no such user")))
            }
            Some(Reply::Fatal) => Err(Error::Fatal(anyhow::anyhow!("the stub gave up"))),
            None => {
                self.delivered.lock().unwrap().push(to);
                Ok("250 ok".into())
            }
        }
    }

    async fn close(&self, _: ()) {}
}

fn settings() -> Settings {
    Settings {
        concurrency: 2,
        rate_per_second: 0.0,
        max_attempts: 3,
        max_per_connection: 100,
        retry_delay: Duration::from_millis(5),
        threads: 1,
        signals: false,
        cooldown: Duration::from_millis(200),
    }
}

fn run(project: &Project, stub: &Stub) -> send::Ran {
    let composed = Composed::new(&project.config, &project.theme, &project.issue).unwrap();
    let factory = Factory::new(
        &composed,
        Some(b"transport-test-secret-0123".to_vec()),
        std::time::SystemTime::now(),
    )
    .unwrap();
    let plan = Plan::new(project, &Selection::default()).unwrap();
    let progress = indicatif::ProgressBar::hidden();
    let settings = settings();
    send::run(
        &plan,
        &factory,
        &[Lane::only(stub, None, settings.concurrency)],
        &settings,
        &progress,
        factory.subject(),
    )
    .unwrap()
}

fn example() -> (support::Project, Project) {
    let files = support::Project::example();
    let project = Project::load(
        &files.path("config/newsletter.toml"),
        &files.path("issues/example"),
    )
    .unwrap();
    (files, project)
}

#[test]
fn transient_failures_are_retried_and_permanent_ones_are_not() {
    let (_files, project) = example();
    let stub = Stub::default();
    stub.script.lock().unwrap().extend([
        (
            "reader@example.com".to_string(),
            vec![Reply::Transient(451), Reply::Transient(454)],
        ),
        (
            "jane.doe@example.org".to_string(),
            vec![Reply::Permanent(550)],
        ),
        (
            "park@example.net".to_string(),
            vec![Reply::Transient(421); 5],
        ),
    ]);
    let ran = run(&project, &stub);
    assert!(
        matches!(ran.stopped, Stopped::Finished),
        "{:?}",
        ran.stopped
    );
    assert_eq!(ran.summary.accepted, 1);
    assert_eq!(*stub.delivered.lock().unwrap(), ["reader@example.com"]);
    assert_eq!(
        ran.summary.failed,
        [send::Failure {
            address: "jane.doe@example.org".to_string(),
            code: Some(550),
            reply: "550 no such user".to_string()
        }]
    );
    assert_eq!(ran.summary.deferred.len(), 1);
    assert_eq!(ran.summary.deferred[0].reply, "421 try later");
    assert_eq!(ran.summary.deferred[0].code, Some(421));
    // park had five 421s scripted and three attempts: two are left.
    assert_eq!(stub.script.lock().unwrap()["park@example.net"].len(), 2);
    // Every failure drops its connection: the retry starts on a fresh one.
    assert!(*stub.connections.lock().unwrap() >= 5);
}

#[test]
fn a_fatal_error_stops_the_run_and_leaves_the_rest() {
    let (_files, project) = example();
    let stub = Stub::default();
    stub.script
        .lock()
        .unwrap()
        .insert("reader@example.com".to_string(), vec![Reply::Fatal]);
    let ran = run(&project, &stub);
    let Stopped::Fatal(e) = &ran.stopped else {
        panic!("{:?}", ran.stopped);
    };
    assert!(e.to_string().contains("the stub gave up"));
    assert!(ran.summary.remaining >= 1, "{:?}", ran.summary);
    assert!(!stub
        .delivered
        .lock()
        .unwrap()
        .contains(&"reader@example.com".to_string()));
}

#[test]
fn errors_say_what_kind_they_are_and_keep_the_code() {
    let transient = Error::transient(Some(451), "451 4.7.1 try again");
    assert!(transient.is_transient() && !transient.is_permanent());
    assert_eq!(transient.code(), Some(451));
    let permanent = Error::permanent(Some(550), "550 5.1.1 no such user");
    assert!(permanent.is_permanent() && !permanent.is_transient());
    assert_eq!(permanent.code(), Some(550));
    let fatal = Error::Fatal(anyhow::anyhow!("login refused"));
    assert!(!fatal.is_permanent() && !fatal.is_transient());
    assert_eq!(fatal.code(), None);
}
