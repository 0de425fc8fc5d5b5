//! letterpress: compose a folder of Markdown sections into a responsive HTML
//! email with a plain-text twin, and send it to a subscriber list.
//!
//! The pipeline reads top to bottom: [`Config::load`] → [`Issue::load`] →
//! [`Theme::load`] → [`Composed::new`] → per reader
//! [`Composed::html`] / [`Composed::text`].

pub mod bounces;
mod build;
mod check;
pub mod cli;
mod compose;
mod config;
mod error;
mod fs;
mod init;
mod issue;
mod message;
pub mod project;
mod redact;
pub mod schedule;
pub mod send;
pub mod stats;
pub mod subscribe;
mod subscribers;
mod time;
mod timetable;
pub mod tracking;
mod web;

pub use compose::wrap;
pub use compose::{Composed, Theme};
pub use config::Config;
pub use error::Located;
pub use issue::tags::Values;
pub use issue::{Issue, Kind};
pub use message::reader::{token, verify};
pub use message::{run_date, Factory, Outgoing, Purpose};
/// "s" for counts other than one.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub use subscribers::{export_csv, import_csv, Editor, ImportReport, List, Status, Subscriber};
